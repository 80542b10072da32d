//! `bc_fault_proxy`: the fault-injection TCP proxy (feature `fault-proxy`) for users' own C and
//! Go tests. The header declares these functions under `#if defined(BC_FEATURE_FAULT_PROXY)`:
//! define it when the library was built with `--features fault-proxy`.

use std::ffi::{c_char, CString};
use std::time::Duration;

use super::boundary::{call, call_or, free_object, new_object, object, str_arg, Object};
use super::error::bc_error;
use super::status::bc_status;
use crate::faultproxy::{FaultMode, FaultProxy};

/// The modes of `bc_fault_proxy_set_mode` (see `FaultMode` in the Rust API for each one).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_fault_mode {
    /// Forward everything unchanged.
    BC_FAULT_PASS = 0,
    /// Delay every chunk, both directions, by `param` milliseconds.
    BC_FAULT_LATENCY = 1,
    /// Cap each direction of each connection at `param` bytes per second.
    BC_FAULT_BANDWIDTH = 2,
    /// Read everything, forward nothing, close nothing.
    BC_FAULT_BLACKHOLE = 3,
    /// Reset every open connection and every new one.
    BC_FAULT_DROP = 4,
    /// Forward half of the broker's next frame, then reset the connection.
    BC_FAULT_RESET_MID_FRAME = 5,
    /// Damage the broker's frames so they do not decode.
    BC_FAULT_CORRUPT = 6,
    /// Replace the broker's next frame with an oversize length prefix.
    BC_FAULT_OVERSIZE = 7,
    /// Rewrite the opaque of the broker's responses.
    BC_FAULT_WRONG_OPAQUE = 8,
    /// Answer every request with SYSTEM_BUSY without forwarding it.
    BC_FAULT_SYSTEM_BUSY = 9,
}

/// A running fault proxy. Opaque.
pub struct bc_fault_proxy {
    proxy: FaultProxy,
    addr: CString,
    born: u64,
}

impl Object for bc_fault_proxy {
    const NAME: &'static str = "proxy";

    fn born(&self) -> Option<u64> {
        Some(self.born)
    }
}

fn mode_from(mode: i32, param: u64) -> Result<FaultMode, bc_error> {
    use bc_fault_mode::*;
    let m = [
        BC_FAULT_PASS,
        BC_FAULT_LATENCY,
        BC_FAULT_BANDWIDTH,
        BC_FAULT_BLACKHOLE,
        BC_FAULT_DROP,
        BC_FAULT_RESET_MID_FRAME,
        BC_FAULT_CORRUPT,
        BC_FAULT_OVERSIZE,
        BC_FAULT_WRONG_OPAQUE,
        BC_FAULT_SYSTEM_BUSY,
    ]
    .into_iter()
    .find(|m| *m as i32 == mode)
    .ok_or_else(|| bc_error::invalid_arg(&format!("`mode` {mode} is not a bc_fault_mode")))?;
    Ok(match m {
        BC_FAULT_PASS => FaultMode::Pass,
        BC_FAULT_LATENCY => FaultMode::Latency(Duration::from_millis(param)),
        BC_FAULT_BANDWIDTH if param == 0 => {
            return Err(bc_error::invalid_arg("bandwidth `param` must be > 0"))
        }
        BC_FAULT_BANDWIDTH => FaultMode::Bandwidth(param),
        BC_FAULT_BLACKHOLE => FaultMode::Blackhole,
        BC_FAULT_DROP => FaultMode::DropConnections,
        BC_FAULT_RESET_MID_FRAME => FaultMode::ResetMidFrame,
        BC_FAULT_CORRUPT => FaultMode::CorruptFrames,
        BC_FAULT_OVERSIZE => FaultMode::OversizeFrame,
        BC_FAULT_WRONG_OPAQUE => FaultMode::WrongOpaque,
        BC_FAULT_SYSTEM_BUSY => FaultMode::SystemBusy,
    })
}

/// Starts a proxy listening on `listen_addr` ("127.0.0.1:0" picks a free port) that forwards
/// each connection to `upstream_addr`, in mode `BC_FAULT_PASS`.
///
/// Ownership: the strings are copied; `*out_proxy` is the caller's, release it with
/// `bc_fault_proxy_free`. Thread-safety: any thread.
/// Errors: `BC_ERR_INVALID_ARG` (NULL or non-UTF-8 argument), `BC_ERR_CONNECTION` (cannot
/// listen on `listen_addr`).
#[no_mangle]
pub extern "C" fn bc_fault_proxy_new(
    listen_addr: *const c_char,
    upstream_addr: *const c_char,
    out_proxy: *mut *mut bc_fault_proxy,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let listen = str_arg(listen_addr, "listen_addr")?;
        let upstream = str_arg(upstream_addr, "upstream_addr")?;
        if out_proxy.is_null() {
            return Err(bc_error::invalid_arg("`out_proxy` is NULL"));
        }
        let proxy = FaultProxy::start(listen, upstream).map_err(|e| {
            bc_error::new(
                bc_status::BC_ERR_CONNECTION,
                &format!("fault proxy cannot listen on {listen}: {e}"),
            )
        })?;
        let addr = CString::new(proxy.addr().to_string()).unwrap_or_default();
        let born = crate::fork::generation();
        new_object(out_proxy, "out_proxy", bc_fault_proxy { proxy, addr, born })
    })
}

/// Switches the mode of every connection, open or new. `mode` is a `bc_fault_mode`; `param`
/// is the latency in milliseconds (`BC_FAULT_LATENCY`), the bytes per second
/// (`BC_FAULT_BANDWIDTH`, > 0), ignored otherwise.
///
/// Thread-safety: any thread, concurrently with anything but `bc_fault_proxy_free`.
/// Errors: `BC_ERR_INVALID_ARG` (NULL proxy, unknown mode, zero bandwidth).
#[no_mangle]
pub extern "C" fn bc_fault_proxy_set_mode(
    proxy: *const bc_fault_proxy,
    mode: i32,
    param: u64,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let p = object(proxy)?;
        p.proxy.set_mode(mode_from(mode, param)?);
        Ok(())
    })
}

/// The "host:port" clients connect to, NUL-terminated; NULL when `proxy` is NULL.
///
/// Ownership: the string belongs to the proxy and lives until `bc_fault_proxy_free`.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_fault_proxy_addr(proxy: *const bc_fault_proxy) -> *const c_char {
    call_or(std::ptr::null(), || {
        object(proxy).map_or(std::ptr::null(), |p| p.addr.as_ptr())
    })
}

/// Stops the proxy (waits for its thread) and closes every connection through it. NULL is
/// ignored.
///
/// Ownership: takes `proxy`; it must not be used afterwards. Thread-safety: once, from any
/// thread, when no other call on `proxy` runs.
#[no_mangle]
pub extern "C" fn bc_fault_proxy_free(proxy: *mut bc_fault_proxy) {
    free_object(proxy, drop)
}
