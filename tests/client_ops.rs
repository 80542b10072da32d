//! Every operation of the client (`BrokerClient`, and some of `AsyncBrokerClient`) against the
//! real broker and name server started by `scripts/rocketmq.sh start`. Each test fails (never
//! skips) when the broker is absent.
//!
//! Waiting for the broker's asynchronous work is done with long-polling pulls (dispatch) and
//! bounded polls (`common::wait_for`) for route registration and membership changes; never with
//! sleeps.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use brokerclient::client::{
    BoundaryType, EndTransaction, PullRequest, PullStatus, SendStatus, TransactionCheck,
    TransactionState,
};
use brokerclient::protocol::bodies::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, MessageQueue,
    ProducerData, SubscriptionData,
};
use brokerclient::protocol::message::{Message, MessageExt};
use brokerclient::protocol::msgid::{decode_offset_msg_id, unique_id};
use brokerclient::protocol::properties::keys;
use brokerclient::transport::runtime::runtime;
use brokerclient::{AsyncBrokerClient, BrokerClient, BrokerError, ClientConfig};
use bytes::Bytes;
use common::{broker_addr, broker_is_4x, namesrv_addr, now_millis, unique_name, wait_for};

/// How long one long-polling pull may be held by the broker while we wait for dispatch.
const HOLD: Duration = Duration::from_secs(5);
/// Upper bound for collecting messages that were sent (or are due) already.
const COLLECT_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn broker() -> BrokerClient {
    BrokerClient::new(broker_addr(), ClientConfig::default())
}

/// A client with its own client id (`127.0.0.1@<instance>`).
fn broker_named(instance: &str) -> BrokerClient {
    BrokerClient::new(
        broker_addr(),
        ClientConfig {
            instance_name: Some(instance.to_owned()),
            ..Default::default()
        },
    )
}

fn namesrv() -> BrokerClient {
    BrokerClient::new(namesrv_addr(), ClientConfig::default())
}

/// Creates `topic` with four queues through `client` and waits until the name server routes it.
fn create_topic(client: &BrokerClient, topic: &str) {
    client
        .create_topic(topic, 4)
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}. Is the broker running?"));
    let ns = namesrv();
    wait_for("the topic's route", Duration::from_secs(30), || {
        ns.get_route_info(topic).ok()
    });
}

/// A fresh topic with four queues, routed.
fn new_topic(client: &BrokerClient, prefix: &str) -> String {
    let topic = unique_name(prefix);
    create_topic(client, &topic);
    topic
}

fn consumer_data(group: &str, topic: Option<&str>) -> ConsumerData {
    ConsumerData {
        group_name: group.into(),
        consume_type: ConsumeType::ConsumeActively,
        message_model: MessageModel::Clustering,
        consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
        subscription_data_set: topic
            .map(|t| {
                vec![SubscriptionData {
                    class_filter_mode: false,
                    topic: t.into(),
                    sub_string: "*".into(),
                    tags_set: BTreeSet::new(),
                    code_set: BTreeSet::new(),
                    sub_version: now_millis(),
                    expression_type: "TAG".into(),
                }]
            })
            .unwrap_or_default(),
        unit_mode: false,
    }
}

/// A heartbeat registering the given producer and consumer groups (client id filled in by the
/// client).
fn heartbeat_data(
    producer: Option<&str>,
    consumer: Option<&str>,
    topic: Option<&str>,
) -> HeartbeatData {
    HeartbeatData {
        client_id: String::new(),
        producer_data_set: producer
            .map(|g| {
                vec![ProducerData {
                    group_name: g.into(),
                }]
            })
            .unwrap_or_default(),
        consumer_data_set: consumer
            .map(|g| vec![consumer_data(g, topic)])
            .unwrap_or_default(),
        heartbeat_fingerprint: 0,
        without_sub: false,
    }
}

/// Pulls `queue_id` of `topic` from `from` with long polling until `n` messages were read;
/// returns them and the next offset. Panics after [`COLLECT_TIMEOUT`].
fn pull_n(
    client: &BrokerClient,
    group: &str,
    topic: &str,
    queue_id: i32,
    from: i64,
    n: usize,
) -> (Vec<MessageExt>, i64) {
    let deadline = Instant::now() + COLLECT_TIMEOUT;
    let mut got = Vec::new();
    let mut offset = from;
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} messages arrived on {topic}/{queue_id} from {from}",
            got.len()
        );
        let req = PullRequest::new(group, topic, queue_id, offset).long_polling(HOLD);
        let res = client.pull(&req).expect("pull");
        match res.status {
            PullStatus::Found => assert!(!res.messages.is_empty(), "Found with no message"),
            PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                assert!(res.messages.is_empty())
            }
            PullStatus::OffsetIllegal => panic!("offset {offset} illegal: {res:?}"),
        }
        assert!(res.next_begin_offset >= offset, "{res:?}");
        got.extend(res.messages);
        offset = res.next_begin_offset;
    }
    (got, offset)
}

fn assert_invalid<T: std::fmt::Debug>(what: &str, r: brokerclient::Result<T>) {
    match r {
        Err(BrokerError::InvalidArgument(reason)) => assert!(!reason.is_empty(), "{what}"),
        other => panic!("{what}: expected InvalidArgument, got {other:?}"),
    }
}

fn broker_socket() -> SocketAddr {
    broker_addr().parse().expect("broker address")
}

