/*
 * header_c.c - the public header compiles as strict C11 (-Wall -Wextra -Werror -pedantic),
 * included twice (the include guard works), and its declarations link against the library.
 */
#include <stddef.h>

#include "brokerclient.h"
#include "brokerclient.h" /* twice on purpose */

_Static_assert(sizeof(bc_status) == 4, "bc_status is an int32_t in C");
_Static_assert(BC_OK == 0 && BC_ERR_INVALID_ARG == -1 && BC_ERR_BROKER_RESPONSE == 100,
               "status values are frozen");
_Static_assert(offsetof(bc_message_view, struct_size) == 0, "struct_size comes first");
_Static_assert(BC_VERSION_NUM == ((BC_VERSION_MAJOR << 16) | (BC_VERSION_MINOR << 8) | BC_VERSION_PATCH),
               "BC_VERSION_NUM is 0xMMmmpp");

/* The callback typedefs accept plain C functions. */
static void on_done(void *ud, bc_status st, const bc_error *err) { (void)ud, (void)st, (void)err; }
static void on_send(void *ud, bc_status st, const bc_error *err, const bc_send_result *r) {
    (void)ud, (void)st, (void)err, (void)r;
}
static void on_pull(void *ud, bc_status st, const bc_error *err, bc_batch *b) {
    (void)ud, (void)st, (void)err;
    bc_batch_free(b);
}

int main(void) {
    bc_done_cb d = on_done;
    bc_send_cb s = on_send;
    bc_pull_cb p = on_pull;
    bc_message_view view = {0};
    view.struct_size = sizeof view;
    (void)d, (void)s, (void)p, (void)view;
    /* Link check: a header/library mismatch fails the run. */
    return bc_version() == (uint32_t)BC_VERSION_NUM ? 0 : 1;
}
