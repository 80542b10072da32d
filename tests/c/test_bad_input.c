/*
 * test_bad_input.c - bad input from C, table-driven; needs no broker.
 *
 * 1. NULL for every pointer parameter of every function of the default build, from
 *    bad_input_table.inc (generated from the header by scripts/gen-c-bad-input.py; c-tests.sh
 *    fails when it is stale). Each case runs twice, with an err_out and with NULL:
 *    INVALID cases must return BC_ERR_INVALID_ARG with an error whose message names the
 *    parameter; OPTIONAL (documented NULL-able) and NOSTATUS (free, getters) cases must not
 *    crash. Every other argument is valid (a fresh fixture per case).
 * 2. Bad values: invalid UTF-8 topic, empty and oversize bodies, invalid topic names, property
 *    names/values with the separator bytes (0x01, 0x02), bad config keys and values: each a
 *    typed error with a message, on the blocking and the async path (async refusals are
 *    returned, and the callback never runs).
 *
 * Freed or wrong-type handles are not detectable (handles are plain pointers without a tag):
 * passing one is undefined behaviour, as with any C library, and is not tested.
 *
 * The last line is "test_bad_input: N passed, 0 failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerclient.h"

static int passed = 0;

#define ASSERT_MSG(cond, ...)                                                             \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: assertion failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
            fflush(NULL);                                                                 \
            exit(1);                                                                      \
        }                                                                                 \
        passed++;                                                                         \
    } while (0)
#define ASSERT(cond) ASSERT_MSG(cond, "%s", "")

enum expect { INVALID, OPTIONAL, NOSTATUS };

struct bad_input_case {
    const char *function;
    const char *param;
    enum expect expect;
    int names_param; /* the error message must name the parameter */
    bc_status (*run)(void);
};

/* Valid arguments for everything but the parameter under test; made fresh for each case. */
static struct {
    bc_client *client;
    bc_manager *manager;
    bc_config *config;
    bc_message *message;
    const bc_message *messages[1];
    bc_queue *queue;
    bc_cancel_token *token;
    bc_pull_request *request;
    bc_heartbeat *heartbeat;
    bc_error *error;
    uint8_t bytes[1];
    char buf[256];
    bc_message_view view;
    int64_t i64;
    size_t size;
    /* out-parameters */
    bc_client *out_client;
    bc_manager *out_manager;
    bc_config *out_config;
    bc_message *out_message;
    bc_queue *out_queue;
    bc_cancel_token *out_token;
    bc_pull_request *out_request;
    bc_heartbeat *out_heartbeat;
    bc_batch *out_batch;
    bc_send_result *out_result;
    char *out_string;
    const char *out_cstring;
    bc_error *err;
} fx;
static bc_error **g_err_out;

static void noop_bc_done_cb(void *u, bc_status s, const bc_error *e) { (void)u, (void)s, (void)e; }
static void noop_bc_send_cb(void *u, bc_status s, const bc_error *e, const bc_send_result *r) {
    (void)u, (void)s, (void)e, (void)r;
}
static void noop_bc_pull_cb(void *u, bc_status s, const bc_error *e, bc_batch *b) {
    (void)u, (void)s, (void)e;
    bc_batch_free(b);
}
static void noop_bc_int64_cb(void *u, bc_status s, const bc_error *e, int64_t v) {
    (void)u, (void)s, (void)e, (void)v;
}
static void noop_bc_json_cb(void *u, bc_status s, const bc_error *e, const char *j) {
    (void)u, (void)s, (void)e, (void)j;
}
static void noop_bc_string_cb(void *u, bc_status s, const bc_error *e, const char *v) {
    (void)u, (void)s, (void)e, (void)v;
}
static int32_t noop_bc_transaction_check_cb(void *u, const bc_transaction_check *c) {
    (void)u, (void)c;
    return 0;
}
static void noop_bc_notify_cb(void *u, const char *g) { (void)u, (void)g; }
static void noop_bc_stats_cb(void *u, const char *j) { (void)u, (void)j; }
static void noop_bc_free_cb(void *u) { (void)u; }
static void noop_bc_log_cb(void *u, int32_t l, const char *t, const char *m, const char *f) {
    (void)u, (void)l, (void)t, (void)m, (void)f;
}
static void noop_wakeup(void *u) { (void)u; }

