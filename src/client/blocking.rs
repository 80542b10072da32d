//! `BrokerClient`: the blocking twin of [`AsyncBrokerClient`]. Each call runs the async
//! operation on the library runtime and waits; called from a runtime thread it returns
//! [`BrokerError::WouldDeadlock`](crate::BrokerError::WouldDeadlock) instead of blocking.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::handler::{NotifyHandler, TransactionCheckHandler};
use super::types::{BoundaryType, EndTransaction, PullRequest, PullResult, SendResult};
use super::{AsyncBrokerClient, ClientConfig};
use crate::protocol::bodies::{ClusterInfo, HeartbeatData, MessageQueue, TopicRouteData};
use crate::protocol::message::{Message, MessageExt};

/// A blocking client of one broker or name server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BrokerClient {
    inner: AsyncBrokerClient,
}

impl BrokerClient {
    /// A client of the broker (or name server) at `addr`. Does not connect yet.
    pub fn new(addr: impl Into<String>, config: ClientConfig) -> Self {
        BrokerClient {
            inner: AsyncBrokerClient::new(addr, config),
        }
    }

    /// The async client behind this one (same connection).
    pub fn as_async(&self) -> &AsyncBrokerClient {
        &self.inner
    }

    /// The same client with another deadline for each operation.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        BrokerClient {
            inner: self.inner.with_timeout(timeout),
        }
    }

    pub fn addr(&self) -> &str {
        self.inner.addr()
    }

    pub fn client_id(&self) -> String {
        self.inner.client_id()
    }

    pub fn disconnect(&self) {
        self.inner.disconnect()
    }

    pub fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }

    /// See [`AsyncBrokerClient::stats`].
    pub fn stats(&self) -> super::stats::StatsSnapshot {
        self.inner.stats()
    }

    pub fn set_transaction_check_handler(&self, handler: Option<Arc<TransactionCheckHandler>>) {
        self.inner.set_transaction_check_handler(handler)
    }

    pub fn set_notify_handler(&self, handler: Option<Arc<NotifyHandler>>) {
        self.inner.set_notify_handler(handler)
    }

    blocking_ops! {
        /// See [`AsyncBrokerClient::connect`].
        fn connect(&self) -> ();
        /// See [`AsyncBrokerClient::send`].
        fn send(&self, producer_group: &str, queue_id: i32, msg: &Message) -> SendResult;
        /// See [`AsyncBrokerClient::send_oneway`].
        fn send_oneway(&self, producer_group: &str, queue_id: i32, msg: &Message) -> ();
        /// See [`AsyncBrokerClient::send_batch`].
        fn send_batch(&self, producer_group: &str, queue_id: i32, msgs: &[Message]) -> SendResult;
        /// See [`AsyncBrokerClient::send_batch_oneway`].
        fn send_batch_oneway(&self, producer_group: &str, queue_id: i32, msgs: &[Message]) -> ();
        /// See [`AsyncBrokerClient::pull`].
        fn pull(&self, req: &PullRequest) -> PullResult;
        /// See [`AsyncBrokerClient::query_consumer_offset`].
        fn query_consumer_offset(&self, group: &str, topic: &str, queue_id: i32) -> i64;
        /// See [`AsyncBrokerClient::update_consumer_offset`].
        fn update_consumer_offset(&self, group: &str, topic: &str, queue_id: i32, offset: i64) -> ();
        /// See [`AsyncBrokerClient::update_consumer_offset_oneway`].
        fn update_consumer_offset_oneway(&self, group: &str, topic: &str, queue_id: i32, offset: i64) -> ();
        /// See [`AsyncBrokerClient::search_offset_by_timestamp`].
        fn search_offset_by_timestamp(&self, topic: &str, queue_id: i32, timestamp_ms: i64, boundary: BoundaryType) -> i64;
        /// See [`AsyncBrokerClient::get_max_offset`].
        fn get_max_offset(&self, topic: &str, queue_id: i32) -> i64;
        /// See [`AsyncBrokerClient::get_min_offset`].
        fn get_min_offset(&self, topic: &str, queue_id: i32) -> i64;
        /// See [`AsyncBrokerClient::get_earliest_msg_store_time`].
        fn get_earliest_msg_store_time(&self, topic: &str, queue_id: i32) -> i64;
        /// See [`AsyncBrokerClient::view_message`].
        fn view_message(&self, offset_msg_id: &str) -> MessageExt;
        /// See [`AsyncBrokerClient::heartbeat`].
        fn heartbeat(&self, data: &HeartbeatData) -> ();
        /// See [`AsyncBrokerClient::unregister_client`].
        fn unregister_client(&self, producer_group: Option<&str>, consumer_group: Option<&str>) -> ();
        /// See [`AsyncBrokerClient::end_transaction`].
        fn end_transaction(&self, end: &EndTransaction) -> ();
        /// See [`AsyncBrokerClient::consumer_send_back`].
        fn consumer_send_back(&self, group: &str, msg: &MessageExt, delay_level: i32, max_reconsume_times: Option<i32>) -> ();
        /// See [`AsyncBrokerClient::get_consumer_list`].
        fn get_consumer_list(&self, group: &str) -> Vec<String>;
        /// See [`AsyncBrokerClient::lock_batch_mq`].
        fn lock_batch_mq(&self, group: &str, mqs: &BTreeSet<MessageQueue>) -> BTreeSet<MessageQueue>;
        /// See [`AsyncBrokerClient::unlock_batch_mq`].
        fn unlock_batch_mq(&self, group: &str, mqs: &BTreeSet<MessageQueue>) -> ();
        /// See [`AsyncBrokerClient::create_topic`].
        fn create_topic(&self, topic: &str, queue_nums: i32) -> ();
        /// See [`AsyncBrokerClient::get_route_info`].
        fn get_route_info(&self, topic: &str) -> TopicRouteData;
        /// See [`AsyncBrokerClient::get_cluster_info`].
        fn get_cluster_info(&self) -> ClusterInfo;
    }
}
