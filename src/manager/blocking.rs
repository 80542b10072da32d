//! `BrokerManager`: the blocking twin of [`AsyncBrokerManager`]; from a runtime thread each
//! call returns [`BrokerError::WouldDeadlock`](crate::BrokerError::WouldDeadlock).

use std::time::Duration;

use super::{AsyncBrokerManager, BrokerState, ManagerConfig, ManagerSnapshot};
use crate::client::{AsyncBrokerClient, PullRequest, PullResult, SendResult};
use crate::error::Result;
use crate::protocol::bodies::{ClusterInfo, HeartbeatData, TopicRouteData};
use crate::protocol::message::Message;
use crate::transport::runtime::block_on;

/// A blocking manager of many brokers. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BrokerManager {
    inner: AsyncBrokerManager,
}

impl BrokerManager {
    pub fn new(config: ManagerConfig) -> Self {
        BrokerManager {
            inner: AsyncBrokerManager::new(config),
        }
    }

    /// See [`AsyncBrokerManager::from_name_servers`].
    pub fn from_name_servers(addrs: &str, config: ManagerConfig) -> Result<Self> {
        Ok(BrokerManager {
            inner: AsyncBrokerManager::from_name_servers(addrs, config)?,
        })
    }

    pub fn as_async(&self) -> &AsyncBrokerManager {
        &self.inner
    }

    pub fn with_timeout(&self, timeout: Duration) -> Self {
        BrokerManager {
            inner: self.inner.with_timeout(timeout),
        }
    }

    pub fn client_id(&self) -> &str {
        self.inner.client_id()
    }

    pub fn brokers(&self) -> Vec<String> {
        self.inner.brokers()
    }

    pub fn broker_state(&self, addr: &str) -> Option<BrokerState> {
        self.inner.broker_state(addr)
    }

    pub fn broker_addr(&self, broker_name: &str) -> Option<String> {
        self.inner.broker_addr(broker_name)
    }

    pub fn client(&self, addr: &str) -> Result<AsyncBrokerClient> {
        self.inner.client(addr)
    }

    pub fn snapshot(&self) -> ManagerSnapshot {
        self.inner.snapshot()
    }

    pub fn stats_json(&self) -> String {
        self.inner.stats_json()
    }

    /// See [`AsyncBrokerManager::shutdown`].
    pub fn shutdown(&self, timeout: Duration) -> Result<()> {
        block_on(self.inner.shutdown(timeout))
    }

    /// See [`AsyncBrokerManager::remove_broker`].
    pub fn remove_broker(&self, addr: &str, drain: Duration) -> Result<bool> {
        block_on(self.inner.remove_broker(addr, drain))
    }

    /// See [`AsyncBrokerManager::heartbeat_all`].
    pub fn heartbeat_all(&self, data: &HeartbeatData) -> Result<Vec<(String, Result<()>)>> {
        block_on(self.inner.heartbeat_all(data))
    }

    blocking_ops! {
        /// See [`AsyncBrokerManager::start`].
        fn start(&self) -> ();
        /// See [`AsyncBrokerManager::add_broker`].
        fn add_broker(&self, name_or_addr: &str) -> String;
        /// See [`AsyncBrokerManager::cluster_info`].
        fn cluster_info(&self) -> ClusterInfo;
        /// See [`AsyncBrokerManager::refresh_cluster`].
        fn refresh_cluster(&self) -> ();
        /// See [`AsyncBrokerManager::route`].
        fn route(&self, topic: &str) -> std::sync::Arc<TopicRouteData>;
        /// See [`AsyncBrokerManager::send`].
        fn send(&self, producer_group: &str, msg: &Message) -> SendResult;
        /// See [`AsyncBrokerManager::send_batch`].
        fn send_batch(&self, producer_group: &str, msgs: &[Message]) -> SendResult;
        /// See [`AsyncBrokerManager::send_ordered`].
        fn send_ordered(&self, producer_group: &str, msg: &Message, sharding_key: &str) -> SendResult;
        /// See [`AsyncBrokerManager::pull`].
        fn pull(&self, broker_name: &str, req: &PullRequest) -> PullResult;
        /// See [`AsyncBrokerManager::query_consumer_offset`].
        fn query_consumer_offset(&self, broker_name: &str, group: &str, topic: &str, queue_id: i32) -> i64;
        /// See [`AsyncBrokerManager::update_consumer_offset`].
        fn update_consumer_offset(&self, broker_name: &str, group: &str, topic: &str, queue_id: i32, offset: i64) -> ();
        /// See [`AsyncBrokerManager::get_max_offset`].
        fn get_max_offset(&self, broker_name: &str, topic: &str, queue_id: i32) -> i64;
    }
}
