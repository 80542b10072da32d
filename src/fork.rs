//! Fork generations: what a forked child may keep of its parent's library state, and what it
//! must make again.
//!
//! `fork()` copies the memory of the library but only the thread that called it: the runtime's
//! worker threads, and whatever they held (locks, requests in flight), stay behind in the
//! parent. A child that waited on them would wait forever. So every fork bumps a process
//! *generation* (an atomic store in a `pthread_atfork` child handler, async-signal-safe), and:
//!
//! - process-wide state that owns threads or must differ per process (the runtime, the message
//!   id generator) lives in a [`PerProcess`] cell, made afresh on first use in each
//!   generation, so a child can create new clients (the pre-fork worker pattern);
//! - handles remember the generation they were made in; the C boundary refuses an inherited
//!   one with `BC_ERR_FORKED` and frees it without touching it ([`keep_forever`]).
//!
//! Values of earlier generations are never dropped (that would join threads that do not
//! exist, or take locks a vanished thread held): they stay reachable from the cell that held
//! them, so leak checkers do not report them.
//!
//! This is the lowest layer of the crate (it imports nothing of it), so the pure codec can use
//! it too.

// The pthread_atfork registration and the raw pointers of the lock-free cells below.
#![allow(unsafe_code)]

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static WATCH: Once = Once::new();
/// Serialises the first initialisation of [`PerProcess`] cells within a generation. A spin
/// lock rather than a mutex, so that the child handler can release one a parent thread held
/// when it forked.
static INIT_LOCK: AtomicBool = AtomicBool::new(false);

/// Runs in the child of a `fork`, before `fork` returns there, with one thread: only atomic
/// stores (async-signal-safe).
extern "C" fn in_forked_child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
    INIT_LOCK.store(false, Ordering::Release);
}

fn watch() {
    WATCH.call_once(|| {
        // SAFETY: registers a handler that only stores to atomics; no other arguments.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_forked_child)) };
        debug_assert_eq!(rc, 0, "pthread_atfork");
    });
}

/// The current generation: 0 in the process that first used the library, one more in each
/// fork since. An atomic load once the fork handler is registered.
pub fn generation() -> u64 {
    watch();
    GENERATION.load(Ordering::Acquire)
}

/// A value made once per process: on first use, and again on first use in a forked child.
pub struct PerProcess<T: 'static> {
    current: AtomicPtr<Slot<T>>,
}

struct Slot<T: 'static> {
    generation: u64,
    value: T,
    /// The slot of an earlier generation, kept (never dropped) and reachable.
    _previous: *mut Slot<T>,
}

impl<T: 'static> PerProcess<T> {
    pub const fn new() -> Self {
        PerProcess {
            current: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// This generation's value, if it was made already.
    pub fn get(&'static self) -> Option<&'static T> {
        self.get_at(generation())
    }

    /// This generation's value, made by `init` if it is the first use in this process. `init`
    /// runs at most once per generation, with the other first users waiting for it.
    pub fn get_or_init(&'static self, init: impl FnOnce() -> T) -> &'static T {
        self.get_or_init_at(generation(), init)
    }

    fn get_at(&'static self, generation: u64) -> Option<&'static T> {
        // SAFETY: non-NULL pointers in `current` come from Box::into_raw below and are never
        // freed, so they are valid for 'static.
        let slot = unsafe { self.current.load(Ordering::Acquire).as_ref() }?;
        (slot.generation == generation).then_some(&slot.value)
    }

    fn get_or_init_at(&'static self, generation: u64, init: impl FnOnce() -> T) -> &'static T {
        if let Some(v) = self.get_at(generation) {
            return v;
        }
        while INIT_LOCK
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
        struct Unlock;
        impl Drop for Unlock {
            fn drop(&mut self) {
                INIT_LOCK.store(false, Ordering::Release);
            }
        }
        let _unlock = Unlock;
        if let Some(v) = self.get_at(generation) {
            return v;
        }
        let slot = Box::into_raw(Box::new(Slot {
            generation,
            value: init(),
            _previous: self.current.load(Ordering::Acquire),
        }));
        self.current.store(slot, Ordering::Release);
        // SAFETY: just made, never freed.
        unsafe { &(*slot).value }
    }
}

impl<T: 'static> Default for PerProcess<T> {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: the cell hands out `&'static T` to any thread, so T must be Sync; values move into
// the cell from the initialising thread, so T must be Send.
unsafe impl<T: Send + Sync + 'static> Sync for PerProcess<T> {}

/// Objects inherited from a parent process, released by the application in a child: kept,
/// never dropped (dropping would wait for the parent's threads or take their locks), and
/// reachable from here.
static KEPT: AtomicPtr<Kept> = AtomicPtr::new(ptr::null_mut());

struct Kept {
    _object: Box<dyn std::any::Any>,
    next: *mut Kept,
}

/// Keeps `object` forever without dropping it (lock-free: the lock of a vanished thread must
/// not block a child).
pub fn keep_forever<T: 'static>(object: Box<T>) {
    let node = Box::into_raw(Box::new(Kept {
        _object: object,
        next: ptr::null_mut(),
    }));
    let mut head = KEPT.load(Ordering::Acquire);
    loop {
        // SAFETY: `node` is ours until the exchange below publishes it.
        unsafe { (*node).next = head };
        match KEPT.compare_exchange_weak(head, node, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(now) => head = now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_made_once_per_generation() {
        // Explicit generations: bumping the real one would "fork" every other test.
        static CELL: PerProcess<String> = PerProcess::new();
        assert!(CELL.get_at(10).is_none());
        let a = CELL.get_or_init_at(10, || "first".to_owned());
        let b = CELL.get_or_init_at(10, || unreachable!("made once"));
        assert!(std::ptr::eq(a, b));
        // A fork bumps the generation: the next use makes a fresh value, the old one stays.
        assert!(CELL.get_at(11).is_none());
        assert_eq!(CELL.get_or_init_at(11, || "child".to_owned()), "child");
        assert_eq!(a, "first");
    }

    #[test]
    fn concurrent_first_uses_make_one_value() {
        static CELL: PerProcess<u64> = PerProcess::new();
        static MADE: AtomicU64 = AtomicU64::new(0);
        let values: Vec<u64> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        *CELL.get_or_init_at(1, || {
                            MADE.fetch_add(1, Ordering::SeqCst);
                            std::thread::yield_now();
                            7
                        })
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(values.iter().all(|&v| v == 7));
        assert_eq!(MADE.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn kept_objects_are_not_dropped() {
        struct Loud(std::sync::Arc<AtomicBool>);
        impl Drop for Loud {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = std::sync::Arc::new(AtomicBool::new(false));
        keep_forever(Box::new(Loud(dropped.clone())));
        assert!(!dropped.load(Ordering::SeqCst));
    }
}
