//! The client against the real broker through the fault proxy (`--features fault-proxy`):
//! latency, bandwidth, SYSTEM_BUSY, a blackholed broker, and frames damaged in every way the
//! proxy can (reset mid-frame, corrupt, oversize, wrong opaque). Each test prints its figures
//! ("fault figure: ..."); the bounds asserted are correctness bounds (far below the request
//! timeout), never speed targets.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use brokerclient::client::{ClientConfig, SendCompression};
use brokerclient::faultproxy::{FaultMode, FaultProxy};
use brokerclient::protocol::message::Message;
use brokerclient::transport::runtime::runtime;
use brokerclient::transport::TransportConfig;
use brokerclient::{AsyncBrokerClient, BrokerClient, BrokerError};
use common::{broker_addr, unique_name};

/// Requests that must not time out in a test: any failure comes from the fault, not this.
const LONG: Duration = Duration::from_secs(60);
/// "Promptly": well below [`LONG`], so a request the fault did not fail (it would end at its
/// deadline) is told apart, with seconds of slack for a busy 2-core machine.
const PROMPT: Duration = Duration::from_secs(10);
/// How late past its deadline a call may return (scheduling on a busy machine); a call its
/// deadline did not end would never return against a blackhole.
const OVERSHOOT: Duration = Duration::from_secs(5);

fn client_via(proxy: &FaultProxy, timeout: Duration) -> BrokerClient {
    let config = ClientConfig {
        transport: TransportConfig {
            request_timeout: timeout,
            connect_timeout: Duration::from_secs(2),
            ..TransportConfig::default()
        },
        // Bodies go through the proxy as they are (the bandwidth cap is measured in them).
        compression: SendCompression::OFF,
        ..ClientConfig::default()
    };
    BrokerClient::new(proxy.addr().to_string(), config)
}

fn proxy() -> FaultProxy {
    FaultProxy::start("127.0.0.1:0", &broker_addr()).expect("start the fault proxy")
}

/// A topic with 4 queues on the broker (created directly, not through the proxy).
fn topic(prefix: &str) -> String {
    let t = unique_name(prefix);
    BrokerClient::new(broker_addr(), ClientConfig::default())
        .create_topic(&t, 4)
        .expect("create topic");
    t
}

#[test]
fn latency_bandwidth_and_system_busy_are_applied_and_switched_at_run_time() {
    let proxy = proxy();
    let topic = topic("bc_fault_modes");
    let client = client_via(&proxy, LONG);
    assert_eq!(client.get_max_offset(&topic, 0), Ok(0), "pass mode");

    // Latency applies to both directions of the open connection.
    proxy.set_mode(FaultMode::Latency(Duration::from_millis(100)));
    let t = Instant::now();
    assert_eq!(client.get_max_offset(&topic, 0), Ok(0));
    let rtt = t.elapsed();
    println!("fault figure: round trip with 100 ms latency each way: {rtt:?}");
    assert!(rtt >= Duration::from_millis(200), "{rtt:?}");

    // 200 KB through a 400 KB/s cap: at least half a second (request direction).
    proxy.set_mode(FaultMode::Bandwidth(400_000));
    let body = vec![b'x'; 200_000];
    let t = Instant::now();
    client
        .send("bc_fault_pg", 0, &Message::new(&topic, body))
        .expect("send under a bandwidth cap");
    let took = t.elapsed();
    println!("fault figure: 200 KB send at 400 KB/s took {took:?}");
    assert!(took >= Duration::from_millis(450), "{took:?}");

    // SYSTEM_BUSY comes back as a typed, retriable error; the connection stays usable.
    proxy.set_mode(FaultMode::SystemBusy);
    match client.send("bc_fault_pg", 0, &Message::new(&topic, &b"busy"[..])) {
        Err(e @ BrokerError::BrokerBusy { code: 2, .. }) => assert!(e.is_retriable()),
        other => panic!("expected SYSTEM_BUSY, got {other:?}"),
    }
    proxy.set_mode(FaultMode::Pass);
    assert_eq!(
        client.get_max_offset(&topic, 0),
        Ok(1),
        "the busy send was not stored"
    );
    assert!(proxy.stats().faults >= 1);
    assert_eq!(
        proxy.stats().connections,
        1,
        "the busy answer kept the connection"
    );
}

