//! `bc_client`: one broker (or name server), or a manager's pool for one broker. Every
//! operation exists twice: blocking `bc_client_<op>` and `bc_client_<op>_async`, which returns
//! at once and completes exactly once through its callback (on a library thread, or on the
//! app's thread through the client's `bc_queue`). Both share the argument conversion and the
//! operation (see `ops.rs`); the exports differ only in how the outcome goes back.
//!
//! Thread-safety of every function here: a `bc_client` may be used from any number of
//! threads at once, except `bc_client_free`, which must be the last call on it.

use std::ffi::{c_char, c_void, CString};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::args::{
    batch_message, batch_send_args, boundary, check_addr, groups, heartbeat_data, millis, mq_set,
    opt_owned, owned, pull_request, send_args, transaction_state,
};
use super::boundary::{call, free_object, new_object, object, optional_object, str_arg, Object};
use super::callbacks::{bc_done_cb, bc_free_cb, bc_int64_cb, bc_json_cb, bc_pull_cb, bc_send_cb};
use super::config::{bc_config, or_default};
use super::error::bc_error;
use super::heartbeat::{bc_heartbeat, heartbeat_arg};
use super::message::bc_message;
use super::notify::{bc_notify_cb, NotifyRegistration};
use super::ops::{self, done_blocking, start, value_blocking, Handle};
use super::pending::Pending;
use super::pull::{bc_pull_request, request_arg};
use super::queue::{bc_queue, Queue};
use super::result::{bc_batch, bc_send_result};
use super::stats::{bc_stats_cb, StatsRegistration};
use super::status::bc_status;
use super::target::Target;
use super::txcheck::{bc_transaction_check_cb, TransactionCheckRegistration};
use crate::client::{AsyncBrokerClient, PullRequest};
use crate::error::BrokerError;
use crate::protocol::bodies::HeartbeatData;
use crate::protocol::message::Message;
use crate::transport::runtime::on_runtime_thread;

pub(crate) struct ClientHandle {
    pub target: Target,
    pub pending: Arc<Pending>,
    /// The transaction-check callback installed on the client's own connection; `None` for a
    /// client that does not own its connection (made by `bc_client_with_timeout` or
    /// `bc_manager_client`), which can install none.
    pub tx_check: Option<Mutex<Option<Arc<TransactionCheckRegistration>>>>,
    /// The membership-notice callback, on the same terms as `tx_check`.
    pub notify: Option<Mutex<Option<Arc<NotifyRegistration>>>>,
    /// The periodic statistics callback, on the same terms.
    pub stats_cb: Option<Mutex<Option<Arc<StatsRegistration>>>>,
}

impl ClientHandle {
    fn new(target: Target, queue: Option<Arc<Queue>>, limit: usize, own: bool) -> ClientHandle {
        ClientHandle {
            target,
            pending: Arc::new(Pending::new(queue, limit)),
            tx_check: own.then(|| Mutex::new(None)),
            notify: own.then(|| Mutex::new(None)),
            stats_cb: own.then(|| Mutex::new(None)),
        }
    }

    /// Closes the connection when the client owns it (a pool's connections are the manager's;
    /// a client made by `bc_client_with_timeout` shares its origin's).
    fn disconnect(&self) {
        if let (Some(_), Target::Own(c)) = (&self.tx_check, &self.target) {
            c.disconnect();
        }
    }

    /// `close(0)` plus the release of what the client holds.
    fn release(&self) {
        self.pending.close(Duration::ZERO);
        self.disconnect();
        if let (Some(slot), Target::Own(c)) = (&self.tx_check, &self.target) {
            // Releases the transaction-check user data (now, or when a running check returns).
            drop(super::txcheck::install(slot, c, None));
        }
        if let (Some(slot), Target::Own(c)) = (&self.notify, &self.target) {
            drop(super::notify::install(slot, c, None, None));
        }
        if let (Some(slot), Target::Own(c)) = (&self.stats_cb, &self.target) {
            drop(super::stats::install(slot, c, None, Duration::ZERO, None));
        }
    }
}

/// A client of one broker or name server (or of a manager's pool for one broker). Opaque.
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

impl Handle for bc_client {
    type Target = Target;

    fn open(ptr: *const Self) -> Result<(Arc<Pending>, Target), bc_error> {
        let h = client_arg(ptr)?;
        Ok((h.pending.clone(), h.target.clone()))
    }
}

fn client_arg<'a>(c: *const bc_client) -> Result<&'a Arc<ClientHandle>, bc_error> {
    let h = &object(c)?.inner;
    h.pending.check_open()?;
    Ok(h)
}

/// Hands a new client handle to C.
pub(crate) fn new_client(
    out_client: *mut *mut bc_client,
    handle: ClientHandle,
) -> Result<(), bc_error> {
    let client = bc_client {
        inner: Arc::new(handle),
        born: crate::fork::generation(),
    };
    new_object(out_client, "out_client", client)
}

/// A client handle on `manager`'s pool for the broker at `addr` (see `bc_manager_client`).
pub(crate) fn pooled_handle(
    manager: crate::manager::AsyncBrokerManager,
    addr: String,
    queue: Option<Arc<Queue>>,
    limit: usize,
) -> ClientHandle {
    ClientHandle::new(Target::Pooled { manager, addr }, queue, limit, false)
}

