//! The C ABI driven from Rust (the functions C calls, called directly): the exactly-once
//! ledger of async operations across close and free, queue mode, free from a callback, a
//! blocking call from a callback, double close. Needs the real broker.

mod common;

use std::ffi::{c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use brokerclient::ffi::client::*;
use brokerclient::ffi::config::*;
use brokerclient::ffi::error::*;
use brokerclient::ffi::manager::*;
use brokerclient::ffi::message::*;
use brokerclient::ffi::pull::*;
use brokerclient::ffi::queue::*;
use brokerclient::ffi::result::*;
use brokerclient::ffi::status::bc_status;
use common::{broker_addr, unique_name};

/// Counts completions per operation id: each must complete exactly once.
struct Ledger {
    hits: Vec<AtomicUsize>,
    statuses: Mutex<Vec<i32>>,
    done: Mutex<usize>,
    /// Successful completions (updated with `done` held).
    succeeded: AtomicUsize,
    cond: Condvar,
    /// The first error other than CANCELLED, for the failure message.
    first_error: Mutex<Option<String>>,
}

impl Ledger {
    fn new(n: usize) -> Box<Ledger> {
        Box::new(Ledger {
            hits: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            statuses: Mutex::new(vec![i32::MIN; n]),
            done: Mutex::new(0),
            succeeded: AtomicUsize::new(0),
            cond: Condvar::new(),
            first_error: Mutex::new(None),
        })
    }

    fn record(&self, i: usize, status: bc_status) {
        self.hits[i].fetch_add(1, Ordering::SeqCst);
        self.statuses.lock().unwrap()[i] = status as i32;
        let mut done = self.done.lock().unwrap();
        *done += 1;
        if status == bc_status::BC_OK {
            self.succeeded.fetch_add(1, Ordering::SeqCst);
        }
        self.cond.notify_all();
    }

    /// Waits until at least one operation has succeeded, at most `timeout`.
    fn wait_for_success(&self, timeout: Duration) -> bool {
        let g = self.done.lock().unwrap();
        let _g = self
            .cond
            .wait_timeout_while(g, timeout, |_| self.succeeded.load(Ordering::SeqCst) == 0)
            .unwrap();
        self.succeeded.load(Ordering::SeqCst) > 0
    }

    fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let g = self.done.lock().unwrap();
        let (g, _) = self
            .cond
            .wait_timeout_while(g, timeout, |d| *d < n)
            .unwrap();
        *g >= n
    }

    fn assert_exactly_once(&self, accepted: &[usize]) {
        for &i in accepted {
            assert_eq!(self.hits[i].load(Ordering::SeqCst), 1, "operation {i}");
        }
        let total: usize = self.hits.iter().map(|h| h.load(Ordering::SeqCst)).sum();
        assert_eq!(total, accepted.len(), "no callback for a refused operation");
    }
}

struct Op {
    ledger: *const Ledger,
    index: usize,
}

extern "C" fn on_send(
    ud: *mut c_void,
    status: bc_status,
    err: *const bc_error,
    res: *const bc_send_result,
) {
    // SAFETY: `ud` is the Box<Op> leaked at submission, reclaimed exactly here.
    let op = unsafe { Box::from_raw(ud.cast::<Op>()) };
    if status == bc_status::BC_OK {
        assert!(err.is_null());
        assert!(bc_send_result_queue_offset(res) >= 0);
    } else {
        assert!(!err.is_null());
        assert_eq!(bc_error_code(err), status);
        if status != bc_status::BC_ERR_CANCELLED {
            // SAFETY: the ledger outlives every operation; the message lives as long as `err`.
            let ledger = unsafe { &*op.ledger };
            let msg = unsafe { CStr::from_ptr(bc_error_message(err)) };
            let mut first = ledger.first_error.lock().unwrap();
            first.get_or_insert_with(|| format!("{status:?}: {}", msg.to_string_lossy()));
        }
    }
    // SAFETY: the ledger outlives every operation (the test waits for all of them).
    unsafe { &*op.ledger }.record(op.index, status);
}

