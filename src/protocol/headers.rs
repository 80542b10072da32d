//! Typed request and response headers (REMOTING.md §4). Field names are the wire keys (Java
//! field names); optional fields are `Option`s and are not sent when `None`.

use super::command::{CommandHeader, ExtFields, FieldWriter, HeaderValue};
use super::error::Result;

/// The template topic for auto-created topics (`TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";

/// `commitOrRollback` values of END_TRANSACTION (`MessageSysFlag`).
pub mod transaction_type {
    pub const NOT_TYPE: i32 = 0;
    pub const COMMIT: i32 = 8;
    pub const ROLLBACK: i32 = 12;
}

/// `PermName` bits of a topic.
pub mod perm {
    pub const PRIORITY: i32 = 8;
    pub const READ: i32 = 4;
    pub const WRITE: i32 = 2;
    pub const INHERIT: i32 = 1;
}

/// Declares a header struct and its [`CommandHeader`] impl from `field: Type => "wireKey"`.
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty => $key:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl CommandHeader for $name {
            fn write_fields<W: FieldWriter>(&self, w: &mut W) {
                $( HeaderValue::write_to(&self.$field, $key, w); )*
            }

            fn decode(ext: &ExtFields) -> Result<Self> {
                Ok($name {
                    $( $field: HeaderValue::read_from(ext, $key)?, )*
                })
            }
        }
    };
}

