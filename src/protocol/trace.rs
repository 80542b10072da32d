//! Message-trace records as the official Java client writes them into the trace topic
//! (`RMQ_SYS_TRACE_TOPIC` by default), so the RocketMQ dashboard's message-trace view and
//! Java's `TraceDataEncoder.decoderFromTraceDataString` read what this library writes.
//!
//! A trace message's body is one or more records, each ending with [`FIELD_SPLITOR`]
//! (char 2); a record's fields are separated by [`CONTENT_SPLITOR`] (char 1). A `Pub`
//! record (one per message sent) has 14 fields, in this order:
//!
//! | # | field | example |
//! |---|---|---|
//! | 0 | trace type | `Pub` |
//! | 1 | timestamp: when the send began (ms) | `1700000000000` |
//! | 2 | region id (the broker's `MSG_REGION`) | `DefaultRegion` |
//! | 3 | producer group | `orders_producers` |
//! | 4 | topic | `Orders` |
//! | 5 | message id (UNIQ_KEY) | `7F000001…` |
//! | 6 | tags (`null` when the message has none, as Java writes it) | `created` |
//! | 7 | keys, space-separated (`null` when none) | `order-1 customer-7` |
//! | 8 | store host: the broker address sent to | `127.0.0.1:10911` |
//! | 9 | body length (bytes, before compression) | `12` |
//! | 10 | cost time (ms) | `3` |
//! | 11 | message type: [`MessageType`] ordinal | `0` |
//! | 12 | offset message id | `7F00000100002A9F…` |
//! | 13 | success | `true` |
//!
//! The decoder also reads what older writers and the other record types (`SubBefore`,
//! `SubAfter`, `EndTransaction`) hold, as Java's reader does, including a 15th `Pub` field
//! (client host) some writers add.

use std::fmt::Write as _;

/// Separates the fields of one record (Java `TraceConstants.CONTENT_SPLITOR`).
pub const CONTENT_SPLITOR: char = '\u{1}';
/// Ends each record (Java `TraceConstants.FIELD_SPLITOR`).
pub const FIELD_SPLITOR: char = '\u{2}';
/// The default trace topic (Java `TopicValidator.RMQ_SYS_TRACE_TOPIC`; the broker's
/// `msgTraceTopicName`).
pub const DEFAULT_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Prefix of the producer group trace messages are sent with (Java `GROUP_NAME_PREFIX`).
pub const TRACE_GROUP_PREFIX: &str = "_INNER_TRACE_PRODUCER";
/// Java's limit on one trace message's body (`AsyncTraceDispatcher.maxMsgSize`): records
/// are packed into one message until it reaches this many bytes.
pub const MAX_TRACE_MESSAGE_BYTES: usize = 128_000;

/// What a record traces (Java `TraceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceType {
    Pub,
    SubBefore,
    SubAfter,
    EndTransaction,
}

impl TraceType {
    pub fn name(self) -> &'static str {
        match self {
            TraceType::Pub => "Pub",
            TraceType::SubBefore => "SubBefore",
            TraceType::SubAfter => "SubAfter",
            TraceType::EndTransaction => "EndTransaction",
        }
    }
}

/// The kind of message traced, written as its ordinal (Java `MessageType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageType {
    #[default]
    Normal = 0,
    TransHalf = 1,
    TransCommit = 2,
    Delay = 3,
    Order = 4,
}

impl MessageType {
    pub fn ordinal(self) -> u8 {
        self as u8
    }

    pub fn from_ordinal(n: u8) -> Option<MessageType> {
        Some(match n {
            0 => MessageType::Normal,
            1 => MessageType::TransHalf,
            2 => MessageType::TransCommit,
            3 => MessageType::Delay,
            4 => MessageType::Order,
            _ => return None,
        })
    }
}

/// One traced message (Java `TraceBean`): the fields a record carries about it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceBean {
    pub topic: String,
    pub msg_id: String,
    pub offset_msg_id: String,
    pub tags: String,
    pub keys: String,
    pub store_host: String,
    pub client_host: String,
    pub body_length: i32,
    pub msg_type: MessageType,
    pub retry_times: i32,
    pub transaction_id: String,
    pub transaction_state: String,
    pub from_transaction_check: bool,
}

