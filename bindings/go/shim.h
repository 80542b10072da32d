/*
 * shim.h - C helpers of the Go binding: each folds several C API calls into one cgo crossing
 * (a cgo call costs tens of nanoseconds, a C API getter a few), and converts the integer
 * cgo.Handle to `void *` on the C side (see asyncshim.h).
 */
#ifndef BCGO_SHIM_H
#define BCGO_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include "brokerclient.h"
#include "asyncshim.h"

/* Every field of a send result, borrowed from it. */
typedef struct bcgo_send_fields {
    int32_t status;
    int32_t queue_id;
    int64_t queue_offset;
    const char *msg_id;
    const char *offset_msg_id;
    const char *transaction_id;
} bcgo_send_fields;

/* Every field of an error, borrowed from it. */
typedef struct bcgo_error_fields {
    int32_t status;
    int32_t response_code;
    int32_t retriable;
    int32_t fatal;
    const char *message;
    const char *remark;
    const char *broker_addr;
} bcgo_error_fields;

/* The outcome fields of a batch. */
typedef struct bcgo_batch_fields {
    int32_t status;
    int64_t next_offset;
    int64_t min_offset;
    int64_t max_offset;
    size_t len;
} bcgo_batch_fields;

void bcgo_send_result_read(const bc_send_result *r, bcgo_send_fields *out);
void bcgo_error_read(const bc_error *e, bcgo_error_fields *out);
void bcgo_batch_read(const bc_batch *b, bcgo_batch_fields *out);

/* Fills views[0..n) with the first n messages of the batch; returns how many were filled. */
size_t bcgo_batch_views(const bc_batch *b, bc_message_view *views, size_t n);

/*
 * Builds a message in one call. `props` holds props_len bytes of "name\0value\0" pairs;
 * tags, keys may be NULL (not set); delay_level 0 and flag 0 are not set.
 */
bc_status bcgo_message_new(const char *topic, const uint8_t *body, size_t body_len,
                           const char *tags, const char *keys, const char *props,
                           size_t props_len, int32_t delay_level, int32_t flag,
                           int32_t transactional, bc_message **out, bc_error **err_out);

/*
 * The direct (blocking) path of Client.Send and Client.SendOneway: BCGO_NOT_CONNECTED, and
 * nothing sent, when the client has no live connection (a blocking call would then wait for
 * the connect on this thread); else bc_client_send / bc_client_send_oneway.
 */
#define BCGO_NOT_CONNECTED (-1000)
bc_status bcgo_client_send_direct(const bc_client *client, const char *producer_group,
                                  int32_t queue_id, const bc_message *message,
                                  bc_send_result **out_result, bc_error **err_out);
bc_status bcgo_client_send_oneway_direct(const bc_client *client, const char *producer_group,
                                         int32_t queue_id, const bc_message *message,
                                         bc_error **err_out);

/* Installs (handle != 0) or removes (handle == 0) the Go transaction-check handler. */
bc_status bcgo_client_set_transaction_check(const bc_client *client, uintptr_t handle,
                                            bc_error **err_out);

/* Installs (handle != 0) or removes (handle == 0) the Go log callback. */
bc_status bcgo_set_log_callback(int32_t level, uintptr_t handle, bc_error **err_out);

#endif
