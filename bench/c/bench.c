/* libbrokerclient through its C ABI in `make bench` (issue 8): one workload per process, one
 * JSON line in the common schema (bench/README.md).
 *   bench_c <workload> <broker-addr> <mock|real> <messages> <run>
 * workloads: sync1 sync16 oneway async1024 noop (noop: bc_client_is_connected, the same call
 * the Rust bench times, so the difference is the cost of the C boundary). */
#include <brokerclient.h>

#include <sched.h>

#include "bench_common.h"

static const char *TOPIC = "BenchTopic", *GROUP = "bench_producer";
static bc_client *client;
static bc_message *msg;

static void check(bc_status st, bc_error *err, const char *what) {
    if (st == BC_OK) return;
    fprintf(stderr, "bench_c: %s: %s\n", what, err ? bc_error_message(err) : "?");
    exit(1);
}

static void send_one(void) {
    bc_error *err = NULL;
    bc_send_result *r = NULL;
    check(bc_client_send(client, GROUP, 0, msg, &r, &err), err, "send");
    bc_send_result_free(r);
}

/* A full local window (BC_ERR_WOULD_BLOCK) is the library's back-pressure when the caller
 * outruns the socket: wait for room and send again, as an application would. */
static void oneway_one(void) {
    for (;;) {
        bc_error *err = NULL;
        bc_status st = bc_client_send_oneway(client, GROUP, 0, msg, &err);
        if (st != BC_ERR_WOULD_BLOCK) {
            check(st, err, "oneway");
            return;
        }
        bc_error_free(err);
        sched_yield();
    }
}

static volatile int sink;
static void noop_one(void) { sink += bc_client_is_connected(client); }

typedef struct {
    void (*f)(void);
    long calls;
    lat_t *lat;
} worker_arg;

static void *worker(void *p) {
    worker_arg *a = p;
    for (long i = 0; i < a->calls; i++) {
        uint64_t t0 = now_ns();
        a->f();
        if (a->lat) lat_add(a->lat, now_ns() - t0);
    }
    return NULL;
}

static double measure(void (*f)(void), int threads, long warm, long n, lat_t *lat, double *cpu) {
    for (long i = 0; i < warm; i++) f();
    pthread_t th[16];
    worker_arg args[16];
    double c0 = cpu_us(NULL);
    uint64_t t0 = now_ns();
    for (int t = 0; t < threads; t++) {
        args[t] = (worker_arg){f, n / threads + (t < n % threads), lat};
        pthread_create(&th[t], NULL, worker, &args[t]);
    }
    for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
    double secs = (now_ns() - t0) / 1e9;
    *cpu = cpu_us(NULL) - c0;
    return secs;
}

typedef struct {
    window_t *w;
    lat_t *lat;
    uint64_t t0;
} inflight;

static void on_sent(void *ud, bc_status st, const bc_error *err, const bc_send_result *r) {
    (void)r;
    inflight *f = ud;
    if (st != BC_OK) {
        fprintf(stderr, "bench_c: async send: %s\n", err ? bc_error_message(err) : "?");
        exit(1);
    }
    if (f->lat) lat_add(f->lat, now_ns() - f->t0);
    window_t *w = f->w;
    free(f);
    window_give(w);
}

static void async_run(long total, lat_t *lat) {
    window_t w;
    window_init(&w, 1024);
    for (long i = 0; i < total; i++) {
        window_take(&w);
        inflight *f = malloc(sizeof *f);
        *f = (inflight){&w, lat, now_ns()};
        bc_error *err = NULL;
        check(bc_client_send_async(client, GROUP, 0, msg, on_sent, f, &err), err, "send_async");
    }
    window_wait_done(&w, total);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: bench_c <workload> <addr> <mock|real> <messages> <run>\n");
        return 2;
    }
    const char *workload = argv[1], *addr = argv[2], *broker = argv[3];
    long n = atol(argv[4]);
    int run = atoi(argv[5]);
    long warm = n / 10 > 200 ? n / 10 : 200;
    bc_error *err = NULL;
    check(bc_client_new(addr, NULL, NULL, &client, &err), err, "client");
    check(bc_client_create_topic(client, TOPIC, 4, &err), err, "create topic");
    static uint8_t body[BENCH_BODY];
    memset(body, 'x', sizeof body);
    check(bc_message_new(TOPIC, body, sizeof body, &msg, &err), err, "message");
    lat_t lat;
    lat_init(&lat, (size_t)n);
    double secs, cpu;
    if (!strcmp(workload, "sync1")) {
        secs = measure(send_one, 1, warm, n, &lat, &cpu);
    } else if (!strcmp(workload, "sync16")) {
        secs = measure(send_one, 16, warm, n, &lat, &cpu);
    } else if (!strcmp(workload, "oneway")) {
        secs = measure(oneway_one, 1, warm, n, &lat, &cpu);
        send_one(); /* drains what the oneway sends queued before it */
    } else if (!strcmp(workload, "noop")) {
        /* Untimed per call: the clock would cost more than the call. */
        secs = measure(noop_one, 1, warm, n, NULL, &cpu);
    } else if (!strcmp(workload, "async1024")) {
        async_run(warm > 2048 ? warm : 2048, NULL);
        double c0 = cpu_us(NULL);
        uint64_t t0 = now_ns();
        async_run(n, &lat);
        secs = (now_ns() - t0) / 1e9;
        cpu = cpu_us(NULL) - c0;
    } else {
        fprintf(stderr, "bench_c: unknown workload %s\n", workload);
        return 2;
    }
    print_cell("brokerclient-c", "c", workload, broker, run, (uint64_t)n, secs, cpu, &lat);
    bc_message_free(msg);
    check(bc_client_close(client, 1000, &err), err, "close");
    bc_client_free(client);
    return 0;
}
