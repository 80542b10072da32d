//! `bc_client`: one broker (or name server). Every operation exists twice: blocking
//! `bc_client_<op>` and `bc_client_<op>_async`, which returns at once and completes exactly
//! once through its callback (on a library thread, or on the app's thread through the
//! client's `bc_queue`).
//!
//! Thread-safety of every function here: a `bc_client` may be used from any number of
//! threads at once, except `bc_client_free`, which must be the last call on it.

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::boundary::{
    arg, call, free_object, new_object, object, optional_object, out, str_arg, Object,
};
use super::config::bc_config;
use super::config::or_default;
use super::error::bc_error;
use super::message::{bc_message, message_arg};
use super::ops::{
    done_async, done_blocking, int64_async, int64_blocking, json_async, json_blocking,
};
use super::pending::{Pending, UserData};
use super::queue::bc_queue;
use super::result::{bc_batch, bc_send_result};
use super::status::bc_status;
use crate::client::{AsyncBrokerClient, PullRequest};
use crate::error::BrokerError;
use crate::protocol::message::Message;

/// Completion of an operation without a result value. `err` is NULL on success and borrowed
/// for the duration of the call. Callbacks must not throw or longjmp.
pub type bc_done_cb =
    Option<extern "C" fn(user_data: *mut c_void, status: bc_status, err: *const bc_error)>;

/// Completion of a send. `result` (NULL on failure) and `err` are borrowed for the call.
pub type bc_send_cb = Option<
    extern "C" fn(
        user_data: *mut c_void,
        status: bc_status,
        err: *const bc_error,
        result: *const bc_send_result,
    ),
>;

/// Completion of a pull. `batch` (NULL on failure) is **owned by the callee**: free it with
/// `bc_batch_free`. `err` is borrowed.
pub type bc_pull_cb = Option<
    extern "C" fn(
        user_data: *mut c_void,
        status: bc_status,
        err: *const bc_error,
        batch: *mut bc_batch,
    ),
>;

/// Completion of an operation returning a number (an offset or a timestamp).
pub type bc_int64_cb = Option<
    extern "C" fn(user_data: *mut c_void, status: bc_status, err: *const bc_error, value: i64),
>;

/// Completion of an operation returning JSON text (routes, cluster info). `json` (NULL on
/// failure) is borrowed for the call.
pub type bc_json_cb = Option<
    extern "C" fn(
        user_data: *mut c_void,
        status: bc_status,
        err: *const bc_error,
        json: *const c_char,
    ),
>;

/// Rejects a send's bad arguments before anything is accepted, so an async call reports
/// them as its return value instead of through the callback.
pub(crate) fn precheck_send(
    group: &str,
    msgs: &[Message],
    max_body: usize,
) -> Result<(), bc_error> {
    use crate::client::validate;
    let invalid = |e: BrokerError| bc_error::from_broker(&e);
    validate::group(group).map_err(invalid)?;
    match msgs {
        [one] => validate::message(one, max_body).map_err(invalid),
        many => validate::batch(many, max_body).map_err(invalid),
    }
}

/// `host:port` with a non-empty host and a port in 1..=65535 (checked here so a typo is an
/// immediate `BC_ERR_INVALID_ARG`, not a retriable connection error later).
pub(crate) fn check_addr(addr: &str) -> Result<(), bc_error> {
    let bad = || bc_error::invalid_arg(&format!("`addr` {addr:?} is not host:port"));
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || (host.contains(':') && !addr.starts_with('[')) {
        return Err(bad());
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(bad()),
    }
}

pub(crate) struct ClientHandle {
    pub client: AsyncBrokerClient,
    pub pending: Arc<Pending>,
    /// The C transaction-check callback now installed; dropping the last reference (here and
    /// in a check that is running) releases its user data.
    pub tx_check: Mutex<Option<Arc<TransactionCheckRegistration>>>,
}

/// A client of one broker or name server. Opaque.
pub struct bc_client {
    inner: Arc<ClientHandle>,
    born: u64,
}

impl Object for bc_client {
    const NAME: &'static str = "client";

    fn born(&self) -> Option<u64> {
        Some(self.born)
    }
}

impl super::ops::Handle for bc_client {
    type Target = AsyncBrokerClient;

    fn open(ptr: *const Self) -> Result<(Arc<Pending>, AsyncBrokerClient), bc_error> {
        let h = client_arg(ptr)?;
        Ok((h.pending.clone(), h.client.clone()))
    }
}

fn client_arg<'a>(c: *const bc_client) -> Result<&'a Arc<ClientHandle>, bc_error> {
    let h = &object(c)?.inner;
    h.pending.check_open()?;
    Ok(h)
}

pub(crate) fn callback<F>(cb: Option<F>) -> Result<F, bc_error> {
    cb.ok_or_else(|| bc_error::invalid_arg("`cb` is NULL"))
}

pub(crate) fn deliver_done(
    cb: extern "C" fn(*mut c_void, bc_status, *const bc_error),
    ud: UserData,
    r: Result<(), bc_error>,
) {
    match r {
        Ok(()) => cb(ud.ptr(), bc_status::BC_OK, std::ptr::null()),
        Err(e) => cb(ud.ptr(), e.status, &e),
    }
}

pub(crate) fn deliver_int(
    cb: extern "C" fn(*mut c_void, bc_status, *const bc_error, i64),
    ud: UserData,
    r: Result<i64, bc_error>,
) {
    match r {
        Ok(v) => cb(ud.ptr(), bc_status::BC_OK, std::ptr::null(), v),
        Err(e) => cb(ud.ptr(), e.status, &e, 0),
    }
}

pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> CString {
    CString::new(serde_json::to_vec(v).unwrap_or_default()).unwrap_or_default()
}

pub(crate) fn deliver_json(
    cb: extern "C" fn(*mut c_void, bc_status, *const bc_error, *const c_char),
    ud: UserData,
    r: Result<CString, bc_error>,
) {
    match r {
        Ok(s) => cb(ud.ptr(), bc_status::BC_OK, std::ptr::null(), s.as_ptr()),
        Err(e) => cb(ud.ptr(), e.status, &e, std::ptr::null()),
    }
}

/// Creates a client of the broker or name server at `addr` ("host:port"). It connects on
/// `bc_client_connect` or on its first operation, and again after a lost connection.
/// `config` may be NULL (defaults) and is copied. With `queue` non-NULL, async completions
/// are queued there and run by `bc_queue_dispatch` on the app's thread; with NULL they run on
/// a library thread (never block in them).
///
/// Ownership: `*out_client` is the caller's; free it with `bc_client_free`. The client keeps
/// `queue` alive. Errors: `BC_ERR_INVALID_ARG` (also for an ACL access key without its
/// secret, or a TLS client certificate without its key).
#[no_mangle]
pub extern "C" fn bc_client_new(
    addr: *const c_char,
    config: *const bc_config,
    queue: *const bc_queue,
    out_client: *mut *mut bc_client,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let addr = str_arg(addr, "addr")?;
        check_addr(addr)?;
        let cfg = or_default(config)?.client;
        let limit = cfg.transport.max_in_flight;
        let queue = optional_object(queue)?.map(|q| q.inner.clone());
        new_object(
            out_client,
            "out_client",
            bc_client {
                inner: Arc::new(ClientHandle {
                    client: AsyncBrokerClient::new(addr, cfg),
                    pending: Arc::new(Pending::new(queue, limit)),
                    tx_check: Mutex::new(None),
                }),
                born: crate::fork::generation(),
            },
        )
    })
}