/// The client id of a client without an instance name: `<ip>@<pid>#<nanos>`.
fn assert_default_client_id(id: &str) {
    let (ip, instance) = id
        .split_once('@')
        .unwrap_or_else(|| panic!("client id {id:?} has no '@'"));
    ip.parse::<IpAddr>()
        .unwrap_or_else(|_| panic!("client id {id:?} does not start with an IP"));
    let (pid, nanos) = instance
        .split_once('#')
        .unwrap_or_else(|| panic!("instance of {id:?} is not <pid>#<nanos>"));
    assert_eq!(pid, std::process::id().to_string(), "{id}");
    assert!(
        !nanos.is_empty() && nanos.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Connection
// ---------------------------------------------------------------------------------------------

#[test]
fn connect_disconnect_and_reconnect_on_next_operation() {
    let client = broker();
    assert!(!client.is_connected(), "new clients do not connect yet");
    assert_eq!(client.addr(), broker_addr());
    client.connect().expect("connect");
    assert!(client.is_connected());
    assert_default_client_id(&client.client_id());
    assert_eq!(client.as_async().in_flight(), 0);

    // Clones share the connection.
    let clone = client.clone();
    assert!(clone.is_connected());
    assert_eq!(clone.client_id(), client.client_id());

    // Connecting again is a no-op.
    client.connect().expect("connect again");
    assert!(client.is_connected());

    client.disconnect();
    assert!(!client.is_connected());
    assert!(!clone.is_connected());
    // The next operation connects again, keeping the same client id.
    let id = client.client_id();
    let min = client
        .get_min_offset("TBW102", 0)
        .expect("operation after disconnect reconnects");
    assert!(min >= 0);
    assert!(client.is_connected());
    assert_eq!(client.client_id(), id);

    // disconnect() twice is harmless.
    client.disconnect();
    client.disconnect();
    assert!(!client.is_connected());

    // A configured instance name and a configured client id are used as given.
    let named = broker_named("bc_named_instance");
    named.connect().unwrap();
    let (ip, instance) = named
        .client_id()
        .split_once('@')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    assert!(ip.parse::<IpAddr>().is_ok());
    assert_eq!(instance, "bc_named_instance");
    let fixed = BrokerClient::new(
        broker_addr(),
        ClientConfig {
            client_id: Some("10.1.2.3@fixed".into()),
            ..Default::default()
        },
    );
    fixed.connect().unwrap();
    assert_eq!(fixed.client_id(), "10.1.2.3@fixed");

    // A deadline too short for an answer: Timeout, and the connection stays usable (the late
    // response is dropped, not handed to the next request). A reply can still beat a 1 ns
    // deadline now and then (the timer has millisecond granularity), hence a few attempts.
    client.connect().unwrap();
    let hasty = client.with_timeout(Duration::from_nanos(1));
    assert_eq!(hasty.as_async().timeout(), Duration::from_nanos(1));
    let err = (0..50)
        .find_map(|_| match hasty.get_min_offset("TBW102", 0) {
            Ok(v) => {
                assert_eq!(v, min);
                None
            }
            Err(e) => Some(e),
        })
        .expect("a 1 ns deadline times out at least once in 50 tries");
    match &err {
        BrokerError::Timeout { operation, .. } => assert_eq!(*operation, "get min offset"),
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(err.is_retriable());
    assert!(client.is_connected());
    assert_eq!(client.get_min_offset("TBW102", 0).unwrap(), min);
    assert_eq!(client.as_async().in_flight(), 0);

    // Requests in flight fail with a connection error when the client disconnects.
    let topic = new_topic(&client, "bc_ops_conn");
    let puller = client.clone();
    let t = topic.clone();
    let held = std::thread::spawn(move || {
        let req = PullRequest::new("bc_ops_conn_cg", &t, 0, 0).long_polling(HOLD);
        let r = puller.pull(&req);
        (r, Instant::now())
    });
    wait_for(
        "the long poll to be in flight",
        Duration::from_secs(10),
        || (client.as_async().in_flight() == 1).then_some(()),
    );
    let closed_at = Instant::now();
    client.disconnect();
    let (r, returned_at) = held.join().unwrap();
    assert!(
        matches!(r, Err(BrokerError::Connection { .. })),
        "in-flight pull after disconnect: {r:?}"
    );
    assert!(
        returned_at.duration_since(closed_at) < Duration::from_secs(2),
        "the held pull failed at once, not after its hold"
    );
    assert!(!client.is_connected());
    assert_eq!(client.get_max_offset(&topic, 0).unwrap(), 0);
    assert!(client.is_connected());

    // No broker there: a connection error, retriable.
    let nobody = BrokerClient::new("127.0.0.1:1", ClientConfig::default());
    let err = nobody.connect().expect_err("nothing listens on port 1");
    assert!(
        matches!(
            err,
            BrokerError::Connection { .. } | BrokerError::Timeout { .. }
        ),
        "{err:?}"
    );
    assert!(err.is_retriable());
    assert!(!nobody.is_connected());
}

// ---------------------------------------------------------------------------------------------
// 2. Send and pull back; delayed delivery
// ---------------------------------------------------------------------------------------------

#[test]
fn send_with_everything_pulls_back_identical_and_delay_arrives_late() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_send");
    let group = unique_name("bc_ops_send_cg");
    let producer = "bc_ops_producer";

    let mut msg = Message::new(
        &topic,
        Bytes::from_static(b"hello \x00\x01\x02 broker \xff"),
    );
    msg.flag = 7;
    msg.set_tags("TagA");
    msg.set_keys(["order-1", "user-2"]);
    msg.properties.insert("color", "blue");
    msg.properties.insert("greeting", "grüße ✓ 你好 🚀");
    let born_after = now_millis();
    let sent = client.send(producer, 1, &msg).expect("send");
    let born_before = now_millis();
    assert_eq!(sent.status, SendStatus::SendOk);
    assert_eq!((sent.queue_id, sent.queue_offset), (1, 0));
    assert_eq!(sent.msg_id.len(), 32, "unique id: {}", sent.msg_id);
    assert!(sent.msg_id.bytes().all(|b| b.is_ascii_hexdigit()));
    let (store_host, commit_log_offset) =
        decode_offset_msg_id(&sent.offset_msg_id).expect("offset msg id decodes");
    assert_eq!(store_host, broker_socket());
    assert_ne!(sent.msg_id, sent.offset_msg_id);

    let (got, next) = pull_n(&client, &group, &topic, 1, 0, 1);
    assert_eq!(got.len(), 1);
    assert_eq!(next, 1);
    let m = &got[0];
    assert_eq!(m.body, msg.body, "body must come back byte-identical");
    assert_eq!(m.topic, topic);
    assert_eq!(m.flag, 7);
    assert_eq!((m.queue_id, m.queue_offset), (1, 0));
    assert_eq!(m.tags(), Some("TagA"));
    assert_eq!(m.keys(), Some("order-1 user-2"));
    assert_eq!(m.key_list().collect::<Vec<_>>(), ["order-1", "user-2"]);
    for (k, v) in msg.properties.iter() {
        assert_eq!(m.property(k), Some(v), "property {k}");
    }
    assert_eq!(m.property("greeting"), Some("grüße ✓ 你好 🚀"));
    assert_eq!(m.unique_key(), Some(sent.msg_id.as_str()));
    assert_eq!(m.msg_id(), sent.msg_id);
    assert_eq!(m.offset_msg_id(), sent.offset_msg_id);
    assert_eq!(m.commit_log_offset, commit_log_offset);
    assert_eq!(m.store_host, store_host);
    assert!(
        (born_after..=born_before).contains(&m.born_timestamp),
        "born {} not in [{born_after}, {born_before}]",
        m.born_timestamp
    );
    assert!(m.store_timestamp >= m.born_timestamp - 1000);
    assert_eq!(m.reconsume_times, 0);
    assert!(m.property(keys::DELAY).is_none());

    // Delay level 1 (1 s): stored first in the delay topic, so the real queue shows nothing
    // right away; it arrives in the real queue later, re-stored with a new commit-log offset.
    let mut delayed = Message::new(&topic, &b"later"[..]);
    delayed.set_tags("TagD");
    delayed.properties.insert("kind", "délai");
    delayed.set_delay_level(1);
    let sent_at = now_millis();
    let dsent = client.send(producer, 2, &delayed).expect("send delayed");
    assert_eq!(dsent.status, SendStatus::SendOk);
    let now = client
        .pull(&PullRequest::new(&group, &topic, 2, 0))
        .expect("pull right away");
    assert_eq!(now.status, PullStatus::NoNewMsg, "{now:?}");
    assert_eq!(
        now.max_offset, 0,
        "the delayed message is not in its queue yet"
    );

    let (got, _) = pull_n(&client, &group, &topic, 2, 0, 1);
    let d = &got[0];
    let arrived_at = now_millis();
    assert_eq!(d.body, delayed.body);
    assert_eq!(d.topic, topic);
    assert_eq!(d.queue_id, 2);
    assert_eq!(d.queue_offset, 0);
    assert_eq!(d.tags(), Some("TagD"));
    assert_eq!(d.property("kind"), Some("délai"));
    assert_eq!(d.unique_key(), Some(dsent.msg_id.as_str()));
    assert_eq!(
        d.property(keys::DELAY),
        Some("1"),
        "DELAY kept: {:?}",
        d.properties
    );
    assert_eq!(d.property(keys::REAL_TOPIC), Some(topic.as_str()));
    let (_, first_store) = decode_offset_msg_id(&dsent.offset_msg_id).unwrap();
    assert_ne!(
        d.commit_log_offset, first_store,
        "the delivered message is a copy re-stored from the delay topic"
    );
    assert!(
        d.store_timestamp - d.born_timestamp >= 900,
        "stored {} ms after birth, expected >= ~1 s",
        d.store_timestamp - d.born_timestamp
    );
    assert!(arrived_at - sent_at >= 900);
}

// ---------------------------------------------------------------------------------------------
// 3. Oneway send
// ---------------------------------------------------------------------------------------------

#[test]
fn oneway_send_arrives() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_oneway");
    let group = unique_name("bc_ops_oneway_cg");

    let mut with_id = Message::new(&topic, &b"oneway one"[..]);
    let id = unique_id();
    with_id.set_unique_key(id.clone());
    with_id.set_tags("ow");
    client
        .send_oneway("bc_ops_producer", 0, &with_id)
        .expect("oneway send");
    let without_id = Message::new(&topic, &b"oneway two"[..]);
    client
        .send_oneway("bc_ops_producer", 0, &without_id)
        .expect("oneway send");

    // Two oneway sends may be stored in either order: the broker handles requests of one
    // connection on several threads, and nothing waits for the first to be stored.
    let (got, next) = pull_n(&client, &group, &topic, 0, 0, 2);
    assert_eq!(got.len(), 2);
    assert_eq!(next, 2);
    let find = |body: &[u8]| {
        got.iter()
            .find(|m| &m.body[..] == body)
            .unwrap_or_else(|| panic!("{:?} did not arrive", String::from_utf8_lossy(body)))
    };
    let one = find(b"oneway one");
    assert_eq!(
        one.unique_key(),
        Some(id.as_str()),
        "a preset UNIQ_KEY is kept"
    );
    assert_eq!(one.tags(), Some("ow"));
    let two = find(b"oneway two");
    let id2 = two.unique_key().expect("the client adds a UNIQ_KEY");
    assert_eq!(id2.len(), 32);
    assert_ne!(id2, id);
    assert_eq!(client.get_max_offset(&topic, 0).unwrap(), 2);

    // A negative queue id lets the broker pick the queue.
    let picked = client
        .send(
            "bc_ops_producer",
            -1,
            &Message::new(&topic, &b"anywhere"[..]),
        )
        .expect("send to any queue");
    assert!((0..4).contains(&picked.queue_id), "{picked:?}");
    let offset = picked.queue_offset;
    let (there, _) = pull_n(&client, &group, &topic, picked.queue_id, offset, 1);
    assert_eq!(there[0].unique_key(), Some(picked.msg_id.as_str()));
    assert_eq!(&there[0].body[..], b"anywhere");
    // A queue the topic does not have: INVALID_PARAMETER (29) from the broker.
    let err = client
        .send(
            "bc_ops_producer",
            99,
            &Message::new(&topic, &b"nowhere"[..]),
        )
        .expect_err("queue 99 does not exist");
    assert_queue_id_refused(&err);
    if !broker_is_4x() {
        assert!(!err.is_retriable());
    }
}

/// A queue id the topic does not have: 5.x answers INVALID_PARAMETER (29), 4.x SYSTEM_ERROR
/// (1) with "queueId[99] is illegal" (docs/compatibility.md).
fn assert_queue_id_refused(err: &BrokerError) {
    if broker_is_4x() {
        assert!(
            matches!(err, BrokerError::System { code: 1, remark } if remark.contains("is illegal")),
            "{err:?}"
        );
    } else {
        assert!(
            matches!(err, BrokerError::Response { code: 29, .. }),
            "{err:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Batches
// ---------------------------------------------------------------------------------------------

#[test]
fn batch_of_100_pulls_back_in_order_and_oneway_batch_arrives() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_batch");
    let group = unique_name("bc_ops_batch_cg");

    let msgs: Vec<Message> = (0..100)
        .map(|i| {
            let mut m = Message::new(&topic, Bytes::from(format!("batch body {i}")));
            m.properties.insert("index", i.to_string());
            m.set_tags(if i % 2 == 0 { "even" } else { "odd" });
            m.flag = i;
            m
        })
        .collect();
    let sent = client
        .send_batch("bc_ops_producer", 3, &msgs)
        .expect("send batch");
    assert_eq!(sent.status, SendStatus::SendOk);
    assert_eq!((sent.queue_id, sent.queue_offset), (3, 0));
    let ids: Vec<&str> = sent.msg_id.split(',').collect();
    assert_eq!(ids.len(), 100, "{}", sent.msg_id);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        100,
        "ids are distinct"
    );
    let offset_ids: Vec<&str> = sent.offset_msg_id.split(',').collect();
    assert_eq!(offset_ids.len(), 100);

    let (got, next) = pull_n(&client, &group, &topic, 3, 0, 100);
    assert_eq!(got.len(), 100);
    assert_eq!(next, 100);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.queue_offset, i as i64);
        assert_eq!(m.property("index"), Some(i.to_string().as_str()));
        assert_eq!(m.body, msgs[i].body);
        assert_eq!(m.tags(), msgs[i].tags());
        assert_eq!(m.flag, i as i32, "each entry keeps its own flag");
        assert_eq!(m.unique_key(), Some(ids[i]), "message {i}");
        assert_eq!(m.offset_msg_id(), offset_ids[i], "message {i}");
    }
    assert_eq!(client.get_max_offset(&topic, 3).unwrap(), 100);
    // A caller's messages are not changed by the send (ids live in copies).
    assert!(msgs.iter().all(|m| m.unique_key().is_none()));

    let small: Vec<Message> = (0..10)
        .map(|i| {
            let mut m = Message::new(&topic, Bytes::from(format!("oneway batch {i}")));
            m.properties.insert("index", i.to_string());
            m
        })
        .collect();
    client
        .send_batch_oneway("bc_ops_producer", 0, &small)
        .expect("oneway batch");
    let (got, next) = pull_n(&client, &group, &topic, 0, 0, 10);
    assert_eq!(got.len(), 10);
    assert_eq!(next, 10);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.queue_offset, i as i64);
        assert_eq!(m.property("index"), Some(i.to_string().as_str()));
        assert_eq!(m.body, small[i].body);
        assert!(m.unique_key().is_some());
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Pull statuses, long polling, tag filtering
// ---------------------------------------------------------------------------------------------

