//! An in-process mock broker for fault-injection and fast tests (feature `mock`).
//!
//! It is **not** a replacement for the real broker: it models one broker's queues in memory,
//! well enough that a client can send, pull its messages back and manage offsets, and it can
//! misbehave on demand in ways a real broker only does on bad days (never answering, dropping
//! the connection mid-frame, sending garbage). The integration tests against the real broker
//! remain the reference for protocol behaviour.
//!
//! ```no_run
//! use brokerclient::mock::{Behavior, MockBroker};
//!
//! let mock = MockBroker::start().unwrap();
//! let addr = mock.addr(); // "127.0.0.1:<port>": connect a client here
//! mock.set_behavior(Behavior::NeverRespond); // every request from now on goes unanswered
//! assert_eq!(mock.requests(30), 0); // GET_MAX_OFFSET requests seen so far
//! mock.shutdown(); // or drop it: the listener and every connection close
//! ```
//!
//! Design notes:
//! - It runs on the library runtime ([`crate::transport::runtime::runtime`]), so it works the
//!   same from plain test threads and from async code, and needs no runtime of its own.
//! - Each connection is served by one task that reads, decides and writes; the behaviour is
//!   looked up for every request as it arrives, so switching it affects the next request, not
//!   one already answered.
//! - Every buffer and table is bounded (`MAX_*` constants here and in the submodules), and
//!   every task ends on [`MockBroker::shutdown`].

mod broker;
mod conn;
mod random;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::debug;

use crate::protocol::codes::{LanguageCode, SerializeType};
use crate::protocol::command::{ExtFields, FLAG_ONEWAY};
use crate::protocol::RemotingCommand;
use crate::transport::runtime::runtime;

pub use broker::{
    BROKER_NAME, BROKER_VERSION, CLUSTER_NAME, DEFAULT_QUEUE_NUMS, HALF_TOPIC, REGION,
};

/// How long [`MockBroker::request_client`] waits for a client to be connected and to answer;
/// the Java broker waits 5 s for GET_CONSUMER_STATUS_FROM_CLIENT (`Broker2Client`).
pub const CLIENT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; more are accepted and closed at once.
const MAX_CONNECTIONS: usize = 1024;
/// Broker→client frames queued per connection before [`MockBroker::send_to_clients`] skips it
/// and [`MockBroker::request_client`] waits.
const CLIENT_QUEUE: usize = 64;
/// Distinct request codes with their own counter and last request; others count in the total.
const MAX_CODES: usize = 1024;
/// Broker→client requests waiting for their response at once.
const MAX_CLIENT_WAITERS: usize = 1024;
/// One-shot behaviours queued with [`MockBroker::push_behavior_once`].
const MAX_ONCE: usize = 1024;
/// How long [`MockBroker::shutdown`] waits, on a plain thread, for its tasks to end.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// What the mock does with each request as it arrives.
///
/// Reply-shaping behaviours (`NeverRespond`, `RespondWith`, `WrongOpaque`) only shape replies:
/// a oneway request gets no reply under any behaviour. `Normal`, `Delay`, `WrongOpaque` and
/// `ResetMidFrame` apply the request's side effects (a send is stored, an offset committed);
/// `NeverRespond` and `RespondWith` do not, as a broker that rejects a request does not
/// process it. The connection faults (`ResetMidFrame`, `Garbage`, `Oversize`) strike on any
/// request, oneway included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Behavior {
    /// Answer as a broker does (see the module `broker`): sends are stored and can be pulled
    /// back, offsets are tracked, unknown codes get REQUEST_CODE_NOT_SUPPORTED (3) with Java's
    /// remark.
    #[default]
    Normal,
    /// Read the request and drop it: the client's deadline is the only way out.
    NeverRespond,
    /// Answer every request with this response code and remark (e.g. SYSTEM_BUSY (2) with
    /// `"[REJECTREQUEST]system busy"`), without processing it.
    RespondWith(i32, String),
    /// Process normally, but hold the answer back this long (other requests keep flowing).
    Delay(Duration),
    /// Write the first half of the (normal) response frame, then close the socket.
    ResetMidFrame,
    /// Write a frame whose header names an unknown serialize type, and keep the connection
    /// open: the client must notice and close it.
    Garbage,
    /// Write the length prefix of a 64 MiB frame (four times the broker's maximum), and keep
    /// the connection open.
    Oversize,
    /// Process normally but answer with `opaque + 1000`, so no waiter matches the response.
    WrongOpaque,
    /// Answer each request with something drawn from a generator seeded with this value:
    /// the normal answer with damaged headers, a random code or body, an answer to another
    /// request, a request of the mock's own, nothing, garbage (then maybe close), or half a
    /// frame then close (see the module `random`).
    RandomFrames(u64),
}