/// Closes the client: new operations fail with `BC_ERR_CLOSED`; operations in flight may
/// finish for up to `timeout_ms`, then are cancelled (their callbacks get
/// `BC_ERR_CANCELLED`); returns once every accepted operation has completed (in queue mode:
/// been queued). `timeout_ms` 0 or negative: no grace, operations in flight are cancelled at
/// once. Closing twice is harmless. Blocking: from a library thread it returns
/// `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_client_close(
    client: *mut bc_client,
    timeout_ms: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = &object(client)?.inner;
        if crate::transport::runtime::on_runtime_thread() {
            return Err(bc_error::from(BrokerError::WouldDeadlock));
        }
        h.pending
            .close(Duration::from_millis(timeout_ms.max(0) as u64));
        h.client.disconnect();
        Ok(())
    })
}

/// Frees the client: closes it without grace (operations in flight complete with
/// `BC_ERR_CANCELLED`) and releases it. Called from a callback or any library thread, the
/// work is handed to a helper thread instead of blocking. The transaction-check callback is
/// removed and its `free_user_data` runs (once a check running now has returned). NULL is
/// ignored.
#[no_mangle]
pub extern "C" fn bc_client_free(client: *mut bc_client) {
    free_object(client, |boxed| {
        let finish = move || {
            boxed.inner.pending.close(Duration::ZERO);
            boxed.inner.client.disconnect();
            // Releases the transaction-check user data (now, or when a running check returns).
            let registration = set_transaction_check(&boxed.inner, None);
            drop(registration);
        };
        if crate::transport::runtime::on_runtime_thread() {
            std::thread::spawn(move || {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(finish));
            });
        } else {
            finish();
        }
    })
}

/// Connects now (operations also connect on demand). Errors: `BC_ERR_CONNECTION`,
/// `BC_ERR_TIMEOUT`, `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_client_connect(
    client: *const bc_client,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        h.pending.block(h.client.connect())
    })
}

/// Async `bc_client_connect`.
#[no_mangle]
pub extern "C" fn bc_client_connect_async(
    client: *const bc_client,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending.start(async move { c.connect().await }, move |r| {
            deliver_done(cb, ud, r)
        })
    })
}

/// Closes the current connection (requests on it fail with `BC_ERR_CONNECTION`); the next
/// operation connects again.
#[no_mangle]
pub extern "C" fn bc_client_disconnect(client: *const bc_client) {
    super::boundary::call_or((), || {
        if let Ok(c) = object(client) {
            c.inner.client.disconnect();
        }
    })
}

/// True while the client has a live connection.
#[no_mangle]
pub extern "C" fn bc_client_is_connected(client: *const bc_client) -> bool {
    super::boundary::call_or(false, || {
        object(client).is_ok_and(|c| c.inner.client.is_connected())
    })
}

/// Sends `message` to queue `queue_id` (negative: the broker picks) and waits until it is
/// stored. The message is copied.
///
/// Ownership: `out_result` must not be NULL (else `BC_ERR_INVALID_ARG`, nothing sent);
/// `*out_result` is the caller's, free it with `bc_send_result_free`. Thread-safety: any thread
/// but a library thread (`BC_ERR_WOULD_DEADLOCK`). Errors: `BC_ERR_INVALID_ARG` (bad topic,
/// empty or oversize body, reserved property…, nothing sent), `BC_ERR_WOULD_BLOCK`
/// (`max.in.flight` operations in flight, nothing sent), `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`,
/// `BC_ERR_BROKER_*`, `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_client_send(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    message: *const bc_message,
    out_result: *mut *mut bc_send_result,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = str_arg(producer_group, "producer_group")?;
        let msg = message_arg(message)?;
        if out_result.is_null() {
            return Err(bc_error::invalid_arg("`out_result` is NULL"));
        }
        let r = h.pending.block(h.client.send(group, queue_id, msg))?;
        out(
            out_result,
            "out_result",
            Box::into_raw(Box::new(bc_send_result::from(&r))),
        )
    })
}

/// Async `bc_client_send`: the message is copied before return; `cb` runs once.
#[no_mangle]
pub extern "C" fn bc_client_send_async(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    message: *const bc_message,
    cb: bc_send_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = str_arg(producer_group, "producer_group")?.to_owned();
        let msg = message_arg(message)?.clone();
        precheck_send(
            &group,
            std::slice::from_ref(&msg),
            h.client.config().max_body_size,
        )?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending.start(
            async move { c.send(&group, queue_id, &msg).await },
            move |r| match r {
                Ok(res) => {
                    let res = bc_send_result::from(&res);
                    cb(ud.ptr(), bc_status::BC_OK, std::ptr::null(), &res);
                }
                Err(e) => cb(ud.ptr(), e.status, &e, std::ptr::null()),
            },
        )
    })
}

/// Sends `message` without waiting for the broker (no result; nothing tells whether it was
/// stored). Returns once queued for writing. Errors as `bc_client_send`.
#[no_mangle]
pub extern "C" fn bc_client_send_oneway(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    message: *const bc_message,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = str_arg(producer_group, "producer_group")?;
        let msg = message_arg(message)?;
        h.pending.block(h.client.send_oneway(group, queue_id, msg))
    })
}

/// Async `bc_client_send_oneway`: `cb` runs once the message is queued for writing.
#[no_mangle]
pub extern "C" fn bc_client_send_oneway_async(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    message: *const bc_message,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = str_arg(producer_group, "producer_group")?.to_owned();
        let msg = message_arg(message)?.clone();
        precheck_send(
            &group,
            std::slice::from_ref(&msg),
            h.client.config().max_body_size,
        )?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending.start(
            async move { c.send_oneway(&group, queue_id, &msg).await },
            move |r| deliver_done(cb, ud, r),
        )
    })
}

pub(crate) fn batch_arg(
    messages: *const *const bc_message,
    count: usize,
) -> Result<Vec<Message>, bc_error> {
    if count == 0 {
        return Err(bc_error::invalid_arg("the batch is empty"));
    }
    if messages.is_null() {
        return Err(bc_error::invalid_arg("`messages` is NULL"));
    }
    // SAFETY: `count` readable pointers at `messages`, per the contract.
    let ptrs = unsafe { std::slice::from_raw_parts(messages, count) };
    ptrs.iter()
        .enumerate()
        .map(|(i, p)| {
            message_arg(*p)
                .cloned()
                .map_err(|_| bc_error::invalid_arg(&format!("`messages[{i}]` is NULL")))
        })
        .collect()
}

