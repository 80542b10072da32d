//! JSON bodies (REMOTING.md §5): heartbeat data, routes, cluster info, queue locks and the
//! consumer list. Field names are the Java bean names.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::error::{ProtocolError, Result};
use super::fastjson;

/// Serializes a body as standard JSON (fastjson on the broker reads it).
pub fn to_json<T: Serialize>(body: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail: every map key is a string or an integer.
    serde_json::to_vec(body).expect("body types serialize")
}

/// Parses a body written by fastjson.
pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<T> {
    if bytes.is_empty() {
        return Err(ProtocolError::InvalidJson {
            what,
            reason: "empty body".into(),
        });
    }
    fastjson::from_slice(bytes, what)
}

/// A queue of a topic on a broker (`MessageQueue`); ordered as Java sorts it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

/// `ConsumeType` of a consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeType {
    /// Pull consumers.
    ConsumeActively,
    /// Push consumers.
    ConsumePassively,
    ConsumePop,
}

/// `MessageModel` of a consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageModel {
    Broadcasting,
    Clustering,
}

/// Where a new consumer group starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeFromWhere {
    ConsumeFromLastOffset,
    ConsumeFromFirstOffset,
    ConsumeFromTimestamp,
}

/// A topic subscription in a heartbeat (`SubscriptionData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionData {
    #[serde(default)]
    pub class_filter_mode: bool,
    pub topic: String,
    /// `*`, `tagA || tagB`, or an SQL92 expression.
    pub sub_string: String,
    #[serde(default)]
    pub tags_set: BTreeSet<String>,
    /// Java `String.hashCode` of each tag.
    #[serde(default)]
    pub code_set: BTreeSet<i32>,
    pub sub_version: i64,
    #[serde(default = "default_expression_type")]
    pub expression_type: String,
}

fn default_expression_type() -> String {
    "TAG".into()
}

impl SubscriptionData {
    /// A subscription to `topic` as the Java client's `FilterAPI.buildSubscriptionData` makes
    /// it. TAG: `"*"` (or blank) takes every tag; otherwise the tags of `"a || b"`, trimmed,
    /// blank ones dropped, with their hash codes (the broker filters its consume queue by
    /// them). Any other type (SQL92) carries the expression as it is.
    pub fn new(
        topic: &str,
        expression: &str,
        expression_type: &str,
        sub_version: i64,
    ) -> SubscriptionData {
        let mut sub = SubscriptionData {
            class_filter_mode: false,
            topic: topic.to_owned(),
            sub_string: expression.trim().to_owned(),
            tags_set: BTreeSet::new(),
            code_set: BTreeSet::new(),
            sub_version,
            expression_type: expression_type.to_owned(),
        };
        if expression_type == "TAG" {
            if sub.sub_string.is_empty() || sub.sub_string == "*" {
                sub.sub_string = "*".into();
            } else {
                for tag in sub.sub_string.split("||").map(str::trim) {
                    if !tag.is_empty() && sub.tags_set.insert(tag.to_owned()) {
                        // The hash is Java's String.hashCode, an int.
                        sub.code_set
                            .insert(super::properties::tags_hash(tag) as i32);
                    }
                }
            }
        }
        sub
    }
}

/// A producer group in a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerData {
    pub group_name: String,
}

/// A consumer group in a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerData {
    pub group_name: String,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    #[serde(default)]
    pub subscription_data_set: Vec<SubscriptionData>,
    #[serde(default)]
    pub unit_mode: bool,
}

/// HEART_BEAT (34) body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatData {
    #[serde(rename = "clientID")]
    pub client_id: String,
    #[serde(default)]
    pub producer_data_set: Vec<ProducerData>,
    #[serde(default)]
    pub consumer_data_set: Vec<ConsumerData>,
    /// 0 selects the classic heartbeat (the V2 path is not used by this library).
    #[serde(default)]
    pub heartbeat_fingerprint: i32,
    #[serde(default)]
    pub without_sub: bool,
}

/// A topic's queues on one broker (`QueueData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueData {
    pub broker_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    #[serde(default)]
    pub topic_sys_flag: i32,
}

