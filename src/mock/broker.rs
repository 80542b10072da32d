//! What the mock answers under [`Behavior::Normal`](super::Behavior::Normal): a small,
//! in-memory model of one broker (and of a name server pointing at it), shaped like the Java
//! broker's replies so the client's decoding is tested against what it meets in production
//! (REMOTING.md §10 item 24: every field Java sends, in the JSON header Java uses).
//!
//! Everything here is bounded (see the `MAX_*` constants): a test that sends without end
//! ages old messages out instead of growing the mock.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::protocol::bodies::{
    self, BrokerData, ClusterInfo, ConsumerListBody, HeartbeatData, LockBatchRequestBody,
    LockBatchResponseBody, QueueData, TopicRouteData,
};
use crate::protocol::codes::{request, response, LanguageCode, SerializeType};
use crate::protocol::command::{CommandHeader, ExtFields, FLAG_RESPONSE};
use crate::protocol::headers::{
    perm, ConsumerGroupHeader, CreateTopicRequestHeader, EndTransactionRequestHeader,
    GetMaxOffsetRequestHeader, GetRouteInfoRequestHeader, OffsetResponseHeader,
    PullMessageRequestHeader, PullMessageResponseHeader, QueryConsumerOffsetRequestHeader,
    QueueRequestHeader, SearchOffsetRequestHeader, SendMessageRequestHeader,
    SendMessageRequestHeaderV2, SendMessageResponseHeader, TimestampResponseHeader,
    UnregisterClientRequestHeader, UpdateConsumerOffsetRequestHeader, ViewMessageRequestHeader,
};
use crate::protocol::message::{
    decode_batch_body, decompress_body, encode_stored_message, MessageExt, DEFAULT_MAX_BODY_SIZE,
};
use crate::protocol::properties::{keys, Properties};
use crate::protocol::sysflag::{message as msgflag, pull as pullflag, CompressionType};
use crate::protocol::RemotingCommand;

/// `version` the mock writes in its headers: a 5.3.3 broker (`MQVersion.CURRENT_VERSION`).
pub const BROKER_VERSION: i32 = 479;
/// The broker name the mock reports in routes and cluster info.
pub const BROKER_NAME: &str = "mock-broker";
/// The cluster the mock reports (also stamped on stored messages as `CLUSTER`, as Java does).
pub const CLUSTER_NAME: &str = "DefaultCluster";
/// `MSG_REGION` of send responses (the broker's default `regionId`).
pub const REGION: &str = "DefaultRegion";
/// Queues a topic gets in routes unless UPDATE_AND_CREATE_TOPIC said otherwise.
pub const DEFAULT_QUEUE_NUMS: i32 = 4;
/// Where the Java broker keeps prepared (half) transactional messages until END_TRANSACTION.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";

/// Stored record bytes kept in all queues together; beyond it the oldest records of the queue
/// being written are dropped (their offsets stay used, as when a real broker deletes files).
const MAX_STORE_BYTES: usize = 64 * 1024 * 1024;
/// Records kept per queue.
const MAX_MESSAGES_PER_QUEUE: usize = 16 * 1024;
/// Distinct (topic, queue) pairs; sends to more still succeed but are not kept.
const MAX_QUEUES: usize = 1024;
/// Committed consumer offsets, created topics, consumer groups, clients per group.
const MAX_TABLE_ENTRIES: usize = 4096;
/// Bytes of records in one pull response (the first record is always returned).
const MAX_PULL_BYTES: usize = 4 * 1024 * 1024;
/// Java's remark for a message the store refuses (`SendMessageProcessor`).
const MESSAGE_ILLEGAL_REMARK: &str = "the message is illegal, maybe msg body or properties length not matched. msg body length limit 128k, msg properties length limit 32k.";

/// One stored record and what the mock needs to answer queries about it without decoding it.
struct Stored {
    record: Bytes,
    commit_log_offset: i64,
    store_timestamp: i64,
    tags: Option<String>,
}

/// One consume queue: records at logical offsets `min_offset..min_offset + msgs.len()`.
#[derive(Default)]
struct QueueLog {
    min_offset: i64,
    msgs: VecDeque<Stored>,
}

impl QueueLog {
    fn max_offset(&self) -> i64 {
        self.min_offset + self.msgs.len() as i64
    }
}

/// The mock broker's data: queues, consumer offsets, consumer groups, created topics.
pub(super) struct BrokerState {
    /// The mock's own address: the store host of every record and the broker of every route.
    store_host: SocketAddr,
    queues: HashMap<(String, i32), QueueLog>,
    stored_bytes: usize,
    commit_log_offset: i64,
    consumer_offsets: HashMap<(String, String, i32), i64>,
    /// Consumer group → client ids, from heartbeats (for GET_CONSUMER_LIST_BY_GROUP).
    consumers: HashMap<String, BTreeSet<String>>,
    /// Topic → queue count, from UPDATE_AND_CREATE_TOPIC (for routes).
    topics: HashMap<String, i32>,
}

