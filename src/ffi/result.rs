//! Results handed to C: `bc_send_result` (a send's outcome) and `bc_batch` (pulled messages,
//! whose bodies are views into the received frame until `bc_batch_free`).

use std::ffi::{c_char, CString};

use super::boundary::{arg, call, call_or, free_object, Object};
use super::error::bc_error;
use super::status::bc_status;
use super::text::c_text;
use crate::client::{PullResult, PullStatus, SendResult, SendStatus};
use crate::protocol::message::MessageExt;

/// The outcome of a send. Read with the `bc_send_result_*` getters.
pub struct bc_send_result {
    status: i32,
    msg_id: CString,
    offset_msg_id: CString,
    transaction_id: CString,
    queue_id: i32,
    queue_offset: i64,
}

impl Object for bc_send_result {
    const NAME: &'static str = "result";
}

impl From<&SendResult> for bc_send_result {
    fn from(r: &SendResult) -> Self {
        bc_send_result {
            status: match r.status {
                SendStatus::SendOk => 0,
                SendStatus::FlushDiskTimeout => 1,
                SendStatus::FlushSlaveTimeout => 2,
                SendStatus::SlaveNotAvailable => 3,
            },
            msg_id: c_text(&r.msg_id),
            offset_msg_id: c_text(&r.offset_msg_id),
            transaction_id: c_text(r.transaction_id.as_deref().unwrap_or("")),
            queue_id: r.queue_id,
            queue_offset: r.queue_offset,
        }
    }
}

/// A `bc_send_status` (`BC_SEND_OK` …; all four mean the message was stored); -1 for NULL.
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_send_result_status(r: *const bc_send_result) -> i32 {
    call_or(-1, || arg(r, "result").map_or(-1, |r| r.status))
}

/// The client message id (UNIQ_KEY); comma-joined for a batch.
/// Ownership: borrowed until the result is freed (or the callback returns).
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_send_result_msg_id(r: *const bc_send_result) -> *const c_char {
    call_or(c"".as_ptr(), || {
        arg(r, "result").map_or(c"".as_ptr(), |r| r.msg_id.as_ptr())
    })
}

/// The broker's offset message id (decodes to store host and commit-log offset).
/// Ownership: borrowed until the result is freed (or the callback returns).
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_send_result_offset_msg_id(r: *const bc_send_result) -> *const c_char {
    call_or(c"".as_ptr(), || {
        arg(r, "result").map_or(c"".as_ptr(), |r| r.offset_msg_id.as_ptr())
    })
}

/// The transaction id of a half message (`""` otherwise).
/// Ownership: borrowed until the result is freed (or the callback returns).
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_send_result_transaction_id(r: *const bc_send_result) -> *const c_char {
    call_or(c"".as_ptr(), || {
        arg(r, "result").map_or(c"".as_ptr(), |r| r.transaction_id.as_ptr())
    })
}

/// The queue the message went to; -1 for NULL.
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_send_result_queue_id(r: *const bc_send_result) -> i32 {
    call_or(-1, || arg(r, "result").map_or(-1, |r| r.queue_id))
}

/// The consume-queue offset of the (first) message; -1 for NULL.
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_send_result_queue_offset(r: *const bc_send_result) -> i64 {
    call_or(-1, || arg(r, "result").map_or(-1, |r| r.queue_offset))
}

/// Frees a result returned by a blocking send; NULL is ignored. Never free the borrowed
/// result a callback receives.
///
/// Thread-safety: once, when no other thread uses it.
#[no_mangle]
pub extern "C" fn bc_send_result_free(r: *mut bc_send_result) {
    free_object(r, drop)
}

/// One pulled message, as pointers into its `bc_batch`, valid until `bc_batch_free`.
/// Set `struct_size = sizeof(bc_message_view)` before calling `bc_batch_get`: the library
/// fills only the fields that fit, so older callers keep working when fields are appended.
#[repr(C)]
pub struct bc_message_view {
    pub struct_size: usize,
    pub body: *const u8,
    pub body_len: usize,
    /// NUL-terminated.
    pub topic: *const c_char,
    /// NUL-terminated; `""` when the message has no tag.
    pub tags: *const c_char,
    /// NUL-terminated, space-separated; `""` when none.
    pub keys: *const c_char,
    /// The client message id (UNIQ_KEY), or the offset id when there is none.
    pub msg_id: *const c_char,
    pub offset_msg_id: *const c_char,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub born_timestamp: i64,
    pub store_timestamp: i64,
    pub reconsume_times: i32,
}