static void fixture_init(void) {
    memset(&fx, 0, sizeof fx);
    ASSERT(bc_config_new(&fx.config, NULL) == BC_OK);
    ASSERT(bc_config_set(fx.config, "request.timeout.ms", "200", NULL) == BC_OK);
    ASSERT(bc_queue_new(&fx.queue, NULL) == BC_OK);
    /* 127.0.0.1:1: nothing listens, so an operation that is (wrongly) accepted fails fast. */
    ASSERT(bc_client_new("127.0.0.1:1", fx.config, NULL, &fx.client, NULL) == BC_OK);
    ASSERT(bc_manager_new(fx.config, NULL, &fx.manager, NULL) == BC_OK);
    ASSERT(bc_message_new("T", (const uint8_t *)"x", 1, &fx.message, NULL) == BC_OK);
    fx.messages[0] = fx.message;
    ASSERT(bc_cancel_token_new(&fx.token, NULL) == BC_OK);
    ASSERT(bc_pull_request_new("G", "T", 0, 0, &fx.request, NULL) == BC_OK);
    ASSERT(bc_heartbeat_new(&fx.heartbeat, NULL) == BC_OK);
    ASSERT(bc_heartbeat_add_producer(fx.heartbeat, "G", NULL) == BC_OK);
    ASSERT(bc_config_set(fx.config, "no.such.key", "1", &fx.error) == BC_ERR_INVALID_ARG);
    fx.bytes[0] = 'x';
    fx.view.struct_size = sizeof fx.view;
}

static void fixture_free(void) {
    bc_client_free(fx.client);
    bc_manager_free(fx.manager);
    bc_client_free(fx.out_client);
    bc_manager_free(fx.out_manager);
    bc_config_free(fx.config);
    bc_config_free(fx.out_config);
    bc_message_free(fx.message);
    bc_message_free(fx.out_message);
    bc_queue_free(fx.queue);
    bc_queue_free(fx.out_queue);
    bc_cancel_token_free(fx.token);
    bc_pull_request_free(fx.request);
    bc_pull_request_free(fx.out_request);
    bc_heartbeat_free(fx.heartbeat);
    bc_heartbeat_free(fx.out_heartbeat);
    bc_cancel_token_free(fx.out_token);
    bc_batch_free(fx.out_batch);
    bc_send_result_free(fx.out_result);
    bc_string_free(fx.out_string);
    bc_error_free(fx.error);
    bc_error_free(fx.err);
    bc_set_log_callback(0, NULL, NULL, NULL, NULL);
}

#include "bad_input_table.inc"

/* A failed case is reported and the table goes on, so one run lists every failure. */
#define CHECK_CASE(cond, ...)                                  \
    do {                                                       \
        if (cond) {                                            \
            passed++;                                          \
        } else {                                               \
            failures++;                                        \
            fprintf(stderr, "bad input case failed: " __VA_ARGS__); \
            fputc('\n', stderr);                               \
        }                                                      \
    } while (0)

static void run_null_table(void) {
    size_t n = sizeof CASES / sizeof CASES[0];
    size_t invalid = 0, optional = 0, nostatus = 0;
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bad_input_case *c = &CASES[i];
        for (int with_err = 0; with_err < 2; with_err++) {
            fixture_init();
            g_err_out = with_err ? &fx.err : NULL;
            bc_status st = c->run();
            if (c->expect == INVALID) {
                CHECK_CASE(st == BC_ERR_INVALID_ARG, "%s(%s = NULL) returned %d", c->function, c->param, (int)st);
                if (with_err && c->names_param && st == BC_ERR_INVALID_ARG) {
                    const char *msg = fx.err != NULL ? bc_error_message(fx.err) : NULL;
                    CHECK_CASE(msg != NULL && strstr(msg, c->param) != NULL,
                               "%s(%s = NULL): the message does not name it: %s", c->function,
                               c->param, msg ? msg : "(no error)");
                }
            }
            fixture_free();
        }
        invalid += c->expect == INVALID;
        optional += c->expect == OPTIONAL;
        nostatus += c->expect == NOSTATUS;
    }
    printf("figure: NULL table: %zu cases (%zu refused with BC_ERR_INVALID_ARG naming the argument, "
           "%zu documented optional, %zu without status), each with and without err_out\n",
           n, invalid, optional, nostatus);
    ASSERT_MSG(failures == 0, "%d NULL-table cases failed", failures);
}

/* ---------------------------------------------------------------------------------------- */
/* Bad values */

static atomic_int callbacks;
static void count_send_cb(void *u, bc_status s, const bc_error *e, const bc_send_result *r) {
    (void)u, (void)s, (void)e, (void)r;
    atomic_fetch_add(&callbacks, 1);
}

