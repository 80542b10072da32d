//! `bc_queue`: a completion queue a foreign event loop drains on its own thread. Completions
//! are pushed by library threads; `bc_queue_fd` becomes readable when the queue goes from
//! empty to non-empty (one eventfd write per non-dispatching period, as librdkafka does).
//!
//! Invariant: when `bc_queue_dispatch` returns, either the queue is empty and the fd is
//! re-armed (not readable), or the fd is readable again.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::boundary::{call, call_or, free_object, new_object, object, Object};
use super::error::bc_error;
use super::status::bc_status;

type Completion = Box<dyn FnOnce() + Send>;

/// A wake callback for loops that prefer one to the fd (e.g. `uv_async_send`).
#[derive(Clone, Copy)]
struct Wakeup {
    cb: extern "C" fn(*mut std::ffi::c_void),
    user_data: usize,
}

pub(crate) struct Queue {
    items: Mutex<VecDeque<Completion>>,
    /// Set by `bc_queue_free`: nobody will dispatch any more, so later completions run where
    /// they complete (a library thread) rather than wait forever in an orphaned queue.
    freed: std::sync::atomic::AtomicBool,
    /// Bumped (under the items lock) by `bc_queue_wakeup`, so a waiter can tell a wakeup
    /// from a spurious return.
    wakeups: std::sync::atomic::AtomicU64,
    ready: Condvar,
    fd: OwnedFd,
    wakeup: Mutex<Option<Wakeup>>,
}

