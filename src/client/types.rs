//! What the client's operations take and return.

use std::time::Duration;

use crate::protocol::headers::{transaction_type, CheckTransactionStateRequestHeader};
use crate::protocol::message::MessageExt;

/// How a stored send went: every variant means the message **was stored**.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    SendOk,
    /// Stored, but the synchronous flush was not confirmed in time.
    FlushDiskTimeout,
    /// Stored, but the replica did not confirm in time.
    FlushSlaveTimeout,
    /// Stored on the master; no replica is available.
    SlaveNotAvailable,
}

/// The result of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub status: SendStatus,
    /// The client message id (UNIQ_KEY); comma-joined for a batch.
    pub msg_id: String,
    /// The broker's offset message id (store host + commit-log offset); comma-joined for a batch.
    pub offset_msg_id: String,
    pub queue_id: i32,
    /// Consume-queue offset of the (first) message.
    pub queue_offset: i64,
    /// Set for transactional (half) messages.
    pub transaction_id: Option<String>,
    pub region_id: Option<String>,
    /// The broker name the message went to, for sends through a manager (which picks the
    /// broker); `None` for a client's sends (the caller chose the broker).
    pub broker_name: Option<String>,
}

/// A pull from one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub consumer_group: String,
    pub topic: String,
    pub queue_id: i32,
    /// First offset wanted.
    pub queue_offset: i64,
    pub max_msg_nums: i32,
    /// A tag expression (`*`, `a || b`) or SQL92; sent with the pull so no heartbeat
    /// subscription is needed. `None` uses the subscription of the group's heartbeat.
    pub subscription: Option<String>,
    /// `TAG` or `SQL92`.
    pub expression_type: String,
    /// Long polling: how long the broker may hold the pull when nothing is there.
    pub suspend_timeout: Option<Duration>,
    /// Also commit this consumer offset for the group (FLAG_COMMIT_OFFSET).
    pub commit_offset: Option<i64>,
    /// Subscription version; must not exceed the heartbeat's when `subscription` is `None`.
    pub sub_version: i64,
}

impl PullRequest {
    /// A pull of up to 32 messages with subscription `*` and no long polling.
    pub fn new(consumer_group: &str, topic: &str, queue_id: i32, queue_offset: i64) -> Self {
        PullRequest {
            consumer_group: consumer_group.into(),
            topic: topic.into(),
            queue_id,
            queue_offset,
            max_msg_nums: 32,
            subscription: Some("*".into()),
            expression_type: "TAG".into(),
            suspend_timeout: None,
            commit_offset: None,
            sub_version: 0,
        }
    }

    /// The same pull, held by the broker up to `hold` while the queue has nothing new.
    pub fn long_polling(mut self, hold: Duration) -> Self {
        self.suspend_timeout = Some(hold);
        self
    }
}

/// How a pull went (`PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    Found,
    /// Nothing new at that offset (long poll expired or caught up).
    NoNewMsg,
    /// Messages are there but none matched the filter: continue from `next_begin_offset`.
    NoMatchedMsg,
    /// The offset is invalid; `next_begin_offset` is where to continue.
    OffsetIllegal,
}

/// The result of a pull. Message bodies are slices of the received frame, not copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullResult {
    pub status: PullStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    /// Exclusive: the next offset to be written.
    pub max_offset: i64,
    pub suggest_which_broker_id: i64,
    pub messages: Vec<MessageExt>,
}

/// `SEARCH_OFFSET_BY_TIMESTAMP` boundary when several messages share a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundaryType {
    #[default]
    Lower,
    Upper,
}

impl BoundaryType {
    pub(crate) fn wire(self) -> &'static str {
        match self {
            BoundaryType::Lower => "LOWER",
            BoundaryType::Upper => "UPPER",
        }
    }
}

/// The outcome of a local transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    Commit,
    Rollback,
    /// Not known yet: the broker will ask again later (CHECK_TRANSACTION_STATE).
    Unknown,
}

impl TransactionState {
    pub(crate) fn wire(self) -> i32 {
        match self {
            TransactionState::Commit => transaction_type::COMMIT,
            TransactionState::Rollback => transaction_type::ROLLBACK,
            TransactionState::Unknown => transaction_type::NOT_TYPE,
        }
    }
}

/// An END_TRANSACTION request: which half message, and its fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndTransaction {
    pub producer_group: String,
    /// The half message's queue offset.
    pub tran_state_table_offset: i64,
    /// The half message's commit-log offset.
    pub commit_log_offset: i64,
    /// The client message id (UNIQ_KEY).
    pub msg_id: String,
    pub transaction_id: Option<String>,
    pub state: TransactionState,
    /// True when answering a CHECK_TRANSACTION_STATE.
    pub from_transaction_check: bool,
}

impl EndTransaction {
    /// Ends the half message that `sent` reported. Fails when its offset id does not decode.
    pub fn for_send(
        producer_group: &str,
        sent: &SendResult,
        state: TransactionState,
    ) -> crate::Result<Self> {
        let (_, commit_log_offset) =
            crate::protocol::msgid::decode_offset_msg_id(&sent.offset_msg_id)
                .map_err(|e| crate::BrokerError::InvalidArgument(e.to_string()))?;
        Ok(EndTransaction {
            producer_group: producer_group.into(),
            tran_state_table_offset: sent.queue_offset,
            commit_log_offset,
            msg_id: sent.msg_id.clone(),
            transaction_id: sent.transaction_id.clone(),
            state,
            from_transaction_check: false,
        })
    }

    /// Answers a broker's check.
    pub fn for_check(
        producer_group: &str,
        check: &TransactionCheck,
        state: TransactionState,
    ) -> Self {
        let h = &check.header;
        let msg_id = h
            .msg_id
            .clone()
            .or_else(|| check.message.unique_key().map(str::to_owned))
            .unwrap_or_default();
        EndTransaction {
            producer_group: producer_group.into(),
            tran_state_table_offset: h.tran_state_table_offset,
            commit_log_offset: h.commit_log_offset,
            msg_id,
            transaction_id: h.transaction_id.clone(),
            state,
            from_transaction_check: true,
        }
    }
}

/// A CHECK_TRANSACTION_STATE from the broker: "what became of this half message?"
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionCheck {
    pub broker_addr: String,
    pub header: CheckTransactionStateRequestHeader,
    /// The half message, with its real topic and queue restored.
    pub message: MessageExt,
}
