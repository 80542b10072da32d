//! `bc_heartbeat`: the data a HEART_BEAT registers, built group by group: producer groups,
//! and consumer groups with their consume type, message model, where a new group starts and
//! their topic subscriptions, for `bc_client_send_heartbeat*` and `bc_manager_send_heartbeat*`.
//! The two-group `bc_client_heartbeat` registers a pull consumer with no subscriptions; a
//! broker that should filter by subscription, rebalance a group, or answer
//! `bc_client_get_consumer_list` with a push consumer needs this object.

use std::ffi::c_char;

use super::boundary::{call, free_object, new_object, object, object_mut, str_arg, Object};
use super::error::bc_error;
use super::pull::bc_expression_type;
use super::status::bc_status;
use crate::error::BrokerError;
use crate::protocol::bodies::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData,
    SubscriptionData,
};

/// How a consumer group takes its messages (`bc_heartbeat_add_consumer`).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_consume_type {
    /// A pull consumer: the application pulls (CONSUME_ACTIVELY).
    BC_CONSUME_ACTIVELY = 0,
    /// A push consumer: the client pulls for the application and calls it (CONSUME_PASSIVELY).
    BC_CONSUME_PASSIVELY = 1,
    /// A pop consumer (RocketMQ 5: the broker assigns messages per pop).
    BC_CONSUME_POP = 2,
}

/// How a consumer group shares a topic's messages (`bc_heartbeat_add_consumer`).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_message_model {
    /// Each message goes to one member of the group; offsets are kept on the broker.
    BC_MESSAGE_MODEL_CLUSTERING = 0,
    /// Each message goes to every member; each member keeps its own offsets.
    BC_MESSAGE_MODEL_BROADCASTING = 1,
}

/// Where a consumer group with no committed offset starts (`bc_heartbeat_add_consumer`).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bc_consume_from_where {
    /// After the last message stored (new messages only).
    BC_CONSUME_FROM_LAST_OFFSET = 0,
    /// From the first message the queue still holds.
    BC_CONSUME_FROM_FIRST_OFFSET = 1,
    /// From the first message stored at or after the group's consume timestamp.
    BC_CONSUME_FROM_TIMESTAMP = 2,
}

/// The data of a heartbeat. Not thread-safe while being built; sends only read (and copy)
/// it, so a built heartbeat may be sent from several threads and reused. Opaque.
pub struct bc_heartbeat {
    data: HeartbeatData,
}

impl Object for bc_heartbeat {
    const NAME: &'static str = "heartbeat";
}

fn invalid(e: BrokerError) -> bc_error {
    bc_error::from_broker(&e)
}

/// Creates an empty heartbeat (no groups: add at least one before sending it). The client
/// fills in its own client id when it sends it.
///
/// Ownership: `*out_heartbeat` is the caller's; free it with `bc_heartbeat_free`.
/// Thread-safety: any thread. Errors: `BC_ERR_INVALID_ARG` (`out_heartbeat` NULL).
#[no_mangle]
pub extern "C" fn bc_heartbeat_new(
    out_heartbeat: *mut *mut bc_heartbeat,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let data = HeartbeatData {
            client_id: String::new(),
            producer_data_set: Vec::new(),
            consumer_data_set: Vec::new(),
            heartbeat_fingerprint: 0,
            without_sub: false,
        };
        new_object(out_heartbeat, "out_heartbeat", bc_heartbeat { data })
    })
}

/// Adds producer group `producer_group` (the broker then knows where to send transaction
/// checks for it). Adding a group twice keeps one.
///
/// Ownership: the string is copied. Thread-safety: not while the heartbeat is used elsewhere.
/// Errors: `BC_ERR_INVALID_ARG` (NULL, bad UTF-8, an invalid group name).
#[no_mangle]
pub extern "C" fn bc_heartbeat_add_producer(
    heartbeat: *mut bc_heartbeat,
    producer_group: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let hb = object_mut(heartbeat)?;
        let group = str_arg(producer_group, "producer_group")?;
        crate::client::validate::group(group).map_err(invalid)?;
        let set = &mut hb.data.producer_data_set;
        if !set.iter().any(|p| p.group_name == group) {
            set.push(ProducerData {
                group_name: group.to_owned(),
            });
        }
        Ok(())
    })
}