/// Per-code counter and the last request of that code.
struct CodeStats {
    count: usize,
    last: RemotingCommand,
}

/// Everything the connection tasks and the handle share, behind one lock (never held across
/// an await).
struct State {
    behavior: Behavior,
    /// Behaviours for single request codes; they win over `behavior`.
    overrides: HashMap<i32, Behavior>,
    /// One-shot behaviours: each is used by one request, before overrides and `behavior`.
    once: VecDeque<Behavior>,
    total: usize,
    per_code: HashMap<i32, CodeStats>,
    broker: broker::BrokerState,
}

struct Inner {
    addr: SocketAddr,
    state: Mutex<State>,
    /// Set once, on shutdown; every task watches it.
    stop: watch::Sender<bool>,
    /// Bumped on every request and every connection change, so tests wait on events instead
    /// of sleeping.
    events: watch::Sender<u64>,
    /// Live tasks (accept loop and connections); shutdown waits for zero.
    tasks: watch::Sender<usize>,
    /// Live connections by id (ascending = oldest first), with their queue of broker→client
    /// frames.
    conns: Mutex<BTreeMap<u64, mpsc::Sender<Bytes>>>,
    accepted: AtomicU64,
    next_conn_id: AtomicU64,
    /// Opaques of broker→client requests.
    next_opaque: AtomicI32,
    client_waiters: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a test thread while holding the lock leaves consistent data (single updates).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn bump(&self) {
        self.events.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Keeps `req` as the last of its code and returns the behaviour that applies to it. It is
    /// counted by [`Inner::counted`] once its side effects are applied.
    fn record(&self, req: &RemotingCommand) -> Behavior {
        let mut st = self.state();
        let stored = RemotingCommand {
            // A copy, so the request does not pin the connection's read buffer.
            body: Bytes::copy_from_slice(&req.body),
            ..req.clone()
        };
        if let Some(s) = st.per_code.get_mut(&req.code) {
            s.last = stored;
        } else if st.per_code.len() < MAX_CODES {
            st.per_code.insert(
                req.code,
                CodeStats {
                    count: 0,
                    last: stored,
                },
            );
        }
        match st.once.pop_front() {
            Some(b) => b,
            None => st
                .overrides
                .get(&req.code)
                .cloned()
                .unwrap_or_else(|| st.behavior.clone()),
        }
    }

    /// Counts a request whose side effects are applied, and wakes the waiters: a test that
    /// waits for a request can assert on its effects at once (a waiter woken by another event
    /// must not see the count before the effects).
    fn counted(&self, code: i32) {
        {
            let mut st = self.state();
            st.total += 1;
            if let Some(s) = st.per_code.get_mut(&code) {
                s.count += 1;
            }
        }
        self.bump();
    }

    /// The normal answer to `req` (and its side effects).
    fn answer(&self, req: &RemotingCommand, peer: SocketAddr) -> Option<RemotingCommand> {
        self.state().broker.handle(req, peer)
    }

    /// Hands a client's response to the broker→client request waiting for it, if any.
    fn complete_client_request(&self, resp: RemotingCommand) {
        let waiter = lock(&self.client_waiters).remove(&resp.opaque);
        match waiter {
            Some(tx) => {
                let _ = tx.send(resp);
            }
            None => debug!(
                opaque = resp.opaque,
                "mock broker: unmatched client response"
            ),
        }
    }

    /// Waits until `pred` holds or `timeout` passes; true if it holds.
    async fn wait_until(&self, timeout: Duration, pred: impl Fn(&Inner) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut rx = self.events.subscribe();
        loop {
            if pred(self) {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return pred(self),
            }
        }
    }
}

/// Decrements the live-task count when a task ends, however it ends.
struct TaskGuard {
    inner: Arc<Inner>,
    conn: Option<u64>,
}

impl TaskGuard {
    fn new(inner: Arc<Inner>, conn: Option<u64>) -> Self {
        inner.tasks.send_modify(|n| *n += 1);
        TaskGuard { inner, conn }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if let Some(id) = self.conn {
            lock(&self.inner.conns).remove(&id);
            self.inner.bump();
        }
        self.inner.tasks.send_modify(|n| *n -= 1);
    }
}

/// A running mock broker. Dropping it shuts it down.
pub struct MockBroker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MockBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockBroker")
            .field("addr", &self.inner.addr)
            .field("connections", &self.connections())
            .finish()
    }
}

