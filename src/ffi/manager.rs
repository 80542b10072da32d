//! `bc_manager`: many brokers, a connection pool per broker, health tracking, discovery from
//! name servers. Its operations pick the broker (by route, name or address) and account for
//! its health; `bc_manager_client` gives a `bc_client` on one broker's pool, through which
//! every client operation runs the same way. Blocking/async pairs share their argument
//! conversion and operation (see `ops.rs`).
//!
//! Thread-safety of every function here: a `bc_manager` may be used from any number of
//! threads at once, except `bc_manager_free`, which must be the last call on it.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::args::{
    batch_send_args, groups, heartbeat_data, millis, owned, pull_request, send_args,
};
use super::boundary::{
    call, call_or, free_object, new_object, object, optional_object, str_arg, Object,
};
use super::callbacks::{bc_done_cb, bc_int64_cb, bc_json_cb, bc_pull_cb, bc_send_cb, bc_string_cb};
use super::cancel::bc_cancel_token;
use super::client::bc_client;
use super::config::{bc_config, or_default};
use super::enums::bc_broker_state;
use super::error::bc_error;
use super::heartbeat::{bc_heartbeat, heartbeat_arg};
use super::message::bc_message;
use super::ops::{self, done_blocking, start, value_blocking, Handle};
use super::pending::Pending;
use super::pull::{bc_pull_request, request_arg};
use super::queue::bc_queue;
use super::result::{bc_batch, bc_send_result};
use super::status::bc_status;
use crate::client::{PullRequest, PullResult, SendResult};
use crate::error::BrokerError;
use crate::manager::{AsyncBrokerManager, BrokerState};
use crate::protocol::bodies::HeartbeatData;
use crate::protocol::message::Message;
use crate::transport::runtime::{block_on, on_runtime_thread};

pub(crate) struct ManagerHandle {
    pub manager: AsyncBrokerManager,
    pub pending: Arc<Pending>,
    /// False for a handle made by `bc_manager_with_timeout`: it shares the manager, whose
    /// brokers and connections its origin owns (and shuts down).
    pub owns_manager: bool,
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

impl Handle for bc_manager {
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

/// Admission of a manager handle: what one broker's pool can hold (its window times its
/// connections), so a burst at one broker is refused when submitted rather than failing later.
fn admission_limit(m: &AsyncBrokerManager) -> usize {
    let cfg = m.config();
    cfg.client
        .transport
        .max_in_flight
        .saturating_mul(cfg.connection_pool_size.max(1))
}

fn new_manager(out_manager: *mut *mut bc_manager, handle: ManagerHandle) -> Result<(), bc_error> {
    let manager = bc_manager {
        inner: Arc::new(handle),
        born: crate::fork::generation(),
    };
    new_object(out_manager, "out_manager", manager)
}

fn new_handle(
    manager: AsyncBrokerManager,
    queue: *const bc_queue,
    out_manager: *mut *mut bc_manager,
) -> Result<(), bc_error> {
    let queue = optional_object(queue)?.map(|q| q.inner.clone());
    let limit = admission_limit(&manager);
    let handle = ManagerHandle {
        manager,
        pending: Arc::new(Pending::new(queue, limit)),
        owns_manager: true,
    };
    new_manager(out_manager, handle)
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

/// The same manager with another deadline for each of its operations (`timeout_ms` > 0): a
/// new handle sharing the manager's brokers, pools, queue and admission limit, with its own
/// operations (closing or freeing it cancels only those; it never shuts the manager down).
/// This is the per-call timeout of the C API.
///
/// Ownership: `*out_manager` is the caller's; free it with `bc_manager_free` (in any order
/// with `manager`: once `manager` is freed, its operations fail with `BC_ERR_SHUTDOWN`).
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL, `timeout_ms` < 1),
/// `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_manager_with_timeout(
    manager: *const bc_manager,
    timeout_ms: i32,
    out_manager: *mut *mut bc_manager,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        if timeout_ms < 1 {
            return Err(bc_error::invalid_arg(&format!(
                "`timeout_ms` {timeout_ms} is not positive"
            )));
        }
        let handle = ManagerHandle {
            manager: h.manager.with_timeout(millis(timeout_ms)),
            pending: Arc::new(h.pending.sibling()),
            owns_manager: false,
        };
        new_manager(out_manager, handle)
    })
}

