//! Message trace against the real broker: a client with tracing on sends messages (tags,
//! keys, none, a delay level, a batch); the trace topic is pulled back and its records are
//! decoded as Java's `TraceDataEncoder.decoderFromTraceDataString` reads them, and every
//! field of each `Pub` record is checked against its send. Both the default topic
//! (`RMQ_SYS_TRACE_TOPIC`, which the test broker's `autoCreateTopicEnable=true` creates on
//! the first trace message) and a custom one are covered. Fails (never skips) when the
//! broker is absent.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use brokerclient::client::trace::{decode_trace_data, MessageType, TraceContext, TraceType};
use brokerclient::client::{PullRequest, PullStatus, SendResult, TraceConfig};
use brokerclient::protocol::message::{Message, MessageExt};
use brokerclient::transport::runtime::block_on;
use brokerclient::{BrokerClient, ClientConfig};
use common::{broker_addr, namesrv_addr, now_millis, unique_name, wait_for};

fn traced_client(topic: &str, queue_capacity: usize) -> BrokerClient {
    BrokerClient::new(
        broker_addr(),
        ClientConfig {
            trace: TraceConfig {
                enabled: true,
                topic: topic.into(),
                queue_capacity,
                ..TraceConfig::default()
            },
            ..Default::default()
        },
    )
}

fn plain_client() -> BrokerClient {
    BrokerClient::new(broker_addr(), ClientConfig::default())
}

/// Read queues of `topic` (from the name server, once it knows the topic).
fn queue_count(topic: &str) -> i32 {
    let ns = BrokerClient::new(namesrv_addr(), ClientConfig::default());
    wait_for(
        &format!("the route of {topic}"),
        Duration::from_secs(30),
        || {
            let r = ns.get_route_info(topic).ok()?;
            r.queue_datas
                .iter()
                .map(|q| q.read_queue_nums)
                .max()
                .filter(|n| *n > 0)
        },
    )
}

fn new_topic(prefix: &str, queues: i32) -> String {
    let topic = unique_name(prefix);
    plain_client()
        .create_topic(&topic, queues)
        .expect("create topic");
    queue_count(&topic);
    topic
}

/// One sent message, as the test expects its record.
struct Sent {
    group: String,
    msg: Message,
    result: SendResult,
    /// The batch position (the result holds comma-joined ids).
    index: usize,
    before: i64,
    after: i64,
}

impl Sent {
    fn msg_id(&self) -> &str {
        self.result.msg_id.split(',').nth(self.index).unwrap()
    }
    fn offset_msg_id(&self) -> &str {
        self.result
            .offset_msg_id
            .split(',')
            .nth(self.index)
            .unwrap()
    }
}

/// A trace message read back: its KEYS property and the records of its body.
struct TraceMessage {
    keys: Vec<String>,
    records: Vec<TraceContext>,
}

/// Pulls every queue of the trace topic from its start until each id in `want` is in a
/// record (long polls, bounded by a deadline); the trace messages that hold them.
fn read_traces(trace_topic: &str, want: &[&str]) -> Vec<TraceMessage> {
    let client = plain_client();
    let queues = queue_count(trace_topic);
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut offsets: HashMap<i32, i64> = (0..queues).map(|q| (q, 0)).collect();
    let mut found: Vec<TraceMessage> = Vec::new();
    let has = |found: &[TraceMessage], id: &str| {
        found
            .iter()
            .any(|m| m.records.iter().any(|r| r.beans[0].msg_id == id))
    };
    loop {
        if want.iter().all(|id| has(&found, id)) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "trace records of {:?} did not arrive in {trace_topic}",
            want.iter()
                .filter(|id| !has(&found, id))
                .collect::<Vec<_>>()
        );
        for q in 0..queues {
            let mut req = PullRequest::new("bc_trace_reader", trace_topic, q, offsets[&q]);
            req.suspend_timeout = Some(Duration::from_millis(300));
            let r = client.pull(&req).expect("pull the trace topic");
            if r.status == PullStatus::Found {
                for m in &r.messages {
                    let t = decode(m);
                    if t.records
                        .iter()
                        .any(|r| want.contains(&r.beans[0].msg_id.as_str()))
                    {
                        found.push(t);
                    }
                }
            }
            offsets.insert(q, r.next_begin_offset);
        }
    }
}

fn decode(m: &MessageExt) -> TraceMessage {
    let body = std::str::from_utf8(&m.body).expect("trace data is UTF-8");
    TraceMessage {
        keys: m
            .properties
            .get("KEYS")
            .unwrap_or("")
            .split(' ')
            .map(str::to_owned)
            .collect(),
        records: decode_trace_data(body).expect("trace data decodes as Java reads it"),
    }
}

/// Every field of `s`'s Pub record, and the keys of the trace message that carries it.
fn check(found: &[TraceMessage], s: &Sent) {
    let (msg, record) = found
        .iter()
        .find_map(|m| {
            m.records
                .iter()
                .find(|r| r.beans[0].msg_id == s.msg_id())
                .map(|r| (m, r))
        })
        .expect("a record of the message");
    let b = &record.beans[0];
    assert_eq!(record.trace_type, TraceType::Pub);
    assert!(
        (s.before..=s.after).contains(&record.timestamp),
        "timestamp {} outside the send {}..{}",
        record.timestamp,
        s.before,
        s.after
    );
    assert_eq!(
        Some(record.region_id.as_str()),
        s.result.region_id.as_deref()
    );
    assert_eq!(record.group, s.group);
    assert_eq!(b.topic, s.msg.topic);
    assert_eq!(b.tags, s.msg.tags().unwrap_or("null"));
    assert_eq!(b.keys, s.msg.keys().unwrap_or("null"));
    assert_eq!(b.store_host, broker_addr());
    assert_eq!(b.body_length as usize, s.msg.body.len());
    assert!(
        record.cost_time >= 0 && i64::from(record.cost_time) <= s.after - s.before,
        "cost time {} for a send of {} ms",
        record.cost_time,
        s.after - s.before
    );
    let want_type = if s.msg.delay_level().is_some() {
        MessageType::Delay
    } else {
        MessageType::Normal
    };
    assert_eq!(b.msg_type, want_type);
    assert_eq!(b.offset_msg_id, s.offset_msg_id());
    assert!(record.success);
    assert_eq!(
        b.client_host, "",
        "Java's writer sends 14 fields, no client host"
    );
    // The dashboard finds the trace by the message id and by the message's keys.
    assert!(msg.keys.iter().any(|k| k == s.msg_id()), "{:?}", msg.keys);
    for k in s.msg.key_list() {
        assert!(msg.keys.iter().any(|x| x == k), "key {k} in {:?}", msg.keys);
    }
}