/// Sends `count` messages of one topic as one batch to `queue_id`, stored in order.
/// Messages are copied. Errors as `bc_client_send` (an empty or mixed-topic batch is
/// `BC_ERR_INVALID_ARG`).
#[no_mangle]
pub extern "C" fn bc_client_send_batch(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    messages: *const *const bc_message,
    count: usize,
    out_result: *mut *mut bc_send_result,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = str_arg(producer_group, "producer_group")?;
        let msgs = batch_arg(messages, count)?;
        precheck_send(group, &msgs, h.client.config().max_body_size)?;
        if out_result.is_null() {
            return Err(bc_error::invalid_arg("`out_result` is NULL"));
        }
        let r = h
            .pending
            .block(h.client.send_batch(group, queue_id, &msgs))?;
        out(
            out_result,
            "out_result",
            Box::into_raw(Box::new(bc_send_result::from(&r))),
        )
    })
}

/// Async `bc_client_send_batch`.
#[no_mangle]
pub extern "C" fn bc_client_send_batch_async(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    messages: *const *const bc_message,
    count: usize,
    cb: bc_send_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = str_arg(producer_group, "producer_group")?.to_owned();
        let msgs = batch_arg(messages, count)?;
        precheck_send(&group, &msgs, h.client.config().max_body_size)?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending.start(
            async move { c.send_batch(&group, queue_id, &msgs).await },
            move |r| match r {
                Ok(res) => {
                    let res = bc_send_result::from(&res);
                    cb(ud.ptr(), bc_status::BC_OK, std::ptr::null(), &res);
                }
                Err(e) => cb(ud.ptr(), e.status, &e, std::ptr::null()),
            },
        )
    })
}

/// Sends a batch without waiting for the broker.
#[no_mangle]
pub extern "C" fn bc_client_send_batch_oneway(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    messages: *const *const bc_message,
    count: usize,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = str_arg(producer_group, "producer_group")?;
        let msgs = batch_arg(messages, count)?;
        precheck_send(group, &msgs, h.client.config().max_body_size)?;
        h.pending
            .block(h.client.send_batch_oneway(group, queue_id, &msgs))
    })
}

/// Async `bc_client_send_batch_oneway`.
#[no_mangle]
pub extern "C" fn bc_client_send_batch_oneway_async(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    messages: *const *const bc_message,
    count: usize,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = str_arg(producer_group, "producer_group")?.to_owned();
        let msgs = batch_arg(messages, count)?;
        precheck_send(&group, &msgs, h.client.config().max_body_size)?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending.start(
            async move { c.send_batch_oneway(&group, queue_id, &msgs).await },
            move |r| deliver_done(cb, ud, r),
        )
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn pull_request(
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    max_messages: i32,
    suspend_timeout_ms: i32,
    subscription: *const c_char,
) -> Result<PullRequest, bc_error> {
    let group = str_arg(consumer_group, "consumer_group")?;
    let topic = str_arg(topic, "topic")?;
    let invalid = |e: BrokerError| bc_error::from_broker(&e);
    crate::client::validate::group(group).map_err(invalid)?;
    crate::client::validate::topic(topic).map_err(invalid)?;
    if max_messages <= 0 {
        return Err(bc_error::invalid_arg("`max_messages` must be positive"));
    }
    let mut req = PullRequest::new(group, topic, queue_id, offset);
    req.max_msg_nums = max_messages;
    if !subscription.is_null() {
        req.subscription = Some(str_arg(subscription, "subscription")?.to_owned());
    }
    if suspend_timeout_ms > 0 {
        req.suspend_timeout = Some(Duration::from_millis(suspend_timeout_ms as u64));
    }
    Ok(req)
}

/// Pulls up to `max_messages` from queue `queue_id` of `topic` starting at `offset`.
/// `subscription` is a tag expression (`"*"`, `"a || b"`); NULL means `"*"`. With
/// `suspend_timeout_ms > 0` the broker holds the pull that long while nothing is there (long
/// polling; the deadline is stretched to outlast the hold). `*out_batch` is the caller's
/// (free with `bc_batch_free`); its status says FOUND / NO_NEW_MSG / NO_MATCHED_MSG /
/// OFFSET_ILLEGAL. Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`,
/// `BC_ERR_PULL`, `BC_ERR_BROKER_*`, `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_client_pull(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    max_messages: i32,
    suspend_timeout_ms: i32,
    subscription: *const c_char,
    out_batch: *mut *mut bc_batch,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let req = pull_request(
            consumer_group,
            topic,
            queue_id,
            offset,
            max_messages,
            suspend_timeout_ms,
            subscription,
        )?;
        if out_batch.is_null() {
            return Err(bc_error::invalid_arg("`out_batch` is NULL"));
        }
        let r = h.pending.block(h.client.pull(&req))?;
        out(
            out_batch,
            "out_batch",
            Box::into_raw(Box::new(bc_batch::from(r))),
        )
    })
}

/// Async `bc_client_pull`; the callback owns the batch it receives.
#[no_mangle]
pub extern "C" fn bc_client_pull_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    max_messages: i32,
    suspend_timeout_ms: i32,
    subscription: *const c_char,
    cb: bc_pull_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let req = pull_request(
            consumer_group,
            topic,
            queue_id,
            offset,
            max_messages,
            suspend_timeout_ms,
            subscription,
        )?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending
            .start(async move { c.pull(&req).await }, move |r| match r {
                Ok(res) => cb(
                    ud.ptr(),
                    bc_status::BC_OK,
                    std::ptr::null(),
                    Box::into_raw(Box::new(bc_batch::from(res))),
                ),
                Err(e) => cb(ud.ptr(), e.status, &e, std::ptr::null_mut()),
            })
    })
}

pub(crate) fn owned(ptr: *const c_char, name: &str) -> Result<String, bc_error> {
    str_arg(ptr, name).map(str::to_owned)
}

// The operations below are written out (not generated by a macro) so that cbindgen, which
// does not expand macros, declares them in the header.

/// The next offset to be written in a queue (exclusive maximum). For a topic or queue the
/// broker does not have, the broker answers 0 and so does this call (`BC_OK`): look the topic
/// up first (`bc_client_get_route_info`) where that matters.
///
/// Ownership: `out_value` must not be NULL. Errors: transport and broker errors,
/// `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_client_get_max_offset(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_blocking(client, out_value, err_out, |c| {
        let topic = owned(topic, "topic")?;
        Ok(async move { c.get_max_offset(&topic, queue_id).await })
    })
}

/// Async `bc_client_get_max_offset`: returns at once; the value arrives in the callback.
#[no_mangle]
pub extern "C" fn bc_client_get_max_offset_async(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_async(client, cb, user_data, err_out, |c| {
        let topic = owned(topic, "topic")?;
        Ok(async move { c.get_max_offset(&topic, queue_id).await })
    })
}

