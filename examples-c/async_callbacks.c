/*
 * async_callbacks.c - callback mode (no bc_queue): completions run on library threads.
 *
 * Sends N messages (default 1000; $BC_TEST_ITERATIONS or argv[1] overrides) with
 * bc_client_send_async, at most $BC_MAX_IN_FLIGHT (default 256) outstanding, counts the
 * callbacks with C11 atomics and waits for them on a pthread condition variable (no sleeps).
 * Asserts every callback ran exactly once with BC_OK, that none runs after bc_client_close,
 * then pulls the first message back with bc_client_pull_async.
 *
 * Rules of callback mode this sample follows: callbacks run on a library (tokio) thread, may
 * run concurrently, must not block (a mutex held for a few instructions is fine) and must not
 * call blocking bc_* functions (they return BC_ERR_WOULD_DEADLOCK there).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brokerclient.h"

#define TOPIC "BrokerClientAsyncC"
#define QUEUES 4
#define PRODUCER_GROUP "async_c_producer"
#define CONSUMER_GROUP "async_c_consumer"
#define WAIT_SECONDS 120

struct run;

/* One accepted send: its user_data. */
struct op {
    struct run *run;
    size_t index;
    atomic_int calls;
    int32_t status;   /* written by the callback before it signals (mutex orders it) */
    int32_t queue_id; /* from the send result */
    int64_t offset;
};

struct run {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t completed; /* guarded by mu */
    size_t in_flight; /* guarded by mu */
    atomic_size_t callbacks;
    atomic_size_t ok;
    atomic_size_t duplicates;
    atomic_size_t on_app_thread;
    pthread_t main_thread;
    /* The pull. */
    int pull_done; /* guarded by mu */
    int32_t pull_status;
    bc_error *pull_err;
    bc_batch *pull_batch;
};

static int failures = 0;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

static void die(const char *what, bc_status st, bc_error *err) {
    fprintf(stderr, "async_callbacks: %s failed: %s: %s\n", what, bc_status_name(st),
            err ? bc_error_message(err) : "(no details)");
    bc_error_free(err);
    exit(1);
}

static size_t env_size(const char *name, size_t dflt) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') return dflt;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v || *end != '\0' || n == 0) {
        fprintf(stderr, "async_callbacks: %s=%s is not a positive number\n", name, v);
        exit(2);
    }
    return (size_t)n;
}

static struct timespec deadline_in(int seconds) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;
    return ts;
}

/* bc_send_cb: runs once per accepted send, on a library thread. */
static void on_sent(void *user_data, bc_status status, const bc_error *err, const bc_send_result *res) {
    struct op *op = user_data;
    struct run *run = op->run;
    if (atomic_fetch_add(&op->calls, 1) != 0) atomic_fetch_add(&run->duplicates, 1);
    if (pthread_equal(pthread_self(), run->main_thread)) atomic_fetch_add(&run->on_app_thread, 1);
    op->status = status;
    if (status == BC_OK) {
        op->queue_id = bc_send_result_queue_id(res);
        op->offset = bc_send_result_queue_offset(res);
        atomic_fetch_add(&run->ok, 1);
    } else {
        /* err is borrowed: read it now, never free it. */
        fprintf(stderr, "async_callbacks: send #%zu failed: %s: %s\n", op->index, bc_status_name(status),
                bc_error_message(err));
    }
    atomic_fetch_add(&run->callbacks, 1);
    pthread_mutex_lock(&run->mu);
    run->completed++;
    run->in_flight--;
    pthread_cond_broadcast(&run->cv);
    pthread_mutex_unlock(&run->mu);
}

/* bc_pull_cb: the batch is ours; hand it (and a copy of the error) to the main thread. */
static void on_pulled(void *user_data, bc_status status, const bc_error *err, bc_batch *batch) {
    struct run *run = user_data;
    pthread_mutex_lock(&run->mu);
    run->pull_status = status;
    run->pull_err = err ? bc_error_clone(err) : NULL;
    run->pull_batch = batch;
    run->pull_done++;
    pthread_cond_broadcast(&run->cv);
    pthread_mutex_unlock(&run->mu);
}

