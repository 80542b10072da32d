#include <string.h>
#include "shim.h"
#include "_cgo_export.h"

void bcgo_send_result_read(const bc_send_result *r, bcgo_send_fields *out) {
    out->status = bc_send_result_status(r);
    out->queue_id = bc_send_result_queue_id(r);
    out->queue_offset = bc_send_result_queue_offset(r);
    out->msg_id = bc_send_result_msg_id(r);
    out->offset_msg_id = bc_send_result_offset_msg_id(r);
    out->transaction_id = bc_send_result_transaction_id(r);
}

void bcgo_error_read(const bc_error *e, bcgo_error_fields *out) {
    out->status = bc_error_code(e);
    out->response_code = bc_error_response_code(e);
    out->retriable = bc_error_is_retriable(e);
    out->fatal = bc_error_is_fatal(e);
    out->message = bc_error_message(e);
    out->remark = bc_error_remark(e);
    out->broker_addr = bc_error_broker_addr(e);
}

void bcgo_batch_read(const bc_batch *b, bcgo_batch_fields *out) {
    out->status = bc_batch_status(b);
    out->next_offset = bc_batch_next_offset(b);
    out->min_offset = bc_batch_min_offset(b);
    out->max_offset = bc_batch_max_offset(b);
    out->len = bc_batch_len(b);
}

size_t bcgo_batch_views(const bc_batch *b, bc_message_view *views, size_t n) {
    for (size_t i = 0; i < n; i++) {
        views[i].struct_size = sizeof(bc_message_view);
        if (bc_batch_get(b, i, &views[i], NULL) != BC_OK) {
            return i;
        }
    }
    return n;
}

bc_status bcgo_message_new(const char *topic, const uint8_t *body, size_t body_len,
                           const char *tags, const char *keys, const char *props,
                           size_t props_len, int32_t delay_level, int32_t flag,
                           int32_t transactional, bc_message **out, bc_error **err_out) {
    static const uint8_t empty = 0;
    bc_message *m = NULL;
    bc_status st = bc_message_new(topic, body_len ? body : &empty, body_len, &m, err_out);
    if (st != BC_OK) {
        return st;
    }
    if (st == BC_OK && tags) {
        st = bc_message_set_tags(m, tags, err_out);
    }
    if (st == BC_OK && keys) {
        st = bc_message_set_keys(m, keys, err_out);
    }
    for (size_t off = 0; st == BC_OK && off < props_len;) {
        const char *name = props + off;
        const char *value = name + strlen(name) + 1;
        st = bc_message_set_property(m, name, value, err_out);
        off = (size_t)(value - props) + strlen(value) + 1;
    }
    if (st == BC_OK && delay_level) {
        st = bc_message_set_delay_level(m, delay_level, err_out);
    }
    if (st == BC_OK && flag) {
        st = bc_message_set_flag(m, flag, err_out);
    }
    if (st == BC_OK && transactional) {
        st = bc_message_set_transactional(m, err_out);
    }
    if (st != BC_OK) {
        bc_message_free(m);
        return st;
    }
    *out = m;
    return BC_OK;
}

bc_status bcgo_client_send_direct(const bc_client *client, const char *producer_group,
                                  int32_t queue_id, const bc_message *message,
                                  bc_send_result **out_result, bc_error **err_out) {
    if (!bc_client_is_connected(client)) {
        return (bc_status)BCGO_NOT_CONNECTED;
    }
    return bc_client_send(client, producer_group, queue_id, message, out_result, err_out);
}

bc_status bcgo_client_send_oneway_direct(const bc_client *client, const char *producer_group,
                                         int32_t queue_id, const bc_message *message,
                                         bc_error **err_out) {
    if (!bc_client_is_connected(client)) {
        return (bc_status)BCGO_NOT_CONNECTED;
    }
    return bc_client_send_oneway(client, producer_group, queue_id, message, err_out);
}

bc_status bcgo_client_set_transaction_check(const bc_client *client, uintptr_t handle,
                                            bc_error **err_out) {
    if (!handle) {
        return bc_client_set_transaction_check_cb(client, NULL, NULL, NULL, err_out);
    }
    return bc_client_set_transaction_check_cb(client, (bc_transaction_check_cb)bcgoTxCheckCb,
                                              (void *)handle, (bc_free_cb)bcgoFreeHandle,
                                              err_out);
}

bc_status bcgo_set_log_callback(int32_t level, uintptr_t handle, bc_error **err_out) {
    if (!handle) {
        return bc_set_log_callback(level, NULL, NULL, NULL, err_out);
    }
    return bc_set_log_callback(level, (bc_log_cb)bcgoLogCb, (void *)handle,
                               (bc_free_cb)bcgoFreeHandle, err_out);
}
