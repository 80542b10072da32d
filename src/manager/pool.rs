//! One broker in the manager: its pool of connections, health, metrics and the count of
//! requests in flight through the manager (what removal and shutdown drain).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use super::health::Health;
use super::metrics::Metrics;
use super::ManagerConfig;
use crate::client::AsyncBrokerClient;

#[derive(Debug)]
pub(crate) struct BrokerEntry {
    pub addr: String,
    pub name: std::sync::RwLock<Option<String>>,
    /// `connection_pool_size` clients, each with its own connection, sharing one client id.
    pool: Vec<AsyncBrokerClient>,
    next: AtomicUsize,
    pub health: Health,
    pub metrics: Metrics,
    admitting: AtomicBool,
    in_flight: AtomicUsize,
    drained: Notify,
}

impl BrokerEntry {
    pub fn new(addr: &str, name: Option<String>, config: &ManagerConfig, client_id: &str) -> Self {
        let mut client_config = config.client.clone();
        client_config.client_id = Some(client_id.to_owned());
        let pool = (0..config.connection_pool_size.max(1))
            .map(|_| AsyncBrokerClient::new(addr, client_config.clone()))
            .collect();
        BrokerEntry {
            addr: addr.to_owned(),
            name: std::sync::RwLock::new(name),
            pool,
            next: AtomicUsize::new(0),
            health: Health::new(
                config.max_consecutive_failures,
                config.probe_initial_backoff,
                config.probe_max_backoff,
            ),
            metrics: Metrics::default(),
            admitting: AtomicBool::new(true),
            in_flight: AtomicUsize::new(0),
            drained: Notify::new(),
        }
    }

    pub fn name(&self) -> Option<String> {
        self.name.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_name(&self, name: &str) {
        *self.name.write().unwrap_or_else(|e| e.into_inner()) = Some(name.to_owned());
    }

    /// The next client of the pool, round robin: requests spread over its connections.
    pub fn pick(&self) -> &AsyncBrokerClient {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len();
        &self.pool[i]
    }

    pub fn pool(&self) -> &[AsyncBrokerClient] {
        &self.pool
    }

    pub fn open_connections(&self) -> usize {
        self.pool.iter().filter(|c| c.is_connected()).count()
    }

    pub fn is_admitting(&self) -> bool {
        self.admitting.load(Ordering::Acquire)
    }

    pub fn stop_admitting(&self) {
        self.admitting.store(false, Ordering::Release);
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Counts a request until the guard drops.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight {
            entry: self.clone(),
        }
    }

    /// Waits until no request is in flight (or the caller's timeout ends the wait).
    pub async fn drained(&self) {
        loop {
            let notified = self.drained.notified();
            if self.in_flight() == 0 {
                return;
            }
            notified.await;
        }
    }

    pub fn disconnect(&self) {
        for c in &self.pool {
            c.disconnect();
        }
    }
}

pub(crate) struct InFlight {
    entry: Arc<BrokerEntry>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.entry.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.entry.drained.notify_waiters();
        }
    }
}
