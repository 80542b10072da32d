//! The codec against the real broker and name server (started by `scripts/rocketmq.sh`), over
//! a plain TCP stream: no transport, no client layer. Each test fails when the broker is absent.

mod common;

use std::time::Duration;

use brokerclient::protocol::bodies::{from_json, ClusterInfo, TopicRouteData};
use brokerclient::protocol::codes::{request, response};
use brokerclient::protocol::headers::{
    perm, CreateTopicRequestHeader, GetMaxOffsetRequestHeader, GetRouteInfoRequestHeader,
    OffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader, QueueRequestHeader,
    SendMessageRequestHeaderV2, SendMessageResponseHeader, AUTO_CREATE_TOPIC_KEY,
};
use brokerclient::protocol::message::{
    decode_stored_messages, encode_batch_body, DecodeOptions, Message, MessageExt,
};
use brokerclient::protocol::msgid::{decode_offset_msg_id, unique_id};
use brokerclient::protocol::properties::keys;
use brokerclient::protocol::sysflag;
use brokerclient::protocol::{EmptyHeader, SerializeType};
use bytes::Bytes;
use common::{broker_addr, namesrv_addr, now_millis, unique_name, wait_for, RawConn};

/// Creates `topic` with four queues on the broker and waits until the name server routes it.
fn create_topic(topic: &str) {
    let mut broker = RawConn::connect(&broker_addr());
    let header = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: AUTO_CREATE_TOPIC_KEY.into(),
        read_queue_nums: 4,
        write_queue_nums: 4,
        perm: perm::READ | perm::WRITE,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_sys_flag: Some(0),
        order: false,
        attributes: None,
        force: None,
    };
    let resp = broker.call(request::UPDATE_AND_CREATE_TOPIC, &header, &[]);
    assert_eq!(
        resp.code,
        response::SUCCESS,
        "create topic: {:?}",
        resp.remark
    );
    let mut ns = RawConn::connect(&namesrv_addr());
    wait_for("the topic's route", Duration::from_secs(30), || {
        let resp = ns.call(request::GET_ROUTEINFO_BY_TOPIC, &route_header(topic), &[]);
        (resp.code == response::SUCCESS).then_some(())
    });
}

fn route_header(topic: &str) -> GetRouteInfoRequestHeader {
    GetRouteInfoRequestHeader {
        topic: topic.into(),
        accept_standard_json_only: None,
    }
}

fn send_header(
    topic: &str,
    queue_id: i32,
    msg: &Message,
    batch: bool,
) -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        producer_group: "bc_test_producer".into(),
        topic: topic.into(),
        default_topic: AUTO_CREATE_TOPIC_KEY.into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: now_millis(),
        flag: msg.flag,
        properties: Some(msg.properties.encode_to_string().unwrap()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: batch.then_some(true),
        broker_name: None,
    }
}

/// Pulls up to 32 messages from `offset`, holding up to 5 s for new ones (the long poll is what
/// waits for the broker to dispatch what we just sent).
fn pull(conn: &mut RawConn, topic: &str, queue_id: i32, offset: i64) -> (i32, Vec<MessageExt>) {
    let header = PullMessageRequestHeader {
        consumer_group: "bc_test_consumer".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: sysflag::pull::SUSPEND | sysflag::pull::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 5_000,
        subscription: Some("*".into()),
        sub_version: now_millis(),
        expression_type: Some("TAG".into()),
        ..Default::default()
    };
    let resp = conn.call(request::PULL_MESSAGE, &header, &[]);
    let h: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert!(h.max_offset >= h.min_offset);
    if resp.code != response::SUCCESS {
        return (resp.code, Vec::new());
    }
    let msgs = decode_stored_messages(resp.body.clone(), &DecodeOptions::default()).unwrap();
    (resp.code, msgs)
}

