//! The manager against two real brokers (broker-a and broker-b in one cluster, started by
//! `BC_RMQ_BROKERS=2 scripts/rocketmq.sh start`). Some tests stop and restart broker-a or
//! broker-b, so this file runs on its own, after the other integration tests
//! (`scripts/test.sh`), with `--test-threads=1`.

mod common;

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use brokerclient::client::{ClientConfig, PullRequest, PullStatus};
use brokerclient::manager::BrokerState;
use brokerclient::protocol::message::Message;
use brokerclient::transport::TransportConfig;
use brokerclient::{BrokerClient, BrokerError, BrokerManager, ManagerConfig};
use common::{broker_addr, namesrv_addr, unique_name, wait_for};

fn broker_b_addr() -> String {
    std::env::var("BC_BROKER_B_ADDR").unwrap_or_else(|_| "127.0.0.1:10921".into())
}

fn config(pool: usize) -> ManagerConfig {
    ManagerConfig {
        client: ClientConfig {
            transport: TransportConfig {
                request_timeout: Duration::from_secs(3),
                connect_timeout: Duration::from_secs(1),
                ..TransportConfig::default()
            },
            ..ClientConfig::default()
        },
        connection_pool_size: pool,
        max_consecutive_failures: 3,
        probe_initial_backoff: Duration::from_millis(200),
        probe_max_backoff: Duration::from_secs(2),
        // Keep discovery from removing a stopped broker during a test: health is under test.
        route_refresh_interval: Duration::from_secs(600),
        ..ManagerConfig::default()
    }
}

/// Creates `topic` on both brokers and waits until the name server routes it to both.
fn topic_on_both_brokers(prefix: &str) -> String {
    let topic = unique_name(prefix);
    for addr in [broker_addr(), broker_b_addr()] {
        BrokerClient::new(addr, ClientConfig::default())
            .create_topic(&topic, 2)
            .expect("create topic");
    }
    let ns = BrokerClient::new(namesrv_addr(), ClientConfig::default());
    wait_for(
        "the topic routed on both brokers",
        Duration::from_secs(30),
        || {
            ns.get_route_info(&topic)
                .ok()
                .filter(|r| r.broker_datas.len() == 2 && r.queue_datas.len() == 2)
        },
    );
    topic
}

/// Runs `scripts/rocketmq.sh ARGS` (the same environment as the running brokers).
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
    // SAFETY: getrusage fills the zeroed struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Lets `d` pass with this thread parked: the measurement window for idle CPU.
fn wait_for_idle(d: Duration) -> Instant {
    let (lock, cond) = (std::sync::Mutex::new(()), std::sync::Condvar::new());
    let g = lock.lock().unwrap();
    let _ = cond.wait_timeout(g, d).unwrap();
    Instant::now()
}

/// Established TCP connections of this process to `addr`, read from /proc.
fn tcp_connections_to(addr: &str) -> usize {
    let port = addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let remote = format!("0100007F:{port:04X}");
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let inodes: HashSet<String> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // f[2] remote address, f[3] state (01 = ESTABLISHED), f[9] inode
            (f.len() > 9 && f[2] == remote && f[3] == "01").then(|| f[9].to_owned())
        })
        .collect();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|p| {
            let s = p.to_string_lossy().into_owned();
            s.strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(str::to_owned)
        })
        .filter(|inode| inodes.contains(inode))
        .count()
}

#[test]
fn discovery_pool_size_and_metrics() {
    let manager = BrokerManager::from_name_servers(&namesrv_addr(), config(3)).unwrap();
    manager.start().unwrap();
    let brokers = manager.brokers();
    assert!(brokers.contains(&broker_addr()), "{brokers:?}");
    assert!(brokers.contains(&broker_b_addr()), "{brokers:?}");
    assert_eq!(manager.broker_addr("broker-a"), Some(broker_addr()));

    let topic = topic_on_both_brokers("bc_mgr_pool");
    for i in 0..30 {
        let msg = Message::new(&topic, format!("m{i}").into_bytes());
        manager.send("bc_mgr_producer", &msg).unwrap();
    }
    // Round robin over 3 pooled connections per broker: exactly 3 TCP connections each.
    assert_eq!(tcp_connections_to(&broker_addr()), 3);
    assert_eq!(tcp_connections_to(&broker_b_addr()), 3);

    let snap = manager.snapshot();
    let total: u64 = snap.brokers.iter().map(|b| b.requests).sum();
    assert_eq!(total, 30);
    for b in &snap.brokers {
        assert_eq!(b.state, BrokerState::Healthy);
        assert_eq!(b.open_connections, 3);
        assert!(b.requests >= 10, "round robin spreads sends: {snap:?}");
        assert!(b.latency_p50_us > 0 && b.latency_p99_us >= b.latency_p50_us);
    }
    let json = manager.stats_json();
    assert!(json.contains("\"state\":\"healthy\""), "{json}");
    assert!(json.contains(&broker_b_addr()));
    manager.shutdown(Duration::from_secs(5)).unwrap();
    // The manager's connections are closed; a client dropped by an earlier test of this
    // process may still be closing its own (its connection task ends asynchronously).
    wait_for(
        "no connection to broker-a left",
        Duration::from_secs(10),
        || (tcp_connections_to(&broker_addr()) == 0).then_some(()),
    );
    assert!(matches!(
        manager.send("g", &Message::new(&topic, &b"x"[..])),
        Err(BrokerError::Shutdown)
    ));
}

