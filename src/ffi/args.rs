//! Arguments from C made into Rust values: checked and copied before an operation is
//! accepted, so a bad one is returned as `BC_ERR_INVALID_ARG` and never called back. Each
//! conversion is written once and shared by both exports of a blocking/async pair (and by the
//! client and manager exports that take the same argument).

use std::ffi::{c_char, CStr};
use std::time::Duration;

use super::boundary::{arg, str_arg};
use super::error::bc_error;
use super::message::{bc_message, message_arg};
use super::result::bc_batch;
use super::status::bc_status;
use crate::client::PullRequest;
use crate::error::BrokerError;
use crate::protocol::message::Message;

/// A timeout in milliseconds from C; negative counts as 0.
pub(crate) fn millis(ms: i32) -> Duration {
    Duration::from_millis(ms.max(0) as u64)
}

/// `upper` non-zero: the last of several messages stored at the same time.
pub(crate) fn boundary(upper: i32) -> crate::client::BoundaryType {
    if upper != 0 {
        crate::client::BoundaryType::Upper
    } else {
        crate::client::BoundaryType::Lower
    }
}

/// A send's producer group and message, copied and checked (topic, body, properties).
pub(crate) fn send_args(
    producer_group: *const c_char,
    message: *const bc_message,
    max_body: usize,
) -> Result<(String, Message), bc_error> {
    let group = owned(producer_group, "producer_group")?;
    let msg = message_arg(message)?.clone();
    precheck_send(&group, std::slice::from_ref(&msg), max_body)?;
    Ok((group, msg))
}

/// A batch send's producer group and messages, copied and checked.
pub(crate) fn batch_send_args(
    producer_group: *const c_char,
    messages: *const *const bc_message,
    count: usize,
    max_body: usize,
) -> Result<(String, Vec<Message>), bc_error> {
    let group = owned(producer_group, "producer_group")?;
    let msgs = batch_arg(messages, count)?;
    precheck_send(&group, &msgs, max_body)?;
    Ok((group, msgs))
}

/// A producer group, a consumer group or both (as heartbeats and unregistering take them).
pub(crate) fn groups(
    producer_group: *const c_char,
    consumer_group: *const c_char,
) -> Result<(Option<String>, Option<String>), bc_error> {
    Ok((
        opt_owned(producer_group, "producer_group")?,
        opt_owned(consumer_group, "consumer_group")?,
    ))
}

/// Rejects a send's bad arguments before anything is accepted, so an async call reports
/// them as its return value instead of through the callback.
pub(crate) fn precheck_send(
    group: &str,
    msgs: &[Message],
    max_body: usize,
) -> Result<(), bc_error> {
    use crate::client::validate;
    let invalid = |e: BrokerError| bc_error::from_broker(&e);
    validate::group(group).map_err(invalid)?;
    match msgs {
        [one] => validate::message(one, max_body).map_err(invalid),
        many => validate::batch(many, max_body).map_err(invalid),
    }
}

/// `host:port` with a non-empty host and a port in 1..=65535 (checked here so a typo is an
/// immediate `BC_ERR_INVALID_ARG`, not a retriable connection error later).
pub(crate) fn check_addr(addr: &str) -> Result<(), bc_error> {
    let bad = || bc_error::invalid_arg(&format!("`addr` {addr:?} is not host:port"));
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || (host.contains(':') && !addr.starts_with('[')) {
        return Err(bad());
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(bad()),
    }
}

