//! Local checks that reject bad input with `InvalidArgument` before anything is sent, using the
//! broker's own rules (`TopicValidator`, `Validators`, REMOTING.md §10 item 15).

use crate::error::{BrokerError, Result};
use crate::protocol::message::Message;
use crate::protocol::properties::{keys, validate_property};

/// Longest topic a normal send may use (retry/DLQ topics may reach 255).
pub const TOPIC_MAX_LEN: usize = 127;
/// Longest consumer or producer group name.
pub const GROUP_MAX_LEN: usize = 120;
/// Longest encoded properties string (an i16 on the wire).
pub const PROPERTIES_MAX_LEN: usize = i16::MAX as usize;

/// Room left for the properties the broker adds when storing (CLUSTER, MSG_REGION,
/// TRACE_ON, …: about 104 bytes on 5.3.3) within its 32767-byte limit.
pub const BROKER_PROPERTIES_MARGIN: usize = 256;

/// Topics the broker keeps for itself and refuses user messages for.
const SYSTEM_TOPICS: &[&str] = &[
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "OFFSET_MOVED_EVENT",
    "SELF_TEST_TOPIC",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "rmq_sys_REVIVE_LOG_",
];

fn invalid(msg: String) -> BrokerError {
    BrokerError::InvalidArgument(msg)
}

fn valid_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// A topic name: `^[%|a-zA-Z0-9_-]+$`, at most 127 bytes (255 for retry and DLQ topics).
pub fn topic(topic: &str) -> Result<()> {
    if topic.is_empty() {
        return Err(invalid("topic is empty".into()));
    }
    let max = if topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%") {
        255
    } else {
        TOPIC_MAX_LEN
    };
    if topic.len() > max {
        return Err(invalid(format!(
            "topic is {} bytes, more than {max}",
            topic.len()
        )));
    }
    if !valid_chars(topic) {
        return Err(invalid(format!(
            "topic {topic:?} has characters outside [%|a-zA-Z0-9_-]"
        )));
    }
    Ok(())
}

/// A topic a user may send to: valid and not a system topic.
pub fn send_topic(name: &str) -> Result<()> {
    topic(name)?;
    if SYSTEM_TOPICS.contains(&name) || name.starts_with("rmq_sys_") {
        return Err(invalid(format!("{name:?} is a system topic")));
    }
    Ok(())
}

/// A producer or consumer group name.
pub fn group(group: &str) -> Result<()> {
    if group.is_empty() {
        return Err(invalid("group is empty".into()));
    }
    if group.len() > GROUP_MAX_LEN {
        return Err(invalid(format!(
            "group is {} bytes, more than {GROUP_MAX_LEN}",
            group.len()
        )));
    }
    if !valid_chars(group) {
        return Err(invalid(format!(
            "group {group:?} has characters outside [%|a-zA-Z0-9_-]"
        )));
    }
    Ok(())
}

/// A message to send: topic, non-empty body within `max_body`, properties that encode.
pub fn message(msg: &Message, max_body: usize) -> Result<()> {
    send_topic(&msg.topic)?;
    if msg.body.is_empty() {
        // The broker reads a 0-byte body as null and rejects it (MESSAGE_ILLEGAL).
        return Err(invalid("message body is empty".into()));
    }
    if msg.body.len() > max_body {
        return Err(invalid(format!(
            "message body is {} bytes, more than the maximum {max_body}",
            msg.body.len()
        )));
    }
    for (k, v) in msg.properties.iter() {
        validate_property(k, v).map_err(|e| invalid(e.to_string()))?;
    }
    if msg.properties.encoded_len() > PROPERTIES_MAX_LEN {
        return Err(invalid(format!(
            "message properties encode to {} bytes, more than {PROPERTIES_MAX_LEN}",
            msg.properties.encoded_len()
        )));
    }
    if let Some(level) = msg.properties.get(keys::DELAY) {
        if level.parse::<i32>().is_err() {
            return Err(invalid(format!("delay level {level:?} is not a number")));
        }
    }
    Ok(())
}

/// The properties string as it will be sent (with the ids the client adds) must leave the
/// broker room for its own additions.
pub fn sent_properties(len: usize) -> Result<()> {
    if len + BROKER_PROPERTIES_MARGIN > PROPERTIES_MAX_LEN {
        return Err(invalid(format!(
            "message properties encode to {len} bytes; at most {} fit beside what the broker adds",
            PROPERTIES_MAX_LEN - BROKER_PROPERTIES_MARGIN
        )));
    }
    Ok(())
}

