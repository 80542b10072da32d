//! The Rust client crate `rocketmq-client-rust` 1.0 in `make bench`: one workload per
//! process, one JSON line in the common schema of bench/README.md (the same CLI, workloads and
//! JSON line as bench/peers/go-official).
//!
//!     rust-official <workload> <namesrv-addr> <mock|real> <messages> <run>
//!
//! workloads: sync1 sync16 oneway async1024 batch32 pull. Against the mock broker the name
//! server address is the mock itself (it answers route requests too). The topic is created by
//! the broker (autoCreateTopicEnable, as for go-official).
//!
//! The crate's 1.0 API: the application owns the runtime (`RuntimeOwner`), hands a
//! `ClientRuntime` to `DefaultMQProducer::builder`; sends take `&self`, so sync16 shares one
//! producer between 16 tokio tasks. `pull` uses the crate's classic `DefaultMQPullConsumer`
//! (deprecated in favour of the lite pull consumer, which has no pull-from-offset call).
#![allow(deprecated)] // DefaultMQPullConsumer: the crate's only pull-from-an-offset API

use std::process::exit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use rocketmq_client_rust::{
    ClientRuntime, ClientRuntimeConfig, DefaultMQProducer, DefaultMQPullConsumer,
};
use rocketmq_error::TRANSPORT_ADMISSION_QUEUE_SATURATED;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_observability::TelemetryRuntimeGuard;
use rocketmq_runtime::RuntimeOwner;
use tokio::sync::{Notify, Semaphore};

const TOPIC: &str = "BenchTopic";
const GROUP: &str = "bench_producer_rust_official";
const CONSUMER_GROUP: &str = "bench_consumer_rust_official";
const BODY: usize = 1024;
const TIMEOUT_MS: u64 = 10_000;

/// User + system CPU of the process in µs, and its peak RSS in KiB.
fn cpu_micros() -> (f64, i64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    (us(ru.ru_utime) + us(ru.ru_stime), ru.ru_maxrss)
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds")
}

fn die(what: &str, err: impl std::fmt::Display) -> ! {
    eprintln!("rust-official: {what}: {err}");
    exit(1)
}

fn record(h: &mut Histogram<u64>, since: Instant) {
    let _ = h.record((since.elapsed().as_nanos() as u64).max(1));
}

struct Bench {
    producer: DefaultMQProducer,
    payload: Bytes,
}

impl Bench {
    fn msg(&self) -> Message {
        Message::new_with_bytes(TOPIC, self.payload.clone())
    }

    fn batch(&self) -> Vec<Message> {
        (0..32).map(|_| self.msg()).collect()
    }

    /// One call of a closed-loop workload (sync1, sync16, oneway, batch32).
    async fn call(&self, workload: &str) {
        match workload {
            "sync1" | "sync16" => match self
                .producer
                .send_with_timeout(self.msg(), TIMEOUT_MS)
                .await
            {
                Ok(Some(_)) => {}
                Ok(None) => die("send", "no send result"),
                Err(e) => die("send", e),
            },
            "oneway" => {
                if let Err(e) = self.producer.send_oneway(self.msg()).await {
                    die("oneway", e)
                }
            }
            "batch32" => {
                if let Err(e) = self
                    .producer
                    .send_batch_with_timeout(self.batch(), TIMEOUT_MS)
                    .await
                {
                    die("batch", e)
                }
            }
            other => die("workload", format!("unknown {other:?}")),
        }
    }
}

/// Runs `calls` calls over `tasks` tokio tasks after `warm` calls on one, timing each call.
async fn measure(
    bench: Arc<Bench>,
    workload: &'static str,
    tasks: usize,
    warm: usize,
    calls: usize,
) -> (Histogram<u64>, Duration, f64) {
    for _ in 0..warm {
        bench.call(workload).await;
    }
    let (cpu0, _) = cpu_micros();
    let t0 = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for t in 0..tasks {
        let mine = calls / tasks + usize::from(t < calls % tasks);
        let bench = Arc::clone(&bench);
        handles.push(tokio::spawn(async move {
            let mut h = new_hist();
            for _ in 0..mine {
                let c0 = Instant::now();
                bench.call(workload).await;
                record(&mut h, c0);
            }
            h
        }));
    }
    let mut merged = new_hist();
    for handle in handles {
        let h = handle.await.unwrap_or_else(|e| die("task", e));
        merged.add(&h).expect("histogram merge");
    }
    let e = t0.elapsed();
    let (cpu1, _) = cpu_micros();
    (merged, e, cpu1 - cpu0)
}

