/* Shared by the C programs of `make bench` (bench/c/bench.c over libbrokerclient, and
 * bench/peers/cpp-capi/bench.c over the official C++ client's C API): timing, CPU, latency
 * percentiles and the JSON line of the common schema (bench/README.md).
 * Latencies are kept in full and sorted, so the percentiles are exact. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_BODY 1024

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline double cpu_us(long *maxrss_kb) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (maxrss_kb) *maxrss_kb = ru.ru_maxrss;
    return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
           ru.ru_stime.tv_usec;
}

typedef struct {
    uint64_t *ns;
    size_t len, cap;
    pthread_mutex_t lock;
} lat_t;

static inline void lat_init(lat_t *l, size_t cap) {
    l->ns = malloc(sizeof(uint64_t) * (cap ? cap : 1));
    l->len = 0;
    l->cap = cap;
    pthread_mutex_init(&l->lock, NULL);
}

/* Thread-safe append (bounded by the capacity given to lat_init). */
static inline void lat_add(lat_t *l, uint64_t ns) {
    pthread_mutex_lock(&l->lock);
    if (l->len < l->cap) l->ns[l->len++] = ns;
    pthread_mutex_unlock(&l->lock);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static inline double lat_q(lat_t *l, double q) {
    if (!l->len) return -1;
    size_t i = (size_t)(q * (double)(l->len - 1) + 0.5);
    return l->ns[i] / 1000.0;
}

static inline void print_cell(const char *client, const char *lang, const char *workload,
                              const char *broker, int run, uint64_t msgs, double secs,
                              double cpu, lat_t *l) {
    long rss = 0;
    cpu_us(&rss);
    qsort(l->ns, l->len, sizeof(uint64_t), cmp_u64);
    printf("{\"client\":\"%s\",\"lang\":\"%s\",\"workload\":\"%s\",\"broker\":\"%s\",\"run\":%d,"
           "\"messages\":%llu,\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,",
           client, lang, workload, broker, run, (unsigned long long)msgs, secs, msgs / secs,
           msgs * (double)BENCH_BODY / secs / 1e6);
    if (l->len)
        printf("\"p50_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,", lat_q(l, 0.5), lat_q(l, 0.99),
               lat_q(l, 0.999));
    else
        printf("\"p50_us\":null,\"p99_us\":null,\"p999_us\":null,");
    printf("\"cpu_us_per_msg\":%.4f,\"peak_rss_kb\":%ld,\"allocs_per_msg\":null}\n", cpu / msgs,
           rss);
    fflush(stdout);
}

/* A counting semaphore for a window of async sends. */
typedef struct {
    pthread_mutex_t m;
    pthread_cond_t c;
    long free, done;
} window_t;

static inline void window_init(window_t *w, long size) {
    pthread_mutex_init(&w->m, NULL);
    pthread_cond_init(&w->c, NULL);
    w->free = size;
    w->done = 0;
}
static inline void window_take(window_t *w) {
    pthread_mutex_lock(&w->m);
    while (w->free == 0) pthread_cond_wait(&w->c, &w->m);
    w->free--;
    pthread_mutex_unlock(&w->m);
}
static inline void window_give(window_t *w) {
    pthread_mutex_lock(&w->m);
    w->free++;
    w->done++;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}
static inline void window_wait_done(window_t *w, long total) {
    pthread_mutex_lock(&w->m);
    while (w->done < total) pthread_cond_wait(&w->c, &w->m);
    pthread_mutex_unlock(&w->m);
}

#endif