#[test]
fn pull_statuses_long_polling_and_tag_filter() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_pull");
    let group = unique_name("bc_ops_pull_cg");
    let producer = "bc_ops_producer";

    // Empty queue, offset 0, no long poll: NoNewMsg.
    let r = client
        .pull(&PullRequest::new(&group, &topic, 0, 0))
        .expect("pull");
    assert_eq!(r.status, PullStatus::NoNewMsg, "{r:?}");
    assert!(r.messages.is_empty());
    assert_eq!((r.next_begin_offset, r.min_offset, r.max_offset), (0, 0, 0));
    // Empty queue, offset beyond 0: OffsetIllegal, continue at 0.
    let r = client
        .pull(&PullRequest::new(&group, &topic, 0, 5))
        .expect("pull");
    assert_eq!(r.status, PullStatus::OffsetIllegal, "{r:?}");
    assert_eq!(r.next_begin_offset, 0);

    // Non-empty queue: at max → NoNewMsg; far beyond max → OffsetIllegal with next = max.
    for i in 0..2 {
        client
            .send(
                producer,
                1,
                &Message::new(&topic, format!("m{i}").into_bytes()),
            )
            .unwrap();
    }
    pull_n(&client, &group, &topic, 1, 0, 2); // waits for dispatch
    let r = client
        .pull(&PullRequest::new(&group, &topic, 1, 2))
        .expect("pull at max");
    assert_eq!(r.status, PullStatus::NoNewMsg, "{r:?}");
    assert_eq!((r.next_begin_offset, r.max_offset), (2, 2));
    let r = client
        .pull(&PullRequest::new(&group, &topic, 1, 1_000))
        .expect("pull far beyond max");
    assert_eq!(r.status, PullStatus::OffsetIllegal, "{r:?}");
    assert!(r.messages.is_empty());
    assert_eq!((r.next_begin_offset, r.min_offset, r.max_offset), (2, 0, 2));
    // max_msg_nums is honoured.
    let mut one = PullRequest::new(&group, &topic, 1, 0);
    one.max_msg_nums = 1;
    let r = client.pull(&one).unwrap();
    assert_eq!(r.status, PullStatus::Found);
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.next_begin_offset, 1);
    one.max_msg_nums = 0;
    assert_invalid("max_msg_nums 0", client.pull(&one));
    // Broker-side refusals are errors, not statuses.
    let err = client
        .pull(&PullRequest::new(&group, &topic, 99, 0))
        .expect_err("queue 99 does not exist");
    assert_queue_id_refused(&err);
    let missing = unique_name("bc_ops_no_such_topic");
    let err = client
        .pull(&PullRequest::new(&group, &missing, 0, 0))
        .expect_err("topic does not exist");
    assert_eq!(err.response_code(), Some(17), "{err:?}");

    // Long polling on an empty queue: held about the hold, then NoNewMsg.
    let hold = Duration::from_secs(1);
    let started = Instant::now();
    let r = client
        .pull(&PullRequest::new(&group, &topic, 2, 0).long_polling(hold))
        .expect("long poll");
    let elapsed = started.elapsed();
    assert_eq!(r.status, PullStatus::NoNewMsg, "{r:?}");
    assert!(
        elapsed >= Duration::from_millis(900),
        "held only {elapsed:?}, expected ~{hold:?}"
    );
    assert!(elapsed < hold + Duration::from_secs(7), "held {elapsed:?}");

    // Tag filtering: TagA, TagB, TagA, TagB, TagA on queue 3.
    for i in 0..5 {
        let mut m = Message::new(&topic, format!("tagged {i}").into_bytes());
        m.set_tags(if i % 2 == 0 { "TagA" } else { "TagB" });
        client.send(producer, 3, &m).unwrap();
    }
    let filtered = |sub: &str| -> Vec<MessageExt> {
        let deadline = Instant::now() + COLLECT_TIMEOUT;
        let mut got = Vec::new();
        let mut offset = 0;
        while offset < 5 {
            assert!(Instant::now() < deadline, "filtered pull stuck at {offset}");
            let mut req = PullRequest::new(&group, &topic, 3, offset).long_polling(HOLD);
            req.subscription = Some(sub.into());
            let r = client.pull(&req).expect("filtered pull");
            assert_ne!(r.status, PullStatus::OffsetIllegal, "{r:?}");
            got.extend(r.messages);
            offset = r.next_begin_offset;
        }
        got
    };
    let a = filtered("TagA");
    let bodies: Vec<&[u8]> = a.iter().map(|m| &m.body[..]).collect();
    assert_eq!(
        bodies,
        [&b"tagged 0"[..], &b"tagged 2"[..], &b"tagged 4"[..]],
        "only TagA"
    );
    assert!(a.iter().all(|m| m.tags() == Some("TagA")));
    assert_eq!(
        a.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
        [0, 2, 4]
    );
    let b = filtered("TagB");
    assert_eq!(b.iter().map(|m| m.queue_offset).collect::<Vec<_>>(), [1, 3]);
    assert!(b.iter().all(|m| m.tags() == Some("TagB")));
    assert_eq!(filtered("TagA || TagB").len(), 5);
    assert!(filtered("TagC").is_empty());
}