/// The configuration's largest body, for checks made before a send is accepted.
fn max_body(t: &Target) -> usize {
    t.config().max_body_size
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
///
/// Thread-safety: any thread.
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
        let target = Target::Own(AsyncBrokerClient::new(addr, cfg));
        new_client(out_client, ClientHandle::new(target, queue, limit, true))
    })
}

/// The same client with another deadline for each operation (`timeout_ms` > 0): a new handle
/// sharing the client's connection (or the manager's pool), queue and admission limit, with
/// its own operations (closing or freeing it cancels only those). This is the per-call
/// timeout of the C API: keep one handle per deadline you use.
///
/// Ownership: `*out_client` is the caller's; free it with `bc_client_free` (before or after
/// `client`: if `client` is freed first, the connection closes and this handle's operations
/// fail with `BC_ERR_CONNECTION`). It cannot install a transaction-check callback (install
/// it on the client that owns the connection). Thread-safety: any thread.
/// Errors: `BC_ERR_INVALID_ARG` (NULL, `timeout_ms` < 1), `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_client_with_timeout(
    client: *const bc_client,
    timeout_ms: i32,
    out_client: *mut *mut bc_client,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        if timeout_ms < 1 {
            return Err(bc_error::invalid_arg(&format!(
                "`timeout_ms` {timeout_ms} is not positive"
            )));
        }
        let target = h.target.with_timeout(millis(timeout_ms));
        let handle = ClientHandle {
            target,
            pending: Arc::new(h.pending.sibling()),
            tx_check: None,
            notify: None,
            stats_cb: None,
        };
        new_client(out_client, handle)
    })
}

/// Closes the client: new operations fail with `BC_ERR_CLOSED`; operations in flight may
/// finish for up to `timeout_ms`, then are cancelled (their callbacks get
/// `BC_ERR_CANCELLED`); returns once every accepted operation has completed (in queue mode:
/// been queued). `timeout_ms` 0 or negative: no grace, operations in flight are cancelled at
/// once. Closing twice is harmless. Blocking: from a library thread it returns
/// `BC_ERR_WOULD_DEADLOCK`.
///
/// Thread-safety: any thread but a library thread; concurrent closes are harmless.
/// Errors: `BC_ERR_INVALID_ARG` (NULL), `BC_ERR_WOULD_DEADLOCK`.
#[no_mangle]
pub extern "C" fn bc_client_close(
    client: *mut bc_client,
    timeout_ms: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = &object(client)?.inner;
        if on_runtime_thread() {
            return Err(bc_error::from(BrokerError::WouldDeadlock));
        }
        h.pending.close(millis(timeout_ms));
        h.disconnect();
        Ok(())
    })
}

/// Frees the client: closes it without grace (operations in flight complete with
/// `BC_ERR_CANCELLED`) and releases it. Called from a callback or any library thread, the
/// work is handed to a helper thread instead of blocking. The transaction-check callback is
/// removed and its `free_user_data` runs (once a check running now has returned). NULL is
/// ignored.
///
/// Thread-safety: once, as the last use of the client (other threads must be done with it); any
/// thread, callbacks included.
#[no_mangle]
pub extern "C" fn bc_client_free(client: *mut bc_client) {
    free_object(client, |boxed| {
        if on_runtime_thread() {
            std::thread::spawn(move || {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    boxed.inner.release()
                }));
            });
        } else {
            boxed.inner.release();
        }
    })
}

/// Connects now (operations also connect on demand). Errors: `BC_ERR_CONNECTION`,
/// `BC_ERR_TIMEOUT`, `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`.
///
/// Thread-safety: any thread but a library thread.
#[no_mangle]
pub extern "C" fn bc_client_connect(
    client: *const bc_client,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |_| {
        Ok(|c: AsyncBrokerClient| async move { c.connect().await })
    })
}

/// Async `bc_client_connect`.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_connect_async(
    client: *const bc_client,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| Ok(|c: AsyncBrokerClient| async move { c.connect().await }),
        ops::same,
    )
}

/// Closes the current connection (requests on it fail with `BC_ERR_CONNECTION`); the next
/// operation connects again.
///
/// Thread-safety: any thread; never blocks.
#[no_mangle]
pub extern "C" fn bc_client_disconnect(client: *const bc_client) {
    super::boundary::call_or((), || {
        if let Ok(c) = object(client) {
            c.inner.disconnect();
        }
    })
}

/// True while the client has a live connection.
///
/// Thread-safety: any thread; never blocks. False for NULL or a closed client.
#[no_mangle]
pub extern "C" fn bc_client_is_connected(client: *const bc_client) -> bool {
    super::boundary::call_or(false, || {
        object(client).is_ok_and(|c| c.inner.target.current().is_ok_and(|c| c.is_connected()))
    })
}

/// This client's id (`ip@instance`, as the broker sees it: consumer lists, heartbeats). It is
/// settled by the first connection (the local address), so call it after connecting.
///
/// Ownership: `*out_id` is the caller's; free it with `bc_string_free`.
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL), `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_client_get_client_id(
    client: *const bc_client,
    out_id: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let id = h.target.current()?.client_id();
        super::boundary::out_with(out_id, "out_id", || ops::text_owned(id))
    })
}

/// This client's statistics as JSON, now (never blocks): `uptime_ms`, `window_ms`,
/// `connected`, `connects`, `reconnects`, `in_flight`, `bytes_out`, `bytes_in`, `requests`,
/// `failed`, `timeouts`, `window_rejections`, and `operations` by name (`send`, `pull`, …),
/// each with `requests`, `ok`, `refused`, `failed`, `timeouts` and `latency_us` (`count`,
/// `p50`, `p90`, `p99`, `max` over the last `window_ms`). docs/operators.md explains each
/// field. For a client on a manager's pool (`bc_manager_client`): that broker's entry of
/// `bc_manager_stats_json` (its health, and these fields for each pooled connection).
///
/// Ownership: `*out_json` is the caller's; free it with `bc_string_free`.
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL), `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_client_stats_json(
    client: *const bc_client,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let json = match &h.target {
            Target::Own(c) => super::text::json_text(&c.stats()),
            Target::Pooled { manager, addr } => {
                super::text::json_text(&manager.broker_snapshot(addr))
            }
        };
        super::boundary::out_with(out_json, "out_json", || json.into_raw())
    })
}