#[test]
fn add_and_remove_a_broker_while_traffic_flows() {
    let topic = topic_on_both_brokers("bc_mgr_addrm");
    let manager = BrokerManager::from_name_servers(&namesrv_addr(), config(2)).unwrap();
    manager.start().unwrap();
    let sender = {
        let m = manager.clone();
        let topic = topic.clone();
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            for i in 0..200 {
                let msg = Message::new(&topic, format!("m{i}").into_bytes());
                match m.send("bc_mgr_producer", &msg) {
                    Ok(r) => acked.push(r.msg_id),
                    Err(e) => panic!("send {i} failed: {e}"),
                }
            }
            acked
        })
    };
    assert!(manager
        .remove_broker(&broker_b_addr(), Duration::from_secs(5))
        .unwrap());
    assert!(!manager.brokers().contains(&broker_b_addr()));
    assert_eq!(manager.add_broker("broker-b").unwrap(), broker_b_addr());
    let acked = sender.join().unwrap();
    assert_eq!(acked.len(), 200);

    // Every acknowledged message is stored: pull all four queues.
    let mut found = HashSet::new();
    for addr in [broker_addr(), broker_b_addr()] {
        let c = BrokerClient::new(addr, ClientConfig::default());
        for q in 0..2 {
            let mut offset = 0;
            loop {
                let r = c
                    .pull(&PullRequest::new("bc_mgr_check", &topic, q, offset))
                    .unwrap();
                if r.status != PullStatus::Found {
                    break;
                }
                offset = r.next_begin_offset;
                found.extend(
                    r.messages
                        .iter()
                        .filter_map(|m| m.unique_key().map(str::to_owned)),
                );
            }
        }
    }
    for id in &acked {
        assert!(found.contains(id), "acknowledged message {id} not stored");
    }
    manager.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn blackholed_name_server_fails_over_within_the_deadline() {
    let blackhole = TcpListener::bind("127.0.0.1:0").unwrap(); // accepts, never answers
    let addrs = format!("{};{}", blackhole.local_addr().unwrap(), namesrv_addr());
    let mut cfg = config(1);
    cfg.name_server_attempt_timeout = Duration::from_millis(500);
    let manager = BrokerManager::from_name_servers(&addrs, cfg).unwrap();
    let started = Instant::now();
    manager.start().unwrap();
    let took = started.elapsed();
    assert!(manager.brokers().contains(&broker_addr()));
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(
        took >= Duration::from_millis(450),
        "the blackhole was tried first: {took:?}"
    );
    manager.shutdown(Duration::from_secs(1)).unwrap();
}

