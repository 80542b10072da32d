//! The retry policy of a manager's route-aware sends (which failures earn another attempt on
//! another broker, and how long to wait first), and the jitter every back-off of the manager
//! uses, so that many clients that failed together do not come back together.

use std::time::Duration;

use crate::error::BrokerError;
use crate::protocol::codes::response;

/// The classes of failure after which a send may be tried again on another broker. Only
/// failures that say nothing about the message itself are retried: a refused message
/// (too large, no permission, a bad topic) would be refused again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryOn {
    /// The connection failed or broke (nothing or part of the frame reached the broker).
    pub connection: bool,
    /// No answer in time. The broker may have stored the message: a retry can duplicate it
    /// (as with the Java producer, which retries timeouts too).
    pub timeout: bool,
    /// The broker is overloaded (SYSTEM_BUSY, flow control): another broker may not be.
    pub busy: bool,
    /// The broker's SYSTEM_ERROR.
    pub system: bool,
    /// The route was stale: TOPIC_NOT_EXIST, NOT_IN_CURRENT_UNIT, GO_AWAY, NO_BUYER_ID.
    pub route: bool,
}

impl RetryOn {
    /// Every class (the default, as the Java producer).
    pub const ALL: RetryOn = RetryOn {
        connection: true,
        timeout: true,
        busy: true,
        system: true,
        route: true,
    };

    /// No retries at all.
    pub const NONE: RetryOn = RetryOn {
        connection: false,
        timeout: false,
        busy: false,
        system: false,
        route: false,
    };

    /// The class names, as `send.retry.on` lists them.
    pub const NAMES: [&'static str; 5] = ["connection", "timeout", "busy", "system", "route"];

    /// Parses a comma-separated list of class names (`"connection,busy"`; `"none"`: none;
    /// `"all"`: every one).
    pub fn parse(list: &str) -> Result<RetryOn, String> {
        let mut on = RetryOn::NONE;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "all" => on = RetryOn::ALL,
                "none" => {}
                "connection" => on.connection = true,
                "timeout" => on.timeout = true,
                "busy" => on.busy = true,
                "system" => on.system = true,
                "route" => on.route = true,
                other => {
                    return Err(format!(
                        "{other:?} is not one of {}, all, none",
                        Self::NAMES.join(", ")
                    ))
                }
            }
        }
        Ok(on)
    }

    /// Whether a send that failed with `e` is tried again.
    pub fn covers(&self, e: &BrokerError) -> bool {
        use response::*;
        match e {
            BrokerError::Connection { .. } => self.connection,
            BrokerError::Timeout { .. } => self.timeout,
            BrokerError::BrokerBusy { .. } => self.busy,
            BrokerError::System { .. } => self.system,
            BrokerError::Response { code, .. } => {
                self.route
                    && matches!(
                        *code,
                        TOPIC_NOT_EXIST | NO_BUYER_ID | NOT_IN_CURRENT_UNIT | GO_AWAY
                    )
            }
            _ => false,
        }
    }
}

impl Default for RetryOn {
    fn default() -> Self {
        RetryOn::ALL
    }
}

/// The wait before retry number `retry` (1 for the first retry): `initial` doubled per
/// retry, capped at `max`, then jittered.
pub fn retry_backoff(initial: Duration, max: Duration, retry: u32) -> Duration {
    let doubled = initial.saturating_mul(1u32 << retry.saturating_sub(1).min(20));
    jittered(doubled.min(max))
}

/// "Equal jitter": half of `d` plus a uniformly random part of the other half, so waits stay
/// near `d` on average but clients that failed at the same moment spread out.
pub fn jittered(d: Duration) -> Duration {
    let half = d / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(fastrand::u64(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_parse_and_cover_what_they_name() {
        let busy = BrokerError::from_response(response::SYSTEM_BUSY, Some("busy"));
        let route = BrokerError::from_response(response::TOPIC_NOT_EXIST, None);
        let refused = BrokerError::from_response(response::MESSAGE_ILLEGAL, None);
        let timeout = BrokerError::Timeout {
            addr: "a".into(),
            operation: "send",
            after: Duration::ZERO,
        };
        assert!(RetryOn::ALL.covers(&busy) && RetryOn::ALL.covers(&route));
        assert!(RetryOn::ALL.covers(&timeout));
        assert!(
            !RetryOn::ALL.covers(&refused),
            "a refused message is not retried"
        );
        assert!(!RetryOn::ALL.covers(&BrokerError::InvalidArgument("x".into())));
        let some = RetryOn::parse(" Connection , busy").unwrap();
        assert!(some.connection && some.busy && !some.timeout && !some.route && !some.system);
        assert!(!some.covers(&timeout) && some.covers(&busy));
        assert_eq!(RetryOn::parse("none").unwrap(), RetryOn::NONE);
        assert_eq!(RetryOn::parse("all").unwrap(), RetryOn::ALL);
        assert!(RetryOn::parse("connection,sometimes").is_err());
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_half() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_millis(350));
        for _ in 0..200 {
            let first = retry_backoff(initial, max, 1);
            assert!(
                first >= Duration::from_millis(50) && first <= initial,
                "{first:?}"
            );
            let second = retry_backoff(initial, max, 2);
            assert!(second >= initial && second <= initial * 2, "{second:?}");
            let late = retry_backoff(initial, max, 30);
            assert!(late >= max / 2 && late <= max, "{late:?}");
        }
        assert_eq!(jittered(Duration::ZERO), Duration::ZERO);
        // Spread: 200 draws of one wait are not all the same.
        let draws: std::collections::HashSet<_> =
            (0..200).map(|_| jittered(Duration::from_secs(1))).collect();
        assert!(draws.len() > 100, "{} distinct waits", draws.len());
    }
}