impl MockBroker {
    /// Binds 127.0.0.1 on a free port and starts serving on the library runtime.
    ///
    /// Synchronous on purpose: it binds with std and only *spawns* onto the runtime, so it can
    /// be called from a plain thread and from inside any runtime (no `block_on`).
    pub fn start() -> std::io::Result<MockBroker> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let rt = runtime();
        // from_std registers the socket with the reactor of the runtime entered here.
        let listener = {
            let _entered = rt.enter();
            TcpListener::from_std(std_listener)?
        };
        let inner = Arc::new(Inner {
            addr,
            state: Mutex::new(State {
                behavior: Behavior::Normal,
                overrides: HashMap::new(),
                once: VecDeque::new(),
                total: 0,
                per_code: HashMap::new(),
                broker: broker::BrokerState::new(addr),
            }),
            stop: watch::channel(false).0,
            events: watch::channel(0).0,
            tasks: watch::channel(0).0,
            conns: Mutex::new(BTreeMap::new()),
            accepted: AtomicU64::new(0),
            next_conn_id: AtomicU64::new(1),
            next_opaque: AtomicI32::new(1),
            client_waiters: Mutex::new(HashMap::new()),
        });
        let guard = TaskGuard::new(inner.clone(), None);
        rt.spawn(accept_loop(inner.clone(), listener, guard));
        debug!(%addr, "mock broker started");
        Ok(MockBroker { inner })
    }

    /// "127.0.0.1:port", ready for `Connection::connect`.
    pub fn addr(&self) -> String {
        self.inner.addr.to_string()
    }

    /// The listening address.
    pub fn socket_addr(&self) -> SocketAddr {
        self.inner.addr
    }

    // ---- behaviour ------------------------------------------------------------------------

    /// Sets the behaviour for every request from now on (unless a per-code override or a
    /// one-shot behaviour applies).
    pub fn set_behavior(&self, behavior: Behavior) {
        self.inner.state().behavior = behavior;
    }

    /// The standing behaviour.
    pub fn behavior(&self) -> Behavior {
        self.inner.state().behavior.clone()
    }

    /// Sets the behaviour for requests with `code` only (e.g. fail sends, keep heartbeats).
    pub fn set_behavior_for(&self, code: i32, behavior: Behavior) {
        self.inner.state().overrides.insert(code, behavior);
    }

    /// Removes every per-code behaviour.
    pub fn clear_behavior_overrides(&self) {
        self.inner.state().overrides.clear();
    }

    /// Queues a behaviour for the next single request (whatever its code), ahead of overrides
    /// and the standing behaviour; queued ones apply in order. Returns false when the queue
    /// is full.
    pub fn push_behavior_once(&self, behavior: Behavior) -> bool {
        let mut st = self.inner.state();
        if st.once.len() >= MAX_ONCE {
            return false;
        }
        st.once.push_back(behavior);
        true
    }

    // ---- inspection -----------------------------------------------------------------------

    /// Requests received with `code`, answered or not (responses from clients not counted).
    pub fn requests(&self, code: i32) -> usize {
        self.inner
            .state()
            .per_code
            .get(&code)
            .map_or(0, |s| s.count)
    }

    /// Requests received, all codes together.
    pub fn total_requests(&self) -> usize {
        self.inner.state().total
    }

    /// The last request received with `code`, as decoded from the wire (what the client sent,
    /// header serializer included).
    pub fn last_request(&self, code: i32) -> Option<RemotingCommand> {
        self.inner
            .state()
            .per_code
            .get(&code)
            .map(|s| s.last.clone())
    }

    /// Clears request counters and last requests (not the stored messages).
    pub fn reset_counters(&self) {
        let mut st = self.inner.state();
        st.total = 0;
        st.per_code.clear();
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        lock(&self.inner.conns).len()
    }

    /// Connections accepted since start.
    pub fn accepted_connections(&self) -> u64 {
        self.inner.accepted.load(Ordering::Relaxed)
    }

    /// Waits (without sleeping: on the mock's events) until at least `n` requests with `code`
    /// have arrived and been handled (side effects applied; the response may still be on its
    /// way), or `timeout` passes; true if they did.
    pub async fn wait_for_requests(&self, code: i32, n: usize, timeout: Duration) -> bool {
        self.inner
            .wait_until(timeout, |i| {
                i.state().per_code.get(&code).map_or(0, |s| s.count) >= n
            })
            .await
    }

    /// Waits until exactly `n` connections are open, or `timeout` passes; true if they are.
    pub async fn wait_for_connections(&self, n: usize, timeout: Duration) -> bool {
        self.inner
            .wait_until(timeout, |i| lock(&i.conns).len() == n)
            .await
    }

    /// (min, max) logical offsets of a queue; max is exclusive, as GET_MAX_OFFSET answers.
    pub fn queue_offsets(&self, topic: &str, queue_id: i32) -> (i64, i64) {
        self.inner.state().broker.offsets(topic, queue_id)
    }

    /// The offset a consumer group committed on a queue (UPDATE_CONSUMER_OFFSET, or a pull
    /// with the commit flag).
    pub fn consumer_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.inner
            .state()
            .broker
            .consumer_offset(group, topic, queue_id)
    }

    // ---- broker → client ------------------------------------------------------------------

    /// Sends a request to the oldest connected client, waiting up to [`CLIENT_REPLY_TIMEOUT`]
    /// for one to be connected, and for non-oneway requests up to the same bound (overall)
    /// for its response. `None` for oneway requests, when no client connected in time, when it
    /// did not answer in time, or after shutdown.
    pub async fn request_client(
        &self,
        code: i32,
        ext_fields: ExtFields,
        body: Bytes,
        oneway: bool,
    ) -> Option<RemotingCommand> {
        let deadline = Instant::now() + CLIENT_REPLY_TIMEOUT;
        let inner = &self.inner;
        if !inner
            .wait_until(CLIENT_REPLY_TIMEOUT, |i| {
                !lock(&i.conns).is_empty() || *i.stop.borrow()
            })
            .await
            || *inner.stop.borrow()
        {
            return None;
        }
        let tx = lock(&inner.conns).values().next().cloned()?;
        let opaque = inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        let frame = client_request(code, opaque, ext_fields, body, oneway)?;
        let rx = if oneway {
            None
        } else {
            let (reply_tx, reply_rx) = oneshot::channel();
            let mut waiters = lock(&inner.client_waiters);
            if waiters.len() >= MAX_CLIENT_WAITERS {
                return None;
            }
            waiters.insert(opaque, reply_tx);
            Some(reply_rx)
        };
        // However this ends, the waiter must not stay behind.
        let _forget = ForgetWaiter { inner, opaque };
        tokio::time::timeout_at(deadline, tx.send(frame))
            .await
            .ok()?
            .ok()?;
        tokio::time::timeout_at(deadline, rx?).await.ok()?.ok()
    }

    /// [`MockBroker::request_client`] for plain threads; `None` when called on a runtime
    /// thread (where blocking could deadlock: use the async form there).
    pub fn request_client_blocking(
        &self,
        code: i32,
        ext_fields: ExtFields,
        body: Bytes,
        oneway: bool,
    ) -> Option<RemotingCommand> {
        crate::transport::runtime::block_on(self.request_client(code, ext_fields, body, oneway))
            .ok()
            .flatten()
    }

    /// Sends `cmd` as it is (code, flag, opaque, fields, body; JSON header) to every connected
    /// client without waiting for anything; returns how many connections it was queued on. A
    /// connection whose queue is full is skipped. Responses, if any, are dropped: use
    /// [`MockBroker::request_client`] to get one.
    pub fn send_to_clients(&self, cmd: &RemotingCommand) -> usize {
        let Ok(frame) = cmd.to_frame(SerializeType::Json) else {
            return 0;
        };
        let conns: Vec<_> = lock(&self.inner.conns).values().cloned().collect();
        conns
            .iter()
            .filter(|tx| tx.try_send(frame.clone()).is_ok())
            .count()
    }

    // ---- shutdown -------------------------------------------------------------------------

    /// Stops accepting, closes every connection and ends every task of the mock. On a plain
    /// thread it returns once they have ended (at most a few seconds); on a runtime thread it
    /// only signals them (they end at their next poll), since blocking there could deadlock.
    /// Idempotent.
    pub fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        self.inner.bump();
        lock(&self.inner.client_waiters).clear();
        if crate::transport::runtime::on_runtime_thread() {
            return;
        }
        let mut tasks = self.inner.tasks.subscribe();
        runtime().block_on(async move {
            let _ = tokio::time::timeout(SHUTDOWN_WAIT, tasks.wait_for(|n| *n == 0)).await;
        });
    }

    /// Shuts down and waits until every task of the mock has ended (so every socket is
    /// closed), from async code.
    pub async fn shutdown_async(&self) {
        self.inner.stop.send_replace(true);
        self.inner.bump();
        lock(&self.inner.client_waiters).clear();
        let mut tasks = self.inner.tasks.subscribe();
        let _ = tokio::time::timeout(SHUTDOWN_WAIT, tasks.wait_for(|n| *n == 0)).await;
    }
}