// ---------------------------------------------------------------------------------------------
// 6. Consumer offsets
// ---------------------------------------------------------------------------------------------

#[test]
fn consumer_offsets_query_update_and_oneway_update() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_offsets");
    let group = unique_name("bc_ops_offsets_cg");

    // Nothing committed for a new group: QUERY_NOT_FOUND (22) as an Offset error. A 4.x
    // broker answers 0 instead while the queue still starts at offset 0 in memory (it has no
    // `setZeroIfNotFound`; `ConsumerManageProcessor.queryConsumerOffset`).
    match client.query_consumer_offset(&group, &topic, 0) {
        Err(e @ BrokerError::Offset { .. }) => {
            assert_eq!(e.response_code(), Some(22));
            assert!(!e.is_retriable());
        }
        Ok(0) if broker_is_4x() => {}
        other => panic!("expected an Offset error, got {other:?}"),
    }

    // A group the broker never saw cannot commit: SUBSCRIPTION_GROUP_NOT_EXIST (26). A 4.x
    // broker does not check the group and stores the offset.
    let unseen = unique_name("bc_ops_unseen_cg");
    match client.update_consumer_offset(&unseen, &topic, 0, 3) {
        Err(e @ BrokerError::Response { .. }) => assert_eq!(e.response_code(), Some(26), "{e}"),
        Ok(()) if broker_is_4x() => {}
        other => panic!("expected SUBSCRIPTION_GROUP_NOT_EXIST, got {other:?}"),
    }

    // Registered by heartbeat, the group commits and reads back.
    client
        .heartbeat(&heartbeat_data(None, Some(&group), Some(&topic)))
        .expect("heartbeat");
    client
        .update_consumer_offset(&group, &topic, 0, 5)
        .expect("update offset");
    assert_eq!(client.query_consumer_offset(&group, &topic, 0).unwrap(), 5);
    // Other queues are still uncommitted (4.x: 0, as above).
    let other = client.query_consumer_offset(&group, &topic, 1);
    assert!(
        matches!(other, Err(BrokerError::Offset { .. })) || (broker_is_4x() && other == Ok(0)),
        "{other:?}"
    );

    client
        .update_consumer_offset_oneway(&group, &topic, 0, 7)
        .expect("oneway update");
    wait_for("the oneway offset update", Duration::from_secs(10), || {
        (client.query_consumer_offset(&group, &topic, 0).unwrap() == 7).then_some(())
    });

    // A pull can commit an offset too (FLAG_COMMIT_OFFSET).
    let mut req = PullRequest::new(&group, &topic, 2, 0);
    req.commit_offset = Some(9);
    let r = client.pull(&req).expect("pull committing an offset");
    assert_eq!(r.status, PullStatus::NoNewMsg);
    assert_eq!(client.query_consumer_offset(&group, &topic, 2).unwrap(), 9);

    // Pulls without a subscription use the heartbeat's: none for an unknown group (24); a
    // newer subscription version than the heartbeat's (25, retriable).
    let mut req = PullRequest::new(&group, &topic, 0, 0);
    req.subscription = None;
    let r = client
        .pull(&req)
        .expect("pull with the heartbeat's subscription");
    assert_eq!(r.status, PullStatus::NoNewMsg, "{r:?}");
    req.sub_version = now_millis() + 3_600_000;
    match client.pull(&req) {
        Err(e @ BrokerError::MessagePull { code: 25, .. }) => assert!(e.is_retriable()),
        other => panic!("expected SUBSCRIPTION_NOT_LATEST, got {other:?}"),
    }
    let mut req = PullRequest::new(&unique_name("bc_ops_nosub_cg"), &topic, 0, 0);
    req.subscription = None;
    match client.pull(&req) {
        Err(e @ BrokerError::MessagePull { code: 24, .. }) => assert!(!e.is_retriable()),
        other => panic!("expected SUBSCRIPTION_NOT_EXIST, got {other:?}"),
    }

    // Local checks.
    assert_invalid(
        "negative offset",
        client.update_consumer_offset(&group, &topic, 0, -1),
    );
    assert_invalid(
        "bad group",
        client.query_consumer_offset("no spaces", &topic, 0),
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Offsets by time, min/max, earliest store time, view by id
// ---------------------------------------------------------------------------------------------

#[test]
fn search_by_timestamp_min_max_earliest_and_view_message() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_search");
    let group = unique_name("bc_ops_search_cg");

    let mut sent = Vec::new();
    for i in 0..3 {
        let mut m = Message::new(&topic, format!("search {i}").into_bytes());
        m.set_tags("S");
        sent.push(client.send("bc_ops_producer", 0, &m).unwrap());
    }
    let (got, _) = pull_n(&client, &group, &topic, 0, 0, 3);
    let first = got[0].store_timestamp;
    let last = got[2].store_timestamp;

    assert_eq!(client.get_max_offset(&topic, 0).unwrap(), 3);
    assert_eq!(client.get_min_offset(&topic, 0).unwrap(), 0);
    assert_eq!(client.get_max_offset(&topic, 1).unwrap(), 0);
    assert_eq!(
        client.get_earliest_msg_store_time(&topic, 0).unwrap(),
        first,
        "earliest store time is the first message's"
    );

    assert_eq!(
        client
            .search_offset_by_timestamp(&topic, 0, first - 60_000, BoundaryType::Lower)
            .unwrap(),
        0
    );
    assert_eq!(
        client
            .search_offset_by_timestamp(&topic, 0, last + 60_000, BoundaryType::Lower)
            .unwrap(),
        // 4.x answers the last message's offset, 5.x the max offset (one past it).
        if broker_is_4x() { 2 } else { 3 },
        "after every message: the max offset (4.x: the last message's offset)"
    );
    // At each message's own store time: LOWER is the first message stored at that time,
    // UPPER the last.
    for m in &got {
        let ts = m.store_timestamp;
        let lower = got.iter().position(|x| x.store_timestamp == ts).unwrap() as i64;
        let upper = got.iter().rposition(|x| x.store_timestamp == ts).unwrap() as i64;
        assert_eq!(
            client
                .search_offset_by_timestamp(&topic, 0, ts, BoundaryType::Lower)
                .unwrap(),
            lower,
            "LOWER at {ts}"
        );
        assert_eq!(
            client
                .search_offset_by_timestamp(&topic, 0, ts, BoundaryType::Upper)
                .unwrap(),
            upper,
            "UPPER at {ts}"
        );
    }

    for (s, m) in sent.iter().zip(&got) {
        let viewed = client.view_message(&s.offset_msg_id).expect("view message");
        assert_eq!(viewed.topic, topic);
        assert_eq!(viewed.body, m.body);
        assert_eq!(viewed.unique_key(), Some(s.msg_id.as_str()));
        assert_eq!(viewed.queue_offset, s.queue_offset);
        assert_eq!(viewed.commit_log_offset, m.commit_log_offset);
        assert_eq!(viewed.store_timestamp, m.store_timestamp);
        assert_eq!(viewed.tags(), Some("S"));
    }
    assert_invalid("not an offset msg id", client.view_message("xyz"));
    // A well-formed id past the end of the commit log: the broker cannot find it.
    let (host, _) = decode_offset_msg_id(&sent[0].offset_msg_id).unwrap();
    let beyond = brokerclient::protocol::msgid::offset_msg_id(host, i64::MAX / 2);
    let err = client.view_message(&beyond).expect_err("no message there");
    assert!(err.response_code().is_some(), "{err:?}");
    // A wrong id stays wrong: not a retriable (system) error.
    assert!(!err.is_retriable(), "{err:?}");
    assert!(
        !matches!(err, BrokerError::System { .. }),
        "{err:?} (the broker's SYSTEM_ERROR for a missing message is a plain response error)"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Heartbeat, consumer list, unregister, membership notifications
// ---------------------------------------------------------------------------------------------

#[test]
fn heartbeat_consumer_list_notify_and_unregister() {
    let topic = unique_name("bc_ops_members");
    let group = unique_name("bc_ops_members_cg");
    let producer = unique_name("bc_ops_members_pg");
    let a = broker_named(&unique_name("bc_a"));
    let b = broker_named(&unique_name("bc_b"));

    let (tx, rx) = mpsc::channel::<String>();
    let tx = Mutex::new(tx);
    a.set_notify_handler(Some(Arc::new(move |g: &str| {
        let _ = tx.lock().unwrap().send(g.to_owned());
    })));

    // A group nobody joined: empty, not an error.
    assert_eq!(a.get_consumer_list(&group).unwrap(), Vec::<String>::new());

    a.heartbeat(&heartbeat_data(Some(&producer), Some(&group), Some(&topic)))
        .expect("heartbeat");
    assert!(a.is_connected(), "heartbeat connects");
    assert_eq!(a.get_consumer_list(&group).unwrap(), vec![a.client_id()]);
    // Every change of the group's members is told to every member, A's own arrival too.
    let notified = |why: &str| {
        let g = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no NOTIFY_CONSUMER_IDS_CHANGED after {why}"));
        assert_eq!(g, group, "{why}");
    };
    notified("A joined");

    // B joins: the broker tells A the group changed.
    b.heartbeat(&heartbeat_data(None, Some(&group), Some(&topic)))
        .expect("heartbeat b");
    notified("B joined");
    let mut both = a.get_consumer_list(&group).unwrap();
    both.sort();
    let mut expected = vec![a.client_id(), b.client_id()];
    expected.sort();
    assert_eq!(both, expected);

    // B leaves; then A.
    b.unregister_client(None, Some(&group))
        .expect("unregister b");
    notified("B left");
    wait_for("B to leave", Duration::from_secs(10), || {
        (a.get_consumer_list(&group).unwrap() == vec![a.client_id()]).then_some(())
    });
    a.unregister_client(Some(&producer), Some(&group))
        .expect("unregister a");
    wait_for("the group to empty", Duration::from_secs(10), || {
        a.get_consumer_list(&group)
            .unwrap()
            .is_empty()
            .then_some(())
    });
    // A heartbeat registering a producer only does not make a consumer.
    a.heartbeat(&heartbeat_data(Some(&producer), None, None))
        .expect("producer heartbeat");
    assert!(a.get_consumer_list(&group).unwrap().is_empty());
    assert_invalid("bad group", a.get_consumer_list("a b"));

    // A heartbeat's own client id is sent as given.
    let other = unique_name("bc_ops_members_cg2");
    let mut hb = heartbeat_data(None, Some(&other), None);
    hb.client_id = "10.9.8.7@explicit".into();
    b.heartbeat(&hb).unwrap();
    assert_eq!(b.get_consumer_list(&other).unwrap(), ["10.9.8.7@explicit"]);
}

// ---------------------------------------------------------------------------------------------
// 9. Ordered-consumption locks
// ---------------------------------------------------------------------------------------------

#[test]
fn lock_and_unlock_queues_between_two_clients() {
    let ns = namesrv();
    let route = ns.get_route_info("TBW102").expect("route of TBW102");
    let broker_name = route.broker_datas[0].broker_name.clone();
    let topic = unique_name("bc_ops_lock");
    let group = unique_name("bc_ops_lock_cg");
    let queues: BTreeSet<MessageQueue> = (0..2)
        .map(|queue_id| MessageQueue {
            topic: topic.clone(),
            broker_name: broker_name.clone(),
            queue_id,
        })
        .collect();
    let a = broker_named(&unique_name("bc_lock_a"));
    let b = broker_named(&unique_name("bc_lock_b"));

    assert_eq!(a.lock_batch_mq(&group, &queues).unwrap(), queues);
    assert_ne!(a.client_id(), b.client_id());
    assert!(
        b.lock_batch_mq(&group, &queues).unwrap().is_empty(),
        "held by A"
    );
    // Re-locking extends A's lease and still returns both.
    assert_eq!(a.lock_batch_mq(&group, &queues).unwrap(), queues);
    // Another group is independent.
    let other = unique_name("bc_ops_lock_cg2");
    assert_eq!(b.lock_batch_mq(&other, &queues).unwrap(), queues);

    // A releases one queue: B gets that one only; then the other.
    let q0: BTreeSet<MessageQueue> = queues.iter().take(1).cloned().collect();
    a.unlock_batch_mq(&group, &q0).unwrap();
    assert_eq!(b.lock_batch_mq(&group, &queues).unwrap(), q0);
    a.unlock_batch_mq(&group, &queues).unwrap();
    assert_eq!(b.lock_batch_mq(&group, &queues).unwrap(), queues);
    assert!(a.lock_batch_mq(&group, &queues).unwrap().is_empty());
    // Unlocking what one does not hold changes nothing.
    a.unlock_batch_mq(&group, &queues).unwrap();
    assert!(a.lock_batch_mq(&group, &queues).unwrap().is_empty());
    b.unlock_batch_mq(&group, &queues).unwrap();
    b.unlock_batch_mq(&other, &queues).unwrap();
    assert_eq!(a.lock_batch_mq(&group, &queues).unwrap(), queues);
}

// ---------------------------------------------------------------------------------------------
// 10. Consumer send-back
// ---------------------------------------------------------------------------------------------

#[test]
fn consumer_send_back_goes_to_the_retry_topic() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_retry");
    let group = unique_name("bc_ops_retry_cg");
    client
        .heartbeat(&heartbeat_data(None, Some(&group), Some(&topic)))
        .expect("heartbeat");

    let mut msg = Message::new(&topic, &b"please retry"[..]);
    msg.set_tags("R");
    msg.set_keys(["retry-key"]);
    let sent = client.send("bc_ops_producer", 0, &msg).unwrap();
    let (got, _) = pull_n(&client, &group, &topic, 0, 0, 1);
    let original = &got[0];

    client
        .consumer_send_back(&group, original, 1, None)
        .expect("send back");

    let retry_topic = format!("%RETRY%{group}");
    let (retried, _) = pull_n(&client, &group, &retry_topic, 0, 0, 1);
    let r = &retried[0];
    assert_eq!(r.topic, retry_topic);
    assert_eq!(r.queue_id, 0);
    assert_eq!(r.body, msg.body);
    assert_eq!(r.reconsume_times, 1);
    assert_eq!(r.tags(), Some("R"));
    assert_eq!(r.keys(), Some("retry-key"));
    assert_eq!(r.unique_key(), Some(sent.msg_id.as_str()));
    assert_eq!(r.property(keys::RETRY_TOPIC), Some(topic.as_str()));
    assert!(
        r.property(keys::ORIGIN_MESSAGE_ID).is_some(),
        "{:?}",
        r.properties
    );
    assert!(
        r.store_timestamp - original.store_timestamp >= 900,
        "delay level 1 holds it ~1 s"
    );

    // Past max_reconsume_times, or with a negative delay level: the dead-letter queue.
    client
        .consumer_send_back(&group, r, 1, Some(1))
        .expect("send back the retried message");
    client
        .consumer_send_back(&group, original, -1, None)
        .expect("send back straight to the DLQ");
    let dlq_topic = format!("%DLQ%{group}");
    let (dead, _) = pull_n(&client, &group, &dlq_topic, 0, 0, 2);
    assert_eq!(dead.len(), 2);
    for d in &dead {
        assert_eq!(d.topic, dlq_topic);
        assert_eq!(d.body, msg.body);
        assert_eq!(d.unique_key(), Some(sent.msg_id.as_str()));
    }
    assert_eq!(dead[0].reconsume_times, 2, "{:?}", dead[0]);

    // A message the broker does not have cannot be sent back.
    let mut bogus = original.clone();
    bogus.commit_log_offset = i64::MAX / 2;
    let err = client
        .consumer_send_back(&group, &bogus, 1, None)
        .expect_err("no such message");
    assert!(err.response_code().is_some(), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// 11. Transactions
// ---------------------------------------------------------------------------------------------

#[test]
fn transactions_commit_rollback_and_broker_check() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_tx");
    let group = unique_name("bc_ops_tx_pg");
    let consumer = unique_name("bc_ops_tx_cg");
    client
        .heartbeat(&heartbeat_data(Some(&group), None, None))
        .expect("register the producer group");

    // The handler commits the third message on its first check and leaves everything else
    // unknown (END_TRANSACTION "not type": the broker just asks again later), reporting every
    // check it sees. The broker may also ask about the first and second messages: it writes
    // the ops of ended transactions in batches (every 3 s), later than the 2 s check timeout
    // this broker runs with, so a half message can be checked after it was ended. Answering
    // those with Commit again would store a second copy, hence "unknown".
    let third_id: Arc<Mutex<Option<String>>> = Arc::default();
    let committed = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<TransactionCheck>();
    let tx = Mutex::new(tx);
    let wanted = third_id.clone();
    let done = committed.clone();
    client.set_transaction_check_handler(Some(Arc::new(move |check: &TransactionCheck| {
        let is_third = wanted.lock().unwrap().as_deref() == check.message.unique_key();
        let state = if is_third && !done.swap(true, Ordering::SeqCst) {
            TransactionState::Commit
        } else {
            TransactionState::Unknown
        };
        let _ = tx.lock().unwrap().send(check.clone());
        state
    })));

    let half = |n: u8| {
        let mut m = Message::new(&topic, format!("tx {n}").into_bytes());
        m.properties.insert(keys::TRAN_MSG, "true");
        m.set_tags("T");
        m
    };
    let send_half = |n: u8| {
        let sent = client.send(&group, 0, &half(n)).expect("send half message");
        assert_eq!(sent.status, SendStatus::SendOk);
        sent
    };
    let first = send_half(1);
    let second = send_half(2);
    let third = send_half(3);
    *third_id.lock().unwrap() = Some(third.msg_id.clone());
    assert!(first.transaction_id.is_some(), "{first:?}");

    // Half messages are invisible until committed.
    assert_eq!(client.get_max_offset(&topic, 0).unwrap(), 0);

    client
        .end_transaction(
            &EndTransaction::for_send(&group, &first, TransactionState::Commit).unwrap(),
        )
        .expect("commit");
    client
        .end_transaction(
            &EndTransaction::for_send(&group, &second, TransactionState::Rollback).unwrap(),
        )
        .expect("rollback");

    // The broker asks about the third (transactionTimeOut 2 s, check every 1 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    let check = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let check = rx
            .recv_timeout(left)
            .expect("CHECK_TRANSACTION_STATE for the third message within 30 s");
        let id = check.message.unique_key().map(str::to_owned);
        assert!(
            [&first.msg_id, &second.msg_id, &third.msg_id]
                .iter()
                .any(|x| id.as_deref() == Some(x.as_str())),
            "a check for a message of another group: {check:?}"
        );
        if id.as_deref() == Some(third.msg_id.as_str()) {
            break check;
        }
    };
    assert_eq!(check.message.topic, topic, "real topic restored");
    assert_eq!(check.message.queue_id, 0, "real queue restored");
    assert_eq!(&check.message.body[..], b"tx 3");
    assert_eq!(check.message.property(keys::PGROUP), Some(group.as_str()));
    assert_eq!(check.broker_addr, broker_addr());
    assert_eq!(check.header.msg_id.as_deref(), Some(third.msg_id.as_str()));

    // Exactly the committed messages appear: first and third, never the second.
    let (got, next) = pull_n(&client, &consumer, &topic, 0, 0, 2);
    let ids: BTreeSet<&str> = got.iter().filter_map(|m| m.unique_key()).collect();
    let expected: BTreeSet<&str> = [first.msg_id.as_str(), third.msg_id.as_str()].into();
    assert_eq!(ids, expected);
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|m| m.body != b"tx 2"[..]));
    assert!(got.iter().all(|m| m.tags() == Some("T")));
    let r = client
        .pull(&PullRequest::new(&consumer, &topic, 0, next))
        .unwrap();
    assert_eq!(r.status, PullStatus::NoNewMsg, "{r:?}");
    assert_eq!(r.max_offset, 2);

    // A bad offset id cannot make an END_TRANSACTION.
    let mut broken = first.clone();
    broken.offset_msg_id = "zz".into();
    assert_invalid(
        "undecodable offset msg id",
        EndTransaction::for_send(&group, &broken, TransactionState::Commit),
    );
    client.set_transaction_check_handler(None);
}

