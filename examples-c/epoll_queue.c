/*
 * epoll_queue.c - queue mode: a single-threaded epoll loop runs every completion.
 *
 * The client is created with a bc_queue, so completions are queued instead of running on a
 * library thread. The loop waits on bc_queue_fd(q) (a non-blocking eventfd, readable while
 * completions wait) next to whatever else it serves, and runs callbacks on its own thread with
 * bc_queue_dispatch. No locks or atomics are needed: every callback runs on this thread.
 *
 * Sends N messages (default 1000; $BC_TEST_ITERATIONS or argv[1]) with bc_client_send_async,
 * at most $BC_MAX_IN_FLIGHT (default 256) outstanding, asserts each callback ran exactly once
 * with BC_OK on the loop thread, pulls the first one back asynchronously, checks the fd
 * invariant (empty queue => fd not readable), then bc_client_free and bc_queue_free.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "brokerclient.h"

#define TOPIC "BrokerClientEpollC"
#define QUEUES 4
#define PRODUCER_GROUP "epoll_c_producer"
#define CONSUMER_GROUP "epoll_c_consumer"
#define LOOP_TIMEOUT_MS 120000

struct op {
    int calls;
    int32_t status;
    int32_t queue_id;
    int64_t offset;
};

struct loop {
    int epfd;
    const bc_queue *queue;
    pthread_t thread;
    size_t in_flight;
    size_t completed;
    size_t wrong_thread;
    size_t duplicates;
    /* One-off operations (create topic, pull). */
    int done;
    int32_t status;
    bc_error *err;
    bc_batch *batch;
};

static struct loop L;
static int failures = 0;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

static void die(const char *what, bc_status st, bc_error *err) {
    fprintf(stderr, "epoll_queue: %s failed: %s: %s\n", what, bc_status_name(st),
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
        fprintf(stderr, "epoll_queue: %s=%s is not a positive number\n", name, v);
        exit(2);
    }
    return (size_t)n;
}

/* One turn of the loop: wait for the queue's fd (and, in a real program, sockets, timers...),
 * then run the queued callbacks here. Returns how many callbacks ran. */
static size_t loop_once(int timeout_ms) {
    struct epoll_event ev[8];
    int n = epoll_wait(L.epfd, ev, 8, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return 0;
        perror("epoll_wait");
        exit(1);
    }
    if (n == 0) {
        fprintf(stderr, "epoll_queue: nothing completed for %d ms\n", timeout_ms);
        exit(1);
    }
    size_t ran = 0;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.ptr == &L) ran += bc_queue_dispatch(L.queue, 0);
    }
    return ran;
}

static void on_done(void *user_data, bc_status status, const bc_error *err) {
    (void)user_data;
    if (!pthread_equal(pthread_self(), L.thread)) L.wrong_thread++;
    L.status = status;
    L.err = err ? bc_error_clone(err) : NULL;
    L.done++;
}

static void on_sent(void *user_data, bc_status status, const bc_error *err, const bc_send_result *res) {
    struct op *op = user_data;
    if (!pthread_equal(pthread_self(), L.thread)) L.wrong_thread++;
    if (op->calls++ != 0) L.duplicates++;
    op->status = status;
    if (status == BC_OK) {
        op->queue_id = bc_send_result_queue_id(res);
        op->offset = bc_send_result_queue_offset(res);
    } else {
        fprintf(stderr, "epoll_queue: send failed: %s: %s\n", bc_status_name(status), bc_error_message(err));
    }
    L.in_flight--;
    L.completed++;
}

static void on_pulled(void *user_data, bc_status status, const bc_error *err, bc_batch *batch) {
    (void)user_data;
    if (!pthread_equal(pthread_self(), L.thread)) L.wrong_thread++;
    L.status = status;
    L.err = err ? bc_error_clone(err) : NULL;
    L.batch = batch; /* ours now */
    L.done++;
}