command_header! {
    /// SEND_MESSAGE (10), and the V1 form of every send (`SendMessageRequestHeader`).
    pub struct SendMessageRequestHeader {
        producer_group: String => "producerGroup",
        topic: String => "topic",
        /// Template for auto-create, normally [`AUTO_CREATE_TOPIC_KEY`].
        default_topic: String => "defaultTopic",
        default_topic_queue_nums: i32 => "defaultTopicQueueNums",
        /// Target queue; negative lets the broker pick.
        queue_id: i32 => "queueId",
        sys_flag: i32 => "sysFlag",
        born_timestamp: i64 => "bornTimestamp",
        /// The user's message flag (not the RPC flag).
        flag: i32 => "flag",
        properties: Option<String> => "properties",
        reconsume_times: Option<i32> => "reconsumeTimes",
        unit_mode: Option<bool> => "unitMode",
        /// True for batch bodies; the broker routes on this field, not on the code.
        batch: Option<bool> => "batch",
        max_reconsume_times: Option<i32> => "maxReconsumeTimes",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): the V1 fields under one-letter keys,
    /// which keeps every send's header short.
    pub struct SendMessageRequestHeaderV2 {
        producer_group: String => "a",
        topic: String => "b",
        default_topic: String => "c",
        default_topic_queue_nums: i32 => "d",
        queue_id: i32 => "e",
        sys_flag: i32 => "f",
        born_timestamp: i64 => "g",
        flag: i32 => "h",
        properties: Option<String> => "i",
        reconsume_times: Option<i32> => "j",
        unit_mode: Option<bool> => "k",
        max_reconsume_times: Option<i32> => "l",
        batch: Option<bool> => "m",
        broker_name: Option<String> => "n",
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(h: SendMessageRequestHeader) -> Self {
        SendMessageRequestHeaderV2 {
            producer_group: h.producer_group,
            topic: h.topic,
            default_topic: h.default_topic,
            default_topic_queue_nums: h.default_topic_queue_nums,
            queue_id: h.queue_id,
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            flag: h.flag,
            properties: h.properties,
            reconsume_times: h.reconsume_times,
            unit_mode: h.unit_mode,
            max_reconsume_times: h.max_reconsume_times,
            batch: h.batch,
            broker_name: h.broker_name,
        }
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(h: SendMessageRequestHeaderV2) -> Self {
        SendMessageRequestHeader {
            producer_group: h.producer_group,
            topic: h.topic,
            default_topic: h.default_topic,
            default_topic_queue_nums: h.default_topic_queue_nums,
            queue_id: h.queue_id,
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            flag: h.flag,
            properties: h.properties,
            reconsume_times: h.reconsume_times,
            unit_mode: h.unit_mode,
            batch: h.batch,
            max_reconsume_times: h.max_reconsume_times,
            broker_name: h.broker_name,
        }
    }
}

command_header! {
    /// The response to every send (`SendMessageResponseHeader` plus broker extras).
    pub struct SendMessageResponseHeader {
        /// Offset message id; comma-joined for a batch.
        msg_id: String => "msgId",
        queue_id: i32 => "queueId",
        queue_offset: i64 => "queueOffset",
        transaction_id: Option<String> => "transactionId",
        batch_uniq_id: Option<String> => "batchUniqId",
        region_id: Option<String> => "MSG_REGION",
        trace_on: Option<String> => "TRACE_ON",
    }
}

command_header! {
    /// PULL_MESSAGE (11) / LITE_PULL_MESSAGE (361).
    pub struct PullMessageRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        queue_offset: i64 => "queueOffset",
        max_msg_nums: i32 => "maxMsgNums",
        /// `PullSysFlag` bits.
        sys_flag: i32 => "sysFlag",
        commit_offset: i64 => "commitOffset",
        /// Long-poll hold time; the client deadline must exceed it by ~5 s.
        suspend_timeout_millis: i64 => "suspendTimeoutMillis",
        subscription: Option<String> => "subscription",
        sub_version: i64 => "subVersion",
        expression_type: Option<String> => "expressionType",
        max_msg_bytes: Option<i32> => "maxMsgBytes",
        request_source: Option<i32> => "requestSource",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// The response to a pull.
    pub struct PullMessageResponseHeader {
        suggest_which_broker_id: i64 => "suggestWhichBrokerId",
        next_begin_offset: i64 => "nextBeginOffset",
        min_offset: i64 => "minOffset",
        /// Exclusive: the next offset to be written.
        max_offset: i64 => "maxOffset",
        offset_delta: Option<i64> => "offsetDelta",
        topic_sys_flag: Option<i32> => "topicSysFlag",
        group_sys_flag: Option<i32> => "groupSysFlag",
        forbidden_type: Option<i32> => "forbiddenType",
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET (14).
    pub struct QueryConsumerOffsetRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        set_zero_if_not_found: Option<bool> => "setZeroIfNotFound",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// The response of QUERY_CONSUMER_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP, GET_MAX_OFFSET and
    /// GET_MIN_OFFSET: one `offset`.
    pub struct OffsetResponseHeader {
        offset: i64 => "offset",
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15).
    pub struct UpdateConsumerOffsetRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        commit_offset: i64 => "commitOffset",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub struct SearchOffsetRequestHeader {
        topic: String => "topic",
        queue_id: i32 => "queueId",
        /// Milliseconds since the epoch.
        timestamp: i64 => "timestamp",
        /// `LOWER` (default) or `UPPER`.
        boundary_type: Option<String> => "boundaryType",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30).
    pub struct GetMaxOffsetRequestHeader {
        topic: String => "topic",
        queue_id: i32 => "queueId",
        committed: Option<bool> => "committed",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// GET_MIN_OFFSET (31) and GET_EARLIEST_MSG_STORETIME (32).
    pub struct QueueRequestHeader {
        topic: String => "topic",
        queue_id: i32 => "queueId",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// The response of GET_EARLIEST_MSG_STORETIME.
    pub struct TimestampResponseHeader {
        timestamp: i64 => "timestamp",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33); `offset` is a commit-log offset.
    pub struct ViewMessageRequestHeader {
        offset: i64 => "offset",
        topic: Option<String> => "topic",
    }
}

command_header! {
    /// UNREGISTER_CLIENT (35).
    pub struct UnregisterClientRequestHeader {
        client_id: String => "clientID",
        producer_group: Option<String> => "producerGroup",
        consumer_group: Option<String> => "consumerGroup",
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36); `offset` is a commit-log offset.
    pub struct ConsumerSendMsgBackRequestHeader {
        offset: i64 => "offset",
        group: String => "group",
        /// 0: the broker chooses; negative: straight to the DLQ.
        delay_level: i32 => "delayLevel",
        origin_msg_id: Option<String> => "originMsgId",
        origin_topic: Option<String> => "originTopic",
        unit_mode: Option<bool> => "unitMode",
        max_reconsume_times: Option<i32> => "maxReconsumeTimes",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// END_TRANSACTION (37).
    pub struct EndTransactionRequestHeader {
        producer_group: String => "producerGroup",
        /// The half message's queue offset.
        tran_state_table_offset: i64 => "tranStateTableOffset",
        /// The half message's commit-log offset.
        commit_log_offset: i64 => "commitLogOffset",
        /// One of [`transaction_type`].
        commit_or_rollback: i32 => "commitOrRollback",
        from_transaction_check: Option<bool> => "fromTransactionCheck",
        /// The client (UNIQ_KEY) message id.
        msg_id: String => "msgId",
        transaction_id: Option<String> => "transactionId",
        topic: Option<String> => "topic",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39), sent by the broker.
    pub struct CheckTransactionStateRequestHeader {
        topic: Option<String> => "topic",
        tran_state_table_offset: i64 => "tranStateTableOffset",
        commit_log_offset: i64 => "commitLogOffset",
        msg_id: Option<String> => "msgId",
        transaction_id: Option<String> => "transactionId",
        offset_msg_id: Option<String> => "offsetMsgId",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38) and NOTIFY_CONSUMER_IDS_CHANGED (40).
    pub struct ConsumerGroupHeader {
        consumer_group: String => "consumerGroup",
    }
}

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17).
    pub struct CreateTopicRequestHeader {
        topic: String => "topic",
        default_topic: String => "defaultTopic",
        read_queue_nums: i32 => "readQueueNums",
        write_queue_nums: i32 => "writeQueueNums",
        /// [`perm`] bits, normally READ | WRITE.
        perm: i32 => "perm",
        /// `SINGLE_TAG` or `MULTI_TAG`.
        topic_filter_type: String => "topicFilterType",
        topic_sys_flag: Option<i32> => "topicSysFlag",
        order: bool => "order",
        attributes: Option<String> => "attributes",
        force: Option<bool> => "force",
    }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105) to the name server.
    pub struct GetRouteInfoRequestHeader {
        topic: String => "topic",
        /// Asks for standard JSON (string map keys) from name servers ≥ 4.9.4.
        accept_standard_json_only: Option<bool> => "acceptStandardJsonOnly",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codes::SerializeType;
    use crate::protocol::command::RemotingCommand;
    use crate::protocol::frame::decode_frame;

    /// Encodes `h` into a frame with each serializer, decodes it and compares.
    fn round_trip<H: CommandHeader + PartialEq + std::fmt::Debug>(h: &H) {
        for ser in [SerializeType::Json, SerializeType::RocketMq] {
            let cmd = RemotingCommand::request(10, h);
            let back = decode_frame(cmd.to_frame(ser).unwrap()).unwrap();
            assert_eq!(&back.decode_header::<H>().unwrap(), h, "{ser:?}");
        }
    }

    fn send_header() -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "T".into(),
            default_topic: AUTO_CREATE_TOPIC_KEY.into(),
            default_topic_queue_nums: 4,
            queue_id: -1,
            sys_flag: 4,
            born_timestamp: 1_700_000_000_123,
            flag: 0,
            properties: Some("TAGS\u{1}a\u{2}".into()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            batch: Some(true),
            max_reconsume_times: None,
            broker_name: Some("broker-a".into()),
        }
    }

    #[test]
    fn every_header_round_trips_with_both_serializers() {
        round_trip(&send_header());
        round_trip(&SendMessageRequestHeaderV2::from(send_header()));
        round_trip(&SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000000000".into(),
            queue_id: 1,
            queue_offset: 9,
            transaction_id: Some("X".into()),
            region_id: Some("DefaultRegion".into()),
            trace_on: Some("true".into()),
            ..Default::default()
        });
        round_trip(&PullMessageRequestHeader {
            consumer_group: "CG".into(),
            topic: "T".into(),
            queue_id: 2,
            queue_offset: 10,
            max_msg_nums: 32,
            sys_flag: 6,
            commit_offset: 0,
            suspend_timeout_millis: 15_000,
            subscription: Some("a || b".into()),
            sub_version: 1,
            expression_type: Some("TAG".into()),
            ..Default::default()
        });
        round_trip(&PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: 5,
            min_offset: 0,
            max_offset: 5,
            offset_delta: Some(-3),
            ..Default::default()
        });
        round_trip(&QueryConsumerOffsetRequestHeader {
            consumer_group: "CG".into(),
            topic: "T".into(),
            queue_id: 0,
            set_zero_if_not_found: Some(true),
            broker_name: None,
        });
        round_trip(&OffsetResponseHeader { offset: i64::MAX });
        round_trip(&UpdateConsumerOffsetRequestHeader {
            consumer_group: "CG".into(),
            topic: "T".into(),
            queue_id: 3,
            commit_offset: 42,
            broker_name: Some("b".into()),
        });
        round_trip(&SearchOffsetRequestHeader {
            topic: "T".into(),
            queue_id: 0,
            timestamp: 1,
            boundary_type: Some("UPPER".into()),
            broker_name: None,
        });
        round_trip(&GetMaxOffsetRequestHeader {
            topic: "T".into(),
            queue_id: 1,
            committed: Some(true),
            broker_name: None,
        });
        round_trip(&QueueRequestHeader {
            topic: "T".into(),
            queue_id: 1,
            broker_name: None,
        });
        round_trip(&TimestampResponseHeader { timestamp: -1 });
        round_trip(&ViewMessageRequestHeader {
            offset: 123,
            topic: Some("T".into()),
        });
        round_trip(&UnregisterClientRequestHeader {
            client_id: "1.2.3.4@x".into(),
            producer_group: Some("PG".into()),
            consumer_group: None,
        });
        round_trip(&ConsumerSendMsgBackRequestHeader {
            offset: 77,
            group: "CG".into(),
            delay_level: -1,
            origin_msg_id: Some("M".into()),
            origin_topic: Some("T".into()),
            unit_mode: Some(false),
            max_reconsume_times: Some(3),
            broker_name: None,
        });
        round_trip(&EndTransactionRequestHeader {
            producer_group: "PG".into(),
            tran_state_table_offset: 1,
            commit_log_offset: 2,
            commit_or_rollback: transaction_type::ROLLBACK,
            from_transaction_check: Some(true),
            msg_id: "U".into(),
            transaction_id: Some("U".into()),
            topic: Some("T".into()),
            broker_name: Some("b".into()),
        });
        round_trip(&CheckTransactionStateRequestHeader {
            topic: Some("T".into()),
            tran_state_table_offset: 1,
            commit_log_offset: 2,
            msg_id: Some("U".into()),
            transaction_id: Some("U".into()),
            offset_msg_id: Some("O".into()),
            broker_name: Some("b".into()),
        });
        round_trip(&ConsumerGroupHeader {
            consumer_group: "CG".into(),
        });
        round_trip(&CreateTopicRequestHeader {
            topic: "T".into(),
            default_topic: AUTO_CREATE_TOPIC_KEY.into(),
            read_queue_nums: 4,
            write_queue_nums: 4,
            perm: perm::READ | perm::WRITE,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
            attributes: None,
            force: None,
        });
        round_trip(&GetRouteInfoRequestHeader {
            topic: "T".into(),
            accept_standard_json_only: Some(true),
        });
    }

    #[test]
    fn v2_uses_letter_keys_and_converts_back() {
        let v2 = SendMessageRequestHeaderV2::from(send_header());
        let ext = v2.to_ext_fields();
        assert_eq!(ext.get("a"), Some("PG"));
        assert_eq!(ext.get("g"), Some("1700000000123"));
        assert_eq!(ext.get("m"), Some("true"));
        assert_eq!(ext.get("l"), None);
        assert_eq!(SendMessageRequestHeader::from(v2), send_header());
    }

    #[test]
    fn missing_required_field_is_an_error() {
        let ext: ExtFields = [("msgId", "x"), ("queueId", "1")].into_iter().collect();
        assert_eq!(
            SendMessageResponseHeader::decode(&ext),
            Err(crate::protocol::ProtocolError::MissingField("queueOffset"))
        );
    }
}