/// Why a request got an error response instead of its normal answer.
type Refusal = (i32, String);

impl BrokerState {
    pub fn new(store_host: SocketAddr) -> Self {
        BrokerState {
            store_host,
            queues: HashMap::new(),
            stored_bytes: 0,
            commit_log_offset: 0,
            consumer_offsets: HashMap::new(),
            consumers: HashMap::new(),
            topics: HashMap::new(),
        }
    }

    /// The broker's answer to `req` from the client at `peer`, or `None` when the broker sends
    /// none (oneway requests, END_TRANSACTION with state "unknown"). Side effects (storing a
    /// message, committing an offset) happen for oneway requests too.
    pub fn handle(&mut self, req: &RemotingCommand, peer: SocketAddr) -> Option<RemotingCommand> {
        let answer = match req.code {
            request::SEND_MESSAGE | request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE => {
                self.send(req, peer)
            }
            request::PULL_MESSAGE | request::LITE_PULL_MESSAGE => self.pull(req),
            request::QUERY_CONSUMER_OFFSET => self.query_consumer_offset(req),
            request::UPDATE_CONSUMER_OFFSET => self.update_consumer_offset(req),
            request::SEARCH_OFFSET_BY_TIMESTAMP => self.search_offset(req),
            request::GET_MAX_OFFSET => decode::<GetMaxOffsetRequestHeader>(req).map(|h| {
                let offset = self
                    .queue(&h.topic, h.queue_id)
                    .map_or(0, QueueLog::max_offset);
                reply(req, response::SUCCESS, None).with_header(&OffsetResponseHeader { offset })
            }),
            request::GET_MIN_OFFSET => decode::<QueueRequestHeader>(req).map(|h| {
                let offset = self.queue(&h.topic, h.queue_id).map_or(0, |q| q.min_offset);
                reply(req, response::SUCCESS, None).with_header(&OffsetResponseHeader { offset })
            }),
            request::GET_EARLIEST_MSG_STORETIME => decode::<QueueRequestHeader>(req).map(|h| {
                let timestamp = self
                    .queue(&h.topic, h.queue_id)
                    .and_then(|q| q.msgs.front())
                    .map_or(-1, |m| m.store_timestamp);
                reply(req, response::SUCCESS, None)
                    .with_header(&TimestampResponseHeader { timestamp })
            }),
            request::VIEW_MESSAGE_BY_ID => self.view_message(req),
            request::HEART_BEAT => self.heartbeat(req),
            request::UNREGISTER_CLIENT => decode::<UnregisterClientRequestHeader>(req).map(|h| {
                if let Some(group) = &h.consumer_group {
                    if let Some(clients) = self.consumers.get_mut(group) {
                        clients.remove(&h.client_id);
                    }
                }
                reply(req, response::SUCCESS, None)
            }),
            request::CONSUMER_SEND_MSG_BACK => Ok(reply(req, response::SUCCESS, None)),
            request::END_TRANSACTION => return self.end_transaction(req),
            request::GET_CONSUMER_LIST_BY_GROUP => decode::<ConsumerGroupHeader>(req).map(|h| {
                match self.consumers.get(&h.consumer_group) {
                    Some(clients) if !clients.is_empty() => {
                        let body = ConsumerListBody {
                            consumer_id_list: clients.iter().cloned().collect(),
                        };
                        reply(req, response::SUCCESS, None).with_body(bodies::to_json(&body))
                    }
                    _ => reply(
                        req,
                        response::SYSTEM_ERROR,
                        Some(format!("no consumer for this group, {}", h.consumer_group)),
                    ),
                }
            }),
            request::LOCK_BATCH_MQ => {
                body::<LockBatchRequestBody>(req, "lock batch request").map(|b| {
                    let locked = LockBatchResponseBody {
                        lock_ok_mq_set: b.mq_set,
                    };
                    reply(req, response::SUCCESS, None).with_body(bodies::to_json(&locked))
                })
            }
            request::UNLOCK_BATCH_MQ => Ok(reply(req, response::SUCCESS, None)),
            request::UPDATE_AND_CREATE_TOPIC => decode::<CreateTopicRequestHeader>(req).map(|h| {
                if self.topics.len() < MAX_TABLE_ENTRIES || self.topics.contains_key(&h.topic) {
                    self.topics.insert(h.topic, h.write_queue_nums.max(1));
                }
                reply(req, response::SUCCESS, None)
            }),
            request::GET_ROUTEINFO_BY_TOPIC => decode::<GetRouteInfoRequestHeader>(req).map(|h| {
                reply(req, response::SUCCESS, None)
                    .with_body(bodies::to_json(&self.route(&h.topic)))
            }),
            request::GET_BROKER_CLUSTER_INFO => {
                Ok(reply(req, response::SUCCESS, None).with_body(bodies::to_json(&self.cluster())))
            }
            code => Ok(reply(
                req,
                response::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(" request type {code} not supported")),
            )),
        };
        if req.is_oneway() {
            return None;
        }
        Some(answer.unwrap_or_else(|(code, remark)| reply(req, code, Some(remark))))
    }

    fn queue(&self, topic: &str, queue_id: i32) -> Option<&QueueLog> {
        self.queues.get(&(topic.to_owned(), queue_id))
    }

    /// SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE (REMOTING.md §4.2–4.4).
    fn send(
        &mut self,
        req: &RemotingCommand,
        peer: SocketAddr,
    ) -> Result<RemotingCommand, Refusal> {
        let h: SendMessageRequestHeader = if req.code == request::SEND_MESSAGE {
            decode(req)?
        } else {
            decode::<SendMessageRequestHeaderV2>(req)?.into()
        };
        // A 0-byte body decodes as null in Java and is refused (gotcha 23).
        if req.body.is_empty() {
            return Err((response::MESSAGE_ILLEGAL, MESSAGE_ILLEGAL_REMARK.into()));
        }
        let props = match &h.properties {
            Some(p) => Properties::decode(p.as_bytes())
                .map_err(|e| (response::MESSAGE_ILLEGAL, e.to_string()))?,
            None => Properties::new(),
        };
        // The broker picks a queue when the producer does not; the mock always picks 0.
        let queue_id = h.queue_id.max(0);
        // The broker routes on the header's batch flag, not on the code (gotcha 7).
        let entries: Vec<(i32, Bytes, Properties)> = if h.batch == Some(true) {
            let entries = decode_batch_body(req.body.clone())
                .map_err(|e| (response::MESSAGE_ILLEGAL, e.to_string()))?;
            entries
                .into_iter()
                .map(|e| {
                    let mut p = e.properties;
                    for (k, v) in props.iter() {
                        if !p.contains_key(k) {
                            p.insert(k, v);
                        }
                    }
                    (e.flag, e.body, p)
                })
                .collect()
        } else {
            vec![(h.flag, req.body.clone(), props)]
        };

        let prepared = msgflag::transaction_value(h.sys_flag) == msgflag::TRANSACTION_PREPARED_TYPE;
        let now = now_millis();
        let mut msg_ids = Vec::with_capacity(entries.len());
        let mut first_offset = None;
        let mut unique_key = None;
        for (flag, body, mut properties) in entries {
            properties.insert(keys::CLUSTER, CLUSTER_NAME);
            let (topic, qid) = if prepared {
                // Java parks half messages in the half topic until END_TRANSACTION.
                properties.insert(keys::REAL_TOPIC, h.topic.as_str());
                properties.insert(keys::REAL_QID, queue_id.to_string());
                (HALF_TOPIC.to_owned(), 0)
            } else {
                (h.topic.clone(), queue_id)
            };
            let mut sys_flag = h.sys_flag;
            let mut body = body;
            if h.batch == Some(true) {
                sys_flag &= !(msgflag::COMPRESSED | msgflag::COMPRESSION_TYPE_MASK);
            } else if msgflag::has(sys_flag, msgflag::COMPRESSED) {
                // encode_stored_message compresses again with the type in the sysFlag.
                let kind = CompressionType::from_sys_flag(sys_flag).ok_or_else(|| {
                    (
                        response::MESSAGE_ILLEGAL,
                        "unknown compression type".to_owned(),
                    )
                })?;
                body = decompress_body(kind, &body, DEFAULT_MAX_BODY_SIZE)
                    .map_err(|e| (response::MESSAGE_ILLEGAL, e.to_string()))?
                    .into();
            }
            unique_key = properties.get(keys::UNIQ_KEY).map(str::to_owned);
            let msg = MessageExt {
                queue_id: qid,
                flag,
                sys_flag,
                born_timestamp: h.born_timestamp,
                born_host: peer,
                store_timestamp: now,
                store_host: self.store_host,
                reconsume_times: h.reconsume_times.unwrap_or(0),
                topic,
                properties,
                body,
                ..MessageExt::default()
            };
            let (queue_offset, commit_log_offset) = self.append(msg)?;
            first_offset.get_or_insert(queue_offset);
            msg_ids.push(crate::protocol::msgid::offset_msg_id(
                self.store_host,
                commit_log_offset,
            ));
        }
        let header = SendMessageResponseHeader {
            msg_id: msg_ids.join(","),
            queue_id,
            queue_offset: first_offset.unwrap_or(0),
            // Java: the message's UNIQ_KEY (for a batch, the last entry's here).
            transaction_id: unique_key,
            batch_uniq_id: None,
            region_id: Some(REGION.into()),
            trace_on: Some("true".into()),
        };
        Ok(reply(req, response::SUCCESS, None).with_header(&header))
    }

    /// Stores `msg` at the end of its queue; returns its queue and commit-log offsets.
    fn append(&mut self, mut msg: MessageExt) -> Result<(i64, i64), Refusal> {
        let key = (msg.topic.clone(), msg.queue_id);
        if !self.queues.contains_key(&key) && self.queues.len() >= MAX_QUEUES {
            // Too many queues: answer as if stored, keep nothing.
            let offset = self.commit_log_offset;
            return Ok((0, offset));
        }
        let queue = self.queues.entry(key).or_default();
        msg.queue_offset = queue.max_offset();
        msg.commit_log_offset = self.commit_log_offset;
        let mut record = Vec::new();
        encode_stored_message(&msg, &mut record)
            .map_err(|e| (response::MESSAGE_ILLEGAL, e.to_string()))?;
        self.commit_log_offset += record.len() as i64;
        // Age out the oldest records of this queue to stay within the bounds.
        while !queue.msgs.is_empty()
            && (queue.msgs.len() >= MAX_MESSAGES_PER_QUEUE
                || self.stored_bytes + record.len() > MAX_STORE_BYTES)
        {
            let old = queue.msgs.pop_front().expect("not empty");
            self.stored_bytes -= old.record.len();
            queue.min_offset += 1;
        }
        let stored = Stored {
            commit_log_offset: msg.commit_log_offset,
            store_timestamp: msg.store_timestamp,
            tags: msg.properties.get(keys::TAGS).map(str::to_owned),
            record: record.into(),
        };
        if self.stored_bytes + stored.record.len() > MAX_STORE_BYTES {
            // Larger than the whole budget: it expires at once.
            queue.min_offset = msg.queue_offset + 1;
        } else {
            self.stored_bytes += stored.record.len();
            queue.msgs.push_back(stored);
        }
        Ok((msg.queue_offset, msg.commit_log_offset))
    }

    /// PULL_MESSAGE / LITE_PULL_MESSAGE (REMOTING.md §4.5), answered at once (no long polling):
    /// statuses and `nextBeginOffset` as `DefaultMessageStore.getMessage` computes them, codes
    /// as `PullMessageProcessor` maps them, the status name as remark.
    fn pull(&mut self, req: &RemotingCommand) -> Result<RemotingCommand, Refusal> {
        let h: PullMessageRequestHeader = decode(req)?;
        if pullflag::COMMIT_OFFSET & h.sys_flag != 0 && h.commit_offset >= 0 {
            self.commit_offset(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
        }
        let filter = (h.sys_flag & pullflag::SUBSCRIPTION != 0)
            .then(|| tag_filter(h.subscription.as_deref(), h.expression_type.as_deref()))
            .flatten();
        let empty = QueueLog::default();
        let q = self.queue(&h.topic, h.queue_id).unwrap_or(&empty);
        let (min, max, offset) = (q.min_offset, q.max_offset(), h.queue_offset);
        let mut body = Vec::new();
        let (status, code, next) = if max == 0 {
            let code = if offset == 0 {
                response::PULL_NOT_FOUND
            } else {
                response::PULL_OFFSET_MOVED
            };
            ("NO_MESSAGE_IN_QUEUE", code, 0)
        } else if offset < min {
            ("OFFSET_TOO_SMALL", response::PULL_OFFSET_MOVED, min)
        } else if offset == max {
            ("OFFSET_OVERFLOW_ONE", response::PULL_NOT_FOUND, offset)
        } else if offset > max {
            ("OFFSET_OVERFLOW_BADLY", response::PULL_OFFSET_MOVED, max)
        } else {
            let want = h.max_msg_nums.max(1) as usize;
            let byte_cap = h
                .max_msg_bytes
                .filter(|b| *b > 0)
                .map_or(MAX_PULL_BYTES, |b| (b as usize).min(MAX_PULL_BYTES));
            let mut next = offset;
            let mut found = 0;
            for m in q.msgs.iter().skip((offset - min) as usize) {
                if found == want || (found > 0 && body.len() + m.record.len() > byte_cap) {
                    break;
                }
                next += 1;
                if filter.as_ref().map_or(true, |tags| {
                    m.tags
                        .as_deref()
                        .is_some_and(|t| tags.iter().any(|x| x == t))
                }) {
                    body.extend_from_slice(&m.record);
                    found += 1;
                }
            }
            if found == 0 {
                ("NO_MATCHED_MESSAGE", response::PULL_RETRY_IMMEDIATELY, next)
            } else {
                ("FOUND", response::SUCCESS, next)
            }
        };
        let header = PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            offset_delta: None,
            topic_sys_flag: Some(0),
            group_sys_flag: Some(0),
            forbidden_type: None,
        };
        Ok(reply(req, code, Some(status.into()))
            .with_header(&header)
            .with_body(body))
    }

    fn commit_offset(&mut self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let key = (group.to_owned(), topic.to_owned(), queue_id);
        if self.consumer_offsets.len() < MAX_TABLE_ENTRIES
            || self.consumer_offsets.contains_key(&key)
        {
            self.consumer_offsets.insert(key, offset);
        }
    }

    /// The committed offset of a consumer group on a queue.
    pub fn consumer_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.consumer_offsets
            .get(&(group.to_owned(), topic.to_owned(), queue_id))
            .copied()
    }

    /// (min, max) logical offsets of a queue; (0, 0) for one never written.
    pub fn offsets(&self, topic: &str, queue_id: i32) -> (i64, i64) {
        self.queue(topic, queue_id)
            .map_or((0, 0), |q| (q.min_offset, q.max_offset()))
    }

    fn query_consumer_offset(&mut self, req: &RemotingCommand) -> Result<RemotingCommand, Refusal> {
        let h: QueryConsumerOffsetRequestHeader = decode(req)?;
        match self.consumer_offset(&h.consumer_group, &h.topic, h.queue_id) {
            Some(offset) => {
                Ok(reply(req, response::SUCCESS, None)
                    .with_header(&OffsetResponseHeader { offset }))
            }
            // Java answers 0 for a group that never committed when the queue still starts at
            // 0, unless told not to (`setZeroIfNotFound=false`).
            None if h.set_zero_if_not_found != Some(false)
                && self.offsets(&h.topic, h.queue_id).0 == 0 =>
            {
                Ok(reply(req, response::SUCCESS, None)
                    .with_header(&OffsetResponseHeader { offset: 0 }))
            }
            None => Err((
                response::QUERY_NOT_FOUND,
                "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first".into(),
            )),
        }
    }

    fn update_consumer_offset(
        &mut self,
        req: &RemotingCommand,
    ) -> Result<RemotingCommand, Refusal> {
        let h: UpdateConsumerOffsetRequestHeader = decode(req)?;
        self.commit_offset(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
        Ok(reply(req, response::SUCCESS, None))
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: LOWER (default) finds the first message stored at or after
    /// the time, UPPER the last one stored at or before it.
    fn search_offset(&mut self, req: &RemotingCommand) -> Result<RemotingCommand, Refusal> {
        let h: SearchOffsetRequestHeader = decode(req)?;
        let upper = h
            .boundary_type
            .as_deref()
            .is_some_and(|b| b.eq_ignore_ascii_case("UPPER"));
        let offset = match self.queue(&h.topic, h.queue_id) {
            None => 0,
            Some(q) => {
                let idx = |i: usize| q.min_offset + i as i64;
                if upper {
                    q.msgs
                        .iter()
                        .rposition(|m| m.store_timestamp <= h.timestamp)
                        .map_or(q.min_offset, idx)
                } else {
                    q.msgs
                        .iter()
                        .position(|m| m.store_timestamp >= h.timestamp)
                        .map_or(q.max_offset(), idx)
                }
            }
        };
        Ok(reply(req, response::SUCCESS, None).with_header(&OffsetResponseHeader { offset }))
    }

    fn view_message(&mut self, req: &RemotingCommand) -> Result<RemotingCommand, Refusal> {
        let h: ViewMessageRequestHeader = decode(req)?;
        let found = self
            .queues
            .values()
            .flat_map(|q| q.msgs.iter())
            .find(|m| m.commit_log_offset == h.offset);
        match found {
            Some(m) => Ok(reply(req, response::SUCCESS, None).with_body(m.record.clone())),
            None => Err((
                response::SYSTEM_ERROR,
                format!("can not find message by the offset, {}", h.offset),
            )),
        }
    }

    /// HEART_BEAT: registers the consumer groups; a 5.x broker adds the heartbeat-v2 fields.
    fn heartbeat(&mut self, req: &RemotingCommand) -> Result<RemotingCommand, Refusal> {
        let hb: HeartbeatData = body(req, "heartbeat")?;
        for c in &hb.consumer_data_set {
            if self.consumers.len() >= MAX_TABLE_ENTRIES
                && !self.consumers.contains_key(&c.group_name)
            {
                continue;
            }
            let clients = self.consumers.entry(c.group_name.clone()).or_default();
            if clients.len() < MAX_TABLE_ENTRIES {
                clients.insert(hb.client_id.clone());
            }
        }
        let mut resp = reply(req, response::SUCCESS, None);
        resp.ext_fields.insert("IS_SUPPORT_HEART_BEAT_V2", "true");
        resp.ext_fields.insert("IS_SUB_CHANGE", "true");
        Ok(resp)
    }

    /// END_TRANSACTION: state 0 gets no response at all (gotcha 9); commit moves the half
    /// message to its real topic, rollback drops it (the mock answers SUCCESS either way).
    fn end_transaction(&mut self, req: &RemotingCommand) -> Option<RemotingCommand> {
        let h = match decode::<EndTransactionRequestHeader>(req) {
            Ok(h) => h,
            Err((code, remark)) => {
                return (!req.is_oneway()).then(|| reply(req, code, Some(remark)));
            }
        };
        if h.commit_or_rollback == msgflag::TRANSACTION_NOT_TYPE {
            return None;
        }
        if h.commit_or_rollback == msgflag::TRANSACTION_COMMIT_TYPE {
            self.commit_half(h.commit_log_offset);
        }
        (!req.is_oneway()).then(|| reply(req, response::SUCCESS, None))
    }

    fn commit_half(&mut self, commit_log_offset: i64) {
        let Some(half) = self.queues.get(&(HALF_TOPIC.to_owned(), 0)) else {
            return;
        };
        let Some(m) = half
            .msgs
            .iter()
            .find(|m| m.commit_log_offset == commit_log_offset)
        else {
            return;
        };
        let opts = crate::protocol::message::DecodeOptions::new();
        let Ok(mut msg) =
            crate::protocol::message::decode_stored_message(&mut m.record.clone(), &opts)
        else {
            return;
        };
        let Some(topic) = msg.properties.remove(keys::REAL_TOPIC) else {
            return;
        };
        let qid = msg
            .properties
            .remove(keys::REAL_QID)
            .and_then(|q| q.parse().ok())
            .unwrap_or(0);
        msg.topic = topic;
        msg.queue_id = qid;
        msg.sys_flag =
            msgflag::with_transaction_value(msg.sys_flag, msgflag::TRANSACTION_COMMIT_TYPE);
        msg.prepared_transaction_offset = commit_log_offset;
        msg.store_timestamp = now_millis();
        let _ = self.append(msg);
    }

    /// A route to this mock for any topic (the name server side of the mock).
    fn route(&self, topic: &str) -> TopicRouteData {
        let nums = self
            .topics
            .get(topic)
            .copied()
            .unwrap_or(DEFAULT_QUEUE_NUMS);
        TopicRouteData {
            order_topic_conf: None,
            queue_datas: vec![QueueData {
                broker_name: BROKER_NAME.into(),
                read_queue_nums: nums,
                write_queue_nums: nums,
                perm: perm::READ | perm::WRITE,
                topic_sys_flag: 0,
            }],
            broker_datas: vec![self.broker_data()],
            filter_server_table: HashMap::new(),
        }
    }

    fn broker_data(&self) -> BrokerData {
        BrokerData {
            cluster: CLUSTER_NAME.into(),
            broker_name: BROKER_NAME.into(),
            broker_addrs: BTreeMap::from([(0, self.store_host.to_string())]),
            zone_name: None,
            enable_acting_master: false,
        }
    }

    fn cluster(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: BTreeMap::from([(BROKER_NAME.to_owned(), self.broker_data())]),
            cluster_addr_table: BTreeMap::from([(
                CLUSTER_NAME.to_owned(),
                BTreeSet::from([BROKER_NAME.to_owned()]),
            )]),
        }
    }
}

