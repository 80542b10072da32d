//! `AsyncBrokerManager` and its blocking twin `BrokerManager`: many brokers at once, each
//! with a pool of connections and a health record; discovery from name servers; route-aware
//! sends that fail over; metrics.

mod blocking;
mod health;
mod metrics;
mod pool;
pub mod retry;
pub mod selector;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

pub use blocking::BrokerManager;
pub use health::{counts_as_failure, BrokerState};

use crate::client::{AsyncBrokerClient, ClientConfig, PullRequest, PullResult, SendResult};
use crate::error::{BrokerError, Result};
use crate::protocol::bodies::{ClusterInfo, HeartbeatData, MessageQueue, TopicRouteData};
use crate::protocol::codes::response;
use crate::protocol::headers::AUTO_CREATE_TOPIC_KEY;
use crate::protocol::message::Message;
use crate::transport::runtime::spawn_handle;
use pool::BrokerEntry;

/// Settings of a manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerConfig {
    /// Settings of every connection (timeouts, serializer, client id…).
    pub client: ClientConfig,
    /// Consecutive transport failures after which a broker is marked down.
    pub max_consecutive_failures: u32,
    /// Connections per broker; requests are spread over them round robin.
    pub connection_pool_size: usize,
    /// First wait before probing a down broker; doubles after each failed probe…
    pub probe_initial_backoff: Duration,
    /// …up to this.
    pub probe_max_backoff: Duration,
    /// Deadline of one probe.
    pub probe_timeout: Duration,
    /// How often routes and cluster info are fetched again from the name servers.
    pub route_refresh_interval: Duration,
    /// Deadline of one attempt on one name server before trying the next.
    pub name_server_attempt_timeout: Duration,
    /// Further attempts of a route-aware send after a retriable failure (as Java: 2).
    pub send_retries: u32,
    /// Wait before the first retry of a send; doubled per retry up to
    /// `send_retry_max_backoff`, with jitter ([`retry::retry_backoff`]); within the send's
    /// deadline. Zero: retry at once (the Java producer's behaviour).
    pub send_retry_backoff: Duration,
    pub send_retry_max_backoff: Duration,
    /// Which failures a send is retried after ([`retry::RetryOn`]).
    pub send_retry_on: retry::RetryOn,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            client: ClientConfig::default(),
            max_consecutive_failures: 3,
            connection_pool_size: 5,
            probe_initial_backoff: Duration::from_millis(200),
            probe_max_backoff: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(1),
            route_refresh_interval: Duration::from_secs(30),
            name_server_attempt_timeout: Duration::from_secs(1),
            send_retries: 2,
            send_retry_backoff: Duration::from_millis(20),
            send_retry_max_backoff: Duration::from_secs(1),
            send_retry_on: retry::RetryOn::ALL,
        }
    }
}

/// One broker in a [`ManagerSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokerSnapshot {
    pub addr: String,
    pub name: Option<String>,
    pub state: BrokerState,
    pub consecutive_failures: u32,
    pub open_connections: usize,
    pub in_flight: usize,
    pub requests: u64,
    pub errors: u64,
    pub latency_p50_us: u64,
    pub latency_p99_us: u64,
    /// Each pooled connection's own statistics (`bc_client_stats_json`'s fields).
    pub connections: Vec<crate::client::stats::StatsSnapshot>,
}

/// State and metrics of every broker, serialisable to JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagerSnapshot {
    pub client_id: String,
    pub name_servers: Vec<String>,
    pub brokers: Vec<BrokerSnapshot>,
}

const CREATED: u8 = 0;
const RUNNING: u8 = 1;
const SHUTTING_DOWN: u8 = 2;
const SHUT: u8 = 3;

struct Inner {
    config: ManagerConfig,
    client_id: String,
    brokers: RwLock<BTreeMap<String, Arc<BrokerEntry>>>,
    name_servers: Vec<AsyncBrokerClient>,
    ns_next: AtomicUsize,
    routes: RwLock<HashMap<String, Arc<TopicRouteData>>>,
    queue_next: AtomicUsize,
    state: AtomicU8,
    stop: watch::Sender<bool>,
}

/// Many brokers behind one object. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct AsyncBrokerManager {
    inner: Arc<Inner>,
    timeout: Duration,
}

