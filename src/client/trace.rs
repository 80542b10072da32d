//! Message trace: a `Pub` record of every message sent, written to the trace topic in the
//! Java client's format ([`crate::protocol::trace`]) so the RocketMQ dashboard's
//! message-trace view shows messages this library sent.
//!
//! Sends never wait for their traces: a successful send offers its records to a bounded
//! queue (a full queue drops the records and counts them, never the message) and returns. A
//! task on the library runtime takes what is queued, up to [`TraceConfig::batch_size`]
//! records at a time, packs the records of one traced topic into trace messages of at most
//! [`MAX_TRACE_MESSAGE_BYTES`] each (as Java's `AsyncTraceDispatcher` does) and sends them
//! to the trace topic over its own connection to the same broker (Java uses a separate trace
//! producer too), keyed by each traced message's id and keys so the dashboard finds them.
//! Dropping the client lets the task send what is still queued, then end.
//!
//! What Java traces is traced: sends and batch sends that got a result from the broker whose
//! response carries a region id and not `TRACE_ON=false` (the broker's `traceOn`). Oneway
//! sends have no result and are not traced, as in Java. A batch gets one record per message
//! (Java writes one record for the whole batch, under the comma-joined ids, which the
//! dashboard's lookup by id cannot find).
//!
//! The broker must have the trace topic: `traceTopicEnable=true` in the broker's
//! configuration creates `RMQ_SYS_TRACE_TOPIC` (or its `msgTraceTopicName`) at start-up;
//! `autoCreateTopicEnable=true` creates it on the first trace message; or create it (or a
//! custom [`TraceConfig::topic`]) with `mqadmin updateTopic`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use once_cell::sync::OnceCell;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use super::types::{SendResult, SendStatus};
use super::{now_millis, AsyncBrokerClient, ClientConfig};
use crate::protocol::codes::{request, response};
use crate::protocol::headers::{SendMessageRequestHeaderV2, AUTO_CREATE_TOPIC_KEY};
use crate::protocol::message::Message;
use crate::protocol::msgid::unique_id;
use crate::protocol::properties::keys;
pub use crate::protocol::trace::{
    decode_trace_data, MessageType, TraceBean, TraceContext, TraceDecodeError, TraceType,
    CONTENT_SPLITOR, DEFAULT_TRACE_TOPIC, FIELD_SPLITOR, MAX_TRACE_MESSAGE_BYTES,
    TRACE_GROUP_PREFIX,
};

/// Whether and where sends are traced (C keys `trace.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceConfig {
    /// Off by default.
    pub enabled: bool,
    /// The trace topic; default [`DEFAULT_TRACE_TOPIC`].
    pub topic: String,
    /// Records waiting to be sent, at most; more are dropped (and counted). Default 2048, as
    /// Java's dispatcher queue.
    pub queue_capacity: usize,
    /// Records taken from the queue for one round of trace messages, at most. Default 20
    /// (Java's largest `traceMsgBatchNum`).
    pub batch_size: usize,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            enabled: false,
            topic: DEFAULT_TRACE_TOPIC.to_owned(),
            queue_capacity: 2048,
            batch_size: 20,
        }
    }
}

/// Counts of a client's trace records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceStats {
    /// Records queued for sending.
    pub queued: u64,
    /// Records dropped because the queue was full.
    pub dropped: u64,
    /// Records in trace messages the broker stored.
    pub sent: u64,
    /// Records in trace messages that failed to send.
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    dropped: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    /// Signalled whenever records are sent or failed (for [`Tracer::flush`]).
    progress: Notify,
}

impl Counters {
    fn done(&self) -> u64 {
        self.sent.load(Ordering::Acquire) + self.failed.load(Ordering::Acquire)
    }
}

/// A client's trace dispatcher: the queue end the sends offer records to.
pub(crate) struct Tracer {
    config: TraceConfig,
    addr: String,
    client: ClientConfig,
    queue: OnceCell<mpsc::Sender<TraceContext>>,
    counters: Arc<Counters>,
}