/// One record (Java `TraceContext`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_type: TraceType,
    pub timestamp: i64,
    pub region_id: String,
    pub group: String,
    pub cost_time: i32,
    pub success: bool,
    pub request_id: String,
    pub context_code: i32,
    pub beans: Vec<TraceBean>,
}

impl TraceContext {
    /// A `Pub` record of one sent message.
    pub fn publish(timestamp: i64, group: impl Into<String>, bean: TraceBean) -> Self {
        TraceContext {
            trace_type: TraceType::Pub,
            timestamp,
            region_id: String::new(),
            group: group.into(),
            cost_time: 0,
            success: true,
            request_id: String::new(),
            context_code: 0,
            beans: vec![bean],
        }
    }

    /// Appends this record, as Java's `encoderFromContextBean` writes it, to `out`. Only
    /// `Pub` records are written (this library produces no others); others append nothing.
    pub fn encode_into(&self, out: &mut String) {
        let (TraceType::Pub, Some(b)) = (self.trace_type, self.beans.first()) else {
            return;
        };
        let c = CONTENT_SPLITOR;
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "Pub{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{FIELD_SPLITOR}",
            self.timestamp,
            self.region_id,
            self.group,
            b.topic,
            b.msg_id,
            b.tags,
            b.keys,
            b.store_host,
            b.body_length,
            self.cost_time,
            b.msg_type.ordinal(),
            b.offset_msg_id,
            self.success,
        );
    }

    /// The record as text (see [`Self::encode_into`]).
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(256);
        self.encode_into(&mut s);
        s
    }

    /// The keys the trace message carrying this record is indexed by (Java's `transKey`):
    /// each bean's message id and, when it has any, its keys string.
    pub fn trans_keys(&self) -> impl Iterator<Item = &str> {
        self.beans.iter().flat_map(|b| {
            std::iter::once(b.msg_id.as_str())
                .chain((!b.keys.is_empty() && b.keys != "null").then_some(b.keys.as_str()))
        })
    }
}

/// Why trace data does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceDecodeError(pub String);

impl std::fmt::Display for TraceDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "trace data: {}", self.0)
    }
}

impl std::error::Error for TraceDecodeError {}

/// `s.split(sep)` as Java's `String.split` does it: trailing empty pieces are dropped (but
/// an empty `s` is one empty piece).
fn java_split(s: &str, sep: char) -> Vec<&str> {
    if s.is_empty() {
        return vec![""];
    }
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts == [""] {
        // Java: a string of separators only splits into nothing.
        parts.clear();
    }
    parts
}

fn field<'a>(line: &[&'a str], i: usize) -> Result<&'a str, TraceDecodeError> {
    line.get(i).copied().ok_or_else(|| {
        TraceDecodeError(format!(
            "{} record has {} fields, no field {i}",
            line.first().unwrap_or(&""),
            line.len()
        ))
    })
}

fn number<T: std::str::FromStr>(line: &[&str], i: usize) -> Result<T, TraceDecodeError> {
    let v = field(line, i)?;
    v.parse()
        .map_err(|_| TraceDecodeError(format!("field {i} {v:?} is not a number")))
}

/// Java's `Boolean.parseBoolean`: true only for "true", any case.
fn boolean(line: &[&str], i: usize) -> Result<bool, TraceDecodeError> {
    Ok(field(line, i)?.eq_ignore_ascii_case("true"))
}

fn msg_type(line: &[&str], i: usize) -> Result<MessageType, TraceDecodeError> {
    let n: u8 = number(line, i)?;
    MessageType::from_ordinal(n)
        .ok_or_else(|| TraceDecodeError(format!("field {i}: no message type {n}")))
}