impl std::fmt::Debug for AsyncBrokerManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncBrokerManager")
            .field("brokers", &self.brokers())
            .finish()
    }
}

/// The local IP used to reach `addr`, found without sending anything (a UDP "connect" only
/// selects a route).
fn local_ip_towards(addr: &str) -> Option<std::net::IpAddr> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    sock.connect(addr).ok()?;
    Some(sock.local_addr().ok()?.ip())
}

fn manager_client_id(config: &ClientConfig, towards: Option<&str>) -> String {
    if let Some(id) = &config.client_id {
        return id.clone();
    }
    let ip = towards
        .and_then(local_ip_towards)
        .map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string());
    let instance = config.instance_name.clone().unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}#{}", std::process::id(), nanos)
    });
    format!("{ip}@{instance}")
}

impl AsyncBrokerManager {
    /// A manager with no brokers yet (add them with [`Self::add_broker`]).
    pub fn new(config: ManagerConfig) -> Self {
        Self::build(config, Vec::new())
    }

    /// A manager that discovers brokers from name servers (`"a:9876;b:9876"`) on
    /// [`Self::start`] and keeps following their routes.
    pub fn from_name_servers(addrs: &str, config: ManagerConfig) -> Result<Self> {
        let list: Vec<String> = addrs
            .split([';', ','])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        if list.is_empty() {
            return Err(BrokerError::InvalidArgument(
                "no name server address given".into(),
            ));
        }
        Ok(Self::build(config, list))
    }

    fn build(config: ManagerConfig, name_servers: Vec<String>) -> Self {
        let client_id = manager_client_id(&config.client, name_servers.first().map(String::as_str));
        let mut ns_config = config.client.clone();
        ns_config.client_id = Some(client_id.clone());
        let ns = name_servers
            .iter()
            .map(|a| AsyncBrokerClient::new(a.clone(), ns_config.clone()))
            .collect();
        let (stop, _) = watch::channel(false);
        let timeout = config.client.transport.request_timeout;
        AsyncBrokerManager {
            inner: Arc::new(Inner {
                config,
                client_id,
                brokers: RwLock::new(BTreeMap::new()),
                name_servers: ns,
                ns_next: AtomicUsize::new(0),
                routes: RwLock::new(HashMap::new()),
                queue_next: AtomicUsize::new(0),
                state: AtomicU8::new(CREATED),
                stop,
            }),
            timeout,
        }
    }