static int fd_readable(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int main(int argc, char **argv) {
    const char *addr = getenv("BC_BROKER_ADDR");
    if (addr == NULL || *addr == '\0') addr = "127.0.0.1:10911";
    size_t n = env_size("BC_TEST_ITERATIONS", 1000);
    if (argc > 1) n = (size_t)strtoull(argv[1], NULL, 10);
    if (n == 0) n = 1;
    const size_t window = env_size("BC_MAX_IN_FLIGHT", 256);

    bc_error *err = NULL;
    bc_queue *q = NULL;
    bc_status st = bc_queue_new(&q, &err);
    if (st != BC_OK) die("bc_queue_new", st, err);
    bc_client *client = NULL;
    st = bc_client_new(addr, NULL, q /* queue mode */, &client, &err);
    if (st != BC_OK) die("bc_client_new", st, err);

    L.queue = q;
    L.thread = pthread_self();
    L.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (L.epfd < 0) {
        perror("epoll_create1");
        return 1;
    }
    int qfd = bc_queue_fd(q);
    CHECK(qfd >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &L};
    if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, qfd, &ev) != 0) {
        perror("epoll_ctl");
        return 1;
    }
    CHECK(!fd_readable(qfd));

    /* The topic, asynchronously too. */
    st = bc_client_create_topic_async(client, TOPIC, QUEUES, on_done, NULL, &err);
    if (st != BC_OK) die("bc_client_create_topic_async", st, err);
    while (!L.done) loop_once(LOOP_TIMEOUT_MS);
    if (L.status != BC_OK) die("create topic", L.status, L.err);

    struct op *ops = calloc(n, sizeof *ops);
    if (ops == NULL) return 1;
    char run_id[48];
    snprintf(run_id, sizeof run_id, "%ld-%ld", (long)time(NULL), (long)clock());

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t submitted = 0;
    size_t turns = 0;
    while (L.completed < n) {
        while (submitted < n && L.in_flight < window) {
            char body[96];
            int len = snprintf(body, sizeof body, "epoll_queue %s #%zu", run_id, submitted);
            bc_message *msg = NULL;
            st = bc_message_new(TOPIC, (const uint8_t *)body, (size_t)len, &msg, &err);
            if (st != BC_OK) die("bc_message_new", st, err);
            ops[submitted].queue_id = -1;
            st = bc_client_send_async(client, PRODUCER_GROUP, (int32_t)(submitted % QUEUES), msg, on_sent,
                                      &ops[submitted], &err);
            bc_message_free(msg);
            if (st != BC_OK) die("bc_client_send_async", st, err);
            L.in_flight++;
            submitted++;
        }
        loop_once(LOOP_TIMEOUT_MS);
        turns++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("epoll_queue: %zu sends completed in %.3f s, %zu loop turns (window %zu)\n", n, secs, turns, window);

    /* Exactly once, on this thread, all BC_OK. */
    CHECK(L.completed == n);
    CHECK(L.duplicates == 0);
    CHECK(L.wrong_thread == 0);
    int64_t first_offset = -1;
    size_t first_index = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(ops[i].calls == 1);
        CHECK(ops[i].status == BC_OK);
        CHECK(ops[i].queue_id == (int32_t)(i % QUEUES));
        if (ops[i].queue_id == 0 && (first_offset < 0 || ops[i].offset < first_offset)) {
            first_offset = ops[i].offset;
            first_index = i;
        }
    }
    /* The fd invariant: the queue is empty, so the fd is not readable. */
    CHECK(bc_queue_len(q) == 0);
    CHECK(!fd_readable(qfd));

    /* Pull the first message of queue 0 back, through the same loop. */
    char expected[96];
    int expected_len = snprintf(expected, sizeof expected, "epoll_queue %s #%zu", run_id, first_index);
    int pulled = 0;
    for (int round = 0; round < 6 && !pulled; round++) {
        L.done = 0;
        st = bc_client_pull_async(client, CONSUMER_GROUP, TOPIC, 0, first_offset, 8, 5000, NULL, on_pulled, NULL,
                                  &err);
        if (st != BC_OK) die("bc_client_pull_async", st, err);
        while (!L.done) loop_once(LOOP_TIMEOUT_MS);
        if (L.status != BC_OK) die("the async pull", L.status, L.err);
        if (bc_batch_status(L.batch) == 0 && bc_batch_len(L.batch) > 0) {
            bc_message_view v;
            memset(&v, 0, sizeof v);
            v.struct_size = sizeof v;
            st = bc_batch_get(L.batch, 0, &v, &err);
            if (st != BC_OK) die("bc_batch_get", st, err);
            CHECK(v.queue_offset == first_offset);
            CHECK(v.body_len == (size_t)expected_len && memcmp(v.body, expected, v.body_len) == 0);
            printf("epoll_queue: pulled \"%.*s\" from queue 0 offset %lld\n", (int)v.body_len,
                   (const char *)v.body, (long long)v.queue_offset);
            pulled = 1;
        }
        bc_batch_free(L.batch);
        L.batch = NULL;
    }
    CHECK(pulled);

    /* Shutdown: free the client first (nothing is in flight, so nothing is queued), then the
     * queue (which would deliver leftovers on this thread). No callback may run again. */
    size_t completed = L.completed;
    bc_client_free(client);
    CHECK(bc_queue_len(q) == 0);
    epoll_ctl(L.epfd, EPOLL_CTL_DEL, qfd, NULL);
    bc_queue_free(q);
    CHECK(L.completed == completed);
    close(L.epfd);
    free(ops);
    if (failures) {
        fprintf(stderr, "epoll_queue: %d checks failed\n", failures);
        return 1;
    }
    printf("epoll_queue: OK\n");
    return 0;
}