fn new_client(queue: *const bc_queue) -> *mut bc_client {
    let addr = CString::new(broker_addr()).unwrap();
    let mut client = null_mut();
    let mut err = null_mut();
    let s = bc_client_new(addr.as_ptr(), null(), queue, &mut client, &mut err);
    assert_eq!(s, bc_status::BC_OK);
    client
}

fn new_message(topic: &str, body: &[u8]) -> *mut bc_message {
    let t = CString::new(topic).unwrap();
    let mut m = null_mut();
    assert_eq!(
        bc_message_new(t.as_ptr(), body.as_ptr(), body.len(), &mut m, null_mut()),
        bc_status::BC_OK
    );
    m
}

fn create_topic(client: *const bc_client, topic: &str) {
    let t = CString::new(topic).unwrap();
    let mut err = null_mut();
    let s = bc_client_create_topic(client, t.as_ptr(), 4, &mut err);
    assert_eq!(s, bc_status::BC_OK, "{:?}", unsafe {
        CStr::from_ptr(bc_error_message(err))
    });
}

/// Submits `n` async sends; returns the indexes the library accepted.
fn submit(
    client: *const bc_client,
    msg: *const bc_message,
    ledger: &Ledger,
    range: std::ops::Range<usize>,
) -> Vec<usize> {
    let group = c"bc_ffi_producer";
    let mut accepted = Vec::new();
    for i in range {
        let op = Box::into_raw(Box::new(Op { ledger, index: i }));
        let s = bc_client_send_async(
            client,
            group.as_ptr(),
            -1,
            msg,
            Some(on_send),
            op.cast(),
            null_mut(),
        );
        if s == bc_status::BC_OK {
            accepted.push(i);
        } else {
            // Refused: never called back, the caller still owns user_data. Open, only a full
            // window refuses a valid send (closed: CLOSED).
            assert!(
                matches!(s, bc_status::BC_ERR_WOULD_BLOCK | bc_status::BC_ERR_CLOSED),
                "{s:?}"
            );
            // SAFETY: not handed to the library.
            drop(unsafe { Box::from_raw(op) });
        }
    }
    accepted
}

#[test]
fn ten_thousand_async_sends_with_close_in_the_middle_complete_exactly_once() {
    let client = new_client(null());
    let topic = unique_name("bc_ffi_ledger");
    create_topic(client, &topic);
    let msg = new_message(&topic, &[7u8; 1024]);
    let ledger = Ledger::new(10_000);
    // Beyond the window of 4 096 a burst is refused at submission (WOULD_BLOCK returned)
    // unless replies have freed places meanwhile.
    let mut accepted = submit(client, msg, &ledger, 0..5_000);
    assert!(accepted.len() >= 4_096, "{}", accepted.len());
    // Close while thousands are in flight, with a short grace: some finish, the rest cancel.
    // Wait for the first success first: on a slow machine the 20 ms grace alone can end
    // before the first reply arrives (seen in CI: 0 of 5 005 completed).
    assert!(
        ledger.wait_for_success(Duration::from_secs(30)),
        "no send succeeded: {:?}",
        ledger.first_error.lock().unwrap()
    );
    let client_addr = client as usize; // raw pointers are not Send; the handle is thread-safe
    let closer = std::thread::scope(|s| {
        let h = s.spawn(move || bc_client_close(client_addr as *mut bc_client, 20, null_mut()));
        let late = submit(client, msg, &ledger, 5_000..10_000);
        (h.join().unwrap(), late)
    });
    assert_eq!(closer.0, bc_status::BC_OK);
    accepted.extend(closer.1);
    // close() returned: every accepted operation has already called back.
    assert!(ledger.wait_for(accepted.len(), Duration::ZERO));
    ledger.assert_exactly_once(&accepted);
    let statuses = ledger.statuses.lock().unwrap().clone();
    let ok = accepted.iter().filter(|&&i| statuses[i] == 0).count();
    let count = |s: bc_status| {
        accepted
            .iter()
            .filter(|&&i| statuses[i] == s as i32)
            .count()
    };
    let cancelled = count(bc_status::BC_ERR_CANCELLED);
    eprintln!("accepted {} ok {ok} cancelled {cancelled}", accepted.len());
    let mut by_status = std::collections::BTreeMap::new();
    for &i in &accepted {
        *by_status.entry(statuses[i]).or_insert(0usize) += 1;
    }
    // A full window is refused at submission, so no accepted send completes with WOULD_BLOCK.
    assert_eq!(
        ok + cancelled,
        accepted.len(),
        "only OK or CANCELLED; by status: {by_status:?}; first error: {:?}",
        ledger.first_error.lock().unwrap()
    );
    assert!(ok > 0);
    // After close: refused, never called back.
    let op = Box::into_raw(Box::new(Op {
        ledger: &*ledger,
        index: 0,
    }));
    let s = bc_client_send_async(
        client,
        c"g".as_ptr(),
        -1,
        msg,
        Some(on_send),
        op.cast(),
        null_mut(),
    );
    assert_eq!(s, bc_status::BC_ERR_CLOSED);
    // SAFETY: refused, so still ours.
    drop(unsafe { Box::from_raw(op) });
    assert_eq!(
        bc_client_close(client, 0, null_mut()),
        bc_status::BC_OK,
        "close twice"
    );
    bc_client_free(client);
    bc_message_free(msg);
}

