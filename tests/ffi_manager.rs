//! The C ABI of the manager, the remaining client operations (view message, send back, queue
//! locks, transaction checks), cancel tokens and the log callback, driven from Rust (the
//! functions C calls, called directly). Needs the real broker (`scripts/rocketmq.sh start`).

mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::io::{Read, Write};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use brokerclient::ffi::cancel::*;
use brokerclient::ffi::client::*;
use brokerclient::ffi::config::*;
use brokerclient::ffi::error::*;
use brokerclient::ffi::log::*;
use brokerclient::ffi::manager::*;
use brokerclient::ffi::message::*;
use brokerclient::ffi::queue::*;
use brokerclient::ffi::result::*;
use brokerclient::ffi::status::bc_status;
use brokerclient::ffi::txcheck::*;
use common::{broker_addr, namesrv_addr, unique_name, wait_for};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// The message of `err` (freed); `""` for NULL.
fn take_err(err: *mut bc_error) -> String {
    let text = unsafe { CStr::from_ptr(bc_error_message(err)) }
        .to_string_lossy()
        .into_owned();
    bc_error_free(err);
    text
}

fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

/// Asserts `BC_OK`, showing the error otherwise.
macro_rules! ok {
    (|$err:ident| $call:expr) => {{
        let mut $err = null_mut();
        let s = $call;
        assert_eq!(s, bc_status::BC_OK, "{}", take_err($err));
    }};
}

fn new_client(queue: *const bc_queue) -> *mut bc_client {
    let addr = cs(&broker_addr());
    let mut client = null_mut();
    ok!(|err| bc_client_new(addr.as_ptr(), null(), queue, &mut client, &mut err));
    client
}

/// A client with its own instance name (so its own client id).
fn new_named_client(instance: &str) -> *mut bc_client {
    let mut cfg = null_mut();
    ok!(|err| bc_config_new(&mut cfg, &mut err));
    let name = cs(instance);
    ok!(|err| bc_config_set(cfg, c"instance.name".as_ptr(), name.as_ptr(), &mut err));
    let addr = cs(&broker_addr());
    let mut client = null_mut();
    ok!(|err| bc_client_new(addr.as_ptr(), cfg, null(), &mut client, &mut err));
    bc_config_free(cfg);
    client
}

fn new_manager(queue: *const bc_queue) -> *mut bc_manager {
    let ns = cs(&namesrv_addr());
    let mut m = null_mut();
    ok!(|err| bc_manager_new_from_name_servers(ns.as_ptr(), null(), queue, &mut m, &mut err));
    ok!(|err| bc_manager_start(m, &mut err));
    m
}

fn new_message(topic: &str, body: &[u8]) -> *mut bc_message {
    let t = cs(topic);
    let mut m = null_mut();
    ok!(|err| bc_message_new(t.as_ptr(), body.as_ptr(), body.len(), &mut m, &mut err));
    m
}

fn create_topic(client: *const bc_client, topic: &str) {
    let t = cs(topic);
    ok!(|err| bc_client_create_topic(client, t.as_ptr(), 4, &mut err));
}

fn new_topic(prefix: &str) -> String {
    let topic = unique_name(prefix);
    let c = new_client(null());
    create_topic(c, &topic);
    bc_client_free(c);
    topic
}

/// The name the name server knows the test broker by (e.g. "broker-a").
fn broker_name() -> String {
    let ns = cs(&namesrv_addr());
    let mut c = null_mut();
    ok!(|err| bc_client_new(ns.as_ptr(), null(), null(), &mut c, &mut err));
    let mut json = null_mut();
    ok!(|err| bc_client_get_cluster_info(c, &mut json, &mut err));
    let info: serde_json::Value = serde_json::from_str(&text(json)).unwrap();
    bc_string_free(json);
    bc_client_free(c);
    let want = broker_addr();
    info["brokerAddrTable"]
        .as_object()
        .expect("brokerAddrTable")
        .iter()
        .find(|(_, data)| {
            data["brokerAddrs"]
                .as_object()
                .is_some_and(|addrs| addrs.values().any(|a| a.as_str() == Some(&want)))
        })
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| panic!("no broker at {want} in {info}"))
}

fn view(batch: *const bc_batch, i: usize) -> bc_message_view {
    let mut v: bc_message_view = unsafe { std::mem::zeroed() };
    v.struct_size = std::mem::size_of::<bc_message_view>();
    ok!(|err| bc_batch_get(batch, i, &mut v, &mut err));
    v
}

fn body_of(v: &bc_message_view) -> Vec<u8> {
    unsafe { std::slice::from_raw_parts(v.body, v.body_len) }.to_vec()
}

/// Pulls with the client (long polling) until `n` messages arrived; returns the batches.
fn pull_until(
    client: *const bc_client,
    group: &str,
    topic: &str,
    queue_id: i32,
    n: usize,
) -> Vec<*mut bc_batch> {
    let (g, t) = (cs(group), cs(topic));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut offset = 0;
    let mut got = 0;
    let mut batches = Vec::new();
    while got < n {
        assert!(Instant::now() < deadline, "{got} of {n} on {topic}");
        let mut b = null_mut();
        ok!(|err| bc_client_pull(
            client,
            g.as_ptr(),
            t.as_ptr(),
            queue_id,
            offset,
            32,
            2_000,
            null(),
            &mut b,
            &mut err
        ));
        offset = bc_batch_next_offset(b);
        got += bc_batch_len(b);
        if bc_batch_len(b) > 0 {
            batches.push(b);
        } else {
            bc_batch_free(b);
        }
    }
    batches
}

/// Values delivered by callbacks, and a way to wait for them.
struct Inbox<T> {
    items: Mutex<Vec<T>>,
    cond: Condvar,
}

impl<T: Clone> Inbox<T> {
    fn new() -> Arc<Inbox<T>> {
        Arc::new(Inbox {
            items: Mutex::new(Vec::new()),
            cond: Condvar::new(),
        })
    }

    fn push(&self, v: T) {
        self.items.lock().unwrap().push(v);
        self.cond.notify_all();
    }

    fn wait(&self, n: usize, timeout: Duration) -> Vec<T> {
        let g = self.items.lock().unwrap();
        let (g, _) = self
            .cond
            .wait_timeout_while(g, timeout, |v| v.len() < n)
            .unwrap();
        assert!(
            g.len() >= n,
            "{} of {n} callbacks within {timeout:?}",
            g.len()
        );
        g.clone()
    }

    fn len(&self) -> usize {
        self.items.lock().unwrap().len()
    }
}

/// `user_data` for a callback: a borrowed `Inbox` the test keeps alive.
fn ud<T>(inbox: &Arc<Inbox<T>>) -> *mut c_void {
    Arc::as_ptr(inbox) as *mut c_void
}

fn inbox<'a, T>(ud: *mut c_void) -> &'a Inbox<T> {
    // SAFETY: `ud` came from `ud()`; the test keeps the inbox alive until it saw every call.
    unsafe { &*ud.cast::<Inbox<T>>() }
}

extern "C" fn on_done(ud: *mut c_void, s: bc_status, err: *const bc_error) {
    assert_eq!(err.is_null(), s == bc_status::BC_OK);
    inbox::<bc_status>(ud).push(s);
}

extern "C" fn on_int(ud: *mut c_void, s: bc_status, _e: *const bc_error, v: i64) {
    inbox::<(bc_status, i64)>(ud).push((s, v));
}

extern "C" fn on_json(ud: *mut c_void, s: bc_status, _e: *const bc_error, json: *const c_char) {
    let t = if json.is_null() {
        None
    } else {
        Some(text(json))
    };
    inbox::<(bc_status, Option<String>)>(ud).push((s, t));
}

extern "C" fn on_string(ud: *mut c_void, s: bc_status, _e: *const bc_error, v: *const c_char) {
    on_json(ud, s, null(), v)
}

