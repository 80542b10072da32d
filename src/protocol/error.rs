//! The one error type of the codec. Every malformed input maps to a variant here; the codec
//! never panics on bytes that came from the network.

use thiserror::Error;

/// A frame, header, body or stored message that cannot be decoded (or a value that cannot be
/// encoded). The transport closes the connection on any of these when they come from a peer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Fewer bytes than a field needs.
    #[error("truncated {what}: need {needed} bytes, have {available}")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    /// A length prefix that is negative or otherwise impossible.
    #[error("invalid length for {what}: {value}")]
    InvalidLength { what: &'static str, value: i64 },
    /// A frame longer than the configured maximum; checked before anything is allocated.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge { len: usize, max: usize },
    /// The header length in the header word is larger than the frame.
    #[error("header length {header_len} exceeds frame length {frame_len}")]
    HeaderLengthExceedsFrame { header_len: usize, frame_len: usize },
    /// The high byte of the header word is neither JSON (0) nor ROCKETMQ (1).
    #[error("unknown header serialize type {0}")]
    UnknownSerializeType(u8),
    /// A JSON header or body that does not parse.
    #[error("invalid JSON in {what}: {reason}")]
    InvalidJson { what: &'static str, reason: String },
    /// Bytes that should be UTF-8 text and are not.
    #[error("invalid UTF-8 in {what}")]
    InvalidUtf8 { what: &'static str },
    /// A required header field is absent.
    #[error("missing header field `{0}`")]
    MissingField(&'static str),
    /// A header field whose value does not parse as its type.
    #[error("invalid value for `{field}`: {value:?}")]
    InvalidField { field: &'static str, value: String },
    /// A stored message whose magic code is not one RocketMQ writes.
    #[error("bad stored-message magic code {0:#010x}")]
    BadMagic(u32),
    /// A compressed body that does not decompress.
    #[error("cannot decompress {kind} body: {reason}")]
    Decompress { kind: &'static str, reason: String },
    /// A message id that is not valid hex of the expected length.
    #[error("invalid message id {0:?}")]
    InvalidMessageId(String),
    /// A property name or value containing the separator bytes 0x01/0x02, or too long.
    #[error("invalid message property: {0}")]
    InvalidProperty(String),
    /// A value that cannot be represented on the wire (e.g. longer than a length field allows).
    #[error("cannot encode {what}: {reason}")]
    Unencodable { what: &'static str, reason: String },
}

impl ProtocolError {
    pub(crate) fn truncated(what: &'static str, needed: usize, available: usize) -> Self {
        ProtocolError::Truncated {
            what,
            needed,
            available,
        }
    }
}

/// Result alias of the codec.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
