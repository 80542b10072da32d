//! The error model of the client layers: [`BrokerError`], and the one table that maps
//! RocketMQ response codes onto it (REMOTING.md §6).

use std::time::Duration;

use thiserror::Error;

use crate::protocol::codes::response;
use crate::protocol::ProtocolError;

/// Everything a broker operation can fail with. Each variant says whether trying again (on
/// this or another broker) can succeed: see [`BrokerError::is_retriable`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// Connecting failed, or the connection was lost before the response came.
    #[error("connection to {addr} failed: {reason}")]
    Connection { addr: String, reason: String },
    /// The request's deadline passed (connect, write and wait share one deadline).
    #[error("{operation} to {addr} timed out after {after:?}")]
    Timeout {
        addr: String,
        operation: &'static str,
        after: Duration,
    },
    /// The broker answered with an error code this library has no closer category for.
    #[error("broker answered {name} ({code}): {remark}")]
    Response {
        code: i32,
        name: &'static str,
        remark: String,
    },
    /// The peer sent bytes that do not decode; the connection is closed.
    #[error("protocol error from {addr}: {source}")]
    Protocol {
        addr: String,
        #[source]
        source: ProtocolError,
    },
    /// NO_PERMISSION: ACL refused, or the topic/group/broker is not readable or writable.
    #[error("not authorized ({code}): {remark}")]
    Authorization { code: i32, remark: String },
    /// Flow control (SYSTEM_BUSY and friends), or, with code -1, the local in-flight window
    /// is full.
    #[error("broker busy ({code}): {remark}")]
    BrokerBusy { code: i32, remark: String },
    /// A pull failed for a reason other than "no new message" (subscription errors…).
    #[error("pull failed ({code}): {remark}")]
    MessagePull { code: i32, remark: String },
    /// No committed offset, or an offset the broker does not accept.
    #[error("offset error ({code}): {remark}")]
    Offset { code: i32, remark: String },
    /// SYSTEM_ERROR or SERVICE_NOT_AVAILABLE from the broker.
    #[error("broker system error ({code}): {remark}")]
    System { code: i32, remark: String },
    /// Rejected locally before anything was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The caller cancelled the operation.
    #[error("operation cancelled")]
    Cancelled,
    /// The client or its runtime is shutting down.
    #[error("client is shut down")]
    Shutdown,
    /// A blocking call was made from a runtime thread, where waiting would deadlock.
    #[error("blocking call from a runtime thread would deadlock; use the async API there")]
    WouldDeadlock,
}

impl BrokerError {
    /// Maps a non-success response code to its error (the one table, tested below).
    pub fn from_response(code: i32, remark: Option<&str>) -> BrokerError {
        use response::*;
        let remark = remark.unwrap_or_default().to_owned();
        match code {
            SYSTEM_BUSY | FLOW_CONTROL | POLLING_FULL => BrokerError::BrokerBusy { code, remark },
            NO_PERMISSION => BrokerError::Authorization { code, remark },
            // 4.x ACL 1.0 refuses from its RPC hook by throwing: the broker turns that into
            // SYSTEM_ERROR with the exception's text (`PlainPermissionManager.validate`).
            SYSTEM_ERROR if remark.contains("AclException") => {
                BrokerError::Authorization { code, remark }
            }
            SYSTEM_ERROR | SERVICE_NOT_AVAILABLE => BrokerError::System { code, remark },
            PULL_NOT_FOUND
            | PULL_RETRY_IMMEDIATELY
            | PULL_OFFSET_MOVED
            | SUBSCRIPTION_PARSE_FAILED
            | SUBSCRIPTION_NOT_EXIST
            | SUBSCRIPTION_NOT_LATEST
            | FILTER_DATA_NOT_EXIST
            | FILTER_DATA_NOT_LATEST
            | POLLING_TIMEOUT => BrokerError::MessagePull { code, remark },
            QUERY_NOT_FOUND => BrokerError::Offset { code, remark },
            _ => BrokerError::Response {
                code,
                name: response::name(code),
                remark,
            },
        }
    }

