//! Accepted asynchronous operations of one handle: each completes exactly once — with its
//! result, or `BC_ERR_CANCELLED` when the handle closes first — through a callback run on a
//! library thread or queued on a `bc_queue`.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::cancel::CancelSignal;
use super::error::bc_error;
use super::queue::Queue;
use super::status::bc_status;
use crate::error::BrokerError;
use crate::transport::runtime::runtime;

const OPEN: u8 = 0;
const CLOSING: u8 = 1;
const CLOSED: u8 = 2;

/// A caller's `void *user_data`, carried to the completing thread untouched.
#[derive(Clone, Copy)]
pub(crate) struct UserData(pub usize);

impl UserData {
    pub fn ptr(self) -> *mut std::ffi::c_void {
        self.0 as *mut std::ffi::c_void
    }
}

/// The life cycle and the in-flight operations of a handle.
pub(crate) struct Pending {
    state: AtomicU8,
    next: AtomicU64,
    /// In-flight operations and their cancel signal (taken when cancelled; the entry stays
    /// until the operation has delivered).
    ops: Mutex<HashMap<u64, Option<oneshot::Sender<bc_status>>>>,
    idle: Condvar,
    queue: Option<Arc<Queue>>,
    /// Admission: at most this many operations (async and blocking) in flight at once; one
    /// more is refused with `BC_ERR_WOULD_BLOCK` when it is submitted, before anything is
    /// accepted, so a full window is seen by the caller and never arrives late in a callback.
    limit: usize,
}

impl Pending {
    /// A handle that admits at most `limit` operations in flight (at least one).
    pub fn new(queue: Option<Arc<Queue>>, limit: usize) -> Pending {
        Pending {
            state: AtomicU8::new(OPEN),
            next: AtomicU64::new(1),
            ops: Mutex::new(HashMap::new()),
            idle: Condvar::new(),
            queue,
            limit: limit.max(1),
        }
    }

    /// The completion queue of this handle, if it has one.
    pub fn queue(&self) -> Option<Arc<Queue>> {
        self.queue.clone()
    }

    /// A new handle's pending set with the same completion queue and admission limit (a
    /// handle derived from this one: its operations are its own to close).
    pub fn sibling(&self) -> Pending {
        Pending::new(self.queue.clone(), self.limit)
    }