/// Installs the callback that receives this client's statistics (the text of
/// `bc_client_stats_json`) every `interval_ms`, first one interval from now, on a library
/// thread or, for a client made with a `bc_queue`, inside `bc_queue_dispatch` (see
/// `bc_stats_cb`). Replaces any previous one; `cb` NULL removes it (`interval_ms`,
/// `user_data` and `free_user_data` are then ignored).
///
/// Ownership: the client keeps `user_data` until the callback is replaced or removed, or the
/// client is freed; then `free_user_data(user_data)` runs once (if not NULL), after a delivery
/// running at that moment has returned. Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG`
/// (client NULL, `interval_ms` < 1 with a callback, a client that does not own its
/// connection), `BC_ERR_CLOSED` (nothing was installed and `free_user_data` is not called).
#[no_mangle]
pub extern "C" fn bc_client_set_stats_cb(
    client: *const bc_client,
    interval_ms: i32,
    cb: bc_stats_cb,
    user_data: *mut c_void,
    free_user_data: bc_free_cb,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let (slot, c) = own_connection(h, &h.stats_cb)?;
        if cb.is_some() && interval_ms < 1 {
            return Err(bc_error::invalid_arg(&format!(
                "`interval_ms` {interval_ms} is not positive"
            )));
        }
        let interval = Duration::from_millis(interval_ms.max(1) as u64);
        let registration = StatsRegistration::new(cb, user_data, free_user_data);
        drop(super::stats::install(
            slot,
            c,
            h.pending.queue(),
            interval,
            registration,
        ));
        Ok(())
    })
}

/// A single send: group and message copied and checked when submitted.
struct SendOne {
    group: String,
    queue_id: i32,
    msg: Message,
}

impl SendOne {
    fn new(
        t: &Target,
        group: *const c_char,
        queue_id: i32,
        message: *const bc_message,
    ) -> Result<SendOne, bc_error> {
        let (group, msg) = send_args(group, message, max_body(t))?;
        Ok(SendOne {
            group,
            queue_id,
            msg,
        })
    }

    async fn send(self, c: AsyncBrokerClient) -> Result<crate::client::SendResult, BrokerError> {
        c.send(&self.group, self.queue_id, &self.msg).await
    }

    async fn oneway(self, c: AsyncBrokerClient) -> Result<(), BrokerError> {
        c.send_oneway(&self.group, self.queue_id, &self.msg).await
    }
}

/// A batch send: group and messages copied and checked when submitted.
struct SendBatch {
    group: String,
    queue_id: i32,
    msgs: Vec<Message>,
}

impl SendBatch {
    fn new(
        t: &Target,
        group: *const c_char,
        queue_id: i32,
        messages: *const *const bc_message,
        count: usize,
    ) -> Result<SendBatch, bc_error> {
        let (group, msgs) = batch_send_args(group, messages, count, max_body(t))?;
        Ok(SendBatch {
            group,
            queue_id,
            msgs,
        })
    }

    async fn send(self, c: AsyncBrokerClient) -> Result<crate::client::SendResult, BrokerError> {
        c.send_batch(&self.group, self.queue_id, &self.msgs).await
    }

    async fn oneway(self, c: AsyncBrokerClient) -> Result<(), BrokerError> {
        c.send_batch_oneway(&self.group, self.queue_id, &self.msgs)
            .await
    }
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
    value_blocking(
        client,
        out_result,
        "out_result",
        err_out,
        |t| SendOne::new(t, producer_group, queue_id, message).map(|s| move |c| s.send(c)),
        ops::send_result_owned,
    )
}

/// Async `bc_client_send`: the message is copied before return; `cb` runs once.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |t| SendOne::new(t, producer_group, queue_id, message).map(|s| move |c| s.send(c)),
        ops::same,
    )
}

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
    start(
        client,
        cb,
        user_data,
        cancel,
        err_out,
        |t| SendOne::new(t, producer_group, queue_id, message).map(|s| move |c| s.send(c)),
        ops::same,
    )
}

/// Sends `message` without waiting for the broker (no result; nothing tells whether it was
/// stored). Returns once queued for writing. Errors as `bc_client_send`.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
#[no_mangle]
pub extern "C" fn bc_client_send_oneway(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    message: *const bc_message,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |t| {
        SendOne::new(t, producer_group, queue_id, message).map(|s| move |c| s.oneway(c))
    })
}

/// Async `bc_client_send_oneway`: `cb` runs once the message is queued for writing.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |t| SendOne::new(t, producer_group, queue_id, message).map(|s| move |c| s.oneway(c)),
        ops::same,
    )
}

