//! `AsyncBrokerClient` and its blocking twin `BrokerClient`: every operation on one broker
//! (or name server), as typed Rust over the transport.
//!
//! One example per operation (blocking; every method exists on [`AsyncBrokerClient`] as an
//! `async fn` with the same name and arguments):
//!
//! ```no_run
//! use std::collections::BTreeSet;
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use brokerclient::client::{
//!     BoundaryType, EndTransaction, PullRequest, PullStatus, TransactionState,
//! };
//! use brokerclient::protocol::bodies::{
//!     ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, MessageQueue,
//!     ProducerData,
//! };
//! use brokerclient::protocol::message::Message;
//! use brokerclient::protocol::properties::keys;
//! use brokerclient::{BrokerClient, ClientConfig};
//!
//! # fn main() -> brokerclient::Result<()> {
//! let broker = BrokerClient::new("127.0.0.1:10911", ClientConfig::default());
//! let namesrv = BrokerClient::new("127.0.0.1:9876", ClientConfig::default());
//!
//! // Connection.
//! broker.connect()?;
//! assert!(broker.is_connected());
//!
//! // Admin and name server.
//! broker.create_topic("Orders", 4)?;
//! let route = namesrv.get_route_info("Orders")?;
//! let cluster = namesrv.get_cluster_info()?;
//! # let _ = (route, cluster);
//!
//! // Sending: one message, oneway, a batch, a oneway batch.
//! let mut msg = Message::new("Orders", &b"order #1"[..]);
//! msg.set_tags("created");
//! msg.set_keys(["order-1"]);
//! msg.properties.insert("region", "eu");
//! msg.set_delay_level(2);
//! let sent = broker.send("order_producers", 0, &msg)?;
//! broker.send_oneway("order_producers", 0, &msg)?;
//! let batch: Vec<Message> = (0..10)
//!     .map(|i| Message::new("Orders", format!("order #{i}").into_bytes()))
//!     .collect();
//! broker.send_batch("order_producers", 1, &batch)?;
//! broker.send_batch_oneway("order_producers", 1, &batch)?;
//!
//! // Pulling, with long polling.
//! let req = PullRequest::new("order_consumers", "Orders", 0, sent.queue_offset)
//!     .long_polling(Duration::from_secs(15));
//! let pulled = broker.pull(&req)?;
//! if pulled.status == PullStatus::Found {
//!     for m in &pulled.messages {
//!         println!("{} {:?}", m.queue_offset, m.body);
//!     }
//! }
//!
//! // Registration (heartbeat), membership, offsets.
//! let heartbeat = HeartbeatData {
//!     client_id: String::new(), // filled with broker.client_id()
//!     producer_data_set: vec![ProducerData { group_name: "order_producers".into() }],
//!     consumer_data_set: vec![ConsumerData {
//!         group_name: "order_consumers".into(),
//!         consume_type: ConsumeType::ConsumeActively,
//!         message_model: MessageModel::Clustering,
//!         consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
//!         subscription_data_set: vec![],
//!         unit_mode: false,
//!     }],
//!     heartbeat_fingerprint: 0,
//!     without_sub: false,
//! };
//! broker.heartbeat(&heartbeat)?;
//! let members = broker.get_consumer_list("order_consumers")?;
//! broker.update_consumer_offset("order_consumers", "Orders", 0, pulled.next_begin_offset)?;
//! broker.update_consumer_offset_oneway("order_consumers", "Orders", 0, pulled.next_begin_offset)?;
//! let committed = broker.query_consumer_offset("order_consumers", "Orders", 0)?;
//! let at = broker.search_offset_by_timestamp("Orders", 0, 1_700_000_000_000, BoundaryType::Lower)?;
//! let max = broker.get_max_offset("Orders", 0)?;
//! let min = broker.get_min_offset("Orders", 0)?;
//! let oldest = broker.get_earliest_msg_store_time("Orders", 0)?;
//! let stored = broker.view_message(&sent.offset_msg_id)?;
//! # let _ = (members, committed, at, max, min, oldest);
//!
//! // Redelivery and ordered-consumption locks.
//! broker.consumer_send_back("order_consumers", &stored, 0, None)?;
//! let queues: BTreeSet<MessageQueue> = [MessageQueue {
//!     topic: "Orders".into(),
//!     broker_name: "broker-a".into(),
//!     queue_id: 0,
//! }]
//! .into();
//! let locked = broker.lock_batch_mq("order_consumers", &queues)?;
//! broker.unlock_batch_mq("order_consumers", &locked)?;
//!
//! // Transactions: a half message, ended by the producer or by the broker's check.
//! broker.set_transaction_check_handler(Some(Arc::new(|_check| TransactionState::Commit)));
//! let mut half = Message::new("Orders", &b"pay order #1"[..]);
//! half.properties.insert(keys::TRAN_MSG, "true");
//! let half_sent = broker.send("order_producers", 0, &half)?;
//! broker.end_transaction(&EndTransaction::for_send(
//!     "order_producers",
//!     &half_sent,
//!     TransactionState::Commit,
//! )?)?;
//!
//! // Leaving.
//! broker.unregister_client(Some("order_producers"), Some("order_consumers"))?;
//! broker.disconnect();
//! # Ok(())
//! # }
//! ```

mod blocking;
mod config;
mod handler;
mod ops;
pub mod stats;
pub mod trace;
mod types;
pub mod validate;

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use once_cell::sync::OnceCell;
use tokio::time::Instant;
use tracing::Instrument;

pub use blocking::BrokerClient;
pub use config::{ClientConfig, SendCompression, DEFAULT_MAX_BODY_SIZE};
pub use handler::{NotifyHandler, TransactionCheckHandler};
pub use trace::{TraceConfig, TraceStats};
pub use types::{
    BoundaryType, EndTransaction, PullRequest, PullResult, PullStatus, SendResult, SendStatus,
    TransactionCheck, TransactionState,
};

use crate::error::{BrokerError, Result};
use crate::protocol::codes::response;
use crate::protocol::{CommandHeader, RemotingCommand};
use crate::transport::{Connection, TransportConfig};
use handler::Handlers;

struct Inner {
    addr: String,
    config: ClientConfig,
    transport: Arc<TransportConfig>,
    conn: RwLock<Option<Connection>>,
    /// Serialises connection attempts so concurrent callers share one.
    connecting: tokio::sync::Mutex<()>,
    client_id: OnceCell<String>,
    handlers: Arc<Handlers>,
    /// The trace dispatcher, when tracing is on.
    tracer: Option<trace::Tracer>,
    stats: stats::Stats,
}

impl Drop for Inner {
    /// The last clone of a client closes its connection (its tasks would keep it open).
    fn drop(&mut self) {
        if let Some(c) = self
            .conn
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            c.close();
        }
    }
}

