//! Quickstart: send one message to the local broker and pull it back, using the codec over a
//! plain TCP stream. Start the broker first (`scripts/rocketmq.sh start`, or `make quickstart`
//! which does both). Addresses: `BC_NAMESRV_ADDR`, `BC_BROKER_ADDR`.

#[path = "../tests/common/mod.rs"]
mod common;

use brokerclient::protocol::bodies::{from_json, TopicRouteData};
use brokerclient::protocol::codes::{request, response};
use brokerclient::protocol::headers::{
    GetRouteInfoRequestHeader, PullMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader, AUTO_CREATE_TOPIC_KEY,
};
use brokerclient::protocol::message::{decode_stored_messages, DecodeOptions, Message};
use brokerclient::protocol::msgid::unique_id;
use brokerclient::protocol::properties::keys;
use brokerclient::protocol::sysflag;
use bytes::Bytes;
use common::{broker_addr, namesrv_addr, now_millis, RawConn};

fn main() {
    let topic = "BrokerClientQuickstart";

    // 1. Where does the topic live? (The broker auto-creates it on first send; until then the
    //    name server routes the template topic.)
    let mut ns = RawConn::connect(&namesrv_addr());
    let route_of = |ns: &mut RawConn, t: &str| {
        let header = GetRouteInfoRequestHeader {
            topic: t.into(),
            accept_standard_json_only: Some(true),
        };
        let resp = ns.call(request::GET_ROUTEINFO_BY_TOPIC, &header, &[]);
        (resp.code == response::SUCCESS)
            .then(|| from_json::<TopicRouteData>(&resp.body, "route").unwrap())
    };
    let route = route_of(&mut ns, topic)
        .or_else(|| route_of(&mut ns, AUTO_CREATE_TOPIC_KEY))
        .expect("the name server routes no broker");
    let addr = route.broker_datas[0]
        .master_addr()
        .map(str::to_owned)
        .unwrap_or_else(broker_addr);
    println!(
        "name server {} routes {topic} to broker {addr}",
        namesrv_addr()
    );

    // 2. Send one message (SEND_MESSAGE_V2) to queue 0.
    let mut msg = Message::new(
        topic,
        Bytes::from_static(b"Hello, RocketMQ, from libbrokerclient"),
    );
    msg.set_tags("quickstart");
    msg.properties.insert(keys::UNIQ_KEY, unique_id());
    let header = SendMessageRequestHeaderV2 {
        producer_group: "quickstart_producer".into(),
        topic: topic.into(),
        default_topic: AUTO_CREATE_TOPIC_KEY.into(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: now_millis(),
        flag: 0,
        properties: Some(msg.properties.encode_to_string().unwrap()),
        ..Default::default()
    };
    let mut broker = RawConn::connect(&addr);
    let resp = broker.call(request::SEND_MESSAGE_V2, &header, &msg.body);
    assert_eq!(
        resp.code,
        response::SUCCESS,
        "send failed: {:?}",
        resp.remark
    );
    let sent: SendMessageResponseHeader = resp.decode_header().unwrap();
    println!(
        "sent: msgId={} queue={} offset={}",
        sent.msg_id, sent.queue_id, sent.queue_offset
    );

    // 3. Pull it back from that offset (long polling covers the broker's dispatch delay).
    let pull = PullMessageRequestHeader {
        consumer_group: "quickstart_consumer".into(),
        topic: topic.into(),
        queue_id: sent.queue_id,
        queue_offset: sent.queue_offset,
        max_msg_nums: 1,
        sys_flag: sysflag::pull::SUSPEND | sysflag::pull::SUBSCRIPTION,
        suspend_timeout_millis: 5_000,
        subscription: Some("*".into()),
        sub_version: now_millis(),
        expression_type: Some("TAG".into()),
        ..Default::default()
    };
    let resp = broker.call(request::PULL_MESSAGE, &pull, &[]);
    assert_eq!(
        resp.code,
        response::SUCCESS,
        "pull failed: {:?}",
        resp.remark
    );
    let msgs = decode_stored_messages(resp.body.clone(), &DecodeOptions::default()).unwrap();
    let got = &msgs[0];
    assert_eq!(got.body, msg.body);
    println!(
        "pulled: offset={} tags={:?} body={:?}",
        got.queue_offset,
        got.tags(),
        String::from_utf8_lossy(&got.body)
    );
    println!("quickstart: OK");
}
