/*
 * quickstart.c - the blocking C API in one page.
 *
 * Creates a client of the broker at $BC_BROKER_ADDR (default 127.0.0.1:10911), creates the
 * topic "BrokerClientQuickstartC" (4 queues), sends one message with a tag and a property to
 * queue 0, and pulls it back from the offset the send returned (long polling). Every call is
 * checked; any failure prints bc_error_message and exits non-zero.
 *
 * Build (from the repository root, after `cargo build`):
 *   cc -std=c11 -Wall -Wextra -pedantic -Iinclude examples-c/quickstart.c \
 *      -Ltarget/debug -lbrokerclient -Wl,-rpath,$PWD/target/debug -o quickstart
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brokerclient.h"

#define TOPIC "BrokerClientQuickstartC"
#define PRODUCER_GROUP "quickstart_c_producer"
#define CONSUMER_GROUP "quickstart_c_consumer"
#define PROP_NAME "origin"
#define PROP_VALUE "examples-c/quickstart.c"
#define TAGS "quickstart"

/* Prints what failed with the library's description, frees the error, returns 1. */
static int fail(const char *what, bc_status status, bc_error *err) {
    fprintf(stderr, "quickstart: %s failed: %s (%s): %s\n", what, bc_status_name(status),
            bc_status_str(status), err ? bc_error_message(err) : "(no details)");
    bc_error_free(err);
    return 1;
}

int main(void) {
    const char *addr = getenv("BC_BROKER_ADDR");
    if (addr == NULL || *addr == '\0') addr = "127.0.0.1:10911";

    bc_client *client = NULL;
    bc_message *msg = NULL;
    bc_send_result *sent = NULL;
    bc_batch *batch = NULL;
    bc_error *err = NULL;
    bc_status st;
    int rc = 1;

    if (bc_version() != BC_VERSION_NUM) {
        fprintf(stderr, "quickstart: header %s but library %s\n", BC_VERSION_STR, bc_version_str());
        return 1;
    }
    printf("libbrokerclient %s, broker %s\n", bc_version_str(), addr);

    st = bc_client_new(addr, NULL, NULL, &client, &err);
    if (st != BC_OK) return fail("bc_client_new", st, err);

    st = bc_client_create_topic(client, TOPIC, 4, &err);
    if (st != BC_OK) {
        rc = fail("bc_client_create_topic", st, err);
        goto out;
    }
    printf("topic %s ready (4 queues)\n", TOPIC);

    /* A body unique to this run, so the pull below cannot match an older message. */
    char body[128];
    int body_len = snprintf(body, sizeof body, "Hello, RocketMQ, from C (%ld.%ld)", (long)time(NULL),
                            (long)clock());
    if (body_len <= 0 || (size_t)body_len >= sizeof body) {
        fprintf(stderr, "quickstart: snprintf failed\n");
        goto out;
    }

    st = bc_message_new(TOPIC, (const uint8_t *)body, (size_t)body_len, &msg, &err);
    if (st != BC_OK) {
        rc = fail("bc_message_new", st, err);
        goto out;
    }
    st = bc_message_set_tags(msg, TAGS, &err);
    if (st != BC_OK) {
        rc = fail("bc_message_set_tags", st, err);
        goto out;
    }
    st = bc_message_set_property(msg, PROP_NAME, PROP_VALUE, &err);
    if (st != BC_OK) {
        rc = fail("bc_message_set_property", st, err);
        goto out;
    }

    st = bc_client_send(client, PRODUCER_GROUP, 0, msg, &sent, &err);
    if (st != BC_OK) {
        rc = fail("bc_client_send", st, err);
        goto out;
    }
    const int32_t queue_id = bc_send_result_queue_id(sent);
    const int64_t offset = bc_send_result_queue_offset(sent);
    printf("sent: msg_id=%s queue=%d offset=%lld status=%d\n", bc_send_result_msg_id(sent),
           (int)queue_id, (long long)offset, (int)bc_send_result_status(sent));
    if (queue_id != 0 || offset < 0) {
        fprintf(stderr, "quickstart: unexpected send result (queue %d, offset %lld)\n", (int)queue_id,
                (long long)offset);
        goto out;
    }

    /* Pull from that offset. The broker makes a stored message pullable asynchronously, so
     * long polling (suspend 5000 ms) covers the gap; a few rounds bound the wait. */
    int found = 0;
    for (int round = 0; round < 6 && !found; round++) {
        st = bc_client_pull(client, CONSUMER_GROUP, TOPIC, queue_id, offset, 32, 5000, NULL, &batch, &err);
        if (st != BC_OK) {
            rc = fail("bc_client_pull", st, err);
            goto out;
        }
        const int32_t pull_status = bc_batch_status(batch);
        const size_t n = bc_batch_len(batch);
        printf("pull round %d: status=%d messages=%zu next_offset=%lld\n", round, (int)pull_status, n,
               (long long)bc_batch_next_offset(batch));
        if (pull_status == 3 /* OFFSET_ILLEGAL */) {
            fprintf(stderr, "quickstart: the broker says offset %lld is illegal\n", (long long)offset);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            bc_message_view view;
            memset(&view, 0, sizeof view);
            view.struct_size = sizeof view;
            st = bc_batch_get(batch, i, &view, &err);
            if (st != BC_OK) {
                rc = fail("bc_batch_get", st, err);
                goto out;
            }
            if (view.queue_offset != offset) continue;
            const char *prop = bc_batch_property(batch, i, PROP_NAME);
            printf("pulled: offset=%lld msg_id=%s tags=%s %s=%s body=\"%.*s\"\n",
                   (long long)view.queue_offset, view.msg_id, view.tags, PROP_NAME, prop ? prop : "(none)",
                   (int)view.body_len, (const char *)view.body);
            if (view.body_len != (size_t)body_len || memcmp(view.body, body, view.body_len) != 0) {
                fprintf(stderr, "quickstart: the pulled body differs from the one sent\n");
                goto out;
            }
            if (strcmp(view.tags, TAGS) != 0 || prop == NULL || strcmp(prop, PROP_VALUE) != 0 ||
                strcmp(view.topic, TOPIC) != 0 || strcmp(view.msg_id, bc_send_result_msg_id(sent)) != 0) {
                fprintf(stderr, "quickstart: the pulled tags/property/topic/msg id differ\n");
                goto out;
            }
            found = 1;
            break;
        }
        if (!found && pull_status == 0 /* FOUND, but not our message */) {
            fprintf(stderr, "quickstart: the batch pulled at offset %lld lacks that offset\n",
                    (long long)offset);
            goto out;
        }
        bc_batch_free(batch);
        batch = NULL;
    }
    if (!found) {
        fprintf(stderr, "quickstart: the message at offset %lld never arrived\n", (long long)offset);
        goto out;
    }
    printf("quickstart: OK\n");
    rc = 0;

out:
    bc_batch_free(batch);
    bc_send_result_free(sent);
    bc_message_free(msg);
    bc_client_free(client);
    return rc;
}