impl Tracer {
    /// A dispatcher for a client of `addr` with `client`'s settings, when tracing is on.
    pub(crate) fn new(addr: &str, client: &ClientConfig) -> Option<Tracer> {
        let config = client.trace.clone();
        if !config.enabled {
            return None;
        }
        let mut own = client.clone();
        own.trace.enabled = false;
        Some(Tracer {
            config,
            addr: addr.to_owned(),
            client: own,
            queue: OnceCell::new(),
            counters: Arc::default(),
        })
    }

    /// The queue, starting the sending task on first use.
    fn queue(&self) -> &mpsc::Sender<TraceContext> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(self.config.queue_capacity.max(1));
            let sender = TraceSender {
                client: AsyncBrokerClient::new(self.addr.clone(), self.client.clone())
                    .with_timeout(Duration::from_secs(5)),
                topic: self.config.topic.clone(),
                batch_size: self.config.batch_size.max(1),
                counters: self.counters.clone(),
            };
            crate::transport::runtime::runtime().spawn(sender.run(rx));
            tx
        })
    }

    /// Offers a record; a full queue drops it (counted).
    fn offer(&self, ctx: TraceContext) {
        match self.queue().try_send(ctx) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::AcqRel);
            }
            Err(_) => {
                let n = self.counters.dropped.fetch_add(1, Ordering::AcqRel) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(dropped = n, "trace queue full: trace records dropped");
                }
            }
        }
    }

    /// Records of a send that returned `sent`: one per message of `msgs` (a batch: in order,
    /// matched with the comma-joined ids of the result). `started_ms` is when the send began.
    pub(crate) fn record_send(
        &self,
        started_ms: i64,
        store_host: &str,
        group: &str,
        msgs: &[Message],
        sent: &SendResult,
        trace_on: bool,
    ) {
        let Some(region) = sent.region_id.as_deref().filter(|_| trace_on) else {
            return; // as Java: the broker's traceOn is off, or it sent no region
        };
        if msgs.iter().any(|m| m.topic.starts_with(&self.config.topic)) {
            return;
        }
        let cost = (now_millis() - started_ms).max(0);
        let ids: Vec<&str> = sent.msg_id.split(',').collect();
        let offset_ids: Vec<&str> = sent.offset_msg_id.split(',').collect();
        for (i, m) in msgs.iter().enumerate() {
            let bean = TraceBean {
                topic: m.topic.clone(),
                msg_id: ids.get(i).copied().unwrap_or("").to_owned(),
                offset_msg_id: offset_ids.get(i).copied().unwrap_or("").to_owned(),
                tags: m.tags().unwrap_or("null").to_owned(),
                keys: m.keys().unwrap_or("null").to_owned(),
                store_host: store_host.to_owned(),
                body_length: m.body.len() as i32,
                msg_type: message_type(m),
                ..TraceBean::default()
            };
            let mut ctx = TraceContext::publish(started_ms, group, bean);
            ctx.region_id = region.to_owned();
            ctx.cost_time = (cost / msgs.len() as i64).min(i32::MAX as i64) as i32;
            ctx.success = sent.status == SendStatus::SendOk;
            self.offer(ctx);
        }
    }

    pub(crate) fn stats(&self) -> TraceStats {
        let c = &self.counters;
        TraceStats {
            queued: c.queued.load(Ordering::Acquire),
            dropped: c.dropped.load(Ordering::Acquire),
            sent: c.sent.load(Ordering::Acquire),
            failed: c.failed.load(Ordering::Acquire),
        }
    }

    /// Waits until every record queued so far was sent or failed, or until `deadline`;
    /// true when they were.
    pub(crate) async fn flush(&self, deadline: Instant) -> bool {
        let target = self.counters.queued.load(Ordering::Acquire);
        loop {
            let notified = self.counters.progress.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.counters.done() >= target {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.counters.done() >= target;
            }
        }
    }
}

/// Java's message type of a send (`DefaultMQProducerImpl.sendKernelImpl`): a half message,
/// a delayed one (delay level or `__STARTDELIVERTIME`), else normal.
fn message_type(m: &Message) -> MessageType {
    if m.property(keys::DELAY).is_some() || m.property("__STARTDELIVERTIME").is_some() {
        MessageType::Delay
    } else if m.property(keys::TRAN_MSG) == Some("true") {
        MessageType::TransHalf
    } else {
        MessageType::Normal
    }
}