/// A broker set: one name, addresses by broker id (0 = master) (`BrokerData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerData {
    #[serde(default)]
    pub cluster: String,
    pub broker_name: String,
    pub broker_addrs: BTreeMap<i64, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
    #[serde(default)]
    pub enable_acting_master: bool,
}

impl BrokerData {
    /// The master's address (broker id 0).
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&0).map(String::as_str)
    }
}

/// GET_ROUTEINFO_BY_TOPIC (105) response body (`TopicRouteData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRouteData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    #[serde(default)]
    pub queue_datas: Vec<QueueData>,
    #[serde(default)]
    pub broker_datas: Vec<BrokerData>,
    #[serde(default)]
    pub filter_server_table: HashMap<String, Vec<String>>,
}

impl TopicRouteData {
    /// Writable queues with a master, in Java's order (`topicRouteData2TopicPublishInfo`).
    pub fn write_queues(&self, topic: &str) -> Vec<MessageQueue> {
        self.queues(topic, super::headers::perm::WRITE, |q| q.write_queue_nums)
    }

    /// Readable queues (`topicRouteData2TopicSubscribeInfo`).
    pub fn read_queues(&self, topic: &str) -> Vec<MessageQueue> {
        self.queues(topic, super::headers::perm::READ, |q| q.read_queue_nums)
    }

    fn queues(&self, topic: &str, perm: i32, count: fn(&QueueData) -> i32) -> Vec<MessageQueue> {
        let mut out = Vec::new();
        for q in self.queue_datas.iter().filter(|q| q.perm & perm != 0) {
            let has_master = self
                .broker_datas
                .iter()
                .any(|b| b.broker_name == q.broker_name && b.master_addr().is_some());
            if perm == super::headers::perm::WRITE && !has_master {
                continue;
            }
            out.extend((0..count(q)).map(|queue_id| MessageQueue {
                topic: topic.to_owned(),
                broker_name: q.broker_name.clone(),
                queue_id,
            }));
        }
        out
    }

    /// The master address of `broker_name`.
    pub fn master_addr(&self, broker_name: &str) -> Option<&str> {
        self.broker_datas
            .iter()
            .find(|b| b.broker_name == broker_name)
            .and_then(BrokerData::master_addr)
    }
}

/// GET_BROKER_CLUSTER_INFO (106) response body (`ClusterInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    #[serde(default)]
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    #[serde(default)]
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

/// LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42) request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockBatchRequestBody {
    pub consumer_group: String,
    pub client_id: String,
    #[serde(default)]
    pub only_this_broker: bool,
    pub mq_set: BTreeSet<MessageQueue>,
}

/// LOCK_BATCH_MQ response body: the queues now locked by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet", default)]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

