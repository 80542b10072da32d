//! `bc_error`: the detail object behind a non-OK status. Immutable once made, so it may be
//! read from any thread; freed with `bc_error_free`.

use std::ffi::{c_char, CString};

use super::status::bc_status;
use super::text::c_text;
use crate::error::BrokerError;

/// Details of a failure: status, message, the broker's response code and remark, the broker
/// address, and whether retrying can help. Opaque; read it with the `bc_error_*` functions.
#[derive(Debug)]
pub struct bc_error {
    pub(crate) status: bc_status,
    message: CString,
    response_code: i32,
    remark: CString,
    broker_addr: CString,
    retriable: bool,
    fatal: bool,
}

/// Text without interior NULs, so it can always become a C string.
impl bc_error {
    pub(crate) fn new(status: bc_status, message: &str) -> bc_error {
        bc_error {
            status,
            message: c_text(message),
            response_code: 0,
            remark: CString::default(),
            broker_addr: CString::default(),
            // A full local window clears as operations complete: retry after one.
            retriable: status == bc_status::BC_ERR_WOULD_BLOCK,
            fatal: matches!(status, bc_status::BC_ERR_FATAL | bc_status::BC_ERR_FORKED),
        }
    }

    /// The message, for tests and logs.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        self.message.to_str().unwrap_or("")
    }

    pub(crate) fn invalid_arg(message: &str) -> bc_error {
        bc_error::new(bc_status::BC_ERR_INVALID_ARG, message)
    }

    pub(crate) fn from_broker(e: &BrokerError) -> bc_error {
        let addr = match e {
            BrokerError::Connection { addr, .. }
            | BrokerError::Timeout { addr, .. }
            | BrokerError::Protocol { addr, .. } => addr.as_str(),
            _ => "",
        };
        let remark = match e {
            BrokerError::Response { remark, .. }
            | BrokerError::Authorization { remark, .. }
            | BrokerError::BrokerBusy { remark, .. }
            | BrokerError::MessagePull { remark, .. }
            | BrokerError::Offset { remark, .. }
            | BrokerError::System { remark, .. } => remark.as_str(),
            _ => "",
        };
        bc_error {
            status: bc_status::of(e),
            message: c_text(&e.to_string()),
            response_code: e.response_code().filter(|c| *c >= 0).unwrap_or(0),
            remark: c_text(remark),
            broker_addr: c_text(addr),
            retriable: e.is_retriable(),
            fatal: false,
        }
    }

    pub(crate) fn into_raw(self) -> *mut bc_error {
        Box::into_raw(Box::new(self))
    }
}

impl From<BrokerError> for bc_error {
    fn from(e: BrokerError) -> Self {
        bc_error::from_broker(&e)
    }
}

fn with<T>(err: *const bc_error, default: T, f: impl FnOnce(&bc_error) -> T) -> T {
    // SAFETY: the caller passes NULL or a pointer this library returned and has not freed.
    match unsafe { err.as_ref() } {
        Some(e) => f(e),
        None => default,
    }
}

/// The status of `err` (`BC_ERR_INVALID_ARG` for NULL).
///
/// Thread-safety: any thread; `err` is immutable.
///
/// Errors: none of its own (it reads `err`).
#[no_mangle]
pub extern "C" fn bc_error_code(err: *const bc_error) -> bc_status {
    with(err, bc_status::BC_ERR_INVALID_ARG, |e| e.status)
}

/// A human-readable description, NUL-terminated; `""` for NULL.
///
/// Ownership: borrowed; valid until `bc_error_free(err)`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_error_message(err: *const bc_error) -> *const c_char {
    with(err, c"".as_ptr(), |e| e.message.as_ptr())
}

/// The RocketMQ response code the broker sent (e.g. 17 TOPIC_NOT_EXIST), or 0 when the
/// failure did not come from a broker response.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_error_response_code(err: *const bc_error) -> i32 {
    with(err, 0, |e| e.response_code)
}

/// The broker's remark with its response code (`""` when none).
///
/// Ownership: borrowed; valid until `bc_error_free(err)`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_error_remark(err: *const bc_error) -> *const c_char {
    with(err, c"".as_ptr(), |e| e.remark.as_ptr())
}

/// The broker address involved (`""` when not known).
///
/// Ownership: borrowed; valid until `bc_error_free(err)`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_error_broker_addr(err: *const bc_error) -> *const c_char {
    with(err, c"".as_ptr(), |e| e.broker_addr.as_ptr())
}

/// True when the same operation may succeed if tried again.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_error_is_retriable(err: *const bc_error) -> bool {
    with(err, false, |e| e.retriable)
}

/// True when the object that reported it is unusable from now on (a caught internal bug, or
/// use after fork).
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_error_is_fatal(err: *const bc_error) -> bool {
    with(err, false, |e| e.fatal)
}

/// A copy of `err` (for keeping an error passed to a callback); NULL for NULL.
///
/// Ownership: the caller owns the copy; free it with `bc_error_free`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_error_clone(err: *const bc_error) -> *mut bc_error {
    with(err, std::ptr::null_mut(), |e| {
        bc_error {
            status: e.status,
            message: e.message.clone(),
            response_code: e.response_code,
            remark: e.remark.clone(),
            broker_addr: e.broker_addr.clone(),
            retriable: e.retriable,
            fatal: e.fatal,
        }
        .into_raw()
    })
}

/// Frees an error returned through an `err_out` parameter or by `bc_error_clone`. NULL is
/// ignored. Never free the borrowed error a callback receives.
///
/// Thread-safety: any thread, once per error.
#[no_mangle]
pub extern "C" fn bc_error_free(err: *mut bc_error) {
    if !err.is_null() {
        // SAFETY: a non-NULL `err` came from `into_raw` and is freed once, per the contract.
        drop(unsafe { Box::from_raw(err) });
    }
}
