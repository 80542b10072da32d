//! What a `bc_client`'s operations run on: its own client of one broker, or the pool a
//! manager keeps for one broker (a `bc_client` from `bc_manager_client`), where each operation
//! takes the pool's next connection and counts towards the broker's health, as the manager's
//! own operations do.

use std::future::Future;
use std::time::Duration;

use super::ops::Runner;
use crate::client::{AsyncBrokerClient, ClientConfig};
use crate::error::BrokerError;
use crate::manager::AsyncBrokerManager;

#[derive(Clone)]
pub(crate) enum Target {
    Own(AsyncBrokerClient),
    Pooled {
        manager: AsyncBrokerManager,
        addr: String,
    },
}

impl Target {
    /// The configuration each connection of the target uses.
    pub fn config(&self) -> &ClientConfig {
        match self {
            Target::Own(c) => c.config(),
            Target::Pooled { manager, .. } => &manager.config().client,
        }
    }

    /// The same target with another deadline for each operation.
    pub fn with_timeout(&self, timeout: Duration) -> Target {
        match self {
            Target::Own(c) => Target::Own(c.with_timeout(timeout)),
            Target::Pooled { manager, addr } => Target::Pooled {
                manager: manager.with_timeout(timeout),
                addr: addr.clone(),
            },
        }
    }

    /// The client a pooled target would use now (for its state: connected, client id).
    pub fn current(&self) -> Result<AsyncBrokerClient, BrokerError> {
        match self {
            Target::Own(c) => Ok(c.clone()),
            Target::Pooled { manager, addr } => manager.client(addr),
        }
    }
}

impl Runner for Target {
    type Client = AsyncBrokerClient;

    async fn run<T, F, Fut>(self, op: F) -> Result<T, BrokerError>
    where
        T: Send,
        F: FnOnce(AsyncBrokerClient) -> Fut + Send,
        Fut: Future<Output = Result<T, BrokerError>> + Send,
    {
        match self {
            Target::Own(c) => op(c).await,
            Target::Pooled { manager, addr } => manager.with_broker(&addr, op).await,
        }
    }
}

impl Runner for AsyncBrokerManager {
    type Client = AsyncBrokerManager;

    fn run<T, F, Fut>(self, op: F) -> impl Future<Output = Result<T, BrokerError>> + Send
    where
        T: Send,
        F: FnOnce(AsyncBrokerManager) -> Fut + Send,
        Fut: Future<Output = Result<T, BrokerError>> + Send,
    {
        op(self)
    }
}
