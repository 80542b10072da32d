//! `bc_pull_request`: a pull described field by field (group, queue, offset, how many, the
//! filter expression and its type, long polling, an offset to commit with it, the
//! subscription version), for `bc_client_pull_request*` and `bc_manager_pull_request*`. The
//! positional `bc_client_pull` takes a TAG expression only; SQL92 filters and the other fields
//! need this object.

use std::ffi::c_char;
use std::time::Duration;

use super::boundary::{call, free_object, new_object, object, object_mut, str_arg, Object};
use super::error::bc_error;
use super::status::bc_status;
use crate::client::PullRequest;
use crate::error::BrokerError;

/// The filter a pull's expression is written in.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_expression_type {
    /// Tags: `"*"`, `"a"`, `"a || b"`. The broker filters by tag hash; the client then checks
    /// the exact tag.
    BC_EXPRESSION_TAG = 0,
    /// An SQL92 condition on message properties (`"a > 5 AND b = 'x'"`); the broker needs
    /// `enablePropertyFilter=true`, else the pull fails with a typed broker error.
    BC_EXPRESSION_SQL92 = 1,
}

/// A pull request. Not thread-safe while being built; pulls only read it (and copy it), so a
/// built request may be used from several threads and reused (set a new offset between
/// pulls). Opaque.
pub struct bc_pull_request {
    pub(crate) req: PullRequest,
}

impl Object for bc_pull_request {
    const NAME: &'static str = "request";
}

/// Creates a pull of up to 32 messages from queue `queue_id` of `topic` starting at `offset`,
/// for `consumer_group`, expression `"*"` (TAG), no long polling, no offset commit.
///
/// Ownership: `*out_request` is the caller's; free it with `bc_pull_request_free`; strings are
/// copied. Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (NULL, bad group or topic).
#[no_mangle]
pub extern "C" fn bc_pull_request_new(
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    out_request: *mut *mut bc_pull_request,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let group = str_arg(consumer_group, "consumer_group")?;
        let topic = str_arg(topic, "topic")?;
        let invalid = |e: BrokerError| bc_error::from_broker(&e);
        crate::client::validate::group(group).map_err(invalid)?;
        crate::client::validate::topic(topic).map_err(invalid)?;
        let req = PullRequest::new(group, topic, queue_id, offset);
        new_object(out_request, "out_request", bc_pull_request { req })
    })
}

/// Sets the first offset wanted (e.g. a batch's `bc_batch_next_offset` for the next pull).
///
/// Thread-safety: not while the request is used elsewhere. Errors: `BC_ERR_INVALID_ARG`.
#[no_mangle]
pub extern "C" fn bc_pull_request_set_offset(
    request: *mut bc_pull_request,
    offset: i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        object_mut(request)?.req.queue_offset = offset;
        Ok(())
    })
}

/// Sets how many messages one pull returns at most (1 and up; the broker caps it too).
///
/// Thread-safety: not while the request is used elsewhere. Errors: `BC_ERR_INVALID_ARG`
/// (NULL, `max_messages` < 1).
#[no_mangle]
pub extern "C" fn bc_pull_request_set_max_messages(
    request: *mut bc_pull_request,
    max_messages: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let r = object_mut(request)?;
        if max_messages < 1 {
            return Err(bc_error::invalid_arg("`max_messages` must be positive"));
        }
        r.req.max_msg_nums = max_messages;
        Ok(())
    })
}

/// Sets the filter: `expression` in `expression_type` (a `bc_expression_type`). The pull
/// carries it (FLAG_SUBSCRIPTION), so no heartbeat subscription is needed. `expression` NULL
/// uses the subscription the group registered by heartbeat instead (with `sub_version`).
///
/// Thread-safety: not while the request is used elsewhere. Errors: `BC_ERR_INVALID_ARG`
/// (NULL request, bad UTF-8, an empty expression, an unknown type).
#[no_mangle]
pub extern "C" fn bc_pull_request_set_expression(
    request: *mut bc_pull_request,
    expression: *const c_char,
    expression_type: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let r = object_mut(request)?;
        let kind = match expression_type {
            0 => "TAG",
            1 => "SQL92",
            other => {
                return Err(bc_error::invalid_arg(&format!(
                "`expression_type` {other} is not BC_EXPRESSION_TAG (0) or BC_EXPRESSION_SQL92 (1)"
            )))
            }
        };
        let expression = if expression.is_null() {
            None
        } else {
            let e = str_arg(expression, "expression")?;
            if e.trim().is_empty() {
                return Err(bc_error::invalid_arg("`expression` is empty"));
            }
            Some(e.to_owned())
        };
        r.req.subscription = expression;
        r.req.expression_type = kind.to_owned();
        Ok(())
    })
}

/// Long polling: the broker holds the pull up to `suspend_timeout_ms` while the queue has
/// nothing new (FLAG_SUSPEND); 0 turns it off. The pull's deadline is stretched to outlast
/// the hold.
///
/// Thread-safety: not while the request is used elsewhere. Errors: `BC_ERR_INVALID_ARG`
/// (NULL, negative).
#[no_mangle]
pub extern "C" fn bc_pull_request_set_long_polling(
    request: *mut bc_pull_request,
    suspend_timeout_ms: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let r = object_mut(request)?;
        if suspend_timeout_ms < 0 {
            return Err(bc_error::invalid_arg("`suspend_timeout_ms` is negative"));
        }
        r.req.suspend_timeout =
            (suspend_timeout_ms > 0).then(|| Duration::from_millis(suspend_timeout_ms as u64));
        Ok(())
    })
}

/// Commits `offset` for the group with the pull (FLAG_COMMIT_OFFSET), as the Java push
/// consumer does; a negative `offset` commits nothing (the default).
///
/// Thread-safety: not while the request is used elsewhere. Errors: `BC_ERR_INVALID_ARG`.
#[no_mangle]
pub extern "C" fn bc_pull_request_set_commit_offset(
    request: *mut bc_pull_request,
    offset: i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        object_mut(request)?.req.commit_offset = (offset >= 0).then_some(offset);
        Ok(())
    })
}

/// Sets the subscription version sent with the pull (it must not exceed the one the
/// group's heartbeat registered when the pull carries no expression; default 0).
///
/// Thread-safety: not while the request is used elsewhere. Errors: `BC_ERR_INVALID_ARG`.
#[no_mangle]
pub extern "C" fn bc_pull_request_set_sub_version(
    request: *mut bc_pull_request,
    sub_version: i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        object_mut(request)?.req.sub_version = sub_version;
        Ok(())
    })
}

/// Frees a request; NULL is ignored. Pulls in progress do not need it.
///
/// Thread-safety: once, when no other thread uses it.
#[no_mangle]
pub extern "C" fn bc_pull_request_free(request: *mut bc_pull_request) {
    free_object(request, drop)
}

/// A copy of the request a pull export was given.
pub(crate) fn request_arg(request: *const bc_pull_request) -> Result<PullRequest, bc_error> {
    object(request).map(|r| r.req.clone())
}
