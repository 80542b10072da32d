// header_twice.cc - the public header compiles as C++17 (-Wall -Wextra -Werror -pedantic),
// included twice, inside and outside a namespace-free translation unit, and links (extern "C").
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "brokerclient.h"
#include "brokerclient.h"  // twice on purpose: the include guard must hold

static_assert(sizeof(bc_status) == 4, "bc_status is 32 bits");
static_assert(std::is_same<std::underlying_type<bc_status>::type, int32_t>::value,
              "bc_status is an int32_t enum in C++");
static_assert(std::is_standard_layout<bc_message_view>::value, "bc_message_view is a C struct");
static_assert(offsetof(bc_message_view, struct_size) == 0, "struct_size comes first");
static_assert(BC_AT_LEAST_VERSION(0, 0, 0), "BC_AT_LEAST_VERSION works in C++");

namespace {
// Callbacks are extern "C" function pointer types in the header; a captureless lambda or a
// static function converts to them.
void on_done(void *, bc_status, const bc_error *) {}
}  // namespace

int main() {
    bc_done_cb d = on_done;
    bc_send_cb s = [](void *, bc_status, const bc_error *, const bc_send_result *) {};
    bc_pull_cb p = [](void *, bc_status, const bc_error *, bc_batch *b) { bc_batch_free(b); };
    (void)d;
    (void)s;
    (void)p;
    bc_status st = BC_ERR_TIMEOUT;
    if (std::strcmp(bc_status_name(st), "BC_ERR_TIMEOUT") != 0) return 1;
    if (std::strcmp(bc_version_str(), BC_VERSION_STR) != 0) return 1;
    return bc_version() == static_cast<uint32_t>(BC_VERSION_NUM) ? 0 : 1;
}
