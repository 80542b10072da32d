//! The bodies shared by every blocking/async pair of client and manager operations. Each
//! exported function is written out (cbindgen does not expand macros) and delegates here.

use std::ffi::{c_char, c_void};
use std::future::Future;
use std::sync::Arc;

use super::boundary::{call, out};
use super::client::{
    bc_done_cb, bc_int64_cb, bc_json_cb, callback, deliver_done, deliver_int, deliver_json,
    json_text,
};
use super::error::bc_error;
use super::pending::{Pending, UserData};
use super::status::bc_status;
use crate::error::BrokerError;

/// A handle whose operations run through a `Pending` on a Rust object (`bc_client` over an
/// `AsyncBrokerClient`, `bc_manager` over an `AsyncBrokerManager`).
pub(crate) trait Handle {
    type Target;

    /// The open handle's pending set and a clone of its Rust object; `BC_ERR_INVALID_ARG` for
    /// NULL, `BC_ERR_CLOSED` once closed.
    fn open(ptr: *const Self) -> Result<(Arc<Pending>, Self::Target), bc_error>;
}

/// A blocking operation returning an i64: `make` converts the arguments (after the handle is
/// checked) and builds the request.
pub(crate) fn int64_blocking<H, F, Fut>(
    handle: *const H,
    out_value: *mut i64,
    err_out: *mut *mut bc_error,
    make: F,
) -> bc_status
where
    H: Handle,
    F: FnOnce(H::Target) -> Result<Fut, bc_error>,
    Fut: Future<Output = Result<i64, BrokerError>>,
{
    call(err_out, || {
        let (pending, target) = H::open(handle)?;
        let fut = make(target)?;
        if out_value.is_null() {
            return Err(bc_error::invalid_arg("`out_value` is NULL"));
        }
        let v = pending.block(fut)?;
        out(out_value, "out_value", v)
    })
}

/// The async twin of an operation returning an i64.
pub(crate) fn int64_async<H, F, Fut>(
    handle: *const H,
    cb: bc_int64_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
    make: F,
) -> bc_status
where
    H: Handle,
    F: FnOnce(H::Target) -> Result<Fut, bc_error>,
    Fut: Future<Output = Result<i64, BrokerError>> + Send + 'static,
{
    call(err_out, || {
        let (pending, target) = H::open(handle)?;
        let fut = make(target)?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        pending.start(fut, move |r| deliver_int(cb, ud, r))
    })
}

/// A blocking operation without a result.
pub(crate) fn done_blocking<H, F, Fut>(
    handle: *const H,
    err_out: *mut *mut bc_error,
    make: F,
) -> bc_status
where
    H: Handle,
    F: FnOnce(H::Target) -> Result<Fut, bc_error>,
    Fut: Future<Output = Result<(), BrokerError>>,
{
    call(err_out, || {
        let (pending, target) = H::open(handle)?;
        let fut = make(target)?;
        pending.block(fut)
    })
}

/// The async twin of an operation without a result.
pub(crate) fn done_async<H, F, Fut>(
    handle: *const H,
    cb: bc_done_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
    make: F,
) -> bc_status
where
    H: Handle,
    F: FnOnce(H::Target) -> Result<Fut, bc_error>,
    Fut: Future<Output = Result<(), BrokerError>> + Send + 'static,
{
    call(err_out, || {
        let (pending, target) = H::open(handle)?;
        let fut = make(target)?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        pending.start(fut, move |r| deliver_done(cb, ud, r))
    })
}

/// A blocking operation returning JSON text (`*out_json`, owned by the caller).
pub(crate) fn json_blocking<H, T, F, Fut>(
    handle: *const H,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
    make: F,
) -> bc_status
where
    H: Handle,
    T: serde::Serialize,
    F: FnOnce(H::Target) -> Result<Fut, bc_error>,
    Fut: Future<Output = Result<T, BrokerError>>,
{
    call(err_out, || {
        let (pending, target) = H::open(handle)?;
        let fut = make(target)?;
        if out_json.is_null() {
            return Err(bc_error::invalid_arg("`out_json` is NULL"));
        }
        let v = pending.block(fut)?;
        out(out_json, "out_json", json_text(&v).into_raw())
    })
}

/// The async twin of an operation returning JSON text (borrowed by the callback).
pub(crate) fn json_async<H, T, F, Fut>(
    handle: *const H,
    cb: bc_json_cb,
    user_data: *mut c_void,
    err_out: *mut *mut bc_error,
    make: F,
) -> bc_status
where
    H: Handle,
    T: serde::Serialize + Send + 'static,
    F: FnOnce(H::Target) -> Result<Fut, bc_error>,
    Fut: Future<Output = Result<T, BrokerError>> + Send + 'static,
{
    call(err_out, || {
        let (pending, target) = H::open(handle)?;
        let fut = make(target)?;
        let cb = callback(cb)?;
        let ud = UserData(user_data as usize);
        pending.start(fut, move |r| deliver_json(cb, ud, r.map(|v| json_text(&v))))
    })
}
