//! Every broker and name-server operation of [`AsyncBrokerClient`].

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::types::{
    BoundaryType, EndTransaction, PullRequest, PullResult, PullStatus, SendResult, SendStatus,
};
use super::{now_millis, success, validate, AsyncBrokerClient};
use crate::error::{BrokerError, Result};
use crate::protocol::bodies::{
    from_json, to_json, ClusterInfo, ConsumerListBody, HeartbeatData, LockBatchRequestBody,
    LockBatchResponseBody, MessageQueue, TopicRouteData,
};
use crate::protocol::codes::{request, response};
use crate::protocol::headers::{
    perm, ConsumerGroupHeader, ConsumerSendMsgBackRequestHeader, CreateTopicRequestHeader,
    EndTransactionRequestHeader, GetMaxOffsetRequestHeader, GetRouteInfoRequestHeader,
    OffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryConsumerOffsetRequestHeader, QueueRequestHeader, SearchOffsetRequestHeader,
    SendMessageRequestHeaderV2, SendMessageResponseHeader, TimestampResponseHeader,
    UnregisterClientRequestHeader, UpdateConsumerOffsetRequestHeader, ViewMessageRequestHeader,
    AUTO_CREATE_TOPIC_KEY,
};
use crate::protocol::message::{
    compress_body_at, decode_stored_message, decode_stored_messages, encode_batch_body,
    encoded_batch_len, DecodeOptions, Message, MessageExt,
};
use crate::protocol::msgid::{decode_offset_msg_id, unique_id};
use crate::protocol::properties::{keys, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};
use crate::protocol::sysflag;
use crate::protocol::{EmptyHeader, ProtocolError, RemotingCommand};

/// How much later than its hold a long-polling pull may be answered: the broker checks held
/// pulls every 5 s (REMOTING.md §8.2), plus a margin for the round trip.
pub const LONG_POLL_GRACE: Duration = Duration::from_secs(6);

fn protocol(addr: &str, e: ProtocolError) -> BrokerError {
    BrokerError::Protocol {
        addr: addr.to_owned(),
        source: e,
    }
}

/// The properties string of `msg`, with a UNIQ_KEY appended when it has none; and that id.
fn properties_with_id(msg: &Message) -> Result<(String, String)> {
    let mut props = msg
        .properties
        .encode_to_string()
        .map_err(|e| BrokerError::InvalidArgument(e.to_string()))?;
    let id = match msg.properties.get(keys::UNIQ_KEY) {
        Some(id) => id.to_owned(),
        None => {
            let id = unique_id();
            props.push_str(keys::UNIQ_KEY);
            props.push(NAME_VALUE_SEPARATOR as char);
            props.push_str(&id);
            props.push(PROPERTY_SEPARATOR as char);
            id
        }
    };
    Ok((props, id))
}

/// The broker's `TRACE_ON` answer: traces are wanted unless it says "false" (as Java reads it).
fn trace_on(resp: &RemotingCommand) -> bool {
    resp.ext_fields.get("TRACE_ON") != Some("false")
}