/// Sends `count` messages of one topic as one batch to `queue_id`, stored in order.
/// Messages are copied. Errors as `bc_client_send` (an empty or mixed-topic batch is
/// `BC_ERR_INVALID_ARG`).
///
/// Ownership: `*out_result` is the caller's: free it with `bc_send_result_free`.
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
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
    value_blocking(
        client,
        out_result,
        "out_result",
        err_out,
        |t| {
            SendBatch::new(t, producer_group, queue_id, messages, count).map(|s| move |c| s.send(c))
        },
        ops::send_result_owned,
    )
}

/// Async `bc_client_send_batch`.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |t| {
            SendBatch::new(t, producer_group, queue_id, messages, count).map(|s| move |c| s.send(c))
        },
        ops::same,
    )
}

/// Sends a batch without waiting for the broker.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CONNECTION` (the frame could not be
/// written), `BC_ERR_TIMEOUT`, `BC_ERR_CLOSED`, `BC_ERR_FATAL`; no answer is awaited, so the
/// broker's refusal is not seen.
#[no_mangle]
pub extern "C" fn bc_client_send_batch_oneway(
    client: *const bc_client,
    producer_group: *const c_char,
    queue_id: i32,
    messages: *const *const bc_message,
    count: usize,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |t| {
        SendBatch::new(t, producer_group, queue_id, messages, count).map(|s| move |c| s.oneway(c))
    })
}

/// Async `bc_client_send_batch_oneway`.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |t| {
            SendBatch::new(t, producer_group, queue_id, messages, count)
                .map(|s| move |c| s.oneway(c))
        },
        ops::same,
    )
}

/// The pull operation of a request.
fn pull(req: PullRequest) -> impl FnOnce(AsyncBrokerClient) -> PullFuture {
    move |c| Box::pin(async move { c.pull(&req).await })
}

type PullFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<crate::client::PullResult, BrokerError>> + Send>,
>;

/// Pulls up to `max_messages` from queue `queue_id` of `topic` starting at `offset`.
/// `subscription` is a tag expression (`"*"`, `"a || b"`); NULL means `"*"`. With
/// `suspend_timeout_ms > 0` the broker holds the pull that long while nothing is there (long
/// polling; the deadline is stretched to outlast the hold). `*out_batch` is the caller's
/// (free with `bc_batch_free`); its status says FOUND / NO_NEW_MSG / NO_MATCHED_MSG /
/// OFFSET_ILLEGAL. Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`,
/// `BC_ERR_PULL`, `BC_ERR_BROKER_*`, `BC_ERR_CLOSED`.
///
/// Ownership: `*out_batch` is the caller's: free it with `bc_batch_free`.
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
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
    value_blocking(
        client,
        out_batch,
        "out_batch",
        err_out,
        |_| {
            pull_request(
                consumer_group,
                topic,
                queue_id,
                offset,
                max_messages,
                suspend_timeout_ms,
                subscription,
            )
            .map(pull)
        },
        ops::pulled_owned,
    )
}

/// Async `bc_client_pull`; the callback owns the batch it receives.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            pull_request(
                consumer_group,
                topic,
                queue_id,
                offset,
                max_messages,
                suspend_timeout_ms,
                subscription,
            )
            .map(pull)
        },
        ops::pulled,
    )
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
    start(
        client,
        cb,
        user_data,
        cancel,
        err_out,
        |_| {
            pull_request(
                consumer_group,
                topic,
                queue_id,
                offset,
                max_messages,
                suspend_timeout_ms,
                subscription,
            )
            .map(pull)
        },
        ops::pulled,
    )
}

/// Pulls as `request` describes (`bc_pull_request`: filter expression of either type, long
/// polling, offset commit, subscription version). The request is copied.
///
/// Ownership: `out_batch` must not be NULL; `*out_batch` is the caller's (free with
/// `bc_batch_free`). Thread-safety: any thread but a library thread. Errors:
/// `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`,
/// `BC_ERR_PULL` (e.g. an SQL92 expression the broker cannot parse or does not allow),
/// `BC_ERR_BROKER_*`, `BC_ERR_CLOSED`.
#[no_mangle]
pub extern "C" fn bc_client_pull_request(
    client: *const bc_client,
    request: *const bc_pull_request,
    out_batch: *mut *mut bc_batch,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        client,
        out_batch,
        "out_batch",
        err_out,
        |_| request_arg(request).map(pull),
        ops::pulled_owned,
    )
}

/// Async `bc_client_pull_request` (`cancel` may be NULL: none; see
/// `bc_client_pull_async_with_cancel`); the callback owns the batch it receives.
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`,
/// `BC_ERR_CLOSED`, `BC_ERR_CANCELLED` (token already cancelled).
#[no_mangle]
pub extern "C" fn bc_client_pull_request_async(
    client: *const bc_client,
    request: *const bc_pull_request,
    cancel: *const super::cancel::bc_cancel_token,
    cb: bc_pull_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        cancel,
        err_out,
        |_| request_arg(request).map(pull),
        ops::pulled,
    )
}

/// The next offset to be written in a queue (exclusive maximum). For a topic or queue the
/// broker does not have, the broker answers 0 and so does this call (`BC_OK`): look the topic
/// up first (`bc_client_get_route_info`) where that matters.
///
/// Ownership: `out_value` must not be NULL. Errors: transport and broker errors,
/// `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
#[no_mangle]
pub extern "C" fn bc_client_get_max_offset(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        client,
        out_value,
        "out_value",
        err_out,
        |_| {
            let topic = owned(topic, "topic")?;
            Ok(move |c: AsyncBrokerClient| async move { c.get_max_offset(&topic, queue_id).await })
        },
        ops::same,
    )
}

