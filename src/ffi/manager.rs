//! `bc_manager`: many brokers behind one handle — a pool of connections and a health record
//! per broker, discovery from name servers, route-aware sends that fail over, metrics. Every
//! operation exists twice, as `bc_client`'s do: blocking `bc_manager_<op>` and
//! `bc_manager_<op>_async`, which returns at once and completes exactly once through its
//! callback (on a library thread, or on the app's thread through the manager's `bc_queue`).
//!
//! Managers and clients are independent: free them in any order.
//!
//! Thread-safety of every function here: a `bc_manager` may be used from any number of
//! threads at once, except `bc_manager_free`, which must be the last call on it.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;
use std::time::Duration;

use super::boundary::{
    call, call_or, free_object, new_object, object, optional_object, out, str_arg, Object,
};
use super::cancel::{bc_cancel_token, token_arg};
use super::client::{
    batch_arg, bc_done_cb, bc_int64_cb, bc_json_cb, bc_pull_cb, bc_send_cb, callback, deliver_done,
    deliver_pull, deliver_send, heartbeat_data, json_text, opt_owned, owned, precheck_send,
    pull_request,
};
use super::config::{bc_config, or_default};
use super::error::bc_error;
use super::message::{bc_message, message_arg};
use super::ops::{
    done_async, done_blocking, int64_async, int64_blocking, json_async, json_blocking,
};
use super::pending::{Pending, UserData};
use super::queue::bc_queue;
use super::result::{bc_batch, bc_send_result};
use super::status::bc_status;
use crate::error::BrokerError;
use crate::manager::{AsyncBrokerManager, BrokerState};
use crate::transport::runtime::{block_on, on_runtime_thread};

/// Completion of an operation returning text that is not JSON (an address). `value` (NULL on
/// failure) and `err` are borrowed for the call. Same shape as `bc_json_cb`.
pub type bc_string_cb = Option<
    extern "C" fn(
        user_data: *mut c_void,
        status: bc_status,
        err: *const bc_error,
        value: *const c_char,
    ),
>;

pub(crate) struct ManagerHandle {
    pub manager: AsyncBrokerManager,
    pub pending: Arc<Pending>,
}

/// A manager of many brokers. Opaque.
pub struct bc_manager {
    inner: Arc<ManagerHandle>,
    born: u64,
}

impl Object for bc_manager {
    const NAME: &'static str = "manager";

    fn born(&self) -> Option<u64> {
        Some(self.born)
    }
}

impl super::ops::Handle for bc_manager {
    type Target = AsyncBrokerManager;

    fn open(ptr: *const Self) -> Result<(Arc<Pending>, AsyncBrokerManager), bc_error> {
        let h = manager_arg(ptr)?;
        Ok((h.pending.clone(), h.manager.clone()))
    }
}

fn manager_arg<'a>(m: *const bc_manager) -> Result<&'a Arc<ManagerHandle>, bc_error> {
    let h = &object(m)?.inner;
    h.pending.check_open()?;
    Ok(h)
}

fn millis(ms: i32) -> Duration {
    Duration::from_millis(ms.max(0) as u64)
}

fn new_handle(
    manager: AsyncBrokerManager,
    queue: *const bc_queue,
    out_manager: *mut *mut bc_manager,
) -> Result<(), bc_error> {
    let queue = optional_object(queue)?.map(|q| q.inner.clone());
    // Admission: what one broker's pool can hold (its window times its connections), so a
    // burst at one broker is refused when submitted rather than failing later.
    let cfg = manager.config();
    let limit = cfg
        .client
        .transport
        .max_in_flight
        .saturating_mul(cfg.connection_pool_size.max(1));
    new_object(
        out_manager,
        "out_manager",
        bc_manager {
            inner: Arc::new(ManagerHandle {
                manager,
                pending: Arc::new(Pending::new(queue, limit)),
            }),
            born: crate::fork::generation(),
        },
    )
}

/// Creates a manager with no brokers (add them with `bc_manager_add_broker`). `config` may be
/// NULL (defaults) and is copied; every key applies (timeouts and the like to each pooled
/// connection; `pool.size`, `max.consecutive.failures`, `probe.backoff.*` and
/// `route.refresh.ms` only to managers). With `queue` non-NULL, async
/// completions are queued there and run by `bc_queue_dispatch` on the app's thread; with
/// NULL they run on a library thread (never block in them).
///
/// Ownership: `*out_manager` is the caller's; free it with `bc_manager_free`. The manager
/// keeps `queue` alive. Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG`.
#[no_mangle]
pub extern "C" fn bc_manager_new(
    config: *const bc_config,
    queue: *const bc_queue,
    out_manager: *mut *mut bc_manager,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        if out_manager.is_null() {
            return Err(bc_error::invalid_arg("`out_manager` is NULL"));
        }
        new_handle(
            AsyncBrokerManager::new(or_default(config)?),
            queue,
            out_manager,
        )
    })
}

