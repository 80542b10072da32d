//! Connections to brokers and name servers over tokio: framing, the in-flight table,
//! deadlines, admission, and answering requests the broker sends us.

mod config;
mod connection;
mod inflight;
pub mod runtime;
pub(crate) mod socket;
mod tls;
mod writer;

pub use config::TransportConfig;
pub use connection::{deadline_after, BrokerRequestHandler, Connection};
pub use tls::TlsConfig;

pub use crate::protocol::acl::Credentials;