// ---------------------------------------------------------------------------------------------
// 12. Name server
// ---------------------------------------------------------------------------------------------

#[test]
fn name_server_route_and_cluster_info() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_route");
    let ns = namesrv();

    let route = ns.get_route_info(&topic).expect("route");
    assert_eq!(route.queue_datas.len(), 1, "{route:?}");
    let qd = &route.queue_datas[0];
    assert_eq!((qd.read_queue_nums, qd.write_queue_nums), (4, 4));
    assert_eq!(route.broker_datas.len(), 1);
    let bd = &route.broker_datas[0];
    assert_eq!(bd.broker_name, qd.broker_name);
    assert_eq!(bd.master_addr(), Some(broker_addr().as_str()));
    assert_eq!(
        route.master_addr(&bd.broker_name),
        Some(broker_addr().as_str())
    );
    let writes = route.write_queues(&topic);
    assert_eq!(writes.len(), 4);
    assert_eq!(
        writes.iter().map(|q| q.queue_id).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert!(writes
        .iter()
        .all(|q| q.topic == topic && q.broker_name == bd.broker_name));

    let missing = unique_name("bc_ops_missing");
    let err = ns.get_route_info(&missing).expect_err("unknown topic");
    assert_eq!(err.response_code(), Some(17), "{err:?}");
    assert!(err.is_retriable(), "TOPIC_NOT_EXIST is retriable");

    let info = ns.get_cluster_info().expect("cluster info");
    let entry = info
        .broker_addr_table
        .get(&bd.broker_name)
        .unwrap_or_else(|| panic!("{} not in {info:?}", bd.broker_name));
    assert_eq!(entry.master_addr(), Some(broker_addr().as_str()));
    assert!(
        info.cluster_addr_table
            .get(&entry.cluster)
            .is_some_and(|names| names.contains(&bd.broker_name)),
        "{info:?}"
    );
    assert_invalid("bad topic", ns.get_route_info("a b"));
}

