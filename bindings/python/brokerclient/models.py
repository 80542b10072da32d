"""Plain data the client takes and returns (pyrocketmq's model names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Dict, List, Optional


class SendStatus(IntEnum):
    """``bc_send_result_status``: every value means the message was stored."""

    SEND_OK = 0
    FLUSH_DISK_TIMEOUT = 1
    FLUSH_SLAVE_TIMEOUT = 2
    SLAVE_NOT_AVAILABLE = 3


class PullStatus(IntEnum):
    """``bc_batch_status``."""

    FOUND = 0
    NO_NEW_MSG = 1
    NO_MATCHED_MSG = 2
    OFFSET_ILLEGAL = 3


class TransactionState(IntEnum):
    """``state`` of ``end_transaction``."""

    UNKNOWN = 0
    COMMIT = 1
    ROLLBACK = 2


class BrokerState(IntEnum):
    """``BrokerManager.broker_state``."""

    UNKNOWN = -1
    HEALTHY = 0
    SUSPECT = 1
    DOWN = 2


@dataclass(frozen=True)
class MessageQueue:
    """Where a message goes: ``topic`` and ``queue_id`` (``broker_name`` is informative)."""

    topic: str
    broker_name: str = ""
    queue_id: int = 0


@dataclass
class Message:
    """A message to send. ``properties`` are user properties (strings)."""

    topic: str
    body: bytes
    tags: Optional[str] = None
    keys: Optional[str] = None
    properties: Dict[str, str] = field(default_factory=dict)
    delay_level: int = 0
    flag: int = 0
    transactional: bool = False


@dataclass(frozen=True)
class SendResult:
    """What the broker answered to a send."""

    status: SendStatus
    msg_id: str
    offset_msg_id: str
    queue_id: int
    queue_offset: int
    transaction_id: Optional[str] = None


@dataclass(frozen=True)
class MessageExt:
    """A pulled message (copied out of the library's batch)."""

    topic: str
    body: bytes
    tags: Optional[str]
    keys: Optional[str]
    msg_id: Optional[str]
    offset_msg_id: Optional[str]
    queue_id: int
    flag: int
    queue_offset: int
    commit_log_offset: int
    born_timestamp: int
    store_timestamp: int
    reconsume_times: int


@dataclass(frozen=True)
class PullResult:
    """A pull's outcome: ``messages`` is empty unless ``status`` is FOUND."""

    status: PullStatus
    next_begin_offset: int
    min_offset: int
    max_offset: int
    messages: List[MessageExt]