/// A pulled batch, handed over by a callback (raw pointers are not `Send`).
#[derive(Clone, Copy)]
struct BatchPtr(usize);

extern "C" fn on_pull(ud: *mut c_void, s: bc_status, err: *const bc_error, b: *mut bc_batch) {
    assert_eq!(b.is_null(), s != bc_status::BC_OK);
    assert_eq!(err.is_null(), s == bc_status::BC_OK);
    inbox::<(bc_status, BatchPtr)>(ud).push((s, BatchPtr(b as usize)));
}

extern "C" fn on_send_result(
    ud: *mut c_void,
    s: bc_status,
    _e: *const bc_error,
    r: *const bc_send_result,
) {
    inbox::<(bc_status, i64)>(ud).push((s, bc_send_result_queue_offset(r)));
}

// ---------------------------------------------------------------------------------------------
// Manager
// ---------------------------------------------------------------------------------------------

#[test]
fn manager_from_name_servers_sends_pulls_by_broker_name_and_reports_health() {
    let name = broker_name();
    let topic = new_topic("bc_ffim_rt");
    let m = new_manager(null());
    let msg = new_message(&topic, b"through the manager");
    let group = cs("bc_ffim_producer");

    let mut res = null_mut();
    ok!(|err| bc_manager_send(m, group.as_ptr(), msg, &mut res, &mut err));
    let queue_id = bc_send_result_queue_id(res);
    let offset = bc_send_result_queue_offset(res);
    assert!(queue_id >= 0 && offset >= 0);

    let (t, cg, bn) = (cs(&topic), cs(&unique_name("bc_ffim_cg")), cs(&name));
    let mut batch = null_mut();
    ok!(|err| bc_manager_pull(
        m,
        bn.as_ptr(),
        cg.as_ptr(),
        t.as_ptr(),
        queue_id,
        offset,
        32,
        3_000,
        null(),
        &mut batch,
        &mut err
    ));
    assert_eq!(bc_batch_status(batch), 0);
    assert_eq!(bc_batch_len(batch), 1);
    let v = view(batch, 0);
    assert_eq!(body_of(&v), b"through the manager");
    assert_eq!(text(v.msg_id), text(bc_send_result_msg_id(res)));
    bc_batch_free(batch);

    // Async pull by address: the same message.
    let pulled = Inbox::<(bc_status, BatchPtr)>::new();
    let addr = cs(&broker_addr());
    ok!(|err| bc_manager_pull_async(
        m,
        addr.as_ptr(),
        cg.as_ptr(),
        t.as_ptr(),
        queue_id,
        offset,
        32,
        0,
        c"*".as_ptr(),
        Some(on_pull),
        ud(&pulled),
        &mut err
    ));
    let (s, b) = pulled.wait(1, Duration::from_secs(10))[0];
    assert_eq!(s, bc_status::BC_OK);
    assert_eq!(bc_batch_len(b.0 as *const bc_batch), 1);
    bc_batch_free(b.0 as *mut bc_batch);

    // Offsets through the manager.
    let mut max = 0;
    ok!(|err| bc_manager_get_max_offset(m, bn.as_ptr(), t.as_ptr(), queue_id, &mut max, &mut err));
    assert_eq!(max, offset + 1);
    let ints = Inbox::<(bc_status, i64)>::new();
    ok!(|err| bc_manager_get_max_offset_async(
        m,
        addr.as_ptr(),
        t.as_ptr(),
        queue_id,
        Some(on_int),
        ud(&ints),
        &mut err
    ));
    assert_eq!(
        ints.wait(1, Duration::from_secs(10))[0],
        (bc_status::BC_OK, offset + 1)
    );
    ok!(|err| bc_manager_heartbeat(m, group.as_ptr(), cg.as_ptr(), &mut err));
    let done = Inbox::<bc_status>::new();
    ok!(|err| bc_manager_heartbeat_async(
        m,
        null(),
        cg.as_ptr(),
        Some(on_done),
        ud(&done),
        &mut err
    ));
    assert_eq!(done.wait(1, Duration::from_secs(10))[0], bc_status::BC_OK);
    ok!(|err| bc_manager_update_consumer_offset(
        m,
        bn.as_ptr(),
        cg.as_ptr(),
        t.as_ptr(),
        queue_id,
        offset + 1,
        &mut err
    ));
    let mut committed = 0;
    ok!(|err| bc_manager_query_consumer_offset(
        m,
        bn.as_ptr(),
        cg.as_ptr(),
        t.as_ptr(),
        queue_id,
        &mut committed,
        &mut err
    ));
    assert_eq!(committed, offset + 1);
    ok!(|err| bc_manager_update_consumer_offset_async(
        m,
        bn.as_ptr(),
        cg.as_ptr(),
        t.as_ptr(),
        queue_id,
        offset,
        Some(on_done),
        ud(&done),
        &mut err
    ));
    assert_eq!(done.wait(2, Duration::from_secs(10))[1], bc_status::BC_OK);
    ok!(|err| bc_manager_query_consumer_offset_async(
        m,
        bn.as_ptr(),
        cg.as_ptr(),
        t.as_ptr(),
        queue_id,
        Some(on_int),
        ud(&ints),
        &mut err
    ));
    assert_eq!(
        ints.wait(2, Duration::from_secs(10))[1],
        (bc_status::BC_OK, offset)
    );

    // Batch send, blocking and async.
    let msgs: Vec<*mut bc_message> = (0..3)
        .map(|i| new_message(&topic, format!("batch {i}").as_bytes()))
        .collect();
    let ptrs: Vec<*const bc_message> = msgs.iter().map(|p| *p as *const _).collect();
    let mut bres = null_mut();
    ok!(|err| bc_manager_send_batch(m, group.as_ptr(), ptrs.as_ptr(), 3, &mut bres, &mut err));
    assert!(bc_send_result_queue_offset(bres) >= 0);
    bc_send_result_free(bres);
    let sent = Inbox::<(bc_status, i64)>::new();
    ok!(|err| bc_manager_send_batch_async(
        m,
        group.as_ptr(),
        ptrs.as_ptr(),
        3,
        Some(on_send_result),
        ud(&sent),
        &mut err
    ));
    assert_eq!(sent.wait(1, Duration::from_secs(10))[0].0, bc_status::BC_OK);
    msgs.into_iter().for_each(|m| bc_message_free(m));

    // Health and metrics.
    assert_eq!(bc_manager_broker_state(m, addr.as_ptr()), 0);
    assert_eq!(bc_manager_broker_state(m, bn.as_ptr()), 0);
    assert_eq!(bc_manager_broker_state(m, c"127.0.0.1:1".as_ptr()), -1);
    let mut json = null_mut();
    ok!(|err| bc_manager_stats_json(m, &mut json, &mut err));
    let stats = text(json);
    bc_string_free(json);
    let parsed: serde_json::Value = serde_json::from_str(&stats).unwrap();
    let me = parsed["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["addr"] == broker_addr().as_str())
        .unwrap_or_else(|| panic!("{stats}"));
    assert_eq!(me["state"], "healthy", "{stats}");
    assert_eq!(me["name"], name.as_str(), "{stats}");
    assert!(me["requests"].as_u64().unwrap() >= 8, "{stats}");
    assert!(stats.contains(&broker_addr()) && stats.contains("\"healthy\""));

    // Adding a known broker returns its address; by name too.
    let mut got = null_mut();
    ok!(|err| bc_manager_add_broker(m, bn.as_ptr(), &mut got, &mut err));
    assert_eq!(text(got), broker_addr());
    bc_string_free(got);
    let strings = Inbox::<(bc_status, Option<String>)>::new();
    ok!(|err| bc_manager_add_broker_async(
        m,
        addr.as_ptr(),
        Some(on_string),
        ud(&strings),
        &mut err
    ));
    assert_eq!(
        strings.wait(1, Duration::from_secs(10))[0],
        (bc_status::BC_OK, Some(broker_addr()))
    );
    let mut err = null_mut();
    assert_eq!(
        bc_manager_remove_broker(m, c"127.0.0.1:1".as_ptr(), 0, &mut err),
        bc_status::BC_ERR_INVALID_ARG
    );
    assert!(take_err(err).contains("127.0.0.1:1"));
    let mut err = null_mut();
    assert_eq!(
        bc_manager_pull(
            m,
            c"no-such-broker".as_ptr(),
            cg.as_ptr(),
            t.as_ptr(),
            0,
            0,
            1,
            0,
            null(),
            &mut batch,
            &mut err
        ),
        bc_status::BC_ERR_CONNECTION
    );
    bc_error_free(err);

    bc_send_result_free(res);
    bc_message_free(msg);
    ok!(|err| bc_manager_close(m, 1_000, &mut err));
    bc_manager_free(m);
}

#[test]
fn manager_without_name_servers_add_remove_and_async_start() {
    let topic = new_topic("bc_ffim_plain");
    let mut m = null_mut();
    ok!(|err| bc_manager_new(null(), null(), &mut m, &mut err));
    let done = Inbox::<bc_status>::new();
    ok!(|err| bc_manager_start_async(m, Some(on_done), ud(&done), &mut err));
    assert_eq!(done.wait(1, Duration::from_secs(10))[0], bc_status::BC_OK);
    let addr = cs(&broker_addr());
    let mut got = null_mut();
    ok!(|err| bc_manager_add_broker(m, addr.as_ptr(), &mut got, &mut err));
    assert_eq!(text(got), broker_addr());
    bc_string_free(got);
    assert_eq!(bc_manager_broker_state(m, addr.as_ptr()), 0);
    let t = cs(&topic);
    let mut max = -1;
    ok!(|err| bc_manager_get_max_offset(m, addr.as_ptr(), t.as_ptr(), 0, &mut max, &mut err));
    assert_eq!(max, 0);
    // Without name servers a route-aware send has nothing to route with.
    let msg = new_message(&topic, b"x");
    let mut res = null_mut();
    let mut err = null_mut();
    assert_ne!(
        bc_manager_send(m, c"g".as_ptr(), msg, &mut res, &mut err),
        bc_status::BC_OK
    );
    assert!(res.is_null());
    bc_error_free(err);
    ok!(|err| bc_manager_remove_broker_async(
        m,
        addr.as_ptr(),
        100,
        Some(on_done),
        ud(&done),
        &mut err
    ));
    assert_eq!(done.wait(2, Duration::from_secs(10))[1], bc_status::BC_OK);
    assert_eq!(bc_manager_broker_state(m, addr.as_ptr()), -1);
    bc_message_free(msg);
    bc_manager_free(m);
}

/// Counts completions per operation id: each must complete exactly once.
struct Ledger {
    hits: Vec<AtomicUsize>,
    statuses: Mutex<Vec<i32>>,
    done: AtomicUsize,
    /// Signalled (with `statuses` held) on every completion.
    changed: Condvar,
}

impl Ledger {
    /// Waits until at least `n` operations have called back, at most `timeout`.
    fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let g = self.statuses.lock().unwrap();
        let _g = self
            .changed
            .wait_timeout_while(g, timeout, |_| self.done.load(Ordering::SeqCst) < n)
            .unwrap();
        self.done.load(Ordering::SeqCst) >= n
    }
}

