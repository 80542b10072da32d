//! The Rust side of `make bench` (issue 8): one workload of libbrokerclient, or the loopback
//! ping-pong floor, or a no-op call, measured in this process and printed as one JSON line in
//! the common schema of `bench/README.md`.
//!
//! `cargo run --release --example bench -- <workload> <broker-addr> <mock|real> <messages> <run>`
//! workloads: sync1 sync16 oneway async1024 batch32 pull noop pingpong (pingpong ignores the
//! address: it runs its own echo thread).
//!
//! It is an example of the library crate (not a crate of its own) so it shares the build and
//! adds nothing to the library's dependency graph.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brokerclient::client::PullRequest;
use brokerclient::protocol::message::Message;
use brokerclient::{BrokerClient, ClientConfig};
use bytes::Bytes;
use hdrhistogram::Histogram;

/// Counts every allocation (and reallocation) of the process: allocations per message are
/// the delta over the measured phase divided by the messages.
struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

const BODY: usize = 1024;
const GROUP: &str = "bench_producer";
const TOPIC: &str = "BenchTopic";
/// Request and response frame sizes of a 1 KiB sync send as measured on the wire against the
/// mock broker (length prefix included); the ping-pong echoes frames of these sizes.
const PING_REQ: usize = 1024 + 420;
const PING_RESP: usize = 260;

fn cpu_micros(who: i32) -> (f64, i64) {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    (us(ru.ru_utime) + us(ru.ru_stime), ru.ru_maxrss)
}

struct Cell {
    client: &'static str,
    workload: String,
    broker: String,
    run: u32,
    messages: u64,
    bytes: u64,
    elapsed: Duration,
    cpu_us: f64,
    allocs: u64,
    hist: Histogram<u64>,
}

impl Cell {
    fn print(&self) {
        let secs = self.elapsed.as_secs_f64();
        let q = |p: f64| {
            if self.hist.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::json!(self.hist.value_at_quantile(p) as f64 / 1000.0)
            }
        };
        let rss_kb = cpu_micros(libc::RUSAGE_SELF).1;
        let line = serde_json::json!({
            "client": self.client,
            "lang": "rust",
            "workload": self.workload,
            "broker": self.broker,
            "run": self.run,
            "messages": self.messages,
            "seconds": secs,
            "msgs_per_s": self.messages as f64 / secs,
            "mb_per_s": self.bytes as f64 / secs / 1e6,
            "p50_us": q(0.5),
            "p99_us": q(0.99),
            "p999_us": q(0.999),
            "cpu_us_per_msg": self.cpu_us / self.messages as f64,
            "peak_rss_kb": rss_kb,
            "allocs_per_msg": self.allocs as f64 / self.messages as f64,
        });
        println!("{line}");
    }
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds")
}

fn message() -> Message {
    Message::new(TOPIC, Bytes::from(vec![b'x'; BODY]))
}

