//! The numbers the C API returns and takes as plain `int32_t` (so an unknown value from C is
//! an error, never undefined behaviour), named once here so that no binding has to redefine
//! them. The functions that use them say so.

/// `bc_send_result_status`. All four mean the message was stored.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_send_status {
    BC_SEND_OK = 0,
    /// Stored, but the broker's synchronous flush timed out.
    BC_SEND_FLUSH_DISK_TIMEOUT = 1,
    /// Stored on the master, but replication to the slave timed out.
    BC_SEND_FLUSH_SLAVE_TIMEOUT = 2,
    /// Stored on the master; no slave was available for synchronous replication.
    BC_SEND_SLAVE_NOT_AVAILABLE = 3,
}

/// `bc_batch_status`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_pull_status {
    /// Messages were found (the batch may still be empty after the client's exact tag check).
    BC_PULL_FOUND = 0,
    /// Nothing new at that offset (the long poll ended, or none was asked for).
    BC_PULL_NO_NEW_MSG = 1,
    /// Messages were there, none matched the filter; pull again from the next offset.
    BC_PULL_NO_MATCHED_MSG = 2,
    /// The offset is outside the queue; `bc_batch_next_offset` says where to go on.
    BC_PULL_OFFSET_ILLEGAL = 3,
}

/// The `state` of `bc_client_end_transaction` and the answer of a
/// `bc_transaction_check_cb`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_transaction_state {
    /// Not decided yet: the broker asks again later.
    BC_TRANSACTION_UNKNOWN = 0,
    BC_TRANSACTION_COMMIT = 1,
    BC_TRANSACTION_ROLLBACK = 2,
}

/// `bc_manager_broker_state`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_broker_state {
    /// Unknown broker, NULL arguments or a closed manager.
    BC_BROKER_UNKNOWN = -1,
    BC_BROKER_HEALTHY = 0,
    /// Recent failures, below `max.consecutive.failures`.
    BC_BROKER_SUSPECT = 1,
    /// Failing at once until a health probe succeeds.
    BC_BROKER_DOWN = 2,
}

/// The `level` of `bc_set_log_callback` and of each event it receives.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_log_level {
    /// No events (as a callback's level: off).
    BC_LOG_OFF = 0,
    BC_LOG_ERROR = 1,
    BC_LOG_WARN = 2,
    BC_LOG_INFO = 3,
    BC_LOG_DEBUG = 4,
    BC_LOG_TRACE = 5,
}