fn max_offset(conn: &mut RawConn, topic: &str, queue_id: i32) -> i64 {
    let header = GetMaxOffsetRequestHeader {
        topic: topic.into(),
        queue_id,
        committed: None,
        broker_name: None,
    };
    let resp = conn.call(request::GET_MAX_OFFSET, &header, &[]);
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    resp.decode_header::<OffsetResponseHeader>().unwrap().offset
}

fn message_with_everything(topic: &str) -> Message {
    let mut msg = Message::new(topic, Bytes::from_static(b"hello \x00\x01\x02 broker \xff"));
    msg.flag = 7;
    msg.set_tags("TagA");
    msg.set_keys(["order-1", "user-2"]);
    msg.properties.insert("color", "blue");
    msg.properties.insert("unicode", "grüße ✓");
    msg.properties.insert(keys::UNIQ_KEY, unique_id());
    msg
}

#[test]
fn name_server_lists_the_broker_in_cluster_info() {
    let mut ns = RawConn::connect(&namesrv_addr());
    let resp = ns.call(request::GET_BROKER_CLUSTER_INFO, &EmptyHeader, &[]);
    assert_eq!(resp.code, response::SUCCESS);
    let info: ClusterInfo = from_json(&resp.body, "cluster info").unwrap();
    let addrs: Vec<&str> = info
        .broker_addr_table
        .values()
        .filter_map(|b| b.master_addr())
        .collect();
    assert!(addrs.contains(&broker_addr().as_str()), "{addrs:?}");
    assert!(!info.cluster_addr_table.is_empty());
}

#[test]
fn route_info_in_both_json_forms_and_unknown_topic() {
    for standard in [None, Some(true)] {
        let mut ns = RawConn::connect(&namesrv_addr());
        let header = GetRouteInfoRequestHeader {
            topic: AUTO_CREATE_TOPIC_KEY.into(),
            accept_standard_json_only: standard,
        };
        let resp = ns.call(request::GET_ROUTEINFO_BY_TOPIC, &header, &[]);
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        let route: TopicRouteData = from_json(&resp.body, "route").unwrap();
        // With several brokers in the cluster, TBW102 is routed to each of them.
        let masters: Vec<&str> = route
            .broker_datas
            .iter()
            .filter_map(|b| b.master_addr())
            .collect();
        assert!(masters.contains(&broker_addr().as_str()), "{masters:?}");
        assert!(!route.read_queues(AUTO_CREATE_TOPIC_KEY).is_empty());
    }
    let mut ns = RawConn::connect(&namesrv_addr());
    let resp = ns.call(
        request::GET_ROUTEINFO_BY_TOPIC,
        &route_header(&unique_name("bc_missing")),
        &[],
    );
    assert_eq!(resp.code, response::TOPIC_NOT_EXIST);
}

/// Create a topic, send one message with tags, keys and properties, pull it back
/// byte-identical, and read the max offset — with each header serializer.
#[test]
fn send_and_pull_back_identical_with_both_serializers() {
    for ser in [SerializeType::Json, SerializeType::RocketMq] {
        let topic = unique_name("bc_codec");
        create_topic(&topic);
        let mut conn = RawConn::connect(&broker_addr());
        conn.serialize_type = ser;
        let msg = message_with_everything(&topic);
        let resp = conn.call(
            request::SEND_MESSAGE_V2,
            &send_header(&topic, 1, &msg, false),
            &msg.body,
        );
        assert_eq!(resp.code, response::SUCCESS, "{ser:?}: {:?}", resp.remark);
        let sent: SendMessageResponseHeader = resp.decode_header().unwrap();
        assert_eq!((sent.queue_id, sent.queue_offset), (1, 0));
        let (store_host, commit_log_offset) = decode_offset_msg_id(&sent.msg_id).unwrap();

        let (code, msgs) = pull(&mut conn, &topic, 1, 0);
        assert_eq!(code, response::SUCCESS);
        assert_eq!(msgs.len(), 1);
        let got = &msgs[0];
        assert_eq!(got.body, msg.body, "body must come back byte-identical");
        assert_eq!(got.topic, topic);
        assert_eq!(got.flag, 7);
        assert_eq!((got.queue_id, got.queue_offset), (1, 0));
        assert_eq!(got.commit_log_offset, commit_log_offset);
        assert_eq!(got.store_host, store_host);
        assert_eq!(got.offset_msg_id(), sent.msg_id);
        assert_eq!(got.tags(), Some("TagA"));
        for (k, v) in msg.properties.iter() {
            assert_eq!(got.properties.get(k), Some(v), "property {k}");
        }
        assert_eq!(got.unique_key(), msg.properties.get(keys::UNIQ_KEY));

        assert_eq!(max_offset(&mut conn, &topic, 1), 1);
        assert_eq!(max_offset(&mut conn, &topic, 0), 0);
        let min = conn.call(
            request::GET_MIN_OFFSET,
            &QueueRequestHeader {
                topic: topic.clone(),
                queue_id: 1,
                broker_name: None,
            },
            &[],
        );
        assert_eq!(
            min.decode_header::<OffsetResponseHeader>().unwrap().offset,
            0
        );
    }
}

