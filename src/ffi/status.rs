//! `bc_status`: the return value of every fallible C function. Values are explicit and never
//! renumbered; local conditions are negative, conditions a broker reported are 100 and up.
//! Callers must keep a default case for values they do not know.

use std::ffi::c_char;

use crate::error::BrokerError;

/// Status of a C API call or of an asynchronous completion.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum bc_status {
    /// Success.
    BC_OK = 0,
    /// An argument is NULL, not UTF-8, out of range or otherwise invalid; nothing was sent.
    BC_ERR_INVALID_ARG = -1,
    /// Connecting failed or the connection was lost.
    BC_ERR_CONNECTION = -2,
    /// The operation's deadline passed.
    BC_ERR_TIMEOUT = -3,
    /// The peer sent bytes that do not decode; the connection was closed.
    BC_ERR_PROTOCOL = -4,
    /// The local in-flight window is full; try again later.
    BC_ERR_WOULD_BLOCK = -5,
    /// The operation was cancelled by the caller.
    BC_ERR_CANCELLED = -6,
    /// The object (or its parent) is shutting down or shut down.
    BC_ERR_SHUTDOWN = -7,
    /// The handle was closed; only its free function may be called.
    BC_ERR_CLOSED = -8,
    /// A blocking call was made from a library thread, where it would deadlock.
    BC_ERR_WOULD_DEADLOCK = -9,
    /// The handle was created before `fork()` (in the parent): it is unusable in the child, whose
    /// process has none of its library threads. Free it (that returns at once) and create new
    /// objects in the child: they work.
    BC_ERR_FORKED = -10,
    /// A bug in the library (a panic) was caught at the C boundary. When it happened in an
    /// operation of a client or manager, that handle is now unusable: every later call on it
    /// returns `BC_ERR_FATAL`; free it (that still works) and create a new one.
    BC_ERR_FATAL = -11,
    /// The caller's buffer is too small; the required size is reported.
    BC_ERR_BUFFER_TOO_SMALL = -12,
    /// The broker answered with an error code (see `bc_error_response_code`).
    BC_ERR_BROKER_RESPONSE = 100,
    /// NO_PERMISSION: ACL refused, or the topic/group/broker is not accessible.
    BC_ERR_AUTHORIZATION = 101,
    /// The broker is flow-controlling (SYSTEM_BUSY and friends); retriable.
    BC_ERR_BROKER_BUSY = 102,
    /// A pull failed (subscription errors…), not "no new message".
    BC_ERR_PULL = 103,
    /// No committed offset, or an offset the broker refused.
    BC_ERR_OFFSET = 104,
    /// SYSTEM_ERROR or SERVICE_NOT_AVAILABLE from the broker; retriable.
    BC_ERR_BROKER_SYSTEM = 105,
}

impl bc_status {
    pub(crate) fn of(e: &BrokerError) -> bc_status {
        use bc_status::*;
        match e {
            BrokerError::Connection { .. } => BC_ERR_CONNECTION,
            BrokerError::Timeout { .. } => BC_ERR_TIMEOUT,
            BrokerError::Response { .. } => BC_ERR_BROKER_RESPONSE,
            BrokerError::Protocol { .. } => BC_ERR_PROTOCOL,
            BrokerError::Authorization { .. } => BC_ERR_AUTHORIZATION,
            BrokerError::BrokerBusy { code: -1, .. } => BC_ERR_WOULD_BLOCK,
            BrokerError::BrokerBusy { .. } => BC_ERR_BROKER_BUSY,
            BrokerError::MessagePull { .. } => BC_ERR_PULL,
            BrokerError::Offset { .. } => BC_ERR_OFFSET,
            BrokerError::System { .. } => BC_ERR_BROKER_SYSTEM,
            BrokerError::InvalidArgument(_) => BC_ERR_INVALID_ARG,
            BrokerError::Cancelled => BC_ERR_CANCELLED,
            BrokerError::Shutdown => BC_ERR_SHUTDOWN,
            BrokerError::WouldDeadlock => BC_ERR_WOULD_DEADLOCK,
        }
    }