struct Op {
    ledger: *const Ledger,
    index: usize,
}

extern "C" fn on_ledger_send(
    ud: *mut c_void,
    status: bc_status,
    err: *const bc_error,
    res: *const bc_send_result,
) {
    // SAFETY: the Box<Op> leaked at submission, reclaimed exactly here.
    let op = unsafe { Box::from_raw(ud.cast::<Op>()) };
    assert_eq!(status == bc_status::BC_OK, err.is_null());
    assert_eq!(status == bc_status::BC_OK, !res.is_null());
    // SAFETY: the ledger outlives every operation.
    let ledger = unsafe { &*op.ledger };
    ledger.hits[op.index].fetch_add(1, Ordering::SeqCst);
    let mut statuses = ledger.statuses.lock().unwrap();
    statuses[op.index] = status as i32;
    ledger.done.fetch_add(1, Ordering::SeqCst);
    ledger.changed.notify_all();
}

fn submit(
    m: *const bc_manager,
    msg: *const bc_message,
    ledger: &Ledger,
    range: std::ops::Range<usize>,
) -> Vec<usize> {
    let mut accepted = Vec::new();
    for i in range {
        let op = Box::into_raw(Box::new(Op { ledger, index: i }));
        let s = bc_manager_send_async(
            m,
            c"bc_ffim_producer".as_ptr(),
            msg,
            Some(on_ledger_send),
            op.cast(),
            null_mut(),
        );
        if s == bc_status::BC_OK {
            accepted.push(i);
        } else {
            assert_eq!(s, bc_status::BC_ERR_CLOSED);
            // SAFETY: refused, so never called back: still ours.
            drop(unsafe { Box::from_raw(op) });
        }
    }
    accepted
}

#[test]
fn thousand_async_manager_sends_with_close_in_the_middle_complete_exactly_once() {
    let topic = new_topic("bc_ffim_ledger");
    let m = new_manager(null());
    let msg = new_message(&topic, &[9u8; 512]);
    // Route the topic first, so sends do not all wait on the name server.
    let mut res = null_mut();
    ok!(|err| bc_manager_send(m, c"bc_ffim_producer".as_ptr(), msg, &mut res, &mut err));
    bc_send_result_free(res);

    let ledger = Ledger {
        hits: (0..1000).map(|_| AtomicUsize::new(0)).collect(),
        statuses: Mutex::new(vec![i32::MIN; 1000]),
        done: AtomicUsize::new(0),
        changed: Condvar::new(),
    };
    let mut accepted = submit(m, msg, &ledger, 0..500);
    assert_eq!(accepted.len(), 500);
    // Close once the first send has completed (a 20 ms grace alone may end before the first
    // reply on a slow machine): some sends have finished, the rest are still in flight.
    assert!(
        ledger.wait_for(1, Duration::from_secs(30)),
        "no send completed"
    );
    let m_addr = m as usize;
    let (closed, late) = std::thread::scope(|s| {
        let h = s.spawn(move || bc_manager_close(m_addr as *mut bc_manager, 20, null_mut()));
        let late = submit(m, msg, &ledger, 500..1000);
        (h.join().unwrap(), late)
    });
    assert_eq!(closed, bc_status::BC_OK);
    accepted.extend(late);
    // close() returned: every accepted send has called back, exactly once.
    assert_eq!(ledger.done.load(Ordering::SeqCst), accepted.len());
    for &i in &accepted {
        assert_eq!(ledger.hits[i].load(Ordering::SeqCst), 1, "send {i}");
    }
    let total: usize = ledger.hits.iter().map(|h| h.load(Ordering::SeqCst)).sum();
    assert_eq!(total, accepted.len(), "a refused send was called back");
    let statuses = ledger.statuses.lock().unwrap().clone();
    let ok = accepted.iter().filter(|&&i| statuses[i] == 0).count();
    let cancelled = accepted
        .iter()
        .filter(|&&i| statuses[i] == bc_status::BC_ERR_CANCELLED as i32)
        .count();
    let shut = accepted
        .iter()
        .filter(|&&i| statuses[i] == bc_status::BC_ERR_SHUTDOWN as i32)
        .count();
    eprintln!(
        "accepted {} ok {ok} cancelled {cancelled} shutdown {shut}",
        accepted.len()
    );
    assert!(ok > 0);
    assert_eq!(ok + cancelled + shut, accepted.len(), "{statuses:?}");

    // Closed: refused, never called back; stats refused too; close twice is fine.
    assert!(submit(m, msg, &ledger, 0..1).is_empty());
    let mut json = null_mut();
    let mut err = null_mut();
    assert_eq!(
        bc_manager_stats_json(m, &mut json, &mut err),
        bc_status::BC_ERR_CLOSED
    );
    bc_error_free(err);
    assert_eq!(bc_manager_broker_state(m, c"x".as_ptr()), -1);
    ok!(|err| bc_manager_close(m, 0, &mut err));
    bc_manager_free(m);
    bc_message_free(msg);
}