/// Creates a manager that discovers its brokers from the name servers in `name_servers`
/// (`"a:9876;b:9876"`, `;` or `,` separated) on `bc_manager_start`, then follows their routes
/// (every `route.refresh.ms`). Otherwise as `bc_manager_new`.
///
/// Ownership: `*out_manager` is the caller's; free it with `bc_manager_free`.
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL, no address given).
#[no_mangle]
pub extern "C" fn bc_manager_new_from_name_servers(
    name_servers: *const c_char,
    config: *const bc_config,
    queue: *const bc_queue,
    out_manager: *mut *mut bc_manager,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let addrs = str_arg(name_servers, "name_servers")?;
        if out_manager.is_null() {
            return Err(bc_error::invalid_arg("`out_manager` is NULL"));
        }
        let m = AsyncBrokerManager::from_name_servers(addrs, or_default(config)?)?;
        new_handle(m, queue, out_manager)
    })
}

/// Starts the background work (health probes of down brokers; with name servers, route
/// refresh) and, with name servers, discovers the brokers once before returning. Starting
/// twice is harmless. Operations work without start, but down brokers then stay down.
///
/// Thread-safety: any thread. Errors: `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT` (no name server
/// answered), `BC_ERR_SHUTDOWN`, `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_manager_start(
    manager: *const bc_manager,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        h.pending.block(h.manager.start())
    })
}

/// Async `bc_manager_start`; `cb` runs once.
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_manager_start_async(
    manager: *const bc_manager,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let m = h.manager.clone();
        h.pending.start(async move { m.start().await }, move |r| {
            deliver_done(cb, ud, r)
        })
    })
}

/// Closes the manager: new operations fail with `BC_ERR_CLOSED`; async operations in flight
/// may finish for up to `timeout_ms`, then are cancelled (their callbacks get
/// `BC_ERR_CANCELLED`); then the manager shuts down, letting requests still in flight (from
/// blocking calls on other threads) finish for up to `timeout_ms` again before closing every
/// connection. Returns once every accepted async operation has completed (in queue mode: been
/// queued). `timeout_ms` 0 or negative: no grace. Closing twice is harmless.
///
/// Thread-safety: any thread; blocking: from a library thread (a callback in runtime mode) it
/// returns `BC_ERR_WOULD_DEADLOCK`. Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_manager_close(
    manager: *mut bc_manager,
    timeout_ms: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = &object(manager)?.inner;
        if on_runtime_thread() {
            return Err(bc_error::from(BrokerError::WouldDeadlock));
        }
        let t = millis(timeout_ms);
        h.pending.close(t);
        block_on(h.manager.shutdown(t)).map_err(bc_error::from)
    })
}

/// Frees the manager: closes it without grace (async operations in flight complete with
/// `BC_ERR_CANCELLED` before this returns; in queue mode they are queued, and run by
/// `bc_queue_dispatch` or `bc_queue_free`), shuts it down (its connections close) and
/// releases it. Called from a callback or any library thread, the work is handed to a helper
/// thread instead of blocking (the callbacks then complete shortly after it returns).
/// Clients are independent of managers: free them in any order. NULL is ignored.
///
/// Thread-safety: once, as the last call on the manager.
#[no_mangle]
pub extern "C" fn bc_manager_free(manager: *mut bc_manager) {
    free_object(manager, |boxed| {
        let finish = move || {
            boxed.inner.pending.close(Duration::ZERO);
            let _ = block_on(boxed.inner.manager.shutdown(Duration::ZERO));
        };
        if on_runtime_thread() {
            std::thread::spawn(move || {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(finish));
            });
        } else {
            finish();
        }
    })
}