/// Sends a message, a message without tags or keys, a delayed one and a batch through
/// `client`; what each record should say.
fn send_some(client: &BrokerClient, topic: &str) -> Vec<Sent> {
    let group = unique_name("bc_trace_pg");
    let mut sent = Vec::new();
    let mut one = |msg: Message| {
        let before = now_millis();
        let result = client.send(&group, -1, &msg).expect("send");
        let after = now_millis();
        sent.push(Sent {
            group: group.clone(),
            msg,
            result,
            index: 0,
            before,
            after,
        });
    };
    let mut tagged = Message::new(topic, &b"traced order #1"[..]);
    tagged.set_tags("created");
    tagged.set_keys(["order-1", "customer-7"]);
    one(tagged);
    one(Message::new(topic, &b"no tags, no keys"[..]));
    let mut delayed = Message::new(topic, &b"later"[..]);
    delayed.set_tags("late");
    delayed.set_keys(["order-2"]);
    delayed.set_delay_level(1);
    one(delayed);
    let batch: Vec<Message> = (0..3)
        .map(|i| {
            let mut m = Message::new(topic, format!("batch #{i}").into_bytes());
            m.set_tags("batch");
            m.set_keys([format!("b-{i}")]);
            m
        })
        .collect();
    let before = now_millis();
    let result = client.send_batch(&group, 0, &batch).expect("send batch");
    let after = now_millis();
    for (index, msg) in batch.into_iter().enumerate() {
        sent.push(Sent {
            group: group.clone(),
            msg,
            result: result.clone(),
            index,
            before,
            after,
        });
    }
    sent
}

fn flushed(client: &BrokerClient, records: u64) {
    assert!(
        block_on(client.as_async().flush_traces(Duration::from_secs(20))).unwrap(),
        "trace records not sent in time: {:?}",
        client.as_async().trace_stats()
    );
    let stats = client.as_async().trace_stats().unwrap();
    assert_eq!(
        (stats.queued, stats.dropped, stats.sent, stats.failed),
        (records, 0, records, 0)
    );
}

#[test]
fn sends_are_traced_to_the_default_trace_topic() {
    let topic = new_topic("bc_trace", 2);
    let client = traced_client("RMQ_SYS_TRACE_TOPIC", 2048);
    let sent = send_some(&client, &topic);
    flushed(&client, sent.len() as u64);
    let ids: Vec<&str> = sent.iter().map(Sent::msg_id).collect();
    let found = read_traces("RMQ_SYS_TRACE_TOPIC", &ids);
    for s in &sent {
        check(&found, s);
    }
}

#[test]
fn a_custom_trace_topic_holds_exactly_the_records_of_the_sends() {
    let topic = new_topic("bc_trace", 1);
    let trace_topic = new_topic("bc_trace_topic", 2);
    let client = traced_client(&trace_topic, 2048);
    let sent = send_some(&client, &topic);
    flushed(&client, sent.len() as u64);
    let ids: Vec<&str> = sent.iter().map(Sent::msg_id).collect();
    let found = read_traces(&trace_topic, &ids);
    for s in &sent {
        check(&found, s);
    }
    let records: usize = found.iter().map(|m| m.records.len()).sum();
    assert_eq!(records, sent.len(), "one record per message sent, no more");
    // Oneway sends have no result and, as in Java, no trace.
    client
        .send_oneway("bc_trace_pg", 0, &Message::new(topic.as_str(), &b"x"[..]))
        .unwrap();
    assert_eq!(
        client.as_async().trace_stats().unwrap().queued,
        sent.len() as u64
    );
}

/// Sends never wait for traces: with room for one queued record, concurrent sends all
/// succeed; every record is either queued (and then sent) or dropped and counted.
#[test]
fn a_full_trace_queue_drops_records_never_messages() {
    let topic = new_topic("bc_trace", 1);
    let trace_topic = new_topic("bc_trace_topic", 1);
    let client = traced_client(&trace_topic, 1);
    let n = 64;
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            let topic = topic.clone();
            std::thread::spawn(move || {
                for i in 0..n / 8 {
                    let m = Message::new(topic.as_str(), format!("m{i}").into_bytes());
                    c.send("bc_trace_pg", -1, &m)
                        .expect("a send with a full trace queue");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(block_on(client.as_async().flush_traces(Duration::from_secs(20))).unwrap());
    let s = client.as_async().trace_stats().unwrap();
    assert_eq!(s.queued + s.dropped, n as u64, "{s:?}");
    assert_eq!((s.sent, s.failed), (s.queued, 0), "{s:?}");
}

/// Tracing is off by default: no dispatcher, no records.
#[test]
fn tracing_is_off_by_default() {
    let c = plain_client();
    assert!(c.as_async().trace_stats().is_none());
}