struct Reentrant {
    manager: usize,
    client: usize,
    seen: Mutex<Vec<bc_status>>,
    cond: Condvar,
}

impl Reentrant {
    fn record(&self, s: bc_status) {
        self.seen.lock().unwrap().push(s);
        self.cond.notify_all();
    }

    fn wait(&self, n: usize) -> Vec<bc_status> {
        let g = self.seen.lock().unwrap();
        let (g, _) = self
            .cond
            .wait_timeout_while(g, Duration::from_secs(10), |v| v.len() < n)
            .unwrap();
        assert!(g.len() >= n, "callback did not run");
        g.clone()
    }
}

extern "C" fn blocking_inside(ud: *mut c_void, _s: bc_status, _e: *const bc_error) {
    // SAFETY: the test's Reentrant, alive until it saw the status.
    let r = unsafe { &*ud.cast::<Reentrant>() };
    let mut json = null_mut();
    // Never blocks, so allowed anywhere.
    let stats = bc_manager_stats_json(r.manager as *const bc_manager, &mut json, null_mut());
    bc_string_free(json);
    assert_eq!(stats, bc_status::BC_OK);
    let mut v = 0;
    let s = bc_manager_get_max_offset(
        r.manager as *const bc_manager,
        c"127.0.0.1:1".as_ptr(),
        c"TBW102".as_ptr(),
        0,
        &mut v,
        null_mut(),
    );
    r.record(s);
    let s = bc_manager_close(r.manager as *mut bc_manager, 0, null_mut());
    r.record(s);
}

extern "C" fn free_inside(ud: *mut c_void, s: bc_status, _e: *const bc_error) {
    // SAFETY: as above.
    let r = unsafe { &*ud.cast::<Reentrant>() };
    bc_manager_free(r.manager as *mut bc_manager);
    r.record(s);
}

#[test]
fn manager_free_inside_its_own_callback_is_deferred_and_clients_are_independent() {
    let m = new_manager(null());
    let client = new_client(null());
    let r = Reentrant {
        manager: m as usize,
        client: client as usize,
        seen: Mutex::new(Vec::new()),
        cond: Condvar::new(),
    };
    let rp = &r as *const Reentrant as *mut c_void;
    ok!(|err| bc_manager_start_async(m, Some(blocking_inside), rp, &mut err));
    assert_eq!(
        r.wait(2),
        [
            bc_status::BC_ERR_WOULD_DEADLOCK,
            bc_status::BC_ERR_WOULD_DEADLOCK
        ]
    );
    r.seen.lock().unwrap().clear();
    ok!(|err| bc_manager_start_async(m, Some(free_inside), rp, &mut err));
    assert_eq!(r.wait(1), [bc_status::BC_OK]);
    // The client lives on after its "sibling" manager is gone.
    ok!(|err| bc_client_connect(r.client as *const bc_client, &mut err));
    bc_client_free(client);

    // Queue mode: the callback runs on this thread, where free is done inline.
    let mut q = null_mut();
    ok!(|err| bc_queue_new(&mut q, &mut err));
    let m2 = new_manager(q);
    let r2 = Reentrant {
        manager: m2 as usize,
        client: 0,
        seen: Mutex::new(Vec::new()),
        cond: Condvar::new(),
    };
    let rp2 = &r2 as *const Reentrant as *mut c_void;
    ok!(|err| bc_manager_heartbeat_async(
        m2,
        c"bc_ffim_producer".as_ptr(),
        null(),
        Some(free_inside),
        rp2,
        &mut err
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while r2.seen.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline);
        bc_queue_wait(q, 1_000);
        bc_queue_dispatch(q, 0);
    }
    assert_eq!(r2.wait(1), [bc_status::BC_OK]);
    bc_queue_free(q);
}

// ---------------------------------------------------------------------------------------------
// Client: view message, send back, queue locks
// ---------------------------------------------------------------------------------------------

#[test]
fn view_message_and_consumer_send_back_through_the_c_api() {
    let client = new_client(null());
    let topic = unique_name("bc_ffim_back");
    create_topic(client, &topic);
    let group = unique_name("bc_ffim_back_cg");
    let g = cs(&group);
    ok!(|err| bc_client_heartbeat(client, null(), g.as_ptr(), &mut err));

    let msg = new_message(&topic, b"look at me");
    ok!(|err| bc_message_set_tags(msg, c"V".as_ptr(), &mut err));
    let mut res = null_mut();
    ok!(|err| bc_client_send(
        client,
        c"bc_ffim_producer".as_ptr(),
        0,
        msg,
        &mut res,
        &mut err
    ));
    let offset_id = cs(&text(bc_send_result_offset_msg_id(res)));

    // View, blocking and async: a batch of one message.
    let mut b = null_mut();
    ok!(|err| bc_client_view_message(client, offset_id.as_ptr(), &mut b, &mut err));
    assert_eq!(bc_batch_status(b), 0);
    assert_eq!(bc_batch_len(b), 1);
    let v = view(b, 0);
    assert_eq!(body_of(&v), b"look at me");
    assert_eq!(text(v.topic), topic);
    assert_eq!(text(v.tags), "V");
    assert_eq!(text(v.msg_id), text(bc_send_result_msg_id(res)));
    assert_eq!(v.queue_offset, bc_send_result_queue_offset(res));
    assert_eq!(bc_batch_next_offset(b), v.queue_offset + 1);
    bc_batch_free(b);
    let pulled = Inbox::<(bc_status, BatchPtr)>::new();
    ok!(|err| bc_client_view_message_async(
        client,
        offset_id.as_ptr(),
        Some(on_pull),
        ud(&pulled),
        &mut err
    ));
    let (s, got) = pulled.wait(1, Duration::from_secs(10))[0];
    assert_eq!(s, bc_status::BC_OK);
    assert_eq!(body_of(&view(got.0 as *const bc_batch, 0)), b"look at me");
    bc_batch_free(got.0 as *mut bc_batch);
    let mut err = null_mut();
    assert_eq!(
        bc_client_view_message(client, c"not an id".as_ptr(), &mut b, &mut err),
        bc_status::BC_ERR_INVALID_ARG
    );
    bc_error_free(err);

    // Consume it, then hand it back: it comes again on the group's retry topic.
    let batches = pull_until(client, &group, &topic, 0, 1);
    let original = batches[0];
    let mut err = null_mut();
    assert_eq!(
        bc_client_consumer_send_back(client, g.as_ptr(), original, 5, 1, -1, &mut err),
        bc_status::BC_ERR_INVALID_ARG
    );
    assert!(take_err(err).contains("out of range"));
    ok!(|err| bc_client_consumer_send_back(client, g.as_ptr(), original, 0, 1, -1, &mut err));
    let retry = format!("%RETRY%{group}");
    let retried = pull_until(client, &group, &retry, 0, 1);
    let r = view(retried[0], 0);
    assert_eq!(body_of(&r), b"look at me");
    assert_eq!(r.reconsume_times, 1);
    assert_eq!(text(r.msg_id), text(bc_send_result_msg_id(res)));
    assert_eq!(
        text(bc_batch_property(retried[0], 0, c"RETRY_TOPIC".as_ptr())),
        topic
    );

    // Async, straight to the dead-letter queue; the batch may be freed at once.
    let done = Inbox::<bc_status>::new();
    ok!(|err| bc_client_consumer_send_back_async(
        client,
        g.as_ptr(),
        original,
        0,
        -1,
        -1,
        Some(on_done),
        ud(&done),
        &mut err
    ));
    batches.into_iter().for_each(|b| bc_batch_free(b));
    assert_eq!(done.wait(1, Duration::from_secs(10))[0], bc_status::BC_OK);
    let dead = pull_until(client, &group, &format!("%DLQ%{group}"), 0, 1);
    assert_eq!(body_of(&view(dead[0], 0)), b"look at me");
    dead.into_iter().for_each(|b| bc_batch_free(b));
    retried.into_iter().for_each(|b| bc_batch_free(b));
    bc_send_result_free(res);
    bc_message_free(msg);
    bc_client_free(client);
}