/// A burst beyond `max.in.flight` is refused when submitted: `BC_ERR_WOULD_BLOCK` returned, no
/// callback, so code that checks return values sees the full window; the accepted ones never
/// complete with WOULD_BLOCK later. A server that accepts and never answers holds every
/// accepted send in flight. Blocking calls are admitted by the same count.
#[test]
fn a_burst_beyond_the_window_is_refused_at_submission() {
    const WINDOW: usize = 64;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = CString::new(silent.local_addr().unwrap().to_string()).unwrap();
    let mut cfg = null_mut();
    assert_eq!(bc_config_new(&mut cfg, null_mut()), bc_status::BC_OK);
    for (k, v) in [(c"max.in.flight", c"64"), (c"request.timeout.ms", c"60000")] {
        assert_eq!(
            bc_config_set(cfg, k.as_ptr(), v.as_ptr(), null_mut()),
            bc_status::BC_OK
        );
    }
    let mut client = null_mut();
    assert_eq!(
        bc_client_new(addr.as_ptr(), cfg, null(), &mut client, null_mut()),
        bc_status::BC_OK
    );
    bc_config_free(cfg);
    let msg = new_message("bc_ffi_window", b"x");
    let ledger = Ledger::new(1_000);
    let accepted = submit(client, msg, &ledger, 0..1_000);
    assert_eq!(accepted, (0..WINDOW).collect::<Vec<_>>());
    // A blocking call is refused the same way, at once.
    let mut result = null_mut();
    let mut err = null_mut();
    let s = bc_client_send(client, c"g".as_ptr(), 0, msg, &mut result, &mut err);
    assert_eq!(s, bc_status::BC_ERR_WOULD_BLOCK);
    let text = unsafe { CStr::from_ptr(bc_error_message(err)) }.to_string_lossy();
    assert!(text.contains("max.in.flight"), "{text}");
    assert!(bc_error_is_retriable(err));
    bc_error_free(err);
    // Close cancels the held ones: each completes once, none with WOULD_BLOCK.
    assert_eq!(bc_client_close(client, 0, null_mut()), bc_status::BC_OK);
    ledger.assert_exactly_once(&accepted);
    let statuses = ledger.statuses.lock().unwrap().clone();
    assert!(accepted
        .iter()
        .all(|&i| statuses[i] == bc_status::BC_ERR_CANCELLED as i32));
    bc_client_free(client);
    bc_message_free(msg);
    drop(silent);
}

