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
    /// Compression of the bodies sent.
    pub compression: SendCompression,
    /// Message trace of sends (off by default; see [`super::trace`]).
    pub trace: super::trace::TraceConfig,
}

/// How sends compress bodies, as the Java producer does (`compressMsgBodyOverHowmuch`,
/// `rocketmq.message.compressType`, `compressLevel`): a body of at least `threshold` bytes is
/// sent compressed with `codec` (COMPRESSED plus the codec's type bits in the sysFlag) when
/// that makes it smaller; consumers (this library's pulls, Java's, Go's) restore it. A batch
/// is compressed entry by entry when its bodies total `threshold` or more (the flag is the
/// whole batch's). LZ4 and ZSTD need 5.x consumers; zlib is understood by every version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendCompression {
    /// Bodies at least this long are compressed; 0 turns compression off.
    pub threshold: usize,
    pub codec: crate::protocol::sysflag::CompressionType,
    /// zlib 0–9, zstd 1–22; ignored by LZ4.
    pub level: i32,
}

impl Default for SendCompression {
    fn default() -> Self {
        SendCompression {
            threshold: 4096,
            codec: crate::protocol::sysflag::CompressionType::Zlib,
            level: 5,
        }
    }
}

impl SendCompression {
    /// No compression.
    pub const OFF: SendCompression = SendCompression {
        threshold: 0,
        codec: crate::protocol::sysflag::CompressionType::Zlib,
        level: 5,
    };

    /// Whether a body (or a batch's bodies) of `len` bytes is compressed.
    pub fn applies_to(&self, len: usize) -> bool {
        self.threshold > 0 && len >= self.threshold
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            transport: TransportConfig::default(),
            client_id: None,
            instance_name: None,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            compression: SendCompression::default(),
            trace: super::trace::TraceConfig::default(),
        }
    }
}