// ---------------------------------------------------------------------------------------------
// 13. Local validation
// ---------------------------------------------------------------------------------------------

#[test]
fn invalid_arguments_are_rejected_before_sending() {
    let admin = broker();
    let topic = new_topic(&admin, "bc_ops_invalid");
    // A fresh client: if validation sent nothing, it never even connects.
    let client = broker();
    let producer = "bc_ops_producer";

    let empty = Message::new(&topic, Bytes::new());
    assert_invalid("empty body", client.send(producer, 0, &empty));
    assert_invalid("empty body oneway", client.send_oneway(producer, 0, &empty));

    let bad_topic = Message::new("bad topic!", &b"x"[..]);
    assert_invalid("topic characters", client.send(producer, 0, &bad_topic));
    let long_topic = Message::new("t".repeat(128), &b"x"[..]);
    assert_invalid("topic too long", client.send(producer, 0, &long_topic));
    let system = Message::new("TBW102", &b"x"[..]);
    assert_invalid("system topic", client.send(producer, 0, &system));

    let huge = Message::new(&topic, vec![b'x'; 4 * 1024 * 1024 + 1]);
    assert_invalid("oversize body", client.send(producer, 0, &huge));
    assert_invalid(
        "oversize body oneway",
        client.send_oneway(producer, 0, &huge),
    );

    let mut sep = Message::new(&topic, &b"x"[..]);
    sep.properties.insert("k", "a\u{1}b");
    assert_invalid(
        "separator in property value",
        client.send(producer, 0, &sep),
    );
    let mut sep2 = Message::new(&topic, &b"x"[..]);
    sep2.properties.insert("k", "a\u{2}b");
    assert_invalid(
        "separator 2 in property value",
        client.send(producer, 0, &sep2),
    );

    let mut long_prop = Message::new(&topic, &b"x"[..]);
    long_prop.properties.insert("k", "v".repeat(40_000));
    assert_invalid(
        "properties over 32767 bytes",
        client.send(producer, 0, &long_prop),
    );
    let mut bad_delay = Message::new(&topic, &b"x"[..]);
    bad_delay.properties.insert(keys::DELAY, "soon");
    assert_invalid(
        "non-numeric delay level",
        client.send(producer, 0, &bad_delay),
    );

    let ok = Message::new(&topic, &b"x"[..]);
    assert_invalid(
        "bad producer group",
        client.send("no spaces allowed", 0, &ok),
    );

    assert_invalid("empty batch", client.send_batch(producer, 0, &[]));
    assert_invalid(
        "empty oneway batch",
        client.send_batch_oneway(producer, 0, &[]),
    );
    let other_topic = unique_name("bc_ops_invalid_other");
    let mixed = [ok.clone(), Message::new(&other_topic, &b"y"[..])];
    assert_invalid("mixed-topic batch", client.send_batch(producer, 0, &mixed));
    assert_invalid(
        "mixed-topic oneway batch",
        client.send_batch_oneway(producer, 0, &mixed),
    );
    let mut delayed = ok.clone();
    delayed.set_delay_level(1);
    assert_invalid(
        "delay in batch",
        client.send_batch(producer, 0, &[ok.clone(), delayed]),
    );
    assert_invalid(
        "empty body in batch",
        client.send_batch(producer, 0, &[ok.clone(), empty.clone()]),
    );

    let retry = [Message::new("%RETRY%some_group", &b"r"[..])];
    assert_invalid(
        "batch to a retry topic",
        client.send_batch(producer, 0, &retry),
    );
    assert_invalid(
        "heartbeat with a bad group",
        client.heartbeat(&heartbeat_data(Some("bad group"), None, None)),
    );
    assert_invalid(
        "lock with a bad group",
        client.lock_batch_mq("", &BTreeSet::new()),
    );

    assert_invalid("create topic with 0 queues", client.create_topic(&topic, 0));
    assert_invalid("create system topic", client.create_topic("TBW102", 4));
    assert_invalid(
        "pull bad topic",
        client.pull(&PullRequest::new("g", "a b", 0, 0)),
    );

    assert!(
        !client.is_connected(),
        "nothing was sent: the client never connected"
    );
    for q in 0..4 {
        assert_eq!(admin.get_max_offset(&topic, q).unwrap(), 0, "queue {q}");
    }
}

