//! The library's own tokio runtime, started lazily once per process (and again in a forked
//! child, whose copy of the parent's runtime has no threads: see [`crate::fork`]), so that
//! nothing requires the caller to run one; and the guard that keeps blocking calls off it.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::{Builder, Handle, Runtime};

use crate::error::{BrokerError, Result};
use crate::fork::PerProcess;

static RUNTIME: PerProcess<Runtime> = PerProcess::new();
static WORKER_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets the worker count of the library runtime. Effective only before its first use in this
/// process (a forked child starts its own); returns false afterwards. Default: `BC_WORKER_THREADS`, else 2 (reader and writer tasks
/// are light; more threads mostly add wake-up hops).
pub fn set_worker_threads(n: usize) -> bool {
    if RUNTIME.get().is_some() || n == 0 {
        return false;
    }
    WORKER_THREADS.store(n, Ordering::Relaxed);
    true
}

fn worker_threads() -> usize {
    match WORKER_THREADS.load(Ordering::Relaxed) {
        0 => std::env::var("BC_WORKER_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(2),
        n => n,
    }
}

/// The library runtime (built on first call in this process).
pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(worker_threads())
            .thread_name("bc-worker")
            .on_thread_start(block_sigpipe)
            .enable_all()
            .build()
            .expect("cannot start the brokerclient runtime")
    })
}

/// Writing to a socket the peer reset raises SIGPIPE, whose default action kills the whole
/// process: a C host that never asked for that must not die because a broker went away. With
/// the signal blocked on our threads the write fails with EPIPE instead (as librdkafka does).
/// (Socket writes also pass `MSG_NOSIGNAL`, see `socket.rs`; this covers every other write.)
#[allow(unsafe_code)]
fn block_sigpipe() {
    // SAFETY: plain signal-mask calls on the current thread with valid, initialised sets.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// A handle to spawn connection tasks on: the caller's runtime when called from one, else the
/// library's.
pub fn spawn_handle() -> Handle {
    Handle::try_current().unwrap_or_else(|_| runtime().handle().clone())
}

/// True on a thread that runs a tokio runtime, where blocking would stall or deadlock it.
pub fn on_runtime_thread() -> bool {
    Handle::try_current().is_ok()
}

/// Runs `fut` to completion on the library runtime from a plain thread; from a runtime
/// thread it refuses with [`BrokerError::WouldDeadlock`] instead of blocking or panicking.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    if on_runtime_thread() {
        return Err(BrokerError::WouldDeadlock);
    }
    Ok(runtime().block_on(fut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_works_from_plain_threads_and_refuses_on_runtime_threads() {
        assert_eq!(block_on(async { 7 }).unwrap(), 7);
        let nested = runtime().block_on(async { block_on(async { 1 }) });
        assert_eq!(nested, Err(BrokerError::WouldDeadlock));
        assert!(!set_worker_threads(4), "too late once the runtime runs");
    }
}