    /// Whether the same request can succeed if tried again (on this or another broker).
    /// Follows the Java producer's retry list (`DefaultMQProducer.retryResponseCodes`).
    pub fn is_retriable(&self) -> bool {
        use response::*;
        match self {
            BrokerError::Connection { .. }
            | BrokerError::Timeout { .. }
            | BrokerError::BrokerBusy { .. }
            | BrokerError::System { .. } => true,
            BrokerError::Response { code, .. } => matches!(
                *code,
                TOPIC_NOT_EXIST | NO_BUYER_ID | NOT_IN_CURRENT_UNIT | GO_AWAY
            ),
            BrokerError::MessagePull { code, .. } => *code == SUBSCRIPTION_NOT_LATEST,
            BrokerError::Protocol { .. }
            | BrokerError::Authorization { .. }
            | BrokerError::Offset { .. }
            | BrokerError::InvalidArgument(_)
            | BrokerError::Cancelled
            | BrokerError::Shutdown
            | BrokerError::WouldDeadlock => false,
        }
    }

    /// The RocketMQ response code behind this error, if the broker sent one.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            BrokerError::Response { code, .. }
            | BrokerError::Authorization { code, .. }
            | BrokerError::BrokerBusy { code, .. }
            | BrokerError::MessagePull { code, .. }
            | BrokerError::Offset { code, .. }
            | BrokerError::System { code, .. } => Some(*code).filter(|c| *c >= 0),
            _ => None,
        }
    }
}

/// Result alias of the client layers.
pub type Result<T, E = BrokerError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    type Case = (i32, fn(&BrokerError) -> bool, bool);

    #[test]
    fn acl_1_refusals_are_authorization_errors() {
        let e = BrokerError::from_response(
            response::SYSTEM_ERROR,
            Some("org.apache.rocketmq.acl.common.AclException: Check signature failed for accessKey=ak"),
        );
        assert!(
            matches!(e, BrokerError::Authorization { code: 1, .. }),
            "{e:?}"
        );
        assert!(!e.is_retriable());
        let other = BrokerError::from_response(response::SYSTEM_ERROR, Some("disk full"));
        assert!(matches!(other, BrokerError::System { .. }));
    }

    #[test]
    fn response_code_table() {
        use response::*;
        let cases: &[Case] = &[
            (
                SYSTEM_BUSY,
                |e| matches!(e, BrokerError::BrokerBusy { .. }),
                true,
            ),
            (
                FLOW_CONTROL,
                |e| matches!(e, BrokerError::BrokerBusy { .. }),
                true,
            ),
            (
                NO_PERMISSION,
                |e| matches!(e, BrokerError::Authorization { .. }),
                false,
            ),
            (
                SYSTEM_ERROR,
                |e| matches!(e, BrokerError::System { .. }),
                true,
            ),
            (
                SERVICE_NOT_AVAILABLE,
                |e| matches!(e, BrokerError::System { .. }),
                true,
            ),
            (
                SUBSCRIPTION_NOT_EXIST,
                |e| matches!(e, BrokerError::MessagePull { .. }),
                false,
            ),
            (
                PULL_OFFSET_MOVED,
                |e| matches!(e, BrokerError::MessagePull { .. }),
                false,
            ),
            (
                QUERY_NOT_FOUND,
                |e| matches!(e, BrokerError::Offset { .. }),
                false,
            ),
            (
                TOPIC_NOT_EXIST,
                |e| matches!(e, BrokerError::Response { .. }),
                true,
            ),
            (GO_AWAY, |e| matches!(e, BrokerError::Response { .. }), true),
            (
                MESSAGE_ILLEGAL,
                |e| matches!(e, BrokerError::Response { .. }),
                false,
            ),
            (
                INVALID_PARAMETER,
                |e| matches!(e, BrokerError::Response { .. }),
                false,
            ),
            (12345, |e| matches!(e, BrokerError::Response { .. }), false),
        ];
        for (code, is_variant, retriable) in cases {
            let e = BrokerError::from_response(*code, Some("why"));
            assert!(is_variant(&e), "code {code} -> {e:?}");
            assert_eq!(e.is_retriable(), *retriable, "code {code}");
            assert_eq!(e.response_code(), Some(*code));
            assert!(e.to_string().contains("why"));
        }
    }

    #[test]
    fn local_errors_are_not_retriable_except_transport() {
        assert!(!BrokerError::InvalidArgument("x".into()).is_retriable());
        assert!(!BrokerError::WouldDeadlock.is_retriable());
        assert!(BrokerError::Connection {
            addr: "a".into(),
            reason: "r".into()
        }
        .is_retriable());
        assert_eq!(BrokerError::Cancelled.response_code(), None);
    }
}
