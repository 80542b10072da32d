//! Requests the broker sends to a client: CHECK_TRANSACTION_STATE goes to the user's
//! transaction handler (and its answer back to the broker as END_TRANSACTION),
//! NOTIFY_CONSUMER_IDS_CHANGED to the notify handler; anything else that expects an answer
//! gets REQUEST_CODE_NOT_SUPPORTED from the transport.

use std::sync::{Arc, RwLock, Weak};

use tracing::{debug, warn};

use super::types::{EndTransaction, TransactionCheck, TransactionState};
use super::WeakClient;
use crate::protocol::codes::request;
use crate::protocol::headers::{CheckTransactionStateRequestHeader, ConsumerGroupHeader};
use crate::protocol::message::{decode_stored_message, DecodeOptions};
use crate::protocol::properties::keys;
use crate::protocol::RemotingCommand;
use crate::transport::BrokerRequestHandler;

/// Decides the fate of a half message the broker asks about. Runs on a blocking-pool
/// thread, so it may block (e.g. query a database); its answer is sent as END_TRANSACTION.
pub type TransactionCheckHandler = dyn Fn(&TransactionCheck) -> TransactionState + Send + Sync;

/// Told the consumer group whose membership changed. Runs on a blocking-pool thread.
pub type NotifyHandler = dyn Fn(&str) + Send + Sync;

#[derive(Default)]
pub(crate) struct Handlers {
    transaction: RwLock<Option<Arc<TransactionCheckHandler>>>,
    notify: RwLock<Option<Arc<NotifyHandler>>>,
}

impl Handlers {
    pub fn set_transaction(&self, h: Option<Arc<TransactionCheckHandler>>) {
        *self.transaction.write().unwrap_or_else(|e| e.into_inner()) = h;
    }

    pub fn set_notify(&self, h: Option<Arc<NotifyHandler>>) {
        *self.notify.write().unwrap_or_else(|e| e.into_inner()) = h;
    }

    fn transaction(&self) -> Option<Arc<TransactionCheckHandler>> {
        self.transaction
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn notify(&self) -> Option<Arc<NotifyHandler>> {
        self.notify
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

pub(crate) struct ClientRequestHandler {
    handlers: Weak<Handlers>,
    client: WeakClient,
}

impl ClientRequestHandler {
    pub fn new(handlers: Weak<Handlers>, client: WeakClient) -> Self {
        ClientRequestHandler { handlers, client }
    }

    fn check_transaction(&self, addr: &str, req: RemotingCommand) {
        let Some(handler) = self.handlers.upgrade().and_then(|h| h.transaction()) else {
            debug!(addr, "transaction check with no handler installed; ignored");
            return;
        };
        let header: CheckTransactionStateRequestHeader = match req.decode_header() {
            Ok(h) => h,
            Err(e) => {
                warn!(addr, error = %e, "bad CHECK_TRANSACTION_STATE header");
                return;
            }
        };
        let mut body = req.body.clone();
        let message = match decode_stored_message(&mut body, &DecodeOptions::default()) {
            Ok(m) => m,
            Err(e) => {
                warn!(addr, error = %e, "bad CHECK_TRANSACTION_STATE message");
                return;
            }
        };
        let check = TransactionCheck {
            broker_addr: addr.to_owned(),
            header,
            message,
        };
        let client = self.client.clone();
        // The user's code may block: keep it off the connection's reader and the workers.
        tokio::task::spawn_blocking(move || {
            let state = handler(&check);
            let Some(client) = client.upgrade() else {
                return;
            };
            let group = check
                .message
                .properties
                .get(keys::PGROUP)
                .unwrap_or_default()
                .to_owned();
            let end = EndTransaction::for_check(&group, &check, state);
            let rt = tokio::runtime::Handle::current();
            rt.spawn(async move {
                if let Err(e) = client.end_transaction(&end).await {
                    warn!(addr = %client.addr(), error = %e, "cannot answer transaction check");
                }
            });
        });
    }

    fn notify(&self, addr: &str, req: RemotingCommand) {
        let Some(handler) = self.handlers.upgrade().and_then(|h| h.notify()) else {
            return;
        };
        match req.decode_header::<ConsumerGroupHeader>() {
            Ok(h) => {
                tokio::task::spawn_blocking(move || handler(&h.consumer_group));
            }
            Err(e) => warn!(addr, error = %e, "bad NOTIFY_CONSUMER_IDS_CHANGED header"),
        }
    }
}

impl BrokerRequestHandler for ClientRequestHandler {
    fn handle(&self, addr: &str, req: RemotingCommand) -> Option<RemotingCommand> {
        match req.code {
            request::CHECK_TRANSACTION_STATE => self.check_transaction(addr, req),
            request::NOTIFY_CONSUMER_IDS_CHANGED => self.notify(addr, req),
            _ => {}
        }
        None
    }
}