    fn name_and_text(code: i32) -> (&'static str, &'static str) {
        match code {
            0 => ("BC_OK\0", "success\0"),
            -1 => ("BC_ERR_INVALID_ARG\0", "invalid argument\0"),
            -2 => ("BC_ERR_CONNECTION\0", "connection failed or lost\0"),
            -3 => ("BC_ERR_TIMEOUT\0", "deadline passed\0"),
            -4 => ("BC_ERR_PROTOCOL\0", "protocol error\0"),
            -5 => ("BC_ERR_WOULD_BLOCK\0", "in-flight window full\0"),
            -6 => ("BC_ERR_CANCELLED\0", "cancelled\0"),
            -7 => ("BC_ERR_SHUTDOWN\0", "shutting down\0"),
            -8 => ("BC_ERR_CLOSED\0", "handle closed\0"),
            -9 => (
                "BC_ERR_WOULD_DEADLOCK\0",
                "blocking call from a library thread\0",
            ),
            -10 => ("BC_ERR_FORKED\0", "object inherited through fork\0"),
            -11 => ("BC_ERR_FATAL\0", "fatal internal error\0"),
            -12 => ("BC_ERR_BUFFER_TOO_SMALL\0", "buffer too small\0"),
            100 => (
                "BC_ERR_BROKER_RESPONSE\0",
                "broker answered with an error\0",
            ),
            101 => ("BC_ERR_AUTHORIZATION\0", "not authorized\0"),
            102 => ("BC_ERR_BROKER_BUSY\0", "broker busy\0"),
            103 => ("BC_ERR_PULL\0", "pull failed\0"),
            104 => ("BC_ERR_OFFSET\0", "offset error\0"),
            105 => ("BC_ERR_BROKER_SYSTEM\0", "broker system error\0"),
            _ => ("BC_ERR_UNKNOWN\0", "unknown status\0"),
        }
    }
}

/// A short English description of `status` (any value, known or not).
///
/// Ownership: static string; never free it. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_status_str(status: i32) -> *const c_char {
    bc_status::name_and_text(status).1.as_ptr().cast()
}

/// The symbolic name of `status`, e.g. `"BC_ERR_TIMEOUT"`; `"BC_ERR_UNKNOWN"` for values
/// this library version does not know.
///
/// Ownership: static string; never free it. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_status_name(status: i32) -> *const c_char {
    bc_status::name_and_text(status).0.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_status_has_a_name_and_text() {
        for s in [
            -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 100, 101, 102, 103, 104, 105,
        ] {
            let name = unsafe { CStr::from_ptr(bc_status_name(s)) }
                .to_str()
                .unwrap();
            assert!(name.starts_with("BC_"), "{s}");
            assert_ne!(name, "BC_ERR_UNKNOWN", "{s}");
            assert!(!unsafe { CStr::from_ptr(bc_status_str(s)) }
                .to_bytes()
                .is_empty());
        }
        let unknown = unsafe { CStr::from_ptr(bc_status_name(-999)) };
        assert_eq!(unknown.to_str().unwrap(), "BC_ERR_UNKNOWN");
    }

    #[test]
    fn errors_map_to_statuses() {
        assert_eq!(
            bc_status::of(&BrokerError::from_response(17, None)),
            bc_status::BC_ERR_BROKER_RESPONSE
        );
        assert_eq!(
            bc_status::of(&BrokerError::from_response(2, None)),
            bc_status::BC_ERR_BROKER_BUSY
        );
        assert_eq!(
            bc_status::of(&BrokerError::BrokerBusy {
                code: -1,
                remark: String::new()
            }),
            bc_status::BC_ERR_WOULD_BLOCK
        );
        assert_eq!(
            bc_status::of(&BrokerError::WouldDeadlock),
            bc_status::BC_ERR_WOULD_DEADLOCK
        );
    }
}