struct Pulled {
    msg: MessageExt,
    topic: CString,
    tags: CString,
    keys: CString,
    msg_id: CString,
    offset_msg_id: CString,
    /// Property names and values, NUL-terminated, for `bc_batch_property`.
    properties: Vec<(CString, CString)>,
}

/// Pulled messages and the pull's outcome. Owned by whoever received it; one
/// `bc_batch_free` releases everything. Immutable: readable from any thread.
pub struct bc_batch {
    status: i32,
    next_begin_offset: i64,
    min_offset: i64,
    max_offset: i64,
    messages: Vec<Pulled>,
}

impl Object for bc_batch {
    const NAME: &'static str = "batch";
}

impl From<PullResult> for bc_batch {
    fn from(r: PullResult) -> Self {
        bc_batch {
            status: match r.status {
                PullStatus::Found => 0,
                PullStatus::NoNewMsg => 1,
                PullStatus::NoMatchedMsg => 2,
                PullStatus::OffsetIllegal => 3,
            },
            next_begin_offset: r.next_begin_offset,
            min_offset: r.min_offset,
            max_offset: r.max_offset,
            messages: r
                .messages
                .into_iter()
                .map(|m| Pulled {
                    topic: c_text(&m.topic),
                    tags: c_text(m.tags().unwrap_or("")),
                    keys: c_text(m.keys().unwrap_or("")),
                    msg_id: c_text(&m.msg_id()),
                    offset_msg_id: c_text(&m.offset_msg_id()),
                    properties: m
                        .properties
                        .iter()
                        .map(|(k, v)| (c_text(k), c_text(v)))
                        .collect(),
                    msg: m,
                })
                .collect(),
        }
    }
}

/// A `bc_pull_status` (`BC_PULL_FOUND`, `_NO_NEW_MSG`, `_NO_MATCHED_MSG`, `_OFFSET_ILLEGAL`);
/// -1 for NULL.
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_batch_status(b: *const bc_batch) -> i32 {
    call_or(-1, || arg(b, "batch").map_or(-1, |b| b.status))
}

/// Where the next pull of this queue should start; -1 for NULL.
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_batch_next_offset(b: *const bc_batch) -> i64 {
    call_or(-1, || arg(b, "batch").map_or(-1, |b| b.next_begin_offset))
}

/// The queue's smallest stored offset at pull time; -1 for NULL.
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_batch_min_offset(b: *const bc_batch) -> i64 {
    call_or(-1, || arg(b, "batch").map_or(-1, |b| b.min_offset))
}

/// The queue's next offset to be written at pull time; -1 for NULL.
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_batch_max_offset(b: *const bc_batch) -> i64 {
    call_or(-1, || arg(b, "batch").map_or(-1, |b| b.max_offset))
}

/// The number of messages in the batch (0 for NULL).
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_batch_len(b: *const bc_batch) -> usize {
    call_or(0, || arg(b, "batch").map_or(0, |b| b.messages.len()))
}

