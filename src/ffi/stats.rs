//! Periodic statistics from C: every `interval_ms` a client's `bc_client_stats_json` text
//! reaches a `bc_stats_cb`, on a library thread, or through the client's `bc_queue` for a
//! client in queue mode (as librdkafka's `stats_cb` with `stats.interval.ms`).

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::callbacks::{replace, Registration};
use super::queue::Queue;
use super::text::json_text;
use crate::client::AsyncBrokerClient;

/// Receives a client's statistics (the text of `bc_client_stats_json`, borrowed for the call)
/// every interval. Runs on a library thread, or inside `bc_queue_dispatch` for a client made
/// with a queue; it must not throw or longjmp.
pub type bc_stats_cb = Option<extern "C" fn(user_data: *mut c_void, json: *const c_char)>;

/// An installed statistics callback.
pub(crate) type StatsRegistration = Registration<extern "C" fn(*mut c_void, *const c_char)>;

fn deliver(r: &StatsRegistration, client: &AsyncBrokerClient) {
    if r.is_active() {
        let json = json_text(&client.stats());
        (r.cb)(r.user_data.ptr(), json.as_ptr());
    }
}

/// Installs `registration` (or none) with its `interval`; returns the one it replaces, to be
/// dropped outside every lock. The timer holds the registration weakly: removing it (or
/// freeing the client) releases the user data at once, and the timer ends at its next tick.
pub(crate) fn install(
    slot: &Mutex<Option<Arc<StatsRegistration>>>,
    client: &AsyncBrokerClient,
    queue: Option<Arc<Queue>>,
    interval: Duration,
    registration: Option<Arc<StatsRegistration>>,
) -> Option<Arc<StatsRegistration>> {
    replace(slot, registration, |r| {
        if let Some(r) = r {
            let weak = Arc::downgrade(&r);
            let client = client.clone();
            crate::transport::runtime::runtime().spawn(tick(weak, client, queue, interval));
        }
    })
}

async fn tick(
    weak: Weak<StatsRegistration>,
    client: AsyncBrokerClient,
    queue: Option<Arc<Queue>>,
    interval: Duration,
) {
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        timer.tick().await;
        let Some(r) = weak.upgrade().filter(|r| r.is_active()) else {
            return;
        };
        let c = client.clone();
        match &queue {
            Some(q) => q.push(Box::new(move || deliver(&r, &c))),
            // The callback is the application's: it may take a while, so not on a worker.
            None => {
                let _ = tokio::task::spawn_blocking(move || deliver(&r, &c)).await;
            }
        }
    }
}