/// The task that sends queued records.
struct TraceSender {
    client: AsyncBrokerClient,
    topic: String,
    batch_size: usize,
    counters: Arc<Counters>,
}

impl TraceSender {
    async fn run(self, mut rx: mpsc::Receiver<TraceContext>) {
        let mut batch = Vec::with_capacity(self.batch_size);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < self.batch_size {
                match rx.try_recv() {
                    Ok(ctx) => batch.push(ctx),
                    Err(_) => break,
                }
            }
            self.send_round(&mut batch).await;
        }
        self.client.disconnect();
    }

    /// Sends a round's records: per traced topic (in order of first appearance), packed
    /// into messages of up to [`MAX_TRACE_MESSAGE_BYTES`].
    async fn send_round(&self, batch: &mut Vec<TraceContext>) {
        while let Some(topic) = batch
            .first()
            .and_then(|c| c.beans.first())
            .map(|b| b.topic.clone())
        {
            let (same, rest): (Vec<_>, Vec<_>) = std::mem::take(batch)
                .into_iter()
                .partition(|c| c.beans.first().is_some_and(|b| b.topic == topic));
            *batch = rest;
            let mut body = String::with_capacity(1024);
            let mut keys: Vec<&str> = Vec::new();
            let mut count = 0u64;
            for ctx in &same {
                ctx.encode_into(&mut body);
                for k in ctx.trans_keys() {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
                count += 1;
                if body.len() >= MAX_TRACE_MESSAGE_BYTES {
                    self.send_one(std::mem::take(&mut body), &keys, count).await;
                    keys.clear();
                    count = 0;
                }
            }
            if count > 0 {
                self.send_one(body, &keys, count).await;
            }
        }
    }

    async fn send_one(&self, body: String, keys: &[&str], records: u64) {
        let ok = match self.send_message(body, keys).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, records, topic = %self.topic, "sending trace data failed");
                false
            }
        };
        let counter = if ok {
            &self.counters.sent
        } else {
            &self.counters.failed
        };
        counter.fetch_add(records, Ordering::AcqRel);
        self.counters.progress.notify_waiters();
    }

    /// One trace message: a normal message to the trace topic (queue picked by the broker),
    /// keyed by the traced ids and keys.
    async fn send_message(&self, body: String, keys: &[&str]) -> crate::Result<()> {
        let mut msg = Message::new(self.topic.clone(), Bytes::from(body));
        msg.set_keys(keys.iter().copied());
        msg.set_unique_key(unique_id());
        let properties = msg
            .properties
            .encode_to_string()
            .map_err(|e| crate::BrokerError::InvalidArgument(e.to_string()))?;
        let header = SendMessageRequestHeaderV2 {
            producer_group: format!("{TRACE_GROUP_PREFIX}-brokerclient-PRODUCE"),
            topic: self.topic.clone(),
            default_topic: AUTO_CREATE_TOPIC_KEY.into(),
            default_topic_queue_nums: 4,
            queue_id: -1,
            sys_flag: 0,
            born_timestamp: now_millis(),
            flag: 0,
            properties: Some(properties),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: None,
            broker_name: None,
        };
        let resp = self
            .client
            .call("send trace", request::SEND_MESSAGE_V2, &header, msg.body)
            .await?;
        match resp.code {
            response::SUCCESS
            | response::FLUSH_DISK_TIMEOUT
            | response::FLUSH_SLAVE_TIMEOUT
            | response::SLAVE_NOT_AVAILABLE => Ok(()),
            code => Err(crate::BrokerError::from_response(
                code,
                resp.remark.as_deref(),
            )),
        }
    }
}

impl AsyncBrokerClient {
    /// Counts of this client's trace records; `None` when tracing is off
    /// ([`TraceConfig::enabled`]).
    pub fn trace_stats(&self) -> Option<TraceStats> {
        self.inner.tracer.as_ref().map(Tracer::stats)
    }