/// A response to `req` as the Java broker writes it: JSON header, language JAVA, the broker's
/// version, the request's opaque, the response flag; no remark unless given.
pub(super) fn reply(req: &RemotingCommand, code: i32, remark: Option<String>) -> RemotingCommand {
    RemotingCommand {
        code,
        language: LanguageCode::Java,
        version: BROKER_VERSION,
        opaque: req.opaque,
        flag: FLAG_RESPONSE,
        remark,
        ext_fields: ExtFields::new(),
        body: Bytes::new(),
        serialize_type: SerializeType::Json,
    }
}

trait WithHeader {
    fn with_header<H: CommandHeader>(self, h: &H) -> Self;
}

impl WithHeader for RemotingCommand {
    fn with_header<H: CommandHeader>(mut self, h: &H) -> Self {
        self.ext_fields = h.to_ext_fields();
        self
    }
}

/// The typed header of `req`; a missing or unparsable field is SYSTEM_ERROR, which is where the
/// Java broker ends up too (REMOTING.md §1.8, gotcha 4).
fn decode<H: CommandHeader>(req: &RemotingCommand) -> Result<H, Refusal> {
    req.decode_header::<H>()
        .map_err(|e| (response::SYSTEM_ERROR, format!("bad request header: {e}")))
}

/// The JSON body of `req`; an undecodable one is SYSTEM_ERROR (Java fails with an NPE).
fn body<T: serde::de::DeserializeOwned>(
    req: &RemotingCommand,
    what: &'static str,
) -> Result<T, Refusal> {
    bodies::from_json(&req.body, what)
        .map_err(|e| (response::SYSTEM_ERROR, format!("bad request body: {e}")))
}

