//! The C boundary: every `extern "C"` function runs its body through [`call`] (or
//! [`call_or`]), which catches panics (none may cross into C) and turns errors into a status
//! plus an optional `bc_error`; and the helpers every export uses for its pointers: handles
//! made, borrowed and freed through [`Object`], strings, byte slices and out-parameters.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::bc_error;
use super::status::bc_status;
use crate::fork;

/// Runs `body` at the boundary. On failure writes `*err_out` (if non-NULL) and returns the
/// status; on success leaves `*err_out` untouched and returns `BC_OK`.
pub(crate) fn call(
    err_out: *mut *mut bc_error,
    body: impl FnOnce() -> Result<(), bc_error>,
) -> bc_status {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = super::pending::panic_text(&*panic);
        Err(bc_error::new(
            bc_status::BC_ERR_FATAL,
            &format!("internal error caught at the C boundary: {what}"),
        ))
    });
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
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

/// A type C holds as a pointer this library made with `Box::into_raw` (a handle): how it is
/// made, borrowed and freed, in one place (as rustls-ffi's `Castable` with box ownership).
pub(crate) trait Object: Sized + 'static {
    /// Its parameter name, for error messages ("client").
    const NAME: &'static str;

    /// The fork generation ([`crate::fork`]) it was made in, for objects that live on the
    /// library runtime (clients, managers, queues, cancel tokens, fault proxies): in a forked
    /// child they are refused with `BC_ERR_FORKED`. `None` for plain data (configs, messages,
    /// results), which a child may go on using.
    fn born(&self) -> Option<u64> {
        None
    }

    /// True for an object of an earlier process generation (inherited through `fork`).
    fn inherited(&self) -> bool {
        self.born().is_some_and(|g| g != fork::generation())
    }
}

/// The error for an object inherited through `fork`.
fn forked(name: &str) -> bc_error {
    bc_error::new(
        bc_status::BC_ERR_FORKED,
        &format!(
            "`{name}` was created before fork(): its library threads stayed in the parent; \
             free it (that returns at once) and create a new one in this process"
        ),
    )
}

/// Borrows a handle the caller passes: `BC_ERR_INVALID_ARG` for NULL, `BC_ERR_FORKED` for one
/// inherited through `fork`.
pub(crate) fn object<'a, T: Object>(ptr: *const T) -> Result<&'a T, bc_error> {
    let o = arg(ptr, T::NAME)?;
    if o.inherited() {
        return Err(forked(T::NAME));
    }
    Ok(o)
}

/// [`object`] for a parameter that may be NULL.
pub(crate) fn optional_object<'a, T: Object>(ptr: *const T) -> Result<Option<&'a T>, bc_error> {
    if ptr.is_null() {
        return Ok(None);
    }
    object(ptr).map(Some)
}

/// [`object`] for a handle the call changes (messages and configs being built).
pub(crate) fn object_mut<'a, T: Object>(ptr: *mut T) -> Result<&'a mut T, bc_error> {
    // SAFETY: NULL or a live object of this library, not used concurrently per the contract
    // of every function that takes it mutably.
    let o = unsafe { ptr.as_mut() }
        .ok_or_else(|| bc_error::invalid_arg(&format!("`{}` is NULL", T::NAME)))?;
    if o.inherited() {
        return Err(forked(T::NAME));
    }
    Ok(o)
}

/// Hands `value` to the caller through `*out` (named `out_name` in the error when NULL). The
/// out-parameter is checked first, so nothing is allocated for a call that fails.
pub(crate) fn new_object<T: Object>(
    out_ptr: *mut *mut T,
    out_name: &str,
    value: T,
) -> Result<(), bc_error> {
    if out_ptr.is_null() {
        return Err(bc_error::invalid_arg(&format!("`{out_name}` is NULL")));
    }
    // SAFETY: non-NULL and writable per the contract.
    unsafe { out_ptr.write(Box::into_raw(Box::new(value))) };
    Ok(())
}

/// Frees a handle: NULL is ignored; one inherited through `fork` is kept without being
/// dropped (dropping would wait for the parent's threads, which the child does not have), so
/// the call returns at once; otherwise `release` gets it (and a panic in it stays here).
pub(crate) fn free_object<T: Object>(ptr: *mut T, release: impl FnOnce(Box<T>)) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: made by `new_object` (Box::into_raw), freed once per the contract.
    let boxed = unsafe { Box::from_raw(ptr) };
    if boxed.inherited() {
        fork::keep_forever(boxed);
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| release(boxed)));
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

/// Writes the value `make` returns to an out-parameter; `make` runs only once the pointer is
/// known not to be NULL, so a value that owns memory (a returned string) is never made for a
/// call that fails and leaked.
pub(crate) fn out_with<T>(
    ptr: *mut T,
    name: &str,
    make: impl FnOnce() -> T,
) -> Result<(), bc_error> {
    if ptr.is_null() {
        return Err(bc_error::invalid_arg(&format!("`{name}` is NULL")));
    }
    // SAFETY: non-NULL and writable per the contract.
    unsafe { ptr.write(make()) };
    Ok(())
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