int main(int argc, char **argv) {
    const char *addr = getenv("BC_BROKER_ADDR");
    if (addr == NULL || *addr == '\0') addr = "127.0.0.1:10911";
    size_t n = env_size("BC_TEST_ITERATIONS", 1000);
    if (argc > 1) n = (size_t)strtoull(argv[1], NULL, 10);
    if (n == 0) n = 1;
    const size_t window = env_size("BC_MAX_IN_FLIGHT", 256);

    static struct run run; /* zeroed */
    pthread_mutex_init(&run.mu, NULL);
    pthread_cond_init(&run.cv, NULL);
    run.main_thread = pthread_self();

    struct op *ops = calloc(n, sizeof *ops);
    if (ops == NULL) return 1;

    bc_error *err = NULL;
    bc_client *client = NULL;
    bc_status st = bc_client_new(addr, NULL, NULL /* callback mode */, &client, &err);
    if (st != BC_OK) die("bc_client_new", st, err);
    st = bc_client_create_topic(client, TOPIC, QUEUES, &err);
    if (st != BC_OK) die("bc_client_create_topic", st, err);

    char run_id[48];
    snprintf(run_id, sizeof run_id, "%ld-%ld", (long)time(NULL), (long)clock());

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < n; i++) {
        /* Keep at most `window` sends outstanding: wait on the condition, never sleep. */
        pthread_mutex_lock(&run.mu);
        struct timespec dl = deadline_in(WAIT_SECONDS);
        while (run.in_flight >= window) {
            if (pthread_cond_timedwait(&run.cv, &run.mu, &dl) != 0) {
                fprintf(stderr, "async_callbacks: no completion for %d s\n", WAIT_SECONDS);
                exit(1);
            }
        }
        run.in_flight++;
        pthread_mutex_unlock(&run.mu);

        char body[96];
        int len = snprintf(body, sizeof body, "async_callbacks %s #%zu", run_id, i);
        bc_message *msg = NULL;
        st = bc_message_new(TOPIC, (const uint8_t *)body, (size_t)len, &msg, &err);
        if (st != BC_OK) die("bc_message_new", st, err);
        st = bc_message_set_tags(msg, "async", &err);
        if (st != BC_OK) die("bc_message_set_tags", st, err);

        ops[i].run = &run;
        ops[i].index = i;
        ops[i].queue_id = -1;
        ops[i].offset = -1;
        atomic_init(&ops[i].calls, 0);
        st = bc_client_send_async(client, PRODUCER_GROUP, (int32_t)(i % QUEUES), msg, on_sent, &ops[i], &err);
        /* The message was copied: free it right away. */
        bc_message_free(msg);
        if (st != BC_OK) die("bc_client_send_async", st, err); /* not accepted: no callback */
    }

    /* Wait for every callback. */
    pthread_mutex_lock(&run.mu);
    struct timespec dl = deadline_in(WAIT_SECONDS);
    while (run.completed < n) {
        if (pthread_cond_timedwait(&run.cv, &run.mu, &dl) != 0) {
            fprintf(stderr, "async_callbacks: %zu of %zu callbacks after %d s\n", run.completed, n, WAIT_SECONDS);
            exit(1);
        }
    }
    pthread_mutex_unlock(&run.mu);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("async_callbacks: %zu sends completed in %.3f s (window %zu)\n", n, secs, window);

    /* close: every accepted operation has completed; nothing may run after it. */
    size_t before_close = atomic_load(&run.callbacks);
    st = bc_client_close(client, 5000, &err);
    if (st != BC_OK) die("bc_client_close", st, err);
    CHECK(atomic_load(&run.callbacks) == before_close);
    CHECK(atomic_load(&run.callbacks) == n);
    CHECK(atomic_load(&run.ok) == n);
    CHECK(atomic_load(&run.duplicates) == 0);
    CHECK(atomic_load(&run.on_app_thread) == 0);
    int64_t first_offset = -1;
    size_t first_index = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(atomic_load(&ops[i].calls) == 1);
        CHECK(ops[i].status == BC_OK);
        CHECK(ops[i].queue_id == (int32_t)(i % QUEUES));
        if (ops[i].queue_id == 0 && (first_offset < 0 || ops[i].offset < first_offset)) {
            first_offset = ops[i].offset;
            first_index = i;
        }
    }
    bc_client_free(client);
    client = NULL;
    if (failures) {
        fprintf(stderr, "async_callbacks: %d checks failed\n", failures);
        return 1;
    }
    printf("async_callbacks: every callback ran exactly once with BC_OK\n");

    /* An async pull of queue 0 from the first offset this run wrote, on a fresh client. */
    st = bc_client_new(addr, NULL, NULL, &client, &err);
    if (st != BC_OK) die("bc_client_new", st, err);
    char expected[96];
    int expected_len = snprintf(expected, sizeof expected, "async_callbacks %s #%zu", run_id, first_index);
    for (int round = 0; round < 6; round++) {
        pthread_mutex_lock(&run.mu);
        run.pull_done = 0;
        pthread_mutex_unlock(&run.mu);
        st = bc_client_pull_async(client, CONSUMER_GROUP, TOPIC, 0, first_offset, 16, 5000, "async", on_pulled,
                                  &run, &err);
        if (st != BC_OK) die("bc_client_pull_async", st, err);
        pthread_mutex_lock(&run.mu);
        dl = deadline_in(WAIT_SECONDS);
        while (!run.pull_done) {
            if (pthread_cond_timedwait(&run.cv, &run.mu, &dl) != 0) {
                fprintf(stderr, "async_callbacks: the pull never completed\n");
                exit(1);
            }
        }
        pthread_mutex_unlock(&run.mu);
        if (run.pull_status != BC_OK) die("the async pull", run.pull_status, run.pull_err);
        bc_batch *b = run.pull_batch;
        run.pull_batch = NULL;
        int32_t ps = bc_batch_status(b);
        if (ps == 1 /* NO_NEW_MSG: not dispatched yet */) {
            bc_batch_free(b);
            continue;
        }
        CHECK(ps == 0);
        CHECK(bc_batch_len(b) >= 1);
        bc_message_view v;
        memset(&v, 0, sizeof v);
        v.struct_size = sizeof v;
        st = bc_batch_get(b, 0, &v, &err);
        if (st != BC_OK) die("bc_batch_get", st, err);
        CHECK(v.queue_offset == first_offset);
        CHECK(v.body_len == (size_t)expected_len && memcmp(v.body, expected, v.body_len) == 0);
        CHECK(strcmp(v.tags, "async") == 0);
        printf("async_callbacks: pulled %zu messages from queue 0 offset %lld: \"%.*s\"\n", bc_batch_len(b),
               (long long)first_offset, (int)v.body_len, (const char *)v.body);
        bc_batch_free(b);
        bc_client_free(client);
        free(ops);
        pthread_cond_destroy(&run.cv);
        pthread_mutex_destroy(&run.mu);
        if (failures) {
            fprintf(stderr, "async_callbacks: %d checks failed\n", failures);
            return 1;
        }
        printf("async_callbacks: OK\n");
        return 0;
    }
    fprintf(stderr, "async_callbacks: offset %lld of queue 0 never became pullable\n", (long long)first_offset);
    return 1;
}