impl Drop for MockBroker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Removes a broker→client waiter when the request ends, answered or not.
struct ForgetWaiter<'a> {
    inner: &'a Inner,
    opaque: i32,
}

impl Drop for ForgetWaiter<'_> {
    fn drop(&mut self) {
        lock(&self.inner.client_waiters).remove(&self.opaque);
    }
}

/// A request frame from the broker, as the Java broker writes it.
fn client_request(
    code: i32,
    opaque: i32,
    ext_fields: ExtFields,
    body: Bytes,
    oneway: bool,
) -> Option<Bytes> {
    let cmd = RemotingCommand {
        code,
        language: LanguageCode::Java,
        version: BROKER_VERSION,
        opaque,
        flag: if oneway { FLAG_ONEWAY } else { 0 },
        remark: None,
        ext_fields,
        body,
        serialize_type: SerializeType::Json,
    };
    cmd.to_frame(SerializeType::Json).ok()
}

/// Accepts connections until shutdown, each served by its own task.
async fn accept_loop(inner: Arc<Inner>, listener: TcpListener, _guard: TaskGuard) {
    let mut stop = inner.stop.subscribe();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                debug!(error = %e, "mock broker: accept failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(10)) => continue,
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        };
        inner.accepted.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
        let id = inner.next_conn_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut conns = lock(&inner.conns);
            if conns.len() >= MAX_CONNECTIONS {
                continue; // dropping the stream closes it
            }
            conns.insert(id, tx);
        }
        let _ = stream.set_nodelay(true);
        let guard = TaskGuard::new(inner.clone(), Some(id));
        inner.bump();
        let conn_inner = inner.clone();
        tokio::spawn(async move {
            let _guard = guard;
            conn::serve(conn_inner, stream, peer, rx).await;
        });
    }
}
