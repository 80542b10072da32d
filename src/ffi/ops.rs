//! The bodies every blocking/async pair of exports shares. An export converts its C
//! arguments once (its `make` closure, given the handle's target for the checks that depend on
//! its configuration, and run before anything is accepted, so bad arguments are returned,
//! never called back) into an operation on the handle's Rust object, and hands it
//! to [`blocking`] or [`start`]; they differ only in how the outcome goes back to C. Each
//! export is written out (cbindgen does not expand macros) and is a few lines long.

use std::ffi::{c_char, c_void, CString};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::boundary::call;
use super::callbacks::{callback, Delivery};
use super::cancel::{bc_cancel_token, token_arg};
use super::error::bc_error;
use super::pending::{panic_text, Pending, UserData};
use super::result::{bc_batch, bc_send_result};
use super::status::bc_status;
use super::text::json_text;
use crate::error::BrokerError;

/// A handle whose operations run through its `Pending` on a Rust object.
pub(crate) trait Handle {
    type Target: Runner;

    /// The open handle's pending set and what its operations run on; `BC_ERR_INVALID_ARG` for
    /// NULL, `BC_ERR_CLOSED` once closed, `BC_ERR_FORKED` when inherited through fork.
    fn open(ptr: *const Self) -> Result<(Arc<Pending>, Self::Target), bc_error>;
}

/// What a handle's operations run on: gives an operation the object it needs (a client of one
/// broker, a manager) and wraps it as that object requires (a manager's pooled client counts
/// the operation towards the broker's health).
pub(crate) trait Runner: Send + 'static {
    type Client;

    fn run<T, F, Fut>(self, op: F) -> impl Future<Output = Result<T, BrokerError>> + Send
    where
        T: Send,
        F: FnOnce(Self::Client) -> Fut + Send,
        Fut: Future<Output = Result<T, BrokerError>> + Send;
}

/// The object an operation of handle `H` gets.
pub(crate) type Client<H> = <<H as Handle>::Target as Runner>::Client;

/// A blocking operation without a result value.
pub(crate) fn done_blocking<H, M, F, Fut>(
    handle: *const H,
    err_out: *mut *mut bc_error,
    make: M,
) -> bc_status
where
    H: Handle,
    M: FnOnce(&H::Target) -> Result<F, bc_error>,
    F: FnOnce(Client<H>) -> Fut + Send,
    Fut: Future<Output = Result<(), BrokerError>> + Send,
{
    call(err_out, || {
        let (pending, target) = H::open(handle)?;
        guarded(&pending, || {
            let op = make(&target)?;
            pending.block(target.run(op))
        })
    })
}

/// A blocking operation whose result, made into what C sees by `convert`, goes to `*out`
/// (named `out_name` in the error when it is NULL: checked before anything is sent).
pub(crate) fn value_blocking<H, M, F, Fut, T, O>(
    handle: *const H,
    out: *mut O,
    out_name: &str,
    err_out: *mut *mut bc_error,
    make: M,
    convert: fn(T) -> O,
) -> bc_status
where
    H: Handle,
    M: FnOnce(&H::Target) -> Result<F, bc_error>,
    F: FnOnce(Client<H>) -> Fut + Send,
    Fut: Future<Output = Result<T, BrokerError>> + Send,
    T: Send,
{
    call(err_out, || {
        let (pending, target) = H::open(handle)?;
        guarded(&pending, || {
            let op = make(&target)?;
            if out.is_null() {
                return Err(bc_error::invalid_arg(&format!("`{out_name}` is NULL")));
            }
            let v = pending.block(target.run(op))?;
            // SAFETY: non-NULL and writable per the contract.
            unsafe { out.write(convert(v)) };
            Ok(())
        })
    })
}

/// Starts an async operation: returns at once; `cb` runs exactly once with the outcome, made
/// into what C sees by `convert` on the completing thread. `cancel` may be NULL (none).
#[allow(clippy::too_many_arguments)]
pub(crate) fn start<H, M, F, Fut, T, U, D>(
    handle: *const H,
    cb: Option<D>,
    user_data: *mut c_void,
    cancel: *const bc_cancel_token,
    err_out: *mut *mut bc_error,
    make: M,
    convert: fn(T) -> U,
) -> bc_status
where
    H: Handle,
    M: FnOnce(&H::Target) -> Result<F, bc_error>,
    F: FnOnce(Client<H>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, BrokerError>> + Send + 'static,
    T: Send + 'static,
    U: 'static,
    D: Delivery<U>,
{
    call(err_out, || {
        let (pending, target) = H::open(handle)?;
        guarded(&pending, || {
            let cb = callback(cb)?;
            let op = make(&target)?;
            let token = token_arg(cancel)?;
            let ud = UserData(user_data as usize);
            pending.start_with_cancel(
                target.run(op),
                move |r| cb.deliver(ud, r.map(convert)),
                token,
            )
        })
    })
}

/// Runs the part of an export that works on an open handle: a panic there (a library bug)
/// poisons the handle, so every later call on it is `BC_ERR_FATAL` as that status promises.
fn guarded<R>(
    pending: &Pending,
    body: impl FnOnce() -> Result<R, bc_error>,
) -> Result<R, bc_error> {
    catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|panic| Err(pending.poison(&panic_text(&*panic))))
}

// Conversions of results into what C sees.

/// A value C receives as it is.
pub(crate) fn same<T>(v: T) -> T {
    v
}

/// JSON text the caller owns (`bc_string_free`).
pub(crate) fn json_owned<T: serde::Serialize>(v: T) -> *mut c_char {
    json_text(&v).into_raw()
}

/// JSON text borrowed by a callback.
pub(crate) fn json_borrowed<T: serde::Serialize>(v: T) -> CString {
    json_text(&v)
}

/// Text the caller owns (`bc_string_free`).
pub(crate) fn text_owned(s: String) -> *mut c_char {
    super::text::c_text(&s).into_raw()
}

/// Text borrowed by a callback.
pub(crate) fn text_borrowed(s: String) -> CString {
    super::text::c_text(&s)
}

/// A send result the caller owns (`bc_send_result_free`).
pub(crate) fn send_result_owned(r: crate::client::SendResult) -> *mut bc_send_result {
    Box::into_raw(Box::new(bc_send_result::from(&r)))
}

/// A pulled batch.
pub(crate) fn pulled(r: crate::client::PullResult) -> bc_batch {
    bc_batch::from(r)
}

/// A pulled batch the caller owns (`bc_batch_free`).
pub(crate) fn pulled_owned(r: crate::client::PullResult) -> *mut bc_batch {
    Box::into_raw(Box::new(bc_batch::from(r)))
}

/// A batch of the one message a view returned.
pub(crate) fn viewed(m: crate::protocol::message::MessageExt) -> bc_batch {
    bc_batch::from(crate::client::PullResult {
        status: crate::client::PullStatus::Found,
        next_begin_offset: m.queue_offset + 1,
        min_offset: -1,
        max_offset: -1,
        suggest_which_broker_id: 0,
        messages: vec![m],
    })
}

/// [`viewed`], owned by the caller.
pub(crate) fn viewed_owned(m: crate::protocol::message::MessageExt) -> *mut bc_batch {
    Box::into_raw(Box::new(viewed(m)))
}