/// Keeps `window` `send_with_callback_timeout` calls in flight until `total` sends succeeded.
/// The crate's connection writer queue holds 960 data frames (rocketmq-transport 1.0
/// `WriterQueueConfig`, not configurable from the client): when more sends are queued before
/// its writer task runs, the excess ones fail at once with `queue_saturated` (recovery hint:
/// back off). Such a send is parked: its slot comes back when a later send succeeds (one
/// parked slot per success, or all of them when nothing is in flight), then it is sent again:
/// the back-off an application would do, since re-sending at once only repeats the refusal.
/// The refusals go to stderr. Records the successful sends in `hist`; returns the refusals.
async fn async_run(
    bench: &Arc<Bench>,
    window: usize,
    total: usize,
    hist: &Arc<Mutex<Histogram<u64>>>,
) -> usize {
    struct Shared {
        slots: Semaphore,
        to_issue: AtomicUsize,
        in_flight: AtomicUsize,
        parked: AtomicUsize,
        done: AtomicUsize,
        rejected: AtomicUsize,
        wake: Notify,
    }
    let sh = Arc::new(Shared {
        slots: Semaphore::new(window),
        to_issue: AtomicUsize::new(total),
        in_flight: AtomicUsize::new(0),
        parked: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        rejected: AtomicUsize::new(0),
        wake: Notify::new(),
    });
    let take = |a: &AtomicUsize, most: usize| {
        a.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
            v.checked_sub(v.min(most))
        })
        .map_or(0, |v| v.min(most))
    };
    loop {
        sh.slots.acquire().await.expect("semaphore").forget();
        if take(&sh.to_issue, 1) == 0 {
            sh.slots.add_permits(1);
            if sh.done.load(Ordering::Acquire) == total {
                break;
            }
            sh.wake.notified().await; // a completion or a refusal
            continue;
        }
        sh.in_flight.fetch_add(1, Ordering::AcqRel);
        let c0 = Instant::now();
        let (sh2, hist2) = (Arc::clone(&sh), Arc::clone(hist));
        let sent = bench
            .producer
            .send_with_callback_timeout(
                bench.msg(),
                move |_result, err| {
                    let sh = &sh2;
                    match err {
                        None => {
                            record(&mut hist2.lock().unwrap(), c0);
                            sh.done.fetch_add(1, Ordering::AcqRel);
                            sh.in_flight.fetch_sub(1, Ordering::AcqRel);
                            sh.slots.add_permits(1 + take(&sh.parked, 1));
                        }
                        Some(e) if e.is(&TRANSPORT_ADMISSION_QUEUE_SATURATED) => {
                            sh.rejected.fetch_add(1, Ordering::AcqRel);
                            sh.to_issue.fetch_add(1, Ordering::AcqRel);
                            sh.parked.fetch_add(1, Ordering::AcqRel);
                            if sh.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
                                sh.slots.add_permits(take(&sh.parked, usize::MAX));
                            }
                        }
                        Some(e) => die("async send (callback)", e),
                    }
                    sh.wake.notify_one();
                },
                TIMEOUT_MS,
            )
            .await;
        if let Err(e) = sent {
            die("async send", e);
        }
    }
    sh.rejected.load(Ordering::Acquire)
}

async fn async_window(
    bench: Arc<Bench>,
    window: usize,
    warm: usize,
    n: usize,
) -> (Histogram<u64>, Duration, f64) {
    let warm_rejected = async_run(&bench, window, warm, &Arc::new(Mutex::new(new_hist()))).await;
    let hist = Arc::new(Mutex::new(new_hist()));
    let (cpu0, _) = cpu_micros();
    let t0 = Instant::now();
    let rejected = async_run(&bench, window, n, &hist).await;
    let e = t0.elapsed();
    let (cpu1, _) = cpu_micros();
    if warm_rejected + rejected > 0 {
        eprintln!(
            "rust-official: async1024: {rejected} sends (warm-up: {warm_rejected}) were refused with \
             queue_saturated and sent again"
        );
    }
    let h = hist.lock().unwrap().clone();
    (h, e, cpu1 - cpu0)
}