fn is_transactional(msg: &Message) -> bool {
    msg.properties
        .get(keys::TRAN_MSG)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

impl AsyncBrokerClient {
    fn send_header(
        &self,
        producer_group: &str,
        queue_id: i32,
        msg: &Message,
        properties: String,
        batch: bool,
        compression_bits: i32,
    ) -> SendMessageRequestHeaderV2 {
        let sys_flag = if is_transactional(msg) {
            sysflag::message::TRANSACTION_PREPARED_TYPE
        } else {
            0
        } | compression_bits;
        SendMessageRequestHeaderV2 {
            producer_group: producer_group.into(),
            topic: msg.topic.clone(),
            default_topic: AUTO_CREATE_TOPIC_KEY.into(),
            default_topic_queue_nums: 4,
            queue_id,
            sys_flag,
            born_timestamp: now_millis(),
            flag: msg.flag,
            properties: (!properties.is_empty()).then_some(properties),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: batch.then_some(true),
            broker_name: None,
        }
    }

    /// A message ready to go: validated, with a UNIQ_KEY and (for half messages) PGROUP.
    fn prepare(&self, producer_group: &str, msg: &Message) -> Result<(String, String)> {
        validate::group(producer_group)?;
        validate::message(msg, self.inner.config.max_body_size)?;
        let (mut props, id) = properties_with_id(msg)?;
        if is_transactional(msg) && msg.properties.get(keys::PGROUP).is_none() {
            props.push_str(keys::PGROUP);
            props.push(NAME_VALUE_SEPARATOR as char);
            props.push_str(producer_group);
            props.push(PROPERTY_SEPARATOR as char);
        }
        validate::sent_properties(props.len())?;
        Ok((props, id))
    }

    /// The body as sent and the sysFlag bits that say how: compressed per
    /// [`SendCompression`](super::SendCompression) when it is long enough and that makes it
    /// smaller, else as it is (0).
    fn wire_body(&self, body: &Bytes) -> (Bytes, i32) {
        let c = self.inner.config.compression;
        if !c.applies_to(body.len()) {
            return (body.clone(), 0);
        }
        match compress_body_at(c.codec, body, c.level) {
            Ok(packed) if packed.len() < body.len() => (
                Bytes::from(packed),
                sysflag::message::COMPRESSED | c.codec.sys_flag_bits(),
            ),
            // Incompressible (or the codec failed): sent as it is, as a smaller body would be.
            _ => (body.clone(), 0),
        }
    }

    /// Sends one message to `queue_id` (negative: the broker picks) and waits for the broker
    /// to store it. A message with `TRAN_MSG=true` is sent as a transaction half message.
    /// Bodies are compressed as the client's [`SendCompression`](super::SendCompression)
    /// says.
    #[tracing::instrument(level = "debug", name = "send", skip_all, fields(topic = %msg.topic, queue_id = queue_id, group = producer_group))]
    pub async fn send(
        &self,
        producer_group: &str,
        queue_id: i32,
        msg: &Message,
    ) -> Result<SendResult> {
        let (props, id) = self.prepare(producer_group, msg)?;
        let (body, bits) = self.wire_body(&msg.body);
        let header = self.send_header(producer_group, queue_id, msg, props, false, bits);
        let traced = self.trace_started();
        let resp = self
            .call("send", request::SEND_MESSAGE_V2, &header, body)
            .await?;
        let trace_on = trace_on(&resp);
        let mut sent = self.send_result(resp, id)?;
        self.trace_sent(
            traced,
            producer_group,
            std::slice::from_ref(msg),
            &sent,
            trace_on,
        );
        // 4.x brokers do not return `transactionId`; it is the UNIQ_KEY either way (the Java
        // producer falls back to it the same way, `sendMessageInTransaction`). 5.x brokers
        // return it for every message: only a half message has one.
        if !is_transactional(msg) {
            sent.transaction_id = None;
        } else if sent.transaction_id.is_none() {
            sent.transaction_id = Some(sent.msg_id.clone());
        }
        Ok(sent)
    }

    /// Sends one message without waiting for (or getting) the broker's answer.
    #[tracing::instrument(level = "debug", name = "send_oneway", skip_all, fields(topic = %msg.topic, queue_id = queue_id, group = producer_group))]
    pub async fn send_oneway(
        &self,
        producer_group: &str,
        queue_id: i32,
        msg: &Message,
    ) -> Result<()> {
        let (props, _) = self.prepare(producer_group, msg)?;
        let (body, bits) = self.wire_body(&msg.body);
        let header = self.send_header(producer_group, queue_id, msg, props, false, bits);
        self.oneway(request::SEND_MESSAGE_V2, &header, body).await
    }

    /// A batch's body, its ids joined by commas, and the sysFlag compression bits of its
    /// header: when its bodies total the compression threshold, every entry's body is
    /// compressed (the flag covers the whole batch, so all or none).
    fn prepare_batch(
        &self,
        producer_group: &str,
        msgs: &[Message],
    ) -> Result<(Bytes, String, i32)> {
        validate::group(producer_group)?;
        validate::batch(msgs, self.inner.config.max_body_size)?;
        let mut ids = Vec::with_capacity(msgs.len());
        let mut with_ids: Vec<Message> = msgs
            .iter()
            .map(|m| {
                let mut m = m.clone();
                let id = m.unique_key().map(str::to_owned).unwrap_or_else(unique_id);
                m.set_unique_key(id.clone());
                ids.push(id);
                m
            })
            .collect();
        // The limit bounds the batch as the application made it (with the ids added), before
        // compression, as the Java producer checks a body before compressing it.
        let len = encoded_batch_len(&with_ids);
        if len > self.inner.config.max_body_size {
            return Err(BrokerError::InvalidArgument(format!(
                "batch encodes to {len} bytes, more than the maximum {}",
                self.inner.config.max_body_size
            )));
        }
        let c = self.inner.config.compression;
        let compress = c.applies_to(msgs.iter().map(|m| m.body.len()).sum());
        if compress {
            for m in &mut with_ids {
                m.body = compress_body_at(c.codec, &m.body, c.level)
                    .map_err(|e| BrokerError::InvalidArgument(e.to_string()))?
                    .into();
            }
        }
        let bits = if compress {
            sysflag::message::COMPRESSED | c.codec.sys_flag_bits()
        } else {
            0
        };
        for m in &with_ids {
            validate::sent_properties(m.properties.encoded_len())?;
        }
        let mut body = Vec::new();
        encode_batch_body(&with_ids, &mut body)
            .map_err(|e| BrokerError::InvalidArgument(e.to_string()))?;
        Ok((Bytes::from(body), ids.join(","), bits))
    }

    /// The header of a batch. Its own properties stay empty: a 5.x broker appends them to
    /// every entry, so a batch-level UNIQ_KEY would hide each message's own id.
    fn batch_header(
        &self,
        producer_group: &str,
        queue_id: i32,
        first: &Message,
        compression_bits: i32,
    ) -> SendMessageRequestHeaderV2 {
        let mut h = self.send_header(producer_group, queue_id, first, String::new(), true, 0);
        h.sys_flag = compression_bits;
        h.flag = 0;
        h
    }

    /// Sends messages of one topic as one batch; they are stored in order, back to back.
    #[tracing::instrument(level = "debug", name = "send_batch", skip_all, fields(topic = msgs.first().map(|m| m.topic.as_str()), queue_id = queue_id, count = msgs.len()))]
    pub async fn send_batch(
        &self,
        producer_group: &str,
        queue_id: i32,
        msgs: &[Message],
    ) -> Result<SendResult> {
        let (body, ids, bits) = self.prepare_batch(producer_group, msgs)?;
        let header = self.batch_header(producer_group, queue_id, &msgs[0], bits);
        let traced = self.trace_started();
        let resp = self
            .call("send batch", request::SEND_BATCH_MESSAGE, &header, body)
            .await?;
        let trace_on = trace_on(&resp);
        let mut sent = self.send_result(resp, ids)?;
        // Batches are never transactional (5.x brokers return a transactionId anyway).
        sent.transaction_id = None;
        self.trace_sent(traced, producer_group, msgs, &sent, trace_on);
        Ok(sent)
    }

    /// Sends a batch without waiting for the broker's answer.
    #[tracing::instrument(level = "debug", name = "send_batch_oneway", skip_all, fields(topic = msgs.first().map(|m| m.topic.as_str()), queue_id = queue_id, count = msgs.len()))]
    pub async fn send_batch_oneway(
        &self,
        producer_group: &str,
        queue_id: i32,
        msgs: &[Message],
    ) -> Result<()> {
        let (body, _, bits) = self.prepare_batch(producer_group, msgs)?;
        let header = self.batch_header(producer_group, queue_id, &msgs[0], bits);
        self.oneway(request::SEND_BATCH_MESSAGE, &header, body)
            .await
    }

    fn send_result(&self, resp: RemotingCommand, msg_id: String) -> Result<SendResult> {
        let status = match resp.code {
            response::SUCCESS => SendStatus::SendOk,
            response::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            response::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            response::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            code => return Err(BrokerError::from_response(code, resp.remark.as_deref())),
        };
        let h: SendMessageResponseHeader =
            resp.decode_header().map_err(|e| protocol(self.addr(), e))?;
        Ok(SendResult {
            status,
            msg_id,
            offset_msg_id: h.msg_id,
            queue_id: h.queue_id,
            queue_offset: h.queue_offset,
            transaction_id: h.transaction_id,
            region_id: h.region_id,
            broker_name: None,
        })
    }

    /// Pulls messages from one queue. With `suspend_timeout` the broker holds the pull until
    /// a message arrives or the hold ends; the deadline is stretched to outlast the hold.
    #[tracing::instrument(level = "debug", name = "pull", skip_all, fields(topic = %req.topic, queue_id = req.queue_id, offset = req.queue_offset, group = %req.consumer_group))]
    pub async fn pull(&self, req: &PullRequest) -> Result<PullResult> {
        validate::group(&req.consumer_group)?;
        validate::topic(&req.topic)?;
        if req.max_msg_nums <= 0 {
            return Err(BrokerError::InvalidArgument(
                "max_msg_nums must be positive".into(),
            ));
        }
        let hold = req.suspend_timeout.unwrap_or_default();
        let sys_flag = sysflag::pull::build(
            req.commit_offset.is_some(),
            req.suspend_timeout.is_some(),
            req.subscription.is_some(),
            false,
            false,
        );
        let header = PullMessageRequestHeader {
            consumer_group: req.consumer_group.clone(),
            topic: req.topic.clone(),
            queue_id: req.queue_id,
            queue_offset: req.queue_offset,
            max_msg_nums: req.max_msg_nums,
            sys_flag,
            commit_offset: req.commit_offset.unwrap_or(0),
            suspend_timeout_millis: hold.as_millis() as i64,
            subscription: req.subscription.clone(),
            sub_version: req.sub_version,
            expression_type: Some(req.expression_type.clone()),
            ..Default::default()
        };
        let budget = if req.suspend_timeout.is_some() {
            self.timeout.max(hold + LONG_POLL_GRACE)
        } else {
            self.timeout
        };
        let resp = self
            .call_until(
                "pull",
                request::PULL_MESSAGE,
                &header,
                Bytes::new(),
                Instant::now() + budget,
            )
            .await?;
        let status = match resp.code {
            response::SUCCESS => PullStatus::Found,
            response::PULL_NOT_FOUND => PullStatus::NoNewMsg,
            response::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
            response::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
            code => return Err(BrokerError::from_response(code, resp.remark.as_deref())),
        };
        let h: PullMessageResponseHeader =
            resp.decode_header().map_err(|e| protocol(self.addr(), e))?;
        let mut messages = if status == PullStatus::Found {
            decode_stored_messages(resp.body.clone(), &DecodeOptions::default())
                .map_err(|e| protocol(self.addr(), e))?
        } else {
            Vec::new()
        };
        if let Some(offset_delta) = h.offset_delta {
            for m in &mut messages {
                m.queue_offset += offset_delta;
            }
        }
        // The broker filters tags by hash only; re-check the exact tag (REMOTING.md §7.8).
        if let Some(tags) = tag_filter(req) {
            messages.retain(|m| m.tags().is_some_and(|t| tags.iter().any(|x| x == t)));
        }
        Ok(PullResult {
            status,
            next_begin_offset: h.next_begin_offset,
            min_offset: h.min_offset,
            max_offset: h.max_offset,
            suggest_which_broker_id: h.suggest_which_broker_id,
            messages,
        })
    }

    async fn offset_call<H: crate::protocol::CommandHeader>(
        &self,
        operation: &'static str,
        code: i32,
        header: &H,
    ) -> Result<i64> {
        let resp = self.call_ok(operation, code, header, Bytes::new()).await?;
        resp.decode_header::<OffsetResponseHeader>()
            .map(|h| h.offset)
            .map_err(|e| protocol(self.addr(), e))
    }

    /// The committed offset of `group` on a queue; `Offset` error when none is committed.
    #[tracing::instrument(level = "debug", name = "query_consumer_offset", skip_all, fields(topic = topic, queue_id = queue_id, group = group))]
    pub async fn query_consumer_offset(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64> {
        validate::group(group)?;
        validate::topic(topic)?;
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            set_zero_if_not_found: Some(false),
            broker_name: None,
        };
        self.offset_call(
            "query consumer offset",
            request::QUERY_CONSUMER_OFFSET,
            &header,
        )
        .await
    }

    fn update_offset_header(
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<UpdateConsumerOffsetRequestHeader> {
        validate::group(group)?;
        validate::topic(topic)?;
        if offset < 0 {
            return Err(BrokerError::InvalidArgument(format!(
                "offset {offset} is negative"
            )));
        }
        Ok(UpdateConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            commit_offset: offset,
            broker_name: None,
        })
    }

    /// Commits `offset` for `group` on a queue. The broker must know the group (heartbeat
    /// or pull first), else SUBSCRIPTION_GROUP_NOT_EXIST.
    #[tracing::instrument(level = "debug", name = "update_consumer_offset", skip_all, fields(topic = topic, queue_id = queue_id, group = group, offset = offset))]
    pub async fn update_consumer_offset(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<()> {
        let header = Self::update_offset_header(group, topic, queue_id, offset)?;
        self.call_ok(
            "update consumer offset",
            request::UPDATE_CONSUMER_OFFSET,
            &header,
            Bytes::new(),
        )
        .await
        .map(drop)
    }

    /// Commits an offset without waiting for the broker.
    #[tracing::instrument(level = "debug", name = "update_consumer_offset_oneway", skip_all, fields(topic = topic, queue_id = queue_id, group = group, offset = offset))]
    pub async fn update_consumer_offset_oneway(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<()> {
        let header = Self::update_offset_header(group, topic, queue_id, offset)?;
        self.oneway(request::UPDATE_CONSUMER_OFFSET, &header, Bytes::new())
            .await
    }

    /// The offset of the first message stored at or after `timestamp_ms` (by `boundary`).
    #[tracing::instrument(level = "debug", name = "search_offset_by_timestamp", skip_all, fields(topic = topic, queue_id = queue_id))]
    pub async fn search_offset_by_timestamp(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
        boundary: BoundaryType,
    ) -> Result<i64> {
        validate::topic(topic)?;
        let header = SearchOffsetRequestHeader {
            topic: topic.into(),
            queue_id,
            timestamp: timestamp_ms,
            boundary_type: Some(boundary.wire().into()),
            broker_name: None,
        };
        self.offset_call(
            "search offset by timestamp",
            request::SEARCH_OFFSET_BY_TIMESTAMP,
            &header,
        )
        .await
    }

    /// The next offset to be written in a queue (exclusive maximum).
    #[tracing::instrument(level = "debug", name = "get_max_offset", skip_all, fields(topic = topic, queue_id = queue_id))]
    pub async fn get_max_offset(&self, topic: &str, queue_id: i32) -> Result<i64> {
        validate::topic(topic)?;
        let header = GetMaxOffsetRequestHeader {
            topic: topic.into(),
            queue_id,
            committed: None,
            broker_name: None,
        };
        self.offset_call("get max offset", request::GET_MAX_OFFSET, &header)
            .await
    }

    /// The smallest offset still stored in a queue.
    #[tracing::instrument(level = "debug", name = "get_min_offset", skip_all, fields(topic = topic, queue_id = queue_id))]
    pub async fn get_min_offset(&self, topic: &str, queue_id: i32) -> Result<i64> {
        validate::topic(topic)?;
        let header = QueueRequestHeader {
            topic: topic.into(),
            queue_id,
            broker_name: None,
        };
        self.offset_call("get min offset", request::GET_MIN_OFFSET, &header)
            .await
    }

    /// The store time (ms) of the oldest message still in a queue.
    pub async fn get_earliest_msg_store_time(&self, topic: &str, queue_id: i32) -> Result<i64> {
        validate::topic(topic)?;
        let header = QueueRequestHeader {
            topic: topic.into(),
            queue_id,
            broker_name: None,
        };
        let resp = self
            .call_ok(
                "get earliest message store time",
                request::GET_EARLIEST_MSG_STORETIME,
                &header,
                Bytes::new(),
            )
            .await?;
        resp.decode_header::<TimestampResponseHeader>()
            .map(|h| h.timestamp)
            .map_err(|e| protocol(self.addr(), e))
    }

    /// The message with this offset message id (as a send returns in `offset_msg_id`).
    #[tracing::instrument(level = "debug", name = "view_message", skip_all, fields(offset_msg_id = offset_msg_id))]
    pub async fn view_message(&self, offset_msg_id: &str) -> Result<MessageExt> {
        let (_, offset) = decode_offset_msg_id(offset_msg_id)
            .map_err(|e| BrokerError::InvalidArgument(e.to_string()))?;
        let header = ViewMessageRequestHeader {
            offset,
            topic: None,
        };
        let resp = self
            .call_ok(
                "view message",
                request::VIEW_MESSAGE_BY_ID,
                &header,
                Bytes::new(),
            )
            .await
            .map_err(|e| match e {
                // The broker answers SYSTEM_ERROR when no message starts at that commit-log
                // offset ("can not find message by the offset"): a wrong id, which asking again
                // will not fix, so not a retriable system error.
                BrokerError::System { code, remark } if code == response::SYSTEM_ERROR => {
                    BrokerError::Response {
                        code,
                        name: "SYSTEM_ERROR",
                        remark,
                    }
                }
                e => e,
            })?;
        let mut body = resp.body.clone();
        decode_stored_message(&mut body, &DecodeOptions::default())
            .map_err(|e| protocol(self.addr(), e))
    }

    /// Registers producer and consumer groups (and subscriptions) with the broker. An empty
    /// `client_id` is filled with this client's id.
    pub async fn heartbeat(&self, data: &HeartbeatData) -> Result<()> {
        for p in &data.producer_data_set {
            validate::group(&p.group_name)?;
        }
        for c in &data.consumer_data_set {
            validate::group(&c.group_name)?;
        }
        let body = if data.client_id.is_empty() {
            let mut d = data.clone();
            self.connect().await?; // settles the client id from the local address
            d.client_id = self.client_id();
            to_json(&d)
        } else {
            to_json(data)
        };
        self.call_ok(
            "heartbeat",
            request::HEART_BEAT,
            &EmptyHeader,
            Bytes::from(body),
        )
        .await
        .map(drop)
    }

    /// Tells the broker this client leaves its producer and/or consumer group.
    pub async fn unregister_client(
        &self,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> Result<()> {
        let header = UnregisterClientRequestHeader {
            client_id: self.lock_client_id().await?,
            producer_group: producer_group.map(str::to_owned),
            consumer_group: consumer_group.map(str::to_owned),
        };
        self.call_ok(
            "unregister client",
            request::UNREGISTER_CLIENT,
            &header,
            Bytes::new(),
        )
        .await
        .map(drop)
    }

    /// Commits, rolls back or leaves unknown a transaction's half message. Oneway, as the
    /// broker sends no response for "unknown".
    #[tracing::instrument(level = "debug", name = "end_transaction", skip_all, fields(group = %end.producer_group))]
    pub async fn end_transaction(&self, end: &EndTransaction) -> Result<()> {
        validate::group(&end.producer_group)?;
        let header = EndTransactionRequestHeader {
            producer_group: end.producer_group.clone(),
            tran_state_table_offset: end.tran_state_table_offset,
            commit_log_offset: end.commit_log_offset,
            commit_or_rollback: end.state.wire(),
            from_transaction_check: Some(end.from_transaction_check),
            msg_id: end.msg_id.clone(),
            transaction_id: end.transaction_id.clone(),
            topic: None,
            broker_name: None,
        };
        self.oneway(request::END_TRANSACTION, &header, Bytes::new())
            .await
    }

    /// Hands a consumed message back for redelivery after `delay_level` (0: the broker
    /// chooses; negative: straight to the dead-letter queue).
    pub async fn consumer_send_back(
        &self,
        group: &str,
        msg: &MessageExt,
        delay_level: i32,
        max_reconsume_times: Option<i32>,
    ) -> Result<()> {
        validate::group(group)?;
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: group.into(),
            delay_level,
            origin_msg_id: Some(msg.msg_id()),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: Some(false),
            max_reconsume_times,
            broker_name: None,
        };
        self.call_ok(
            "consumer send back",
            request::CONSUMER_SEND_MSG_BACK,
            &header,
            Bytes::new(),
        )
        .await
        .map(drop)
    }

    /// The client ids of a consumer group's live members (empty when it has none).
    pub async fn get_consumer_list(&self, group: &str) -> Result<Vec<String>> {
        validate::group(group)?;
        let header = ConsumerGroupHeader {
            consumer_group: group.into(),
        };
        let resp = self
            .call(
                "get consumer list",
                request::GET_CONSUMER_LIST_BY_GROUP,
                &header,
                Bytes::new(),
            )
            .await?;
        // A group with no consumers is a SYSTEM_ERROR on the broker; to a caller it is empty.
        if resp.code == response::SYSTEM_ERROR
            && resp
                .remark
                .as_deref()
                .is_some_and(|r| r.contains("no consumer"))
        {
            return Ok(Vec::new());
        }
        let resp = success(resp)?;
        let body: ConsumerListBody =
            from_json(&resp.body, "consumer list").map_err(|e| protocol(self.addr(), e))?;
        Ok(body.consumer_id_list)
    }

    /// Locks queues for ordered consumption by this client; returns those now locked.
    pub async fn lock_batch_mq(
        &self,
        group: &str,
        mqs: &BTreeSet<MessageQueue>,
    ) -> Result<BTreeSet<MessageQueue>> {
        validate::group(group)?;
        let body = LockBatchRequestBody {
            consumer_group: group.into(),
            client_id: self.lock_client_id().await?,
            only_this_broker: false,
            mq_set: mqs.clone(),
        };
        let resp = self
            .call_ok(
                "lock queues",
                request::LOCK_BATCH_MQ,
                &EmptyHeader,
                Bytes::from(to_json(&body)),
            )
            .await?;
        let locked: LockBatchResponseBody =
            from_json(&resp.body, "lock response").map_err(|e| protocol(self.addr(), e))?;
        Ok(locked.lock_ok_mq_set)
    }

    /// Releases queue locks held by this client.
    pub async fn unlock_batch_mq(&self, group: &str, mqs: &BTreeSet<MessageQueue>) -> Result<()> {
        validate::group(group)?;
        let body = LockBatchRequestBody {
            consumer_group: group.into(),
            client_id: self.lock_client_id().await?,
            only_this_broker: false,
            mq_set: mqs.clone(),
        };
        self.call_ok(
            "unlock queues",
            request::UNLOCK_BATCH_MQ,
            &EmptyHeader,
            Bytes::from(to_json(&body)),
        )
        .await
        .map(drop)
    }

    /// The client id after connecting, so it carries the address the broker sees.
    async fn lock_client_id(&self) -> Result<String> {
        self.connect().await?;
        Ok(self.client_id())
    }

    /// Creates (or updates) a topic with `queue_nums` read and write queues (admin).
    pub async fn create_topic(&self, topic: &str, queue_nums: i32) -> Result<()> {
        validate::send_topic(topic)?;
        if queue_nums <= 0 {
            return Err(BrokerError::InvalidArgument(
                "queue_nums must be positive".into(),
            ));
        }
        let header = CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: AUTO_CREATE_TOPIC_KEY.into(),
            read_queue_nums: queue_nums,
            write_queue_nums: queue_nums,
            perm: perm::READ | perm::WRITE,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
            attributes: None,
            force: None,
        };
        self.call_ok(
            "create topic",
            request::UPDATE_AND_CREATE_TOPIC,
            &header,
            Bytes::new(),
        )
        .await
        .map(drop)
    }

    /// The route of `topic` (ask a name server).
    pub async fn get_route_info(&self, topic: &str) -> Result<TopicRouteData> {
        validate::topic(topic)?;
        let header = GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: Some(true),
        };
        let resp = self
            .call_ok(
                "get route info",
                request::GET_ROUTEINFO_BY_TOPIC,
                &header,
                Bytes::new(),
            )
            .await?;
        from_json(&resp.body, "route").map_err(|e| protocol(self.addr(), e))
    }

    /// Every cluster and broker the name server knows (ask a name server).
    pub async fn get_cluster_info(&self) -> Result<ClusterInfo> {
        let resp = self
            .call_ok(
                "get cluster info",
                request::GET_BROKER_CLUSTER_INFO,
                &EmptyHeader,
                Bytes::new(),
            )
            .await?;
        from_json(&resp.body, "cluster info").map_err(|e| protocol(self.addr(), e))
    }
}

/// The exact tags a TAG subscription names, or `None` for `*`/SQL92 (nothing to re-check).
fn tag_filter(req: &PullRequest) -> Option<Vec<String>> {
    let sub = req.subscription.as_deref()?.trim();
    if sub == "*" || sub.is_empty() || !req.expression_type.eq_ignore_ascii_case("TAG") {
        return None;
    }
    Some(
        sub.split("||")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
    )
}
