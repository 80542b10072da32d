/*
 * libuv_queue.c - queue mode driven by a single-threaded libuv loop through the header-only
 * adapter include/brokerclient/adapters/libuv.h.
 *
 * The client is created with a bc_queue; bc_libuv_attach polls the queue's fd with a
 * uv_poll_t and runs bc_queue_dispatch on the loop thread, so every callback runs on that one
 * thread and needs no locks. A uv_timer starts the first window of sends; each completion
 * starts the next one, until N sends (default 1000; $BC_TEST_ITERATIONS or argv[1]) with at
 * most $BC_MAX_IN_FLIGHT (default 100) outstanding; $BC_DISPATCH_MAX (default 0 = all) bounds
 * the completions run per wake-up (bc_libuv_set_max_per_wakeup). Then checks:
 *   - every send's callback ran exactly once, with BC_OK, on the loop thread;
 *   - no two sends got the same queue offset;
 *   - an async pull (also through the loop) returns the first message sent;
 *   - after detach, client free and queue free, no callback ran again.
 * A watchdog timer fails the run after 120 s. Prints "libuv_queue: OK" and exits 0 on success.
 *
 * Needs libuv (Debian/Ubuntu: apt-get install -y libuv1-dev). Build from the repository root,
 * after `cargo build`:
 *   cc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude examples-c/libuv_queue.c \
 *      $(pkg-config --cflags --libs libuv) -Ltarget/debug -lbrokerclient \
 *      -Wl,-rpath,$PWD/target/debug -o libuv_queue
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "brokerclient.h"
#include "brokerclient/adapters/libuv.h"

#define TOPIC "BrokerClientLibuvC"
#define QUEUES 4
#define QUEUE_ID 1
#define PRODUCER_GROUP "libuv_c_producer"
#define CONSUMER_GROUP "libuv_c_consumer"
#define WATCHDOG_MS 120000

struct send_op {
    int calls;
    int32_t status;
    int64_t offset;
};

static struct {
    uv_loop_t *loop;
    uv_timer_t start_timer;
    uv_timer_t watchdog;
    bc_libuv_adapter *adapter;
    bc_client *client;
    pthread_t loop_thread;

    size_t total;
    size_t max_in_flight;
    size_t submitted;
    size_t in_flight;
    size_t completed;
    size_t callbacks_after_end;
    int finished;
    struct send_op *ops;

    char run_id[64];
    int pull_calls;
    int pull_found;
    int timed_out;
} S;

static int failures = 0;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

static void die(const char *what, bc_status st, bc_error *err) {
    fprintf(stderr, "libuv_queue: %s failed: %s: %s\n", what, bc_status_name(st),
            err ? bc_error_message(err) : "(no details)");
    bc_error_free(err);
    exit(1);
}

static size_t size_setting(const char *arg, const char *env, size_t dflt) {
    const char *v = arg ? arg : getenv(env);
    if (v == NULL || *v == '\0') return dflt;
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (end == v || *end != '\0' || n == 0) {
        fprintf(stderr, "libuv_queue: bad count '%s'\n", v);
        exit(2);
    }
    return (size_t)n;
}

static void finish(void);
static void submit_one(void);
static void on_pulled(void *ud, bc_status st, const bc_error *err, bc_batch *batch);

static void on_sent(void *user_data, bc_status status, const bc_error *err, const bc_send_result *r) {
    const size_t i = (size_t)(uintptr_t)user_data;
    if (S.finished) S.callbacks_after_end++;
    CHECK(pthread_equal(pthread_self(), S.loop_thread));
    CHECK(i < S.total);
    if (i >= S.total) return;
    struct send_op *op = &S.ops[i];
    op->calls++;
    op->status = status;
    if (status == BC_OK) {
        op->offset = bc_send_result_queue_offset(r);
    } else if (failures < 10) {
        fprintf(stderr, "send %zu: %s: %s\n", i, bc_status_name(status), bc_error_message(err));
    }
    S.in_flight--;
    S.completed++;
    if (S.finished) return; /* the watchdog ended the run */
    /* Refill the window from the callback: starting operations from a callback is allowed. */
    while (S.submitted < S.total && S.in_flight < S.max_in_flight) submit_one();
    if (S.completed == S.total) {
        /* Every send is done: pull the first message back, through the loop too. */
        bc_error *e = NULL;
        bc_status st = bc_client_pull_async(S.client, CONSUMER_GROUP, TOPIC, QUEUE_ID, S.ops[0].offset, 1,
                                            3000, NULL, on_pulled, NULL, &e);
        if (st != BC_OK) {
            fprintf(stderr, "pull_async refused: %s: %s\n", bc_status_name(st), bc_error_message(e));
            bc_error_free(e);
            failures++;
            finish();
        }
    }
}

