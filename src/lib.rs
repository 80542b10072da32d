//! libbrokerclient: a native client for Apache RocketMQ brokers over the remoting protocol.
//!
//! Layers, each importing only from those above it in this list:
//! - `fork`: fork generations and per-process state (what a forked child makes again);
//! - [`protocol`]: the pure codec (frames, headers, messages, bodies);
//! - [`error`]: the error model shared by the layers below;
//! - [`transport`]: connections, the in-flight table, the library runtime;
//! - [`client`]: `AsyncBrokerClient` / `BrokerClient`, every operation on one broker;
//! - [`manager`]: `AsyncBrokerManager` / `BrokerManager`, pools, health, discovery;
//! - `ffi`: the C ABI, the only place with `unsafe`.
//!
//! Beside the transport, feature `fault-proxy`: `faultproxy`, a fault-injection TCP proxy
//! for tests (tokio and the codec only).

#![deny(unsafe_op_in_unsafe_fn)]
// `unsafe` lives in `ffi` (the C ABI); the only other places allow it item by item, each with
// its reason: `fork` (pthread_atfork, lock-free cells), `transport::runtime` (the signal mask of
// the runtime's threads).
#![deny(unsafe_code)]

/// Declares blocking methods that wait on the async method of the same name of `self.inner`
/// (used by `BrokerClient` and `BrokerManager`).
macro_rules! blocking_ops {
    ($(
        $(#[$meta:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;
    )*) => {$(
        $(#[$meta])*
        pub fn $name(&self $(, $arg: $ty)*) -> $crate::Result<$ret> {
            $crate::transport::runtime::block_on(self.inner.$name($($arg),*))?
        }
    )*};
}

pub mod client;
pub mod error;
pub mod ffi;
pub(crate) mod fork;
pub mod manager;
pub mod protocol;
pub mod transport;

pub use client::{AsyncBrokerClient, BrokerClient, ClientConfig};
pub use error::{BrokerError, Result};
pub use manager::{AsyncBrokerManager, BrokerManager, ManagerConfig};

#[cfg(feature = "mock")]
pub mod mock;

#[cfg(feature = "fault-proxy")]
pub mod faultproxy;