// ---------------------------------------------------------------------------------------------
// 14. Blocking calls from the runtime; the async client
// ---------------------------------------------------------------------------------------------

#[test]
fn blocking_call_inside_the_runtime_would_deadlock() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_deadlock");
    let inner = client.clone();
    let t = topic.clone();
    let (blocking, via_async) = runtime().block_on(async move {
        let blocking = inner.get_max_offset(&t, 0);
        let via_async = inner.as_async().get_max_offset(&t, 0).await;
        (blocking, via_async)
    });
    assert_eq!(blocking, Err(BrokerError::WouldDeadlock));
    assert!(!BrokerError::WouldDeadlock.is_retriable());
    assert_eq!(via_async, Ok(0), "the async twin works on the runtime");
    // The same on a runtime of the caller's own.
    let own = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let inner = client.clone();
    let t = topic.clone();
    assert_eq!(
        own.block_on(async move { inner.get_max_offset(&t, 0) }),
        Err(BrokerError::WouldDeadlock)
    );
    // And from a plain thread the blocking call works.
    assert_eq!(client.get_max_offset(&topic, 0), Ok(0));
}

#[test]
fn async_client_sends_concurrently_and_pulls() {
    let admin = broker();
    let topic = new_topic(&admin, "bc_ops_async");
    let group = unique_name("bc_ops_async_cg");
    let client = AsyncBrokerClient::new(broker_addr(), ClientConfig::default());
    assert_eq!(client.addr(), broker_addr());
    assert_eq!(client.timeout(), Duration::from_secs(3));
    assert_eq!(
        client.with_timeout(Duration::from_secs(9)).timeout(),
        Duration::from_secs(9)
    );

    let t = topic.clone();
    let c = client.clone();
    let (ids, got, max, earliest) = runtime().block_on(async move {
        c.connect().await.expect("connect");
        assert!(c.is_connected());
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let c = c.clone();
                let t = t.clone();
                tokio::spawn(async move {
                    let mut m = Message::new(&t, format!("async {i}").into_bytes());
                    m.properties.insert("index", i.to_string());
                    c.send("bc_ops_producer", 1, &m).await
                })
            })
            .collect();
        let mut ids = HashSet::new();
        for h in handles {
            let sent = h.await.expect("task").expect("async send");
            assert_eq!(sent.queue_id, 1);
            ids.insert(sent.msg_id);
        }
        let mut got = Vec::new();
        let mut offset = 0;
        let deadline = tokio::time::Instant::now() + COLLECT_TIMEOUT;
        while got.len() < 20 {
            assert!(tokio::time::Instant::now() < deadline, "async pull stuck");
            let r = c
                .pull(&PullRequest::new(&group, &t, 1, offset).long_polling(HOLD))
                .await
                .expect("async pull");
            got.extend(r.messages);
            offset = r.next_begin_offset;
        }
        let max = c.get_max_offset(&t, 1).await.unwrap();
        let earliest = c.get_earliest_msg_store_time(&t, 1).await.unwrap();
        (ids, got, max, earliest)
    });
    assert_eq!(ids.len(), 20);
    assert_eq!(got.len(), 20);
    assert_eq!(max, 20);
    assert_eq!(earliest, got[0].store_timestamp);
    let pulled: HashSet<String> = got
        .iter()
        .map(|m| m.unique_key().unwrap().to_owned())
        .collect();
    assert_eq!(pulled, ids, "every concurrent send arrived once");
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.queue_offset, i as i64);
    }
    let indexes: BTreeSet<i32> = got
        .iter()
        .map(|m| m.property("index").unwrap().parse().unwrap())
        .collect();
    assert_eq!(indexes, (0..20).collect());
    client.disconnect();
    assert!(!client.is_connected());
}