/// Async `bc_client_get_max_offset`: returns at once; the value arrives in the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_get_max_offset_async(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            let topic = owned(topic, "topic")?;
            Ok(move |c: AsyncBrokerClient| async move { c.get_max_offset(&topic, queue_id).await })
        },
        ops::same,
    )
}

/// The smallest offset still stored in a queue.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_get_min_offset(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        client,
        out_value,
        "out_value",
        err_out,
        |_| {
            let topic = owned(topic, "topic")?;
            Ok(move |c: AsyncBrokerClient| async move { c.get_min_offset(&topic, queue_id).await })
        },
        ops::same,
    )
}

/// Async `bc_client_get_min_offset`: returns at once; the value arrives in the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_get_min_offset_async(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            let topic = owned(topic, "topic")?;
            Ok(move |c: AsyncBrokerClient| async move { c.get_min_offset(&topic, queue_id).await })
        },
        ops::same,
    )
}

/// GET_EARLIEST_MSG_STORETIME of a queue.
fn earliest(
    topic: *const c_char,
    queue_id: i32,
) -> Result<impl FnOnce(AsyncBrokerClient) -> I64Future, bc_error> {
    let topic = owned(topic, "topic")?;
    Ok(move |c: AsyncBrokerClient| -> I64Future {
        Box::pin(async move { c.get_earliest_msg_store_time(&topic, queue_id).await })
    })
}

type I64Future =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<i64, BrokerError>> + Send>>;

/// The store time (ms since the epoch) of the oldest message in a queue.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_get_earliest_msg_store_time(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        client,
        out_value,
        "out_value",
        err_out,
        |_| earliest(topic, queue_id),
        ops::same,
    )
}

/// Async `bc_client_get_earliest_msg_store_time`: returns at once; the value arrives in the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_get_earliest_msg_store_time_async(
    client: *const bc_client,
    topic: *const c_char,
    queue_id: i32,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| earliest(topic, queue_id),
        ops::same,
    )
}

/// SEARCH_OFFSET_BY_TIMESTAMP of a queue.
fn search(
    topic: *const c_char,
    queue_id: i32,
    timestamp_ms: i64,
    upper: i32,
) -> Result<impl FnOnce(AsyncBrokerClient) -> I64Future, bc_error> {
    let topic = owned(topic, "topic")?;
    let boundary = boundary(upper);
    Ok(move |c: AsyncBrokerClient| -> I64Future {
        Box::pin(async move {
            c.search_offset_by_timestamp(&topic, queue_id, timestamp_ms, boundary)
                .await
        })
    })
}

/// The first offset stored at or after `timestamp_ms`; `upper` non-zero picks the last of
/// several messages with the same time.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
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
    value_blocking(
        client,
        out_value,
        "out_value",
        err_out,
        |_| search(topic, queue_id, timestamp_ms, upper),
        ops::same,
    )
}

/// Async `bc_client_search_offset_by_timestamp`: returns at once; the value arrives in the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| search(topic, queue_id, timestamp_ms, upper),
        ops::same,
    )
}

/// QUERY_CONSUMER_OFFSET of a group on a queue.
fn query_offset(
    group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
) -> Result<impl FnOnce(AsyncBrokerClient) -> I64Future, bc_error> {
    let group = owned(group, "consumer_group")?;
    let topic = owned(topic, "topic")?;
    Ok(move |c: AsyncBrokerClient| -> I64Future {
        Box::pin(async move { c.query_consumer_offset(&group, &topic, queue_id).await })
    })
}

/// The committed offset of `consumer_group` on a queue; `BC_ERR_OFFSET` when none is.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_query_consumer_offset(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        client,
        out_value,
        "out_value",
        err_out,
        |_| query_offset(consumer_group, topic, queue_id),
        ops::same,
    )
}

/// Async `bc_client_query_consumer_offset`: returns at once; the value arrives in the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| query_offset(consumer_group, topic, queue_id),
        ops::same,
    )
}

type DoneFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), BrokerError>> + Send>>;

/// UPDATE_CONSUMER_OFFSET of a group on a queue, answered or oneway.
fn commit_offset(
    group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    oneway: bool,
) -> Result<impl FnOnce(AsyncBrokerClient) -> DoneFuture, bc_error> {
    let group = owned(group, "consumer_group")?;
    let topic = owned(topic, "topic")?;
    Ok(move |c: AsyncBrokerClient| -> DoneFuture {
        Box::pin(async move {
            if oneway {
                c.update_consumer_offset_oneway(&group, &topic, queue_id, offset)
                    .await
            } else {
                c.update_consumer_offset(&group, &topic, queue_id, offset)
                    .await
            }
        })
    })
}

/// Commits `offset` for `consumer_group` on a queue (the broker must know the group:
/// heartbeat or pull first).
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_update_consumer_offset(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |_| {
        commit_offset(consumer_group, topic, queue_id, offset, false)
    })
}

/// Async `bc_client_update_consumer_offset`: returns at once; `cb` runs once.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| commit_offset(consumer_group, topic, queue_id, offset, false),
        ops::same,
    )
}

/// Commits an offset without waiting for the broker.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CONNECTION` (the frame could not be
/// written), `BC_ERR_TIMEOUT`, `BC_ERR_CLOSED`, `BC_ERR_FATAL`; no answer is awaited, so the
/// broker's refusal is not seen.
#[no_mangle]
pub extern "C" fn bc_client_update_consumer_offset_oneway(
    client: *const bc_client,
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |_| {
        commit_offset(consumer_group, topic, queue_id, offset, true)
    })
}