/// GET_CONSUMER_LIST_BY_GROUP response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerListBody {
    #[serde(default)]
    pub consumer_id_list: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// REMOTING.md §5.2: the non-standard (fastjson default) route form.
    const ROUTE_FASTJSON: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

    #[test]
    fn route_data_parses_both_forms() {
        let a: TopicRouteData = from_json(ROUTE_FASTJSON.as_bytes(), "route").unwrap();
        let standard = ROUTE_FASTJSON.replace("{0:", "{\"0\":");
        let b: TopicRouteData = from_json(standard.as_bytes(), "route").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.master_addr("broker-a"), Some("127.0.0.1:10911"));
        let wq = a.write_queues("T");
        assert_eq!(wq.len(), 4);
        assert_eq!(wq[3].queue_id, 3);
        assert_eq!(a.read_queues("T").len(), 4);
        // What we write, we read back.
        let again: TopicRouteData = from_json(&to_json(&a), "route").unwrap();
        assert_eq!(again, a);
    }

    #[test]
    fn cluster_info_parses_unquoted_keys() {
        let body = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;
        let c: ClusterInfo = from_json(body.as_bytes(), "cluster").unwrap();
        assert_eq!(
            c.broker_addr_table["broker-a"].master_addr(),
            Some("127.0.0.1:10911")
        );
        assert!(c.cluster_addr_table["DefaultCluster"].contains("broker-a"));
    }

    #[test]
    fn subscriptions_are_built_as_the_java_filter_api_builds_them() {
        let all = SubscriptionData::new("T", " * ", "TAG", 7);
        assert_eq!((all.sub_string.as_str(), all.tags_set.len()), ("*", 0));
        assert_eq!(SubscriptionData::new("T", "", "TAG", 7).sub_string, "*");
        let two = SubscriptionData::new("T", "TagA || TagB ||  || TagA", "TAG", 7);
        assert_eq!(
            two.tags_set.iter().map(String::as_str).collect::<Vec<_>>(),
            ["TagA", "TagB"]
        );
        assert!(two.code_set.contains(&2_598_919), "{:?}", two.code_set);
        assert_eq!(two.code_set.len(), 2);
        let sql = SubscriptionData::new("T", "a > 5 || b = 1", "SQL92", 9);
        assert_eq!(sql.sub_string, "a > 5 || b = 1");
        assert!(sql.tags_set.is_empty() && sql.code_set.is_empty());
        assert_eq!(
            (sql.expression_type.as_str(), sql.sub_version),
            ("SQL92", 9)
        );
    }

    #[test]
    fn heartbeat_serializes_java_names() {
        let hb = HeartbeatData {
            client_id: "127.0.0.1@1#2".into(),
            producer_data_set: vec![ProducerData {
                group_name: "PG".into(),
            }],
            consumer_data_set: vec![ConsumerData {
                group_name: "CG".into(),
                consume_type: ConsumeType::ConsumeActively,
                message_model: MessageModel::Clustering,
                consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
                subscription_data_set: vec![SubscriptionData {
                    class_filter_mode: false,
                    topic: "T".into(),
                    sub_string: "*".into(),
                    tags_set: BTreeSet::new(),
                    code_set: BTreeSet::new(),
                    sub_version: 1,
                    expression_type: "TAG".into(),
                }],
                unit_mode: false,
            }],
            heartbeat_fingerprint: 0,
            without_sub: false,
        };
        let json = String::from_utf8(to_json(&hb)).unwrap();
        for needle in [
            "\"clientID\":\"127.0.0.1@1#2\"",
            "\"producerDataSet\":[{\"groupName\":\"PG\"}]",
            "\"consumeType\":\"CONSUME_ACTIVELY\"",
            "\"messageModel\":\"CLUSTERING\"",
            "\"consumeFromWhere\":\"CONSUME_FROM_FIRST_OFFSET\"",
            "\"subString\":\"*\"",
            "\"subVersion\":1",
        ] {
            assert!(json.contains(needle), "{needle} not in {json}");
        }
        let back: HeartbeatData = from_json(json.as_bytes(), "heartbeat").unwrap();
        assert_eq!(back, hb);
    }

    #[test]
    fn lock_bodies_and_consumer_list() {
        let mq = MessageQueue {
            topic: "T".into(),
            broker_name: "b".into(),
            queue_id: 1,
        };
        let req = LockBatchRequestBody {
            consumer_group: "CG".into(),
            client_id: "c".into(),
            only_this_broker: false,
            mq_set: [mq.clone()].into(),
        };
        let json = String::from_utf8(to_json(&req)).unwrap();
        assert!(json.contains("\"mqSet\":[{\"topic\":\"T\",\"brokerName\":\"b\",\"queueId\":1}]"));
        let resp: LockBatchResponseBody = from_json(
            br#"{"lockOKMQSet":[{"brokerName":"b","queueId":1,"topic":"T"}]}"#,
            "lock",
        )
        .unwrap();
        assert!(resp.lock_ok_mq_set.contains(&mq));
        let list: ConsumerListBody =
            from_json(br#"{"consumerIdList":["a@1","b@2"]}"#, "list").unwrap();
        assert_eq!(list.consumer_id_list, vec!["a@1", "b@2"]);
        assert!(from_json::<ConsumerListBody>(b"", "list").is_err());
        assert!(from_json::<ConsumerListBody>(b"\xff\xfe", "list").is_err());
    }
}