/// The smallest offset still stored in a queue.
#[no_mangle]
pub extern "C" fn bc_client_get_min_offset(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_blocking(client, out_value, err_out, |c| {
        let topic = owned(topic, "topic")?;
        Ok(async move { c.get_min_offset(&topic, queue_id).await })
    })
}

/// Async `bc_client_get_min_offset`: returns at once; the value arrives in the callback.
#[no_mangle]
pub extern "C" fn bc_client_get_min_offset_async(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_async(client, cb, user_data, err_out, |c| {
        let topic = owned(topic, "topic")?;
        Ok(async move { c.get_min_offset(&topic, queue_id).await })
    })
}

/// The store time (ms since the epoch) of the oldest message in a queue.
#[no_mangle]
pub extern "C" fn bc_client_get_earliest_msg_store_time(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_blocking(client, out_value, err_out, |c| {
        let topic = owned(topic, "topic")?;
        Ok(async move { c.get_earliest_msg_store_time(&topic, queue_id).await })
    })
}

/// Async `bc_client_get_earliest_msg_store_time`: returns at once; the value arrives in the callback.
#[no_mangle]
pub extern "C" fn bc_client_get_earliest_msg_store_time_async(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_async(client, cb, user_data, err_out, |c| {
        let topic = owned(topic, "topic")?;
        Ok(async move { c.get_earliest_msg_store_time(&topic, queue_id).await })
    })
}

/// The first offset stored at or after `timestamp_ms`; `upper` non-zero picks the last of
/// several messages with the same time.
#[no_mangle]
pub extern "C" fn bc_client_search_offset_by_timestamp(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    timestamp_ms: i64,
    upper: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_blocking(client, out_value, err_out, |c| {
        let topic = owned(topic, "topic")?;
        let boundary = if upper != 0 {
            crate::client::BoundaryType::Upper
        } else {
            crate::client::BoundaryType::Lower
        };
        Ok(async move {
            c.search_offset_by_timestamp(&topic, queue_id, timestamp_ms, boundary)
                .await
        })
    })
}

/// Async `bc_client_search_offset_by_timestamp`: returns at once; the value arrives in the callback.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_client_search_offset_by_timestamp_async(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    timestamp_ms: i64,
    upper: i32,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_async(client, cb, user_data, err_out, |c| {
        let topic = owned(topic, "topic")?;
        let boundary = if upper != 0 {
            crate::client::BoundaryType::Upper
        } else {
            crate::client::BoundaryType::Lower
        };
        Ok(async move {
            c.search_offset_by_timestamp(&topic, queue_id, timestamp_ms, boundary)
                .await
        })
    })
}

/// The committed offset of `consumer_group` on a queue; `BC_ERR_OFFSET` when none is.
#[no_mangle]
pub extern "C" fn bc_client_query_consumer_offset(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_blocking(client, out_value, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let topic = owned(topic, "topic")?;
        Ok(async move {
            c.query_consumer_offset(&consumer_group, &topic, queue_id)
                .await
        })
    })
}

/// Async `bc_client_query_consumer_offset`: returns at once; the value arrives in the callback.
#[no_mangle]
pub extern "C" fn bc_client_query_consumer_offset_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_async(client, cb, user_data, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let topic = owned(topic, "topic")?;
        Ok(async move {
            c.query_consumer_offset(&consumer_group, &topic, queue_id)
                .await
        })
    })
}

/// Commits `offset` for `consumer_group` on a queue (the broker must know the group:
/// heartbeat or pull first).
#[no_mangle]
pub extern "C" fn bc_client_update_consumer_offset(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let topic = owned(topic, "topic")?;
        Ok(async move {
            c.update_consumer_offset(&consumer_group, &topic, queue_id, offset)
                .await
        })
    })
}

/// Async `bc_client_update_consumer_offset`: returns at once; `cb` runs once.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_client_update_consumer_offset_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_async(client, cb, user_data, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let topic = owned(topic, "topic")?;
        Ok(async move {
            c.update_consumer_offset(&consumer_group, &topic, queue_id, offset)
                .await
        })
    })
}

/// Commits an offset without waiting for the broker.
#[no_mangle]
pub extern "C" fn bc_client_update_consumer_offset_oneway(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let topic = owned(topic, "topic")?;
        Ok(async move {
            c.update_consumer_offset_oneway(&consumer_group, &topic, queue_id, offset)
                .await
        })
    })
}

/// Async `bc_client_update_consumer_offset_oneway`: returns at once; `cb` runs once.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_client_update_consumer_offset_oneway_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_async(client, cb, user_data, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let topic = owned(topic, "topic")?;
        Ok(async move {
            c.update_consumer_offset_oneway(&consumer_group, &topic, queue_id, offset)
                .await
        })
    })
}

/// Creates (or updates) `topic` with `queue_nums` read and write queues (admin).
#[no_mangle]
pub extern "C" fn bc_client_create_topic(
    client: *const bc_client,
    topic: *const c_char,
    queue_nums: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |c| {
        let topic = owned(topic, "topic")?;
        Ok(async move { c.create_topic(&topic, queue_nums).await })
    })
}

/// Async `bc_client_create_topic`: returns at once; `cb` runs once.
#[no_mangle]
pub extern "C" fn bc_client_create_topic_async(
    client: *const bc_client,
    topic: *const c_char,
    queue_nums: i32,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_async(client, cb, user_data, err_out, |c| {
        let topic = owned(topic, "topic")?;
        Ok(async move { c.create_topic(&topic, queue_nums).await })
    })
}

/// Registers a producer group and/or a consumer group (pull consumer, clustering) with
/// the broker; either may be NULL but not both.
#[no_mangle]
pub extern "C" fn bc_client_heartbeat(
    client: *const bc_client,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |c| {
        let producer_group = opt_owned(producer_group, "producer_group")?;
        let consumer_group = opt_owned(consumer_group, "consumer_group")?;
        if producer_group.is_none() && consumer_group.is_none() {
            return Err(bc_error::invalid_arg(
                "give `producer_group`, `consumer_group` or both",
            ));
        }
        Ok(async move { heartbeat(c, producer_group, consumer_group).await })
    })
}

/// Async `bc_client_heartbeat`: returns at once; `cb` runs once.
#[no_mangle]
pub extern "C" fn bc_client_heartbeat_async(
    client: *const bc_client,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_async(client, cb, user_data, err_out, |c| {
        let producer_group = opt_owned(producer_group, "producer_group")?;
        let consumer_group = opt_owned(consumer_group, "consumer_group")?;
        if producer_group.is_none() && consumer_group.is_none() {
            return Err(bc_error::invalid_arg(
                "give `producer_group`, `consumer_group` or both",
            ));
        }
        Ok(async move { heartbeat(c, producer_group, consumer_group).await })
    })
}

/// Tells the broker this client leaves its producer and/or consumer group.
#[no_mangle]
pub extern "C" fn bc_client_unregister(
    client: *const bc_client,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |c| {
        let producer_group = opt_owned(producer_group, "producer_group")?;
        let consumer_group = opt_owned(consumer_group, "consumer_group")?;
        Ok(async move {
            c.unregister_client(producer_group.as_deref(), consumer_group.as_deref())
                .await
        })
    })
}

