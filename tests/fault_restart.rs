//! broker-a killed with SIGKILL and restarted on its store while 4 senders run: nothing the
//! client acknowledged is lost, sends during the outage fail with typed errors, the same client
//! objects send again soon after the broker is back, and the process stays idle meanwhile.
//!
//! Kills broker-a (`scripts/rocketmq.sh kill-broker a`, then `start-broker a`), so it runs
//! alone, after the other integration tests (`scripts/test.sh`), like tests/manager.rs.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brokerclient::client::{ClientConfig, PullRequest, PullStatus};
use brokerclient::protocol::message::Message;
use brokerclient::transport::TransportConfig;
use brokerclient::{BrokerClient, BrokerError};
use common::{broker_addr, unique_name};

const SENDERS: usize = 4;
/// After `start-broker a` reports the broker ready, every sender must have sent again within
/// this (the broker is registered with the name server by then; the client only has to notice).
const RECOVERY_BOUND: Duration = Duration::from_secs(10);
/// Process CPU while the broker is down, as a share of one core, with 4 senders retrying every
/// [`RETRY_PAUSE`]: a figure (10-30% seen, more on a busy machine), asserted only against a
/// bound that proves nothing spins. One thread retrying without a pause would use a whole core.
const OUTAGE_CPU_BOUND: f64 = 0.90;
/// How long a sender waits after a failed send before the next: the application's retry
/// pace, not synchronisation.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

fn rocketmq(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/rocketmq.sh");
    let status = Command::new(script)
        .args(args)
        .status()
        .expect("run rocketmq.sh");
    assert!(status.success(), "rocketmq.sh {args:?} failed");
}

/// CPU time (user + system) of this process so far.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

#[derive(Default)]
struct Log {
    acked: Vec<String>,
    errors: Vec<(Instant, BrokerError)>,
    /// Time of each successful send.
    ok_at: Vec<Instant>,
}

#[test]
fn broker_sigkill_and_restart_loses_no_acknowledged_send() {
    let topic = unique_name("bc_fault_kill");
    let config = ClientConfig {
        transport: TransportConfig {
            request_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(1),
            ..TransportConfig::default()
        },
        ..ClientConfig::default()
    };
    let client = BrokerClient::new(broker_addr(), config);
    client.create_topic(&topic, SENDERS as i32).expect("topic");

    let stop = Arc::new(AtomicBool::new(false));
    let logs: Vec<Arc<Mutex<Log>>> = (0..SENDERS).map(|_| Arc::default()).collect();
    let senders: Vec<_> = (0..SENDERS)
        .map(|n| {
            let (client, topic, stop, log) =
                (client.clone(), topic.clone(), stop.clone(), logs[n].clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let msg = Message::new(&topic, format!("sender {n} message {i}").into_bytes());
                    i += 1;
                    match client.send("bc_fault_kill_pg", n as i32, &msg) {
                        Ok(r) => {
                            let mut l = log.lock().unwrap();
                            l.acked.push(r.msg_id);
                            l.ok_at.push(Instant::now());
                        }
                        Err(e) => {
                            log.lock().unwrap().errors.push((Instant::now(), e));
                            std::thread::sleep(RETRY_PAUSE);
                        }
                    }
                }
            })
        })
        .collect();

    let acked_count = || {
        logs.iter()
            .map(|l| l.lock().unwrap().acked.len())
            .sum::<usize>()
    };
    let until = Instant::now() + Duration::from_secs(30);
    while acked_count() < 400 {
        assert!(Instant::now() < until, "senders do not get going");
        std::thread::yield_now();
    }

    rocketmq(&["kill-broker", "a"]);
    let down_at = Instant::now();
    let cpu_down = process_cpu();
    rocketmq(&["start-broker", "a"]);
    let up_at = Instant::now();
    let outage_cpu = (process_cpu() - cpu_down).as_secs_f64() / (up_at - down_at).as_secs_f64();

    // Every sender sends again on its own (same client object, no user action).
    let recovered_by = up_at + RECOVERY_BOUND;
    let mut recovery = Duration::ZERO;
    for log in &logs {
        let first_ok = loop {
            let seen = log
                .lock()
                .unwrap()
                .ok_at
                .iter()
                .copied()
                .find(|t| *t > up_at);
            if let Some(t) = seen {
                break t;
            }
            assert!(
                Instant::now() < recovered_by,
                "a sender did not send again within {RECOVERY_BOUND:?} of the broker's return"
            );
            std::thread::yield_now();
        };
        recovery = recovery.max(first_ok - up_at);
    }
    // Some more traffic after the restart, then stop.
    let after = acked_count() + 200;
    while acked_count() < after {
        assert!(Instant::now() < recovered_by + Duration::from_secs(30));
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.join().unwrap();
    }

    // Outage errors are typed and retriable (connection lost or refused, timeout, or a broker
    // still booting); nothing else.
    let mut outage_errors = 0;
    for log in &logs {
        for (at, e) in &log.lock().unwrap().errors {
            assert!(
                e.is_retriable(),
                "untyped or fatal error during the outage: {e:?}"
            );
            assert!(
                *at >= down_at - Duration::from_secs(5),
                "error before the kill: {e:?}"
            );
            outage_errors += 1;
        }
    }

    // Reconcile: pull every queue from 0 and find each acknowledged id.
    let acked: HashSet<String> = logs
        .iter()
        .flat_map(|l| l.lock().unwrap().acked.clone())
        .collect();
    let mut found = HashSet::new();
    for q in 0..SENDERS as i32 {
        let max = client.get_max_offset(&topic, q).expect("max offset");
        let mut offset = 0;
        while offset < max {
            let r = client
                .pull(&PullRequest::new("bc_fault_kill_cg", &topic, q, offset))
                .expect("pull");
            assert_eq!(
                r.status,
                PullStatus::Found,
                "queue {q} offset {offset}: {r:?}"
            );
            for m in &r.messages {
                found.insert(m.unique_key().expect("UNIQ_KEY").to_owned());
            }
            offset = r.next_begin_offset;
        }
    }
    let missing: Vec<_> = acked.difference(&found).collect();
    let found_acked = acked.len() - missing.len();
    println!(
        "fault figure: SIGKILL + restart with {SENDERS} senders: acknowledged {}, found {} \
         (stored {} in all, {} stored without an acknowledgement); {outage_errors} typed \
         errors during the outage; broker down {:?}; every sender sending again {recovery:?} \
         after the broker was back (bound {RECOVERY_BOUND:?}); process CPU while down {:.1}% \
         of one core (bound {:.0}%: not spinning)",
        acked.len(),
        found_acked,
        found.len(),
        found.len() - found_acked,
        up_at - down_at,
        outage_cpu * 100.0,
        OUTAGE_CPU_BOUND * 100.0,
    );
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    assert!(
        outage_errors > 0,
        "no send failed: was the broker really down?"
    );
    assert!(
        outage_cpu < OUTAGE_CPU_BOUND,
        "a thread spins while the broker is down: process CPU {:.1}% of one core",
        outage_cpu * 100.0
    );
}
