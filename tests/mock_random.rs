//! A mock broker answering with random frames (`Behavior::RandomFrames`) drives the client for
//! a bounded time (`BC_RANDOM_FRAMES_SECS`, default 5 s; the seed is printed and can be fixed
//! with `BC_RANDOM_FRAMES_SEED`): 4 threads of blocking calls of every kind and bursts of
//! async calls. Every call must return by its deadline with a value or a typed error, nothing
//! may panic, no in-flight entry may leak, and the client must work again once the mock
//! behaves.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brokerclient::client::{ClientConfig, PullRequest};
use brokerclient::mock::{Behavior, MockBroker};
use brokerclient::protocol::bodies::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData,
};
use brokerclient::protocol::message::Message;
use brokerclient::transport::runtime::runtime;
use brokerclient::transport::TransportConfig;
use brokerclient::BrokerClient;

const DEADLINE: Duration = Duration::from_millis(200);
/// How late past its deadline a call may return: scheduling on a busy 2-core machine (a
/// second broker JVM booting) can hold a thread for a while. A call the deadline did not end
/// would never return, so this still proves every call is bounded by its deadline.
const SLACK: Duration = Duration::from_secs(5);

fn kind(r: &brokerclient::Result<()>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => {
            let s = format!("{e:?}");
            s.split([' ', '(', '{']).next().unwrap_or("?").to_owned()
        }
    }
}

fn heartbeat() -> HeartbeatData {
    HeartbeatData {
        client_id: String::new(),
        producer_data_set: vec![ProducerData {
            group_name: "pg".into(),
        }],
        consumer_data_set: vec![ConsumerData {
            group_name: "cg".into(),
            consume_type: ConsumeType::ConsumeActively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            subscription_data_set: vec![],
            unit_mode: false,
        }],
        heartbeat_fingerprint: 0,
        without_sub: false,
    }
}

/// One call of kind `i % 10`.
fn call(c: &BrokerClient, i: usize) -> brokerclient::Result<()> {
    let q = (i % 4) as i32;
    match i % 10 {
        0 => c.send("pg", q, &Message::new("T", &b"x"[..])).map(drop),
        1 => c.pull(&PullRequest::new("cg", "T", q, 0)).map(drop),
        2 => c.get_max_offset("T", q).map(drop),
        3 => c.query_consumer_offset("cg", "T", q).map(drop),
        4 => c.heartbeat(&heartbeat()),
        5 => c.get_route_info("T").map(drop),
        6 => c.get_cluster_info().map(drop),
        7 => c.get_consumer_list("cg").map(drop),
        8 => c
            .send_batch(
                "pg",
                q,
                &[Message::new("T", &b"a"[..]), Message::new("T", &b"b"[..])],
            )
            .map(drop),
        _ => c.update_consumer_offset("cg", "T", q, 1),
    }
}

#[test]
fn random_frames_from_the_broker_give_typed_errors_by_the_deadline() {
    let secs: u64 = std::env::var("BC_RANDOM_FRAMES_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("BC_RANDOM_FRAMES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("random frames: seed {seed} (BC_RANDOM_FRAMES_SEED), {secs} s");
    let mock = MockBroker::start().expect("mock");
    mock.set_behavior(Behavior::RandomFrames(seed));
    let config = ClientConfig {
        transport: TransportConfig {
            request_timeout: DEADLINE,
            connect_timeout: DEADLINE,
            ..TransportConfig::default()
        },
        ..ClientConfig::default()
    };
    let client = BrokerClient::new(mock.addr(), config);
    let until = Instant::now() + Duration::from_secs(secs);
    let outcomes = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let worst = Arc::new(Mutex::new(Duration::ZERO));

    let record = {
        let (outcomes, worst) = (outcomes.clone(), worst.clone());
        move |r: &brokerclient::Result<()>, took: Duration| {
            *outcomes.lock().unwrap().entry(kind(r)).or_default() += 1;
            let mut w = worst.lock().unwrap();
            *w = (*w).max(took);
        }
    };
    let mut threads: Vec<_> = (0..4)
        .map(|n| {
            let (c, record) = (client.clone(), record.clone());
            std::thread::spawn(move || {
                let mut i = n;
                while Instant::now() < until {
                    let started = Instant::now();
                    let r = call(&c, i);
                    record(&r, started.elapsed());
                    i += 1;
                }
            })
        })
        .collect();
    // Bursts of 50 async calls, so a fault strikes with many requests in flight.
    threads.push({
        let (c, record) = (client.as_async().clone(), record.clone());
        std::thread::spawn(move || {
            while Instant::now() < until {
                let results = runtime().block_on(async {
                    let calls: Vec<_> = (0..50)
                        .map(|q| {
                            let c = c.clone();
                            tokio::spawn(async move {
                                let started = Instant::now();
                                let r = c.get_max_offset("T", q % 4).await.map(drop);
                                (r, started.elapsed())
                            })
                        })
                        .collect();
                    let mut out = Vec::new();
                    for h in calls {
                        out.push(h.await.expect("no panic in an async call"));
                    }
                    out
                });
                for (r, took) in &results {
                    record(r, *took);
                }
            }
        })
    });
    for t in threads {
        t.join().expect("no panic");
    }

    let outcomes = outcomes.lock().unwrap().clone();
    let total: usize = outcomes.values().sum();
    let worst = *worst.lock().unwrap();
    println!(
        "fault figure: random frames for {secs} s: {total} calls, {} connections, outcomes \
         {outcomes:?}, slowest call {worst:?} (deadline {DEADLINE:?})",
        mock.accepted_connections()
    );
    assert!(total > 100, "the client was barely driven: {total} calls");
    assert!(
        outcomes.len() > 2,
        "random frames gave too few kinds of outcome"
    );
    assert!(
        worst <= DEADLINE + SLACK,
        "a call overran its deadline: {worst:?}"
    );
    assert_eq!(client.as_async().in_flight(), 0, "leaked in-flight entries");

    for fatal in ["WouldDeadlock", "Shutdown", "Cancelled", "InvalidArgument"] {
        assert!(!outcomes.contains_key(fatal), "{fatal} from a broker fault");
    }

    // Once the broker behaves, the same client works without user action. The open connection
    // may still hold the start of a garbage frame, which the next answer completes into a
    // protocol error: that closes it, and the next call connects anew.
    mock.set_behavior(Behavior::Normal);
    let c = client.with_timeout(Duration::from_secs(10));
    let results: Vec<_> = (0..3).map(|_| c.get_max_offset("T", 0)).collect();
    assert!(results.iter().any(|r| r.is_ok()), "{results:?}");
    assert!(results.last().unwrap().is_ok(), "{results:?}");
}