/// Async `bc_client_update_consumer_offset_oneway`: returns at once; `cb` runs once.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| commit_offset(consumer_group, topic, queue_id, offset, true),
        ops::same,
    )
}

/// Creates (or updates) `topic` with `queue_nums` read and write queues (admin).
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_create_topic(
    client: *const bc_client,
    topic: *const c_char,
    queue_nums: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |_| {
        let topic = owned(topic, "topic")?;
        Ok(move |c: AsyncBrokerClient| async move { c.create_topic(&topic, queue_nums).await })
    })
}

/// Async `bc_client_create_topic`: returns at once; `cb` runs once.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_create_topic_async(
    client: *const bc_client,
    topic: *const c_char,
    queue_nums: i32,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            let topic = owned(topic, "topic")?;
            Ok(move |c: AsyncBrokerClient| async move { c.create_topic(&topic, queue_nums).await })
        },
        ops::same,
    )
}

/// HEART_BEAT with `data`.
fn heartbeat(data: HeartbeatData) -> impl FnOnce(AsyncBrokerClient) -> DoneFuture {
    move |c: AsyncBrokerClient| -> DoneFuture { Box::pin(async move { c.heartbeat(&data).await }) }
}

/// HEART_BEAT registering a producer group, a consumer group or both.
fn heartbeat_groups(
    producer_group: *const c_char,
    consumer_group: *const c_char,
) -> Result<impl FnOnce(AsyncBrokerClient) -> DoneFuture, bc_error> {
    let (producer, consumer) = groups(producer_group, consumer_group)?;
    let data = heartbeat_data(producer, consumer).map_err(|e| bc_error::from_broker(&e))?;
    Ok(heartbeat(data))
}

/// Registers a producer group and/or a consumer group (pull consumer, clustering) with
/// the broker; either may be NULL but not both.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_heartbeat(
    client: *const bc_client,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |_| {
        heartbeat_groups(producer_group, consumer_group)
    })
}

/// Async `bc_client_heartbeat`: returns at once; `cb` runs once.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_heartbeat_async(
    client: *const bc_client,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| heartbeat_groups(producer_group, consumer_group),
        ops::same,
    )
}

/// Sends the heartbeat `heartbeat` describes (`bc_heartbeat`: producer groups, consumer
/// groups with their consume type, message model, start point and subscriptions); it is
/// copied. The broker answers once it has registered every group.
///
/// Thread-safety: any thread but a library thread. Errors: `BC_ERR_INVALID_ARG` (NULL, a
/// heartbeat with no group), `BC_ERR_WOULD_BLOCK`, `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`,
/// `BC_ERR_BROKER_*` (e.g. a subscription the broker refuses), `BC_ERR_CLOSED`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_send_heartbeat(
    client: *const bc_client,
    heartbeat: *const bc_heartbeat,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |_| {
        heartbeat_arg(heartbeat).map(self::heartbeat)
    })
}

/// Async `bc_client_send_heartbeat`: returns at once; `cb` runs once (the heartbeat is copied
/// first, so it may be freed at once).
///
/// Thread-safety: any thread. Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`,
/// `BC_ERR_CLOSED`; the others reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_send_heartbeat_async(
    client: *const bc_client,
    heartbeat: *const bc_heartbeat,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| heartbeat_arg(heartbeat).map(self::heartbeat),
        ops::same,
    )
}

/// UNREGISTER_CLIENT from a producer group, a consumer group or both.
fn unregister(
    producer_group: *const c_char,
    consumer_group: *const c_char,
) -> Result<impl FnOnce(AsyncBrokerClient) -> DoneFuture, bc_error> {
    let (producer, consumer) = groups(producer_group, consumer_group)?;
    Ok(move |c: AsyncBrokerClient| -> DoneFuture {
        Box::pin(async move {
            c.unregister_client(producer.as_deref(), consumer.as_deref())
                .await
        })
    })
}

/// Tells the broker this client leaves its producer and/or consumer group.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_unregister(
    client: *const bc_client,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    done_blocking(client, err_out, |_| {
        unregister(producer_group, consumer_group)
    })
}

/// Async `bc_client_unregister`: returns at once; `cb` runs once.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_unregister_async(
    client: *const bc_client,
    producer_group: *const c_char,
    consumer_group: *const c_char,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| unregister(producer_group, consumer_group),
        ops::same,
    )
}

/// END_TRANSACTION of a half message, from what its send returned.
fn end_transaction(
    producer_group: *const c_char,
    msg_id: *const c_char,
    offset_msg_id: *const c_char,
    queue_offset: i64,
    transaction_id: *const c_char,
    state: i32,
) -> Result<impl FnOnce(AsyncBrokerClient) -> DoneFuture, bc_error> {
    let producer_group = owned(producer_group, "producer_group")?;
    let sent = crate::client::SendResult {
        status: crate::client::SendStatus::SendOk,
        msg_id: owned(msg_id, "msg_id")?,
        offset_msg_id: owned(offset_msg_id, "offset_msg_id")?,
        queue_id: 0,
        queue_offset,
        transaction_id: opt_owned(transaction_id, "transaction_id")?,
        region_id: None,
        broker_name: None,
    };
    let state = transaction_state(state)?;
    let end = crate::client::EndTransaction::for_send(&producer_group, &sent, state)
        .map_err(|e| bc_error::from_broker(&e))?;
    Ok(move |c: AsyncBrokerClient| -> DoneFuture {
        Box::pin(async move { c.end_transaction(&end).await })
    })
}