/// Fills `*view` with message `index`. Pointers stay valid until `bc_batch_free(b)`.
/// Errors: `BC_ERR_INVALID_ARG` (NULL, index out of range, `struct_size` too small for the
/// first fields).
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_batch_get(
    b: *const bc_batch,
    index: usize,
    view: *mut bc_message_view,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let b = arg(b, "batch")?;
        let p = b.messages.get(index).ok_or_else(|| {
            bc_error::invalid_arg(&format!(
                "index {index} is out of range ({} messages)",
                b.messages.len()
            ))
        })?;
        if view.is_null() {
            return Err(bc_error::invalid_arg("`view` is NULL"));
        }
        // SAFETY: non-NULL; the caller set struct_size to the size it allocated.
        let size = unsafe { (*view).struct_size };
        let full = bc_message_view {
            struct_size: size,
            body: p.msg.body.as_ptr(),
            body_len: p.msg.body.len(),
            topic: p.topic.as_ptr(),
            tags: p.tags.as_ptr(),
            keys: p.keys.as_ptr(),
            msg_id: p.msg_id.as_ptr(),
            offset_msg_id: p.offset_msg_id.as_ptr(),
            queue_id: p.msg.queue_id,
            flag: p.msg.flag,
            queue_offset: p.msg.queue_offset,
            commit_log_offset: p.msg.commit_log_offset,
            born_timestamp: p.msg.born_timestamp,
            store_timestamp: p.msg.store_timestamp,
            reconsume_times: p.msg.reconsume_times,
        };
        let min = std::mem::offset_of!(bc_message_view, topic);
        if size < min {
            return Err(bc_error::invalid_arg("`view->struct_size` is too small"));
        }
        let n = size.min(std::mem::size_of::<bc_message_view>());
        // SAFETY: copies the first `n` bytes, which the caller said it allocated.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&full as *const bc_message_view).cast::<u8>(),
                view.cast::<u8>(),
                n,
            )
        };
        Ok(())
    })
}

/// The value of property `name` of message `index`, or NULL when absent (or on bad
/// arguments). Ownership: borrowed until `bc_batch_free(b)`.
///
/// Thread-safety: any thread; the object is immutable.
#[no_mangle]
pub extern "C" fn bc_batch_property(
    b: *const bc_batch,
    index: usize,
    name: *const c_char,
) -> *const c_char {
    call_or(std::ptr::null(), || {
        let (Ok(b), Ok(name)) = (arg(b, "batch"), super::boundary::str_arg(name, "name")) else {
            return std::ptr::null();
        };
        b.messages
            .get(index)
            .and_then(|p| {
                p.properties
                    .iter()
                    .find(|(k, _)| k.to_bytes() == name.as_bytes())
            })
            .map_or(std::ptr::null(), |(_, v)| v.as_ptr())
    })
}

/// How many properties message `index` carries (system ones such as `UNIQ_KEY`, `KEYS`,
/// `TAGS` included); 0 for bad arguments. Read them with `bc_batch_property_at`.
///
/// Thread-safety: any thread (a batch is immutable).
#[no_mangle]
pub extern "C" fn bc_batch_property_count(b: *const bc_batch, index: usize) -> usize {
    call_or(0, || {
        arg(b, "batch")
            .ok()
            .and_then(|b| b.messages.get(index))
            .map_or(0, |p| p.properties.len())
    })
}

/// Property `j` (0 ≤ `j` < `bc_batch_property_count(b, index)`) of message `index`: its
/// name and value, in the order the broker stored them.
///
/// Ownership: `*out_name` and `*out_value` are borrowed until `bc_batch_free(b)`; both must
/// not be NULL. Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL, an index out
/// of range).
#[no_mangle]
pub extern "C" fn bc_batch_property_at(
    b: *const bc_batch,
    index: usize,
    j: usize,
    out_name: *mut *const c_char,
    out_value: *mut *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let b = arg(b, "batch")?;
        let m = b.messages.get(index).ok_or_else(|| {
            bc_error::invalid_arg(&format!(
                "`index` {index} is out of range ({} messages)",
                b.messages.len()
            ))
        })?;
        let (name, value) = m.properties.get(j).ok_or_else(|| {
            bc_error::invalid_arg(&format!(
                "`j` {j} is out of range ({} properties)",
                m.properties.len()
            ))
        })?;
        if out_value.is_null() {
            return Err(bc_error::invalid_arg("`out_value` is NULL"));
        }
        super::boundary::out(out_name, "out_name", name.as_ptr())?;
        super::boundary::out(out_value, "out_value", value.as_ptr())
    })
}

/// Frees a batch and every view into it; NULL is ignored.
///
/// Thread-safety: once, when no other thread uses it.
#[no_mangle]
pub extern "C" fn bc_batch_free(b: *mut bc_batch) {
    free_object(b, drop)
}
