//! A fault-injection TCP proxy (feature `fault-proxy`): put it between a client and a broker
//! and switch, at run time, what it does to the traffic — for tests of this library and of
//! users' own code (Rust here, C through `bc_fault_proxy_*`).
//!
//! It sits beside the transport and depends on tokio and the pure codec only: it splits both
//! directions into frames (and writes through the transport's SIGPIPE-free socket wrapper) (so it can damage a frame in the middle, rewrite an opaque, or
//! answer SYSTEM_BUSY itself) but never decodes what it only forwards.
//!
//! The proxy runs on its own thread with its own single-threaded runtime, so it neither
//! competes with nor depends on the library runtime of the client under test.
//!
//! ```no_run
//! use std::time::Duration;
//! use brokerclient::faultproxy::{FaultMode, FaultProxy};
//!
//! let proxy = FaultProxy::start("127.0.0.1:0", "127.0.0.1:10911").unwrap();
//! let addr = proxy.addr().to_string(); // point the client here
//! proxy.set_mode(FaultMode::Latency(Duration::from_millis(50)));
//! proxy.set_mode(FaultMode::Blackhole);
//! proxy.set_mode(FaultMode::Pass);
//! ```

mod conn;
mod frames;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// What the proxy does to the traffic. A new mode applies at once to every connection, open
/// or new; the frame-damaging modes act on the next frame the broker sends each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FaultMode {
    /// Forwards everything unchanged.
    #[default]
    Pass,
    /// Delays every chunk, both directions, by this much (throughput unchanged).
    Latency(Duration),
    /// Caps each direction of each connection at this many bytes per second (at least 1).
    Bandwidth(u64),
    /// Accepts and reads everything, forwards nothing, closes nothing: a dead peer on a live
    /// TCP connection.
    Blackhole,
    /// Resets (RST) every open connection; new connections are reset as soon as accepted.
    DropConnections,
    /// Forwards the first half of the broker's next frame, then resets the connection.
    ResetMidFrame,
    /// Damages the broker's next frames (unknown serialize type and flipped header bytes):
    /// they cannot be decoded.
    CorruptFrames,
    /// Replaces the broker's next frame with a length prefix far above any frame limit.
    OversizeFrame,
    /// Rewrites the opaque of the broker's responses, so they answer no request.
    WrongOpaque,
    /// Answers every request itself with SYSTEM_BUSY (oneway requests are dropped); the
    /// broker sees nothing.
    SystemBusy,
}

/// Counters since the proxy started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultProxyStats {
    /// Client connections accepted.
    pub connections: u64,
    /// Frames damaged, connections reset, or frames answered with SYSTEM_BUSY.
    pub faults: u64,
}

pub(crate) struct Shared {
    upstream: String,
    mode: watch::Sender<FaultMode>,
    connections: AtomicU64,
    faults: AtomicU64,
    last_fault: Mutex<Option<Instant>>,
}

impl Shared {
    pub(crate) fn mode(&self) -> FaultMode {
        *self.mode.borrow()
    }

    /// Records a fault just before its bytes (or reset) leave the proxy.
    pub(crate) fn fault_now(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
        *self.last_fault.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
}

/// A running proxy. Dropping it stops it and closes every connection through it.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .field("mode", &self.mode())
            .finish()
    }
}

impl FaultProxy {
    /// Listens on `listen_addr` ("127.0.0.1:0" picks a free port) and forwards each accepted
    /// connection to a new connection to `upstream_addr`, in mode [`FaultMode::Pass`].
    /// Binding errors are returned here; upstream errors reset the accepted connection.
    pub fn start(listen_addr: &str, upstream_addr: &str) -> io::Result<FaultProxy> {
        let listener = std::net::TcpListener::bind(listen_addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (mode, _) = watch::channel(FaultMode::Pass);
        let shared = Arc::new(Shared {
            upstream: upstream_addr.to_owned(),
            mode,
            connections: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            last_fault: Mutex::new(None),
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let accept_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("bc-fault-proxy".into())
            .spawn(move || {
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = conn::accept_loop(listener, accept_shared) => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here cancels every connection task: sockets close.
            })?;
        Ok(FaultProxy {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the proxy forwards to.
    pub fn upstream(&self) -> &str {
        &self.shared.upstream
    }

    /// Switches the mode for every connection, open or new.
    pub fn set_mode(&self, mode: FaultMode) {
        self.shared.mode.send_replace(mode);
    }

    pub fn mode(&self) -> FaultMode {
        self.shared.mode()
    }

    /// When the proxy last sent a damaged byte or reset a connection: the start of the
    /// "time to fail every request in flight" measurement.
    pub fn last_fault_at(&self) -> Option<Instant> {
        *self
            .shared
            .last_fault
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> FaultProxyStats {
        FaultProxyStats {
            connections: self.shared.connections.load(Ordering::Relaxed),
            faults: self.shared.faults.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
