//! Health of one broker: healthy → suspect → down after N consecutive failures, and the
//! back-off schedule of the probe that brings a down broker back.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::retry::jittered;
use crate::error::BrokerError;

/// What the manager believes about a broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerState {
    Healthy,
    /// At least one recent failure, fewer than the limit.
    Suspect,
    /// Too many consecutive failures: requests fail at once until a probe succeeds.
    Down,
}

/// Whether an error says something about the broker's reachability. A broker that answers
/// with an error code is alive, so only transport-level failures count.
pub fn counts_as_failure(e: &BrokerError) -> bool {
    matches!(
        e,
        BrokerError::Connection { .. } | BrokerError::Timeout { .. } | BrokerError::Protocol { .. }
    )
}

#[derive(Debug)]
struct State {
    state: BrokerState,
    consecutive_failures: u32,
    next_probe: Instant,
    backoff: Duration,
}

/// Thread-safe health record of one broker.
#[derive(Debug)]
pub struct Health {
    max_failures: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    state: Mutex<State>,
}

impl Health {
    pub fn new(max_failures: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        Health {
            max_failures: max_failures.max(1),
            initial_backoff,
            max_backoff,
            state: Mutex::new(State {
                state: BrokerState::Healthy,
                consecutive_failures: 0,
                next_probe: Instant::now(),
                backoff: initial_backoff,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self) -> BrokerState {
        self.lock().state
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.lock().consecutive_failures
    }

    /// A request (or probe) got an answer: the broker is healthy again.
    pub fn record_success(&self) -> bool {
        let mut s = self.lock();
        let recovered = s.state == BrokerState::Down;
        s.state = BrokerState::Healthy;
        s.consecutive_failures = 0;
        s.backoff = self.initial_backoff;
        recovered
    }

    /// A request failed for a transport reason. Returns true when this failure marked the
    /// broker down.
    pub fn record_failure(&self, now: Instant) -> bool {
        let mut s = self.lock();
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        if s.state == BrokerState::Down {
            return false;
        }
        if s.consecutive_failures >= self.max_failures {
            s.state = BrokerState::Down;
            s.backoff = self.initial_backoff;
            s.next_probe = now + jittered(s.backoff);
            true
        } else {
            s.state = BrokerState::Suspect;
            false
        }
    }

    /// True when the broker is down and its next probe is due at `now`.
    pub fn probe_due(&self, now: Instant) -> bool {
        let s = self.lock();
        s.state == BrokerState::Down && s.next_probe <= now
    }

    /// A probe failed: wait twice as long (capped, then jittered: [`jittered`]) before the
    /// next one, so the clients of a broker that went down together do not probe together.
    pub fn probe_failed(&self, now: Instant) {
        let mut s = self.lock();
        s.backoff = (s.backoff * 2).min(self.max_backoff);
        s.next_probe = now + jittered(s.backoff);
    }

    /// Defers the next probe while one is running, so the ticker does not start another.
    pub fn probe_started(&self, now: Instant, probe_timeout: Duration) {
        let mut s = self.lock();
        s.next_probe = now + probe_timeout + s.backoff;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_suspect_down_and_back() {
        let h = Health::new(3, Duration::from_millis(100), Duration::from_secs(1));
        let t0 = Instant::now();
        assert!(!h.record_failure(t0));
        assert_eq!(h.state(), BrokerState::Suspect);
        assert!(!h.record_failure(t0));
        assert!(h.record_failure(t0), "third failure marks it down");
        assert_eq!(h.state(), BrokerState::Down);
        assert!(!h.record_failure(t0), "already down");
        assert!(!h.probe_due(t0));
        // The first probe is due within the (jittered) initial back-off: 50..=100 ms.
        assert!(!h.probe_due(t0 + Duration::from_millis(49)));
        assert!(h.probe_due(t0 + Duration::from_millis(100)));
        assert!(h.record_success());
        assert_eq!(h.state(), BrokerState::Healthy);
        assert_eq!(h.consecutive_failures(), 0);
    }

    #[test]
    fn a_success_resets_the_count() {
        let h = Health::new(3, Duration::from_millis(100), Duration::from_secs(1));
        let t0 = Instant::now();
        h.record_failure(t0);
        h.record_failure(t0);
        assert!(!h.record_success());
        h.record_failure(t0);
        h.record_failure(t0);
        assert_eq!(h.state(), BrokerState::Suspect);
    }

    #[test]
    fn probe_backoff_doubles_up_to_the_cap() {
        let h = Health::new(1, Duration::from_millis(100), Duration::from_millis(350));
        let t0 = Instant::now();
        h.record_failure(t0);
        let mut now = t0 + Duration::from_millis(100);
        let mut waits = Vec::new();
        for _ in 0..4 {
            assert!(h.probe_due(now));
            h.probe_failed(now);
            let mut wait = Duration::ZERO;
            while !h.probe_due(now + wait) {
                wait += Duration::from_millis(10);
            }
            waits.push(wait.as_millis());
            now += wait;
        }
        // Doubling, capped at 350 ms, each wait jittered into its upper half (10 ms steps).
        let bounds = [(100, 200), (170, 350), (170, 350), (170, 350)];
        for (w, (lo, hi)) in waits.iter().zip(bounds) {
            assert!((lo..=hi + 10).contains(w), "{waits:?}");
        }
    }

    #[test]
    fn only_transport_errors_count() {
        assert!(counts_as_failure(&BrokerError::Timeout {
            addr: "a".into(),
            operation: "x",
            after: Duration::ZERO
        }));
        assert!(!counts_as_failure(&BrokerError::from_response(1, None)));
        assert!(!counts_as_failure(&BrokerError::InvalidArgument(
            "x".into()
        )));
    }
}
