//! Requests waiting for their response, keyed by opaque. Closing the table fails every
//! waiter once and refuses new ones, under one lock, so no request can slip in after the
//! connection is gone and wait for its deadline.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::{oneshot, OwnedSemaphorePermit};

use crate::error::{BrokerError, Result};
use crate::protocol::RemotingCommand;

pub(crate) type Reply = Result<RemotingCommand>;

struct Pending {
    reply: oneshot::Sender<Reply>,
    /// Holds a place in the in-flight window until the request completes, whichever way.
    _permit: OwnedSemaphorePermit,
}

#[derive(Default)]
struct Table {
    pending: HashMap<i32, Pending>,
    closed: Option<BrokerError>,
}

#[derive(Default)]
pub(crate) struct InflightTable {
    table: Mutex<Table>,
}

impl InflightTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts
        // and removes), so a poisoned lock is still usable.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a waiter for `opaque`; fails with the close reason once the table is closed.
    pub fn insert(
        &self,
        opaque: i32,
        permit: OwnedSemaphorePermit,
    ) -> Result<oneshot::Receiver<Reply>> {
        let (tx, rx) = oneshot::channel();
        let mut t = self.lock();
        if let Some(reason) = &t.closed {
            return Err(reason.clone());
        }
        t.pending.insert(
            opaque,
            Pending {
                reply: tx,
                _permit: permit,
            },
        );
        Ok(rx)
    }

    /// Completes the waiter of `opaque`; false when none waits (timed out, or not ours).
    pub fn complete(&self, opaque: i32, reply: Reply) -> bool {
        let pending = self.lock().pending.remove(&opaque);
        match pending {
            Some(Pending {
                reply: tx,
                _permit: permit,
            }) => {
                // The window place is free before the caller wakes up: a caller that sends its
                // next request right after this reply must find it free.
                drop(permit);
                // The receiver may have been dropped by a cancelled caller; nothing to do then.
                let _ = tx.send(reply);
                true
            }
            None => false,
        }
    }

    /// Forgets the waiter of `opaque` (its caller timed out or was cancelled).
    pub fn remove(&self, opaque: i32) {
        self.lock().pending.remove(&opaque);
    }

    pub fn contains(&self, opaque: i32) -> bool {
        self.lock().pending.contains_key(&opaque)
    }

    pub fn len(&self) -> usize {
        self.lock().pending.len()
    }

    /// The reason the table was closed, if it was.
    pub fn closed_reason(&self) -> Option<BrokerError> {
        self.lock().closed.clone()
    }

    /// Closes the table: every waiter gets `reason` exactly once; later inserts fail with it.
    /// Returns how many waiters were failed; a second close changes nothing.
    pub fn close(&self, reason: BrokerError) -> usize {
        let drained: Vec<Pending> = {
            let mut t = self.lock();
            if t.closed.is_some() {
                return 0;
            }
            t.closed = Some(reason.clone());
            t.pending.drain().map(|(_, p)| p).collect()
        };
        let n = drained.len();
        for p in drained {
            let _ = p.reply.send(Err(reason.clone()));
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    fn permit(sem: &Arc<Semaphore>) -> OwnedSemaphorePermit {
        sem.clone().try_acquire_owned().unwrap()
    }

    #[test]
    fn close_fails_every_waiter_once_and_refuses_new_ones() {
        let sem = Arc::new(Semaphore::new(10));
        let t = InflightTable::default();
        let mut rx1 = t.insert(1, permit(&sem)).unwrap();
        let mut rx2 = t.insert(2, permit(&sem)).unwrap();
        assert_eq!(sem.available_permits(), 8);
        let reason = BrokerError::Connection {
            addr: "a".into(),
            reason: "reset".into(),
        };
        assert_eq!(t.close(reason.clone()), 2);
        assert_eq!(t.close(BrokerError::Shutdown), 0);
        assert_eq!(rx1.try_recv().unwrap(), Err(reason.clone()));
        assert_eq!(rx2.try_recv().unwrap(), Err(reason.clone()));
        assert_eq!(
            sem.available_permits(),
            10,
            "permits return with the waiters"
        );
        assert_eq!(t.insert(3, permit(&sem)).err(), Some(reason));
        assert!(!t.complete(1, Ok(RemotingCommand::default())));
    }

    #[test]
    fn complete_delivers_to_the_matching_opaque_only() {
        let sem = Arc::new(Semaphore::new(10));
        let t = InflightTable::default();
        let mut rx = t.insert(5, permit(&sem)).unwrap();
        assert!(!t.complete(6, Ok(RemotingCommand::default())));
        let resp = RemotingCommand::response(0, 5, None);
        assert!(t.complete(5, Ok(resp.clone())));
        assert_eq!(rx.try_recv().unwrap(), Ok(resp));
        assert_eq!(t.len(), 0);
    }
}
