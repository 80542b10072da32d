//! The callback types of async operations, and how each kind of outcome reaches one.
//!
//! Every callback gets `(user_data, status, err, value)`: `err` is NULL on success and
//! borrowed for the call; the value is borrowed too, except a pulled `bc_batch`, which passes
//! to the callee. Callbacks must not throw or longjmp.

use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::error::bc_error;
use super::pending::UserData;
use super::result::{bc_batch, bc_send_result};
use super::status::bc_status;

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

/// Releases a persistent registration's `user_data`: called once, when the registration is
/// replaced or its owner freed (after any callback running on it has returned). May be NULL.
pub type bc_free_cb = Option<extern "C" fn(user_data: *mut c_void)>;

/// A persistent callback (transaction checks, membership notices) and the user data it owns.
/// Shared by reference count: dropping the last reference runs `free_user_data` once, so a
/// callback still running (or queued) when it is replaced keeps its data until it is done.
pub(crate) struct Registration<C> {
    pub cb: C,
    pub user_data: UserData,
    free_user_data: bc_free_cb,
    /// Cleared when the registration is replaced or removed: what was queued for it before is
    /// then dropped instead of delivered.
    active: AtomicBool,
}

impl<C> Registration<C> {
    /// A registration for `cb`, or none when `cb` is NULL (removing the installed one; the
    /// caller's `free_user_data` is then not called).
    pub fn new(
        cb: Option<C>,
        user_data: *mut c_void,
        free_user_data: bc_free_cb,
    ) -> Option<Arc<Registration<C>>> {
        cb.map(|cb| {
            Arc::new(Registration {
                cb,
                user_data: UserData(user_data as usize),
                free_user_data,
                active: AtomicBool::new(true),
            })
        })
    }

    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Called when it is replaced or removed.
    pub fn retire(&self) {
        self.active.store(false, Ordering::Release);
    }
}

impl<C> Drop for Registration<C> {
    fn drop(&mut self) {
        if let Some(free) = self.free_user_data {
            free(self.user_data.ptr());
        }
    }
}

/// Installs `new` in `slot` (retiring the one it replaces) and returns the replaced one, to
/// be dropped by the caller outside every lock (dropping may run `free_user_data`). `apply`
/// hands the new registration to the Rust object, under the slot's lock so two concurrent
/// installs cannot leave the object and the slot disagreeing.
pub(crate) fn replace<C>(
    slot: &Mutex<Option<Arc<Registration<C>>>>,
    new: Option<Arc<Registration<C>>>,
    apply: impl FnOnce(Option<Arc<Registration<C>>>),
) -> Option<Arc<Registration<C>>> {
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    apply(new.clone());
    let old = std::mem::replace(&mut *slot, new);
    if let Some(old) = &old {
        old.retire();
    }
    old
}

/// The callback an async call was given: `BC_ERR_INVALID_ARG` for NULL.
pub(crate) fn callback<F>(cb: Option<F>) -> Result<F, bc_error> {
    cb.ok_or_else(|| bc_error::invalid_arg("`cb` is NULL"))
}

/// How one kind of outcome reaches its callback: the value is made into what C sees (a
/// result struct, a batch, text) only on the completing thread, and borrowed for the call
/// unless the callback type says it passes.
pub(crate) trait Delivery<T>: Copy + Send + 'static {
    fn deliver(self, ud: UserData, r: Result<T, bc_error>);
}

impl Delivery<()> for extern "C" fn(*mut c_void, bc_status, *const bc_error) {
    fn deliver(self, ud: UserData, r: Result<(), bc_error>) {
        match r {
            Ok(()) => self(ud.ptr(), bc_status::BC_OK, std::ptr::null()),
            Err(e) => self(ud.ptr(), e.status, &e),
        }
    }
}

impl Delivery<i64> for extern "C" fn(*mut c_void, bc_status, *const bc_error, i64) {
    fn deliver(self, ud: UserData, r: Result<i64, bc_error>) {
        match r {
            Ok(v) => self(ud.ptr(), bc_status::BC_OK, std::ptr::null(), v),
            Err(e) => self(ud.ptr(), e.status, &e, 0),
        }
    }
}

/// Text (JSON or an address), borrowed for the call.
impl Delivery<CString> for extern "C" fn(*mut c_void, bc_status, *const bc_error, *const c_char) {
    fn deliver(self, ud: UserData, r: Result<CString, bc_error>) {
        match r {
            Ok(s) => self(ud.ptr(), bc_status::BC_OK, std::ptr::null(), s.as_ptr()),
            Err(e) => self(ud.ptr(), e.status, &e, std::ptr::null()),
        }
    }
}

impl Delivery<crate::client::SendResult>
    for extern "C" fn(*mut c_void, bc_status, *const bc_error, *const bc_send_result)
{
    fn deliver(self, ud: UserData, r: Result<crate::client::SendResult, bc_error>) {
        match r {
            Ok(res) => {
                let res = bc_send_result::from(&res);
                self(ud.ptr(), bc_status::BC_OK, std::ptr::null(), &res);
            }
            Err(e) => self(ud.ptr(), e.status, &e, std::ptr::null()),
        }
    }
}

/// A batch passes to the callee.
impl Delivery<bc_batch> for extern "C" fn(*mut c_void, bc_status, *const bc_error, *mut bc_batch) {
    fn deliver(self, ud: UserData, r: Result<bc_batch, bc_error>) {
        match r {
            Ok(b) => self(
                ud.ptr(),
                bc_status::BC_OK,
                std::ptr::null(),
                Box::into_raw(Box::new(b)),
            ),
            Err(e) => self(ud.ptr(), e.status, &e, std::ptr::null_mut()),
        }
    }
}