/// Adds a broker by address (`"host:port"`) or, for a manager with name servers, by broker
/// name (its master is looked up). Adding a known broker changes nothing.
///
/// Ownership: `*out_addr` (the broker's address) is the caller's; free it with
/// `bc_string_free`. Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL, unknown
/// broker name), `BC_ERR_CONNECTION`/`BC_ERR_TIMEOUT` (name servers), `BC_ERR_SHUTDOWN`,
/// `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_manager_add_broker(
    manager: *const bc_manager,
    name_or_addr: *const c_char,
    out_addr: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let what = str_arg(name_or_addr, "name_or_addr")?;
        if out_addr.is_null() {
            return Err(bc_error::invalid_arg("`out_addr` is NULL"));
        }
        let addr = h.pending.block(h.manager.add_broker(what))?;
        out(out_addr, "out_addr", c_string(&addr).into_raw())
    })
}

fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// Async `bc_manager_add_broker`: the address is borrowed for the callback.
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_manager_add_broker_async(
    manager: *const bc_manager,
    name_or_addr: *const c_char,
    cb: bc_string_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let what = owned(name_or_addr, "name_or_addr")?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let m = h.manager.clone();
        h.pending
            .start(async move { m.add_broker(&what).await }, move |r| match r {
                Ok(addr) => {
                    let addr = c_string(&addr);
                    cb(ud.ptr(), bc_status::BC_OK, std::ptr::null(), addr.as_ptr())
                }
                Err(e) => cb(ud.ptr(), e.status, &e, std::ptr::null()),
            })
    })
}

async fn remove(m: AsyncBrokerManager, addr: String, drain: Duration) -> Result<(), BrokerError> {
    if m.remove_broker(&addr, drain).await {
        Ok(())
    } else {
        Err(BrokerError::InvalidArgument(format!(
            "no broker {addr:?} is known to this manager"
        )))
    }
}

/// Removes the broker at `addr`: stops admitting requests to it, lets those in flight finish
/// for up to `drain_ms`, then closes its connections (what is still in flight fails with
/// `BC_ERR_SHUTDOWN`). A manager with name servers adds it back if they still list it.
///
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL, broker not known),
/// `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_manager_remove_broker(
    manager: *const bc_manager,
    addr: *const c_char,
    drain_ms: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let addr = owned(addr, "addr")?;
        h.pending
            .block(remove(h.manager.clone(), addr, millis(drain_ms)))
    })
}

/// Async `bc_manager_remove_broker`; `cb` runs once.
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_manager_remove_broker_async(
    manager: *const bc_manager,
    addr: *const c_char,
    drain_ms: i32,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let addr = owned(addr, "addr")?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let m = h.manager.clone();
        h.pending
            .start(remove(m, addr, millis(drain_ms)), move |r| {
                deliver_done(cb, ud, r)
            })
    })
}

/// Sends `message` to its topic, route-aware: a writable queue is picked round robin from
/// the topic's route (a topic not routed yet goes through the brokers of the template topic,
/// which create it), and a retriable failure is retried on another broker, all within one
/// request timeout. The message is copied.
///
/// Ownership: `*out_result` is the caller's (free with `bc_send_result_free`).
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (nothing sent),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (response code 17: no route),
/// `BC_ERR_SHUTDOWN`, `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_manager_send(
    manager: *const bc_manager,
    producer_group: *const c_char,
    message: *const bc_message,
    out_result: *mut *mut bc_send_result,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let group = str_arg(producer_group, "producer_group")?;
        let msg = message_arg(message)?;
        if out_result.is_null() {
            return Err(bc_error::invalid_arg("`out_result` is NULL"));
        }
        let r = h.pending.block(h.manager.send(group, msg))?;
        out(
            out_result,
            "out_result",
            Box::into_raw(Box::new(bc_send_result::from(&r))),
        )
    })
}

/// Async `bc_manager_send`: the message is copied before return; `cb` runs once (the result
/// is borrowed for the callback).
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_manager_send_async(
    manager: *const bc_manager,
    producer_group: *const c_char,
    message: *const bc_message,
    cb: bc_send_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    bc_manager_send_async_with_cancel(
        manager,
        producer_group,
        message,
        std::ptr::null(),
        cb,
        user_data,
        err_out,
    )
}

/// `bc_manager_send_async` with a cancel token (`cancel` may be NULL: none); see
/// `bc_client_send_async_with_cancel`.
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (token already cancelled).
#[no_mangle]
pub extern "C" fn bc_manager_send_async_with_cancel(
    manager: *const bc_manager,
    producer_group: *const c_char,
    message: *const bc_message,
    cancel: *const bc_cancel_token,
    cb: bc_send_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let group = owned(producer_group, "producer_group")?;
        let msg = message_arg(message)?.clone();
        precheck_send(
            &group,
            std::slice::from_ref(&msg),
            h.manager.config().client.max_body_size,
        )?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let m = h.manager.clone();
        h.pending.start_with_cancel(
            async move { m.send(&group, &msg).await },
            move |r| deliver_send(cb, ud, r),
            token_arg(cancel)?,
        )
    })
}