/// Ends a transaction's half message: `state` a `bc_transaction_state` (1 commit, 2 rollback, 0 unknown: the broker
/// will check later). `msg_id`, `offset_msg_id`, `queue_offset` and `transaction_id` are
/// what the half message's send returned. `transaction_id` may be NULL: it is then left out of
/// the request and the broker finds the half message by `offset_msg_id` and `queue_offset`
/// alone (it only logs the id). Oneway: completes once written.
///
/// Errors: `BC_ERR_INVALID_ARG` (NULL ids or group, `state` not 0/1/2), transport errors.
///
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
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
    done_blocking(client, err_out, |_| {
        end_transaction(
            producer_group,
            msg_id,
            offset_msg_id,
            queue_offset,
            transaction_id,
            state,
        )
    })
}

/// Async `bc_client_end_transaction`: returns at once; `cb` runs once.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            end_transaction(
                producer_group,
                msg_id,
                offset_msg_id,
                queue_offset,
                transaction_id,
                state,
            )
        },
        ops::same,
    )
}

/// The route of `topic` as JSON (`TopicRouteData`: `queueDatas`, `brokerDatas` with
/// `brokerAddrs`); ask a name server. `BC_ERR_BROKER_RESPONSE` with response code 17 for
/// an unknown topic.
/// `*out_json` is the caller's: free it with `bc_string_free`.
///
/// Ownership: `*out_json` is the caller's: free it with `bc_string_free`.
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_get_route_info(
    client: *const bc_client,
    topic: *const c_char,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        client,
        out_json,
        "out_json",
        err_out,
        |_| {
            let topic = owned(topic, "topic")?;
            Ok(move |c: AsyncBrokerClient| async move { c.get_route_info(&topic).await })
        },
        ops::json_owned,
    )
}

/// Async `bc_client_get_route_info`: returns at once; the JSON is borrowed for the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_get_route_info_async(
    client: *const bc_client,
    topic: *const c_char,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            let topic = owned(topic, "topic")?;
            Ok(move |c: AsyncBrokerClient| async move { c.get_route_info(&topic).await })
        },
        ops::json_borrowed,
    )
}

/// Every cluster and broker the name server knows, as JSON (`ClusterInfo`).
/// `*out_json` is the caller's: free it with `bc_string_free`.
///
/// Ownership: `*out_json` is the caller's: free it with `bc_string_free`.
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_get_cluster_info(
    client: *const bc_client,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        client,
        out_json,
        "out_json",
        err_out,
        |_| Ok(|c: AsyncBrokerClient| async move { c.get_cluster_info().await }),
        ops::json_owned,
    )
}

/// Async `bc_client_get_cluster_info`: returns at once; the JSON is borrowed for the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_get_cluster_info_async(
    client: *const bc_client,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| Ok(|c: AsyncBrokerClient| async move { c.get_cluster_info().await }),
        ops::json_borrowed,
    )
}

/// The client ids of a consumer group's live members, as a JSON array of strings.
/// `*out_json` is the caller's: free it with `bc_string_free`.
///
/// Ownership: `*out_json` is the caller's: free it with `bc_string_free`.
/// Thread-safety: any thread but a library thread (there it returns `BC_ERR_WOULD_DEADLOCK`).
/// Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK` (the in-flight window is full),
/// `BC_ERR_CONNECTION`, `BC_ERR_TIMEOUT`, `BC_ERR_BROKER_*` (the broker's refusal, with its
/// response code and remark), `BC_ERR_CLOSED`, `BC_ERR_WOULD_DEADLOCK`, `BC_ERR_FATAL`.
#[no_mangle]
pub extern "C" fn bc_client_get_consumer_list(
    client: *const bc_client,
    consumer_group: *const c_char,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        client,
        out_json,
        "out_json",
        err_out,
        |_| {
            let group = owned(consumer_group, "consumer_group")?;
            Ok(move |c: AsyncBrokerClient| async move { c.get_consumer_list(&group).await })
        },
        ops::json_owned,
    )
}

/// Async `bc_client_get_consumer_list`: returns at once; the JSON is borrowed for the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_get_consumer_list_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            let group = owned(consumer_group, "consumer_group")?;
            Ok(move |c: AsyncBrokerClient| async move { c.get_consumer_list(&group).await })
        },
        ops::json_borrowed,
    )
}

/// Frees a string this library returned (JSON results); NULL is ignored.
///
/// Thread-safety: once per string, any thread.
#[no_mangle]
pub extern "C" fn bc_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: from CString::into_raw in this library, freed once.
        drop(unsafe { CString::from_raw(s) });
    }
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
    value_blocking(
        client,
        out_batch,
        "out_batch",
        err_out,
        |_| {
            let id = owned(offset_msg_id, "offset_msg_id")?;
            Ok(move |c: AsyncBrokerClient| async move { c.view_message(&id).await })
        },
        ops::viewed_owned,
    )
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            let id = owned(offset_msg_id, "offset_msg_id")?;
            Ok(move |c: AsyncBrokerClient| async move { c.view_message(&id).await })
        },
        ops::viewed,
    )
}

