/*
 * brokerclient/adapters/libuv.h - drive a bc_queue from a libuv loop (header-only).
 *
 * Hand-written (not generated), like hiredis's adapters/libuv.h: the library itself never
 * links libuv; include this header in a program that does (-luv, `pkg-config libuv`).
 *
 *   bc_queue *q;  bc_queue_new(&q, NULL);
 *   bc_client *c; bc_client_new(addr, NULL, q, &c, NULL);   // queue mode
 *   bc_libuv_adapter *a;
 *   int rc = bc_libuv_attach(loop, q, &a);                   // 0 or a negative UV_E* code
 *   ... start async operations; their callbacks run on the loop thread ...
 *   bc_libuv_detach(a);      // before bc_queue_free; the loop then finishes closing it
 *   uv_run(loop, UV_RUN_DEFAULT);
 *   bc_client_free(c);       // then
 *   bc_queue_free(q);        // delivers any leftover completion on this thread
 *
 * How it works: a uv_poll_t watches bc_queue_fd(q) for readability and, on each wake-up,
 * calls bc_queue_dispatch(q, max_per_wakeup) on the loop thread. libuv polls level-triggered
 * and the queue guarantees that when dispatch returns either the queue is empty and the fd
 * re-armed, or the fd is readable again, so a bounded `max_per_wakeup` never loses a wake-up;
 * it only lets other handles run in between (fairness). 0 (the default) runs everything
 * waiting.
 *
 * Rules: one adapter per queue and loop; call attach, detach and bc_libuv_set_max_per_wakeup
 * on the loop thread; detach before bc_queue_free (libuv must stop polling an fd before it is
 * closed). While attached the poll handle keeps the loop alive; `uv_unref(bc_libuv_handle(a))`
 * if it should not. Callbacks run by dispatch may call any bc_* function (also starting more
 * async operations, or detaching the adapter).
 *
 * Alternative without an fd: bc_queue_set_wakeup(q, cb, ud) with a cb that calls
 * uv_async_send (the only thread-safe libuv call), and dispatch from the uv_async_t callback.
 */
#ifndef BROKERCLIENT_ADAPTERS_LIBUV_H
#define BROKERCLIENT_ADAPTERS_LIBUV_H

#include <stddef.h>
#include <stdlib.h>

#include <uv.h>

#include "../../brokerclient.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The state of one attachment. Allocated by bc_libuv_attach, freed by libuv's close of
 * `poll` after bc_libuv_detach. Read-only for the application. */
typedef struct bc_libuv_adapter {
    uv_poll_t poll;
    const bc_queue *queue;
    /** Completions run per wake-up; 0 = all waiting. */
    size_t max_per_wakeup;
    /** The last error status libuv reported to the poll callback (0 = none). */
    int last_poll_error;
    /** Non-zero once bc_libuv_detach was called. */
    int detached;
} bc_libuv_adapter;

static inline void bc_libuv__on_readable(uv_poll_t *handle, int status, int events) {
    bc_libuv_adapter *a = (bc_libuv_adapter *)handle->data;
    (void)events;
    if (a == NULL || a->detached) return;
    if (status < 0) a->last_poll_error = status;
    /* Dispatch even on a poll error: it never blocks, and completions must not be stranded. */
    bc_queue_dispatch(a->queue, a->max_per_wakeup);
}

static inline void bc_libuv__on_close(uv_handle_t *handle) {
    free(handle->data);
}

/**
 * Starts dispatching `queue` from `loop`. On success returns 0 and stores the attachment in
 * `*out` (release it with bc_libuv_detach); otherwise returns a negative libuv error code
 * (UV_EINVAL for NULL arguments, UV_ENOMEM, or what uv_poll_init/uv_poll_start returned, e.g.
 * UV_EEXIST when the queue's fd is already polled on this loop) and leaves `*out` untouched.
 * Thread-safety: the loop's thread.
 */
static inline int bc_libuv_attach(uv_loop_t *loop, const bc_queue *queue, bc_libuv_adapter **out) {
    bc_libuv_adapter *a;
    int fd, rc;

    if (loop == NULL || queue == NULL || out == NULL) return UV_EINVAL;
    fd = bc_queue_fd(queue);
    if (fd < 0) return UV_EINVAL;

    a = (bc_libuv_adapter *)calloc(1, sizeof *a);
    if (a == NULL) return UV_ENOMEM;
    a->queue = queue;

    rc = uv_poll_init(loop, &a->poll, fd);
    if (rc != 0) {
        /* uv_poll_init failed before registering the handle with the loop. */
        free(a);
        return rc;
    }
    a->poll.data = a;
    rc = uv_poll_start(&a->poll, UV_READABLE, bc_libuv__on_readable);
    if (rc != 0) {
        a->detached = 1;
        uv_close((uv_handle_t *)&a->poll, bc_libuv__on_close);
        return rc;
    }
    *out = a;
    return 0;
}

/**
 * Sets how many completions one wake-up runs (0 = all waiting). NULL is ignored.
 * Thread-safety: the loop's thread.
 */
static inline void bc_libuv_set_max_per_wakeup(bc_libuv_adapter *a, size_t max) {
    if (a != NULL) a->max_per_wakeup = max;
}

/** The poll handle (e.g. for uv_ref/uv_unref); NULL for NULL. */
static inline uv_handle_t *bc_libuv_handle(bc_libuv_adapter *a) {
    return a != NULL ? (uv_handle_t *)&a->poll : NULL;
}

/**
 * Stops dispatching and releases the attachment: polling stops at once (the queue may be
 * freed right after), and the memory is freed when the loop runs the handle's close
 * callback, so let the loop run once more before uv_loop_close. Completions still waiting
 * stay in the queue (bc_queue_dispatch or bc_queue_free deliver them). May be called from a
 * completion callback. NULL is ignored; detaching twice is a bug.
 * Thread-safety: the loop's thread.
 */
static inline void bc_libuv_detach(bc_libuv_adapter *a) {
    if (a == NULL || a->detached) return;
    a->detached = 1;
    uv_poll_stop(&a->poll);
    uv_close((uv_handle_t *)&a->poll, bc_libuv__on_close);
}

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* BROKERCLIENT_ADAPTERS_LIBUV_H */
