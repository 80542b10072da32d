//! RocketMQ's remoting protocol as a pure codec: no I/O, no runtime.
//!
//! Layout of the wire format and the sources behind each rule: `shared/protocol/REMOTING.md`.
//! Every decoder here takes untrusted bytes and returns [`ProtocolError`] on anything
//! malformed; lengths are checked before anything is allocated from them.

pub mod acl;
mod binary_header;
pub mod bodies;
pub mod codes;
pub mod command;
pub mod error;
pub mod fastjson;
pub mod frame;
pub mod headers;
mod json_header;
pub mod message;
pub mod msgid;
pub mod properties;
pub mod sysflag;
pub mod trace;

pub use codes::{LanguageCode, SerializeType};
pub use command::{CommandHeader, CommandMeta, EmptyHeader, ExtFields, RemotingCommand};
pub use error::ProtocolError;
pub use frame::{decode_frame, encode_frame, FrameDecoder};
