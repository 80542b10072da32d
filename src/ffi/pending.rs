//! Accepted asynchronous operations of one handle: each completes exactly once — with its
//! result, or `BC_ERR_CANCELLED` when the handle closes first — through a callback run on a
//! library thread or queued on a `bc_queue`.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
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

/// What a handle says to every call once one of its operations panicked (a library bug):
/// its state may be half-updated, so it keeps the promise of `BC_ERR_FATAL` that the object
/// is unusable; only its free function still works.
const POISONED: &str = "the handle is unusable: an earlier operation on it hit an internal error \
                        (a library bug, caught at the C boundary); free it and create a new one";

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
    /// Set when an operation panicked: every later call is refused with `BC_ERR_FATAL`
    /// (closing and freeing still work).
    poisoned: AtomicBool,
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
            poisoned: AtomicBool::new(false),
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

    /// `BC_ERR_CLOSED` once closing has begun; `BC_ERR_FATAL` once poisoned.
    pub fn check_open(&self) -> Result<(), bc_error> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(bc_error::new(bc_status::BC_ERR_FATAL, POISONED));
        }
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
                    Err(e) if e.is_panic() => Err(me.poison(&panic_text(&*e.into_panic()))),
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
        // A panic in `op` must not skip `finish` (close would wait for it forever), and it
        // poisons the handle.
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            runtime().block_on(async move {
                tokio::select! {
                    biased;
                    r = op => r.map_err(bc_error::from),
                    reason = cancel => Err(bc_error::new(
                        reason.unwrap_or(bc_status::BC_ERR_CANCELLED),
                        "operation cancelled: the handle was closed",
                    )),
                }
            })
        }))
        .unwrap_or_else(|panic| Err(self.poison(&panic_text(&*panic))));
        self.finish(id);
        outcome
    }

    /// Marks the handle unusable after a panic in one of its operations (`what`, the panic's
    /// text); the error for the operation that panicked.
    pub fn poison(&self, what: &str) -> bc_error {
        self.poisoned.store(true, Ordering::Release);
        tracing::error!(
            panic = what,
            "internal error in an operation; the handle is now unusable"
        );
        bc_error::new(
            bc_status::BC_ERR_FATAL,
            &format!("internal error caught at the C boundary: {what}; the handle is now unusable"),
        )
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

/// The text of a caught panic's payload.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status<T>(r: Result<T, bc_error>) -> bc_status {
        r.err().map_or(bc_status::BC_OK, |e| e.status)
    }

    /// A blocking operation that panics is FATAL, is not left in flight (close returns) and
    /// poisons the handle: every later call is FATAL too.
    #[test]
    fn a_panic_in_a_blocking_operation_poisons_the_handle() {
        let p = Pending::new(None, 8);
        assert_eq!(
            status(p.block(async { Ok::<_, BrokerError>(1) })),
            bc_status::BC_OK
        );
        let r = p.block(async {
            if true {
                panic!("injected");
            }
            Ok::<(), BrokerError>(())
        });
        let e = r.expect_err("the panic is an error");
        assert_eq!(e.status, bc_status::BC_ERR_FATAL);
        assert!(e.message().contains("injected"), "{}", e.message());
        assert_eq!(status(p.check_open()), bc_status::BC_ERR_FATAL);
        assert_eq!(
            status(p.block(async { Ok::<_, BrokerError>(1) })),
            bc_status::BC_ERR_FATAL
        );
        p.close(Duration::from_secs(60));
        assert_eq!(p.lock().len(), 0);
    }

    /// An async operation that panics delivers FATAL exactly once and poisons the handle.
    #[test]
    fn a_panic_in_an_async_operation_poisons_the_handle() {
        let p = Arc::new(Pending::new(None, 8));
        let (tx, rx) = std::sync::mpsc::channel();
        p.start_with_cancel(
            async {
                if true {
                    panic!("async injected");
                }
                Ok::<(), BrokerError>(())
            },
            move |r| tx.send(status(r)).unwrap(),
            None,
        )
        .unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(60)).unwrap(),
            bc_status::BC_ERR_FATAL
        );
        p.close(Duration::from_secs(60));
        assert!(rx.try_recv().is_err(), "delivered once");
        let (tx2, _rx2) = std::sync::mpsc::channel::<bc_status>();
        let refused = p.start_with_cancel(
            async { Ok::<(), BrokerError>(()) },
            move |r| tx2.send(status(r)).unwrap(),
            None,
        );
        assert_eq!(status(refused), bc_status::BC_ERR_FATAL);
    }
}