/// Async `bc_client_unregister`: returns at once; `cb` runs once.
#[no_mangle]
pub extern "C" fn bc_client_unregister_async(
    client: *const bc_client,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_async(client, cb, user_data, err_out, |c| {
        let producer_group = opt_owned(producer_group, "producer_group")?;
        let consumer_group = opt_owned(consumer_group, "consumer_group")?;
        Ok(async move {
            c.unregister_client(producer_group.as_deref(), consumer_group.as_deref())
                .await
        })
    })
}

/// Ends a transaction's half message: `state` 1 commit, 2 rollback, 0 unknown (the broker
/// will check later). `msg_id`, `offset_msg_id`, `queue_offset` and `transaction_id` are
/// what the half message's send returned. `transaction_id` may be NULL: it is then left out of
/// the request and the broker finds the half message by `offset_msg_id` and `queue_offset`
/// alone (it only logs the id). Oneway: completes once written.
///
/// Errors: `BC_ERR_INVALID_ARG` (NULL ids or group, `state` not 0/1/2), transport errors.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_client_end_transaction(
    client: *const bc_client,
    producer_group: *const c_char,
    msg_id: *const c_char,
    offset_msg_id: *const c_char,
    queue_offset: i64,
    transaction_id: *const c_char,
    state: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |c| {
        let producer_group = owned(producer_group, "producer_group")?;
        let msg_id = owned(msg_id, "msg_id")?;
        let offset_msg_id = owned(offset_msg_id, "offset_msg_id")?;
        let transaction_id = opt_owned(transaction_id, "transaction_id")?;
        let state = transaction_state(state)?;
        Ok(async move {
            end_transaction(
                c,
                producer_group,
                msg_id,
                offset_msg_id,
                queue_offset,
                transaction_id,
                state,
            )
            .await
        })
    })
}

/// Async `bc_client_end_transaction`: returns at once; `cb` runs once.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_client_end_transaction_async(
    client: *const bc_client,
    producer_group: *const c_char,
    msg_id: *const c_char,
    offset_msg_id: *const c_char,
    queue_offset: i64,
    transaction_id: *const c_char,
    state: i32,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_async(client, cb, user_data, err_out, |c| {
        let producer_group = owned(producer_group, "producer_group")?;
        let msg_id = owned(msg_id, "msg_id")?;
        let offset_msg_id = owned(offset_msg_id, "offset_msg_id")?;
        let transaction_id = opt_owned(transaction_id, "transaction_id")?;
        let state = transaction_state(state)?;
        Ok(async move {
            end_transaction(
                c,
                producer_group,
                msg_id,
                offset_msg_id,
                queue_offset,
                transaction_id,
                state,
            )
            .await
        })
    })
}

pub(crate) fn opt_owned(ptr: *const c_char, name: &str) -> Result<Option<String>, bc_error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        owned(ptr, name).map(Some)
    }
}

fn transaction_state(state: i32) -> Result<crate::client::TransactionState, bc_error> {
    use crate::client::TransactionState::*;
    match state {
        0 => Ok(Unknown),
        1 => Ok(Commit),
        2 => Ok(Rollback),
        _ => Err(bc_error::invalid_arg(&format!(
            "transaction state {state} is not 0, 1 or 2"
        ))),
    }
}

async fn heartbeat(
    c: AsyncBrokerClient,
    producer: Option<String>,
    consumer: Option<String>,
) -> Result<(), BrokerError> {
    let data = heartbeat_data(producer, consumer)?;
    c.heartbeat(&data).await
}

/// The heartbeat that registers a producer group and/or a pull consumer group (clustering,
/// consume from the first offset); an empty client id (filled by the client).
pub(crate) fn heartbeat_data(
    producer: Option<String>,
    consumer: Option<String>,
) -> Result<crate::protocol::bodies::HeartbeatData, BrokerError> {
    use crate::protocol::bodies::*;
    if producer.is_none() && consumer.is_none() {
        return Err(BrokerError::InvalidArgument(
            "give a producer group, a consumer group or both".into(),
        ));
    }
    Ok(HeartbeatData {
        client_id: String::new(),
        producer_data_set: producer
            .into_iter()
            .map(|g| ProducerData { group_name: g })
            .collect(),
        consumer_data_set: consumer
            .into_iter()
            .map(|g| ConsumerData {
                group_name: g,
                consume_type: ConsumeType::ConsumeActively,
                message_model: MessageModel::Clustering,
                consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
                subscription_data_set: Vec::new(),
                unit_mode: false,
            })
            .collect(),
        heartbeat_fingerprint: 0,
        without_sub: false,
    })
}

async fn end_transaction(
    c: AsyncBrokerClient,
    producer_group: String,
    msg_id: String,
    offset_msg_id: String,
    queue_offset: i64,
    transaction_id: Option<String>,
    state: crate::client::TransactionState,
) -> Result<(), BrokerError> {
    let sent = crate::client::SendResult {
        status: crate::client::SendStatus::SendOk,
        msg_id,
        offset_msg_id,
        queue_id: 0,
        queue_offset,
        transaction_id,
        region_id: None,
    };
    let end = crate::client::EndTransaction::for_send(&producer_group, &sent, state)?;
    c.end_transaction(&end).await
}

/// The route of `topic` as JSON (`TopicRouteData`: `queueDatas`, `brokerDatas` with
/// `brokerAddrs`); ask a name server. `BC_ERR_BROKER_RESPONSE` with response code 17 for
/// an unknown topic.
/// `*out_json` is the caller's: free it with `bc_string_free`.
#[no_mangle]
pub extern "C" fn bc_client_get_route_info(
    client: *const bc_client,
    topic: *const c_char,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_blocking(client, out_json, err_out, |c| {
        let topic = owned(topic, "topic")?;
        Ok(async move { c.get_route_info(&topic).await })
    })
}

/// Async `bc_client_get_route_info`: returns at once; the JSON is borrowed for the callback.
#[no_mangle]
pub extern "C" fn bc_client_get_route_info_async(
    client: *const bc_client,
    topic: *const c_char,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_async(client, cb, user_data, err_out, |c| {
        let topic = owned(topic, "topic")?;
        Ok(async move { c.get_route_info(&topic).await })
    })
}

/// Every cluster and broker the name server knows, as JSON (`ClusterInfo`).
/// `*out_json` is the caller's: free it with `bc_string_free`.
#[no_mangle]
pub extern "C" fn bc_client_get_cluster_info(
    client: *const bc_client,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_blocking(client, out_json, err_out, |c| {
        Ok(async move { c.get_cluster_info().await })
    })
}

/// Async `bc_client_get_cluster_info`: returns at once; the JSON is borrowed for the callback.
#[no_mangle]
pub extern "C" fn bc_client_get_cluster_info_async(
    client: *const bc_client,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_async(client, cb, user_data, err_out, |c| {
        Ok(async move { c.get_cluster_info().await })
    })
}

