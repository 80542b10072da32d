/*
 * test_faults.c - shutdown and race faults of the C ABI, against a "silent" server the test
 * opens itself (a listening socket that never accepts: the kernel completes the TCP handshake,
 * requests are written and never answered), so every request stays in flight until shutdown.
 *
 * ($BC_TEST_ITERATIONS scales both down: see scale_from_env.)
 *
 * 1. Shutdown with 10 000 async requests in flight, for a client and for a manager, in both
 *    completion modes (callbacks on library threads; a completion queue): every callback runs
 *    exactly once (one counter per request), by the time bc_*_free (callback mode) or
 *    bc_queue_free (queue mode) returns. Under valgrind: no definite leak.
 * 2. 8 threads x 1250 operations (async to the silent server, blocking to a refused port,
 *    disconnects) racing with bc_client_close / bc_manager_close of the same handle, then
 *    bc_*_free while completions are still arriving: no crash under ASan, every accepted
 *    operation completes once, every refused one returns BC_ERR_CLOSED.
 *
 * Prints one "figure:" line per case; the last line is "test_faults: N passed, 0 failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "brokerclient.h"

static int passed = 0;

#define ASSERT(cond)                                                                     \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
            fflush(NULL);                                                                \
            exit(1);                                                                     \
        }                                                                                \
        passed++;                                                                        \
    } while (0)

#define IN_FLIGHT_MAX 10000
#define THREADS 8
#define OPS_PER_THREAD_MAX 1250

/* 10 000 in flight and 8 x 1250 racing operations; fewer when $BC_TEST_ITERATIONS is set
 * (scripts/c-tests.sh sets 100 under valgrind, where 10 000 take minutes): 10 per iteration. */
static int IN_FLIGHT = IN_FLIGHT_MAX;
static int OPS_PER_THREAD = OPS_PER_THREAD_MAX;

