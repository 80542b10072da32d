//! libbrokerclient: a native client for Apache RocketMQ brokers over the remoting protocol.
//!
//! Layers, each importing only from those above it in this list:
//! - [`protocol`]: the pure codec (frames, headers, messages, bodies);
//! - `ffi`: the C ABI, the only place with `unsafe`.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod ffi;
pub mod protocol;