/// The client ids of a consumer group's live members, as a JSON array of strings.
/// `*out_json` is the caller's: free it with `bc_string_free`.
#[no_mangle]
pub extern "C" fn bc_client_get_consumer_list(
    client: *const bc_client,
    consumer_group: *const c_char,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_blocking(client, out_json, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        Ok(async move { c.get_consumer_list(&consumer_group).await })
    })
}

/// Async `bc_client_get_consumer_list`: returns at once; the JSON is borrowed for the callback.
#[no_mangle]
pub extern "C" fn bc_client_get_consumer_list_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_async(client, cb, user_data, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        Ok(async move { c.get_consumer_list(&consumer_group).await })
    })
}

/// Frees a string this library returned (JSON results); NULL is ignored.
#[no_mangle]
pub extern "C" fn bc_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: from CString::into_raw in this library, freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}

// ---------------------------------------------------------------------------------------------
// Shared completion helpers (also used by `bc_manager`).
// ---------------------------------------------------------------------------------------------

/// Runs a `bc_send_cb` with a send's outcome (the result is borrowed for the call).
pub(crate) fn deliver_send(
    cb: extern "C" fn(*mut c_void, bc_status, *const bc_error, *const bc_send_result),
    ud: UserData,
    r: Result<crate::client::SendResult, bc_error>,
) {
    match r {
        Ok(res) => {
            let res = bc_send_result::from(&res);
            cb(ud.ptr(), bc_status::BC_OK, std::ptr::null(), &res);
        }
        Err(e) => cb(ud.ptr(), e.status, &e, std::ptr::null()),
    }
}

/// Runs a `bc_pull_cb` with a pull's outcome (the batch passes to the callee).
pub(crate) fn deliver_pull(
    cb: extern "C" fn(*mut c_void, bc_status, *const bc_error, *mut bc_batch),
    ud: UserData,
    r: Result<crate::client::PullResult, bc_error>,
) {
    match r {
        Ok(res) => cb(
            ud.ptr(),
            bc_status::BC_OK,
            std::ptr::null(),
            Box::into_raw(Box::new(bc_batch::from(res))),
        ),
        Err(e) => cb(ud.ptr(), e.status, &e, std::ptr::null_mut()),
    }
}

/// Releases a persistent registration's `user_data`: called once, when the registration is
/// replaced or its owner freed (after any callback running on it has returned). May be NULL.
pub type bc_free_cb = Option<extern "C" fn(user_data: *mut c_void)>;

// ---------------------------------------------------------------------------------------------
// Cancellable async operations.
// ---------------------------------------------------------------------------------------------

/// `bc_client_send_async` with a cancel token (`cancel` may be NULL: none). Cancelling the
/// token before the broker's answer arrives completes the send with `BC_ERR_CANCELLED`
/// (the message may or may not have been stored: the request may already be on the wire).
/// A token already cancelled refuses the call with `BC_ERR_CANCELLED` (no callback).
///
/// Ownership: the message is copied; the token is not retained (free it any time).
/// Thread-safety: any thread. Errors: as `bc_client_send_async`, plus `BC_ERR_CANCELLED`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_client_send_async_with_cancel(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    message: *const bc_message,
    cancel: *const super::cancel::bc_cancel_token,
    cb: bc_send_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = str_arg(producer_group, "producer_group")?.to_owned();
        let msg = message_arg(message)?.clone();
        precheck_send(
            &group,
            std::slice::from_ref(&msg),
            h.client.config().max_body_size,
        )?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending.start_with_cancel(
            async move { c.send(&group, queue_id, &msg).await },
            move |r| deliver_send(cb, ud, r),
            super::cancel::token_arg(cancel)?,
        )
    })
}

/// `bc_client_pull_async` with a cancel token (`cancel` may be NULL: none). Cancelling the
/// token ends a pull still waiting — e.g. a long poll the broker holds — at once with
/// `BC_ERR_CANCELLED` (no batch). A token already cancelled refuses the call with
/// `BC_ERR_CANCELLED` (no callback).
///
/// Ownership: the callback owns the batch it receives; the token is not retained.
/// Thread-safety: any thread. Errors: as `bc_client_pull_async`, plus `BC_ERR_CANCELLED`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_client_pull_async_with_cancel(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    max_messages: i32,
    suspend_timeout_ms: i32,
    subscription: *const c_char,
    cancel: *const super::cancel::bc_cancel_token,
    cb: bc_pull_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let req = pull_request(
            consumer_group,
            topic,
            queue_id,
            offset,
            max_messages,
            suspend_timeout_ms,
            subscription,
        )?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending.start_with_cancel(
            async move { c.pull(&req).await },
            move |r| deliver_pull(cb, ud, r),
            super::cancel::token_arg(cancel)?,
        )
    })
}

// ---------------------------------------------------------------------------------------------
// View message, send back, queue locks.
// ---------------------------------------------------------------------------------------------

/// A batch holding the one message `view_message` returned.
fn single_message_batch(m: crate::protocol::message::MessageExt) -> bc_batch {
    bc_batch::from(crate::client::PullResult {
        status: crate::client::PullStatus::Found,
        next_begin_offset: m.queue_offset + 1,
        min_offset: -1,
        max_offset: -1,
        suggest_which_broker_id: 0,
        messages: vec![m],
    })
}

/// Fetches the stored message whose offset message id is `offset_msg_id` (what a send
/// returns in `bc_send_result_offset_msg_id`, or `bc_message_view.offset_msg_id`), as a batch
/// of one message (status FOUND; `bc_batch_next_offset` is its queue offset + 1;
/// `bc_batch_min_offset`/`_max_offset` are -1, not known).
///
/// Ownership: `*out_batch` is the caller's; free it with `bc_batch_free`.
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL, an id that does not
/// decode), `BC_ERR_BROKER_RESPONSE`/`BC_ERR_BROKER_SYSTEM` (no such message),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_client_view_message(
    client: *const bc_client,
    offset_msg_id: *const c_char,
    out_batch: *mut *mut bc_batch,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let id = str_arg(offset_msg_id, "offset_msg_id")?;
        if out_batch.is_null() {
            return Err(bc_error::invalid_arg("`out_batch` is NULL"));
        }
        let m = h.pending.block(h.client.view_message(id))?;
        out(
            out_batch,
            "out_batch",
            Box::into_raw(Box::new(single_message_batch(m))),
        )
    })
}

