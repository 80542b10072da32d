//! Group membership through the C ABI against the real broker: heartbeats with real data
//! (`bc_heartbeat`: consume type, message model, start point, subscriptions) through a client
//! and a manager, blocking and async; and the broker's consumer-ids-changed notices reaching a
//! `bc_notify_cb` on a library thread and through a `bc_queue`.

mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use brokerclient::ffi::client::*;
use brokerclient::ffi::error::*;
use brokerclient::ffi::heartbeat::*;
use brokerclient::ffi::manager::*;
use brokerclient::ffi::message::*;
use brokerclient::ffi::pull::*;
use brokerclient::ffi::queue::*;
use brokerclient::ffi::result::*;
use brokerclient::ffi::status::bc_status;
use common::{broker_addr, unique_name};

/// Generous: the broker answers in milliseconds; a busy 2-core CI machine must not fail this.
const WAIT: Duration = Duration::from_secs(30);

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn text(p: *const c_char) -> String {
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn message_of(err: *mut bc_error) -> String {
    if err.is_null() {
        String::new()
    } else {
        let m = text(bc_error_message(err));
        bc_error_free(err);
        m
    }
}

fn ok(what: &str, f: impl FnOnce(*mut *mut bc_error) -> bc_status) {
    let mut err = null_mut();
    let s = f(&mut err);
    assert_eq!(s, bc_status::BC_OK, "{what}: {}", message_of(err));
}

fn refused(what: &str, f: impl FnOnce(*mut *mut bc_error) -> bc_status) -> String {
    let mut err = null_mut();
    let s = f(&mut err);
    assert_eq!(s, bc_status::BC_ERR_INVALID_ARG, "{what}");
    message_of(err)
}

fn new_client(queue: *const bc_queue) -> *mut bc_client {
    let addr = c(&broker_addr());
    let mut client = null_mut();
    ok("bc_client_new", |e| {
        bc_client_new(addr.as_ptr(), null(), queue, &mut client, e)
    });
    client
}

fn send_tagged(client: *const bc_client, topic: &str, body: &str, tag: &str) {
    let t = c(topic);
    let mut m = null_mut();
    ok("bc_message_new", |e| {
        bc_message_new(t.as_ptr(), body.as_ptr(), body.len(), &mut m, e)
    });
    let tag = c(tag);
    ok("bc_message_set_tags", |e| {
        bc_message_set_tags(m, tag.as_ptr(), e)
    });
    let mut r = null_mut();
    ok("bc_client_send", |e| {
        bc_client_send(client, c"bc_member_pg".as_ptr(), 0, m, &mut r, e)
    });
    bc_send_result_free(r);
    bc_message_free(m);
}

/// Pulls queue 0 of `topic` for `group` with no expression (the subscription the group's
/// heartbeat registered filters) until `n` bodies arrived or [`WAIT`] passed.
fn pull_by_registered_subscription(
    client: *const bc_client,
    group: &str,
    topic: &str,
    n: usize,
) -> Vec<String> {
    let (g, t) = (c(group), c(topic));
    let mut req = null_mut();
    ok("bc_pull_request_new", |e| {
        bc_pull_request_new(g.as_ptr(), t.as_ptr(), 0, 0, &mut req, e)
    });
    ok("expression NULL", |e| {
        bc_pull_request_set_expression(req, null(), 0, e)
    });
    let deadline = Instant::now() + WAIT;
    let mut bodies = Vec::new();
    loop {
        let mut b = null_mut();
        ok("bc_client_pull_request", |e| {
            bc_client_pull_request(client, req, &mut b, e)
        });
        bodies.clear();
        for i in 0..bc_batch_len(b) {
            let mut v: bc_message_view = unsafe { std::mem::zeroed() };
            v.struct_size = std::mem::size_of::<bc_message_view>();
            ok("bc_batch_get", |e| bc_batch_get(b, i, &mut v, e));
            let body = unsafe { std::slice::from_raw_parts(v.body, v.body_len) };
            bodies.push(String::from_utf8_lossy(body).into_owned());
        }
        bc_batch_free(b);
        if bodies.len() >= n || Instant::now() > deadline {
            break;
        }
        // The broker builds the consume queue just after answering a send: poll (bounded).
        std::thread::sleep(Duration::from_millis(20));
    }
    bc_pull_request_free(req);
    bodies
}

/// One completion of an async call.
#[derive(Default)]
struct Done {
    status: Mutex<Option<bc_status>>,
    cond: Condvar,
}

impl Done {
    fn wait(&self) -> bc_status {
        let g = self.status.lock().unwrap();
        let (g, _) = self
            .cond
            .wait_timeout_while(g, WAIT, |s| s.is_none())
            .unwrap();
        g.expect("the async heartbeat completed")
    }
}

extern "C" fn on_done(ud: *mut c_void, status: bc_status, _err: *const bc_error) {
    let done = unsafe { &*(ud as *const Done) };
    *done.status.lock().unwrap() = Some(status);
    done.cond.notify_all();
}

/// A heartbeat built with `bc_heartbeat` registers its consumer group's subscription on the
/// broker: a pull that carries no expression is then filtered by it (only the subscribed tag
/// comes back), and the group lists this client. Bad input is refused before anything is
/// sent; the async and manager variants register too.
#[test]
fn heartbeat_with_data_registers_the_subscription_the_broker_filters_by() {
    let client = new_client(null());
    let topic = unique_name("bc_member_sub");
    let group = unique_name("bc_member_cg");
    let t = c(&topic);
    ok("create topic", |e| {
        bc_client_create_topic(client, t.as_ptr(), 1, e)
    });
    for (body, tag) in [("one", "keep"), ("two", "drop"), ("three", "keep")] {
        send_tagged(client, &topic, body, tag);
    }

    let mut hb = null_mut();
    ok("bc_heartbeat_new", |e| bc_heartbeat_new(&mut hb, e));
    let g = c(&group);
    // Validation first: an empty heartbeat, a subscription of a group not added, bad enums.
    refused("no group", |e| bc_client_send_heartbeat(client, hb, e));
    let msg = refused("group not added", |e| {
        bc_heartbeat_add_subscription(hb, g.as_ptr(), t.as_ptr(), c"*".as_ptr(), 0, e)
    });
    assert!(msg.contains("add it first"), "{msg}");
    refused("consume type", |e| {
        bc_heartbeat_add_consumer(hb, g.as_ptr(), 7, 0, 1, e)
    });
    refused("message model", |e| {
        bc_heartbeat_add_consumer(hb, g.as_ptr(), 0, 5, 1, e)
    });
    refused("consume from", |e| {
        bc_heartbeat_add_consumer(hb, g.as_ptr(), 0, 0, -1, e)
    });
    refused("NULL heartbeat", |e| {
        bc_heartbeat_add_producer(null_mut(), c"pg".as_ptr(), e)
    });
    refused("bad group", |e| {
        bc_heartbeat_add_producer(hb, c"a b".as_ptr(), e)
    });

    ok("add producer", |e| {
        bc_heartbeat_add_producer(hb, c"bc_member_pg".as_ptr(), e)
    });
    ok("add consumer", |e| {
        bc_heartbeat_add_consumer(
            hb,
            g.as_ptr(),
            bc_consume_type::BC_CONSUME_PASSIVELY as i32,
            bc_message_model::BC_MESSAGE_MODEL_CLUSTERING as i32,
            bc_consume_from_where::BC_CONSUME_FROM_FIRST_OFFSET as i32,
            e,
        )
    });
    refused("empty expression", |e| {
        bc_heartbeat_add_subscription(hb, g.as_ptr(), t.as_ptr(), c" ".as_ptr(), 0, e)
    });
    refused("expression type", |e| {
        bc_heartbeat_add_subscription(hb, g.as_ptr(), t.as_ptr(), c"*".as_ptr(), 3, e)
    });
    // A later subscription to the same topic replaces the first.
    ok("subscribe *", |e| {
        bc_heartbeat_add_subscription(hb, g.as_ptr(), t.as_ptr(), c"*".as_ptr(), 0, e)
    });
    ok("subscribe keep", |e| {
        bc_heartbeat_add_subscription(hb, g.as_ptr(), t.as_ptr(), c"keep || other".as_ptr(), 0, e)
    });
    ok("bc_client_send_heartbeat", |e| {
        bc_client_send_heartbeat(client, hb, e)
    });

    assert_eq!(
        pull_by_registered_subscription(client, &group, &topic, 2),
        ["one", "three"],
        "the registered TAG subscription filters a pull without an expression"
    );
    let mut json = null_mut();
    ok("consumer list", |e| {
        bc_client_get_consumer_list(client, g.as_ptr(), &mut json, e)
    });
    let mut id = null_mut();
    ok("client id", |e| bc_client_get_client_id(client, &mut id, e));
    assert!(
        text(json).contains(&text(id)),
        "{} lists {}",
        text(json),
        text(id)
    );
    bc_string_free(json);
    bc_string_free(id);

    // Async: the heartbeat is copied at the call, so it may be freed before completion.
    let done = Done::default();
    ok("async heartbeat", |e| {
        bc_client_send_heartbeat_async(
            client,
            hb,
            Some(on_done),
            &done as *const Done as *mut c_void,
            e,
        )
    });
    let mut copy = null_mut();
    ok("second heartbeat", |e| bc_heartbeat_new(&mut copy, e));
    ok("producer", |e| {
        bc_heartbeat_add_producer(copy, c"bc_member_pg2".as_ptr(), e)
    });
    assert_eq!(done.wait(), bc_status::BC_OK);

    // Through a manager: to every broker it knows.
    let mut m = null_mut();
    ok("bc_manager_new", |e| {
        bc_manager_new(null(), null(), &mut m, e)
    });
    let addr = c(&broker_addr());
    let mut added = null_mut();
    ok("add broker", |e| {
        bc_manager_add_broker(m, addr.as_ptr(), &mut added, e)
    });
    bc_string_free(added);
    ok("bc_manager_send_heartbeat", |e| {
        bc_manager_send_heartbeat(m, hb, e)
    });
    let done = Done::default();
    ok("manager async heartbeat", |e| {
        bc_manager_send_heartbeat_async(
            m,
            copy,
            Some(on_done),
            &done as *const Done as *mut c_void,
            e,
        )
    });
    bc_heartbeat_free(copy);
    assert_eq!(done.wait(), bc_status::BC_OK);
    let empty = {
        let mut h = null_mut();
        ok("empty", |e| bc_heartbeat_new(&mut h, e));
        h
    };
    refused("manager: no group", |e| {
        bc_manager_send_heartbeat(m, empty, e)
    });
    bc_heartbeat_free(empty);
    bc_manager_free(m);

    bc_heartbeat_free(hb);
    bc_heartbeat_free(null_mut());
    bc_client_free(client);
}

/// What a notice callback saw, and whether its user data was released.
#[derive(Default)]
struct Notices {
    groups: Mutex<Vec<String>>,
    freed: Mutex<usize>,
    cond: Condvar,
}

impl Notices {
    /// How often the user data was released, once nothing holds it any more (a notice that
    /// was being delivered at the removal releases it when it returns).
    fn freed_when_settled(&self) -> usize {
        let g = self.freed.lock().unwrap();
        let (g, _) = self.cond.wait_timeout_while(g, WAIT, |f| *f == 0).unwrap();
        *g
    }

    fn count_of(&self, group: &str) -> usize {
        self.groups
            .lock()
            .unwrap()
            .iter()
            .filter(|g| *g == group)
            .count()
    }

    /// Waits until `group` was told at least `n` times (dispatching `queue` meanwhile, when
    /// given: a queue-mode client's notices run only there).
    fn wait_for(&self, group: &str, n: usize, queue: *const bc_queue) -> bool {
        let deadline = Instant::now() + WAIT;
        while self.count_of(group) < n {
            if Instant::now() > deadline {
                return false;
            }
            if queue.is_null() {
                let g = self.groups.lock().unwrap();
                let _ = self
                    .cond
                    .wait_timeout_while(g, Duration::from_millis(200), |v| {
                        v.iter().filter(|g| *g == group).count() < n
                    })
                    .unwrap();
            } else {
                bc_queue_wait(queue, 200);
                bc_queue_dispatch(queue, 0);
            }
        }
        true
    }
}

extern "C" fn on_notice(ud: *mut c_void, group: *const c_char) {
    let n = unsafe { &*(ud as *const Notices) };
    n.groups.lock().unwrap().push(text(group));
    n.cond.notify_all();
}

extern "C" fn on_free(ud: *mut c_void) {
    let n = unsafe { &*(ud as *const Notices) };
    *n.freed.lock().unwrap() += 1;
    n.cond.notify_all();
}

/// The broker tells every member of a consumer group when the group changes: client A (its
/// callback on a library thread) hears its own arrival and B's; B (a queue-mode client) hears
/// its own arrival inside `bc_queue_dispatch`, never before. Removing the callback and freeing
/// the client release each user data exactly once; a borrowed client cannot install one.
#[test]
fn membership_notices_reach_a_callback_and_a_queue() {
    let group = unique_name("bc_member_notify_cg");
    let g = c(&group);
    let a_seen = Notices::default();
    let b_seen = Notices::default();
    let a = new_client(null());
    let mut queue = null_mut();
    ok("bc_queue_new", |e| bc_queue_new(&mut queue, e));
    let b = new_client(queue);
    let ud = |n: &Notices| n as *const Notices as *mut c_void;
    ok("A's callback", |e| {
        bc_client_set_notify_cb(a, Some(on_notice), ud(&a_seen), Some(on_free), e)
    });
    ok("B's callback", |e| {
        bc_client_set_notify_cb(b, Some(on_notice), ud(&b_seen), Some(on_free), e)
    });

    ok("A joins", |e| bc_client_heartbeat(a, null(), g.as_ptr(), e));
    assert!(
        a_seen.wait_for(&group, 1, null()),
        "A was not told of its own arrival"
    );
    ok("B joins", |e| bc_client_heartbeat(b, null(), g.as_ptr(), e));
    assert!(
        a_seen.wait_for(&group, 2, null()),
        "A was not told that B joined"
    );
    // B's notice waits in the queue until it is dispatched.
    assert!(
        b_seen.wait_for(&group, 1, queue),
        "B's notice never came through its queue"
    );

    // A borrowed handle cannot install one (its connection is not its own).
    let mut quick = null_mut();
    ok("with timeout", |e| {
        bc_client_with_timeout(a, 5_000, &mut quick, e)
    });
    refused("borrowed client", |e| {
        bc_client_set_notify_cb(quick, Some(on_notice), null_mut(), None, e)
    });
    bc_client_free(quick);

    // Removing A's callback releases its user data once; B's goes with the client.
    ok("remove A's callback", |e| {
        bc_client_set_notify_cb(a, None, null_mut(), None, e)
    });
    assert_eq!(a_seen.freed_when_settled(), 1);
    bc_client_free(b);
    bc_queue_free(queue);
    assert_eq!(b_seen.freed_when_settled(), 1);
    bc_client_free(a);
    assert_eq!(
        *a_seen.freed.lock().unwrap(),
        1,
        "freed once, not again with the client"
    );
}