    /// Registers one operation (under the lock, so close() cannot miss one accepted late, and
    /// admission cannot overshoot): `BC_ERR_CLOSED` once closing, `BC_ERR_WOULD_BLOCK` when
    /// `limit` operations are in flight.
    fn admit(&self) -> Result<(u64, oneshot::Receiver<bc_status>), bc_error> {
        let mut ops = self.lock();
        self.check_open()?;
        if ops.len() >= self.limit {
            return Err(bc_error::new(
                bc_status::BC_ERR_WOULD_BLOCK,
                &format!(
                    "the in-flight window of {} operations is full (max.in.flight): \
                     the operation was not started; retry after a completion",
                    self.limit
                ),
            ));
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        ops.insert(id, Some(tx));
        Ok((id, rx))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Option<oneshot::Sender<bc_status>>>> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `BC_ERR_CLOSED` once closing has begun.
    pub fn check_open(&self) -> Result<(), bc_error> {
        match self.state.load(Ordering::Acquire) {
            OPEN => Ok(()),
            _ => Err(bc_error::new(
                bc_status::BC_ERR_CLOSED,
                "the handle is closed",
            )),
        }
    }

    /// Starts `op` on the library runtime; `deliver` runs exactly once with its outcome.
    /// Returns an error (and never calls `deliver`) when the handle is closed or its window
    /// full. With a caller's cancel token: when it fires before `op` completes, `op` is dropped and `deliver` gets `BC_ERR_CANCELLED` (still exactly once).
    /// A token already cancelled refuses the operation with `BC_ERR_CANCELLED` (and `deliver`
    /// never runs).
    pub fn start_with_cancel<T, F, D>(
        self: &Arc<Self>,
        op: F,
        deliver: D,
        token: Option<CancelSignal>,
    ) -> Result<(), bc_error>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, BrokerError>> + Send + 'static,
        D: FnOnce(Result<T, bc_error>) + Send + 'static,
    {
        if token.as_ref().is_some_and(CancelSignal::is_cancelled) {
            return Err(bc_error::new(
                bc_status::BC_ERR_CANCELLED,
                "the cancel token was already cancelled; the operation was not started",
            ));
        }
        let (id, cancel) = self.admit()?;
        let me = self.clone();
        runtime().spawn(async move {
            // The operation runs as its own task so a panic in it becomes an error here
            // instead of losing the callback.
            let task = tokio::spawn(op);
            let abort = task.abort_handle();
            let by_token = async move {
                match token {
                    Some(t) => t.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            let outcome = tokio::select! {
                // A result that is ready wins over a cancel that arrives at the same time.
                biased;
                joined = task => match joined {
                    Ok(r) => r.map_err(bc_error::from),
                    Err(e) if e.is_panic() => Err(bc_error::new(
                        bc_status::BC_ERR_FATAL,
                        "internal error: the operation panicked",
                    )),
                    Err(_) => Err(bc_error::new(bc_status::BC_ERR_CANCELLED, "operation cancelled")),
                },
                reason = cancel => {
                    abort.abort();
                    let status = reason.unwrap_or(bc_status::BC_ERR_CANCELLED);
                    Err(bc_error::new(status, "operation cancelled: the handle was closed"))
                }
                () = by_token => {
                    abort.abort();
                    Err(bc_error::new(
                        bc_status::BC_ERR_CANCELLED,
                        "operation cancelled by its bc_cancel_token",
                    ))
                }
            };
            me.deliver(Box::new(move || deliver(outcome)));
            me.finish(id);
        });
        Ok(())
    }

    /// Runs a blocking operation from a C thread, registered like an async one so that
    /// `close` gives it the same grace period and then cancels it. From a library thread it
    /// returns `BC_ERR_WOULD_DEADLOCK` (waiting there could deadlock the runtime).
    pub fn block<T, F>(&self, op: F) -> Result<T, bc_error>
    where
        F: Future<Output = Result<T, BrokerError>>,
    {
        if crate::transport::runtime::on_runtime_thread() {
            return Err(bc_error::from(BrokerError::WouldDeadlock));
        }
        let (id, cancel) = self.admit()?;
        let outcome = runtime().block_on(async move {
            tokio::select! {
                biased;
                r = op => r.map_err(bc_error::from),
                reason = cancel => Err(bc_error::new(
                    reason.unwrap_or(bc_status::BC_ERR_CANCELLED),
                    "operation cancelled: the handle was closed",
                )),
            }
        });
        self.finish(id);
        outcome
    }

    fn deliver(&self, completion: Box<dyn FnOnce() + Send>) {
        match &self.queue {
            Some(q) => q.push(completion),
            // A C callback cannot unwind, but a Rust closure around it could panic: never let
            // that take the worker down.
            None => {
                let _ = catch_unwind(AssertUnwindSafe(completion));
            }
        }
    }

    fn finish(&self, id: u64) {
        let mut ops = self.lock();
        ops.remove(&id);
        if ops.is_empty() {
            self.idle.notify_all();
        }
    }

    fn wait_idle(&self, timeout: Duration) -> bool {
        let ops = self.lock();
        let (ops, _) = self
            .idle
            .wait_timeout_while(ops, timeout, |ops| !ops.is_empty())
            .unwrap_or_else(|e| e.into_inner());
        ops.is_empty()
    }

    /// Refuses new operations, waits up to `timeout` for those in flight, then cancels the
    /// rest and waits until each has delivered. Blocks: never call on a runtime thread.
    pub fn close(&self, timeout: Duration) {
        if self.state.swap(CLOSING, Ordering::AcqRel) == CLOSED {
            self.state.store(CLOSED, Ordering::Release);
            return;
        }
        if !self.wait_idle(timeout) {
            let cancels: Vec<_> = self.lock().values_mut().filter_map(Option::take).collect();
            for c in cancels {
                let _ = c.send(bc_status::BC_ERR_CANCELLED);
            }
            // Cancelled tasks deliver at once, but "at once" for 10 000 of them under valgrind
            // took over 30 s: returning before they all delivered would break exactly-once
            // (callbacks after free). So wait for all, and say so if it takes long.
            while !self.wait_idle(Duration::from_secs(30)) {
                tracing::warn!(
                    pending = self.lock().len(),
                    "close: cancelled operations still delivering after 30 s"
                );
            }
        }
        self.state.store(CLOSED, Ordering::Release);
    }
}
