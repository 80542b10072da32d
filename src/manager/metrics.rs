//! Per-broker counters and a latency histogram (hdrhistogram, microseconds).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Counters of one broker. Updating them costs two atomic adds and one short lock.
#[derive(Debug)]
pub struct Metrics {
    requests: AtomicU64,
    errors: AtomicU64,
    latency_us: Mutex<Histogram<u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            // 1 µs .. 1 h at 3 significant digits.
            latency_us: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
            ),
        }
    }
}

impl Metrics {
    pub fn record(&self, latency: Duration, ok: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let us = (latency.as_micros() as u64).clamp(1, 3_600_000_000);
        let mut h = self.latency_us.lock().unwrap_or_else(|e| e.into_inner());
        let _ = h.record(us);
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// (p50, p99) latency in microseconds; zeros before the first request.
    pub fn latency_p50_p99_us(&self) -> (u64, u64) {
        let h = self.latency_us.lock().unwrap_or_else(|e| e.into_inner());
        if h.is_empty() {
            return (0, 0);
        }
        (h.value_at_quantile(0.5), h.value_at_quantile(0.99))
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
