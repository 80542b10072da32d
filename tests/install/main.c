/*
 * main.c - the install test's program (scripts/install-test.sh): built against an installed
 * libbrokerclient with pkg-config or CMake, shared and static. Needs no broker.
 *
 * Checks that the header and the library agree on the version, and exercises the parts that
 * need the library's system dependencies (threads, eventfd, the runtime and a socket) so that
 * a static link missing one of them fails here.
 */
#include <stdio.h>
#include <string.h>

#include <brokerclient.h>

static int failures = 0;
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "install-test main.c:%d: %s\n", __LINE__, #cond); \
            failures++;                                                        \
        }                                                                      \
    } while (0)

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "?";

    CHECK(bc_version() == BC_VERSION_NUM);
    CHECK(strcmp(bc_version_str(), BC_VERSION_STR) == 0);
    CHECK(BC_VERSION_NUM == ((BC_VERSION_MAJOR << 16) | (BC_VERSION_MINOR << 8) | BC_VERSION_PATCH));
    CHECK(BC_AT_LEAST_VERSION(BC_VERSION_MAJOR, BC_VERSION_MINOR, BC_VERSION_PATCH));
    CHECK(strcmp(bc_status_name(BC_OK), "BC_OK") == 0);

    bc_error *err = NULL;
    bc_queue *queue = NULL;
    CHECK(bc_queue_new(&queue, &err) == BC_OK);
    CHECK(bc_queue_fd(queue) >= 0);
    CHECK(bc_queue_len(queue) == 0);

    bc_config *config = NULL;
    CHECK(bc_config_new(&config, &err) == BC_OK);
    CHECK(bc_config_set(config, "connect.timeout.ms", "1000", &err) == BC_OK);
    CHECK(bc_config_set(config, "no.such.key", "1", &err) == BC_ERR_INVALID_ARG);
    CHECK(err != NULL && bc_error_code(err) == BC_ERR_INVALID_ARG);
    bc_error_free(err);
    err = NULL;

    /* Port 1 on loopback refuses at once: the runtime starts, a socket is tried. */
    bc_client *client = NULL;
    CHECK(bc_client_new("127.0.0.1:1", config, queue, &client, &err) == BC_OK);
    bc_config_free(config);
    bc_status st = bc_client_connect(client, &err);
    CHECK(st == BC_ERR_CONNECTION || st == BC_ERR_TIMEOUT);
    bc_error_free(err);
    bc_client_free(client);
    bc_queue_free(queue);

    if (failures) {
        fprintf(stderr, "install-test main (%s): %d check(s) failed\n", how, failures);
        return 1;
    }
    printf("install-test main (%s): libbrokerclient %s, header %s: ok\n", how, bc_version_str(), BC_VERSION_STR);
    return 0;
}