/// Runs `f(i)` for `n` messages on `threads` threads after a warm-up of `warm` calls, timing
/// each call; returns the merged histogram, elapsed time, CPU and allocation deltas.
fn measure<F>(
    threads: usize,
    warm: u64,
    n: u64,
    per_call: u64,
    f: F,
) -> (Histogram<u64>, Duration, f64, u64)
where
    F: Fn() + Sync,
{
    for _ in 0..warm {
        f();
    }
    let merged = Mutex::new(hist());
    let (cpu0, _) = cpu_micros(libc::RUSAGE_SELF);
    let a0 = ALLOCS.load(Relaxed);
    let t0 = Instant::now();
    let calls = n / per_call;
    std::thread::scope(|s| {
        for t in 0..threads as u64 {
            let (f, merged) = (&f, &merged);
            let mine = calls / threads as u64 + u64::from(t < calls % threads as u64);
            s.spawn(move || {
                let mut h = hist();
                for _ in 0..mine {
                    let c0 = Instant::now();
                    f();
                    h.record(c0.elapsed().as_nanos() as u64).ok();
                }
                merged.lock().unwrap().add(&h).ok();
            });
        }
    });
    let elapsed = t0.elapsed();
    let cpu = cpu_micros(libc::RUSAGE_SELF).0 - cpu0;
    let allocs = ALLOCS.load(Relaxed) - a0;
    (merged.into_inner().unwrap(), elapsed, cpu, allocs)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: bench <workload> <addr> <mock|real> <messages> <run>");
        std::process::exit(2);
    }
    let (workload, addr, broker) = (args[1].as_str(), args[2].as_str(), args[3].clone());
    let n: u64 = args[4].parse().expect("messages");
    let run: u32 = args[5].parse().expect("run");
    let warm = (n / 10).max(200);
    let cell = |client, hist, elapsed, cpu_us, allocs, messages: u64, bytes| Cell {
        client,
        workload: workload.to_string(),
        broker: broker.clone(),
        run,
        messages,
        bytes,
        elapsed,
        cpu_us,
        allocs,
        hist,
    };
    if workload == "pingpong" {
        let (h, e, cpu, a) = pingpong(warm, n);
        cell("pingpong-floor", h, e, cpu, a, n, n * BODY as u64).print();
        return;
    }
    let client = BrokerClient::new(addr, ClientConfig::default());
    client
        .create_topic(TOPIC, 4)
        .expect("create the bench topic");
    let msg = message();
    let send = || {
        client.send(GROUP, 0, &msg).expect("send");
    };
    let (h, e, cpu, a, msgs) = match workload {
        "sync1" | "sync16" => {
            let threads = if workload == "sync1" { 1 } else { 16 };
            let (h, e, c, a) = measure(threads, warm, n, 1, send);
            (h, e, c, a, n)
        }
        "oneway" => {
            // A full local window (BrokerBusy) is the library's back-pressure when the caller
            // outruns the socket: wait for room and send again, as an application would.
            let (h, e, c, a) = measure(1, warm, n, 1, || loop {
                match client.send_oneway(GROUP, 0, &msg) {
                    Ok(()) => break,
                    Err(brokerclient::BrokerError::BrokerBusy { .. }) => std::thread::yield_now(),
                    Err(e) => panic!("oneway: {e:?}"),
                }
            });
            // Oneway returns once queued: a final sync send waits until the socket drained
            // everything before it, so the elapsed time covers the whole transfer.
            send();
            (h, e, c, a, n)
        }
        "batch32" => {
            let batch: Vec<Message> = (0..32).map(|_| message()).collect();
            let (h, e, c, a) = measure(1, warm / 32 + 10, n, 32, || {
                client.send_batch(GROUP, 0, &batch).expect("batch");
            });
            (h, e, c, a, n / 32 * 32)
        }
        "noop" => {
            // Untimed per call (the clock would cost more than the call); the same call the
            // C bench makes through bc_client_is_connected.
            let (cpu0, _) = cpu_micros(libc::RUSAGE_SELF);
            let a0 = ALLOCS.load(Relaxed);
            let t0 = Instant::now();
            for _ in 0..n {
                std::hint::black_box(std::hint::black_box(&client).is_connected());
            }
            let e = t0.elapsed();
            let c = cpu_micros(libc::RUSAGE_SELF).0 - cpu0;
            (hist(), e, c, ALLOCS.load(Relaxed) - a0, n)
        }
        "async1024" => {
            let (h, e, c, a) = async_window(&client, &msg, 1024, warm, n);
            (h, e, c, a, n)
        }
        "pull" => pull(&client, warm, n),
        other => panic!("unknown workload {other}"),
    };
    cell("brokerclient-rust", h, e, cpu, a, msgs, msgs * BODY as u64).print();
}

/// `window` sends in flight on the client's one connection: `window` tasks on a
/// current-thread runtime of the bench, each sending its share back to back.
fn async_window(
    client: &BrokerClient,
    msg: &Message,
    window: u64,
    warm: u64,
    n: u64,
) -> (Histogram<u64>, Duration, f64, u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("bench runtime");
    let go = |total: u64| {
        let hist = Arc::new(Mutex::new(hist()));
        rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for t in 0..window {
                let (c, m, hist) = (client.as_async().clone(), msg.clone(), hist.clone());
                let mine = total / window + u64::from(t < total % window);
                // One shared histogram: a histogram per task would cost ~180 KB each and
                // make the peak RSS the bench's, not the client's.
                set.spawn(async move {
                    for _ in 0..mine {
                        let c0 = Instant::now();
                        c.send(GROUP, 0, &m).await.expect("async send");
                        let ns = c0.elapsed().as_nanos() as u64;
                        hist.lock().unwrap().record(ns).ok();
                    }
                });
            }
            while set.join_next().await.is_some() {}
        });
        Arc::try_unwrap(hist).ok().unwrap().into_inner().unwrap()
    };
    go(warm.max(window * 2));
    let (cpu0, _) = cpu_micros(libc::RUSAGE_SELF);
    let a0 = ALLOCS.load(Relaxed);
    let t0 = Instant::now();
    let h = go(n);
    let e = t0.elapsed();
    let cpu = cpu_micros(libc::RUSAGE_SELF).0 - cpu0;
    (h, e, cpu, ALLOCS.load(Relaxed) - a0)
}