/* A send of `m` is refused before anything goes out: blocking and async. */
static void expect_send_refused(bc_client *c, const bc_message *m, const char *what) {
    bc_error *err = NULL;
    bc_send_result *r = NULL;
    bc_status st = bc_client_send(c, "G", 0, m, &r, &err);
    ASSERT_MSG(st == BC_ERR_INVALID_ARG, "%s: send returned %d", what, (int)st);
    ASSERT_MSG(r == NULL && err != NULL && strlen(bc_error_message(err)) > 0, "%s", what);
    printf("  %-40s -> %s\n", what, bc_error_message(err));
    bc_error_free(err);
    err = NULL;
    st = bc_client_send_async(c, "G", 0, m, count_send_cb, NULL, &err);
    ASSERT_MSG(st == BC_ERR_INVALID_ARG && err != NULL, "%s: async send returned %d", what, (int)st);
    bc_error_free(err);
}

static bc_message *message(const char *topic, const void *body, size_t len) {
    bc_message *m = NULL;
    ASSERT(bc_message_new(topic, (const uint8_t *)body, len, &m, NULL) == BC_OK);
    return m;
}

static void run_bad_values(void) {
    bc_client *c = NULL;
    bc_config *cfg = NULL;
    ASSERT(bc_config_new(&cfg, NULL) == BC_OK);
    ASSERT(bc_config_set(cfg, "request.timeout.ms", "200", NULL) == BC_OK);
    ASSERT(bc_client_new("127.0.0.1:1", cfg, NULL, &c, NULL) == BC_OK);

    /* Invalid UTF-8 is refused where the string enters. */
    bc_message *m = NULL;
    bc_error *err = NULL;
    ASSERT(bc_message_new("T\xff\xfe", (const uint8_t *)"x", 1, &m, &err) == BC_ERR_INVALID_ARG);
    ASSERT(m == NULL && err != NULL && strstr(bc_error_message(err), "UTF-8") != NULL);
    printf("  %-40s -> %s\n", "invalid UTF-8 topic", bc_error_message(err));
    bc_error_free(err);
    int64_t v = 0;
    err = NULL;
    ASSERT(bc_client_get_max_offset(c, "T\xc3(", 0, &v, &err) == BC_ERR_INVALID_ARG && err != NULL);
    bc_error_free(err);

    static const char *bad_topics[] = {"", "a b", "a/b", "a\tb", "TBW102x\xc3\xa9",
                                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad_topics / sizeof bad_topics[0]; i++) {
        bc_message *bad = message(bad_topics[i], "x", 1);
        char what[64];
        snprintf(what, sizeof what, "topic #%zu (%.12s...)", i, bad_topics[i]);
        expect_send_refused(c, bad, what);
        bc_message_free(bad);
    }

    bc_message *empty = message("T", NULL, 0);
    expect_send_refused(c, empty, "empty body");
    bc_message_free(empty);

    size_t big = 4 * 1024 * 1024 + 1;
    char *body = calloc(big, 1);
    ASSERT(body != NULL);
    bc_message *oversize = message("T", body, big);
    free(body);
    expect_send_refused(c, oversize, "oversize body (4 MiB + 1)");
    bc_message_free(oversize);

    /* Property names and values with the wire format's separators (0x01 between name and
     * value, 0x02 between properties) would corrupt every property after them. */
    static const char *bad_props[][2] = {{"k\x01", "v"}, {"k", "v\x02x"}, {"k\x02", "v"}, {"k", "v\x01"}, {"", "v"}};
    for (size_t i = 0; i < sizeof bad_props / sizeof bad_props[0]; i++) {
        bc_message *pm = message("T", "x", 1);
        err = NULL;
        bc_status st = bc_message_set_property(pm, bad_props[i][0], bad_props[i][1], &err);
        if (st == BC_OK) {
            char what[64];
            snprintf(what, sizeof what, "property #%zu with a separator byte", i);
            expect_send_refused(c, pm, what);
        } else {
            ASSERT(st == BC_ERR_INVALID_ARG && err != NULL && strlen(bc_error_message(err)) > 0);
            printf("  property #%-31zu -> %s\n", i, bc_error_message(err));
        }
        bc_error_free(err);
        bc_message_free(pm);
    }

    /* Reserved property names change what the broker does (UNIQ_KEY replaces the message id,
     * TRAN_MSG makes a half message that never commits, DELAY delays it): refused as user
     * properties, as the Java client's putUserProperty refuses them. */
    static const char *reserved[] = {"UNIQ_KEY", "TRAN_MSG", "DELAY", "KEYS", "TAGS", "WAIT",
                                     "PGROUP", "TIMER_DELAY_MS", "TIMER_DELIVER_MS",
                                     "__RMQ.TRANSIENT.X"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        bc_message *pm = message("T", "x", 1);
        err = NULL;
        ASSERT_MSG(bc_message_set_property(pm, reserved[i], "3", &err) == BC_ERR_INVALID_ARG,
                   "reserved property %s accepted", reserved[i]);
        ASSERT(err != NULL && strstr(bc_error_message(err), "reserved") != NULL);
        printf("  reserved property %-22s -> %s\n", reserved[i], bc_error_message(err));
        bc_error_free(err);
        bc_message_free(pm);
    }
    {
        bc_message *pm = message("T", "x", 1);
        ASSERT(bc_message_set_property(pm, "order_id", "42", NULL) == BC_OK);
        ASSERT(bc_message_set_property(pm, "uniq_key", "names are case-sensitive", NULL) == BC_OK);
        bc_message_free(pm);
    }

    /* Batches refuse transactional and delayed entries: the broker checks only the batch
     * header, so such an entry would be stored as a plain message, visible at once. */
    for (int kind = 0; kind < 4; kind++) {
        bc_message *plain = message("T", "a", 1);
        bc_message *odd = message("T", "b", 1);
        const char *what = "";
        switch (kind) {
        case 0: ASSERT(bc_message_set_transactional(odd, NULL) == BC_OK); what = "batch with a transactional message"; break;
        case 1: ASSERT(bc_message_set_delay_level(odd, 3, NULL) == BC_OK); what = "batch with a delay level"; break;
        case 2: ASSERT(bc_message_set_delay_time_ms(odd, 5000, NULL) == BC_OK); what = "batch with a delay time"; break;
        default: ASSERT(bc_message_set_deliver_time_ms(odd, 4102444800000, NULL) == BC_OK); what = "batch with a delivery time"; break;
        }
        const bc_message *batch[2] = {plain, odd};
        bc_send_result *r = NULL;
        err = NULL;
        ASSERT_MSG(bc_client_send_batch(c, "G", 0, batch, 2, &r, &err) == BC_ERR_INVALID_ARG, "%s", what);
        ASSERT(r == NULL && err != NULL && strlen(bc_error_message(err)) > 0);
        printf("  %-40s -> %s\n", what, bc_error_message(err));
        bc_error_free(err);
        err = NULL;
        ASSERT(bc_client_send_batch_async(c, "G", 0, batch, 2, count_send_cb, NULL, &err) == BC_ERR_INVALID_ARG);
        bc_error_free(err);
        err = NULL;
        ASSERT(bc_client_send_batch_oneway(c, "G", 0, batch, 2, &err) == BC_ERR_INVALID_ARG);
        bc_error_free(err);
        bc_message_free(plain);
        bc_message_free(odd);
    }
    {
        bc_message *pm = message("T", "x", 1);
        ASSERT(bc_message_set_delay_time_ms(pm, 0, NULL) == BC_ERR_INVALID_ARG);
        ASSERT(bc_message_set_deliver_time_ms(pm, -1, NULL) == BC_ERR_INVALID_ARG);
        ASSERT(bc_message_set_wait_store(pm, false, NULL) == BC_OK);
        bc_message_free(pm);
    }

    /* Config: unknown key, bad numbers, a value out of range. */
    static const char *bad_config[][2] = {{"no.such.key", "1"}, {"request.timeout.ms", "abc"},
                                          {"request.timeout.ms", "-5"}, {"max.frame.bytes", "12abc"},
                                          {"header.serializer", "xml"}};
    for (size_t i = 0; i < sizeof bad_config / sizeof bad_config[0]; i++) {
        err = NULL;
        ASSERT_MSG(bc_config_set(cfg, bad_config[i][0], bad_config[i][1], &err) == BC_ERR_INVALID_ARG,
                   "config %s=%s", bad_config[i][0], bad_config[i][1]);
        ASSERT(err != NULL && strlen(bc_error_message(err)) > 0);
        printf("  config %-33s -> %s\n", bad_config[i][0], bc_error_message(err));
        bc_error_free(err);
    }

    bc_client_free(c);
    bc_config_free(cfg);
    ASSERT(atomic_load(&callbacks) == 0); /* refused async calls never call back */
}

int main(void) {
    run_null_table();
    run_bad_values();
    printf("test_bad_input: %d passed, 0 failed\n", passed);
    return 0;
}