/// A client on the manager's pool for one broker (`broker`: an address, or a broker name the
/// manager knows): every `bc_client_*` operation works through it, blocking and async, each
/// taking the pool's next connection and counting towards the broker's health as the
/// manager's own operations do (a broker marked down fails at once with
/// `BC_ERR_CONNECTION`). It completes through the manager's queue (if any), with the
/// manager's deadline (`bc_client_with_timeout` for another) and admission limit.
/// `bc_client_disconnect` does nothing on it (the connections are the manager's), and it
/// cannot install a transaction-check callback.
///
/// Ownership: `*out_client` is the caller's; free it with `bc_client_free` (in any order
/// with the manager: once the manager is shut down, its operations fail with
/// `BC_ERR_SHUTDOWN`). Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL, a
/// broker the manager does not know), `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_manager_client(
    manager: *const bc_manager,
    broker: *const c_char,
    out_client: *mut *mut bc_client,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        let broker = str_arg(broker, "broker")?;
        if out_client.is_null() {
            return Err(bc_error::invalid_arg("`out_client` is NULL"));
        }
        let known = h
            .manager
            .broker_addr(broker)
            .filter(|a| h.manager.client(a).is_ok());
        let addr = known.ok_or_else(|| {
            bc_error::invalid_arg(&format!(
                "`broker` {broker:?} is not a broker this manager knows (add it first)"
            ))
        })?;
        let handle = super::client::pooled_handle(
            h.manager.clone(),
            addr,
            h.pending.queue(),
            admission_limit(&h.manager),
        );
        super::client::new_client(out_client, handle)
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
    done_blocking(manager, err_out, |_| {
        Ok(|m: AsyncBrokerManager| async move { m.start().await })
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
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| Ok(|m: AsyncBrokerManager| async move { m.start().await }),
        ops::same,
    )
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
        if h.owns_manager {
            block_on(h.manager.shutdown(t)).map_err(bc_error::from)?;
        }
        Ok(())
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
            boxed.inner.pending.close(std::time::Duration::ZERO);
            if boxed.inner.owns_manager {
                let _ = block_on(boxed.inner.manager.shutdown(std::time::Duration::ZERO));
            }
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
    value_blocking(
        manager,
        out_addr,
        "out_addr",
        err_out,
        |_| {
            let what = owned(name_or_addr, "name_or_addr")?;
            Ok(move |m: AsyncBrokerManager| async move { m.add_broker(&what).await })
        },
        ops::text_owned,
    )
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
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            let what = owned(name_or_addr, "name_or_addr")?;
            Ok(move |m: AsyncBrokerManager| async move { m.add_broker(&what).await })
        },
        ops::text_borrowed,
    )
}

/// REMOVE of a broker, draining its requests for up to `drain_ms`.
fn remove(
    addr: *const c_char,
    drain_ms: i32,
) -> Result<impl FnOnce(AsyncBrokerManager) -> DoneFuture, bc_error> {
    let addr = owned(addr, "addr")?;
    let drain = millis(drain_ms);
    Ok(move |m: AsyncBrokerManager| -> DoneFuture {
        Box::pin(async move {
            if m.remove_broker(&addr, drain).await {
                Ok(())
            } else {
                Err(BrokerError::InvalidArgument(format!(
                    "no broker {addr:?} is known to this manager"
                )))
            }
        })
    })
}

type DoneFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), BrokerError>> + Send>>;
type I64Future =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<i64, BrokerError>> + Send>>;

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
    done_blocking(manager, err_out, |_| remove(addr, drain_ms))
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
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| remove(addr, drain_ms),
        ops::same,
    )
}

/// A route-aware send: group and message copied and checked when submitted.
struct RoutedSend {
    group: String,
    msg: Message,
}

impl RoutedSend {
    fn new(
        m: &AsyncBrokerManager,
        group: *const c_char,
        message: *const bc_message,
    ) -> Result<RoutedSend, bc_error> {
        let (group, msg) = send_args(group, message, m.config().client.max_body_size)?;
        Ok(RoutedSend { group, msg })
    }

    async fn send(self, m: AsyncBrokerManager) -> Result<SendResult, BrokerError> {
        m.send(&self.group, &self.msg).await
    }
}

/// A route-aware batch send: group and messages copied and checked when submitted.
struct RoutedBatch {
    group: String,
    msgs: Vec<Message>,
}

impl RoutedBatch {
    fn new(
        m: &AsyncBrokerManager,
        group: *const c_char,
        messages: *const *const bc_message,
        count: usize,
    ) -> Result<RoutedBatch, bc_error> {
        let (group, msgs) =
            batch_send_args(group, messages, count, m.config().client.max_body_size)?;
        Ok(RoutedBatch { group, msgs })
    }