/// A body within `max.body.bytes` but over the frame limit (the broker's too) is refused
/// before it is written, oneway too: the connection stays up and the next send succeeds at the
/// first try (an oversize oneway used to return OK, then the broker closed the connection).
#[test]
fn an_oversize_frame_is_refused_and_the_connection_survives() {
    let mut cfg = null_mut();
    assert_eq!(bc_config_new(&mut cfg, null_mut()), bc_status::BC_OK);
    let set = |k: &CStr, v: &CStr| {
        assert_eq!(
            bc_config_set(cfg, k.as_ptr(), v.as_ptr(), null_mut()),
            bc_status::BC_OK
        )
    };
    set(c"max.body.bytes", c"33554432");
    // Sent as it is: compressed, 17 MiB of one byte would fit in a frame.
    set(c"compress.threshold.bytes", c"0");
    let addr = CString::new(broker_addr()).unwrap();
    let mut client = null_mut();
    assert_eq!(
        bc_client_new(addr.as_ptr(), cfg, null(), &mut client, null_mut()),
        bc_status::BC_OK
    );
    bc_config_free(cfg);
    let topic = unique_name("bc_ffi_oversize");
    create_topic(client, &topic);
    let big = new_message(&topic, &vec![1u8; 17 * 1024 * 1024]);
    let mut err = null_mut();
    let s = bc_client_send_oneway(client, c"g".as_ptr(), 0, big, &mut err);
    assert_eq!(s, bc_status::BC_ERR_INVALID_ARG);
    let text = unsafe { CStr::from_ptr(bc_error_message(err)) }.to_string_lossy();
    assert!(text.contains("max.frame.bytes"), "{text}");
    bc_error_free(err);
    let small = new_message(&topic, b"after the oversize one");
    let mut result = null_mut();
    let mut err = null_mut();
    let s = bc_client_send(client, c"g".as_ptr(), 0, small, &mut result, &mut err);
    assert_eq!(s, bc_status::BC_OK, "{:?}", unsafe {
        err.as_ref()
            .map(|e| CStr::from_ptr(bc_error_message(e)).to_string_lossy())
    });
    bc_send_result_free(result);
    bc_message_free(big);
    bc_message_free(small);
    bc_client_free(client);
}

