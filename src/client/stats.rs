//! Statistics of one client: counters per operation and outcome, traffic, connections, and
//! latency percentiles over a sliding window (so a p99 recovers after an incident instead of
//! carrying it for the life of the process). Recording costs a few atomic adds and one short
//! lock; reading merges the window's histograms.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::error::BrokerError;

/// How far back latency percentiles look.
pub const LATENCY_WINDOW: Duration = Duration::from_secs(60);
/// The window is kept as this many slices; the oldest is dropped as time moves on.
const SLICES: usize = 6;
/// 1 µs .. 10 min (longer is recorded as 10 min) at 2 significant digits: about 20 KB a
/// histogram (3 digits up to an hour would be 360 KB, six of them per operation).
const MAX_US: u64 = 600_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 2).expect("valid histogram bounds")
}

/// Latencies of the last [`LATENCY_WINDOW`], in `SLICES` slices of one sixth of it each.
#[derive(Debug)]
pub struct WindowedHistogram {
    origin: Instant,
    slice: Duration,
    /// (the slice number it holds, its latencies).
    slices: Vec<(u64, Histogram<u64>)>,
}

impl WindowedHistogram {
    pub fn new(window: Duration) -> Self {
        WindowedHistogram {
            origin: Instant::now(),
            slice: (window / SLICES as u32).max(Duration::from_millis(1)),
            slices: (0..SLICES).map(|_| (u64::MAX, histogram())).collect(),
        }
    }

    fn slice_at(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.origin).as_nanos() / self.slice.as_nanos()) as u64
    }

    pub fn record(&mut self, latency: Duration) {
        self.record_at(Instant::now(), latency)
    }

    fn record_at(&mut self, now: Instant, latency: Duration) {
        let n = self.slice_at(now);
        let (held, h) = &mut self.slices[(n % SLICES as u64) as usize];
        if *held != n {
            h.reset();
            *held = n;
        }
        let _ = h.record((latency.as_micros() as u64).clamp(1, MAX_US));
    }

    /// The percentiles of what was recorded within the window.
    pub fn summary(&self) -> LatencySummary {
        self.summary_at(Instant::now())
    }

    fn summary_at(&self, now: Instant) -> LatencySummary {
        let n = self.slice_at(now);
        let mut all = histogram();
        for (held, h) in &self.slices {
            if *held != u64::MAX && n.saturating_sub(*held) < SLICES as u64 {
                let _ = all.add(h);
            }
        }
        LatencySummary::of(&all)
    }
}

/// Latency percentiles in microseconds (all 0 when nothing was recorded in the window).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    /// Requests the percentiles are over.
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl LatencySummary {
    fn of(h: &Histogram<u64>) -> LatencySummary {
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        }
    }
}

/// The counters of one operation (`send`, `pull`, …).
#[derive(Debug)]
struct Operation {
    requests: u64,
    ok: u64,
    refused: u64,
    failed: u64,
    timeouts: u64,
    latency: WindowedHistogram,
}

/// One operation in a [`StatsSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationStats {
    /// Requests sent (oneway ones included).
    pub requests: u64,
    /// Answered with success (oneway: written).
    pub ok: u64,
    /// Answered with an error code (the broker refused).
    pub refused: u64,
    /// No answer: connection, timeout or protocol failures, and refusals of a full local
    /// window.
    pub failed: u64,
    /// Of `failed`, those that timed out.
    pub timeouts: u64,
    /// Over the last `window_ms`; answered requests only.
    pub latency_us: LatencySummary,
}

/// The outcome of one request, as the counters see it.
pub enum Outcome<'a> {
    Ok,
    Refused,
    Failed(&'a BrokerError),
}

/// A client's statistics.
#[derive(Debug)]
pub struct Stats {
    created: Instant,
    operations: Mutex<BTreeMap<&'static str, Operation>>,
    connects: AtomicU64,
    window_rejections: AtomicU64,
    /// Traffic of connections already replaced (the current one's is added when read).
    retired_bytes_out: AtomicU64,
    retired_bytes_in: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            created: Instant::now(),
            operations: Mutex::new(BTreeMap::new()),
            connects: AtomicU64::new(0),
            window_rejections: AtomicU64::new(0),
            retired_bytes_out: AtomicU64::new(0),
            retired_bytes_in: AtomicU64::new(0),
        }
    }
}

impl Stats {
    /// Counts one request of `operation`; `latency` for answered ones.
    pub fn record(&self, operation: &'static str, outcome: Outcome<'_>, latency: Option<Duration>) {
        if let Outcome::Failed(BrokerError::BrokerBusy { code: -1, .. }) = outcome {
            // The transport's own refusal: the local in-flight window was full.
            self.window_rejections.fetch_add(1, Ordering::Relaxed);
        }
        let mut ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        let op = ops.entry(operation).or_insert_with(|| Operation {
            requests: 0,
            ok: 0,
            refused: 0,
            failed: 0,
            timeouts: 0,
            latency: WindowedHistogram::new(LATENCY_WINDOW),
        });
        op.requests += 1;
        match outcome {
            Outcome::Ok => op.ok += 1,
            Outcome::Refused => op.refused += 1,
            Outcome::Failed(e) => {
                op.failed += 1;
                if matches!(e, BrokerError::Timeout { .. }) {
                    op.timeouts += 1;
                }
            }
        }
        if let Some(l) = latency {
            op.latency.record(l);
        }
    }