fn queues_json(topic: &str, broker: &str, ids: &[i32]) -> CString {
    let v: Vec<serde_json::Value> = ids
        .iter()
        .map(|q| serde_json::json!({"topic": topic, "brokerName": broker, "queueId": q}))
        .collect();
    cs(&serde_json::to_string(&v).unwrap())
}

fn locked(client: *const bc_client, group: &CString, mqs: &CString) -> Vec<i32> {
    let mut json = null_mut();
    ok!(|err| bc_client_lock_batch_mq(client, group.as_ptr(), mqs.as_ptr(), &mut json, &mut err));
    let v: Vec<serde_json::Value> = serde_json::from_str(&text(json)).unwrap();
    bc_string_free(json);
    let mut ids: Vec<i32> = v
        .iter()
        .map(|q| q["queueId"].as_i64().unwrap() as i32)
        .collect();
    ids.sort();
    ids
}

#[test]
fn lock_and_unlock_queues_through_the_c_api() {
    let name = broker_name();
    let topic = unique_name("bc_ffim_lock");
    let group = cs(&unique_name("bc_ffim_lock_cg"));
    let both = queues_json(&topic, &name, &[0, 1]);
    let q0 = queues_json(&topic, &name, &[0]);
    let a = new_named_client(&unique_name("bc_ffim_lock_a"));
    let b = new_named_client(&unique_name("bc_ffim_lock_b"));

    assert_eq!(locked(a, &group, &both), [0, 1]);
    assert!(locked(b, &group, &both).is_empty(), "held by A");
    ok!(|err| bc_client_unlock_batch_mq(a, group.as_ptr(), q0.as_ptr(), &mut err));
    assert_eq!(locked(b, &group, &both), [0]);

    // Async twins.
    let done = Inbox::<bc_status>::new();
    ok!(|err| bc_client_unlock_batch_mq_async(
        a,
        group.as_ptr(),
        both.as_ptr(),
        Some(on_done),
        ud(&done),
        &mut err
    ));
    assert_eq!(done.wait(1, Duration::from_secs(10))[0], bc_status::BC_OK);
    let got = Inbox::<(bc_status, Option<String>)>::new();
    ok!(|err| bc_client_lock_batch_mq_async(
        b,
        group.as_ptr(),
        both.as_ptr(),
        Some(on_json),
        ud(&got),
        &mut err
    ));
    let (s, json) = got.wait(1, Duration::from_secs(10))[0].clone();
    assert_eq!(s, bc_status::BC_OK);
    let v: Vec<serde_json::Value> = serde_json::from_str(&json.unwrap()).unwrap();
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(v[0]["brokerName"], name.as_str());
    assert_eq!(v[0]["topic"], topic.as_str());

    // Bad JSON is refused before anything is sent.
    let mut json = null_mut();
    let mut err = null_mut();
    assert_eq!(
        bc_client_lock_batch_mq(
            a,
            group.as_ptr(),
            c"{\"topic\":1}".as_ptr(),
            &mut json,
            &mut err
        ),
        bc_status::BC_ERR_INVALID_ARG
    );
    assert!(take_err(err).contains("mq_json"));
    assert!(json.is_null());
    ok!(|err| bc_client_unlock_batch_mq(b, group.as_ptr(), both.as_ptr(), &mut err));
    bc_client_free(a);
    bc_client_free(b);
}

// ---------------------------------------------------------------------------------------------
// Transaction checks
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Check {
    msg_id: String,
    transaction_id: String,
    topic: String,
    body: Vec<u8>,
    order: Option<String>,
    pgroup: Option<String>,
}

struct TxState {
    wanted: Mutex<String>,
    committed: AtomicBool,
    checks: Arc<Inbox<Check>>,
    freed: AtomicUsize,
}

fn opt_text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| text(p))
}

extern "C" fn on_check(ud: *mut c_void, check: *const bc_transaction_check) -> i32 {
    // SAFETY: an `Arc<TxState>` given to the library, released by `free_tx`.
    let st = unsafe { &*ud.cast::<TxState>() };
    let mut len = 0usize;
    let body = bc_transaction_check_body(check, &mut len);
    let c = Check {
        msg_id: text(bc_transaction_check_msg_id(check)),
        transaction_id: text(bc_transaction_check_transaction_id(check)),
        topic: text(bc_transaction_check_topic(check)),
        body: unsafe { std::slice::from_raw_parts(body, len) }.to_vec(),
        order: opt_text(bc_transaction_check_property(check, c"order".as_ptr())),
        pgroup: opt_text(bc_transaction_check_property(check, c"PGROUP".as_ptr())),
    };
    let mine = *st.wanted.lock().unwrap() == c.msg_id;
    st.checks.push(c);
    // Commit once; anything else (or again) stays unknown.
    if mine && !st.committed.swap(true, Ordering::SeqCst) {
        1
    } else {
        0
    }
}

extern "C" fn free_tx(ud: *mut c_void) {
    // SAFETY: from Arc::into_raw in the test, released exactly here.
    let st = unsafe { Arc::from_raw(ud.cast::<TxState>()) };
    st.freed.fetch_add(1, Ordering::SeqCst);
}

fn tx_state() -> Arc<TxState> {
    Arc::new(TxState {
        wanted: Mutex::new(String::new()),
        committed: AtomicBool::new(false),
        checks: Inbox::new(),
        freed: AtomicUsize::new(0),
    })
}

fn wait_until(what: &str, timeout: Duration, f: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn transaction_check_callback_commits_a_half_message() {
    let client = new_client(null());
    let topic = unique_name("bc_ffim_tx");
    create_topic(client, &topic);
    let group = cs(&unique_name("bc_ffim_tx_pg"));
    let st = tx_state();
    ok!(|err| bc_client_set_transaction_check_cb(
        client,
        Some(on_check),
        Arc::into_raw(st.clone()) as *mut c_void,
        Some(free_tx),
        &mut err
    ));
    ok!(|err| bc_client_heartbeat(client, group.as_ptr(), null(), &mut err));

    let msg = new_message(&topic, b"pay order 42");
    ok!(|err| bc_message_set_transactional(msg, &mut err));
    ok!(|err| bc_message_set_property(msg, c"order".as_ptr(), c"42".as_ptr(), &mut err));
    let mut res = null_mut();
    ok!(|err| bc_client_send(client, group.as_ptr(), 0, msg, &mut res, &mut err));
    let msg_id = text(bc_send_result_msg_id(res));
    let tx_id = text(bc_send_result_transaction_id(res));
    assert!(!tx_id.is_empty());
    *st.wanted.lock().unwrap() = msg_id.clone();
    let mut max = -1;
    ok!(|err| bc_client_get_max_offset(client, cs(&topic).as_ptr(), 0, &mut max, &mut err));
    assert_eq!(max, 0, "a half message is invisible");

    // The broker asks (transactionTimeOut 2 s, checked every 1 s); the callback commits.
    let deadline = Instant::now() + Duration::from_secs(30);
    let check = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = st.checks.len();
        let all = st.checks.wait(n + 1, left);
        if let Some(c) = all.iter().find(|c| c.msg_id == msg_id) {
            break c.clone();
        }
    };
    assert_eq!(check.topic, topic, "the real topic");
    assert_eq!(check.body, b"pay order 42");
    assert_eq!(check.transaction_id, tx_id);
    assert_eq!(check.order.as_deref(), Some("42"));
    assert_eq!(check.pgroup.as_deref(), group.to_str().ok());

    // Committed: the message appears.
    let got = pull_until(client, "bc_ffim_tx_cg", &topic, 0, 1);
    let v = view(got[0], 0);
    assert_eq!(body_of(&v), b"pay order 42");
    assert_eq!(text(v.msg_id), msg_id);
    got.into_iter().for_each(|b| bc_batch_free(b));

    // Removing the callback releases its user data exactly once (after a running check).
    assert_eq!(st.freed.load(Ordering::SeqCst), 0);
    ok!(|err| bc_client_set_transaction_check_cb(client, None, null_mut(), None, &mut err));
    wait_until("free_user_data", Duration::from_secs(10), || {
        st.freed.load(Ordering::SeqCst) == 1
    });
    bc_send_result_free(res);
    bc_message_free(msg);
    bc_client_free(client);
    assert_eq!(st.freed.load(Ordering::SeqCst), 1);
    assert_eq!(Arc::strong_count(&st), 1, "the library let go of user_data");
}