/// Pull throughput: fills queue 1 with up to `n` messages (batches of 32), then pulls
/// 32-message batches from the oldest offset on, starting over at the end, until `n`
/// messages were decoded. Latency is per pull request.
fn pull(client: &BrokerClient, warm: u64, n: u64) -> (Histogram<u64>, Duration, f64, u64, u64) {
    const Q: i32 = 1;
    let batch: Vec<Message> = (0..32).map(|_| message()).collect();
    let fill = n.min(8192);
    for _ in 0..fill.div_ceil(32) {
        client
            .send_batch(GROUP, Q, &batch)
            .expect("fill the pull queue");
    }
    let max = client.get_max_offset(TOPIC, Q).expect("max offset");
    let start = (max - fill as i64).max(client.get_min_offset(TOPIC, Q).expect("min offset"));
    let mut offset = start;
    let mut pull_some = |h: Option<&mut Histogram<u64>>| -> u64 {
        let c0 = Instant::now();
        let r = client
            .pull(&PullRequest::new("bench_consumer", TOPIC, Q, offset))
            .expect("pull");
        if let Some(h) = h {
            h.record(c0.elapsed().as_nanos() as u64).ok();
        }
        let got = r.messages.len() as u64;
        let bytes: usize = r.messages.iter().map(|m| m.body.len()).sum();
        std::hint::black_box(bytes);
        offset = if got == 0 || r.next_begin_offset >= max {
            start
        } else {
            r.next_begin_offset
        };
        got
    };
    let mut w = 0;
    while w < warm {
        w += pull_some(None).max(1);
    }
    let mut h = hist();
    let (cpu0, _) = cpu_micros(libc::RUSAGE_SELF);
    let a0 = ALLOCS.load(Relaxed);
    let t0 = Instant::now();
    let mut got = 0;
    while got < n {
        got += pull_some(Some(&mut h));
    }
    let e = t0.elapsed();
    let cpu = cpu_micros(libc::RUSAGE_SELF).0 - cpu0;
    (h, e, cpu, ALLOCS.load(Relaxed) - a0, got)
}

/// The physical floor: a blocking client writes a request-sized frame and reads a
/// response-sized one from an echo thread over loopback, no RocketMQ logic. CPU is the
/// client thread's only (RUSAGE_THREAD), as the server stands in for the broker.
fn pingpong(warm: u64, n: u64) -> (Histogram<u64>, Duration, f64, u64) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_nodelay(true).ok();
        let mut req = vec![0u8; PING_REQ];
        let resp = vec![7u8; PING_RESP];
        while s.read_exact(&mut req).is_ok() {
            if s.write_all(&resp).is_err() {
                break;
            }
        }
    });
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).ok();
    let req = vec![1u8; PING_REQ];
    let mut resp = vec![0u8; PING_RESP];
    let mut once = |s: &mut TcpStream| {
        s.write_all(&req).unwrap();
        s.read_exact(&mut resp).unwrap();
    };
    for _ in 0..warm {
        once(&mut s);
    }
    let mut h = hist();
    let (cpu0, _) = cpu_micros(libc::RUSAGE_THREAD);
    let a0 = ALLOCS.load(Relaxed);
    let t0 = Instant::now();
    for _ in 0..n {
        let c0 = Instant::now();
        once(&mut s);
        h.record(c0.elapsed().as_nanos() as u64).ok();
    }
    let e = t0.elapsed();
    let cpu = cpu_micros(libc::RUSAGE_THREAD).0 - cpu0;
    (h, e, cpu, ALLOCS.load(Relaxed) - a0)
}