/// Fills queue 1 with batches, then pulls 32-message batches from its start, starting over at
/// the end, until n messages were decoded.
async fn pull(
    bench: Arc<Bench>,
    client_runtime: Arc<ClientRuntime>,
    ns: &str,
    warm: usize,
    n: usize,
) -> (Histogram<u64>, Duration, f64, usize, DefaultMQPullConsumer) {
    let consumer = DefaultMQPullConsumer::builder(client_runtime)
        .consumer_group(CONSUMER_GROUP)
        .name_server_addr(ns.to_string())
        .consumer_pull_timeout(Duration::from_millis(TIMEOUT_MS))
        .build()
        .unwrap_or_else(|e| die("pull consumer", e));
    consumer
        .start()
        .await
        .unwrap_or_else(|e| die("pull consumer start", e));
    // The topic exists once a batch was stored (autoCreateTopicEnable): fill first.
    let fill = n.min(8192);
    let mut stored = Vec::new();
    for _ in 0..fill.div_ceil(32) {
        // Batches go to the queue the producer picks; queue 1 gets its share of them.
        let r = bench
            .producer
            .send_batch_with_timeout(bench.batch(), TIMEOUT_MS)
            .await
            .unwrap_or_else(|e| die("fill", e));
        stored.push((r.message_queue, r.queue_offset));
    }
    let mqs = consumer
        .fetch_subscribe_message_queues(TOPIC)
        .await
        .unwrap_or_else(|e| die("route", e));
    let Some(mut mq) = mqs.first().cloned() else {
        die("route", "no queues")
    };
    for q in &mqs {
        if q.queue_id() == 1 {
            mq = q.clone();
        }
    }
    let start = stored
        .iter()
        .find(|(q, _)| q.as_ref() == Some(&mq))
        .map_or(0, |(_, offset)| *offset as i64);
    let mut offset = start;
    let mut pull_some = async |h: Option<&mut Histogram<u64>>| -> usize {
        let c0 = Instant::now();
        let r = consumer
            .pull(&mq, "*", offset, 32)
            .await
            .unwrap_or_else(|e| die("pull", e));
        if let Some(h) = h {
            record(h, c0);
        }
        let got = r.msg_found_list().map_or(0, <[_]>::len);
        offset = if got == 0 {
            start
        } else {
            r.next_begin_offset() as i64
        };
        got
    };
    let mut w = 0;
    while w < warm {
        w += pull_some(None).await.max(1);
    }
    let mut h = new_hist();
    let (cpu0, _) = cpu_micros();
    let t0 = Instant::now();
    let mut got = 0;
    while got < n {
        got += pull_some(Some(&mut h)).await;
    }
    let e = t0.elapsed();
    let (cpu1, _) = cpu_micros();
    (h, e, cpu1 - cpu0, got, consumer)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: rust-official <workload> <namesrv> <mock|real> <messages> <run>");
        exit(2);
    }
    let workload: &'static str = args[1].clone().leak();
    let (ns, broker) = (args[2].clone(), args[3].clone());
    let n: usize = args[4].parse().unwrap_or_else(|e| die("messages", e));
    let run: u64 = args[5].parse().unwrap_or_else(|e| die("run", e));
    let warm = (n / 10).max(200);

    let owner = RuntimeOwner::new().unwrap_or_else(|e| die("runtime", e));
    // No tracing subscriber is installed: the crate's log output is off, stdout carries only
    // the JSON line.
    let telemetry = TelemetryRuntimeGuard::noop();
    let client_runtime = ClientRuntime::try_new(
        owner.root_context().component("rust-official-bench"),
        ClientRuntimeConfig {
            shutdown_timeout: Duration::from_secs(5),
            ..Default::default()
        },
        telemetry.handle(),
    )
    .unwrap_or_else(|e| die("client runtime", e));

    owner.block_on(async move {
        let mut producer = DefaultMQProducer::builder(Arc::clone(&client_runtime))
            .producer_group(GROUP)
            .name_server_addr(ns.clone())
            .send_msg_timeout(TIMEOUT_MS as u32)
            .retry_times_when_send_failed(0)
            .retry_times_when_send_async_failed(0)
            .build();
        producer.start().await.unwrap_or_else(|e| die("start", e));
        let bench = Arc::new(Bench {
            producer: producer.clone(),
            payload: Bytes::from(vec![b'x'; BODY]),
        });
        let mut msgs = n;
        let mut consumer = None;
        let (h, e, cpu) = match workload {
            "sync1" | "oneway" => measure(Arc::clone(&bench), workload, 1, warm, n).await,
            "sync16" => measure(Arc::clone(&bench), workload, 16, warm, n).await,
            "batch32" => {
                msgs = n / 32 * 32;
                measure(Arc::clone(&bench), workload, 1, warm / 32 + 10, n / 32).await
            }
            "async1024" => async_window(Arc::clone(&bench), 1024, warm, n).await,
            "pull" => {
                let (h, e, cpu, got, c) = pull(
                    Arc::clone(&bench),
                    Arc::clone(&client_runtime),
                    &ns,
                    warm,
                    n,
                )
                .await;
                msgs = got;
                consumer = Some(c);
                (h, e, cpu)
            }
            other => die("workload", format!("unknown {other:?}")),
        };
        let (_, rss) = cpu_micros();
        let q = |v: f64| -> serde_json::Value {
            if h.is_empty() {
                serde_json::Value::Null
            } else {
                (h.value_at_quantile(v) as f64 / 1000.0).into()
            }
        };
        let secs = e.as_secs_f64();
        let line = serde_json::json!({
            "client": "rust-official", "lang": "rust", "workload": workload, "broker": broker,
            "run": run, "messages": msgs, "seconds": secs, "msgs_per_s": msgs as f64 / secs,
            "mb_per_s": (msgs * BODY) as f64 / secs / 1e6,
            "p50_us": q(0.50), "p99_us": q(0.99), "p999_us": q(0.999),
            "cpu_us_per_msg": cpu / msgs as f64, "peak_rss_kb": rss,
            "allocs_per_msg": serde_json::Value::Null,
        });
        println!("{line}");
        drop(bench);
        if let Some(c) = consumer {
            let _ = c.shutdown().await;
        }
        producer.shutdown().await;
        let _ = client_runtime.shutdown().await;
    });
    // The figures are out; the owner's runtime is not waited for.
    exit(0);
}