#[test]
fn transaction_check_user_data_is_released_on_replace_and_on_client_free() {
    let client = new_client(null());
    let first = tx_state();
    let second = tx_state();
    for st in [&first, &second] {
        ok!(|err| bc_client_set_transaction_check_cb(
            client,
            Some(on_check),
            Arc::into_raw((*st).clone()) as *mut c_void,
            Some(free_tx),
            &mut err
        ));
    }
    assert_eq!(first.freed.load(Ordering::SeqCst), 1, "replaced");
    assert_eq!(second.freed.load(Ordering::SeqCst), 0);
    // NULL free_user_data is allowed.
    let third = tx_state();
    ok!(|err| bc_client_set_transaction_check_cb(
        client,
        Some(on_check),
        Arc::as_ptr(&third) as *mut c_void,
        None,
        &mut err
    ));
    assert_eq!(second.freed.load(Ordering::SeqCst), 1);
    ok!(|err| bc_client_set_transaction_check_cb(
        client,
        Some(on_check),
        Arc::into_raw(second.clone()) as *mut c_void,
        Some(free_tx),
        &mut err
    ));
    bc_client_free(client);
    assert_eq!(
        second.freed.load(Ordering::SeqCst),
        2,
        "freed with the client"
    );
    assert_eq!(Arc::strong_count(&first), 1);
    assert_eq!(Arc::strong_count(&second), 1);
}

// ---------------------------------------------------------------------------------------------
// Cancel tokens
// ---------------------------------------------------------------------------------------------

/// A TCP relay between one client and the test broker that records the request code of
/// every frame it has forwarded to the broker, so "the request is on the wire to the broker"
/// can be waited on. Its threads end with the connection.
struct Relay {
    addr: String,
    forwarded: Arc<Mutex<Vec<i32>>>,
}

impl Relay {
    fn start() -> Relay {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let forwarded = Arc::new(Mutex::new(Vec::new()));
        let seen = forwarded.clone();
        std::thread::spawn(move || {
            // One connection is all a test needs; the listener closes after it.
            let Ok((mut from_client, _)) = listener.accept() else {
                return;
            };
            let mut to_broker = std::net::TcpStream::connect(broker_addr()).unwrap();
            let mut from_broker = to_broker.try_clone().unwrap();
            let mut to_client = from_client.try_clone().unwrap();
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_broker, &mut to_client);
                let _ = to_client.shutdown(std::net::Shutdown::Both);
            });
            let mut decoder = brokerclient::protocol::FrameDecoder::default();
            let mut buf = bytes::BytesMut::new();
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                let n = match from_client.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if to_broker.write_all(&chunk[..n]).is_err() {
                    break;
                }
                // Recorded once its last byte is written to the broker's socket.
                buf.extend_from_slice(&chunk[..n]);
                while let Ok(Some(cmd)) = decoder.decode(&mut buf) {
                    seen.lock().unwrap().push(cmd.code);
                }
            }
            let _ = to_broker.shutdown(std::net::Shutdown::Both);
        });
        Relay { addr, forwarded }
    }

    /// Frames with request `code` forwarded to the broker so far.
    fn forwarded(&self, code: i32) -> usize {
        self.forwarded
            .lock()
            .unwrap()
            .iter()
            .filter(|c| **c == code)
            .count()
    }
}

