//! `bc_client`: one broker (or name server). Every operation exists twice: blocking
//! `bc_client_<op>` and `bc_client_<op>_async`, which returns at once and completes exactly
//! once through its callback (on a library thread, or on the app's thread through the
//! client's `bc_queue`).
//!
//! Thread-safety of every function here: a `bc_client` may be used from any number of
//! threads at once, except `bc_client_free`, which must be the last call on it.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;
use std::time::Duration;

use super::boundary::{arg, call, out, str_arg};
use super::config::bc_config;
use super::config::or_default;
use super::error::bc_error;
use super::message::{bc_message, message_arg};
use super::pending::{Pending, UserData};
use super::queue::bc_queue;
use super::result::{bc_batch, bc_send_result};
use super::status::bc_status;
use crate::client::{AsyncBrokerClient, PullRequest};
use crate::error::BrokerError;
use crate::protocol::message::Message;
use crate::transport::runtime::block_on;

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

pub(crate) struct ClientHandle {
    pub client: AsyncBrokerClient,
    pub pending: Arc<Pending>,
}

/// A client of one broker or name server. Opaque.
pub struct bc_client {
    inner: Arc<ClientHandle>,
}

fn client_arg<'a>(c: *const bc_client) -> Result<&'a Arc<ClientHandle>, bc_error> {
    let h = &arg(c, "client")?.inner;
    h.pending.check_open()?;
    Ok(h)
}

/// Runs `fut` to completion from a C thread; `BC_ERR_WOULD_DEADLOCK` on a library thread.
fn blocking<T>(
    fut: impl std::future::Future<Output = Result<T, BrokerError>>,
) -> Result<T, bc_error> {
    block_on(fut)
        .map_err(bc_error::from)?
        .map_err(bc_error::from)
}

fn callback<F>(cb: Option<F>) -> Result<F, bc_error> {
    cb.ok_or_else(|| bc_error::invalid_arg("`cb` is NULL"))
}

fn deliver_done(
    cb: extern "C" fn(*mut c_void, bc_status, *const bc_error),
    ud: UserData,
    r: Result<(), bc_error>,
) {
    match r {
        Ok(()) => cb(ud.ptr(), bc_status::BC_OK, std::ptr::null()),
        Err(e) => cb(ud.ptr(), e.status, &e),
    }
}

fn deliver_int(
    cb: extern "C" fn(*mut c_void, bc_status, *const bc_error, i64),
    ud: UserData,
    r: Result<i64, bc_error>,
) {
    match r {
        Ok(v) => cb(ud.ptr(), bc_status::BC_OK, std::ptr::null(), v),
        Err(e) => cb(ud.ptr(), e.status, &e, 0),
    }
}

fn json_text<T: serde::Serialize>(v: &T) -> CString {
    CString::new(serde_json::to_vec(v).unwrap_or_default()).unwrap_or_default()
}

fn deliver_json(
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
/// `queue` alive. Errors: `BC_ERR_INVALID_ARG`.
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
        if !addr.contains(':') {
            return Err(bc_error::invalid_arg(&format!(
                "`addr` {addr:?} is not host:port"
            )));
        }
        let cfg = or_default(config).client;
        // SAFETY: NULL or a live queue.
        let queue = unsafe { queue.as_ref() }.map(|q| q.inner.clone());
        let raw = Box::into_raw(Box::new(bc_client {
            inner: Arc::new(ClientHandle {
                client: AsyncBrokerClient::new(addr, cfg),
                pending: Arc::new(Pending::new(queue)),
            }),
        }));
        out(out_client, "out_client", raw).inspect_err(|_| {
            // SAFETY: just made, not handed out.
            drop(unsafe { Box::from_raw(raw) });
        })
    })
}

/// Closes the client: new operations fail with `BC_ERR_CLOSED`; operations in flight may
/// finish for up to `timeout_ms`, then are cancelled (their callbacks get
/// `BC_ERR_CANCELLED`); returns once every accepted operation has completed (in queue mode:
/// been queued). Closing twice is harmless. Blocking: from a library thread it returns
/// `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_client_close(
    client: *mut bc_client,
    timeout_ms: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = &arg(client, "client")?.inner;
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
/// work is handed to a helper thread instead of blocking. NULL is ignored.
#[no_mangle]
pub extern "C" fn bc_client_free(client: *mut bc_client) {
    if client.is_null() {
        return;
    }
    // SAFETY: from bc_client_new, freed once.
    let boxed = unsafe { Box::from_raw(client) };
    let finish = move || {
        boxed.inner.pending.close(Duration::ZERO);
        boxed.inner.client.disconnect();
    };
    if crate::transport::runtime::on_runtime_thread() {
        std::thread::spawn(finish);
    } else {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(finish));
    }
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
        blocking(h.client.connect())
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
        if let Ok(c) = arg(client, "client") {
            c.inner.client.disconnect();
        }
    })
}