    /// A connection was established.
    pub fn connected(&self) {
        self.connects.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection was replaced: keep its traffic.
    pub fn retire(&self, bytes_out: u64, bytes_in: u64) {
        self.retired_bytes_out
            .fetch_add(bytes_out, Ordering::Relaxed);
        self.retired_bytes_in.fetch_add(bytes_in, Ordering::Relaxed);
    }

    /// The statistics now; `current` is the live connection's (bytes out, bytes in, requests
    /// in flight), if there is one.
    pub fn snapshot(&self, current: Option<(u64, u64, usize)>) -> StatsSnapshot {
        let (out, inn, in_flight) = current.unwrap_or((0, 0, 0));
        let ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        let operations: BTreeMap<String, OperationStats> = ops
            .iter()
            .map(|(name, op)| {
                (
                    (*name).to_owned(),
                    OperationStats {
                        requests: op.requests,
                        ok: op.ok,
                        refused: op.refused,
                        failed: op.failed,
                        timeouts: op.timeouts,
                        latency_us: op.latency.summary(),
                    },
                )
            })
            .collect();
        let sum = |f: fn(&OperationStats) -> u64| operations.values().map(f).sum();
        let connects = self.connects.load(Ordering::Relaxed);
        StatsSnapshot {
            uptime_ms: self.created.elapsed().as_millis() as u64,
            window_ms: LATENCY_WINDOW.as_millis() as u64,
            connected: current.is_some(),
            connects,
            reconnects: connects.saturating_sub(1),
            in_flight,
            bytes_out: self.retired_bytes_out.load(Ordering::Relaxed) + out,
            bytes_in: self.retired_bytes_in.load(Ordering::Relaxed) + inn,
            requests: sum(|o| o.requests),
            failed: sum(|o| o.failed),
            timeouts: sum(|o| o.timeouts),
            window_rejections: self.window_rejections.load(Ordering::Relaxed),
            operations,
        }
    }
}

/// What [`Stats::snapshot`] reports (`bc_client_stats_json` serializes it; docs/operators.md
/// explains each field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Since the client was created.
    pub uptime_ms: u64,
    /// The span of every `latency_us`.
    pub window_ms: u64,
    /// A live connection now.
    pub connected: bool,
    /// Connections established; `reconnects` is all but the first.
    pub connects: u64,
    pub reconnects: u64,
    /// Requests written and not yet answered, now.
    pub in_flight: usize,
    /// Frame bytes written and read, every connection of the client.
    pub bytes_out: u64,
    pub bytes_in: u64,
    /// Totals of `operations`.
    pub requests: u64,
    pub failed: u64,
    pub timeouts: u64,
    /// Requests refused because the local in-flight window (`max.in.flight`) was full.
    pub window_rejections: u64,
    /// By operation name (`send`, `pull`, `query offset`, …).
    pub operations: BTreeMap<String, OperationStats>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_forgets_old_latencies() {
        let mut h = WindowedHistogram::new(Duration::from_secs(60));
        let t0 = h.origin;
        for i in 1..=100 {
            h.record_at(t0, Duration::from_micros(i * 10));
        }
        let s = h.summary_at(t0);
        assert_eq!(s.count, 100);
        assert!((495..=505).contains(&s.p50), "{s:?}");
        assert!((985..=1000).contains(&s.p99), "{s:?}");
        // An incident 30 s later, then calm: after a minute the incident is gone.
        h.record_at(t0 + Duration::from_secs(30), Duration::from_secs(2));
        assert!(h.summary_at(t0 + Duration::from_secs(31)).max >= 1_990_000);
        let later = t0 + Duration::from_secs(95);
        h.record_at(later, Duration::from_micros(300));
        let s = h.summary_at(later);
        assert_eq!((s.count, s.max / 10), (1, 30), "{s:?}");
        assert_eq!(
            h.summary_at(later + Duration::from_secs(70)),
            LatencySummary::default()
        );
    }

    #[test]
    fn outcomes_are_counted_per_operation() {
        let s = Stats::default();
        s.record("send", Outcome::Ok, Some(Duration::from_micros(100)));
        s.record("send", Outcome::Refused, Some(Duration::from_micros(200)));
        let timeout = BrokerError::Timeout {
            addr: "a".into(),
            operation: "send",
            after: Duration::ZERO,
        };
        s.record("send", Outcome::Failed(&timeout), None);
        let full = BrokerError::BrokerBusy {
            code: -1,
            remark: "window".into(),
        };
        s.record("pull", Outcome::Failed(&full), None);
        s.connected();
        s.connected();
        s.retire(10, 20);
        let snap = s.snapshot(Some((1, 2, 3)));
        let send = &snap.operations["send"];
        assert_eq!(
            (
                send.requests,
                send.ok,
                send.refused,
                send.failed,
                send.timeouts
            ),
            (3, 1, 1, 1, 1)
        );
        assert_eq!(send.latency_us.count, 2);
        assert_eq!((snap.requests, snap.failed, snap.timeouts), (4, 2, 1));
        assert_eq!(snap.window_rejections, 1);
        assert_eq!((snap.connects, snap.reconnects), (2, 1));
        assert_eq!((snap.bytes_out, snap.bytes_in, snap.in_flight), (11, 22, 3));
        assert!(snap.connected);
    }
}