static void submit_one(void) {
    const size_t i = S.submitted;
    char body[128];
    int len = snprintf(body, sizeof body, "libuv %s #%zu", S.run_id, i);
    bc_message *msg = NULL;
    bc_error *err = NULL;
    bc_status st = bc_message_new(TOPIC, (const uint8_t *)body, (size_t)len, &msg, &err);
    if (st != BC_OK) die("bc_message_new", st, err);
    st = bc_client_send_async(S.client, PRODUCER_GROUP, QUEUE_ID, msg, on_sent, (void *)(uintptr_t)i, &err);
    /* The message is copied before the call returns. */
    bc_message_free(msg);
    if (st != BC_OK) die("bc_client_send_async", st, err);
    S.submitted++;
    S.in_flight++;
}

static void on_pulled(void *ud, bc_status st, const bc_error *err, bc_batch *batch) {
    (void)ud;
    S.pull_calls++;
    CHECK(pthread_equal(pthread_self(), S.loop_thread));
    if (st != BC_OK) {
        fprintf(stderr, "pull: %s: %s\n", bc_status_name(st), bc_error_message(err));
        failures++;
    } else {
        char want[128];
        int want_len = snprintf(want, sizeof want, "libuv %s #0", S.run_id);
        for (size_t i = 0; i < bc_batch_len(batch); i++) {
            bc_message_view v;
            memset(&v, 0, sizeof v);
            v.struct_size = sizeof v;
            if (bc_batch_get(batch, i, &v, NULL) != BC_OK) continue;
            if (v.queue_offset == S.ops[0].offset && v.body_len == (size_t)want_len &&
                memcmp(v.body, want, v.body_len) == 0)
                S.pull_found = 1;
        }
        if (!S.pull_found && bc_batch_status(batch) == 1 /* NO_NEW_MSG: not visible yet */) {
            bc_batch_free(batch);
            bc_error *e = NULL;
            if (S.pull_calls < 6 &&
                bc_client_pull_async(S.client, CONSUMER_GROUP, TOPIC, QUEUE_ID, S.ops[0].offset, 1, 3000,
                                     NULL, on_pulled, NULL, &e) == BC_OK)
                return;
            bc_error_free(e);
            batch = NULL;
        }
    }
    bc_batch_free(batch);
    finish();
}

/* Ends the run: detach the adapter and close the timers, so uv_run returns. */
static void finish(void) {
    if (S.finished) return;
    S.finished = 1;
    bc_libuv_detach(S.adapter);
    S.adapter = NULL;
    uv_timer_stop(&S.watchdog);
    uv_close((uv_handle_t *)&S.watchdog, NULL);
    uv_close((uv_handle_t *)&S.start_timer, NULL);
}

static void on_start(uv_timer_t *t) {
    (void)t;
    while (S.submitted < S.total && S.in_flight < S.max_in_flight) submit_one();
}

static void on_watchdog(uv_timer_t *t) {
    (void)t;
    fprintf(stderr, "libuv_queue: watchdog: %zu of %zu sends completed after %d s\n", S.completed, S.total,
            WATCHDOG_MS / 1000);
    S.timed_out = 1;
    failures++;
    finish();
}