/// Async `bc_client_view_message`: `cb` runs once; on success it owns the batch of one
/// message (free it with `bc_batch_free`).
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`;
/// the others arrive in the callback.
#[no_mangle]
pub extern "C" fn bc_client_view_message_async(
    client: *const bc_client,
    offset_msg_id: *const c_char,
    cb: bc_pull_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let id = owned(offset_msg_id, "offset_msg_id")?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending
            .start(async move { c.view_message(&id).await }, move |r| match r {
                Ok(m) => cb(
                    ud.ptr(),
                    bc_status::BC_OK,
                    std::ptr::null(),
                    Box::into_raw(Box::new(single_message_batch(m))),
                ),
                Err(e) => cb(ud.ptr(), e.status, &e, std::ptr::null_mut()),
            })
    })
}

/// The parts of message `index` of a batch that a send-back needs (topic, commit-log and
/// queue offsets, message id), read through the batch's public view.
fn batch_message(
    batch: *const bc_batch,
    index: usize,
) -> Result<crate::protocol::message::MessageExt, bc_error> {
    use super::result::{bc_batch_get, bc_batch_len, bc_message_view};
    arg(batch, "batch")?;
    let len = bc_batch_len(batch);
    if index >= len {
        return Err(bc_error::invalid_arg(&format!(
            "index {index} is out of range ({len} messages)"
        )));
    }
    // SAFETY: all-zero is a valid bc_message_view (NULL pointers, zero numbers).
    let mut view: bc_message_view = unsafe { std::mem::zeroed() };
    view.struct_size = std::mem::size_of::<bc_message_view>();
    if bc_batch_get(batch, index, &mut view, std::ptr::null_mut()) != bc_status::BC_OK {
        return Err(bc_error::invalid_arg(
            "cannot read the message from the batch",
        ));
    }
    // SAFETY: bc_batch_get filled NUL-terminated strings owned by the live batch.
    let text = |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    let mut m = crate::protocol::message::MessageExt {
        topic: text(view.topic),
        queue_id: view.queue_id,
        queue_offset: view.queue_offset,
        commit_log_offset: view.commit_log_offset,
        reconsume_times: view.reconsume_times,
        ..Default::default()
    };
    // `msg_id()` of the rebuilt message is the batch's message id.
    m.properties.insert(
        crate::protocol::properties::keys::UNIQ_KEY,
        text(view.msg_id),
    );
    Ok(m)
}

/// Hands message `index` of `batch` (a pulled batch) back to the broker for redelivery to
/// `consumer_group` after `delay_level` (0: the broker chooses; negative: straight to the
/// dead-letter queue). `max_reconsume_times` negative means the broker's default; past it the
/// message goes to the dead-letter queue. The batch is only read during the call.
///
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL, index out of range, bad
/// group), `BC_ERR_BROKER_*` (e.g. the broker no longer has the message),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_client_consumer_send_back(
    client: *const bc_client,
    consumer_group: *const c_char,
    batch: *const bc_batch,
    index: usize,
    delay_level: i32,
    max_reconsume_times: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = str_arg(consumer_group, "consumer_group")?;
        let msg = batch_message(batch, index)?;
        let max = (max_reconsume_times >= 0).then_some(max_reconsume_times);
        h.pending
            .block(h.client.consumer_send_back(group, &msg, delay_level, max))
    })
}

/// Async `bc_client_consumer_send_back`: the message's identity is copied before return
/// (the batch may be freed at once); `cb` runs once.
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_client_consumer_send_back_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    batch: *const bc_batch,
    index: usize,
    delay_level: i32,
    max_reconsume_times: i32,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let group = owned(consumer_group, "consumer_group")?;
        let msg = batch_message(batch, index)?;
        let max = (max_reconsume_times >= 0).then_some(max_reconsume_times);
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending.start(
            async move { c.consumer_send_back(&group, &msg, delay_level, max).await },
            move |r| deliver_done(cb, ud, r),
        )
    })
}

/// A set of queues from JSON: an array of `{"topic","brokerName","queueId"}`.
fn mq_set(
    json: *const c_char,
) -> Result<std::collections::BTreeSet<crate::protocol::bodies::MessageQueue>, bc_error> {
    let text = str_arg(json, "mq_json")?;
    serde_json::from_str(text).map_err(|e| {
        bc_error::invalid_arg(&format!(
            "`mq_json` is not a JSON array of {{\"topic\",\"brokerName\",\"queueId\"}}: {e}"
        ))
    })
}

/// Locks queues of `consumer_group` for ordered consumption by this client (its client id).
/// `mq_json` is a JSON array of `{"topic": "...", "brokerName": "...", "queueId": 0}`;
/// the result is the array of those now locked by this client (the others are held by
/// another client of the group). Locks expire unless renewed by locking again.
///
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL, bad JSON, bad group),
/// `BC_ERR_BROKER_*`, `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_CLOSED`,
/// `BC_ERR_WOULD_DEADLOCK`.
/// `*out_json` is the caller's: free it with `bc_string_free`.
#[no_mangle]
pub extern "C" fn bc_client_lock_batch_mq(
    client: *const bc_client,
    consumer_group: *const c_char,
    mq_json: *const c_char,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_blocking(client, out_json, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let mq_json = mq_set(mq_json)?;
        Ok(async move { c.lock_batch_mq(&consumer_group, &mq_json).await })
    })
}

/// Async `bc_client_lock_batch_mq`: returns at once; the JSON is borrowed for the callback.
#[no_mangle]
pub extern "C" fn bc_client_lock_batch_mq_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    mq_json: *const c_char,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_async(client, cb, user_data, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let mq_json = mq_set(mq_json)?;
        Ok(async move { c.lock_batch_mq(&consumer_group, &mq_json).await })
    })
}

/// Releases locks this client holds on queues of `consumer_group` (`mq_json` as for
/// `bc_client_lock_batch_mq`). Unlocking a queue not held changes nothing.
///
/// Thread-safety: any thread. Errors: as `bc_client_lock_batch_mq`.
#[no_mangle]
pub extern "C" fn bc_client_unlock_batch_mq(
    client: *const bc_client,
    consumer_group: *const c_char,
    mq_json: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let mq_json = mq_set(mq_json)?;
        Ok(async move { c.unlock_batch_mq(&consumer_group, &mq_json).await })
    })
}

/// Async `bc_client_unlock_batch_mq`: returns at once; `cb` runs once.
#[no_mangle]
pub extern "C" fn bc_client_unlock_batch_mq_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    mq_json: *const c_char,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_async(client, cb, user_data, err_out, |c| {
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let mq_json = mq_set(mq_json)?;
        Ok(async move { c.unlock_batch_mq(&consumer_group, &mq_json).await })
    })
}

// ---------------------------------------------------------------------------------------------
// Transaction checks.
// ---------------------------------------------------------------------------------------------

/// A broker's question about a transaction's half message, seen by a
/// `bc_transaction_check_cb`. Opaque; read it with the `bc_transaction_check_*` getters.
/// Borrowed: valid only during the callback.
pub struct bc_transaction_check {
    msg_id: CString,
    transaction_id: CString,
    topic: CString,
    body: bytes::Bytes,
    properties: Vec<(CString, CString)>,
}

fn c_text(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl bc_transaction_check {
    fn new(check: &crate::client::TransactionCheck) -> bc_transaction_check {
        let m = &check.message;
        let msg_id = check
            .header
            .msg_id
            .clone()
            .or_else(|| m.unique_key().map(str::to_owned))
            .unwrap_or_else(|| m.msg_id());
        let transaction_id = check
            .header
            .transaction_id
            .clone()
            .or_else(|| {
                m.property(crate::protocol::properties::keys::TRANSACTION_ID)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        bc_transaction_check {
            msg_id: c_text(&msg_id),
            transaction_id: c_text(&transaction_id),
            topic: c_text(&m.topic),
            body: m.body.clone(),
            properties: m
                .properties
                .iter()
                .map(|(k, v)| (c_text(k), c_text(v)))
                .collect(),
        }
    }
}

/// Decides a half message's fate when the broker asks (CHECK_TRANSACTION_STATE): return 1 to
/// commit, 2 to roll back, 0 for unknown (the broker asks again later); any other value
/// counts as unknown. `check` is borrowed for the call. Runs on a library thread (also for
/// clients in queue mode: the broker waits for the answer); it may block briefly (e.g. look
/// the transaction up in a database) but must not call blocking `bc_*` functions (they
/// return `BC_ERR_WOULD_DEADLOCK`), throw or longjmp. Checks may run concurrently.
pub type bc_transaction_check_cb =
    Option<extern "C" fn(user_data: *mut c_void, check: *const bc_transaction_check) -> i32>;

/// An installed transaction-check callback; dropping the last reference runs its
/// `free_user_data`.
pub(crate) struct TransactionCheckRegistration {
    cb: extern "C" fn(*mut c_void, *const bc_transaction_check) -> i32,
    user_data: UserData,
    free_user_data: bc_free_cb,
}

impl TransactionCheckRegistration {
    fn decide(&self, check: &crate::client::TransactionCheck) -> crate::client::TransactionState {
        use crate::client::TransactionState;
        let view = std::panic::catch_unwind(|| bc_transaction_check::new(check));
        let Ok(view) = view else {
            return TransactionState::Unknown;
        };
        match (self.cb)(self.user_data.ptr(), &view) {
            1 => TransactionState::Commit,
            2 => TransactionState::Rollback,
            _ => TransactionState::Unknown,
        }
    }
}

impl Drop for TransactionCheckRegistration {
    fn drop(&mut self) {
        if let Some(free) = self.free_user_data {
            free(self.user_data.ptr());
        }
    }
}

/// Installs `registration` (or none) on the client; returns the one it replaces, to be dropped
/// by the caller outside every lock.
fn set_transaction_check(
    h: &ClientHandle,
    registration: Option<Arc<TransactionCheckRegistration>>,
) -> Option<Arc<TransactionCheckRegistration>> {
    let mut slot = h.tx_check.lock().unwrap_or_else(|e| e.into_inner());
    let handler = registration.clone().map(|r| {
        Arc::new(move |check: &crate::client::TransactionCheck| r.decide(check))
            as Arc<crate::client::TransactionCheckHandler>
    });
    h.client.set_transaction_check_handler(handler);
    std::mem::replace(&mut *slot, registration)
}

/// Installs the callback that answers the broker's transaction checks for half messages this
/// client's producer groups sent (register the group with `bc_client_heartbeat` so the broker
/// knows where to ask). Replaces any previous callback; `cb` NULL removes it (`user_data` and
/// `free_user_data` are then ignored).
///
/// Ownership: the client keeps `user_data` until the callback is replaced or removed, or the
/// client is freed; then `free_user_data(user_data)` runs once (if not NULL), after any
/// check running at that moment has returned — on that check's thread, or on the calling one.
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (client NULL), `BC_ERR_CLOSED`
/// (nothing was installed and `free_user_data` is not called).
#[no_mangle]
pub extern "C" fn bc_client_set_transaction_check_cb(
    client: *const bc_client,
    cb: bc_transaction_check_cb,
    user_data: *mut c_void,
    free_user_data: bc_free_cb,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let registration = cb.map(|cb| {
            Arc::new(TransactionCheckRegistration {
                cb,
                user_data: UserData(user_data as usize),
                free_user_data,
            })
        });
        let old = set_transaction_check(h, registration);
        drop(old);
        Ok(())
    })
}

/// The message id (UNIQ_KEY) of the half message, as its send returned in
/// `bc_send_result_msg_id`; `""` for NULL.
///
/// Ownership: borrowed for the callback. Thread-safety: the callback's thread.
#[no_mangle]
pub extern "C" fn bc_transaction_check_msg_id(check: *const bc_transaction_check) -> *const c_char {
    super::boundary::call_or(c"".as_ptr(), || {
        arg(check, "check").map_or(c"".as_ptr(), |c| c.msg_id.as_ptr())
    })
}

/// The transaction id (as `bc_send_result_transaction_id`), `""` when none or for NULL.
///
/// Ownership: borrowed for the callback. Thread-safety: the callback's thread.
#[no_mangle]
pub extern "C" fn bc_transaction_check_transaction_id(
    check: *const bc_transaction_check,
) -> *const c_char {
    super::boundary::call_or(c"".as_ptr(), || {
        arg(check, "check").map_or(c"".as_ptr(), |c| c.transaction_id.as_ptr())
    })
}

/// The half message's real topic; `""` for NULL.
///
/// Ownership: borrowed for the callback. Thread-safety: the callback's thread.
#[no_mangle]
pub extern "C" fn bc_transaction_check_topic(check: *const bc_transaction_check) -> *const c_char {
    super::boundary::call_or(c"".as_ptr(), || {
        arg(check, "check").map_or(c"".as_ptr(), |c| c.topic.as_ptr())
    })
}

/// The half message's body; its length goes to `*out_len` (when not NULL). NULL (length 0)
/// for NULL `check`; a non-NULL pointer with length 0 for an empty body.
///
/// Ownership: borrowed for the callback. Thread-safety: the callback's thread.
#[no_mangle]
pub extern "C" fn bc_transaction_check_body(
    check: *const bc_transaction_check,
    out_len: *mut usize,
) -> *const u8 {
    super::boundary::call_or(std::ptr::null(), || {
        let (ptr, len) = match arg(check, "check") {
            Ok(c) => (c.body.as_ptr(), c.body.len()),
            Err(_) => (std::ptr::null(), 0),
        };
        if !out_len.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { out_len.write(len) };
        }
        ptr
    })
}

/// The value of property `name` of the half message (e.g. `"PGROUP"`, `"TAGS"`, user
/// properties), or NULL when absent or on NULL arguments.
///
/// Ownership: borrowed for the callback. Thread-safety: the callback's thread.
#[no_mangle]
pub extern "C" fn bc_transaction_check_property(
    check: *const bc_transaction_check,
    name: *const c_char,
) -> *const c_char {
    super::boundary::call_or(std::ptr::null(), || {
        let (Ok(c), Ok(name)) = (arg(check, "check"), str_arg(name, "name")) else {
            return std::ptr::null();
        };
        c.properties
            .iter()
            .find(|(k, _)| k.to_bytes() == name.as_bytes())
            .map_or(std::ptr::null(), |(_, v)| v.as_ptr())
    })
}