    async fn send(self, m: AsyncBrokerManager) -> Result<SendResult, BrokerError> {
        m.send_batch(&self.group, &self.msgs).await
    }
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
    value_blocking(
        manager,
        out_result,
        "out_result",
        err_out,
        |m| RoutedSend::new(m, producer_group, message).map(|s| move |m| s.send(m)),
        ops::send_result_owned,
    )
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
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |m| RoutedSend::new(m, producer_group, message).map(|s| move |m| s.send(m)),
        ops::same,
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
    start(
        manager,
        cb,
        user_data,
        cancel,
        err_out,
        |m| RoutedSend::new(m, producer_group, message).map(|s| move |m| s.send(m)),
        ops::same,
    )
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
    value_blocking(
        manager,
        out_result,
        "out_result",
        err_out,
        |m| RoutedBatch::new(m, producer_group, messages, count).map(|s| move |m| s.send(m)),
        ops::send_result_owned,
    )
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
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |m| RoutedBatch::new(m, producer_group, messages, count).map(|s| move |m| s.send(m)),
        ops::same,
    )
}

type PullFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<PullResult, BrokerError>> + Send>>;

/// A pull from a broker by name or address.
#[allow(clippy::too_many_arguments)]
fn pull(
    broker: *const c_char,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    max_messages: i32,
    suspend_timeout_ms: i32,
    subscription: *const c_char,
) -> Result<impl FnOnce(AsyncBrokerManager) -> PullFuture, bc_error> {
    let broker = owned(broker, "broker")?;
    let req: PullRequest = pull_request(
        consumer_group,
        topic,
        queue_id,
        offset,
        max_messages,
        suspend_timeout_ms,
        subscription,
    )?;
    Ok(move |m: AsyncBrokerManager| -> PullFuture {
        Box::pin(async move { m.pull(&broker, &req).await })
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
    value_blocking(
        manager,
        out_batch,
        "out_batch",
        err_out,
        |_| {
            pull(
                broker,
                consumer_group,
                topic,
                queue_id,
                offset,
                max_messages,
                suspend_timeout_ms,
                subscription,
            )
        },
        ops::pulled_owned,
    )
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
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            pull(
                broker,
                consumer_group,
                topic,
                queue_id,
                offset,
                max_messages,
                suspend_timeout_ms,
                subscription,
            )
        },
        ops::pulled,
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
    start(
        manager,
        cb,
        user_data,
        cancel,
        err_out,
        |_| {
            pull(
                broker,
                consumer_group,
                topic,
                queue_id,
                offset,
                max_messages,
                suspend_timeout_ms,
                subscription,
            )
        },
        ops::pulled,
    )
}

/// A pull from a broker by name or address, as a `bc_pull_request` describes.
fn pull_as(
    broker: *const c_char,
    request: *const bc_pull_request,
) -> Result<impl FnOnce(AsyncBrokerManager) -> PullFuture, bc_error> {
    let broker = owned(broker, "broker")?;
    let req = request_arg(request)?;
    Ok(move |m: AsyncBrokerManager| -> PullFuture {
        Box::pin(async move { m.pull(&broker, &req).await })
    })
}

/// `bc_manager_pull` as `request` describes (see `bc_client_pull_request`), from `broker`
/// (name or address).
///
/// Ownership: `out_batch` must not be NULL; `*out_batch` is the caller's (free with
/// `bc_batch_free`). Thread-safety: any thread. Errors: as `bc_manager_pull`.
#[no_mangle]
pub extern "C" fn bc_manager_pull_request(
    manager: *const bc_manager,
    broker: *const c_char,
    request: *const bc_pull_request,
    out_batch: *mut *mut bc_batch,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        manager,
        out_batch,
        "out_batch",
        err_out,
        |_| pull_as(broker, request),
        ops::pulled_owned,
    )
}

