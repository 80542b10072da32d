//! Answering the broker's transaction checks from C: the view a `bc_transaction_check_cb`
//! reads (`bc_transaction_check_*`), and the registration that owns the callback's user data.

use std::ffi::{c_char, c_void, CString};
use std::sync::{Arc, Mutex};

use super::boundary::{arg, str_arg};
use super::callbacks::{replace, Registration};
use super::text::c_text;
use crate::client::AsyncBrokerClient;

/// A broker's question about a transaction's half message, seen by a
/// `bc_transaction_check_cb`. Opaque; read it with the `bc_transaction_check_*` getters.
/// Borrowed: valid only during the callback.
pub struct bc_transaction_check {
    msg_id: CString,
    transaction_id: CString,
    topic: CString,
    body: bytes::Bytes,
    properties: Vec<(CString, CString)>,
}

impl bc_transaction_check {
    fn new(check: &crate::client::TransactionCheck) -> bc_transaction_check {
        let m = &check.message;
        let msg_id = check
            .header
            .msg_id
            .clone()
            .or_else(|| m.unique_key().map(str::to_owned))
            .unwrap_or_else(|| m.msg_id());
        let transaction_id = check
            .header
            .transaction_id
            .clone()
            .or_else(|| {
                m.property(crate::protocol::properties::keys::TRANSACTION_ID)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        bc_transaction_check {
            msg_id: c_text(&msg_id),
            transaction_id: c_text(&transaction_id),
            topic: c_text(&m.topic),
            body: m.body.clone(),
            properties: m
                .properties
                .iter()
                .map(|(k, v)| (c_text(k), c_text(v)))
                .collect(),
        }
    }
}

/// Decides a half message's fate when the broker asks (CHECK_TRANSACTION_STATE): return a `bc_transaction_state`: 1 to
/// commit, 2 to roll back, 0 for unknown (the broker asks again later); any other value
/// counts as unknown. `check` is borrowed for the call. Runs on a library thread (also for
/// clients in queue mode: the broker waits for the answer); it may block briefly (e.g. look
/// the transaction up in a database) but must not call blocking `bc_*` functions (they
/// return `BC_ERR_WOULD_DEADLOCK`), throw or longjmp. Checks may run concurrently.
pub type bc_transaction_check_cb =
    Option<extern "C" fn(user_data: *mut c_void, check: *const bc_transaction_check) -> i32>;

/// An installed transaction-check callback.
pub(crate) type TransactionCheckRegistration =
    Registration<extern "C" fn(*mut c_void, *const bc_transaction_check) -> i32>;

fn decide(
    r: &TransactionCheckRegistration,
    check: &crate::client::TransactionCheck,
) -> crate::client::TransactionState {
    use crate::client::TransactionState;
    let view = std::panic::catch_unwind(|| bc_transaction_check::new(check));
    let Ok(view) = view else {
        return TransactionState::Unknown;
    };
    match (r.cb)(r.user_data.ptr(), &view) {
        1 => TransactionState::Commit,
        2 => TransactionState::Rollback,
        _ => TransactionState::Unknown,
    }
}

/// Installs `registration` (or none) on `client`'s connection; returns the one it replaces,
/// to be dropped by the caller outside every lock.
pub(crate) fn install(
    slot: &Mutex<Option<Arc<TransactionCheckRegistration>>>,
    client: &AsyncBrokerClient,
    registration: Option<Arc<TransactionCheckRegistration>>,
) -> Option<Arc<TransactionCheckRegistration>> {
    replace(slot, registration, |r| {
        let handler = r.map(|r| {
            Arc::new(move |check: &crate::client::TransactionCheck| decide(&r, check))
                as Arc<crate::client::TransactionCheckHandler>
        });
        client.set_transaction_check_handler(handler);
    })
}

/// The message id (UNIQ_KEY) of the half message, as its send returned in
/// `bc_send_result_msg_id`; `""` for NULL.
///
/// Ownership: borrowed for the callback. Thread-safety: the callback's thread.
#[no_mangle]
pub extern "C" fn bc_transaction_check_msg_id(check: *const bc_transaction_check) -> *const c_char {
    super::boundary::call_or(c"".as_ptr(), || {
        arg(check, "check").map_or(c"".as_ptr(), |c| c.msg_id.as_ptr())
    })
}

/// The transaction id (as `bc_send_result_transaction_id`), `""` when none or for NULL.
///
/// Ownership: borrowed for the callback. Thread-safety: the callback's thread.
#[no_mangle]
pub extern "C" fn bc_transaction_check_transaction_id(
    check: *const bc_transaction_check,
) -> *const c_char {
    super::boundary::call_or(c"".as_ptr(), || {
        arg(check, "check").map_or(c"".as_ptr(), |c| c.transaction_id.as_ptr())
    })
}

/// The half message's real topic; `""` for NULL.
///
/// Ownership: borrowed for the callback. Thread-safety: the callback's thread.
#[no_mangle]
pub extern "C" fn bc_transaction_check_topic(check: *const bc_transaction_check) -> *const c_char {
    super::boundary::call_or(c"".as_ptr(), || {
        arg(check, "check").map_or(c"".as_ptr(), |c| c.topic.as_ptr())
    })
}

/// The half message's body; its length goes to `*out_len` (when not NULL). NULL (length 0)
/// for NULL `check`; a non-NULL pointer with length 0 for an empty body.
///
/// Ownership: borrowed for the callback. Thread-safety: the callback's thread.
#[no_mangle]
pub extern "C" fn bc_transaction_check_body(
    check: *const bc_transaction_check,
    out_len: *mut usize,
) -> *const u8 {
    super::boundary::call_or(std::ptr::null(), || {
        let (ptr, len) = match arg(check, "check") {
            Ok(c) => (c.body.as_ptr(), c.body.len()),
            Err(_) => (std::ptr::null(), 0),
        };
        if !out_len.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { out_len.write(len) };
        }
        ptr
    })
}

/// The value of property `name` of the half message (e.g. `"PGROUP"`, `"TAGS"`, user
/// properties), or NULL when absent or on NULL arguments.
///
/// Ownership: borrowed for the callback. Thread-safety: the callback's thread.
#[no_mangle]
pub extern "C" fn bc_transaction_check_property(
    check: *const bc_transaction_check,
    name: *const c_char,
) -> *const c_char {
    super::boundary::call_or(std::ptr::null(), || {
        let (Ok(c), Ok(name)) = (arg(check, "check"), str_arg(name, "name")) else {
            return std::ptr::null();
        };
        c.properties
            .iter()
            .find(|(k, _)| k.to_bytes() == name.as_bytes())
            .map_or(std::ptr::null(), |(_, v)| v.as_ptr())
    })
}
