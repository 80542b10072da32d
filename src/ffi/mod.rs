//! The C ABI. Everything `extern "C"` lives below this module, and so does every `unsafe`.
//!
//! Conventions (as rustls-ffi and librdkafka): opaque handles; every fallible function returns
//! a `bc_status` and takes an optional `bc_error **err_out` last, written only on failure;
//! out-parameters are written only on success; input strings are copied before return.

#![allow(non_camel_case_types)]
// The C ABI is where `unsafe` belongs (the crate denies it elsewhere).
#![allow(unsafe_code)]
// `extern "C"` functions take raw pointers from C by design; marking them `unsafe fn` tells
// C callers nothing. Each dereference carries its own SAFETY comment instead (as rustls-ffi).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod args;
mod boundary;
pub mod callbacks;
pub mod cancel;
pub mod client;
pub mod config;
pub mod enums;
pub mod error;
#[cfg(feature = "fault-proxy")]
pub mod faultproxy;
#[cfg(test)]
mod header_docs;
pub mod heartbeat;
pub mod log;
pub mod manager;
pub mod message;
pub mod notify;
mod ops;
mod pending;
pub mod pull;
pub mod queue;
pub mod result;
pub mod stats;
pub mod status;
mod target;
mod text;
pub mod txcheck;
pub mod version;