/// A batch: non-empty, one topic, no delayed or transactional messages, not a retry topic,
/// within `max_body` in all. The broker's own rule (`CommitLog.asyncPutMessages`) refuses a
/// batch whose header marks it delayed or transactional (MESSAGE_ILLEGAL), but it never looks
/// at the entries: a `TRAN_MSG` or `DELAY` on an entry would be stored as a plain, at once
/// visible message. So both are refused per entry here.
pub fn batch(msgs: &[Message], max_body: usize) -> Result<()> {
    let first = msgs
        .first()
        .ok_or_else(|| invalid("batch is empty".into()))?;
    if first.topic.starts_with("%RETRY%") {
        return Err(invalid("batches cannot be sent to retry topics".into()));
    }
    let mut total = 0usize;
    for m in msgs {
        message(m, max_body)?;
        if m.topic != first.topic {
            return Err(invalid(format!(
                "batch mixes topics {:?} and {:?}",
                first.topic, m.topic
            )));
        }
        if m.is_delayed() {
            return Err(invalid(
                "delayed messages (delay level, delay or delivery time) are not allowed in batches"
                    .into(),
            ));
        }
        if m.is_transactional() {
            return Err(invalid(
                "transactional (half) messages are not allowed in batches: the broker would \
                 store them as plain messages"
                    .into(),
            ));
        }
        if m.properties.get(keys::WAIT) != first.properties.get(keys::WAIT) {
            return Err(invalid("batch mixes WAIT settings".into()));
        }
        total += 22 + m.body.len() + m.properties.encoded_len();
    }
    if total > max_body {
        return Err(invalid(format!(
            "batch encodes to {total} bytes, more than the maximum {max_body}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(topic: &str, body: &'static [u8]) -> Message {
        Message::new(topic, Bytes::from_static(body))
    }

    #[test]
    fn topics() {
        assert!(topic("Topic_A-1%|x").is_ok());
        assert!(topic("").is_err());
        assert!(topic("has space").is_err());
        assert!(topic("ünï").is_err());
        assert!(topic(&"a".repeat(127)).is_ok());
        assert!(topic(&"a".repeat(128)).is_err());
        assert!(topic(&format!("%RETRY%{}", "g".repeat(200))).is_ok());
        assert!(send_topic("TBW102").is_err());
        assert!(send_topic("RMQ_SYS_TRANS_HALF_TOPIC").is_err());
        assert!(send_topic("rmq_sys_anything").is_err());
    }

    #[test]
    fn groups() {
        assert!(group("CG_1").is_ok());
        assert!(group("").is_err());
        assert!(group(&"g".repeat(121)).is_err());
        assert!(group("a b").is_err());
    }

    #[test]
    fn messages() {
        assert!(message(&msg("T", b"x"), 10).is_ok());
        assert!(message(&msg("T", b""), 10).is_err());
        assert!(message(&msg("T", b"0123456789a"), 10).is_err());
        let mut m = msg("T", b"x");
        m.properties.insert("bad\u{1}key", "v");
        assert!(message(&m, 10).is_err());
        let mut m = msg("T", b"x");
        m.properties.insert("k", "x".repeat(40_000));
        assert!(message(&m, 10).is_err());
    }

    #[test]
    fn batches() {
        assert!(batch(&[], 100).is_err());
        assert!(batch(&[msg("T", b"a"), msg("T", b"b")], 100).is_ok());
        assert!(batch(&[msg("T", b"a"), msg("U", b"b")], 100).is_err());
        let mut d = msg("T", b"a");
        d.set_delay_level(3);
        assert!(batch(&[d], 100).is_err());
        assert!(batch(&[msg("%RETRY%g", b"a")], 100).is_err());
        let mut t = msg("T", b"a");
        t.set_transactional();
        assert!(batch(&[msg("T", b"b"), t], 100).is_err());
        let mut d = msg("T", b"a");
        d.set_delay_time_ms(5_000);
        assert!(batch(&[d], 100).is_err());
        assert!(batch(&[msg("T", b"0123456789"), msg("T", b"0123456789")], 50).is_err());
    }
}