/// Sends `count` messages of one topic as one batch, route-aware as `bc_manager_send`
/// (one queue for the whole batch, stored in order). Messages are copied.
///
/// Ownership: `*out_result` is the caller's (free with `bc_send_result_free`).
/// Thread-safety: any thread. Errors: as `bc_manager_send` (an empty or mixed-topic batch is
/// `BC_ERR_INVALID_ARG`).
#[no_mangle]
pub extern "C" fn bc_manager_send_batch(
    manager: *const bc_manager,
    producer_group: *const c_char,
    messages: *const *const bc_message,
    count: usize,
    out_result: *mut *mut bc_send_result,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let group = str_arg(producer_group, "producer_group")?;
        let msgs = batch_arg(messages, count)?;
        precheck_send(group, &msgs, h.manager.config().client.max_body_size)?;
        if out_result.is_null() {
            return Err(bc_error::invalid_arg("`out_result` is NULL"));
        }
        let r = h.pending.block(h.manager.send_batch(group, &msgs))?;
        out(
            out_result,
            "out_result",
            Box::into_raw(Box::new(bc_send_result::from(&r))),
        )
    })
}

/// Async `bc_manager_send_batch`; messages are copied before return; `cb` runs once.
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_manager_send_batch_async(
    manager: *const bc_manager,
    producer_group: *const c_char,
    messages: *const *const bc_message,
    count: usize,
    cb: bc_send_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let group = owned(producer_group, "producer_group")?;
        let msgs = batch_arg(messages, count)?;
        precheck_send(&group, &msgs, h.manager.config().client.max_body_size)?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        let m = h.manager.clone();
        h.pending
            .start(async move { m.send_batch(&group, &msgs).await }, move |r| {
                deliver_send(cb, ud, r)
            })
    })
}

/// Pulls from queue `queue_id` of `topic` on `broker` — a broker name (`"broker-a"`, known
/// from the name servers or an add by name) or an address. The other parameters are those of
/// `bc_client_pull` (tag expression `subscription`, NULL = `"*"`; long polling with
/// `suspend_timeout_ms > 0`).
///
/// Ownership: `*out_batch` is the caller's (free with `bc_batch_free`).
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_CONNECTION` (also: broker
/// not known, or marked down), `BC_ERR_TIMEOUT`, `BC_ERR_PULL`, `BC_ERR_BROKER_*`,
/// `BC_ERR_SHUTDOWN`, `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_manager_pull(
    manager: *const bc_manager,
    broker: *const c_char,
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
        let h = manager_arg(manager)?;
        let broker = str_arg(broker, "broker")?;
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
        let r = h.pending.block(h.manager.pull(broker, &req))?;
        out(
            out_batch,
            "out_batch",
            Box::into_raw(Box::new(bc_batch::from(r))),
        )
    })
}

/// Async `bc_manager_pull`; the callback owns the batch it receives.
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_manager_pull_async(
    manager: *const bc_manager,
    broker: *const c_char,
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
    bc_manager_pull_async_with_cancel(
        manager,
        broker,
        consumer_group,
        topic,
        queue_id,
        offset,
        max_messages,
        suspend_timeout_ms,
        subscription,
        std::ptr::null(),
        cb,
        user_data,
        err_out,
    )
}

/// `bc_manager_pull_async` with a cancel token (`cancel` may be NULL: none); see
/// `bc_client_pull_async_with_cancel`.
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (token already cancelled).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_manager_pull_async_with_cancel(
    manager: *const bc_manager,
    broker: *const c_char,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    max_messages: i32,
    suspend_timeout_ms: i32,
    subscription: *const c_char,
    cancel: *const bc_cancel_token,
    cb: bc_pull_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let broker = owned(broker, "broker")?;
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
        let m = h.manager.clone();
        h.pending.start_with_cancel(
            async move { m.pull(&broker, &req).await },
            move |r| deliver_pull(cb, ud, r),
            token_arg(cancel)?,
        )
    })
}

// The operations below are written out (not generated by a macro) so that cbindgen, which
// does not expand macros, declares them in the header.