/// Waits until the manager counts a request in flight to `addr` (its stats JSON).
fn wait_manager_in_flight(m: *const bc_manager, addr: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut json = null_mut();
        ok!(|err| bc_manager_stats_json(m, &mut json, &mut err));
        let stats: serde_json::Value = serde_json::from_str(&text(json)).unwrap();
        bc_string_free(json);
        let in_flight = stats["brokers"]
            .as_array()
            .expect("brokers")
            .iter()
            .find(|b| b["addr"] == addr)
            .and_then(|b| b["in_flight"].as_u64());
        if in_flight == Some(n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not {n} in flight to {addr} within 30 s: {stats}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn cancel_token_ends_a_long_poll_with_exactly_one_cancelled_callback() {
    // The client talks to the broker through a relay that shows when the pull is on the wire.
    let relay = Relay::start();
    let addr = cs(&relay.addr);
    let mut client = null_mut();
    ok!(|err| bc_client_new(addr.as_ptr(), null(), null(), &mut client, &mut err));
    let topic = unique_name("bc_ffim_cancel");
    create_topic(client, &topic);
    let (g, t) = (cs(&unique_name("bc_ffim_cancel_cg")), cs(&topic));
    let mut token = null_mut();
    ok!(|err| bc_cancel_token_new(&mut token, &mut err));

    // Queue 0 is empty: the broker holds the pull for 60 s.
    let pulled = Inbox::<(bc_status, BatchPtr)>::new();
    ok!(|err| bc_client_pull_async_with_cancel(
        client,
        g.as_ptr(),
        t.as_ptr(),
        0,
        0,
        32,
        60_000,
        null(),
        token,
        Some(on_pull),
        ud(&pulled),
        &mut err
    ));
    let pull = brokerclient::protocol::codes::request::PULL_MESSAGE;
    wait_until(
        "the pull forwarded to the broker",
        Duration::from_secs(30),
        || {
            assert_eq!(
                pulled.len(),
                0,
                "the pull returned before it reached the broker"
            );
            relay.forwarded(pull) == 1
        },
    );
    assert_eq!(pulled.len(), 0, "the broker holds the pull (empty queue)");
    bc_cancel_token_cancel(token);
    // Ended by the cancel, not by the 60 s hold (which would answer BC_OK, no messages).
    let (s, b) = pulled.wait(1, Duration::from_secs(30))[0];
    assert_eq!(s, bc_status::BC_ERR_CANCELLED);
    assert_eq!(b.0, 0, "no batch");
    assert_eq!(pulled.len(), 1, "one callback");

    // A cancelled token refuses new operations without calling back.
    let mut err = null_mut();
    assert_eq!(
        bc_client_pull_async_with_cancel(
            client,
            g.as_ptr(),
            t.as_ptr(),
            0,
            0,
            32,
            10_000,
            null(),
            token,
            Some(on_pull),
            ud(&pulled),
            &mut err
        ),
        bc_status::BC_ERR_CANCELLED
    );
    bc_error_free(err);
    let msg = new_message(&topic, b"not sent");
    let sent = Inbox::<(bc_status, i64)>::new();
    let mut err = null_mut();
    assert_eq!(
        bc_client_send_async_with_cancel(
            client,
            c"bc_ffim_producer".as_ptr(),
            0,
            msg,
            token,
            Some(on_send_result),
            ud(&sent),
            &mut err
        ),
        bc_status::BC_ERR_CANCELLED
    );
    bc_error_free(err);
    bc_cancel_token_free(token);

    // A token that is never cancelled (or freed while attached) changes nothing.
    let mut token = null_mut();
    ok!(|err| bc_cancel_token_new(&mut token, &mut err));
    ok!(|err| bc_client_send_async_with_cancel(
        client,
        c"bc_ffim_producer".as_ptr(),
        0,
        msg,
        token,
        Some(on_send_result),
        ud(&sent),
        &mut err
    ));
    bc_cancel_token_free(token);
    ok!(|err| bc_client_send_async_with_cancel(
        client,
        c"bc_ffim_producer".as_ptr(),
        0,
        msg,
        null(),
        Some(on_send_result),
        ud(&sent),
        &mut err
    ));
    let both = sent.wait(2, Duration::from_secs(10));
    assert!(both.iter().all(|(s, _)| *s == bc_status::BC_OK), "{both:?}");
    assert_eq!(pulled.len(), 1);
    assert_eq!(sent.len(), 2);

    // The manager's long poll is cancellable too.
    let m = new_manager(null());
    let mut token = null_mut();
    ok!(|err| bc_cancel_token_new(&mut token, &mut err));
    let mpulled = Inbox::<(bc_status, BatchPtr)>::new();
    let addr = cs(&broker_addr());
    ok!(|err| bc_manager_pull_async_with_cancel(
        m,
        addr.as_ptr(),
        g.as_ptr(),
        t.as_ptr(),
        1,
        0,
        32,
        60_000,
        null(),
        token,
        Some(on_pull),
        ud(&mpulled),
        &mut err
    ));
    // In flight: the manager counts it on the broker's connection, and it has not returned.
    wait_manager_in_flight(m, &broker_addr(), 1);
    assert_eq!(mpulled.len(), 0, "the broker holds the pull (empty queue)");
    bc_cancel_token_cancel(token);
    assert_eq!(
        mpulled.wait(1, Duration::from_secs(30))[0].0,
        bc_status::BC_ERR_CANCELLED
    );
    bc_cancel_token_free(token);
    bc_manager_free(m);
    // Freed: every callback has run, so these counts are final.
    assert_eq!(mpulled.len(), 1, "exactly one callback (manager)");
    bc_message_free(msg);
    bc_client_free(client);
    // Freed: every callback has run, so these counts are final.
    assert_eq!(pulled.len(), 1, "exactly one callback");
    assert_eq!(sent.len(), 2, "exactly one callback each");
}

// ---------------------------------------------------------------------------------------------
// Log callback
// ---------------------------------------------------------------------------------------------

struct LogState {
    lines: Mutex<Vec<(i32, String, String, String)>>,
    freed: AtomicUsize,
}

extern "C" fn on_log(
    ud: *mut c_void,
    level: i32,
    target: *const c_char,
    message: *const c_char,
    fields: *const c_char,
) {
    // SAFETY: an Arc<LogState> given to the library, released by `free_log`.
    let st = unsafe { &*ud.cast::<LogState>() };
    st.lines
        .lock()
        .unwrap()
        .push((level, text(target), text(message), text(fields)));
}

extern "C" fn free_log(ud: *mut c_void) {
    // SAFETY: from Arc::into_raw in the test, released exactly here.
    let st = unsafe { Arc::from_raw(ud.cast::<LogState>()) };
    st.freed.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn log_callback_sees_connected_with_the_address_and_nothing_after_removal() {
    let st = Arc::new(LogState {
        lines: Mutex::new(Vec::new()),
        freed: AtomicUsize::new(0),
    });
    let mut err = null_mut();
    assert_eq!(
        bc_set_log_callback(9, Some(on_log), null_mut(), Some(free_log), &mut err),
        bc_status::BC_ERR_INVALID_ARG,
        "level out of range"
    );
    bc_error_free(err);
    ok!(|err| bc_set_log_callback(
        3,
        Some(on_log),
        Arc::into_raw(st.clone()) as *mut c_void,
        Some(free_log),
        &mut err
    ));
    let client = new_client(null());
    ok!(|err| bc_client_connect(client, &mut err));
    let want = format!("addr={}", broker_addr());
    wait_until("a connected event", Duration::from_secs(30), || {
        st.lines
            .lock()
            .unwrap()
            .iter()
            .any(|(_, _, m, f)| m == "connected" && f.split(' ').any(|kv| kv == want))
    });
    {
        let lines = st.lines.lock().unwrap();
        let (level, target, _, _) = lines.iter().find(|(_, _, m, _)| m == "connected").unwrap();
        assert_eq!(*level, 3, "info");
        assert!(target.starts_with("brokerclient::"), "{target}");
        assert!(lines.iter().all(|(l, ..)| (1..=3).contains(l)), "{lines:?}");
    }
    bc_client_free(client);

    ok!(|err| bc_set_log_callback(0, None, null_mut(), None, &mut err));
    assert_eq!(st.freed.load(Ordering::SeqCst), 1, "released on removal");
    let seen = st.lines.lock().unwrap().len();
    // More events happen (this connect, other tests), none arrives.
    let client = new_client(null());
    ok!(|err| bc_client_connect(client, &mut err));
    bc_client_disconnect(client);
    let mut v = 0;
    let mut err = null_mut();
    bc_client_get_max_offset(client, c"TBW102".as_ptr(), 0, &mut v, &mut err);
    bc_error_free(err);
    bc_client_free(client);
    // Events keep coming after the removal: a second callback installed now sees the next
    // connect. The first one's user data was released (above), so it cannot be called again,
    // and it got nothing more.
    let fence = Arc::new(LogState {
        lines: Mutex::new(Vec::new()),
        freed: AtomicUsize::new(0),
    });
    ok!(|err| bc_set_log_callback(
        3,
        Some(on_log),
        Arc::into_raw(fence.clone()) as *mut c_void,
        Some(free_log),
        &mut err
    ));
    let client = new_client(null());
    ok!(|err| bc_client_connect(client, &mut err));
    wait_until(
        "a connected event at the second callback",
        Duration::from_secs(30),
        || {
            fence
                .lines
                .lock()
                .unwrap()
                .iter()
                .any(|(_, _, m, f)| m == "connected" && f.split(' ').any(|kv| kv == want))
        },
    );
    bc_client_free(client);
    ok!(|err| bc_set_log_callback(0, None, null_mut(), None, &mut err));
    assert_eq!(fence.freed.load(Ordering::SeqCst), 1);
    assert_eq!(
        st.lines.lock().unwrap().len(),
        seen,
        "nothing after removal"
    );
    assert_eq!(Arc::strong_count(&st), 1);
    assert_eq!(Arc::strong_count(&fence), 1);
}

// ---------------------------------------------------------------------------------------------
// NULL arguments
// ---------------------------------------------------------------------------------------------

fn invalid(s: bc_status, err: *mut bc_error, names: &str) {
    assert_eq!(s, bc_status::BC_ERR_INVALID_ARG);
    let t = take_err(err);
    assert!(t.contains(names), "{t:?} should name {names}");
}

#[test]
fn null_arguments_are_invalid_and_named() {
    let mut e = null_mut();
    let mut m = null_mut();
    invalid(
        bc_manager_new(null(), null(), null_mut(), &mut e),
        e,
        "out_manager",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_new_from_name_servers(null(), null(), null(), &mut m, &mut e),
        e,
        "name_servers",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_new_from_name_servers(c" ; ".as_ptr(), null(), null(), &mut m, &mut e),
        e,
        "name server",
    );
    assert!(m.is_null(), "outputs are written only on success");
    let mut e = null_mut();
    invalid(bc_manager_start(null(), &mut e), e, "manager");
    let mut e = null_mut();
    invalid(bc_manager_close(null_mut(), 0, &mut e), e, "manager");
    bc_manager_free(null_mut());
    assert_eq!(bc_manager_broker_state(null(), c"a:1".as_ptr()), -1);

    ok!(|err| bc_manager_new(null(), null(), &mut m, &mut err));
    let msg = new_message("T", b"x");
    let mut res = null_mut();
    let mut e = null_mut();
    invalid(
        bc_manager_send(m, null(), msg, &mut res, &mut e),
        e,
        "producer_group",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_send(m, c"g".as_ptr(), null(), &mut res, &mut e),
        e,
        "message",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_send(m, c"g".as_ptr(), msg, null_mut(), &mut e),
        e,
        "out_result",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_send_async(m, c"g".as_ptr(), msg, None, null_mut(), &mut e),
        e,
        "cb",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_send_batch(m, c"g".as_ptr(), null(), 1, &mut res, &mut e),
        e,
        "messages",
    );
    let mut b = null_mut();
    let mut e = null_mut();
    invalid(
        bc_manager_pull(
            m,
            null(),
            c"g".as_ptr(),
            c"T".as_ptr(),
            0,
            0,
            1,
            0,
            null(),
            &mut b,
            &mut e,
        ),
        e,
        "broker",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_pull(
            m,
            c"b".as_ptr(),
            c"g".as_ptr(),
            null(),
            0,
            0,
            1,
            0,
            null(),
            &mut b,
            &mut e,
        ),
        e,
        "topic",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_add_broker(m, null(), null_mut(), &mut e),
        e,
        "name_or_addr",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_add_broker(m, c"a:1".as_ptr(), null_mut(), &mut e),
        e,
        "out_addr",
    );
    let mut e = null_mut();
    invalid(bc_manager_remove_broker(m, null(), 0, &mut e), e, "addr");
    let mut e = null_mut();
    invalid(bc_manager_stats_json(m, null_mut(), &mut e), e, "out_json");
    let mut e = null_mut();
    invalid(bc_manager_heartbeat(m, null(), null(), &mut e), e, "group");
    let mut v = 0;
    let mut e = null_mut();
    invalid(
        bc_manager_get_max_offset(m, c"b".as_ptr(), c"T".as_ptr(), 0, null_mut(), &mut e),
        e,
        "out_value",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_query_consumer_offset(
            m,
            c"b".as_ptr(),
            null(),
            c"T".as_ptr(),
            0,
            &mut v,
            &mut e,
        ),
        e,
        "consumer_group",
    );
    let mut e = null_mut();
    invalid(
        bc_manager_update_consumer_offset_async(
            m,
            c"b".as_ptr(),
            c"g".as_ptr(),
            c"T".as_ptr(),
            0,
            0,
            None,
            null_mut(),
            &mut e,
        ),
        e,
        "cb",
    );
    assert_eq!(bc_manager_broker_state(m, null()), -1);
    bc_manager_free(m);

    let client = new_client(null());
    let mut e = null_mut();
    invalid(
        bc_client_view_message(client, null(), &mut b, &mut e),
        e,
        "offset_msg_id",
    );
    let mut e = null_mut();
    invalid(
        bc_client_view_message_async(client, c"x".as_ptr(), None, null_mut(), &mut e),
        e,
        "cb",
    );
    let mut e = null_mut();
    invalid(
        bc_client_consumer_send_back(client, c"g".as_ptr(), null(), 0, 0, -1, &mut e),
        e,
        "batch",
    );
    let mut json = null_mut();
    let mut e = null_mut();
    invalid(
        bc_client_lock_batch_mq(client, c"g".as_ptr(), null(), &mut json, &mut e),
        e,
        "mq_json",
    );
    let mut e = null_mut();
    invalid(
        bc_client_unlock_batch_mq(client, null(), c"[]".as_ptr(), &mut e),
        e,
        "consumer_group",
    );
    let mut e = null_mut();
    invalid(
        bc_client_set_transaction_check_cb(null(), None, null_mut(), None, &mut e),
        e,
        "client",
    );
    let mut e = null_mut();
    invalid(
        bc_client_pull_async_with_cancel(
            client,
            c"g".as_ptr(),
            c"T".as_ptr(),
            0,
            0,
            1,
            0,
            null(),
            null(),
            None,
            null_mut(),
            &mut e,
        ),
        e,
        "cb",
    );
    let mut e = null_mut();
    invalid(
        bc_client_send_async_with_cancel(
            client,
            c"g".as_ptr(),
            0,
            null(),
            null(),
            Some(on_send_result),
            null_mut(),
            &mut e,
        ),
        e,
        "message",
    );
    let mut e = null_mut();
    invalid(bc_cancel_token_new(null_mut(), &mut e), e, "out_token");
    bc_cancel_token_cancel(null());
    bc_cancel_token_free(null_mut());
    assert!(!bc_cancel_token_is_cancelled(null()));
    let mut len = 7usize;
    assert!(bc_transaction_check_body(null(), &mut len).is_null());
    assert_eq!(len, 0);
    assert_eq!(text(bc_transaction_check_msg_id(null())), "");
    assert_eq!(text(bc_transaction_check_transaction_id(null())), "");
    assert_eq!(text(bc_transaction_check_topic(null())), "");
    assert!(bc_transaction_check_property(null(), c"x".as_ptr()).is_null());
    bc_message_free(msg);
    bc_client_free(client);
}

#[test]
fn manager_cluster_route_and_broker_list_through_the_c_api() {
    let m = new_manager(null());
    let mut json = null_mut();
    ok!(|err| bc_manager_get_cluster_info(m, &mut json, &mut err));
    assert!(text(json).contains(&broker_addr()), "{}", text(json));
    bc_string_free(json);

    let topic = new_topic("bc_ffi_mgr_route");
    let t = cs(&topic);
    let route = wait_for("the topic routed", Duration::from_secs(30), || {
        let mut json = null_mut();
        let mut err = null_mut();
        if bc_manager_get_route_info(m, t.as_ptr(), &mut json, &mut err) == bc_status::BC_OK {
            let s = text(json);
            bc_string_free(json);
            Some(s)
        } else {
            assert_eq!(bc_error_response_code(err), 17, "{}", take_err(err));
            None
        }
    });
    assert!(
        route.contains("queueDatas") && route.contains(&broker_addr()),
        "{route}"
    );

    let mut list = null_mut();
    ok!(|err| bc_manager_brokers(m, &mut list, &mut err));
    let brokers: Vec<String> = serde_json::from_str(&text(list)).unwrap();
    assert!(brokers.contains(&broker_addr()), "{brokers:?}");
    bc_string_free(list);

    // The async twin delivers the same JSON once.
    let replies: Arc<Inbox<(bc_status, String)>> = Inbox::new();
    extern "C" fn on_json(
        ud: *mut c_void,
        status: bc_status,
        _err: *const bc_error,
        json: *const c_char,
    ) {
        let body = if json.is_null() {
            String::new()
        } else {
            text(json)
        };
        inbox::<(bc_status, String)>(ud).push((status, body));
    }
    ok!(|err| bc_manager_get_cluster_info_async(m, Some(on_json), ud(&replies), &mut err));
    let (status, body) = replies.wait(1, Duration::from_secs(10)).remove(0);
    assert_eq!(replies.len(), 1);
    assert_eq!(status, bc_status::BC_OK);
    assert!(body.contains(&broker_addr()));

    let mut err = null_mut();
    assert_eq!(
        bc_manager_get_route_info(m, null(), &mut json, &mut err),
        bc_status::BC_ERR_INVALID_ARG
    );
    assert!(take_err(err).contains("topic"));
    bc_manager_free(m);
}