static void scale_from_env(void) {
    const char *it = getenv("BC_TEST_ITERATIONS");
    if (it == NULL) return;
    long n = strtol(it, NULL, 10) * 10;
    if (n > 0 && n < IN_FLIGHT_MAX) IN_FLIGHT = (int)n;
    if (n > 0 && n / THREADS < OPS_PER_THREAD_MAX) OPS_PER_THREAD = (int)(n / THREADS);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A server that accepts TCP connections (kernel backlog) and never answers. */
struct silent_server {
    int fd;
    char addr[32];
};

static void silent_server_open(struct silent_server *s) {
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(s->fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT(bind(s->fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    ASSERT(listen(s->fd, 4096) == 0);
    socklen_t len = sizeof sa;
    ASSERT(getsockname(s->fd, (struct sockaddr *)&sa, &len) == 0);
    snprintf(s->addr, sizeof s->addr, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
}

static bc_config *config_for_faults(void) {
    bc_config *c = NULL;
    ASSERT(bc_config_new(&c, NULL) == BC_OK);
    /* Nothing may time out during a test: every completion comes from the shutdown. */
    ASSERT(bc_config_set(c, "request.timeout.ms", "60000", NULL) == BC_OK);
    ASSERT(bc_config_set(c, "connect.timeout.ms", "2000", NULL) == BC_OK);
    ASSERT(bc_config_set(c, "max.in.flight", "20000", NULL) == BC_OK);
    return c;
}

/* One counter per request: each must reach exactly 1. */
struct slots {
    atomic_int count[IN_FLIGHT_MAX];
    atomic_int total;
    atomic_int ok; /* a success would mean the silent server answered: impossible */
};

static struct slots slots;

static void on_int64(void *user_data, bc_status status, const bc_error *err, int64_t value) {
    (void)value;
    atomic_int *slot = user_data;
    atomic_fetch_add(slot, 1);
    atomic_fetch_add(&slots.total, 1);
    if (status == BC_OK || err == NULL) atomic_fetch_add(&slots.ok, 1);
}

static void slots_reset(void) {
    for (int i = 0; i < IN_FLIGHT; i++) atomic_store(&slots.count[i], 0);
    atomic_store(&slots.total, 0);
    atomic_store(&slots.ok, 0);
}

static void slots_check(const char *what, double issue_ms, double shutdown_ms) {
    int once = 0;
    for (int i = 0; i < IN_FLIGHT; i++) once += atomic_load(&slots.count[i]) == 1;
    printf("figure: %s: %d requests in flight, %d callbacks, %d exactly once, shutdown took "
           "%.1f ms (issuing took %.1f ms)\n",
           what, IN_FLIGHT, atomic_load(&slots.total), once, shutdown_ms, issue_ms);
    ASSERT(once == IN_FLIGHT);
    ASSERT(atomic_load(&slots.total) == IN_FLIGHT);
    ASSERT(atomic_load(&slots.ok) == 0);
}

static void shutdown_client(const char *addr, int queue_mode) {
    slots_reset();
    bc_config *cfg = config_for_faults();
    bc_queue *q = NULL;
    if (queue_mode) ASSERT(bc_queue_new(&q, NULL) == BC_OK);
    bc_client *c = NULL;
    ASSERT(bc_client_new(addr, cfg, q, &c, NULL) == BC_OK);
    bc_config_free(cfg);
    double started = now_ms();
    for (int i = 0; i < IN_FLIGHT; i++) {
        ASSERT(bc_client_get_max_offset_async(c, "T", i % 8, on_int64, &slots.count[i], NULL) == BC_OK);
    }
    ASSERT(atomic_load(&slots.total) == 0);
    double t0 = now_ms();
    bc_client_free(c);
    if (queue_mode) {
        ASSERT(atomic_load(&slots.total) == 0); /* queued, not run: they run on this thread */
        bc_queue_free(q);
    }
    double took = now_ms() - t0;
    slots_check(queue_mode ? "client shutdown, queue mode" : "client shutdown, callback mode",
                t0 - started, took);
}

static void shutdown_manager(const char *addr, int queue_mode) {
    slots_reset();
    bc_config *cfg = config_for_faults();
    bc_queue *q = NULL;
    if (queue_mode) ASSERT(bc_queue_new(&q, NULL) == BC_OK);
    bc_manager *m = NULL;
    ASSERT(bc_manager_new(cfg, q, &m, NULL) == BC_OK);
    bc_config_free(cfg);
    char *broker = NULL;
    ASSERT(bc_manager_add_broker(m, addr, &broker, NULL) == BC_OK);
    double started = now_ms();
    for (int i = 0; i < IN_FLIGHT; i++) {
        ASSERT(bc_manager_get_max_offset_async(m, broker, "T", i % 8, on_int64, &slots.count[i], NULL) == BC_OK);
    }
    double t0 = now_ms();
    ASSERT(bc_manager_close(m, 0, NULL) == BC_OK);
    bc_manager_free(m);
    if (queue_mode) bc_queue_free(q);
    double took = now_ms() - t0;
    bc_string_free(broker);
    slots_check(queue_mode ? "manager shutdown, queue mode" : "manager shutdown, callback mode",
                t0 - started, took);
}

/* ---------------------------------------------------------------------------------------- */
/* 8 threads racing with close */

struct race {
    bc_client *client;
    bc_manager *manager;
    const char *broker;
    atomic_int issued;    /* operations attempted */
    atomic_int accepted;  /* async operations accepted (their callback must run once) */
    atomic_int callbacks; /* callbacks run */
    atomic_int closed;    /* operations refused with BC_ERR_CLOSED */
    atomic_int bad;       /* any other outcome that must not happen */
};

static void race_cb(void *user_data, bc_status status, const bc_error *err, int64_t value) {
    (void)status;
    (void)err;
    (void)value;
    struct race *r = user_data;
    atomic_fetch_add(&r->callbacks, 1);
}

static void *race_thread(void *arg) {
    struct race *r = arg;
    for (int i = 0; i < OPS_PER_THREAD; i++) {
        atomic_fetch_add(&r->issued, 1);
        bc_error *err = NULL;
        bc_status st;
        if (i % 50 == 49) {
            if (r->client != NULL) bc_client_disconnect(r->client);
            continue;
        }
        if (i % 10 == 9) {
            /* A blocking call: times out (50 ms) or is refused once closed; never OK. */
            int64_t v = 0;
            st = r->client != NULL ? bc_client_get_max_offset(r->client, "T", 0, &v, &err)
                                   : bc_manager_get_max_offset(r->manager, r->broker, "T", 0, &v, &err);
            if (st == BC_ERR_CLOSED) atomic_fetch_add(&r->closed, 1);
            else if (st == BC_OK || err == NULL) atomic_fetch_add(&r->bad, 1);
            bc_error_free(err);
            continue;
        }
        st = r->client != NULL
                 ? bc_client_get_max_offset_async(r->client, "T", i % 4, race_cb, r, &err)
                 : bc_manager_get_max_offset_async(r->manager, r->broker, "T", i % 4, race_cb, r, &err);
        if (st == BC_OK) atomic_fetch_add(&r->accepted, 1);
        else if (st == BC_ERR_CLOSED) atomic_fetch_add(&r->closed, 1);
        else atomic_fetch_add(&r->bad, 1);
        bc_error_free(err);
    }
    return NULL;
}

static void race(const char *silent_addr, int use_manager) {
    struct race r;
    memset(&r, 0, sizeof r);
    bc_config *cfg = config_for_faults();
    /* Short deadlines: blocking calls return soon, and timeouts race with close too. */
    ASSERT(bc_config_set(cfg, "request.timeout.ms", "50", NULL) == BC_OK);
    char *broker = NULL;
    if (use_manager) {
        ASSERT(bc_manager_new(cfg, NULL, &r.manager, NULL) == BC_OK);
        ASSERT(bc_manager_add_broker(r.manager, silent_addr, &broker, NULL) == BC_OK);
        r.broker = broker;
    } else {
        ASSERT(bc_client_new(silent_addr, cfg, NULL, &r.client, NULL) == BC_OK);
    }
    bc_config_free(cfg);
    pthread_t t[THREADS];
    double started = now_ms();
    for (int i = 0; i < THREADS; i++) ASSERT(pthread_create(&t[i], NULL, race_thread, &r) == 0);
    /* Close once about a quarter of the operations were attempted: mid-race. */
    while (atomic_load(&r.issued) < THREADS * OPS_PER_THREAD / 4) sched_yield();
    int issued_at_close = atomic_load(&r.issued);
    double close_started = now_ms();
    bc_status st = use_manager ? bc_manager_close(r.manager, 0, NULL) : bc_client_close(r.client, 0, NULL);
    ASSERT(st == BC_OK);
    double close_ms = now_ms() - close_started;
    for (int i = 0; i < THREADS; i++) ASSERT(pthread_join(t[i], NULL) == 0);
    /* Free right away: completions of the accepted operations may still be arriving. */
    if (use_manager) bc_manager_free(r.manager);
    else bc_client_free(r.client);
    bc_string_free(broker);
    printf("figure: %s race: %d threads x %d ops, close after %d: %d async accepted, %d "
           "callbacks, %d refused with BC_ERR_CLOSED, close took %.1f ms, %.1f ms in all\n",
           use_manager ? "manager" : "client", THREADS, OPS_PER_THREAD, issued_at_close,
           atomic_load(&r.accepted), atomic_load(&r.callbacks), atomic_load(&r.closed), close_ms,
           now_ms() - started);
    ASSERT(atomic_load(&r.bad) == 0);
    ASSERT(atomic_load(&r.callbacks) == atomic_load(&r.accepted));
    ASSERT(atomic_load(&r.closed) > 0);
    ASSERT(atomic_load(&r.issued) == THREADS * OPS_PER_THREAD);
}

int main(void) {
    scale_from_env();
    struct silent_server srv;
    silent_server_open(&srv);
    shutdown_client(srv.addr, 0);
    shutdown_client(srv.addr, 1);
    shutdown_manager(srv.addr, 0);
    shutdown_manager(srv.addr, 1);
    race(srv.addr, 0);
    race(srv.addr, 1);
    close(srv.fd);
    printf("test_faults: %d passed, 0 failed\n", passed);
    return 0;
}
