//! The C boundary: every `extern "C"` function runs its body through [`call`], which catches
//! panics (none may cross into C), refuses to run in a forked child, and turns errors into a
//! status plus an optional `bc_error`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use super::error::bc_error;
use super::status::bc_status;

static FORKED: AtomicBool = AtomicBool::new(false);
static WATCH_FORK: Once = Once::new();

/// Runs in the child of a `fork`, before `fork` returns there: only an atomic store
/// (async-signal-safe).
extern "C" fn in_forked_child() {
    FORKED.store(true, Ordering::Relaxed);
}

/// True when this process is a fork of the one that first used the library: its runtime
/// threads did not survive the fork, so anything that waits on them would hang. A fork
/// handler sets the flag, so the check costs an atomic load, not a `getpid` per C call.
pub(crate) fn forked() -> bool {
    WATCH_FORK.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic; no other arguments.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_forked_child)) };
        debug_assert_eq!(rc, 0, "pthread_atfork");
    });
    FORKED.load(Ordering::Relaxed)
}

/// Runs `body` at the boundary. On failure writes `*err_out` (if non-NULL) and returns the
/// status; on success leaves `*err_out` untouched and returns `BC_OK`.
pub(crate) fn call(
    err_out: *mut *mut bc_error,
    body: impl FnOnce() -> Result<(), bc_error>,
) -> bc_status {
    let outcome = if forked() {
        Err(bc_error::new(
            bc_status::BC_ERR_FORKED,
            "libbrokerclient cannot be used in a forked child; create objects after fork",
        ))
    } else {
        catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(bc_error::new(
                bc_status::BC_ERR_FATAL,
                &format!("internal error caught at the C boundary: {what}"),
            ))
        })
    };
    match outcome {
        Ok(()) => bc_status::BC_OK,
        Err(e) => {
            let status = e.status;
            if !err_out.is_null() {
                // SAFETY: a non-NULL `err_out` points to writable storage for one pointer.
                unsafe { *err_out = e.into_raw() };
            }
            status
        }
    }
}

/// Runs `body` where no status can be returned (free functions, getters); a panic yields
/// `default`.
pub(crate) fn call_or<T>(default: T, body: impl FnOnce() -> T) -> T {
    if forked() {
        return default;
    }
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

/// `&T` from a pointer the caller must pass, or an error naming the argument.
pub(crate) fn arg<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, bc_error> {
    // SAFETY: a non-NULL pointer is one this library handed out (or a valid caller object),
    // alive for the duration of the call, per each function's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| bc_error::invalid_arg(&format!("`{name}` is NULL")))
}

/// A UTF-8 `&str` from a NUL-terminated C string argument.
pub(crate) fn str_arg<'a>(ptr: *const std::ffi::c_char, name: &str) -> Result<&'a str, bc_error> {
    if ptr.is_null() {
        return Err(bc_error::invalid_arg(&format!("`{name}` is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract; read only during the call.
    unsafe { std::ffi::CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| bc_error::invalid_arg(&format!("`{name}` is not valid UTF-8")))
}

/// A byte slice from `(ptr, len)`; NULL is allowed only with `len == 0`.
pub(crate) fn bytes_arg<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], bc_error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(bc_error::invalid_arg(&format!(
            "`{name}` is NULL with a non-zero length"
        )));
    }
    // SAFETY: the caller guarantees `len` readable bytes at `ptr` for the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Writes an out-parameter after checking it is not NULL.
pub(crate) fn out<T>(ptr: *mut T, name: &str, value: T) -> Result<(), bc_error> {
    if ptr.is_null() {
        return Err(bc_error::invalid_arg(&format!("`{name}` is NULL")));
    }
    // SAFETY: non-NULL and writable per the contract.
    unsafe { ptr.write(value) };
    Ok(())
}