/// A client of one broker or name server. Cheap to clone; clones share the connection.
///
/// The connection is made on `connect()` or on the first operation, and made again on the
/// next operation after it was lost. Every operation has one deadline (the configured
/// request timeout, or [`AsyncBrokerClient::with_timeout`]) covering connect, write and wait.
#[derive(Clone)]
pub struct AsyncBrokerClient {
    inner: Arc<Inner>,
    timeout: Duration,
}

impl std::fmt::Debug for AsyncBrokerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncBrokerClient")
            .field("addr", &self.inner.addr)
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl AsyncBrokerClient {
    /// A client of the broker (or name server) at `addr` ("host:port"). Does not connect yet.
    pub fn new(addr: impl Into<String>, config: ClientConfig) -> Self {
        let addr: String = addr.into();
        let tracer = trace::Tracer::new(&addr, &config);
        let timeout = config.transport.request_timeout;
        let client_id = OnceCell::new();
        if let Some(id) = &config.client_id {
            let _ = client_id.set(id.clone());
        }
        AsyncBrokerClient {
            inner: Arc::new(Inner {
                addr,
                transport: Arc::new(config.transport.clone()),
                config,
                conn: RwLock::new(None),
                connecting: tokio::sync::Mutex::new(()),
                client_id,
                handlers: Arc::new(Handlers::default()),
                tracer,
                stats: stats::Stats::default(),
            }),
            timeout,
        }
    }

    /// The same client with another deadline for each operation.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        AsyncBrokerClient {
            inner: self.inner.clone(),
            timeout,
        }
    }

    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The id the broker knows this client by (`clientIP@instanceName`); settled on the
    /// first connection unless configured.
    pub fn client_id(&self) -> String {
        self.inner
            .client_id
            .get_or_init(|| build_client_id("127.0.0.1", &self.inner.config))
            .clone()
    }

    /// Connects now (operations also connect on demand).
    pub async fn connect(&self) -> Result<()> {
        self.connection(Instant::now() + self.timeout)
            .await
            .map(drop)
    }

    /// Closes the connection; requests in flight fail with a connection error. The next
    /// operation connects again.
    pub fn disconnect(&self) {
        if let Some(c) = self.write_conn().take() {
            c.close();
            self.inner.stats.retire(c.bytes_out(), c.bytes_in());
        }
    }

    /// True while a connection is up.
    pub fn is_connected(&self) -> bool {
        self.current().is_some_and(|c| c.is_connected())
    }

    /// Requests in flight on the current connection.
    pub fn in_flight(&self) -> usize {
        self.current().map_or(0, |c| c.in_flight())
    }

    fn current(&self) -> Option<Connection> {
        self.inner
            .conn
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn write_conn(&self) -> std::sync::RwLockWriteGuard<'_, Option<Connection>> {
        self.inner.conn.write().unwrap_or_else(|e| e.into_inner())
    }

    async fn connection(&self, deadline: Instant) -> Result<Connection> {
        if let Some(c) = self.current().filter(Connection::is_connected) {
            return Ok(c);
        }
        let timed_out = || BrokerError::Timeout {
            addr: self.inner.addr.clone(),
            operation: "connect",
            after: self.timeout,
        };
        let _turn = tokio::time::timeout_at(deadline, self.inner.connecting.lock())
            .await
            .map_err(|_| timed_out())?;
        if let Some(c) = self.current().filter(Connection::is_connected) {
            return Ok(c);
        }
        let handler = handler::ClientRequestHandler::new(
            Arc::downgrade(&self.inner.handlers),
            self.clone_weak(),
        );
        let conn = Connection::connect(
            &self.inner.addr,
            self.inner.transport.clone(),
            Some(Arc::new(handler)),
            deadline,
        )
        .await?;
        if let Some(local) = conn.local_addr() {
            crate::protocol::msgid::init_unique_id_ip(local.ip());
            let _ = self
                .inner
                .client_id
                .set(build_client_id(&local.ip().to_string(), &self.inner.config));
        }
        self.inner.stats.connected();
        if let Some(old) = self.write_conn().replace(conn.clone()) {
            self.inner.stats.retire(old.bytes_out(), old.bytes_in());
        }
        Ok(conn)
    }

    /// This client's statistics now (docs/operators.md explains the fields).
    pub fn stats(&self) -> stats::StatsSnapshot {
        let current = self
            .current()
            .filter(Connection::is_connected)
            .map(|c| (c.bytes_out(), c.bytes_in(), c.in_flight()));
        let mut snap = self.inner.stats.snapshot(current);
        if current.is_none() {
            // A dead connection's traffic still counts.
            if let Some(c) = self.current() {
                snap.bytes_out += c.bytes_out();
                snap.bytes_in += c.bytes_in();
            }
        }
        snap
    }

    fn clone_weak(&self) -> WeakClient {
        WeakClient {
            inner: Arc::downgrade(&self.inner),
            timeout: self.timeout,
        }
    }

    /// Sends a request and returns the response whatever its code.
    async fn call<H: CommandHeader>(
        &self,
        operation: &'static str,
        code: i32,
        header: &H,
        body: bytes::Bytes,
    ) -> Result<RemotingCommand> {
        self.call_until(operation, code, header, body, Instant::now() + self.timeout)
            .await
    }

    /// One request and its answer, in a `broker_request` span (operation, request code,
    /// broker address, and the opaque once assigned) inside the operation's own span (topic,
    /// queue…; see `ops`), so a subscriber (OpenTelemetry's included) sees both. Each ends
    /// with one debug event carrying what pyrocketmq's operation log has: client id,
    /// operation, status, elapsed time and the error.
    async fn call_until<H: CommandHeader>(
        &self,
        operation: &'static str,
        code: i32,
        header: &H,
        body: bytes::Bytes,
        deadline: Instant,
    ) -> Result<RemotingCommand> {
        let started = std::time::Instant::now();
        let span = tracing::debug_span!(
            "broker_request",
            operation,
            code,
            addr = %self.inner.addr,
            opaque = tracing::field::Empty
        );
        let result = async {
            let conn = self.connection(deadline).await?;
            conn.request(operation, code, header, body, deadline).await
        }
        .instrument(span.clone())
        .await;
        let elapsed = started.elapsed();
        let outcome = match &result {
            Ok(r) if r.code == response::SUCCESS => stats::Outcome::Ok,
            Ok(_) => stats::Outcome::Refused,
            Err(e) => stats::Outcome::Failed(e),
        };
        let answered = result.is_ok().then_some(elapsed);
        self.inner.stats.record(operation, outcome, answered);
        span.in_scope(|| self.log_outcome(operation, started, &result));
        result
    }

    /// The per-operation debug event (evaluated only when debug is enabled for this crate).
    fn log_outcome(
        &self,
        operation: &'static str,
        started: std::time::Instant,
        result: &Result<RemotingCommand>,
    ) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let elapsed_us = started.elapsed().as_micros() as u64;
        let client_id = self.client_id();
        match result {
            Ok(r) if r.code == response::SUCCESS => {
                tracing::debug!(
                    client_id,
                    operation,
                    status = "ok",
                    elapsed_us,
                    "operation done"
                )
            }
            Ok(r) => tracing::debug!(
                client_id,
                operation,
                status = "refused",
                response_code = r.code,
                elapsed_us,
                error = r.remark.as_deref().unwrap_or(""),
                "operation done"
            ),
            Err(e) => tracing::debug!(
                client_id,
                operation,
                status = "failed",
                elapsed_us,
                error = %e,
                "operation done"
            ),
        }
    }

    /// Like [`Self::call`], but a non-success response is an error.
    async fn call_ok<H: CommandHeader>(
        &self,
        operation: &'static str,
        code: i32,
        header: &H,
        body: bytes::Bytes,
    ) -> Result<RemotingCommand> {
        success(self.call(operation, code, header, body).await?)
    }

    /// Queues a oneway request (connecting first if needed).
    async fn oneway<H: CommandHeader>(
        &self,
        code: i32,
        header: &H,
        body: bytes::Bytes,
    ) -> Result<()> {
        use crate::protocol::codes::request;
        let operation = match code {
            request::SEND_MESSAGE_V2 => "send oneway",
            request::SEND_BATCH_MESSAGE => "send batch oneway",
            request::UPDATE_CONSUMER_OFFSET => "update offset oneway",
            _ => "oneway",
        };
        let span = tracing::debug_span!("broker_oneway", operation, code, addr = %self.inner.addr);
        let result = match self
            .connection(Instant::now() + self.timeout)
            .instrument(span.clone())
            .await
        {
            Ok(conn) => span.in_scope(|| conn.oneway(code, header, body)),
            Err(e) => Err(e),
        };
        let outcome = match &result {
            Ok(()) => stats::Outcome::Ok,
            Err(e) => stats::Outcome::Failed(e),
        };
        self.inner.stats.record(operation, outcome, None);
        result
    }

    /// Installs the handler of the broker's CHECK_TRANSACTION_STATE requests.
    pub fn set_transaction_check_handler(&self, handler: Option<Arc<TransactionCheckHandler>>) {
        self.inner.handlers.set_transaction(handler);
    }

    /// Installs the handler of NOTIFY_CONSUMER_IDS_CHANGED (a consumer group changed).
    pub fn set_notify_handler(&self, handler: Option<Arc<NotifyHandler>>) {
        self.inner.handlers.set_notify(handler);
    }
}

/// A client reference that does not keep the client alive (held by its connection's
/// request handler, which the client owns).
#[derive(Clone)]
pub(crate) struct WeakClient {
    inner: std::sync::Weak<Inner>,
    timeout: Duration,
}

impl WeakClient {
    pub(crate) fn upgrade(&self) -> Option<AsyncBrokerClient> {
        self.inner.upgrade().map(|inner| AsyncBrokerClient {
            inner,
            timeout: self.timeout,
        })
    }
}

/// The response if it is SUCCESS, else its error.
fn success(resp: RemotingCommand) -> Result<RemotingCommand> {
    if resp.code == response::SUCCESS {
        Ok(resp)
    } else {
        Err(BrokerError::from_response(
            resp.code,
            resp.remark.as_deref(),
        ))
    }
}

fn build_client_id(ip: &str, config: &ClientConfig) -> String {
    let instance = config.instance_name.clone().unwrap_or_else(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}#{}", std::process::id(), nanos)
    });
    format!("{ip}@{instance}")
}

pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