/// The connection's reader and writer tasks run on the runtime that made the connection. When
/// that runtime is gone (a `#[tokio::test]`, a short-lived runtime), the connection is dead:
/// the client must notice and connect again instead of failing every later operation.
#[test]
fn async_client_reconnects_after_the_runtime_that_connected_it_is_dropped() {
    let admin = broker();
    let topic = new_topic(&admin, "bc_ops_rt");
    let client = AsyncBrokerClient::new(broker_addr(), ClientConfig::default());
    {
        let own = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(own.block_on(client.get_max_offset(&topic, 0)), Ok(0));
        assert!(client.is_connected());
    } // the runtime, and with it the connection's tasks, are dropped here

    // At most one operation may fail while the loss is discovered; after that the client
    // must have connected again (it reports "connection closed" forever otherwise).
    let first = runtime().block_on(client.get_max_offset(&topic, 0));
    if first.is_err() {
        assert!(
            matches!(first, Err(BrokerError::Connection { .. })),
            "{first:?}"
        );
    }
    let second = runtime().block_on(client.get_max_offset(&topic, 0));
    assert_eq!(
        second,
        Ok(0),
        "the client never reconnects after its connection's runtime was dropped \
         (first attempt: {first:?}; is_connected() = {})",
        client.is_connected()
    );
    assert!(client.is_connected());
}

#[test]
fn full_in_flight_window_fails_at_once_with_broker_busy() {
    let admin = broker();
    let topic = new_topic(&admin, "bc_ops_window");
    let mut config = ClientConfig::default();
    config.transport.max_in_flight = 1;
    let client = BrokerClient::new(broker_addr(), config);
    client.connect().unwrap();
    let puller = client.clone();
    let t = topic.clone();
    let held = std::thread::spawn(move || {
        let req = PullRequest::new("bc_ops_window_cg", &t, 0, 0).long_polling(HOLD);
        puller.pull(&req)
    });
    wait_for(
        "the long poll to be in flight",
        Duration::from_secs(10),
        || (client.as_async().in_flight() == 1).then_some(()),
    );
    let started = Instant::now();
    let err = client
        .get_max_offset(&topic, 0)
        .expect_err("the only slot is taken");
    assert!(matches!(err, BrokerError::BrokerBusy { .. }), "{err:?}");
    assert!(err.is_retriable());
    assert!(started.elapsed() < Duration::from_secs(1), "fails at once");
    let oneway = client.send_oneway("bc_ops_producer", 0, &Message::new(&topic, &b"x"[..]));
    assert!(
        matches!(oneway, Err(BrokerError::BrokerBusy { .. })),
        "oneway requests share the window: {oneway:?}"
    );
    // A message wakes the held pull; then the slot is free again.
    let woke = admin
        .send("bc_ops_producer", 0, &Message::new(&topic, &b"wake up"[..]))
        .unwrap();
    let r = held.join().unwrap().expect("held pull");
    assert_eq!(r.status, PullStatus::Found);
    assert_eq!(r.messages[0].unique_key(), Some(woke.msg_id.as_str()));
    assert_eq!(client.get_max_offset(&topic, 0), Ok(1));
}

/// The properties limit (32767 bytes, REMOTING.md §7.1) applies to the properties string the
/// client sends, which includes the UNIQ_KEY the client adds (42 bytes). A message whose own
/// properties fit but whose sent properties do not must be refused locally, not sent to be
/// refused by the broker with MESSAGE_ILLEGAL.
#[test]
fn properties_limit_counts_the_unique_key_the_client_adds() {
    let client = broker();
    let topic = new_topic(&client, "bc_ops_props_limit");
    let with_props = |len: usize| {
        let mut m = Message::new(&topic, &b"x"[..]);
        m.properties.insert("k", "v".repeat(len - 3)); // "k" 0x01 value 0x02
        assert_eq!(m.properties.encoded_len(), len);
        m
    };
    // Well within the limit even with what client and broker add: stored.
    let fits = client
        .send("bc_ops_producer", 0, &with_props(32_000))
        .expect("32000 bytes of properties");
    assert_eq!(fits.status, SendStatus::SendOk);
    // 32757 + "UNIQ_KEY" 0x01 <32 hex> 0x02 = 32799 bytes sent: over the i16 limit.
    let r = client.send("bc_ops_producer", 1, &with_props(32_757));
    assert!(
        matches!(r, Err(BrokerError::InvalidArgument(_))),
        "properties of 32757 bytes plus the client's UNIQ_KEY exceed 32767 and must be \
         refused locally; got {r:?}"
    );
}

/// `ClientConfig::max_body_size` bounds the batch body as sent, and the client adds a UNIQ_KEY
/// (42 bytes) to every entry: that must count.
#[test]
fn batch_limit_counts_the_unique_keys_the_client_adds() {
    let admin = broker();
    let topic = new_topic(&admin, "bc_ops_batch_limit");
    let client = BrokerClient::new(
        broker_addr(),
        ClientConfig {
            max_body_size: 10_000,
            ..Default::default()
        },
    );
    let batch = |body: usize| -> Vec<Message> {
        (0..10)
            .map(|_| Message::new(&topic, vec![b'b'; body]))
            .collect()
    };
    // 10 × (22 + 900 + 42) = 9640 bytes: fits.
    let sent = client
        .send_batch("bc_ops_producer", 0, &batch(900))
        .expect("a batch within max_body_size");
    assert_eq!(sent.msg_id.split(',').count(), 10);
    // 10 × (22 + 950) = 9720 without the ids, 10 × (22 + 950 + 42) = 10140 as sent.
    let r = client
        .send_batch("bc_ops_producer", 1, &batch(950))
        .map(|s| s.status);
    assert!(
        matches!(r, Err(BrokerError::InvalidArgument(_))),
        "a batch body of 10140 bytes exceeds max_body_size 10000 and must be refused \
         locally; got {r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Settings older brokers care about (docs/compatibility.md)
// ---------------------------------------------------------------------------------------------

/// Every LanguageCode a 4.9.4+ broker knows and both header serializers work for the whole
/// produce/consume path. (RUST needs 4.9.4 or later; JAVA, the default, works everywhere.)
#[test]
fn every_language_code_and_header_serializer_is_accepted() {
    use brokerclient::protocol::{LanguageCode, SerializeType};
    use brokerclient::transport::TransportConfig;
    let topic = new_topic(&broker(), "bc_ops_lang");
    let mut offset = 0;
    for language in [
        LanguageCode::Java,
        LanguageCode::Rust,
        LanguageCode::Go,
        LanguageCode::Cpp,
        LanguageCode::Other,
    ] {
        for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
            let client = BrokerClient::new(
                broker_addr(),
                ClientConfig {
                    transport: TransportConfig {
                        language,
                        serialize_type,
                        ..TransportConfig::default()
                    },
                    ..ClientConfig::default()
                },
            );
            let group = unique_name("bc_ops_lang_cg");
            client
                .heartbeat(&heartbeat_data(
                    Some("bc_ops_lang_pg"),
                    Some(&group),
                    Some(&topic),
                ))
                .unwrap_or_else(|e| panic!("{language:?}/{serialize_type:?} heartbeat: {e}"));
            let body = format!("{language:?} {serialize_type:?}");
            let sent = client
                .send(
                    "bc_ops_lang_pg",
                    0,
                    &Message::new(&topic, body.clone().into_bytes()),
                )
                .unwrap_or_else(|e| panic!("{language:?}/{serialize_type:?} send: {e}"));
            assert_eq!(sent.queue_offset, offset);
            let (got, _) = pull_n(&client, &group, &topic, 0, offset, 1);
            assert_eq!(&got[0].body[..], body.as_bytes());
            offset += 1;
        }
    }
}
