//! `bc_message`: an outgoing message, built by the caller and copied by every send.

use std::ffi::c_char;

use bytes::Bytes;

use super::boundary::{
    bytes_arg, call, free_object, new_object, object, object_mut, str_arg, Object,
};
use super::error::bc_error;
use super::status::bc_status;
use crate::protocol::message::Message;
use crate::protocol::properties::validate_property;

/// A message to send. Not thread-safe while being built; sends only read it (and copy what
/// they need before returning), so a built message may be sent from several threads.
pub struct bc_message {
    pub(crate) msg: Message,
}

impl Object for bc_message {
    const NAME: &'static str = "message";
}

fn message_mut<'a>(m: *mut bc_message) -> Result<&'a mut bc_message, bc_error> {
    object_mut(m)
}

/// Creates a message for `topic` with a copy of `body_len` bytes at `body`.
///
/// Ownership: `*out_message` is the caller's; free with `bc_message_free`.
/// Errors: `BC_ERR_INVALID_ARG` (NULL, bad UTF-8). Topic and size rules are checked by sends.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_message_new(
    topic: *const c_char,
    body: *const u8,
    body_len: usize,
    out_message: *mut *mut bc_message,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let topic = str_arg(topic, "topic")?;
        let body = bytes_arg(body, body_len, "body")?;
        let msg = Message::new(topic, Bytes::copy_from_slice(body));
        new_object(out_message, "out_message", bc_message { msg })
    })
}

/// Sets the message's tag (used for server-side filtering).
/// Errors: `BC_ERR_INVALID_ARG`.
///
/// Thread-safety: not while the message is used elsewhere (a built message may be shared read-
/// only).
#[no_mangle]
pub extern "C" fn bc_message_set_tags(
    message: *mut bc_message,
    tags: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let m = message_mut(message)?;
        let tags = str_arg(tags, "tags")?;
        validate_property("TAGS", tags).map_err(|e| bc_error::invalid_arg(&e.to_string()))?;
        m.msg.set_tags(tags);
        Ok(())
    })
}

/// Sets the message's business keys (space-separated, indexed by the broker).
/// Errors: `BC_ERR_INVALID_ARG`.
///
/// Thread-safety: not while the message is used elsewhere (a built message may be shared read-
/// only).
#[no_mangle]
pub extern "C" fn bc_message_set_keys(
    message: *mut bc_message,
    keys: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let m = message_mut(message)?;
        let keys = str_arg(keys, "keys")?;
        validate_property("KEYS", keys).map_err(|e| bc_error::invalid_arg(&e.to_string()))?;
        m.msg.set_keys(keys.split(' ').filter(|k| !k.is_empty()));
        Ok(())
    })
}

/// Sets a user property (both strings copied). Names and values may not contain the bytes
/// 0x01 or 0x02, nor be empty. Names the system reserves are refused, as the Java client's
/// `putUserProperty` refuses them: `KEYS`, `TAGS`, `WAIT`, `DELAY`, `UNIQ_KEY`, `TRAN_MSG`,
/// `PGROUP`, `TIMER_DELAY_MS`, … (every name of Java's `MessageConst.STRING_HASH_SET`, a few
/// more the broker acts on, and the `__RMQ.TRANSIENT.` prefix). Setting one would change what
/// the broker does with the message; use the setters (`bc_message_set_tags`, `_keys`,
/// `_delay_level`, `_delay_time_ms`, `_deliver_time_ms`, `_wait_store`, `_transactional`).
///
/// Ownership: both strings are copied. Thread-safety: not while the message is used elsewhere.
/// Errors: `BC_ERR_INVALID_ARG` (NULL, bad UTF-8, empty, separator bytes, reserved name).
#[no_mangle]
pub extern "C" fn bc_message_set_property(
    message: *mut bc_message,
    name: *const c_char,
    value: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let m = message_mut(message)?;
        let name = str_arg(name, "name")?;
        let value = str_arg(value, "value")?;
        m.msg
            .put_user_property(name, value)
            .map_err(|e| bc_error::invalid_arg(&format!("`name`: {e}")))
    })
}