/// The committed offset of `consumer_group` on queue `queue_id` of `topic` on `broker`
/// (name or address). Errors: `BC_ERR_OFFSET` when none is committed, `BC_ERR_INVALID_ARG`,
/// transport and broker errors, `BC_ERR_SHUTDOWN`, `BC_ERR_CLOSED`,
/// `BC_ERR_WOULD_DEADLOCK`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_manager_query_consumer_offset(
    manager: *const bc_manager,
    broker: *const c_char,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_blocking(manager, out_value, err_out, |m| {
        let broker = owned(broker, "broker")?;
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let topic = owned(topic, "topic")?;
        Ok(async move {
            m.query_consumer_offset(&broker, &consumer_group, &topic, queue_id)
                .await
        })
    })
}

/// Async `bc_manager_query_consumer_offset`: returns at once; the value arrives in the callback.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_manager_query_consumer_offset_async(
    manager: *const bc_manager,
    broker: *const c_char,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_async(manager, cb, user_data, err_out, |m| {
        let broker = owned(broker, "broker")?;
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let topic = owned(topic, "topic")?;
        Ok(async move {
            m.query_consumer_offset(&broker, &consumer_group, &topic, queue_id)
                .await
        })
    })
}

/// The next offset to be written in queue `queue_id` of `topic` on `broker` (name or
/// address). Errors: `BC_ERR_INVALID_ARG`, transport and broker errors,
/// `BC_ERR_SHUTDOWN`, `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_manager_get_max_offset(
    manager: *const bc_manager,
    broker: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_blocking(manager, out_value, err_out, |m| {
        let broker = owned(broker, "broker")?;
        let topic = owned(topic, "topic")?;
        Ok(async move { m.get_max_offset(&broker, &topic, queue_id).await })
    })
}

/// Async `bc_manager_get_max_offset`: returns at once; the value arrives in the callback.
#[no_mangle]
pub extern "C" fn bc_manager_get_max_offset_async(
    manager: *const bc_manager,
    broker: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    int64_async(manager, cb, user_data, err_out, |m| {
        let broker = owned(broker, "broker")?;
        let topic = owned(topic, "topic")?;
        Ok(async move { m.get_max_offset(&broker, &topic, queue_id).await })
    })
}

/// Commits `offset` for `consumer_group` on queue `queue_id` of `topic` on `broker` (name
/// or address; the broker must know the group: heartbeat or pull first). Errors:
/// `BC_ERR_INVALID_ARG`, transport and broker errors, `BC_ERR_SHUTDOWN`, `BC_ERR_CLOSED`,
/// `BC_ERR_WOULD_DEADLOCK`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_manager_update_consumer_offset(
    manager: *const bc_manager,
    broker: *const c_char,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(manager, err_out, |m| {
        let broker = owned(broker, "broker")?;
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let topic = owned(topic, "topic")?;
        Ok(async move {
            m.update_consumer_offset(&broker, &consumer_group, &topic, queue_id, offset)
                .await
        })
    })
}

/// Async `bc_manager_update_consumer_offset`: returns at once; `cb` runs once.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn bc_manager_update_consumer_offset_async(
    manager: *const bc_manager,
    broker: *const c_char,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_async(manager, cb, user_data, err_out, |m| {
        let broker = owned(broker, "broker")?;
        let consumer_group = owned(consumer_group, "consumer_group")?;
        let topic = owned(topic, "topic")?;
        Ok(async move {
            m.update_consumer_offset(&broker, &consumer_group, &topic, queue_id, offset)
                .await
        })
    })
}