/// A batch body as the broker expects it (REMOTING.md §7.3): three messages stored in order.
#[test]
fn batch_send_pulls_back_in_order() {
    let topic = unique_name("bc_batch");
    create_topic(&topic);
    let msgs: Vec<Message> = (0..3)
        .map(|i| {
            let mut m = Message::new(&topic, Bytes::from(format!("batch body {i}")));
            m.properties.insert(keys::UNIQ_KEY, unique_id());
            m.properties.insert("index", i.to_string());
            m
        })
        .collect();
    let mut body = Vec::new();
    encode_batch_body(&msgs, &mut body).unwrap();
    // The header's own properties stay empty: a 5.x broker appends them to every entry's
    // properties, so a batch-level UNIQ_KEY (as the Java client sets) would override each
    // message's own id when read back (seen against 5.3.3).
    let batch_header_msg = Message::new(&topic, Bytes::new());
    let mut conn = RawConn::connect(&broker_addr());
    let resp = conn.call(
        request::SEND_BATCH_MESSAGE,
        &send_header(&topic, 2, &batch_header_msg, true),
        &body,
    );
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let sent: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(sent.msg_id.split(',').count(), 3);

    // The broker dispatches the three entries one by one, so a long poll can wake up with
    // fewer than three: keep pulling from the next offset until all are read.
    let mut got = Vec::new();
    while got.len() < 3 {
        let (code, more) = pull(&mut conn, &topic, 2, got.len() as i64);
        assert_eq!(code, response::SUCCESS, "after {} messages", got.len());
        got.extend(more);
    }
    assert_eq!(got.len(), 3);
    for (i, (g, m)) in got.iter().zip(&msgs).enumerate() {
        assert_eq!(g.body, m.body);
        assert_eq!(g.queue_offset, i as i64);
        assert_eq!(g.properties.get("index"), Some(i.to_string().as_str()));
        assert_eq!(g.unique_key(), m.properties.get(keys::UNIQ_KEY));
    }
    assert_eq!(max_offset(&mut conn, &topic, 2), 3);
}

/// Pulling past the end of an empty queue is "not found", not an error of the codec.
#[test]
fn pull_from_empty_queue_is_not_found() {
    let topic = unique_name("bc_empty");
    create_topic(&topic);
    let mut conn = RawConn::connect(&broker_addr());
    let header = PullMessageRequestHeader {
        consumer_group: "bc_test_consumer".into(),
        topic: topic.clone(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: sysflag::pull::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: now_millis(),
        expression_type: Some("TAG".into()),
        ..Default::default()
    };
    let resp = conn.call(request::PULL_MESSAGE, &header, &[]);
    assert!(
        resp.code == response::PULL_NOT_FOUND || resp.code == response::PULL_OFFSET_MOVED,
        "code {} {:?}",
        resp.code,
        resp.remark
    );
    let h: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(h.max_offset, 0);
}
