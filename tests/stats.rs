//! Client statistics against the real broker: counters per operation and outcome, traffic,
//! connections and windowed latency, from Rust (`BrokerClient::stats`) and from C
//! (`bc_client_stats_json`, for an own client and a manager's pooled one; the manager's
//! `bc_manager_stats_json` lists each pooled connection's). Fails (never skips) when the
//! broker is absent.

mod common;

use std::ffi::{CStr, CString};
use std::ptr::{null, null_mut};

use brokerclient::client::PullRequest;
use brokerclient::ffi::client::*;
use brokerclient::ffi::manager::*;
use brokerclient::ffi::status::bc_status;
use brokerclient::protocol::message::Message;
use brokerclient::protocol::msgid::{decode_offset_msg_id, offset_msg_id};
use brokerclient::{BrokerClient, ClientConfig};
use common::{broker_addr, unique_name};
use serde_json::Value;

fn json_of(f: impl FnOnce(*mut *mut std::ffi::c_char) -> bc_status) -> Value {
    let mut out = null_mut();
    assert_eq!(f(&mut out), bc_status::BC_OK);
    let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
    bc_string_free(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn client_statistics_count_operations_traffic_and_latency() {
    let client = BrokerClient::new(broker_addr(), ClientConfig::default());
    let topic = unique_name("bc_stats");
    client.create_topic(&topic, 1).expect("create topic");
    let body = vec![b's'; 1000];
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            client
                .send("bc_stats_pg", 0, &Message::new(&topic, body.clone()))
                .expect("send"),
        );
    }
    client
        .send_oneway("bc_stats_pg", 0, &Message::new(&topic, body.clone()))
        .expect("oneway");
    client
        .pull(&PullRequest::new(
            "bc_stats_cg",
            &topic,
            0,
            last.as_ref().unwrap().queue_offset,
        ))
        .expect("pull");
    // A well-formed id past the end of the commit log: refused by every broker version.
    let (host, _) = decode_offset_msg_id(&last.as_ref().unwrap().offset_msg_id).unwrap();
    client
        .view_message(&offset_msg_id(host, i64::MAX / 2))
        .expect_err("no message there: refused");

    let s = client.stats();
    let send = &s.operations["send"];
    assert_eq!(
        (send.requests, send.ok, send.refused, send.failed),
        (3, 3, 0, 0)
    );
    assert_eq!(send.latency_us.count, 3);
    assert!(send.latency_us.p50 > 0 && send.latency_us.max >= send.latency_us.p99);
    assert_eq!(s.operations["send oneway"].ok, 1);
    assert_eq!(s.operations["pull"].ok, 1);
    let refused = &s.operations["view message"];
    assert_eq!((refused.requests, refused.refused), (1, 1));
    assert!(s.connected && s.connects == 1 && s.reconnects == 0, "{s:?}");
    assert!(
        s.bytes_out > 4 * 1000,
        "4 bodies of 1000 bytes went out: {}",
        s.bytes_out
    );
    assert!(s.bytes_in > 1000, "a pulled body came in: {}", s.bytes_in);
    assert_eq!(s.in_flight, 0);
    assert_eq!(
        s.requests,
        3 + 1 + 1 + 1 + 1,
        "create topic, sends, oneway, pull, query"
    );

    // A reconnect is counted, and the first connection's traffic is kept.
    let before = s.bytes_out;
    client.disconnect();
    client
        .send("bc_stats_pg", 0, &Message::new(&topic, body.clone()))
        .expect("send after reconnect");
    let s = client.stats();
    assert_eq!((s.connects, s.reconnects), (2, 1));
    assert!(
        s.bytes_out > before + 1000,
        "{} after {before}",
        s.bytes_out
    );
}