#[test]
fn blackholed_broker_every_call_sync_and_async_returns_by_its_deadline() {
    let proxy = proxy();
    let topic = topic("bc_fault_blackhole");
    let timeout = Duration::from_millis(800);
    let client = client_via(&proxy, timeout);
    assert_eq!(client.get_max_offset(&topic, 0), Ok(0));
    proxy.set_mode(FaultMode::Blackhole);

    // Async: 200 calls at once on the open connection.
    let async_client: AsyncBrokerClient = client.as_async().clone();
    let t = topic.clone();
    let mut overshoots: Vec<Duration> = runtime().block_on(async move {
        let calls = (0..200).map(|i| {
            let (c, t) = (async_client.clone(), t.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let r = c.get_max_offset(&t, i % 4).await;
                (r, started.elapsed())
            })
        });
        let mut out = Vec::new();
        for call in calls.collect::<Vec<_>>() {
            let (r, took) = call.await.unwrap();
            assert!(matches!(r, Err(BrokerError::Timeout { .. })), "{r:?}");
            out.push(took.saturating_sub(timeout));
        }
        out
    });

    // Sync: 4 threads, 5 calls each, sends and reads.
    let client = Arc::new(client);
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let (c, t) = (client.clone(), topic.clone());
            std::thread::spawn(move || {
                (0..5)
                    .map(|i| {
                        let started = Instant::now();
                        let r = if i % 2 == 0 {
                            c.send("bc_fault_pg", n, &Message::new(&t, &b"x"[..]))
                                .map(|_| ())
                        } else {
                            c.get_max_offset(&t, n).map(|_| ())
                        };
                        assert!(matches!(r, Err(BrokerError::Timeout { .. })), "{r:?}");
                        started.elapsed().saturating_sub(timeout)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        overshoots.extend(t.join().unwrap());
    }
    // A new connection: the proxy accepts it and blackholes it too.
    client.disconnect();
    let started = Instant::now();
    let r = client.get_max_offset(&topic, 0);
    assert!(matches!(r, Err(BrokerError::Timeout { .. })), "{r:?}");
    overshoots.push(started.elapsed().saturating_sub(timeout));
    let worst = overshoots.iter().max().copied().unwrap_or_default();
    println!(
        "fault figure: blackholed broker, {} calls (200 async, 21 sync) with an {timeout:?} \
         deadline: worst overshoot {worst:?}",
        overshoots.len()
    );
    assert!(worst < OVERSHOOT, "worst overshoot {worst:?}");
    assert_eq!(
        client.as_async().in_flight(),
        0,
        "timed-out requests left in flight"
    );
    proxy.set_mode(FaultMode::Pass);
    client.disconnect();
    assert_eq!(
        client.get_max_offset(&topic, 0),
        Ok(0),
        "usable once the path is back"
    );
}

/// Holds `n` requests in flight (the proxy blackholes them), switches to `fault`, sends one
/// more request whose answer meets the fault, and returns every result with the time from the
/// proxy's bad byte (or reset) to the last failure.
fn fail_in_flight(
    proxy: &FaultProxy,
    client: &BrokerClient,
    topic: &str,
    n: usize,
    fault: FaultMode,
) -> (Vec<brokerclient::Result<i64>>, Duration) {
    proxy.set_mode(FaultMode::Blackhole);
    let c = client.as_async().clone();
    let t = topic.to_owned();
    let held: Vec<_> = (0..n)
        .map(|i| {
            let (c, t) = (c.clone(), t.clone());
            runtime().spawn(async move {
                let r = c.get_max_offset(&t, (i % 4) as i32).await;
                (r, Instant::now())
            })
        })
        .collect();
    let until = Instant::now() + LONG;
    while client.as_async().in_flight() < n {
        assert!(Instant::now() < until, "requests never got in flight");
        std::thread::yield_now();
    }
    proxy.set_mode(fault);
    let trigger = {
        let (c, t) = (c.clone(), t.clone());
        runtime().spawn(async move {
            let r = c.get_max_offset(&t, 0).await;
            (r, Instant::now())
        })
    };
    let results: Vec<_> = runtime().block_on(async move {
        let mut out = Vec::new();
        for h in held.into_iter().chain([trigger]) {
            out.push(h.await.unwrap());
        }
        out
    });
    let last = results.iter().map(|(_, at)| *at).max().unwrap();
    let bad_byte = proxy.last_fault_at().expect("the proxy injected the fault");
    let took = last.saturating_duration_since(bad_byte);
    (results.into_iter().map(|(r, _)| r).collect(), took)
}

fn assert_all_fail_promptly(
    fault: FaultMode,
    expect: fn(&BrokerError) -> bool,
    label: &str,
) -> Duration {
    let proxy = proxy();
    let topic = topic("bc_fault_frames");
    let client = client_via(&proxy, LONG);
    assert_eq!(client.get_max_offset(&topic, 0), Ok(0));
    let n = 500;
    let (results, took) = fail_in_flight(&proxy, &client, &topic, n, fault);
    assert_eq!(results.len(), n + 1);
    for r in &results {
        match r {
            Err(e) if expect(e) => {}
            other => panic!("{label}: expected a typed error, got {other:?}"),
        }
    }
    println!(
        "fault figure: {label}: {} requests in flight failed, last {took:?} after the bad byte \
         ({})",
        n + 1,
        results[0].as_ref().unwrap_err()
    );
    assert!(
        took < PROMPT,
        "{label}: {took:?} (requests time out at {LONG:?})"
    );
    assert_eq!(
        client.as_async().in_flight(),
        0,
        "{label}: leaked in-flight entries"
    );
    proxy.set_mode(FaultMode::Pass);
    assert_eq!(
        client.get_max_offset(&topic, 0),
        Ok(0),
        "{label}: the next call uses a new connection"
    );
    assert!(
        proxy.stats().connections >= 2,
        "{label}: connection replaced"
    );
    took
}

#[test]
fn reset_mid_frame_fails_every_request_in_flight_promptly_and_reconnects() {
    assert_all_fail_promptly(
        FaultMode::ResetMidFrame,
        |e| matches!(e, BrokerError::Connection { .. }),
        "reset mid-frame",
    );
}

#[test]
fn corrupt_frame_fails_every_request_in_flight_promptly_and_reconnects() {
    assert_all_fail_promptly(
        FaultMode::CorruptFrames,
        |e| matches!(e, BrokerError::Protocol { .. }),
        "corrupt frame",
    );
}

#[test]
fn oversize_frame_fails_every_request_in_flight_promptly_and_reconnects() {
    assert_all_fail_promptly(
        FaultMode::OversizeFrame,
        |e| matches!(e, BrokerError::Protocol { .. }),
        "oversize frame",
    );
}

#[test]
fn dropped_connections_fail_every_request_in_flight_promptly_and_reconnect() {
    assert_all_fail_promptly(
        FaultMode::DropConnections,
        |e| matches!(e, BrokerError::Connection { .. }),
        "connection reset (drop)",
    );
}

/// A response with an opaque no request has is indistinguishable from a late answer to a
/// request that already timed out, so the client drops it and keeps the connection (as the
/// Java client does): the request it should have answered fails with a typed Timeout at its
/// deadline, and its in-flight entry is gone.
#[test]
fn wrong_opaque_answer_is_dropped_and_its_request_times_out_cleanly() {
    let proxy = proxy();
    let topic = topic("bc_fault_opaque");
    let timeout = Duration::from_millis(500);
    let client = client_via(&proxy, timeout);
    assert_eq!(client.get_max_offset(&topic, 0), Ok(0));
    proxy.set_mode(FaultMode::WrongOpaque);
    let t = Instant::now();
    let r = client.get_max_offset(&topic, 0);
    let took = t.elapsed();
    assert!(matches!(r, Err(BrokerError::Timeout { .. })), "{r:?}");
    println!("fault figure: wrong opaque: typed timeout after {took:?} (deadline {timeout:?})");
    assert!(took >= timeout, "before its deadline: {took:?}");
    assert!(took < timeout + OVERSHOOT, "{took:?}");
    assert_eq!(client.as_async().in_flight(), 0, "leaked in-flight entry");
    assert!(proxy.stats().faults >= 1);
    proxy.set_mode(FaultMode::Pass);
    assert_eq!(client.get_max_offset(&topic, 0), Ok(0));
    assert_eq!(proxy.stats().connections, 1, "the connection was kept");
}

/// The C API of the proxy, called from Rust as C would call it.
#[test]
fn c_api_starts_switches_and_frees_the_proxy() {
    use brokerclient::ffi::error::bc_error_free;
    use brokerclient::ffi::faultproxy::*;
    use brokerclient::ffi::status::bc_status;
    use std::ffi::{CStr, CString};

    let listen = CString::new("127.0.0.1:0").unwrap();
    let upstream = CString::new(broker_addr()).unwrap();
    let mut p = std::ptr::null_mut();
    let mut err = std::ptr::null_mut();
    let st = bc_fault_proxy_new(listen.as_ptr(), upstream.as_ptr(), &mut p, &mut err);
    assert_eq!(st, bc_status::BC_OK);
    // SAFETY: the address string lives as long as the proxy.
    let addr = unsafe { CStr::from_ptr(bc_fault_proxy_addr(p)) }
        .to_str()
        .unwrap()
        .to_owned();
    let topic = topic("bc_fault_capi");
    let client = BrokerClient::new(addr, ClientConfig::default()).with_timeout(LONG);
    assert_eq!(client.get_max_offset(&topic, 0), Ok(0));
    let busy = bc_fault_mode::BC_FAULT_SYSTEM_BUSY as i32;
    assert_eq!(
        bc_fault_proxy_set_mode(p, busy, 0, std::ptr::null_mut()),
        bc_status::BC_OK
    );
    assert!(matches!(
        client.send("bc_fault_pg", 0, &Message::new(&topic, &b"x"[..])),
        Err(BrokerError::BrokerBusy { code: 2, .. })
    ));
    for (mode, param) in [
        (99, 0),
        (-1, 0),
        (bc_fault_mode::BC_FAULT_BANDWIDTH as i32, 0),
    ] {
        let mut err = std::ptr::null_mut();
        let st = bc_fault_proxy_set_mode(p, mode, param, &mut err);
        assert_eq!(st, bc_status::BC_ERR_INVALID_ARG, "mode {mode}");
        assert!(!err.is_null());
        bc_error_free(err);
    }
    let mut err = std::ptr::null_mut();
    assert_eq!(
        bc_fault_proxy_set_mode(std::ptr::null(), 0, 0, &mut err),
        bc_status::BC_ERR_INVALID_ARG
    );
    bc_error_free(err);
    assert!(bc_fault_proxy_addr(std::ptr::null()).is_null());
    let mut err = std::ptr::null_mut();
    assert_eq!(
        bc_fault_proxy_new(std::ptr::null(), upstream.as_ptr(), &mut p, &mut err),
        bc_status::BC_ERR_INVALID_ARG
    );
    bc_error_free(err);
    let taken = CString::new(client.addr()).unwrap();
    let mut other = std::ptr::null_mut();
    let mut err = std::ptr::null_mut();
    assert_eq!(
        bc_fault_proxy_new(taken.as_ptr(), upstream.as_ptr(), &mut other, &mut err),
        bc_status::BC_ERR_CONNECTION,
        "the port is taken"
    );
    bc_error_free(err);
    assert!(other.is_null());
    bc_fault_proxy_free(p);
    bc_fault_proxy_free(std::ptr::null_mut());
    assert!(
        client.get_max_offset(&topic, 0).is_err(),
        "the proxy is gone"
    );
}