/// Async `bc_manager_pull_request` (`cancel` may be NULL: none); the callback owns the batch.
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`,
/// `BC_ERR_CLOSED`, `BC_ERR_CANCELLED`.
#[no_mangle]
pub extern "C" fn bc_manager_pull_request_async(
    manager: *const bc_manager,
    broker: *const c_char,
    request: *const bc_pull_request,
    cancel: *const bc_cancel_token,
    cb: bc_pull_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        manager,
        cb,
        user_data,
        cancel,
        err_out,
        |_| pull_as(broker, request),
        ops::pulled,
    )
}

/// QUERY_CONSUMER_OFFSET on a broker by name or address.
fn query_offset(
    broker: *const c_char,
    group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
) -> Result<impl FnOnce(AsyncBrokerManager) -> I64Future, bc_error> {
    let (broker, group, topic) = (
        owned(broker, "broker")?,
        owned(group, "consumer_group")?,
        owned(topic, "topic")?,
    );
    Ok(move |m: AsyncBrokerManager| -> I64Future {
        Box::pin(async move {
            m.query_consumer_offset(&broker, &group, &topic, queue_id)
                .await
        })
    })
}

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
    value_blocking(
        manager,
        out_value,
        "out_value",
        err_out,
        |_| query_offset(broker, consumer_group, topic, queue_id),
        ops::same,
    )
}

/// Async `bc_manager_query_consumer_offset`: returns at once; the value arrives in the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| query_offset(broker, consumer_group, topic, queue_id),
        ops::same,
    )
}

/// GET_MAX_OFFSET on a broker by name or address.
fn max_offset(
    broker: *const c_char,
    topic: *const c_char,
    queue_id: i32,
) -> Result<impl FnOnce(AsyncBrokerManager) -> I64Future, bc_error> {
    let (broker, topic) = (owned(broker, "broker")?, owned(topic, "topic")?);
    Ok(move |m: AsyncBrokerManager| -> I64Future {
        Box::pin(async move { m.get_max_offset(&broker, &topic, queue_id).await })
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
    value_blocking(
        manager,
        out_value,
        "out_value",
        err_out,
        |_| max_offset(broker, topic, queue_id),
        ops::same,
    )
}

/// Async `bc_manager_get_max_offset`: returns at once; the value arrives in the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| max_offset(broker, topic, queue_id),
        ops::same,
    )
}

/// UPDATE_CONSUMER_OFFSET on a broker by name or address.
fn commit_offset(
    broker: *const c_char,
    group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
) -> Result<impl FnOnce(AsyncBrokerManager) -> DoneFuture, bc_error> {
    let (broker, group, topic) = (
        owned(broker, "broker")?,
        owned(group, "consumer_group")?,
        owned(topic, "topic")?,
    );
    Ok(move |m: AsyncBrokerManager| -> DoneFuture {
        Box::pin(async move {
            m.update_consumer_offset(&broker, &group, &topic, queue_id, offset)
                .await
        })
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
    done_blocking(manager, err_out, |_| {
        commit_offset(broker, consumer_group, topic, queue_id, offset)
    })
}

/// Async `bc_manager_update_consumer_offset`: returns at once; `cb` runs once.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| commit_offset(broker, consumer_group, topic, queue_id, offset),
        ops::same,
    )
}

/// HEART_BEAT to every broker the manager knows; the first failure is the error (each is
/// logged), the others are still registered.
fn heartbeat_every(data: HeartbeatData) -> impl FnOnce(AsyncBrokerManager) -> DoneFuture {
    move |m: AsyncBrokerManager| -> DoneFuture {
        Box::pin(async move {
            let mut first = None;
            for (addr, r) in m.heartbeat_all(&data).await {
                if let Err(e) = r {
                    tracing::warn!(addr = %addr, error = %e, "heartbeat failed");
                    first.get_or_insert(e);
                }
            }
            first.map_or(Ok(()), Err)
        })
    }
}

/// [`heartbeat_every`] registering a producer group, a consumer group or both.
fn heartbeat_groups(
    producer_group: *const c_char,
    consumer_group: *const c_char,
) -> Result<impl FnOnce(AsyncBrokerManager) -> DoneFuture, bc_error> {
    let (producer, consumer) = groups(producer_group, consumer_group)?;
    let data = heartbeat_data(producer, consumer).map_err(|e| bc_error::from_broker(&e))?;
    Ok(heartbeat_every(data))
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
    done_blocking(manager, err_out, |_| {
        heartbeat_groups(producer_group, consumer_group)
    })
}

/// Async `bc_manager_heartbeat`: returns at once; `cb` runs once.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_manager_heartbeat_async(
    manager: *const bc_manager,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| heartbeat_groups(producer_group, consumer_group),
        ops::same,
    )
}

/// Sends the heartbeat `heartbeat` describes (`bc_heartbeat`) to every broker the manager
/// knows (none known: nothing to do, `BC_OK`); it is copied. When some brokers fail, the
/// others are still registered and the error is the first failure's (each is also logged).
///
/// Thread-safety: any thread but a library thread. Errors: `BC_ERR_INVALID_ARG` (NULL, a
/// heartbeat with no group), transport and broker errors, `BC_ERR_CLOSED`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_manager_send_heartbeat(
    manager: *const bc_manager,
    heartbeat: *const bc_heartbeat,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(manager, err_out, |_| {
        heartbeat_arg(heartbeat).map(heartbeat_every)
    })
}

/// Async `bc_manager_send_heartbeat`: returns at once; `cb` runs once (the heartbeat is
/// copied first, so it may be freed at once).
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`,
/// `BC_ERR_CLOSED`; the others reach `cb`.
#[no_mangle]
pub extern "C" fn bc_manager_send_heartbeat_async(
    manager: *const bc_manager,
    heartbeat: *const bc_heartbeat,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| heartbeat_arg(heartbeat).map(heartbeat_every),
        ops::same,
    )
}

