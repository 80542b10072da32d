/* The official C++ client through its C API (librocketmq.so from the rocketmq-client-python
 * 0.5.0rc2 wheel) in `make bench` (issue 8): one workload per process, one JSON line in the
 * common schema (bench/README.md).
 *   cpp-official <workload> <namesrv> <mock|real> <messages> <run>
 * workloads: sync1 sync16 oneway async1024.
 *
 * The few prototypes used are declared here from the client's documented C API (CProducer.h,
 * CMessage.h, CSendResult.h of apache/rocketmq-client-cpp); the wheel ships no headers. */
#include <unistd.h>

#include "bench_common.h"

typedef struct CProducer CProducer;
typedef struct CMessage CMessage;
typedef struct {
    int sendStatus;
    char msgId[256];
    long long offset;
} CSendResult;
typedef void (*CSendSuccessCallback)(CSendResult result);
/* The exception callback receives a CMQException by value (passed in memory on x86-64); this
 * program does not read it, so it is declared without parameters. */
typedef void (*CSendExceptionCallback)(void);

CProducer *CreateProducer(const char *groupId);
int StartProducer(CProducer *producer);
int ShutdownProducer(CProducer *producer);
int DestroyProducer(CProducer *producer);
int SetProducerNameServerAddress(CProducer *producer, const char *namesrv);
int SetProducerSendMsgTimeout(CProducer *producer, int timeout);
int SetProducerLogLevel(CProducer *producer, int level);
int SetProducerLogPath(CProducer *producer, const char *path);
CMessage *CreateMessage(const char *topic);
int DestroyMessage(CMessage *msg);
int SetByteMessageBody(CMessage *msg, const char *body, int len);
int SendMessageSync(CProducer *producer, CMessage *msg, CSendResult *result);
int SendMessageOneway(CProducer *producer, CMessage *msg);
int SendMessageAsync(CProducer *producer, CMessage *msg, CSendSuccessCallback ok,
                     CSendExceptionCallback failed);
const char *GetLatestErrorMessage(void);

static CProducer *producer;
static CMessage *msg;

static void fail(const char *what) {
    fprintf(stderr, "cpp-official: %s failed: %s\n", what, GetLatestErrorMessage());
    exit(1);
}

static void send_one(void) {
    CSendResult r;
    if (SendMessageSync(producer, msg, &r) != 0) fail("SendMessageSync");
}
static void oneway_one(void) {
    if (SendMessageOneway(producer, msg) != 0) fail("SendMessageOneway");
}

typedef struct {
    long calls;
    void (*f)(void);
    lat_t *lat;
} worker_arg;
static void *worker(void *p) {
    worker_arg *a = p;
    for (long i = 0; i < a->calls; i++) {
        uint64_t t0 = now_ns();
        a->f();
        lat_add(a->lat, now_ns() - t0);
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
        args[t] = (worker_arg){n / threads + (t < n % threads), f, lat};
        pthread_create(&th[t], NULL, worker, &args[t]);
    }
    for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
    double secs = (now_ns() - t0) / 1e9;
    *cpu = cpu_us(NULL) - c0;
    return secs;
}

/* The callbacks carry no user data: the submit times of the window live in a ring indexed by
 * completion order, which is close to submit order on one connection, so async latency here
 * is an approximation (noted in docs/benchmarks.md). */
static window_t win;
static lat_t *async_lat;
static uint64_t *submitted;
static long submitted_n, completed_n;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static void on_ok(CSendResult r) {
    (void)r;
    pthread_mutex_lock(&ring_lock);
    uint64_t t0 = submitted[completed_n++ % 1024];
    pthread_mutex_unlock(&ring_lock);
    if (async_lat) lat_add(async_lat, now_ns() - t0);
    window_give(&win);
}
static void on_failed(void) {
    fprintf(stderr, "cpp-official: async send failed\n");
    exit(1);
}
static void async_run(long total, lat_t *lat) {
    window_init(&win, 1024);
    async_lat = lat;
    submitted_n = completed_n = 0;
    for (long i = 0; i < total; i++) {
        window_take(&win);
        pthread_mutex_lock(&ring_lock);
        submitted[submitted_n++ % 1024] = now_ns();
        pthread_mutex_unlock(&ring_lock);
        if (SendMessageAsync(producer, msg, on_ok, on_failed) != 0) fail("SendMessageAsync");
    }
    window_wait_done(&win, total);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: cpp-official <workload> <namesrv> <mock|real> <messages> <run>\n");
        return 2;
    }
    const char *workload = argv[1], *ns = argv[2], *broker = argv[3];
    long n = atol(argv[4]);
    int run = atoi(argv[5]);
    long warm = n / 10 > 200 ? n / 10 : 200;
    producer = CreateProducer("bench_producer_cpp");
    SetProducerNameServerAddress(producer, ns);
    SetProducerSendMsgTimeout(producer, 10000);
    SetProducerLogLevel(producer, 2 /* E_LOG_LEVEL_ERROR */);
    if (StartProducer(producer) != 0) fail("StartProducer");
    static char body[BENCH_BODY];
    memset(body, 'x', sizeof body);
    msg = CreateMessage("BenchTopic");
    SetByteMessageBody(msg, body, (int)sizeof body);
    submitted = calloc(1024, sizeof *submitted);
    lat_t lat;
    lat_init(&lat, (size_t)n);
    double secs, cpu;
    if (!strcmp(workload, "sync1")) {
        secs = measure(send_one, 1, warm, n, &lat, &cpu);
    } else if (!strcmp(workload, "sync16")) {
        secs = measure(send_one, 16, warm, n, &lat, &cpu);
    } else if (!strcmp(workload, "oneway")) {
        secs = measure(oneway_one, 1, warm, n, &lat, &cpu);
        send_one();
    } else if (!strcmp(workload, "async1024")) {
        async_run(warm > 2048 ? warm : 2048, NULL);
        double c0 = cpu_us(NULL);
        uint64_t t0 = now_ns();
        async_run(n, &lat);
        secs = (now_ns() - t0) / 1e9;
        cpu = cpu_us(NULL) - c0;
    } else {
        fprintf(stderr, "cpp-official: unknown workload %s\n", workload);
        return 2;
    }
    print_cell("cpp-official", "cpp", workload, broker, run, (uint64_t)n, secs, cpu, &lat);
    /* No ShutdownProducer: with sends just completed, the client's shutdown crashes now and
     * then (seen with this wheel); the figures are printed, so the process just ends. */
    _exit(0);
}
