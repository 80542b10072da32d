//! Membership notices from C: the broker's NOTIFY_CONSUMER_IDS_CHANGED (a consumer group
//! gained or lost a member, so its queues should be rebalanced) reaches a `bc_notify_cb`, on a
//! library thread, or through the client's `bc_queue` for a client in queue mode.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex};

use super::callbacks::{replace, Registration};
use super::queue::Queue;
use super::text::c_text;
use crate::client::AsyncBrokerClient;

/// Told that the members of `consumer_group` changed (a consumer joined, left or timed out;
/// the broker tells every member, the one that joined too). `consumer_group` is borrowed for
/// the call. Runs on a library thread, or inside `bc_queue_dispatch` for a client made with a
/// queue; it must not throw or longjmp, and on a library thread blocking `bc_*` calls return
/// `BC_ERR_WOULD_DEADLOCK` (start async ones, e.g. `bc_client_get_consumer_list_async`).
/// Notices are hints: the broker sends them at most once per change and may drop them.
pub type bc_notify_cb =
    Option<extern "C" fn(user_data: *mut c_void, consumer_group: *const c_char)>;

/// An installed notice callback.
pub(crate) type NotifyRegistration = Registration<extern "C" fn(*mut c_void, *const c_char)>;

fn deliver(r: &NotifyRegistration, group: &str) {
    if r.is_active() {
        let group = c_text(group);
        (r.cb)(r.user_data.ptr(), group.as_ptr());
    }
}

/// Installs `registration` (or none) on `client`'s connection, delivering through `queue`
/// when the client has one; returns the one it replaces, to be dropped outside every lock.
/// A notice queued for a replaced registration is dropped, not delivered.
pub(crate) fn install(
    slot: &Mutex<Option<Arc<NotifyRegistration>>>,
    client: &AsyncBrokerClient,
    queue: Option<Arc<Queue>>,
    registration: Option<Arc<NotifyRegistration>>,
) -> Option<Arc<NotifyRegistration>> {
    replace(slot, registration, |r| {
        let handler = r.map(|r| {
            Arc::new(move |group: &str| match &queue {
                Some(q) => {
                    let (r, group) = (r.clone(), group.to_owned());
                    q.push(Box::new(move || deliver(&r, &group)));
                }
                None => deliver(&r, group),
            }) as Arc<crate::client::NotifyHandler>
        });
        client.set_notify_handler(handler);
    })
}