async fn heartbeat_every(
    m: AsyncBrokerManager,
    producer: Option<String>,
    consumer: Option<String>,
) -> Result<(), BrokerError> {
    let data = heartbeat_data(producer, consumer)?;
    let mut first = None;
    for (addr, r) in m.heartbeat_all(&data).await {
        if let Err(e) = r {
            tracing::warn!(addr = %addr, error = %e, "heartbeat failed");
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// Registers a producer group and/or a consumer group (pull consumer, clustering) with
/// every broker the manager knows (none known: nothing to do, `BC_OK`); either group may
/// be NULL but not both. When some brokers fail, the others are still registered and the
/// error is the first failure's (each failure is also logged, see `bc_set_log_callback`).
/// Errors: `BC_ERR_INVALID_ARG`, transport and broker errors, `BC_ERR_CLOSED`,
/// `BC_ERR_WOULD_DEADLOCK`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_manager_heartbeat(
    manager: *const bc_manager,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(manager, err_out, |m| {
        let producer_group = opt_owned(producer_group, "producer_group")?;
        let consumer_group = opt_owned(consumer_group, "consumer_group")?;
        Ok(async move { heartbeat_every(m, producer_group, consumer_group).await })
    })
}

/// Async `bc_manager_heartbeat`: returns at once; `cb` runs once.
#[no_mangle]
pub extern "C" fn bc_manager_heartbeat_async(
    manager: *const bc_manager,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_async(manager, cb, user_data, err_out, |m| {
        let producer_group = opt_owned(producer_group, "producer_group")?;
        let consumer_group = opt_owned(consumer_group, "consumer_group")?;
        Ok(async move { heartbeat_every(m, producer_group, consumer_group).await })
    })
}

/// The health of the broker at `addr` (an address, or a broker name the manager knows):
/// 0 healthy, 1 suspect (recent failures), 2 down (failing at once until a probe succeeds),
/// -1 unknown broker, NULL arguments or a closed manager.
///
/// Thread-safety: any thread; never blocks.
#[no_mangle]
pub extern "C" fn bc_manager_broker_state(manager: *const bc_manager, addr: *const c_char) -> i32 {
    call_or(-1, || {
        let (Ok(h), Ok(addr)) = (manager_arg(manager), str_arg(addr, "addr")) else {
            return -1;
        };
        let m = &h.manager;
        match m.broker_addr(addr).and_then(|a| m.broker_state(&a)) {
            Some(BrokerState::Healthy) => 0,
            Some(BrokerState::Suspect) => 1,
            Some(BrokerState::Down) => 2,
            None => -1,
        }
    })
}

/// The manager's state and metrics as JSON: `{"client_id", "name_servers": [...],
/// "brokers": [{"addr", "name", "state": "healthy"|"suspect"|"down", "consecutive_failures",
/// "open_connections", "in_flight", "requests", "errors", "latency_p50_us",
/// "latency_p99_us"}]}`. Never blocks.
///
/// Ownership: `*out_json` is the caller's; free it with `bc_string_free`.
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_manager_stats_json(
    manager: *const bc_manager,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        if out_json.is_null() {
            return Err(bc_error::invalid_arg("`out_json` is NULL"));
        }
        out(
            out_json,
            "out_json",
            c_string(&h.manager.stats_json()).into_raw(),
        )
    })
}

/// Every cluster and broker the manager's name servers know, as JSON (`ClusterInfo`), asked
/// with name-server failover. `*out_json` is the caller's: free it with `bc_string_free`.
/// Errors: `BC_ERR_INVALID_ARG` (no name servers), transport and broker errors, `BC_ERR_CLOSED`.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_manager_get_cluster_info(
    manager: *const bc_manager,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_blocking(manager, out_json, err_out, |m| {
        Ok(async move { m.cluster_info().await })
    })
}

/// Async `bc_manager_get_cluster_info`; the JSON is borrowed for the callback.
#[no_mangle]
pub extern "C" fn bc_manager_get_cluster_info_async(
    manager: *const bc_manager,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_async(manager, cb, user_data, err_out, |m| {
        Ok(async move { m.cluster_info().await })
    })
}

/// The route of `topic` as JSON (`TopicRouteData`), from the manager's cache or its name
/// servers; its brokers become known to the manager. `*out_json` is the caller's: free it
/// with `bc_string_free`. Errors: as `bc_manager_get_cluster_info`; response code 17 for an
/// unknown topic. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_manager_get_route_info(
    manager: *const bc_manager,
    topic: *const c_char,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_blocking(manager, out_json, err_out, |m| {
        let topic = owned(topic, "topic")?;
        Ok(async move { m.route(&topic).await.map(|r| (*r).clone()) })
    })
}

/// Async `bc_manager_get_route_info`; the JSON is borrowed for the callback.
#[no_mangle]
pub extern "C" fn bc_manager_get_route_info_async(
    manager: *const bc_manager,
    topic: *const c_char,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    json_async(manager, cb, user_data, err_out, |m| {
        let topic = owned(topic, "topic")?;
        Ok(async move { m.route(&topic).await.map(|r| (*r).clone()) })
    })
}

/// The addresses of the brokers the manager knows, as a JSON array of strings (a local
/// query). `*out_json` is the caller's: free it with `bc_string_free`.
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_manager_brokers(
    manager: *const bc_manager,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        if out_json.is_null() {
            return Err(bc_error::invalid_arg("`out_json` is NULL"));
        }
        out(
            out_json,
            "out_json",
            json_text(&h.manager.brokers()).into_raw(),
        )
    })
}
