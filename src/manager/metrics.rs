//! Per-broker counters and the latency of the last minute (the client's windowed histogram:
//! a p99 recovers after an incident).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::client::stats::{WindowedHistogram, LATENCY_WINDOW};

/// Counters of one broker. Updating them costs two atomic adds and one short lock.
#[derive(Debug)]
pub struct Metrics {
    requests: AtomicU64,
    errors: AtomicU64,
    latency: Mutex<WindowedHistogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            latency: Mutex::new(WindowedHistogram::new(LATENCY_WINDOW)),
        }
    }
}

impl Metrics {
    pub fn record(&self, latency: Duration, ok: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut h = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        h.record(latency);
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// (p50, p99) latency in microseconds over the last minute; zeros when nothing was
    /// recorded in it.
    pub fn latency_p50_p99_us(&self) -> (u64, u64) {
        let s = self
            .latency
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .summary();
        (s.p50, s.p99)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentiles() {
        let m = Metrics::default();
        assert_eq!(m.latency_p50_p99_us(), (0, 0));
        for i in 1..=100 {
            m.record(Duration::from_micros(i * 10), i != 7);
        }
        assert_eq!(m.requests(), 100);
        assert_eq!(m.errors(), 1);
        let (p50, p99) = m.latency_p50_p99_us();
        assert!((495..=505).contains(&p50), "{p50}");
        assert!((985..=995).contains(&p99), "{p99}");
    }
}