/// broker-a stops while we send to a topic on both brokers: sends keep succeeding through
/// broker-b, broker-a is marked down, and after it restarts it is healthy again by itself.
#[test]
fn failover_mark_down_and_recovery() {
    let topic = topic_on_both_brokers("bc_mgr_failover");
    let manager = BrokerManager::from_name_servers(&namesrv_addr(), config(2)).unwrap();
    manager.start().unwrap();
    for i in 0..10 {
        manager
            .send(
                "bc_mgr_producer",
                &Message::new(&topic, format!("warm{i}").into_bytes()),
            )
            .unwrap();
    }

    // Ordered sends: a key whose queue is on broker-a and one whose queue is on broker-b.
    let key_on = |broker: &str| {
        (0..100)
            .map(|i| format!("key{i}"))
            .find(|k| {
                let r = manager
                    .send_ordered("bc_mgr_producer", &Message::new(&topic, b"o".to_vec()), k)
                    .unwrap();
                r.broker_name.as_deref() == Some(broker)
            })
            .expect("a key for each broker")
    };
    let (key_a, key_b) = (key_on("broker-a"), key_on("broker-b"));
    let queue_of = |key: &str| {
        manager
            .send_ordered("bc_mgr_producer", &Message::new(&topic, b"o".to_vec()), key)
            .map(|r| (r.broker_name.unwrap(), r.queue_id))
    };
    let queue_a = queue_of(&key_a).unwrap();

    rocketmq(&["stop-broker", "a"]);
    // With broker-a down but still in the cached route, the key of a broker-a queue fails
    // with a typed error and is not moved (order over availability). (Once the refreshed
    // route drops broker-a, its keys hash over the remaining queues: docs/fault-suite.md.)
    let err = queue_of(&key_a).expect_err("the ordered queue's broker is down");
    assert!(
        matches!(
            err,
            BrokerError::Connection { .. } | BrokerError::Timeout { .. }
        ),
        "{err:?}"
    );
    // The other key's queue is unaffected.
    assert_eq!(queue_of(&key_b).unwrap(), queue_of(&key_b).unwrap());
    let mut ok = 0;
    for i in 0..30 {
        let r = manager.send(
            "bc_mgr_producer",
            &Message::new(&topic, format!("m{i}").into_bytes()),
        );
        let r = r.unwrap_or_else(|e| panic!("send {i} during the outage failed: {e}"));
        assert_ne!(r.offset_msg_id, "", "stored");
        ok += 1;
    }
    assert_eq!(ok, 30);
    // The first failed send refreshed the route, which no longer lists the stopped broker-a,
    // so later sends did not even try it: it is suspect, not yet down. Reads of its queues
    // still go to it and fail with a connection error until it is marked down.
    assert_ne!(
        manager.broker_state(&broker_addr()),
        Some(BrokerState::Healthy)
    );
    for _ in 0..3 {
        if manager.broker_state(&broker_addr()) == Some(BrokerState::Down) {
            break;
        }
        let err = manager
            .get_max_offset("broker-a", &topic, 0)
            .expect_err("broker-a is stopped");
        assert!(matches!(err, BrokerError::Connection { .. }), "{err:?}");
    }
    assert_eq!(
        manager.broker_state(&broker_addr()),
        Some(BrokerState::Down)
    );
    let err = manager
        .get_max_offset("broker-a", &topic, 0)
        .expect_err("a down broker fails at once");
    assert!(matches!(err, BrokerError::Connection { .. }), "{err:?}");

    // While broker-a is down and nothing is sent, the manager only probes it now and then:
    // the process stays idle (no busy retry loop).
    let (cpu0, wall0) = (process_cpu(), Instant::now());
    let _ = wait_for_idle(Duration::from_secs(2));
    let cpu = process_cpu() - cpu0;
    let share = cpu.as_secs_f64() / wall0.elapsed().as_secs_f64();
    eprintln!(
        "CPU while broker-a is down: {cpu:?} over {:?} ({:.1}% of a core)",
        wall0.elapsed(),
        share * 100.0
    );
    assert!(
        share < 0.10,
        "the process is busy while a broker is down: {share:.3}"
    );

    let restart_issued = Instant::now();
    // Watch, while the restart runs, when broker-a's port answers and when the manager
    // (untouched by us) sees it healthy again.
    let (port_open, healthy) = std::thread::scope(|s| {
        let port = s.spawn(|| {
            let addr = broker_addr().parse().unwrap();
            wait_for("broker-a's port", Duration::from_secs(60), || {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100))
                    .ok()
                    .map(|_| Instant::now())
            })
        });
        let health = s.spawn(|| {
            wait_for("broker-a healthy again", Duration::from_secs(60), || {
                (manager.broker_state(&broker_addr()) == Some(BrokerState::Healthy))
                    .then(Instant::now)
            })
        });
        rocketmq(&["start-broker", "a"]);
        (port.join().unwrap(), health.join().unwrap())
    });
    let recovery = healthy.saturating_duration_since(port_open);
    eprintln!(
        "broker-a: port open {:?} after the restart began; manager healthy {recovery:?} later",
        port_open.duration_since(restart_issued)
    );
    // Bound: probe back-off capped at 2 s plus one probe of at most 1 s, plus the broker's
    // own start between opening its port and answering.
    assert!(
        recovery < Duration::from_secs(8),
        "recovery took {recovery:?}"
    );
    manager
        .get_max_offset("broker-a", &topic, 0)
        .expect("broker-a answers again");
    // Once broker-a is back (and registered again: its recovery refreshes the routes), the
    // key returns to its queue.
    wait_for(
        "key_a back on its broker-a queue",
        Duration::from_secs(60),
        || (queue_of(&key_a).ok()? == queue_a).then_some(()),
    );
    manager.shutdown(Duration::from_secs(5)).unwrap();
}