/// The tags a TAG subscription accepts, or `None` for "everything" (`*`, empty, SQL92).
fn tag_filter(subscription: Option<&str>, expression_type: Option<&str>) -> Option<Vec<String>> {
    if expression_type.is_some_and(|t| !t.eq_ignore_ascii_case("TAG")) {
        return None;
    }
    let sub = subscription?.trim();
    if sub.is_empty() || sub == "*" {
        return None;
    }
    Some(
        sub.split("||")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
    )
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::command::FLAG_ONEWAY;
    use crate::protocol::message::{encode_batch_body, DecodeOptions, Message};
    use crate::protocol::msgid::decode_offset_msg_id;
    use crate::protocol::sysflag::CompressionType;

    fn state() -> BrokerState {
        BrokerState::new("127.0.0.1:10911".parse().unwrap())
    }

    fn peer() -> SocketAddr {
        "127.0.0.1:50000".parse().unwrap()
    }

    fn send_header(topic: &str, queue_id: i32, props: &Properties) -> SendMessageRequestHeaderV2 {
        SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: topic.into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id,
            sys_flag: 0,
            born_timestamp: 1,
            flag: 0,
            properties: Some(props.encode_to_string().unwrap()),
            ..Default::default()
        }
        .into()
    }

    fn send(st: &mut BrokerState, h: &SendMessageRequestHeaderV2, body: &[u8]) -> RemotingCommand {
        let req = RemotingCommand::request(request::SEND_MESSAGE_V2, h)
            .with_body(Bytes::copy_from_slice(body));
        st.handle(&req, peer()).unwrap()
    }

    fn pull(st: &mut BrokerState, topic: &str, offset: i64, sub: Option<&str>) -> RemotingCommand {
        let h = PullMessageRequestHeader {
            consumer_group: "CG".into(),
            topic: topic.into(),
            queue_id: 0,
            queue_offset: offset,
            max_msg_nums: 32,
            sys_flag: if sub.is_some() {
                pullflag::SUBSCRIPTION
            } else {
                0
            },
            subscription: sub.map(str::to_owned),
            ..Default::default()
        };
        st.handle(&RemotingCommand::request(request::PULL_MESSAGE, &h), peer())
            .unwrap()
    }

    fn tagged(tag: &str) -> Properties {
        let mut p = Properties::new();
        p.insert(keys::TAGS, tag);
        p
    }

    #[test]
    fn pull_statuses_follow_the_java_store() {
        let mut st = state();
        let empty = pull(&mut st, "T", 0, None);
        assert_eq!(
            (empty.code, empty.remark.as_deref()),
            (19, Some("NO_MESSAGE_IN_QUEUE"))
        );
        assert_eq!(
            pull(&mut st, "T", 5, None).code,
            response::PULL_OFFSET_MOVED
        );
        for i in 0..3 {
            let r = send(&mut st, &send_header("T", 0, &tagged("a")), b"m");
            let h: SendMessageResponseHeader = r.decode_header().unwrap();
            assert_eq!(h.queue_offset, i);
        }
        let found = pull(&mut st, "T", 1, None);
        assert_eq!(found.code, response::SUCCESS);
        let h: PullMessageResponseHeader = found.decode_header().unwrap();
        assert_eq!((h.next_begin_offset, h.max_offset), (3, 3));
        let msgs =
            crate::protocol::message::decode_stored_messages(found.body, &DecodeOptions::new())
                .unwrap();
        assert_eq!(
            msgs.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(msgs[0].property(keys::CLUSTER), Some(CLUSTER_NAME));
        let over = pull(&mut st, "T", 9, None);
        let h: PullMessageResponseHeader = over.decode_header().unwrap();
        assert_eq!(
            (over.code, h.next_begin_offset),
            (response::PULL_OFFSET_MOVED, 3)
        );
        // Messages there, none with the subscribed tag: retry from past them.
        let none = pull(&mut st, "T", 0, Some("b || c"));
        let h: PullMessageResponseHeader = none.decode_header().unwrap();
        assert_eq!(
            (none.code, h.next_begin_offset),
            (response::PULL_RETRY_IMMEDIATELY, 3)
        );
        assert_eq!(
            pull(&mut st, "T", 0, Some("c || a")).code,
            response::SUCCESS
        );
    }

    #[test]
    fn batch_needs_the_batch_flag_and_gets_one_id_per_message() {
        let mut st = state();
        let msgs: Vec<Message> = (0..3)
            .map(|i| Message::new("B", Bytes::from(vec![b'0' + i])))
            .collect();
        let mut body = Vec::new();
        encode_batch_body(&msgs, &mut body).unwrap();
        let mut h = send_header("B", 1, &Properties::new());
        h.batch = Some(true);
        let req = RemotingCommand::request(request::SEND_BATCH_MESSAGE, &h).with_body(body.clone());
        let r = st.handle(&req, peer()).unwrap();
        let rh: SendMessageResponseHeader = r.decode_header().unwrap();
        let ids: Vec<_> = rh.msg_id.split(',').collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.iter().all(|id| decode_offset_msg_id(id).is_ok()));
        assert_eq!(st.offsets("B", 1), (0, 3));
        // Code 320 alone is not a batch (gotcha 7): stored as one message.
        h.batch = None;
        let req = RemotingCommand::request(request::SEND_BATCH_MESSAGE, &h).with_body(body);
        st.handle(&req, peer()).unwrap();
        assert_eq!(st.offsets("B", 1), (0, 4));
    }

    #[test]
    fn refusals_and_unknown_codes_look_like_java() {
        let mut st = state();
        let empty = send(&mut st, &send_header("T", 0, &Properties::new()), b"");
        assert_eq!(empty.code, response::MESSAGE_ILLEGAL);
        let unknown = st
            .handle(&RemotingCommand::request(4242, &ExtFields::new()), peer())
            .unwrap();
        assert_eq!(unknown.code, response::REQUEST_CODE_NOT_SUPPORTED);
        assert_eq!(
            unknown.remark.as_deref(),
            Some(" request type 4242 not supported")
        );
        let bad = st
            .handle(
                &RemotingCommand::request(request::GET_MAX_OFFSET, &ExtFields::new()),
                peer(),
            )
            .unwrap();
        assert_eq!(bad.code, response::SYSTEM_ERROR);
        // Oneway: processed, never answered.
        let mut oneway = RemotingCommand::request(
            request::SEND_MESSAGE_V2,
            &send_header("T", 0, &Properties::new()),
        )
        .with_body(&b"x"[..]);
        oneway.flag = FLAG_ONEWAY;
        assert!(st.handle(&oneway, peer()).is_none());
        assert_eq!(st.offsets("T", 0), (0, 1));
    }

    #[test]
    fn half_messages_appear_on_commit_only() {
        let mut st = state();
        let mut h = send_header("TX", 0, &Properties::new());
        h.sys_flag = msgflag::TRANSACTION_PREPARED_TYPE;
        let r = send(&mut st, &h, b"tx");
        let rh: SendMessageResponseHeader = r.decode_header().unwrap();
        assert_eq!(st.offsets("TX", 0), (0, 0), "a half message is not visible");
        let (_, commit_log_offset) = decode_offset_msg_id(&rh.msg_id).unwrap();
        let end = |kind| EndTransactionRequestHeader {
            producer_group: "PG".into(),
            tran_state_table_offset: rh.queue_offset,
            commit_log_offset,
            commit_or_rollback: kind,
            msg_id: "U".into(),
            ..Default::default()
        };
        let unknown = RemotingCommand::request(request::END_TRANSACTION, &end(0));
        assert!(
            st.handle(&unknown, peer()).is_none(),
            "state 0 gets no response"
        );
        let commit = RemotingCommand::request(request::END_TRANSACTION, &end(8));
        assert_eq!(st.handle(&commit, peer()).unwrap().code, response::SUCCESS);
        assert_eq!(st.offsets("TX", 0), (0, 1));
        let m = pull(&mut st, "TX", 0, None);
        assert_eq!(m.code, response::SUCCESS);
        let msgs = crate::protocol::message::decode_stored_messages(m.body, &DecodeOptions::new())
            .unwrap();
        assert_eq!(&msgs[0].body[..], b"tx");
        assert_eq!(
            msgflag::transaction_value(msgs[0].sys_flag),
            msgflag::TRANSACTION_COMMIT_TYPE
        );
    }

    #[test]
    fn compressed_bodies_are_stored_compressed_and_read_back() {
        let mut st = state();
        let raw = vec![b'z'; 4096];
        let mut h = send_header("Z", 0, &Properties::new());
        h.sys_flag = msgflag::COMPRESSED | CompressionType::Zstd.sys_flag_bits();
        let packed = crate::protocol::message::compress_body(CompressionType::Zstd, &raw).unwrap();
        assert_eq!(send(&mut st, &h, &packed).code, response::SUCCESS);
        let found = pull(&mut st, "Z", 0, None);
        let msgs =
            crate::protocol::message::decode_stored_messages(found.body, &DecodeOptions::new())
                .unwrap();
        assert_eq!(&msgs[0].body[..], &raw[..]);
    }

    #[test]
    fn queues_stay_bounded() {
        let mut st = state();
        let h = send_header("Many", 0, &Properties::new());
        for _ in 0..MAX_MESSAGES_PER_QUEUE + 10 {
            send(&mut st, &h, b"x");
        }
        let (min, max) = st.offsets("Many", 0);
        assert_eq!(max, (MAX_MESSAGES_PER_QUEUE + 10) as i64);
        assert_eq!(max - min, MAX_MESSAGES_PER_QUEUE as i64);
        let too_small = pull(&mut st, "Many", 0, None);
        let ph: PullMessageResponseHeader = too_small.decode_header().unwrap();
        assert_eq!(too_small.remark.as_deref(), Some("OFFSET_TOO_SMALL"));
        assert_eq!(ph.next_begin_offset, min);
        // Each pull is capped at maxMsgNums.
        let found = pull(&mut st, "Many", min, None);
        let ph: PullMessageResponseHeader = found.decode_header().unwrap();
        assert_eq!(ph.next_begin_offset, min + 32);
    }

    #[test]
    fn route_points_at_the_mock_with_every_field() {
        let mut st = state();
        let req = RemotingCommand::request(
            request::GET_ROUTEINFO_BY_TOPIC,
            &GetRouteInfoRequestHeader {
                topic: "R".into(),
                accept_standard_json_only: Some(true),
            },
        );
        let r = st.handle(&req, peer()).unwrap();
        let text = std::str::from_utf8(&r.body).unwrap();
        assert!(text.contains("\"filterServerTable\""), "{text}");
        assert!(text.contains("\"enableActingMaster\""), "{text}");
        let route: TopicRouteData = bodies::from_json(&r.body, "route").unwrap();
        assert_eq!(route.master_addr(BROKER_NAME), Some("127.0.0.1:10911"));
        assert_eq!(route.write_queues("R").len(), DEFAULT_QUEUE_NUMS as usize);
    }
}