#[test]
fn statistics_through_c_for_a_client_and_a_managers_pool() {
    let addr = CString::new(broker_addr()).unwrap();
    let mut client = null_mut();
    assert_eq!(
        bc_client_new(addr.as_ptr(), null(), null(), &mut client, null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(bc_client_connect(client, null_mut()), bc_status::BC_OK);
    let mut max = 0;
    let t = CString::new(unique_name("bc_stats_c")).unwrap();
    assert_eq!(
        bc_client_get_max_offset(client, t.as_ptr(), 0, &mut max, null_mut()),
        bc_status::BC_OK
    );
    let s = json_of(|out| bc_client_stats_json(client, out, null_mut()));
    assert_eq!(s["connected"], true, "{s}");
    assert_eq!(s["connects"], 1);
    assert!(
        s["operations"]
            .as_object()
            .unwrap()
            .values()
            .any(|o| o["ok"] == 1),
        "{s}"
    );
    assert!(s["bytes_out"].as_u64().unwrap() > 0);
    let mut none = null_mut();
    assert_eq!(
        bc_client_stats_json(client, null_mut(), null_mut()),
        bc_status::BC_ERR_INVALID_ARG
    );
    assert_eq!(
        bc_client_stats_json(null(), &mut none, null_mut()),
        bc_status::BC_ERR_INVALID_ARG
    );
    bc_client_free(client);

    let mut m = null_mut();
    assert_eq!(
        bc_manager_new(null(), null(), &mut m, null_mut()),
        bc_status::BC_OK
    );
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
    assert_eq!(
        bc_client_get_max_offset(pooled, t.as_ptr(), 0, &mut max, null_mut()),
        bc_status::BC_OK
    );
    let broker = json_of(|out| bc_client_stats_json(pooled, out, null_mut()));
    let conns = broker["connections"]
        .as_array()
        .expect("the pool's connections");
    assert!(!conns.is_empty(), "{broker}");
    let total: u64 = conns.iter().map(|c| c["requests"].as_u64().unwrap()).sum();
    assert!(total >= 1, "{broker}");
    let all = json_of(|out| bc_manager_stats_json(m, out, null_mut()));
    assert_eq!(
        all["brokers"][0]["connections"].as_array().unwrap().len(),
        conns.len()
    );
    bc_client_free(pooled);
    bc_manager_free(m);
}

/// What a statistics callback saw.
#[derive(Default)]
struct Reports {
    texts: std::sync::Mutex<Vec<String>>,
    freed: std::sync::Mutex<usize>,
    cond: std::sync::Condvar,
}

impl Reports {
    /// Waits (bounded) until `n` reports arrived, dispatching `queue` meanwhile when given.
    fn wait_for(&self, n: usize, queue: *const brokerclient::ffi::queue::bc_queue) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.texts.lock().unwrap().len() < n {
            if std::time::Instant::now() > deadline {
                return false;
            }
            if queue.is_null() {
                let g = self.texts.lock().unwrap();
                let _ = self
                    .cond
                    .wait_timeout_while(g, std::time::Duration::from_millis(200), |v| v.len() < n)
                    .unwrap();
            } else {
                brokerclient::ffi::queue::bc_queue_wait(queue, 200);
                brokerclient::ffi::queue::bc_queue_dispatch(queue, 0);
            }
        }
        true
    }

    fn freed_when_settled(&self) -> usize {
        let g = self.freed.lock().unwrap();
        let (g, _) = self
            .cond
            .wait_timeout_while(g, std::time::Duration::from_secs(30), |f| *f == 0)
            .unwrap();
        *g
    }
}

extern "C" fn on_report(ud: *mut std::ffi::c_void, json: *const std::ffi::c_char) {
    let r = unsafe { &*(ud as *const Reports) };
    let text = unsafe { CStr::from_ptr(json) }
        .to_string_lossy()
        .into_owned();
    r.texts.lock().unwrap().push(text);
    r.cond.notify_all();
}

extern "C" fn on_free(ud: *mut std::ffi::c_void) {
    let r = unsafe { &*(ud as *const Reports) };
    *r.freed.lock().unwrap() += 1;
    r.cond.notify_all();
}

/// `bc_client_set_stats_cb`: reports every interval on a library thread, or through the
/// client's queue; removing the callback and freeing the client release the user data once.
#[test]
fn periodic_statistics_reach_a_callback_and_a_queue() {
    use brokerclient::ffi::queue::*;
    let addr = CString::new(broker_addr()).unwrap();
    let ud = |r: &Reports| r as *const Reports as *mut std::ffi::c_void;
    let (plain, queued) = (Reports::default(), Reports::default());
    let mut a = null_mut();
    assert_eq!(
        bc_client_new(addr.as_ptr(), null(), null(), &mut a, null_mut()),
        bc_status::BC_OK
    );
    let mut queue = null_mut();
    assert_eq!(bc_queue_new(&mut queue, null_mut()), bc_status::BC_OK);
    let mut b = null_mut();
    assert_eq!(
        bc_client_new(addr.as_ptr(), null(), queue, &mut b, null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(
        bc_client_set_stats_cb(a, 0, Some(on_report), null_mut(), None, null_mut()),
        bc_status::BC_ERR_INVALID_ARG,
        "interval 0"
    );
    assert_eq!(
        bc_client_set_stats_cb(
            a,
            50,
            Some(on_report),
            ud(&plain),
            Some(on_free),
            null_mut()
        ),
        bc_status::BC_OK
    );
    assert_eq!(
        bc_client_set_stats_cb(
            b,
            50,
            Some(on_report),
            ud(&queued),
            Some(on_free),
            null_mut()
        ),
        bc_status::BC_OK
    );
    assert_eq!(bc_client_connect(a, null_mut()), bc_status::BC_OK);
    assert!(
        plain.wait_for(2, null()),
        "no periodic reports on a library thread"
    );
    assert!(
        queued.texts.lock().unwrap().is_empty(),
        "a queue-mode client's reports run only inside bc_queue_dispatch"
    );
    assert!(
        queued.wait_for(2, queue),
        "no periodic reports through the queue"
    );
    for text in plain.texts.lock().unwrap().iter() {
        let v: Value = serde_json::from_str(text).unwrap();
        assert!(
            v["operations"].is_object() && v["window_ms"] == 60000,
            "{v}"
        );
    }
    let mut quick = null_mut();
    assert_eq!(
        bc_client_with_timeout(a, 1000, &mut quick, null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(
        bc_client_set_stats_cb(quick, 50, Some(on_report), null_mut(), None, null_mut()),
        bc_status::BC_ERR_INVALID_ARG,
        "a borrowed handle"
    );
    bc_client_free(quick);
    assert_eq!(
        bc_client_set_stats_cb(a, 0, None, null_mut(), None, null_mut()),
        bc_status::BC_OK
    );
    assert_eq!(plain.freed_when_settled(), 1);
    bc_client_free(b);
    bc_queue_free(queue);
    assert_eq!(queued.freed_when_settled(), 1);
    bc_client_free(a);
    assert_eq!(*plain.freed.lock().unwrap(), 1);
}