/// Fields 1–8, which `Pub` and `EndTransaction` records share: timestamp, region id, group,
/// topic, message id, tags, keys, store host.
fn read_head(
    line: &[&str],
    ctx: &mut TraceContext,
    bean: &mut TraceBean,
) -> Result<(), TraceDecodeError> {
    ctx.timestamp = number(line, 1)?;
    ctx.region_id = field(line, 2)?.to_owned();
    ctx.group = field(line, 3)?.to_owned();
    bean.topic = field(line, 4)?.to_owned();
    bean.msg_id = field(line, 5)?.to_owned();
    bean.tags = field(line, 6)?.to_owned();
    bean.keys = field(line, 7)?.to_owned();
    bean.store_host = field(line, 8)?.to_owned();
    Ok(())
}

/// The records of a trace message's body, read as Java's
/// `TraceDataEncoder.decoderFromTraceDataString` reads them: split on [`FIELD_SPLITOR`], each
/// record on [`CONTENT_SPLITOR`]; records of an unknown type are skipped. Where Java would
/// throw (a missing or malformed field) this is an error.
pub fn decode_trace_data(data: &str) -> Result<Vec<TraceContext>, TraceDecodeError> {
    let mut out = Vec::new();
    if data.is_empty() {
        return Ok(out);
    }
    for record in java_split(data, FIELD_SPLITOR) {
        let line = java_split(record, CONTENT_SPLITOR);
        let kind = line.first().copied().unwrap_or("");
        let mut ctx = TraceContext {
            trace_type: TraceType::Pub,
            timestamp: 0,
            region_id: String::new(),
            group: String::new(),
            cost_time: 0,
            success: true,
            request_id: String::new(),
            context_code: 0,
            beans: Vec::with_capacity(1),
        };
        let mut bean = TraceBean::default();
        match kind {
            "Pub" => {
                read_head(&line, &mut ctx, &mut bean)?;
                bean.body_length = number(&line, 9)?;
                ctx.cost_time = number(&line, 10)?;
                bean.msg_type = msg_type(&line, 11)?;
                match line.len() {
                    13 => ctx.success = boolean(&line, 12)?,
                    14 => {
                        bean.offset_msg_id = field(&line, 12)?.to_owned();
                        ctx.success = boolean(&line, 13)?;
                    }
                    n if n >= 15 => {
                        bean.offset_msg_id = field(&line, 12)?.to_owned();
                        ctx.success = boolean(&line, 13)?;
                        bean.client_host = field(&line, 14)?.to_owned();
                    }
                    _ => {}
                }
            }
            "SubBefore" => {
                ctx.trace_type = TraceType::SubBefore;
                ctx.timestamp = number(&line, 1)?;
                ctx.region_id = field(&line, 2)?.to_owned();
                ctx.group = field(&line, 3)?.to_owned();
                ctx.request_id = field(&line, 4)?.to_owned();
                bean.msg_id = field(&line, 5)?.to_owned();
                bean.retry_times = number(&line, 6)?;
                bean.keys = field(&line, 7)?.to_owned();
            }
            "SubAfter" => {
                ctx.trace_type = TraceType::SubAfter;
                ctx.request_id = field(&line, 1)?.to_owned();
                bean.msg_id = field(&line, 2)?.to_owned();
                bean.keys = field(&line, 5)?.to_owned();
                ctx.cost_time = number(&line, 3)?;
                ctx.success = boolean(&line, 4)?;
                if line.len() >= 7 {
                    ctx.context_code = number(&line, 6)?;
                }
                if line.len() >= 8 {
                    ctx.timestamp = number(&line, 7)?;
                }
                if line.len() >= 9 {
                    ctx.group = field(&line, 8)?.to_owned();
                }
            }
            "EndTransaction" => {
                ctx.trace_type = TraceType::EndTransaction;
                read_head(&line, &mut ctx, &mut bean)?;
                bean.msg_type = msg_type(&line, 9)?;
                bean.transaction_id = field(&line, 10)?.to_owned();
                bean.transaction_state = field(&line, 11)?.to_owned();
                bean.from_transaction_check = boolean(&line, 12)?;
            }
            _ => continue,
        }
        ctx.beans.push(bean);
        out.push(ctx);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bean() -> TraceBean {
        TraceBean {
            topic: "Orders".into(),
            msg_id: "7F0000010001".into(),
            offset_msg_id: "7F00000100002A9F0000000000000042".into(),
            tags: "created".into(),
            keys: "order-1 customer-7".into(),
            store_host: "127.0.0.1:10911".into(),
            body_length: 12,
            msg_type: MessageType::Delay,
            ..TraceBean::default()
        }
    }

    fn record() -> TraceContext {
        let mut ctx = TraceContext::publish(1_700_000_000_123, "order_producers", bean());
        ctx.region_id = "DefaultRegion".into();
        ctx.cost_time = 4;
        ctx
    }

    /// The record, byte for byte as Java's encoderFromContextBean appends a Pub context.
    #[test]
    fn pub_record_is_javas_format() {
        let want = "Pub\u{1}1700000000123\u{1}DefaultRegion\u{1}order_producers\u{1}Orders\u{1}\
                    7F0000010001\u{1}created\u{1}order-1 customer-7\u{1}127.0.0.1:10911\u{1}12\u{1}\
                    4\u{1}3\u{1}7F00000100002A9F0000000000000042\u{1}true\u{2}";
        assert_eq!(record().encode(), want);
        let r = record();
        let keys: Vec<&str> = r.trans_keys().collect();
        assert_eq!(keys, ["7F0000010001", "order-1 customer-7"]);
    }

    #[test]
    fn absent_tags_and_keys_are_written_as_java_writes_null() {
        let mut ctx = record();
        ctx.beans[0].tags = "null".into();
        ctx.beans[0].keys = "null".into();
        ctx.success = false;
        let s = ctx.encode();
        let fields: Vec<&str> = s.trim_end_matches(FIELD_SPLITOR).split('\u{1}').collect();
        assert_eq!(fields.len(), 14);
        assert_eq!(
            (fields[6], fields[7], fields[13]),
            ("null", "null", "false")
        );
        assert_eq!(ctx.trans_keys().collect::<Vec<_>>(), ["7F0000010001"]);
    }

    #[test]
    fn decodes_what_it_encodes_and_several_records() {
        let mut two = record().encode();
        let mut other = record();
        other.beans[0].msg_id = "7F0000010002".into();
        other.beans[0].msg_type = MessageType::Normal;
        other.encode_into(&mut two);
        let got = decode_trace_data(&two).unwrap();
        assert_eq!(got, vec![record(), other]);
    }

    /// Older writers: 13 fields (no offset msg id) and 15 (client host), as Java reads them.
    #[test]
    fn decodes_older_pub_layouts_and_other_types() {
        let old =
            "Pub\u{1}1\u{1}R\u{1}G\u{1}T\u{1}M\u{1}\u{1}K\u{1}h:1\u{1}5\u{1}2\u{1}0\u{1}false\u{2}";
        let c = &decode_trace_data(old).unwrap()[0];
        assert_eq!((c.success, c.beans[0].tags.as_str()), (false, ""));
        assert_eq!(c.beans[0].offset_msg_id, "");
        let new = "Pub\u{1}1\u{1}R\u{1}G\u{1}T\u{1}M\u{1}a\u{1}K\u{1}h:1\u{1}5\u{1}2\u{1}4\u{1}O\u{1}true\u{1}10.0.0.1\u{2}";
        let c = &decode_trace_data(new).unwrap()[0];
        assert_eq!(c.beans[0].client_host, "10.0.0.1");
        assert_eq!(c.beans[0].msg_type, MessageType::Order);
        let sub = "SubBefore\u{1}9\u{1}R\u{1}CG\u{1}req\u{1}M\u{1}1\u{1}K\u{2}\
                   SubAfter\u{1}req\u{1}M\u{1}7\u{1}true\u{1}K\u{1}0\u{1}10\u{1}CG\u{2}\
                   Unknown\u{1}x\u{2}";
        let got = decode_trace_data(sub).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].trace_type, TraceType::SubBefore);
        assert_eq!((got[1].cost_time, got[1].timestamp), (7, 10));
        assert!(decode_trace_data("Pub\u{1}x\u{2}").is_err());
        assert!(decode_trace_data("").unwrap().is_empty());
    }
}
