//! Settings of a client.

use crate::transport::TransportConfig;

/// Largest message body the broker accepts by default (`maxMessageSize`).
pub const DEFAULT_MAX_BODY_SIZE: usize = 4 * 1024 * 1024;

/// How a client identifies itself and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub transport: TransportConfig,
    /// `clientIP@instanceName` as the broker knows this client (heartbeats, locks,
    /// unregister). `None`: derived from the first connection's local IP and the instance name.
    pub client_id: Option<String>,
    /// Instance name in the client id; `None`: `<pid>#<nanos>` like the Java client.
    pub instance_name: Option<String>,
    /// Largest body (or batch) sent; larger ones are rejected before sending.
    pub max_body_size: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            transport: TransportConfig::default(),
            client_id: None,
            instance_name: None,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
        }
    }
}