    /// The same manager with another deadline for each operation.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        AsyncBrokerManager {
            inner: self.inner.clone(),
            timeout,
        }
    }

    pub fn config(&self) -> &ManagerConfig {
        &self.inner.config
    }

    /// The client id every connection of this manager uses.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// Starts the background work (health probes; route refresh when built from name
    /// servers) and, with name servers, discovers the brokers once before returning.
    pub async fn start(&self) -> Result<()> {
        match self.inner.state.compare_exchange(
            CREATED,
            RUNNING,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {}
            Err(RUNNING) => return Ok(()),
            Err(_) => return Err(BrokerError::Shutdown),
        }
        let rt = spawn_handle();
        rt.spawn(probe_loop(
            Arc::downgrade(&self.inner),
            self.inner.stop.subscribe(),
        ));
        if !self.inner.name_servers.is_empty() {
            rt.spawn(refresh_loop(
                Arc::downgrade(&self.inner),
                self.inner.stop.subscribe(),
                self.timeout,
            ));
            self.refresh_cluster().await?;
        }
        Ok(())
    }

    fn check_running(&self) -> Result<()> {
        match self.inner.state.load(Ordering::Acquire) {
            CREATED | RUNNING => Ok(()),
            _ => Err(BrokerError::Shutdown),
        }
    }

    /// Stops admitting requests, waits up to `timeout` for those in flight, then closes every
    /// connection (what is still in flight fails with `Shutdown`). Every request completes
    /// exactly once.
    pub async fn shutdown(&self, timeout: Duration) {
        let prev = self.inner.state.swap(SHUTTING_DOWN, Ordering::AcqRel);
        if prev >= SHUTTING_DOWN {
            return;
        }
        self.inner.stop.send_replace(true);
        let entries: Vec<Arc<BrokerEntry>> = self.entries();
        for e in &entries {
            e.stop_admitting();
        }
        let drain = async {
            for e in &entries {
                e.drained().await;
            }
        };
        let _ = tokio::time::timeout(timeout, drain).await;
        for e in &entries {
            e.disconnect();
        }
        for ns in &self.inner.name_servers {
            ns.disconnect();
        }
        self.inner.state.store(SHUT, Ordering::Release);
        info!(brokers = entries.len(), "manager shut down");
    }

    fn entries(&self) -> Vec<Arc<BrokerEntry>> {
        self.inner
            .brokers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn entry(&self, addr: &str) -> Option<Arc<BrokerEntry>> {
        self.inner
            .brokers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(addr)
            .cloned()
    }

    fn insert_broker(&self, addr: &str, name: Option<&str>) -> Arc<BrokerEntry> {
        let mut map = self
            .inner
            .brokers
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(addr.to_owned()).or_insert_with(|| {
            info!(addr, name, "broker added");
            Arc::new(BrokerEntry::new(
                addr,
                name.map(str::to_owned),
                &self.inner.config,
                &self.inner.client_id,
            ))
        });
        if let Some(n) = name {
            entry.set_name(n);
        }
        entry.clone()
    }

    /// Adds a broker by address (`host:port`) or, with name servers, by broker name (its
    /// master). Returns its address. Adding a known broker changes nothing.
    pub async fn add_broker(&self, name_or_addr: &str) -> Result<String> {
        self.check_running()?;
        if name_or_addr.contains(':') {
            self.insert_broker(name_or_addr, None);
            return Ok(name_or_addr.to_owned());
        }
        let cluster = self.cluster_info().await?;
        let data = cluster
            .broker_addr_table
            .get(name_or_addr)
            .and_then(|b| b.master_addr().map(str::to_owned))
            .ok_or_else(|| {
                BrokerError::InvalidArgument(format!(
                    "no broker named {name_or_addr:?} on the name servers"
                ))
            })?;
        self.insert_broker(&data, Some(name_or_addr));
        Ok(data)
    }

    /// Removes a broker: stops admitting requests to it, waits up to `drain` for those in
    /// flight, then closes its connections. False when it was not known.
    pub async fn remove_broker(&self, addr: &str, drain: Duration) -> bool {
        let Some(entry) = self.entry(addr) else {
            return false;
        };
        entry.stop_admitting();
        let _ = tokio::time::timeout(drain, entry.drained()).await;
        entry.disconnect();
        self.inner
            .brokers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(addr);
        info!(addr, "broker removed");
        true
    }

    /// Addresses of the known brokers.
    pub fn brokers(&self) -> Vec<String> {
        self.inner
            .brokers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// The health of a broker.
    pub fn broker_state(&self, addr: &str) -> Option<BrokerState> {
        self.entry(addr).map(|e| e.health.state())
    }

    /// A pooled client of `addr` (the next connection of its pool). Requests made through it
    /// directly bypass health accounting; prefer [`Self::with_broker`].
    pub fn client(&self, addr: &str) -> Result<AsyncBrokerClient> {
        self.check_running()?;
        let entry = self.entry(addr).ok_or_else(|| unknown_broker(addr))?;
        Ok(entry.pick().with_timeout(self.timeout))
    }

    /// Runs `op` on a pooled client of `addr`, with health and metrics accounting: a down
    /// broker fails at once; transport failures count towards marking it down.
    pub async fn with_broker<T, F, Fut>(&self, addr: &str, op: F) -> Result<T>
    where
        F: FnOnce(AsyncBrokerClient) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.with_broker_timeout(addr, self.timeout, op).await
    }

    async fn with_broker_timeout<T, F, Fut>(
        &self,
        addr: &str,
        timeout: Duration,
        op: F,
    ) -> Result<T>
    where
        F: FnOnce(AsyncBrokerClient) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.check_running()?;
        let entry = self.entry(addr).ok_or_else(|| unknown_broker(addr))?;
        if !entry.is_admitting() {
            return Err(BrokerError::Shutdown);
        }
        if entry.health.state() == BrokerState::Down {
            return Err(BrokerError::Connection {
                addr: addr.to_owned(),
                reason: format!(
                    "broker is marked down after {} consecutive failures",
                    entry.health.consecutive_failures()
                ),
            });
        }
        let _counted = entry.begin();
        let client = entry.pick().with_timeout(timeout);
        let started = Instant::now();
        let result = op(client).await;
        entry.metrics.record(started.elapsed(), result.is_ok());
        match &result {
            Err(e) if counts_as_failure(e) => {
                if entry.health.record_failure(Instant::now()) {
                    warn!(addr, error = %e, "broker marked down");
                }
            }
            _ => {
                entry.health.record_success();
            }
        }
        // Requests cut off by shutdown fail as such, not as connection errors.
        match result {
            Err(BrokerError::Connection { .. }) if !entry.is_admitting() => {
                Err(BrokerError::Shutdown)
            }
            other => other,
        }
    }

    /// Calls the name servers in turn, starting after the last one that answered, each
    /// attempt capped at `name_server_attempt_timeout`, all within the manager's deadline.
    async fn on_name_server<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn(AsyncBrokerClient) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let n = self.inner.name_servers.len();
        if n == 0 {
            return Err(BrokerError::InvalidArgument(
                "this manager has no name servers".into(),
            ));
        }
        let deadline = Instant::now() + self.timeout;
        let first = self.inner.ns_next.load(Ordering::Relaxed);
        let mut last_err = None;
        for i in 0..n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let idx = (first + i) % n;
            let ns = &self.inner.name_servers[idx];
            let cap = left.min(self.inner.config.name_server_attempt_timeout);
            match op(ns.with_timeout(cap)).await {
                Ok(v) => {
                    self.inner.ns_next.store(idx, Ordering::Relaxed);
                    return Ok(v);
                }
                // An answer (even an error answer) is authoritative: no failover.
                Err(e) if !counts_as_failure(&e) => return Err(e),
                Err(e) => {
                    warn!(name_server = %ns.addr(), error = %e, "name server failed; trying the next");
                    ns.disconnect();
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or(BrokerError::Timeout {
            addr: "name servers".into(),
            operation: "name server request",
            after: self.timeout,
        }))
    }

    /// Cluster info from the name servers.
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        self.on_name_server(|ns| async move { ns.get_cluster_info().await })
            .await
    }

    /// Fetches cluster info and makes the broker set follow it: masters that appeared are
    /// added, brokers no longer listed are removed (after draining).
    pub async fn refresh_cluster(&self) -> Result<()> {
        let cluster = self.cluster_info().await?;
        let mut listed = Vec::new();
        for (name, data) in &cluster.broker_addr_table {
            if let Some(addr) = data.master_addr() {
                self.insert_broker(addr, Some(name));
                listed.push(addr.to_owned());
            }
        }
        for addr in self.brokers() {
            if !listed.contains(&addr) {
                self.remove_broker(&addr, self.timeout).await;
            }
        }
        Ok(())
    }

    /// The route of `topic`, from the cache or the name servers.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRouteData>> {
        if let Some(r) = self
            .inner
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(topic)
        {
            return Ok(r.clone());
        }
        self.refresh_route(topic).await
    }

    async fn refresh_route(&self, topic: &str) -> Result<Arc<TopicRouteData>> {
        let t = topic.to_owned();
        let route = Arc::new(
            self.on_name_server(|ns| {
                let t = t.clone();
                async move { ns.get_route_info(&t).await }
            })
            .await?,
        );
        for b in &route.broker_datas {
            if let Some(addr) = b.master_addr() {
                self.insert_broker(addr, Some(&b.broker_name));
            }
        }
        self.inner
            .routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(topic.to_owned(), route.clone());
        Ok(route)
    }

    /// The master address of a broker name (known brokers first, then routes).
    pub fn broker_addr(&self, broker_name: &str) -> Option<String> {
        if broker_name.contains(':') {
            return Some(broker_name.to_owned());
        }
        self.entries()
            .into_iter()
            .find(|e| e.name().as_deref() == Some(broker_name))
            .map(|e| e.addr.clone())
    }

    fn resolve(&self, broker_name: &str) -> Result<String> {
        self.broker_addr(broker_name)
            .ok_or_else(|| unknown_broker(broker_name))
    }

    /// Sends to `msg.topic`: picks a writable queue round robin from the topic's route (the
    /// template topic's for a topic not routed yet), and on a retriable failure tries another
    /// broker, all within one deadline, each attempt capped so one bad broker cannot use it up.
    pub async fn send(&self, producer_group: &str, msg: &Message) -> Result<SendResult> {
        let group = producer_group.to_owned();
        self.send_routed(&msg.topic, move |client, queue_id| {
            let group = group.clone();
            let msg = msg.clone();
            async move { client.send(&group, queue_id, &msg).await }
        })
        .await
    }

    /// [`Self::send`] for a batch of messages of one topic.
    pub async fn send_batch(&self, producer_group: &str, msgs: &[Message]) -> Result<SendResult> {
        let topic = msgs
            .first()
            .map(|m| m.topic.clone())
            .ok_or_else(|| BrokerError::InvalidArgument("batch is empty".into()))?;
        let group = producer_group.to_owned();
        self.send_routed(&topic, move |client, queue_id| {
            let group = group.clone();
            let msgs = msgs.to_vec();
            async move { client.send_batch(&group, queue_id, &msgs).await }
        })
        .await
    }

    /// Ordered send: every message of `topic` with the same `sharding_key` goes to the same
    /// queue (the queue Java's `SelectMessageQueueByHash` picks for that key), so a consumer
    /// reading that queue sees them in the order they were sent.
    ///
    /// Order is chosen over availability: when that queue's broker is down or unreachable the
    /// send fails with the typed error of that broker (`Connection`, `Timeout`, ...) and is not
    /// moved to another queue, which would put later messages of the key before earlier
    /// ones. The caller retries or gives up. The route is refreshed after such a failure, so a
    /// changed route (queues added, a broker gone for good) gives the key its new queue.
    pub async fn send_ordered(
        &self,
        producer_group: &str,
        msg: &Message,
        sharding_key: &str,
    ) -> Result<SendResult> {
        self.check_running()?;
        let queues = self.write_queues(&msg.topic).await?;
        let queue = selector::select_by_hash(&queues, sharding_key).ok_or_else(|| {
            BrokerError::from_response(
                response::TOPIC_NOT_EXIST,
                Some(&format!("no writable queue for topic {}", msg.topic)),
            )
        })?;
        let addr = self.resolve(&queue.broker_name)?;
        let group = producer_group.to_owned();
        let queue_id = queue.queue_id;
        let result = self
            .with_broker(
                &addr,
                |c| async move { c.send(&group, queue_id, msg).await },
            )
            .await
            .map(|mut r| {
                r.broker_name = Some(queue.broker_name);
                r
            });
        if let Err(e) = &result {
            if self.inner.config.send_retry_on.covers(e) {
                self.refresh_route_later(&msg.topic);
            }
        }
        result
    }

    /// Refreshes every cached route from the name servers.
    async fn refresh_cached_routes(&self) {
        let topics: Vec<String> = self
            .inner
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        for t in topics {
            if let Err(e) = self.refresh_route(&t).await {
                warn!(topic = %t, error = %e, "route refresh failed");
            }
        }
    }

    /// Refreshes `topic`'s route in the background (after a failed send: the broker may have
    /// left the route before the periodic refresh notices).
    fn refresh_route_later(&self, topic: &str) {
        let me = self.clone();
        let topic = topic.to_owned();
        spawn_handle().spawn(async move {
            if me.check_running().is_err() {
                return;
            }
            if let Err(e) = me.refresh_route(&topic).await {
                warn!(topic, error = %e, "route refresh after a failed send failed");
            }
        });
    }

    async fn write_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        match self.route(topic).await {
            Ok(route) => Ok(route.write_queues(topic)),
            Err(e) if e.response_code() == Some(response::TOPIC_NOT_EXIST) => {
                // Not routed yet: send through the template topic's brokers, which create it
                // (as the Java producer does), on at most 4 queues.
                let tmpl = self.route(AUTO_CREATE_TOPIC_KEY).await?;
                Ok(tmpl
                    .write_queues(topic)
                    .into_iter()
                    .filter(|q| q.queue_id < 4)
                    .collect())
            }
            Err(e) => Err(e),
        }
    }

    async fn send_routed<F, Fut>(&self, topic: &str, send: F) -> Result<SendResult>
    where
        F: Fn(AsyncBrokerClient, i32) -> Fut,
        Fut: Future<Output = Result<SendResult>>,
    {
        self.check_running()?;
        let deadline = Instant::now() + self.timeout;
        let queues = self.write_queues(topic).await?;
        if queues.is_empty() {
            return Err(BrokerError::from_response(
                response::TOPIC_NOT_EXIST,
                Some(&format!("no writable queue for topic {topic}")),
            ));
        }
        let attempts = 1 + self.inner.config.send_retries as usize;
        let mut failed_brokers: Vec<String> = Vec::new();
        let mut last_err = None;
        for attempt in 0..attempts {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let Some((addr, queue)) = self.pick_queue(&queues, &failed_brokers) else {
                break;
            };
            if attempt > 0 {
                // Back off before another broker is tried, never past the deadline.
                let c = &self.inner.config;
                let wait = retry::retry_backoff(
                    c.send_retry_backoff,
                    c.send_retry_max_backoff,
                    attempt as u32,
                );
                tokio::time::sleep(wait.min(left)).await;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let cap = left / (attempts - attempt) as u32;
            let send_one = |client: AsyncBrokerClient| send(client, queue.queue_id);
            match self.with_broker_timeout(&addr, cap, send_one).await {
                Ok(mut r) => {
                    r.broker_name = Some(queue.broker_name.clone());
                    return Ok(r);
                }
                Err(e) if self.inner.config.send_retry_on.covers(&e) => {
                    warn!(addr, topic, attempt, error = %e, "send failed; trying another broker");
                    if failed_brokers.is_empty() {
                        self.refresh_route_later(topic);
                    }
                    failed_brokers.push(addr);
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or(BrokerError::Timeout {
            addr: topic.to_owned(),
            operation: "send",
            after: self.timeout,
        }))
    }

    /// The next queue round robin, preferring brokers that are not down and have not failed
    /// in this call; falls back to any queue.
    fn pick_queue<'q>(
        &self,
        queues: &'q [MessageQueue],
        avoid: &[String],
    ) -> Option<(String, &'q MessageQueue)> {
        let start = self.inner.queue_next.fetch_add(1, Ordering::Relaxed);
        let candidates = (0..queues.len()).map(|i| &queues[(start + i) % queues.len()]);
        let mut fallback = None;
        for q in candidates {
            let Some(addr) = self.broker_addr(&q.broker_name) else {
                continue;
            };
            let usable = self
                .entry(&addr)
                .is_some_and(|e| e.health.state() != BrokerState::Down && e.is_admitting());
            if usable && !avoid.contains(&addr) {
                return Some((addr, q));
            }
            fallback.get_or_insert((addr, q));
        }
        fallback
    }

    /// Pulls from a queue of `broker_name` (a broker name or an address).
    pub async fn pull(&self, broker_name: &str, req: &PullRequest) -> Result<PullResult> {
        let addr = self.resolve(broker_name)?;
        let req = req.clone();
        // A long poll must outlast its hold: the client stretches its own deadline.
        self.with_broker(&addr, |c| async move { c.pull(&req).await })
            .await
    }

    /// The committed offset of `group` on a queue of `broker_name`.
    pub async fn query_consumer_offset(
        &self,
        broker_name: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64> {
        let addr = self.resolve(broker_name)?;
        let (g, t) = (group.to_owned(), topic.to_owned());
        self.with_broker(&addr, |c| async move {
            c.query_consumer_offset(&g, &t, queue_id).await
        })
        .await
    }

    /// Commits an offset of `group` on a queue of `broker_name`.
    pub async fn update_consumer_offset(
        &self,
        broker_name: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<()> {
        let addr = self.resolve(broker_name)?;
        let (g, t) = (group.to_owned(), topic.to_owned());
        self.with_broker(&addr, |c| async move {
            c.update_consumer_offset(&g, &t, queue_id, offset).await
        })
        .await
    }

    /// The max offset of a queue of `broker_name`.
    pub async fn get_max_offset(
        &self,
        broker_name: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64> {
        let addr = self.resolve(broker_name)?;
        let t = topic.to_owned();
        self.with_broker(
            &addr,
            |c| async move { c.get_max_offset(&t, queue_id).await },
        )
        .await
    }

    /// Sends the heartbeat to every known broker that is not down; one result per broker.
    pub async fn heartbeat_all(&self, data: &HeartbeatData) -> Vec<(String, Result<()>)> {
        let mut data = data.clone();
        if data.client_id.is_empty() {
            data.client_id = self.inner.client_id.clone();
        }
        let calls = self.brokers().into_iter().map(|addr| {
            let data = data.clone();
            async move {
                let r = self
                    .with_broker(&addr, |c| async move { c.heartbeat(&data).await })
                    .await;
                (addr, r)
            }
        });
        let mut out = Vec::new();
        for call in calls {
            out.push(call.await);
        }
        out
    }

    /// State and metrics of every broker.
    pub fn snapshot(&self) -> ManagerSnapshot {
        let brokers = self
            .entries()
            .iter()
            .map(|e| {
                let (p50, p99) = e.metrics.latency_p50_p99_us();
                BrokerSnapshot {
                    addr: e.addr.clone(),
                    name: e.name(),
                    state: e.health.state(),
                    consecutive_failures: e.health.consecutive_failures(),
                    open_connections: e.open_connections(),
                    in_flight: e.pool().iter().map(|c| c.in_flight()).sum(),
                    requests: e.metrics.requests(),
                    errors: e.metrics.errors(),
                    latency_p50_us: p50,
                    latency_p99_us: p99,
                    connections: e.pool().iter().map(AsyncBrokerClient::stats).collect(),
                }
            })
            .collect();
        ManagerSnapshot {
            client_id: self.inner.client_id.clone(),
            name_servers: self
                .inner
                .name_servers
                .iter()
                .map(|n| n.addr().to_owned())
                .collect(),
            brokers,
        }
    }

    /// The entry of [`Self::snapshot`] for the broker at `addr` (an address or a name).
    pub fn broker_snapshot(&self, addr: &str) -> Option<BrokerSnapshot> {
        let addr = self.broker_addr(addr)?;
        self.snapshot().brokers.into_iter().find(|b| b.addr == addr)
    }

    /// [`Self::snapshot`] as JSON.
    pub fn stats_json(&self) -> String {
        serde_json::to_string(&self.snapshot()).expect("snapshot serializes")
    }
}

fn unknown_broker(addr: &str) -> BrokerError {
    BrokerError::Connection {
        addr: addr.to_owned(),
        reason: "broker is not known to this manager".into(),
    }
}

/// Probes down brokers whose back-off has passed; a probe is a fresh connection and one
/// cheap request, and any answer (even an error code) means the broker is back. Ticks a few
/// times a second and does nothing else, so CPU stays flat while a broker is down.
async fn probe_loop(inner: std::sync::Weak<Inner>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let Some(inner) = inner.upgrade() else { return };
        let now = Instant::now();
        let due: Vec<Arc<BrokerEntry>> = inner
            .brokers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|e| e.health.probe_due(now))
            .cloned()
            .collect();
        for entry in due {
            let probe_timeout = inner.config.probe_timeout;
            entry.health.probe_started(now, probe_timeout);
            let mut cfg = inner.config.client.clone();
            cfg.client_id = Some(inner.client_id.clone());
            let weak = Arc::downgrade(&inner);
            tokio::spawn(async move {
                let probe =
                    AsyncBrokerClient::new(entry.addr.clone(), cfg).with_timeout(probe_timeout);
                let r = probe.get_max_offset(AUTO_CREATE_TOPIC_KEY, 0).await;
                probe.disconnect();
                match r {
                    Err(e) if counts_as_failure(&e) => entry.health.probe_failed(Instant::now()),
                    _ => {
                        // Connections of the pool died with the broker; drop them so the next
                        // request connects afresh.
                        entry.disconnect();
                        if entry.health.record_success() {
                            info!(addr = %entry.addr, "broker is back");
                            // Its queues return to the routes now, not at the next timer.
                            if let Some(inner) = weak.upgrade() {
                                let timeout = inner.config.client.transport.request_timeout;
                                let manager = AsyncBrokerManager { inner, timeout };
                                manager.refresh_cached_routes().await;
                            }
                        }
                    }
                }
            });
        }
    }
}

/// Refreshes cluster info and the cached routes every `route_refresh_interval`.
async fn refresh_loop(
    inner: std::sync::Weak<Inner>,
    mut stop: watch::Receiver<bool>,
    timeout: Duration,
) {
    let interval = match inner.upgrade() {
        Some(i) => i.config.route_refresh_interval,
        None => return,
    };
    let mut tick = tokio::time::interval_at(Instant::now() + interval, interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let Some(inner) = inner.upgrade() else { return };
        let manager = AsyncBrokerManager { inner, timeout };
        if let Err(e) = manager.refresh_cluster().await {
            warn!(error = %e, "cluster refresh failed");
        }
        manager.refresh_cached_routes().await;
    }
}