/// True while the client has a live connection.
#[no_mangle]
pub extern "C" fn bc_client_is_connected(client: *const bc_client) -> bool {
    super::boundary::call_or(false, || {
        arg(client, "client").is_ok_and(|c| c.inner.client.is_connected())
    })
}

/// Sends `message` to queue `queue_id` (negative: the broker picks) and waits until it is
/// stored. The message is copied; `*out_result` is the caller's (free with
/// `bc_send_result_free`). Errors: `BC_ERR_INVALID_ARG` (bad topic, empty or oversize body…,
/// nothing sent), `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*`, `BC_ERR_CLOSED`.
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
        let r = blocking(h.client.send(group, queue_id, msg))?;
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
        blocking(h.client.send_oneway(group, queue_id, msg))
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
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let c = h.client.clone();
        h.pending.start(
            async move { c.send_oneway(&group, queue_id, &msg).await },
            move |r| deliver_done(cb, ud, r),
        )
    })
}

fn batch_arg(messages: *const *const bc_message, count: usize) -> Result<Vec<Message>, bc_error> {
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
        if out_result.is_null() {
            return Err(bc_error::invalid_arg("`out_result` is NULL"));
        }
        let r = blocking(h.client.send_batch(group, queue_id, &msgs))?;
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
        blocking(h.client.send_batch_oneway(group, queue_id, &msgs))
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
fn pull_request(
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
        let r = blocking(h.client.pull(&req))?;
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

/// Declares a blocking and an async function for a client operation returning an i64.
macro_rules! int64_op {
    (
        $(#[$doc:meta])*
        $name:ident / $name_async:ident ($($arg:ident: $ty:ty => $conv:expr),*) => |$c:ident| $call:expr
    ) => {
        $(#[$doc])*
        #[no_mangle]
        pub extern "C" fn $name(
            client: *const bc_client,
            $($arg: $ty,)*
            out_value: *mut i64,
            err_out: *mut *mut bc_error,
        ) -> bc_status {
            call(err_out, || {
                let h = client_arg(client)?;
                $(let $arg = $conv?;)*
                if out_value.is_null() {
                    return Err(bc_error::invalid_arg("`out_value` is NULL"));
                }
                let $c = h.client.clone();
                let v = blocking(async move { $call.await })?;
                out(out_value, "out_value", v)
            })
        }

        /// Async twin; the value arrives in the callback.
        #[no_mangle]
        pub extern "C" fn $name_async(
            client: *const bc_client,
            $($arg: $ty,)*
            cb: bc_int64_cb,
            user_data: *mut c_void,
            err_out: *mut *mut bc_error,
        ) -> bc_status {
            call(err_out, || {
                let h = client_arg(client)?;
                $(let $arg = $conv?;)*
                let cb = callback(cb)?;
                let ud = UserData(user_data as usize);
                let $c = h.client.clone();
                h.pending.start(async move { $call.await }, move |r| deliver_int(cb, ud, r))
            })
        }
    };
}

fn owned(ptr: *const c_char, name: &str) -> Result<String, bc_error> {
    str_arg(ptr, name).map(str::to_owned)
}

int64_op! {
    /// The next offset to be written in a queue (exclusive maximum). Errors: transport and
    /// broker errors, `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`.
    bc_client_get_max_offset / bc_client_get_max_offset_async
        (topic: *const c_char => owned(topic, "topic"), queue_id: i32 => Ok::<i32, bc_error>(queue_id))
        => |c| c.get_max_offset(&topic, queue_id)
}

int64_op! {
    /// The smallest offset still stored in a queue.
    bc_client_get_min_offset / bc_client_get_min_offset_async
        (topic: *const c_char => owned(topic, "topic"), queue_id: i32 => Ok::<i32, bc_error>(queue_id))
        => |c| c.get_min_offset(&topic, queue_id)
}

int64_op! {
    /// The store time (ms since the epoch) of the oldest message in a queue.
    bc_client_get_earliest_msg_store_time / bc_client_get_earliest_msg_store_time_async
        (topic: *const c_char => owned(topic, "topic"), queue_id: i32 => Ok::<i32, bc_error>(queue_id))
        => |c| c.get_earliest_msg_store_time(&topic, queue_id)
}

int64_op! {
    /// The first offset stored at or after `timestamp_ms`; `upper` non-zero picks the last of
    /// several messages with the same time.
    bc_client_search_offset_by_timestamp / bc_client_search_offset_by_timestamp_async
        (topic: *const c_char => owned(topic, "topic"), queue_id: i32 => Ok::<i32, bc_error>(queue_id),
         timestamp_ms: i64 => Ok::<i64, bc_error>(timestamp_ms), upper: i32 => Ok::<i32, bc_error>(upper))
        => |c| c.search_offset_by_timestamp(&topic, queue_id, timestamp_ms,
               if upper != 0 { crate::client::BoundaryType::Upper } else { crate::client::BoundaryType::Lower })
}

int64_op! {
    /// The committed offset of `consumer_group` on a queue; `BC_ERR_OFFSET` when none is.
    bc_client_query_consumer_offset / bc_client_query_consumer_offset_async
        (consumer_group: *const c_char => owned(consumer_group, "consumer_group"),
         topic: *const c_char => owned(topic, "topic"), queue_id: i32 => Ok::<i32, bc_error>(queue_id))
        => |c| c.query_consumer_offset(&consumer_group, &topic, queue_id)
}

/// Declares a blocking and an async function for a client operation without a result.
macro_rules! done_op {
    (
        $(#[$doc:meta])*
        $name:ident / $name_async:ident ($($arg:ident: $ty:ty => $conv:expr),*) => |$c:ident| $call:expr
    ) => {
        $(#[$doc])*
        #[no_mangle]
        pub extern "C" fn $name(
            client: *const bc_client,
            $($arg: $ty,)*
            err_out: *mut *mut bc_error,
        ) -> bc_status {
            call(err_out, || {
                let h = client_arg(client)?;
                $(let $arg = $conv?;)*
                let $c = h.client.clone();
                blocking(async move { $call.await })
            })
        }

        /// Async twin; `cb` runs once.
        #[no_mangle]
        pub extern "C" fn $name_async(
            client: *const bc_client,
            $($arg: $ty,)*
            cb: bc_done_cb,
            user_data: *mut c_void,
            err_out: *mut *mut bc_error,
        ) -> bc_status {
            call(err_out, || {
                let h = client_arg(client)?;
                $(let $arg = $conv?;)*
                let cb = callback(cb)?;
                let ud = UserData(user_data as usize);
                let $c = h.client.clone();
                h.pending.start(async move { $call.await }, move |r| deliver_done(cb, ud, r))
            })
        }
    };
}

done_op! {
    /// Commits `offset` for `consumer_group` on a queue (the broker must know the group:
    /// heartbeat or pull first).
    bc_client_update_consumer_offset / bc_client_update_consumer_offset_async
        (consumer_group: *const c_char => owned(consumer_group, "consumer_group"),
         topic: *const c_char => owned(topic, "topic"), queue_id: i32 => Ok::<i32, bc_error>(queue_id),
         offset: i64 => Ok::<i64, bc_error>(offset))
        => |c| c.update_consumer_offset(&consumer_group, &topic, queue_id, offset)
}

done_op! {
    /// Commits an offset without waiting for the broker.
    bc_client_update_consumer_offset_oneway / bc_client_update_consumer_offset_oneway_async
        (consumer_group: *const c_char => owned(consumer_group, "consumer_group"),
         topic: *const c_char => owned(topic, "topic"), queue_id: i32 => Ok::<i32, bc_error>(queue_id),
         offset: i64 => Ok::<i64, bc_error>(offset))
        => |c| c.update_consumer_offset_oneway(&consumer_group, &topic, queue_id, offset)
}

done_op! {
    /// Creates (or updates) `topic` with `queue_nums` read and write queues (admin).
    bc_client_create_topic / bc_client_create_topic_async
        (topic: *const c_char => owned(topic, "topic"), queue_nums: i32 => Ok::<i32, bc_error>(queue_nums))
        => |c| c.create_topic(&topic, queue_nums)
}

done_op! {
    /// Registers a producer group and/or a consumer group (pull consumer, clustering) with
    /// the broker; either may be NULL but not both.
    bc_client_heartbeat / bc_client_heartbeat_async
        (producer_group: *const c_char => opt_owned(producer_group, "producer_group"),
         consumer_group: *const c_char => opt_owned(consumer_group, "consumer_group"))
        => |c| heartbeat(c, producer_group, consumer_group)
}

done_op! {
    /// Tells the broker this client leaves its producer and/or consumer group.
    bc_client_unregister / bc_client_unregister_async
        (producer_group: *const c_char => opt_owned(producer_group, "producer_group"),
         consumer_group: *const c_char => opt_owned(consumer_group, "consumer_group"))
        => |c| async move { c.unregister_client(producer_group.as_deref(), consumer_group.as_deref()).await }
}

done_op! {
    /// Ends a transaction's half message: `state` 1 commit, 2 rollback, 0 unknown (the broker
    /// will check later). `msg_id`, `offset_msg_id`, `queue_offset` and `transaction_id` are
    /// what the half message's send returned. Oneway: completes once written.
    bc_client_end_transaction / bc_client_end_transaction_async
        (producer_group: *const c_char => owned(producer_group, "producer_group"),
         msg_id: *const c_char => owned(msg_id, "msg_id"),
         offset_msg_id: *const c_char => owned(offset_msg_id, "offset_msg_id"),
         queue_offset: i64 => Ok::<i64, bc_error>(queue_offset),
         transaction_id: *const c_char => opt_owned(transaction_id, "transaction_id"),
         state: i32 => transaction_state(state))
        => |c| end_transaction(c, producer_group, msg_id, offset_msg_id, queue_offset, transaction_id, state)
}

fn opt_owned(ptr: *const c_char, name: &str) -> Result<Option<String>, bc_error> {
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
    use crate::protocol::bodies::*;
    if producer.is_none() && consumer.is_none() {
        return Err(BrokerError::InvalidArgument(
            "give a producer group, a consumer group or both".into(),
        ));
    }
    let data = HeartbeatData {
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
    };
    c.heartbeat(&data).await
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

/// Declares a blocking and an async function for a client operation returning JSON text.
macro_rules! json_op {
    (
        $(#[$doc:meta])*
        $name:ident / $name_async:ident ($($arg:ident: $ty:ty => $conv:expr),*) => |$c:ident| $call:expr
    ) => {
        $(#[$doc])*
        /// `*out_json` is the caller's: free it with `bc_string_free`.
        #[no_mangle]
        pub extern "C" fn $name(
            client: *const bc_client,
            $($arg: $ty,)*
            out_json: *mut *mut c_char,
            err_out: *mut *mut bc_error,
        ) -> bc_status {
            call(err_out, || {
                let h = client_arg(client)?;
                $(let $arg = $conv?;)*
                if out_json.is_null() {
                    return Err(bc_error::invalid_arg("`out_json` is NULL"));
                }
                let $c = h.client.clone();
                let v = blocking(async move { $call.await })?;
                out(out_json, "out_json", json_text(&v).into_raw())
            })
        }

        /// Async twin; the JSON is borrowed for the callback.
        #[no_mangle]
        pub extern "C" fn $name_async(
            client: *const bc_client,
            $($arg: $ty,)*
            cb: bc_json_cb,
            user_data: *mut c_void,
            err_out: *mut *mut bc_error,
        ) -> bc_status {
            call(err_out, || {
                let h = client_arg(client)?;
                $(let $arg = $conv?;)*
                let cb = callback(cb)?;
                let ud = UserData(user_data as usize);
                let $c = h.client.clone();
                h.pending.start(async move { $call.await }, move |r| {
                    deliver_json(cb, ud, r.map(|v| json_text(&v)))
                })
            })
        }
    };
}

json_op! {
    /// The route of `topic` as JSON (`TopicRouteData`: `queueDatas`, `brokerDatas` with
    /// `brokerAddrs`); ask a name server. `BC_ERR_BROKER_RESPONSE` with response code 17 for
    /// an unknown topic.
    bc_client_get_route_info / bc_client_get_route_info_async
        (topic: *const c_char => owned(topic, "topic"))
        => |c| c.get_route_info(&topic)
}

json_op! {
    /// Every cluster and broker the name server knows, as JSON (`ClusterInfo`).
    bc_client_get_cluster_info / bc_client_get_cluster_info_async () => |c| c.get_cluster_info()
}

json_op! {
    /// The client ids of a consumer group's live members, as a JSON array of strings.
    bc_client_get_consumer_list / bc_client_get_consumer_list_async
        (consumer_group: *const c_char => owned(consumer_group, "consumer_group"))
        => |c| c.get_consumer_list(&consumer_group)
}

/// Frees a string this library returned (JSON results); NULL is ignored.
#[no_mangle]
pub extern "C" fn bc_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: from CString::into_raw in this library, freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}