    /// Waits (up to `timeout`) until every trace record queued so far was sent or failed;
    /// true when they were (or tracing is off). For a clean shutdown: records still queued
    /// when the process ends are lost.
    pub async fn flush_traces(&self, timeout: Duration) -> bool {
        match &self.inner.tracer {
            Some(t) => t.flush(Instant::now() + timeout).await,
            None => true,
        }
    }

    /// When tracing is on: the time a send begins (ms), for [`Tracer::record_send`].
    pub(super) fn trace_started(&self) -> Option<i64> {
        self.inner.tracer.as_ref().map(|_| now_millis())
    }

    /// Hands a finished send's records to the dispatcher (never waits).
    pub(super) fn trace_sent(
        &self,
        started_ms: Option<i64>,
        group: &str,
        msgs: &[Message],
        sent: &SendResult,
        trace_on: bool,
    ) {
        if let (Some(t), Some(started)) = (&self.inner.tracer, started_ms) {
            t.record_send(started, self.addr(), group, msgs, sent, trace_on);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(ids: &str, offsets: &str) -> SendResult {
        SendResult {
            status: SendStatus::SendOk,
            msg_id: ids.into(),
            offset_msg_id: offsets.into(),
            queue_id: 0,
            queue_offset: 0,
            transaction_id: None,
            region_id: Some("DefaultRegion".into()),
            broker_name: None,
        }
    }

    fn tracer(capacity: usize) -> Tracer {
        let mut c = ClientConfig::default();
        c.trace.enabled = true;
        c.trace.queue_capacity = capacity;
        Tracer::new("127.0.0.1:1", &c).unwrap()
    }

    #[test]
    fn off_by_default() {
        assert!(Tracer::new("a:1", &ClientConfig::default()).is_none());
    }

    /// A full queue drops records (counted); the sending task is not running here (a
    /// channel of our own stands in), so nothing drains it.
    #[test]
    fn full_queue_drops_and_counts() {
        let t = tracer(2);
        let (tx, _rx) = mpsc::channel(2);
        t.queue.set(tx).ok().unwrap();
        let mut m = Message::new("T", &b"x"[..]);
        m.set_tags("a");
        for _ in 0..5 {
            t.record_send(
                now_millis(),
                "h:1",
                "g",
                &[m.clone()],
                &result("i", "o"),
                true,
            );
        }
        assert_eq!(
            t.stats(),
            TraceStats {
                queued: 2,
                dropped: 3,
                sent: 0,
                failed: 0
            }
        );
    }

    #[test]
    fn records_follow_java_rules() {
        let t = tracer(16);
        let (tx, mut rx) = mpsc::channel(16);
        t.queue.set(tx).ok().unwrap();
        let mut delayed = Message::new("T", &b"abc"[..]);
        delayed.set_delay_level(2);
        delayed.set_keys(["k1", "k2"]);
        let plain = Message::new("T", &b"abcd"[..]);
        t.record_send(
            1,
            "h:1",
            "g",
            &[delayed, plain],
            &result("i1,i2", "o1,o2"),
            true,
        );
        let a = rx.try_recv().unwrap();
        let b = rx.try_recv().unwrap();
        assert_eq!(a.beans[0].msg_type, MessageType::Delay);
        assert_eq!(
            (a.beans[0].keys.as_str(), a.beans[0].tags.as_str()),
            ("k1 k2", "null")
        );
        assert_eq!(
            (
                b.beans[0].msg_id.as_str(),
                b.beans[0].offset_msg_id.as_str()
            ),
            ("i2", "o2")
        );
        assert_eq!(b.beans[0].body_length, 4);
        assert_eq!(a.timestamp, 1);
        // The broker's traceOn off, no region, or the trace topic itself: no records.
        let m = Message::new("T", &b"x"[..]);
        t.record_send(
            1,
            "h",
            "g",
            std::slice::from_ref(&m),
            &result("i", "o"),
            false,
        );
        let mut r = result("i", "o");
        r.region_id = None;
        t.record_send(1, "h", "g", &[m], &r, true);
        let own = Message::new(DEFAULT_TRACE_TOPIC, &b"x"[..]);
        t.record_send(1, "h", "g", &[own], &result("i", "o"), true);
        assert!(rx.try_recv().is_err());
    }
}