impl Queue {
    fn new() -> std::io::Result<Queue> {
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Queue {
            items: Mutex::new(VecDeque::new()),
            freed: std::sync::atomic::AtomicBool::new(false),
            wakeups: std::sync::atomic::AtomicU64::new(0),
            ready: Condvar::new(),
            // SAFETY: `fd` is a fresh descriptor we own.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            wakeup: Mutex::new(None),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Completion>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a valid u64 to our eventfd.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn rearm(&self) {
        let mut n: u64 = 0;
        // SAFETY: reading 8 bytes into a valid u64 from our non-blocking eventfd.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
    }

    /// Queues a completion; wakes the loop when the queue was empty.
    pub(crate) fn push(&self, c: Completion) {
        let was_empty = {
            let mut q = self.lock();
            if self.freed.load(std::sync::atomic::Ordering::Acquire) {
                drop(q);
                c();
                return;
            }
            let was_empty = q.is_empty();
            q.push_back(c);
            if was_empty {
                self.signal();
            }
            was_empty
        };
        self.ready.notify_all();
        if was_empty {
            // Called under its lock, so after bc_queue_set_wakeup(NULL) returns it never runs.
            let wake = self.wakeup.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(w) = *wake {
                (w.cb)(w.user_data as *mut std::ffi::c_void);
            }
        }
    }

    /// Runs up to `max` completions on the calling thread (0: all that are queued now).
    fn dispatch(&self, max: usize) -> usize {
        let batch: Vec<Completion> = {
            let mut q = self.lock();
            let n = if max == 0 { q.len() } else { max.min(q.len()) };
            let batch = q.drain(..n).collect();
            if q.is_empty() {
                self.rearm();
            }
            batch
        };
        let n = batch.len();
        for c in batch {
            c();
        }
        n
    }

    fn wait(&self, timeout: Duration) -> usize {
        use std::sync::atomic::Ordering::SeqCst;
        let q = self.lock();
        let seen = self.wakeups.load(SeqCst);
        let (q, _) = self
            .ready
            .wait_timeout_while(q, timeout, |q| {
                q.is_empty() && self.wakeups.load(SeqCst) == seen
            })
            .unwrap_or_else(|e| e.into_inner());
        q.len()
    }

    fn wakeup(&self) {
        {
            // Under the lock: a waiter between its check and its sleep cannot miss it.
            let _items = self.lock();
            self.wakeups
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        self.ready.notify_all();
    }

    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// A completion queue. Create with `bc_queue_new`, pass to `bc_client_new`/`bc_manager_new`,
/// wait on `bc_queue_fd` (or `bc_queue_wait`) and run callbacks with `bc_queue_dispatch`.
pub struct bc_queue {
    pub(crate) inner: Arc<Queue>,
    born: u64,
}

impl Object for bc_queue {
    const NAME: &'static str = "queue";

    fn born(&self) -> Option<u64> {
        Some(self.born)
    }
}

/// Creates a completion queue.
///
/// Ownership: the caller owns `*out` and frees it with `bc_queue_free` (after the clients
/// that use it, or before: leftover completions are then delivered by `bc_queue_free`).
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG`, `BC_ERR_FATAL` (no eventfd).
#[no_mangle]
pub extern "C" fn bc_queue_new(
    out_queue: *mut *mut bc_queue,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let q = Queue::new()
            .map_err(|e| bc_error::new(bc_status::BC_ERR_FATAL, &format!("eventfd: {e}")))?;
        let queue = bc_queue {
            inner: Arc::new(q),
            born: crate::fork::generation(),
        };
        new_object(out_queue, "out_queue", queue)
    })
}

/// A non-blocking file descriptor that is readable while completions wait. Poll it for
/// reading (epoll, libuv `uv_poll`, Go netpoller), then call `bc_queue_dispatch`. Never read,
/// write or close it yourself. Returns -1 for NULL.
///
/// Ownership: owned by the queue; valid until `bc_queue_free`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_queue_fd(queue: *const bc_queue) -> i32 {
    call_or(-1, || match object(queue) {
        Ok(q) => q.inner.fd.as_raw_fd(),
        Err(_) => -1,
    })
}

/// Runs up to `max` queued completions (0 = all queued now) on the calling thread, in
/// completion order; returns how many ran. Callbacks may call any `bc_*` function,
/// including blocking ones and `bc_client_free`.
///
/// Thread-safety: any thread; run it from one thread at a time to keep callbacks serial.
#[no_mangle]
pub extern "C" fn bc_queue_dispatch(queue: *const bc_queue, max: usize) -> usize {
    call_or(0, || match object(queue) {
        Ok(q) => q.inner.clone().dispatch(max),
        Err(_) => 0,
    })
}

/// Blocks up to `timeout_ms` (negative: forever) until completions wait or `bc_queue_wakeup`
/// is called; returns how many wait (0 on timeout or wakeup). For plain threads without a
/// poll loop.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_queue_wait(queue: *const bc_queue, timeout_ms: i32) -> usize {
    call_or(0, || match object(queue) {
        Ok(q) => {
            let t = if timeout_ms < 0 {
                Duration::from_secs(u32::MAX as u64)
            } else {
                Duration::from_millis(timeout_ms as u64)
            };
            q.inner.wait(t)
        }
        Err(_) => 0,
    })
}

/// Wakes every `bc_queue_wait` on this queue (they return the count waiting, maybe 0).
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_queue_wakeup(queue: *const bc_queue) {
    call_or((), || {
        if let Ok(q) = object(queue) {
            q.inner.wakeup();
        }
    })
}

/// Completions waiting in the queue.
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_queue_len(queue: *const bc_queue) -> usize {
    call_or(0, || object(queue).map_or(0, |q| q.inner.len()))
}

/// Sets (or clears, with `cb` NULL) a callback run on the completing library thread each
/// time the queue goes from empty to non-empty — for loops woken by a thread-safe call such
/// as `uv_async_send`. It must not block or call back into the library.
///
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG`.
#[no_mangle]
pub extern "C" fn bc_queue_set_wakeup(
    queue: *const bc_queue,
    cb: Option<extern "C" fn(*mut std::ffi::c_void)>,
    user_data: *mut std::ffi::c_void,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let q = object(queue)?;
        *q.inner.wakeup.lock().unwrap_or_else(|e| e.into_inner()) = cb.map(|cb| Wakeup {
            cb,
            user_data: user_data as usize,
        });
        Ok(())
    })
}

/// Frees the queue. Completions still queued are delivered first, on the calling thread, so
/// every accepted operation's callback runs exactly once. Clients and managers created with
/// this queue may outlive it: their later completions then run on library threads (as in
/// callback mode). Freeing them first keeps every callback on your thread. NULL is ignored.
///
/// Thread-safety: any thread, once, not concurrently with `bc_queue_dispatch`.
#[no_mangle]
pub extern "C" fn bc_queue_free(queue: *mut bc_queue) {
    free_object(queue, |q| {
        {
            // Under the lock, so no push can land between the flag and the final drain.
            let _items = q.inner.lock();
            q.inner
                .freed
                .store(true, std::sync::atomic::Ordering::Release);
        }
        q.inner.dispatch(0);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn readable(fd: i32) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn fd_is_readable_exactly_while_completions_wait() {
        let q = Queue::new().unwrap();
        let fd = q.fd.as_raw_fd();
        assert!(!readable(fd));
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let r = ran.clone();
            q.push(Box::new(move || {
                r.fetch_add(1, Ordering::SeqCst);
            }));
        }
        assert!(readable(fd));
        assert_eq!(q.dispatch(2), 2);
        assert!(readable(fd), "one left: still readable");
        assert_eq!(q.dispatch(0), 1);
        assert!(!readable(fd), "empty: re-armed");
        assert_eq!(ran.load(Ordering::SeqCst), 3);
        assert_eq!(q.wait(Duration::from_millis(1)), 0);
    }

    #[test]
    fn wakeup_ends_a_wait_on_an_empty_queue() {
        let q = Arc::new(Queue::new().unwrap());
        let waiter = {
            let q = q.clone();
            std::thread::spawn(move || q.wait(Duration::from_secs(60)))
        };
        // Wake until the waiter is gone: a wakeup sent before it sleeps is not lost either.
        while !waiter.is_finished() {
            q.wakeup();
            std::thread::yield_now();
        }
        assert_eq!(waiter.join().unwrap(), 0);
    }

    #[test]
    fn free_delivers_leftovers() {
        let mut raw = std::ptr::null_mut();
        assert_eq!(
            bc_queue_new(&mut raw, std::ptr::null_mut()),
            bc_status::BC_OK
        );
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        // SAFETY: `raw` is a live queue.
        unsafe { &*raw }.inner.push(Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(bc_queue_len(raw), 1);
        let inner = unsafe { &*raw }.inner.clone(); // what a client holds
        bc_queue_free(raw);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        // A completion after the queue was freed still runs, exactly once, where it completes.
        let r = ran.clone();
        inner.push(Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(ran.load(Ordering::SeqCst), 2);
        bc_queue_free(std::ptr::null_mut());
        assert_eq!(bc_queue_fd(std::ptr::null()), -1);
    }
}
