//! Settings of one connection.

use std::time::Duration;

use super::tls::TlsConfig;
use crate::protocol::acl::Credentials;
use crate::protocol::frame::DEFAULT_MAX_FRAME_LEN;
use crate::protocol::{LanguageCode, SerializeType};

/// How a connection speaks to its peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// Upper bound for establishing the TCP connection (also bounded by the request deadline).
    pub connect_timeout: Duration,
    /// Deadline of a request when the caller gives none.
    pub request_timeout: Duration,
    /// Largest frame accepted from the peer, length prefix included.
    pub max_frame_len: usize,
    /// Requests (and queued oneway frames) allowed at once on one connection; beyond it a
    /// request fails at once with `BrokerBusy` rather than queueing without bound.
    pub max_in_flight: usize,
    /// Header serializer for requests (the broker answers in JSON either way).
    pub serialize_type: SerializeType,
    /// `LanguageCode` sent in every header. JAVA by default: brokers before 4.9.4 reject
    /// languages they do not know.
    pub language: LanguageCode,
    /// `version` sent in every header: 401 gets standard route JSON and no GO_AWAY semantics
    /// (REMOTING.md §1.5).
    pub version: i32,
    /// ACL credentials: when set, every request carries `AccessKey` and a `Signature`
    /// (REMOTING.md §9). `Debug` shows the access key only.
    pub acl: Option<Credentials>,
    /// TLS: when set, every connection is TLS with the broker's certificate verified.
    pub tls: Option<TlsConfig>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(3),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            max_in_flight: 4096,
            serialize_type: SerializeType::Json,
            language: LanguageCode::Java,
            version: 401,
            acl: None,
            tls: None,
        }
    }
}