/// Sets the delay level (1..18: 1s 5s 10s 30s 1m 2m … 2h).
/// Errors: `BC_ERR_INVALID_ARG` for a level outside 1..=18.
///
/// Thread-safety: not while the message is used elsewhere (a built message may be shared read-
/// only).
#[no_mangle]
pub extern "C" fn bc_message_set_delay_level(
    message: *mut bc_message,
    level: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let m = message_mut(message)?;
        if !(1..=18).contains(&level) {
            return Err(bc_error::invalid_arg(&format!(
                "delay level {level} is outside 1..=18"
            )));
        }
        m.msg.set_delay_level(level);
        Ok(())
    })
}

/// Sets the user flag stored with the message.
/// Errors: `BC_ERR_INVALID_ARG`.
///
/// Thread-safety: not while the message is used elsewhere (a built message may be shared read-
/// only).
#[no_mangle]
pub extern "C" fn bc_message_set_flag(
    message: *mut bc_message,
    flag: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        message_mut(message)?.msg.flag = flag;
        Ok(())
    })
}

/// Marks the message as a transaction half message (committed or rolled back later with
/// `bc_client_end_transaction`, or through the broker's check).
/// Errors: `BC_ERR_INVALID_ARG`.
///
/// Thread-safety: not while the message is used elsewhere (a built message may be shared read-
/// only).
#[no_mangle]
pub extern "C" fn bc_message_set_transactional(
    message: *mut bc_message,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        message_mut(message)?.msg.set_transactional();
        Ok(())
    })
}

/// Delivers the message `delay_ms` milliseconds after the broker stores it (`TIMER_DELAY_MS`,
/// RocketMQ 5.x timer messages; a 4.x broker ignores it and delivers at once). Not allowed in
/// batches.
///
/// Thread-safety: not while the message is used elsewhere.
/// Errors: `BC_ERR_INVALID_ARG` (NULL, `delay_ms` < 1).
#[no_mangle]
pub extern "C" fn bc_message_set_delay_time_ms(
    message: *mut bc_message,
    delay_ms: i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let m = message_mut(message)?;
        if delay_ms < 1 {
            return Err(bc_error::invalid_arg(&format!(
                "`delay_ms` {delay_ms} is not positive"
            )));
        }
        m.msg.set_delay_time_ms(delay_ms);
        Ok(())
    })
}

/// Delivers the message at `deliver_at_ms` (epoch milliseconds; `TIMER_DELIVER_MS`, RocketMQ
/// 5.x timer messages; a 4.x broker ignores it). Not allowed in batches.
///
/// Thread-safety: not while the message is used elsewhere.
/// Errors: `BC_ERR_INVALID_ARG` (NULL, `deliver_at_ms` < 1).
#[no_mangle]
pub extern "C" fn bc_message_set_deliver_time_ms(
    message: *mut bc_message,
    deliver_at_ms: i64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let m = message_mut(message)?;
        if deliver_at_ms < 1 {
            return Err(bc_error::invalid_arg(&format!(
                "`deliver_at_ms` {deliver_at_ms} is not positive"
            )));
        }
        m.msg.set_deliver_time_ms(deliver_at_ms);
        Ok(())
    })
}

/// Whether the broker answers only once the message is flushed to disk (`WAIT`, default true;
/// matters only on a broker with synchronous flush). `wait` false asks for the answer at once.
///
/// Thread-safety: not while the message is used elsewhere.
/// Errors: `BC_ERR_INVALID_ARG` (NULL).
#[no_mangle]
pub extern "C" fn bc_message_set_wait_store(
    message: *mut bc_message,
    wait: bool,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        message_mut(message)?.msg.set_wait_store_ok(wait);
        Ok(())
    })
}

/// Frees a message; NULL is ignored. Sends in progress do not need it.
///
/// Thread-safety: once, when no other thread uses it; sends in progress do not need it.
#[no_mangle]
pub extern "C" fn bc_message_free(message: *mut bc_message) {
    free_object(message, drop)
}

pub(crate) fn message_arg<'a>(m: *const bc_message) -> Result<&'a Message, bc_error> {
    object(m).map(|m| &m.msg)
}