/// Adds consumer group `consumer_group` with its `consume_type` (a `bc_consume_type`),
/// `message_model` (a `bc_message_model`) and `consume_from_where` (a
/// `bc_consume_from_where`), and no subscriptions yet (`bc_heartbeat_add_subscription`).
/// Adding a group again replaces its modes and keeps its subscriptions.
///
/// Ownership: the string is copied. Thread-safety: not while the heartbeat is used elsewhere.
/// Errors: `BC_ERR_INVALID_ARG` (NULL, bad UTF-8, an invalid group name, an unknown enum value).
#[no_mangle]
pub extern "C" fn bc_heartbeat_add_consumer(
    heartbeat: *mut bc_heartbeat,
    consumer_group: *const c_char,
    consume_type: i32,
    message_model: i32,
    consume_from_where: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let hb = object_mut(heartbeat)?;
        let group = str_arg(consumer_group, "consumer_group")?;
        crate::client::validate::group(group).map_err(invalid)?;
        let consume_type = match consume_type {
            0 => ConsumeType::ConsumeActively,
            1 => ConsumeType::ConsumePassively,
            2 => ConsumeType::ConsumePop,
            other => return Err(unknown("consume_type", other, "bc_consume_type (0..2)")),
        };
        let message_model = match message_model {
            0 => MessageModel::Clustering,
            1 => MessageModel::Broadcasting,
            other => return Err(unknown("message_model", other, "bc_message_model (0, 1)")),
        };
        let consume_from_where = match consume_from_where {
            0 => ConsumeFromWhere::ConsumeFromLastOffset,
            1 => ConsumeFromWhere::ConsumeFromFirstOffset,
            2 => ConsumeFromWhere::ConsumeFromTimestamp,
            other => {
                return Err(unknown(
                    "consume_from_where",
                    other,
                    "bc_consume_from_where (0..2)",
                ))
            }
        };
        let set = &mut hb.data.consumer_data_set;
        match set.iter_mut().find(|c| c.group_name == group) {
            Some(c) => {
                c.consume_type = consume_type;
                c.message_model = message_model;
                c.consume_from_where = consume_from_where;
            }
            None => set.push(ConsumerData {
                group_name: group.to_owned(),
                consume_type,
                message_model,
                consume_from_where,
                subscription_data_set: Vec::new(),
                unit_mode: false,
            }),
        }
        Ok(())
    })
}

fn unknown(name: &str, value: i32, what: &str) -> bc_error {
    bc_error::invalid_arg(&format!("`{name}` {value} is not a {what}"))
}

/// Subscribes consumer group `consumer_group` (added before with `bc_heartbeat_add_consumer`)
/// to `topic` with `expression` in `expression_type` (a `bc_expression_type`): TAG `"*"`,
/// `"a || b"`, or an SQL92 condition (the broker needs `enablePropertyFilter=true`). The
/// subscription version is the current time in milliseconds, as the Java client sets it. A
/// second subscription to the same topic replaces the first.
///
/// Ownership: the strings are copied. Thread-safety: not while the heartbeat is used elsewhere.
/// Errors: `BC_ERR_INVALID_ARG` (NULL, bad UTF-8, an invalid topic, an empty expression, an
/// unknown type, a group not added yet).
#[no_mangle]
pub extern "C" fn bc_heartbeat_add_subscription(
    heartbeat: *mut bc_heartbeat,
    consumer_group: *const c_char,
    topic: *const c_char,
    expression: *const c_char,
    expression_type: i32,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let hb = object_mut(heartbeat)?;
        let group = str_arg(consumer_group, "consumer_group")?;
        let topic = str_arg(topic, "topic")?;
        crate::client::validate::topic(topic).map_err(invalid)?;
        let expression = str_arg(expression, "expression")?;
        if expression.trim().is_empty() {
            return Err(bc_error::invalid_arg(
                "`expression` is empty (\"*\" subscribes to every tag)",
            ));
        }
        let kind = match expression_type {
            t if t == bc_expression_type::BC_EXPRESSION_TAG as i32 => "TAG",
            t if t == bc_expression_type::BC_EXPRESSION_SQL92 as i32 => "SQL92",
            other => {
                return Err(unknown(
                    "expression_type",
                    other,
                    "bc_expression_type (0, 1)",
                ))
            }
        };
        let consumer = hb
            .data
            .consumer_data_set
            .iter_mut()
            .find(|c| c.group_name == group)
            .ok_or_else(|| {
                bc_error::invalid_arg(&format!(
                    "consumer group `{group}` is not in this heartbeat: add it first \
                     (bc_heartbeat_add_consumer)"
                ))
            })?;
        let version = crate::client::now_millis();
        let sub = SubscriptionData::new(topic, expression, kind, version);
        let subs = &mut consumer.subscription_data_set;
        subs.retain(|s| s.topic != topic);
        subs.push(sub);
        Ok(())
    })
}

/// Frees a heartbeat; NULL is ignored. Sends in progress do not need it.
///
/// Thread-safety: once, when no other thread uses it.
#[no_mangle]
pub extern "C" fn bc_heartbeat_free(heartbeat: *mut bc_heartbeat) {
    free_object(heartbeat, drop)
}

/// A copy of the heartbeat a send export was given; `BC_ERR_INVALID_ARG` when it has no group.
pub(crate) fn heartbeat_arg(heartbeat: *const bc_heartbeat) -> Result<HeartbeatData, bc_error> {
    let data = &object(heartbeat)?.data;
    if data.producer_data_set.is_empty() && data.consumer_data_set.is_empty() {
        return Err(bc_error::invalid_arg(
            "the heartbeat has no group: add a producer or a consumer group first",
        ));
    }
    Ok(data.clone())
}
