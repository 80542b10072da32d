/*
 * main_cpp.cc - the install test's C++ program (scripts/install-test.sh): built against an
 * installed libbrokerclient with pkg-config (shared and static) and CMake, including the
 * installed C++ wrapper as <brokerclient.hpp> (beside <brokerclient.h>). Needs no broker.
 *
 * Checks that the wrapper and the library agree on the version and exercises the wrapper's
 * kinds of calls: a failing blocking call (an exception), an async one completed through a
 * Queue on this thread, handles released by their destructors.
 */
#include <brokerclient.hpp>

#include <cstdio>
#include <optional>
#include <string>

namespace bc = brokerclient;

static int failures = 0;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "install-test main_cpp.cc:%d: %s\n", __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "?";

    CHECK(bc::library_matches_header());
    CHECK(std::string(bc::version()) == BC_VERSION_STR);

    bc::Config config{{"connect.timeout.ms", "1000"}, {"request.timeout.ms", "2000"}};
    CHECK(config.get("connect.timeout.ms") == std::optional<std::string>("1000"));
    try {
        config.set("no.such.key", "1");
        CHECK(false);  // an unknown key was accepted
    } catch (const bc::Error &e) {
        CHECK(e.status() == BC_ERR_INVALID_ARG && !e.message().empty());
    }

    bc::Queue queue;
    CHECK(queue.fd() >= 0 && queue.size() == 0);
    {
        // Port 1 on loopback refuses at once: the runtime starts, a socket is tried.
        bc::Client client("127.0.0.1:1", queue, &config);
        try {
            client.connect();
            CHECK(false);  // connected to port 1
        } catch (const bc::Error &e) {
            CHECK(e.status() == BC_ERR_CONNECTION || e.status() == BC_ERR_TIMEOUT);
        }
        std::optional<bc_status> async_status;
        client.connect_async([&](bc::Result<void> r) { async_status = r.status(); });
        for (int i = 0; i < 50 && !async_status; i++) {
            queue.wait(200);
            queue.dispatch();
        }
        CHECK(async_status && (*async_status == BC_ERR_CONNECTION || *async_status == BC_ERR_TIMEOUT));
    }

    if (failures) {
        std::fprintf(stderr, "install-test main_cpp (%s): %d check(s) failed\n", how, failures);
        return 1;
    }
    std::printf("install-test main_cpp (%s): libbrokerclient %s, C++ wrapper over header %s: ok\n", how,
                bc::version(), BC_VERSION_STR);
    return 0;
}