int main(int argc, char **argv) {
    const char *addr = getenv("BC_BROKER_ADDR");
    if (addr == NULL || *addr == '\0') addr = "127.0.0.1:10911";
    S.total = size_setting(argc > 1 ? argv[1] : NULL, "BC_TEST_ITERATIONS", 1000);
    S.max_in_flight = size_setting(NULL, "BC_MAX_IN_FLIGHT", 100);
    S.ops = calloc(S.total, sizeof *S.ops);
    if (S.ops == NULL) return 1;
    snprintf(S.run_id, sizeof S.run_id, "%ld.%ld", (long)time(NULL), (long)clock());

    if (bc_version() != BC_VERSION_NUM) {
        fprintf(stderr, "libuv_queue: header %s but library %s\n", BC_VERSION_STR, bc_version_str());
        return 1;
    }
    printf("libbrokerclient %s, libuv %s, broker %s: %zu sends, %zu in flight\n", bc_version_str(),
           uv_version_string(), addr, S.total, S.max_in_flight);

    bc_queue *queue = NULL;
    bc_error *err = NULL;
    bc_status st = bc_queue_new(&queue, &err);
    if (st != BC_OK) die("bc_queue_new", st, err);
    st = bc_client_new(addr, NULL, queue, &S.client, &err);
    if (st != BC_OK) die("bc_client_new", st, err);
    /* Blocking calls are fine on the app's thread before (or outside) the loop. */
    st = bc_client_create_topic(S.client, TOPIC, QUEUES, &err);
    if (st != BC_OK) die("bc_client_create_topic", st, err);

    S.loop = uv_default_loop();
    S.loop_thread = pthread_self();
    int rc = bc_libuv_attach(S.loop, queue, &S.adapter);
    if (rc != 0) {
        fprintf(stderr, "libuv_queue: bc_libuv_attach: %s\n", uv_strerror(rc));
        return 1;
    }
    CHECK(bc_libuv_attach(NULL, queue, NULL) == UV_EINVAL);
    {
        const char *m = getenv("BC_DISPATCH_MAX");
        if (m != NULL && *m != '\0') bc_libuv_set_max_per_wakeup(S.adapter, size_setting(m, NULL, 0));
    }
    uv_timer_init(S.loop, &S.start_timer);
    uv_timer_start(&S.start_timer, on_start, 0, 0);
    uv_timer_init(S.loop, &S.watchdog);
    uv_timer_start(&S.watchdog, on_watchdog, WATCHDOG_MS, 0);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uv_run(S.loop, UV_RUN_DEFAULT); /* returns once finish() closed every handle */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    /* Exactly once: every send called back once, with BC_OK, and offsets are distinct. */
    size_t ok = 0, once = 0, dup_offsets = 0;
    for (size_t i = 0; i < S.total; i++) {
        if (S.ops[i].calls == 1) once++;
        if (S.ops[i].calls == 1 && S.ops[i].status == BC_OK) ok++;
        for (size_t j = i + 1; j < S.total && S.ops[i].calls; j++)
            if (S.ops[j].calls && S.ops[i].offset == S.ops[j].offset) dup_offsets++;
    }
    printf("loop ran %.2f s: %zu completed, %zu exactly once, %zu OK, %zu duplicate offsets, pull %s\n", secs,
           S.completed, once, ok, dup_offsets, S.pull_found ? "found the first message" : "FAILED");
    CHECK(!S.timed_out);
    CHECK(S.submitted == S.total);
    CHECK(S.completed == S.total);
    CHECK(once == S.total);
    CHECK(ok == S.total);
    CHECK(dup_offsets == 0);
    CHECK(S.pull_found);

    bc_client_free(S.client);
    bc_queue_free(queue); /* would deliver leftovers: there must be none */
    CHECK(S.callbacks_after_end == 0);
    CHECK(uv_loop_close(S.loop) == 0);
    free(S.ops);

    if (failures) {
        fprintf(stderr, "libuv_queue: %d check(s) failed\n", failures);
        return 1;
    }
    printf("libuv_queue: OK\n");
    return 0;
}