/// CONSUMER_SEND_MSG_BACK of message `index` of a pulled batch (its identity copied now).
fn send_back(
    group: *const c_char,
    batch: *const bc_batch,
    index: usize,
    delay_level: i32,
    max_reconsume_times: i32,
) -> Result<impl FnOnce(AsyncBrokerClient) -> DoneFuture, bc_error> {
    let group = owned(group, "consumer_group")?;
    let msg = batch_message(batch, index)?;
    let max = (max_reconsume_times >= 0).then_some(max_reconsume_times);
    Ok(move |c: AsyncBrokerClient| -> DoneFuture {
        Box::pin(async move { c.consumer_send_back(&group, &msg, delay_level, max).await })
    })
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
    done_blocking(client, err_out, |_| {
        send_back(
            consumer_group,
            batch,
            index,
            delay_level,
            max_reconsume_times,
        )
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
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            send_back(
                consumer_group,
                batch,
                index,
                delay_level,
                max_reconsume_times,
            )
        },
        ops::same,
    )
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
///
/// Ownership: `*out_json` is the caller's: free it with `bc_string_free`.
#[no_mangle]
pub extern "C" fn bc_client_lock_batch_mq(
    client: *const bc_client,
    consumer_group: *const c_char,
    mq_json: *const c_char,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    value_blocking(
        client,
        out_json,
        "out_json",
        err_out,
        |_| {
            let (group, mqs) = (owned(consumer_group, "consumer_group")?, mq_set(mq_json)?);
            Ok(move |c: AsyncBrokerClient| async move { c.lock_batch_mq(&group, &mqs).await })
        },
        ops::json_owned,
    )
}

/// Async `bc_client_lock_batch_mq`: returns at once; the JSON is borrowed for the callback.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_lock_batch_mq_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    mq_json: *const c_char,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            let (group, mqs) = (owned(consumer_group, "consumer_group")?, mq_set(mq_json)?);
            Ok(move |c: AsyncBrokerClient| async move { c.lock_batch_mq(&group, &mqs).await })
        },
        ops::json_borrowed,
    )
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
    done_blocking(client, err_out, |_| {
        let (group, mqs) = (owned(consumer_group, "consumer_group")?, mq_set(mq_json)?);
        Ok(move |c: AsyncBrokerClient| async move { c.unlock_batch_mq(&group, &mqs).await })
    })
}

/// Async `bc_client_unlock_batch_mq`: returns at once; `cb` runs once.
///
/// Thread-safety: any thread.
/// Errors (returned): `BC_ERR_INVALID_ARG`, `BC_ERR_WOULD_BLOCK`, `BC_ERR_CLOSED`,
/// `BC_ERR_CANCELLED` (a token already cancelled), `BC_ERR_FATAL`; nothing is then called back. The
/// operation's own errors (as its blocking form lists) reach `cb`.
#[no_mangle]
pub extern "C" fn bc_client_unlock_batch_mq_async(
    client: *const bc_client,
    consumer_group: *const c_char,
    mq_json: *const c_char,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    start(
        client,
        cb,
        user_data,
        std::ptr::null(),
        err_out,
        |_| {
            let (group, mqs) = (owned(consumer_group, "consumer_group")?, mq_set(mq_json)?);
            Ok(move |c: AsyncBrokerClient| async move { c.unlock_batch_mq(&group, &mqs).await })
        },
        ops::same,
    )
}

/// One of the callback slots of a client that owns its connection, and that connection;
/// `BC_ERR_INVALID_ARG` for a client that borrows one (its callbacks belong to the owner).
fn own_connection<'a, S>(
    h: &'a ClientHandle,
    slot: &'a Option<S>,
) -> Result<(&'a S, &'a AsyncBrokerClient), bc_error> {
    match (slot, &h.target) {
        (Some(slot), Target::Own(c)) => Ok((slot, c)),
        _ => Err(bc_error::invalid_arg(
            "this client does not own its connection (bc_client_with_timeout, \
             bc_manager_client): install the callback on the client that does",
        )),
    }
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
        let (slot, c) = own_connection(h, &h.tx_check)?;
        let registration = TransactionCheckRegistration::new(cb, user_data, free_user_data);
        drop(super::txcheck::install(slot, c, registration));
        Ok(())
    })
}

/// Installs the callback told when a consumer group this client registered (by heartbeat)
/// gains or loses a member (the broker's NOTIFY_CONSUMER_IDS_CHANGED): time to rebalance. It
/// runs on a library thread, or for a client made with a `bc_queue` inside `bc_queue_dispatch`
/// (see `bc_notify_cb`). Replaces any previous callback (a notice queued for that one and not
/// yet dispatched is dropped); `cb` NULL removes it (`user_data` and `free_user_data` are then
/// ignored).
///
/// Ownership: the client keeps `user_data` until the callback is replaced or removed, or the
/// client is freed; then `free_user_data(user_data)` runs once (if not NULL), after any
/// notice running or queued at that moment is done with it. Thread-safety: any thread.
/// Errors: `BC_ERR_INVALID_ARG` (client NULL, or a client that does not own its connection),
/// `BC_ERR_CLOSED` (nothing was installed and `free_user_data` is not called).
#[no_mangle]
pub extern "C" fn bc_client_set_notify_cb(
    client: *const bc_client,
    cb: bc_notify_cb,
    user_data: *mut c_void,
    free_user_data: bc_free_cb,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let h = client_arg(client)?;
        let (slot, c) = own_connection(h, &h.notify)?;
        let registration = NotifyRegistration::new(cb, user_data, free_user_data);
        drop(super::notify::install(
            slot,
            c,
            h.pending.queue(),
            registration,
        ));
        Ok(())
    })
}