pub(crate) fn batch_arg(
    messages: *const *const bc_message,
    count: usize,
) -> Result<Vec<Message>, bc_error> {
    if count == 0 {
        return Err(bc_error::invalid_arg("the batch is empty"));
    }
    if messages.is_null() {
        return Err(bc_error::invalid_arg("`messages` is NULL"));
    }
    // SAFETY: `count` readable pointers at `messages`, per the contract.
    let ptrs = unsafe { std::slice::from_raw_parts(messages, count) };
    ptrs.iter()
        .enumerate()
        .map(|(i, p)| {
            message_arg(*p)
                .cloned()
                .map_err(|_| bc_error::invalid_arg(&format!("`messages[{i}]` is NULL")))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn pull_request(
    consumer_group: *const c_char,
    topic: *const c_char,
    queue_id: i32,
    offset: i64,
    max_messages: i32,
    suspend_timeout_ms: i32,
    subscription: *const c_char,
) -> Result<PullRequest, bc_error> {
    let group = str_arg(consumer_group, "consumer_group")?;
    let topic = str_arg(topic, "topic")?;
    let invalid = |e: BrokerError| bc_error::from_broker(&e);
    crate::client::validate::group(group).map_err(invalid)?;
    crate::client::validate::topic(topic).map_err(invalid)?;
    if max_messages <= 0 {
        return Err(bc_error::invalid_arg("`max_messages` must be positive"));
    }
    let mut req = PullRequest::new(group, topic, queue_id, offset);
    req.max_msg_nums = max_messages;
    if !subscription.is_null() {
        req.subscription = Some(str_arg(subscription, "subscription")?.to_owned());
    }
    if suspend_timeout_ms > 0 {
        req.suspend_timeout = Some(Duration::from_millis(suspend_timeout_ms as u64));
    }
    Ok(req)
}

pub(crate) fn owned(ptr: *const c_char, name: &str) -> Result<String, bc_error> {
    str_arg(ptr, name).map(str::to_owned)
}

pub(crate) fn opt_owned(ptr: *const c_char, name: &str) -> Result<Option<String>, bc_error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        owned(ptr, name).map(Some)
    }
}

pub(crate) fn transaction_state(state: i32) -> Result<crate::client::TransactionState, bc_error> {
    use crate::client::TransactionState::*;
    match state {
        0 => Ok(Unknown),
        1 => Ok(Commit),
        2 => Ok(Rollback),
        _ => Err(bc_error::invalid_arg(&format!(
            "transaction state {state} is not 0, 1 or 2"
        ))),
    }
}

/// The heartbeat that registers a producer group and/or a pull consumer group (clustering,
/// consume from the first offset); an empty client id (filled by the client).
pub(crate) fn heartbeat_data(
    producer: Option<String>,
    consumer: Option<String>,
) -> Result<crate::protocol::bodies::HeartbeatData, BrokerError> {
    use crate::protocol::bodies::*;
    if producer.is_none() && consumer.is_none() {
        return Err(BrokerError::InvalidArgument(
            "give a producer group, a consumer group or both".into(),
        ));
    }
    Ok(HeartbeatData {
        client_id: String::new(),
        producer_data_set: producer
            .into_iter()
            .map(|g| ProducerData { group_name: g })
            .collect(),
        consumer_data_set: consumer
            .into_iter()
            .map(|g| ConsumerData {
                group_name: g,
                consume_type: ConsumeType::ConsumeActively,
                message_model: MessageModel::Clustering,
                consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
                subscription_data_set: Vec::new(),
                unit_mode: false,
            })
            .collect(),
        heartbeat_fingerprint: 0,
        without_sub: false,
    })
}

/// The parts of message `index` of a batch that a send-back needs (topic, commit-log and
/// queue offsets, message id), read through the batch's public view.
pub(crate) fn batch_message(
    batch: *const bc_batch,
    index: usize,
) -> Result<crate::protocol::message::MessageExt, bc_error> {
    use super::result::{bc_batch_get, bc_batch_len, bc_message_view};
    arg(batch, "batch")?;
    let len = bc_batch_len(batch);
    if index >= len {
        return Err(bc_error::invalid_arg(&format!(
            "index {index} is out of range ({len} messages)"
        )));
    }
    // SAFETY: all-zero is a valid bc_message_view (NULL pointers, zero numbers).
    let mut view: bc_message_view = unsafe { std::mem::zeroed() };
    view.struct_size = std::mem::size_of::<bc_message_view>();
    if bc_batch_get(batch, index, &mut view, std::ptr::null_mut()) != bc_status::BC_OK {
        return Err(bc_error::invalid_arg(
            "cannot read the message from the batch",
        ));
    }
    // SAFETY: bc_batch_get filled NUL-terminated strings owned by the live batch.
    let text = |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    let mut m = crate::protocol::message::MessageExt {
        topic: text(view.topic),
        queue_id: view.queue_id,
        queue_offset: view.queue_offset,
        commit_log_offset: view.commit_log_offset,
        reconsume_times: view.reconsume_times,
        ..Default::default()
    };
    // `msg_id()` of the rebuilt message is the batch's message id.
    m.properties.insert(
        crate::protocol::properties::keys::UNIQ_KEY,
        text(view.msg_id),
    );
    Ok(m)
}

/// A set of queues from JSON: an array of `{"topic","brokerName","queueId"}`.
pub(crate) fn mq_set(
    json: *const c_char,
) -> Result<std::collections::BTreeSet<crate::protocol::bodies::MessageQueue>, bc_error> {
    let text = str_arg(json, "mq_json")?;
    serde_json::from_str(text).map_err(|e| {
        bc_error::invalid_arg(&format!(
            "`mq_json` is not a JSON array of {{\"topic\",\"brokerName\",\"queueId\"}}: {e}"
        ))
    })
}