fn text(p: *const std::ffi::c_char) -> String {
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn send_with_property(client: *const bc_client, topic: &str, body: &[u8], prop: (&CStr, &CStr)) {
    let m = new_message(topic, body);
    assert_eq!(
        bc_message_set_property(m, prop.0.as_ptr(), prop.1.as_ptr(), null_mut()),
        bc_status::BC_OK
    );
    let mut r = null_mut();
    assert_eq!(
        bc_client_send(client, c"bc_ffi_pg".as_ptr(), 0, m, &mut r, null_mut()),
        bc_status::BC_OK
    );
    bc_send_result_free(r);
    bc_message_free(m);
}

/// The request-object pull: an SQL92 filter on a user property (the broker runs with
/// enablePropertyFilter=true) returns exactly the matching messages — through C it used to go
/// out as a TAG expression and the client's tag check dropped everything. The pulled
/// messages' properties can be iterated. Through a manager's pooled client and a
/// per-call-timeout handle too.
#[test]
fn pull_request_object_with_sql92_through_client_manager_and_timeout_handles() {
    let client = new_client(null());
    let topic = unique_name("bc_ffi_sql");
    create_topic(client, &topic);
    for (i, body) in [b"one", b"two", b"six"].iter().enumerate() {
        let v = CString::new((i * 5).to_string()).unwrap(); // 0, 5, 10
        send_with_property(client, &topic, *body, (c"n", &v));
    }
    let t = CString::new(topic.clone()).unwrap();
    let mut req = null_mut();
    assert_eq!(
        bc_pull_request_new(
            c"bc_ffi_sql_cg".as_ptr(),
            t.as_ptr(),
            0,
            0,
            &mut req,
            null_mut()
        ),
        bc_status::BC_OK
    );
    assert_eq!(
        bc_pull_request_set_expression(
            req,
            c"n > 3".as_ptr(),
            bc_expression_type::BC_EXPRESSION_SQL92 as i32,
            null_mut()
        ),
        bc_status::BC_OK
    );
    // The broker builds the consume queue right after answering a send: poll (bounded).
    let pull = |c: *const bc_client| -> Vec<Vec<u8>> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let mut b = null_mut();
            let mut err = null_mut();
            let s = bc_client_pull_request(c, req, &mut b, &mut err);
            assert_eq!(
                s,
                bc_status::BC_OK,
                "{}",
                if err.is_null() {
                    String::new()
                } else {
                    text(bc_error_message(err))
                }
            );
            let n = bc_batch_len(b);
            let mut bodies = Vec::new();
            for i in 0..n {
                let mut v: bc_message_view = unsafe { std::mem::zeroed() };
                v.struct_size = std::mem::size_of::<bc_message_view>();
                assert_eq!(bc_batch_get(b, i, &mut v, null_mut()), bc_status::BC_OK);
                bodies.push(unsafe { std::slice::from_raw_parts(v.body, v.body_len) }.to_vec());
                let count = bc_batch_property_count(b, i);
                let mut found = false;
                for j in 0..count {
                    let (mut k, mut val) = (null(), null());
                    assert_eq!(
                        bc_batch_property_at(b, i, j, &mut k, &mut val, null_mut()),
                        bc_status::BC_OK
                    );
                    found |= text(k) == "n";
                }
                assert!(
                    found && count >= 2,
                    "properties of a pulled message: {count}"
                );
                let (mut k, mut val) = (null(), null());
                assert_eq!(
                    bc_batch_property_at(b, i, count, &mut k, &mut val, null_mut()),
                    bc_status::BC_ERR_INVALID_ARG
                );
            }
            bc_batch_free(b);
            if bodies.len() >= 2 || std::time::Instant::now() > deadline {
                return bodies;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    assert_eq!(pull(client), vec![b"two".to_vec(), b"six".to_vec()]);

    // A per-call-timeout handle shares the connection.
    let mut quick = null_mut();
    assert_eq!(
        bc_client_with_timeout(client, 5_000, &mut quick, null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(pull(quick), vec![b"two".to_vec(), b"six".to_vec()]);
    let mut id = null_mut();
    assert_eq!(
        bc_client_get_client_id(quick, &mut id, null_mut()),
        bc_status::BC_OK
    );
    assert!(text(id).contains('@'), "{}", text(id));
    bc_string_free(id);
    bc_client_free(quick);

    // A manager's pooled client reaches every client operation.
    let mut m = null_mut();
    assert_eq!(
        bc_manager_new(null(), null(), &mut m, null_mut()),
        bc_status::BC_OK
    );
    let addr = CString::new(broker_addr()).unwrap();
    let mut added = null_mut();
    assert_eq!(
        bc_manager_add_broker(m, addr.as_ptr(), &mut added, null_mut()),
        bc_status::BC_OK
    );
    bc_string_free(added);
    let mut pooled = null_mut();
    assert_eq!(
        bc_manager_client(m, addr.as_ptr(), &mut pooled, null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(pull(pooled), vec![b"two".to_vec(), b"six".to_vec()]);
    let mut min = -1;
    assert_eq!(
        bc_client_get_min_offset(pooled, t.as_ptr(), 0, &mut min, null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(min, 0);
    let mut nobody = null_mut();
    assert_eq!(
        bc_manager_client(m, c"127.0.0.1:1".as_ptr(), &mut nobody, null_mut()),
        bc_status::BC_ERR_INVALID_ARG
    );
    bc_client_free(pooled);
    bc_manager_free(m);
    bc_pull_request_free(req);
    bc_client_free(client);
}

#[test]
fn free_with_requests_in_flight_calls_every_callback_before_returning() {
    let client = new_client(null());
    let topic = unique_name("bc_ffi_free");
    create_topic(client, &topic);
    let msg = new_message(&topic, b"free me");
    let ledger = Ledger::new(2_000);
    let accepted = submit(client, msg, &ledger, 0..2_000);
    bc_client_free(client);
    assert!(
        ledger.wait_for(accepted.len(), Duration::ZERO),
        "free returned before callbacks"
    );
    ledger.assert_exactly_once(&accepted);
    bc_message_free(msg);
}

#[test]
fn queue_mode_delivers_on_dispatch_and_queue_free_delivers_leftovers() {
    let mut queue = null_mut();
    assert_eq!(bc_queue_new(&mut queue, null_mut()), bc_status::BC_OK);
    let client = new_client(queue);
    let topic = unique_name("bc_ffi_queue");
    create_topic(client, &topic);
    let msg = new_message(&topic, b"queued");
    let ledger = Ledger::new(500);
    let accepted = submit(client, msg, &ledger, 0..500);
    // Nothing runs until dispatched on this thread.
    let mut dispatched = 0;
    while dispatched < 250 {
        bc_queue_wait(queue, 5_000);
        dispatched += bc_queue_dispatch(queue, 10);
    }
    assert!(ledger.wait_for(dispatched, Duration::ZERO));
    bc_client_free(client); // the rest are queued (or cancelled and queued)
    bc_queue_free(queue); // delivers leftovers here
    ledger.assert_exactly_once(&accepted);
    bc_message_free(msg);
}

struct Reentrant {
    client: *mut bc_client,
    status: Mutex<Option<bc_status>>,
    cond: Condvar,
}

extern "C" fn blocking_inside(ud: *mut c_void, _s: bc_status, _e: *const bc_error) {
    // SAFETY: `ud` points to the test's Reentrant, alive until it saw the status.
    let r = unsafe { &*ud.cast::<Reentrant>() };
    let mut v = 0i64;
    let s = bc_client_get_max_offset(r.client, c"TBW102".as_ptr(), 0, &mut v, null_mut());
    *r.status.lock().unwrap() = Some(s);
    r.cond.notify_all();
}

extern "C" fn free_inside(ud: *mut c_void, _s: bc_status, _e: *const bc_error) {
    // SAFETY: as above.
    let r = unsafe { &*ud.cast::<Reentrant>() };
    bc_client_free(r.client);
    *r.status.lock().unwrap() = Some(bc_status::BC_OK);
    r.cond.notify_all();
}

fn wait_status(r: &Reentrant) -> bc_status {
    let g = r.status.lock().unwrap();
    let (g, _) = r
        .cond
        .wait_timeout_while(g, Duration::from_secs(10), |s| s.is_none())
        .unwrap();
    g.expect("the callback ran")
}

#[test]
fn blocking_call_from_a_callback_would_deadlock_and_free_from_a_callback_is_deferred() {
    let client = new_client(null());
    let r = Reentrant {
        client,
        status: Mutex::new(None),
        cond: Condvar::new(),
    };
    let ud = &r as *const Reentrant as *mut c_void;
    assert_eq!(
        bc_client_connect_async(client, Some(blocking_inside), ud, null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(wait_status(&r), bc_status::BC_ERR_WOULD_DEADLOCK);

    *r.status.lock().unwrap() = None;
    assert_eq!(
        bc_client_connect_async(client, Some(free_inside), ud, null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(
        wait_status(&r),
        bc_status::BC_OK,
        "free inside its own callback returned"
    );
}

#[test]
fn null_arguments_name_the_argument() {
    let mut err = null_mut();
    let s = bc_client_new(null(), null(), null(), null_mut(), &mut err);
    assert_eq!(s, bc_status::BC_ERR_INVALID_ARG);
    let text = unsafe { CStr::from_ptr(bc_error_message(err)) }
        .to_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("addr"), "{text}");
    bc_error_free(err);
    let client = new_client(null());
    let mut err = null_mut();
    let mut out = null_mut();
    let s = bc_client_send(client, c"g".as_ptr(), 0, null(), &mut out, &mut err);
    assert_eq!(s, bc_status::BC_ERR_INVALID_ARG);
    assert!(out.is_null(), "outputs are written only on success");
    let text = unsafe { CStr::from_ptr(bc_error_message(err)) }
        .to_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("message"), "{text}");
    bc_error_free(err);
    let s = bc_client_send_async(
        client,
        c"g".as_ptr(),
        0,
        null(),
        None,
        null_mut(),
        null_mut(),
    );
    assert_eq!(s, bc_status::BC_ERR_INVALID_ARG);
    bc_client_free(client);
    bc_client_free(null_mut());
    bc_message_free(null_mut());
    bc_config_free(null_mut());
    bc_error_free(null_mut());
    bc_batch_free(null_mut());
    bc_send_result_free(null_mut());
    bc_queue_free(null_mut());
    bc_string_free(null_mut());
}

#[test]
fn blocking_send_and_pull_round_trip() {
    let client = new_client(null());
    let topic = unique_name("bc_ffi_rt");
    create_topic(client, &topic);
    let msg = new_message(&topic, b"through the C ABI");
    assert_eq!(
        bc_message_set_tags(msg, c"TagC".as_ptr(), null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(
        bc_message_set_property(msg, c"k".as_ptr(), c"v".as_ptr(), null_mut()),
        bc_status::BC_OK
    );
    let mut res = null_mut();
    let s = bc_client_send(
        client,
        c"bc_ffi_producer".as_ptr(),
        1,
        msg,
        &mut res,
        null_mut(),
    );
    assert_eq!(s, bc_status::BC_OK);
    assert_eq!(bc_send_result_queue_id(res), 1);
    let offset = bc_send_result_queue_offset(res);
    let t = CString::new(topic.clone()).unwrap();
    let mut batch = null_mut();
    let s = bc_client_pull(
        client,
        c"bc_ffi_consumer".as_ptr(),
        t.as_ptr(),
        1,
        offset,
        32,
        5_000,
        null(),
        &mut batch,
        null_mut(),
    );
    assert_eq!(s, bc_status::BC_OK);
    assert_eq!(bc_batch_status(batch), 0);
    assert_eq!(bc_batch_len(batch), 1);
    let mut view: bc_message_view = unsafe { std::mem::zeroed() };
    view.struct_size = std::mem::size_of::<bc_message_view>();
    assert_eq!(
        bc_batch_get(batch, 0, &mut view, null_mut()),
        bc_status::BC_OK
    );
    let body = unsafe { std::slice::from_raw_parts(view.body, view.body_len) };
    assert_eq!(body, b"through the C ABI");
    assert_eq!(
        unsafe { CStr::from_ptr(view.tags) }.to_str().unwrap(),
        "TagC"
    );
    let id = unsafe { CStr::from_ptr(view.msg_id) };
    assert_eq!(id, unsafe { CStr::from_ptr(bc_send_result_msg_id(res)) });
    let v = bc_batch_property(batch, 0, c"k".as_ptr());
    assert_eq!(unsafe { CStr::from_ptr(v) }.to_str().unwrap(), "v");
    assert!(bc_batch_property(batch, 0, c"absent".as_ptr()).is_null());
    assert_eq!(
        bc_batch_get(batch, 1, &mut view, null_mut()),
        bc_status::BC_ERR_INVALID_ARG
    );
    let mut max = 0i64;
    assert_eq!(
        bc_client_get_max_offset(client, t.as_ptr(), 1, &mut max, null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(max, offset + 1);
    bc_batch_free(batch);
    bc_send_result_free(res);
    bc_message_free(msg);
    bc_client_free(client);
}