/// The health of the broker at `addr` (an address, or a broker name the manager knows):
/// a `bc_broker_state`: `BC_BROKER_HEALTHY`, `_SUSPECT` (recent failures), `_DOWN` (failing at
/// once until a probe succeeds), `_UNKNOWN` (unknown broker, NULL arguments or a closed manager).
///
/// Thread-safety: any thread; never blocks.
#[no_mangle]
pub extern "C" fn bc_manager_broker_state(manager: *const bc_manager, addr: *const c_char) -> i32 {
    call_or(-1, || {
        let (Ok(h), Ok(addr)) = (manager_arg(manager), str_arg(addr, "addr")) else {
            return -1;
        };
        let m = &h.manager;
        let state = match m.broker_addr(addr).and_then(|a| m.broker_state(&a)) {
            Some(BrokerState::Healthy) => bc_broker_state::BC_BROKER_HEALTHY,
            Some(BrokerState::Suspect) => bc_broker_state::BC_BROKER_SUSPECT,
            Some(BrokerState::Down) => bc_broker_state::BC_BROKER_DOWN,
            None => bc_broker_state::BC_BROKER_UNKNOWN,
        };
        state as i32
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
        super::boundary::out_with(out_json, "out_json", || {
            ops::text_owned(h.manager.stats_json())
        })
    })
}

/// Every cluster and broker the manager's name servers know, as JSON (`ClusterInfo`), asked
/// with name-server failover. `*out_json` is the caller's: free it with `bc_string_free`.
/// Errors: `BC_ERR_INVALID_ARG` (no name servers), transport and broker errors, `BC_ERR_CLOSED`.
/// Thread-safety: any thread.
///
/// Ownership: `*out_json` is the caller's: free it with `bc_string_free`.
#[no_mangle]
pub extern "C" fn bc_manager_get_cluster_info(
    manager: *const bc_manager,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        manager,
        out_json,
        "out_json",
        err_out,
        |_| Ok(|m: AsyncBrokerManager| async move { m.cluster_info().await }),
        ops::json_owned,
    )
}

/// Async `bc_manager_get_cluster_info`; the JSON is borrowed for the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_manager_get_cluster_info_async(
    manager: *const bc_manager,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| Ok(|m: AsyncBrokerManager| async move { m.cluster_info().await }),
        ops::json_borrowed,
    )
}

/// The route of `topic` as JSON (`TopicRouteData`), from the manager's cache or its name
/// servers; its brokers become known to the manager. `*out_json` is the caller's: free it
/// with `bc_string_free`. Errors: as `bc_manager_get_cluster_info`; response code 17 for an
/// unknown topic. Thread-safety: any thread.
///
/// Ownership: `*out_json` is the caller's: free it with `bc_string_free`.
#[no_mangle]
pub extern "C" fn bc_manager_get_route_info(
    manager: *const bc_manager,
    topic: *const c_char,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        manager,
        out_json,
        "out_json",
        err_out,
        |_| {
            let topic = owned(topic, "topic")?;
            Ok(
                move |m: AsyncBrokerManager| async move { m.route(&topic).await.map(|r| (*r).clone()) },
            )
        },
        ops::json_owned,
    )
}

/// Async `bc_manager_get_route_info`; the JSON is borrowed for the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_manager_get_route_info_async(
    manager: *const bc_manager,
    topic: *const c_char,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        manager,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            let topic = owned(topic, "topic")?;
            Ok(
                move |m: AsyncBrokerManager| async move { m.route(&topic).await.map(|r| (*r).clone()) },
            )
        },
        ops::json_borrowed,
    )
}

/// The addresses of the brokers the manager knows, as a JSON array of strings (a local
/// query). `*out_json` is the caller's: free it with `bc_string_free`.
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_CLOSED`. Thread-safety: any thread.
///
/// Ownership: `*out_json` is the caller's: free it with `bc_string_free`.
#[no_mangle]
pub extern "C" fn bc_manager_brokers(
    manager: *const bc_manager,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = manager_arg(manager)?;
        super::boundary::out_with(out_json, "out_json", || {
            ops::json_owned(h.manager.brokers())
        })
    })
}