/// Whether the name server's cluster info lists `addr` as a master.
fn name_server_lists(ns: &BrokerClient, addr: &str) -> Option<bool> {
    let info = ns.get_cluster_info().ok()?;
    Some(
        info.broker_addr_table
            .values()
            .any(|b| b.master_addr() == Some(addr)),
    )
}

/// Restarts broker-b when dropped while it is stopped (a failed test leaves the brokers as
/// it found them). Never panics: it may run while a panic unwinds.
struct BrokerBRestart {
    stopped: bool,
}

impl Drop for BrokerBRestart {
    fn drop(&mut self) {
        if self.stopped {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/rocketmq.sh");
            match Command::new(script).args(["start-broker", "b"]).status() {
                Ok(s) if s.success() => {}
                other => eprintln!("could not restart broker-b: {other:?}"),
            }
        }
    }
}

/// The manager's periodic refresh (route_refresh_interval) follows the name server: broker-b
/// stopped (it unregisters) leaves the manager's brokers after a refresh, and comes back
/// after it restarts. Nothing here asks the manager to refresh: only its background loop does.
#[test]
fn periodic_refresh_drops_a_broker_that_left_the_route_and_adds_it_back() {
    let topic = topic_on_both_brokers("bc_mgr_refresh");
    let mut cfg = config(1);
    cfg.route_refresh_interval = Duration::from_secs(1);
    let manager = BrokerManager::from_name_servers(&namesrv_addr(), cfg).unwrap();
    manager.start().unwrap();
    let brokers = manager.brokers();
    assert!(brokers.contains(&broker_b_addr()), "{brokers:?}");
    assert_eq!(manager.broker_addr("broker-b"), Some(broker_b_addr()));
    // The route of the topic is cached, so the loop refreshes it too.
    manager.route(&topic).unwrap();
    let ns = BrokerClient::new(namesrv_addr(), ClientConfig::default());

    let mut restart = BrokerBRestart { stopped: true };
    rocketmq(&["stop-broker", "b"]);
    // A stopping broker unregisters; else the name server drops it 120 s after its last
    // registration.
    wait_for(
        "the name server to drop broker-b",
        Duration::from_secs(180),
        || (name_server_lists(&ns, &broker_b_addr()) == Some(false)).then_some(()),
    );
    wait_for(
        "the manager's refresh to drop broker-b",
        Duration::from_secs(60),
        || (!manager.brokers().contains(&broker_b_addr())).then_some(()),
    );
    assert_eq!(manager.broker_addr("broker-b"), None);
    // The cached route (route() answers from the cache) was refreshed too.
    wait_for(
        "the refreshed route without broker-b",
        Duration::from_secs(60),
        || {
            let r = manager.route(&topic).unwrap();
            (r.broker_datas.len() == 1 && r.master_addr("broker-b").is_none()).then_some(())
        },
    );
    assert!(
        manager.brokers().contains(&broker_addr()),
        "broker-a stays: {:?}",
        manager.brokers()
    );

    // start-broker returns once the name server lists broker-b again.
    rocketmq(&["start-broker", "b"]);
    restart.stopped = false;
    wait_for(
        "the manager's refresh to add broker-b back",
        Duration::from_secs(60),
        || manager.brokers().contains(&broker_b_addr()).then_some(()),
    );
    assert_eq!(manager.broker_addr("broker-b"), Some(broker_b_addr()));
    wait_for(
        "the refreshed route with broker-b",
        Duration::from_secs(60),
        || {
            let r = manager.route(&topic).unwrap();
            (r.master_addr("broker-b") == Some(broker_b_addr().as_str())).then_some(())
        },
    );
    // Reachable through the manager again, by name (its store kept the topic).
    let max = wait_for("broker-b to answer", Duration::from_secs(60), || {
        manager.get_max_offset("broker-b", &topic, 0).ok()
    });
    assert_eq!(max, 0);
    manager.shutdown(Duration::from_secs(5)).unwrap();
}
