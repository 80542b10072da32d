"""Plain data the client takes and returns (pyrocketmq's model names and fields)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Dict, List, Mapping, Optional, Sequence, Union

from . import _prototypes as P

__all__ = [
    "BrokerState",
    "ConsumerData",
    "ExpressionType",
    "HeartbeatData",
    "Message",
    "MessageExt",
    "MessageQueue",
    "ProducerData",
    "PullMessageResult",
    "PullResult",
    "PullStatus",
    "SendMessageResult",
    "SendResult",
    "SendStatus",
    "TransactionState",
    "decode_batch_messages",
    "encode_batch_messages",
]


class SendStatus(IntEnum):
    """``bc_send_result_status``: every value means the message was stored."""

    SEND_OK = P.BC_SEND_OK
    FLUSH_DISK_TIMEOUT = P.BC_SEND_FLUSH_DISK_TIMEOUT
    FLUSH_SLAVE_TIMEOUT = P.BC_SEND_FLUSH_SLAVE_TIMEOUT
    SLAVE_NOT_AVAILABLE = P.BC_SEND_SLAVE_NOT_AVAILABLE


class PullStatus(IntEnum):
    """``bc_batch_status``."""

    FOUND = P.BC_PULL_FOUND
    NO_NEW_MSG = P.BC_PULL_NO_NEW_MSG
    NO_MATCHED_MSG = P.BC_PULL_NO_MATCHED_MSG
    OFFSET_ILLEGAL = P.BC_PULL_OFFSET_ILLEGAL


class TransactionState(IntEnum):
    """``state`` of ``end_transaction`` and the answer of a transaction check."""

    UNKNOWN = P.BC_TRANSACTION_UNKNOWN
    COMMIT = P.BC_TRANSACTION_COMMIT
    ROLLBACK = P.BC_TRANSACTION_ROLLBACK


class BrokerState(IntEnum):
    """``BrokerManager.broker_state``."""

    UNKNOWN = P.BC_BROKER_UNKNOWN
    HEALTHY = P.BC_BROKER_HEALTHY
    SUSPECT = P.BC_BROKER_SUSPECT
    DOWN = P.BC_BROKER_DOWN


class ExpressionType(IntEnum):
    """The language of a pull's ``sub_expression``."""

    TAG = P.BC_EXPRESSION_TAG
    SQL92 = P.BC_EXPRESSION_SQL92


@dataclass(frozen=True)
class MessageQueue:
    """Where a message goes: ``topic`` and ``queue_id`` (``broker_name`` is informative: a
    client talks to one broker; the manager's routed sends choose the broker)."""

    topic: str
    broker_name: str = ""
    queue_id: int = 0

    def to_dict(self) -> Dict[str, Union[str, int]]:
        return {"topic": self.topic, "brokerName": self.broker_name, "queueId": self.queue_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Union[str, int]]) -> "MessageQueue":
        return cls(str(data.get("topic", "")), str(data.get("brokerName", "")), int(data.get("queueId", 0)))

    def __str__(self) -> str:
        return f"MessageQueue[topic={self.topic}, brokerName={self.broker_name}, queueId={self.queue_id}]"


@dataclass
class Message:
    """A message to send. ``properties`` are user properties (strings); the system
    properties pyrocketmq users set through ``properties`` (``KEYS``, ``TAGS``, ``DELAY``,
    ``WAIT``, ``TRAN_MSG``, ``TIMER_DELAY_MS``, ``TIMER_DELIVER_MS``) are taken as the
    corresponding fields; any other reserved name is refused (``InvalidArgumentError``)."""

    topic: str
    body: bytes
    tags: Optional[str] = None
    keys: Optional[str] = None
    properties: Dict[str, str] = field(default_factory=dict)
    delay_level: int = 0
    flag: int = 0
    transactional: bool = False
    delay_time_ms: int = 0
    deliver_time_ms: int = 0
    wait_store: Optional[bool] = None


@dataclass(frozen=True)
class SendResult:
    """What the broker answered to a send (pyrocketmq's ``SendMessageResult``)."""

    status: SendStatus
    msg_id: str
    offset_msg_id: str
    queue_id: int
    queue_offset: int
    transaction_id: Optional[str] = None
    message_queue: Optional[MessageQueue] = None
    region_id: str = "DefaultRegion"
    trace_on: bool = False

    @property
    def is_success(self) -> bool:
        return self.status == SendStatus.SEND_OK

    @property
    def status_name(self) -> str:
        return "SEND_" + self.status.name if self.status != SendStatus.SEND_OK else "SEND_OK"


SendMessageResult = SendResult


@dataclass(frozen=True)
class MessageExt:
    """A pulled message (copied out of the library's batch), with all its properties."""

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
    properties: Dict[str, str] = field(default_factory=dict)

    def get_property(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.properties.get(name, default)


@dataclass(frozen=True)
class PullResult:
    """A pull's outcome (pyrocketmq's ``PullMessageResult``): ``messages`` is empty unless
    ``status`` is FOUND; ``pull_rt`` is the pull's round trip in milliseconds."""

    status: PullStatus
    next_begin_offset: int
    min_offset: int
    max_offset: int
    messages: List[MessageExt]
    suggest_which_broker_id: Optional[int] = None
    pull_rt: Optional[float] = None
    body: Optional[bytes] = None

    @property
    def is_found(self) -> bool:
        return len(self.messages) > 0

    @property
    def message_count(self) -> int:
        return len(self.messages)


PullMessageResult = PullResult


@dataclass
class ProducerData:
    """A producer group of a heartbeat."""

    group_name: str


@dataclass
class ConsumerData:
    """A consumer group of a heartbeat (the library registers the group; the other fields
    are pyrocketmq's and kept for its users)."""

    group_name: str
    consume_type: str = "CONSUME_PASSIVELY"
    message_model: str = "CLUSTERING"
    consume_from_where: str = "CONSUME_FROM_LAST_OFFSET"
    subscription_data_set: List[Dict[str, str]] = field(default_factory=list)
    unit_mode: bool = False


@dataclass
class HeartbeatData:
    """pyrocketmq's heartbeat: the groups this client registers with the broker. The
    library sends the client id it is configured with (``client.id``); ``client_id`` here is
    informative."""

    client_id: str = ""
    producer_data_set: List[ProducerData] = field(default_factory=list)
    consumer_data_set: List[ConsumerData] = field(default_factory=list)

    def add_producer_data(self, producer_data: ProducerData) -> None:
        if producer_data.group_name not in self.get_producer_groups():
            self.producer_data_set.append(producer_data)

    def add_consumer_data(self, consumer_data: ConsumerData) -> None:
        if consumer_data.group_name not in self.get_consumer_groups():
            self.consumer_data_set.append(consumer_data)

    def get_producer_groups(self) -> List[str]:
        return [p.group_name for p in self.producer_data_set]

    def get_consumer_groups(self) -> List[str]:
        return [c.group_name for c in self.consumer_data_set]

    def is_empty(self) -> bool:
        return not self.producer_data_set and not self.consumer_data_set


# --- batch bodies (RocketMQ's MessageDecoder.encodeMessages layout) -------------------------

_NAME_SEP, _PROP_SEP = "\x01", "\x02"
BatchItem = Union[Message, bytes, Mapping[str, object]]


def _item_fields(item: BatchItem) -> "tuple[bytes, Dict[str, str], int]":
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item), {}, 0
    if isinstance(item, Message):
        props = dict(item.properties)
        if item.tags is not None:
            props["TAGS"] = item.tags
        if item.keys is not None:
            props["KEYS"] = item.keys
        return bytes(item.body), props, item.flag
    body = item.get("body", b"")
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("a batch entry's body must be bytes")
    raw_props = item.get("properties") or {}
    if not isinstance(raw_props, Mapping):
        raise TypeError("a batch entry's properties must be a mapping")
    props = {str(k): str(v) for k, v in raw_props.items()}
    for name, prop in (("tags", "TAGS"), ("keys", "KEYS")):
        value = item.get(name)
        if value is not None:
            props[prop] = str(value)
    flag = item.get("flag", 0)
    return bytes(body), props, int(flag) if isinstance(flag, (int, str)) else 0


def encode_batch_messages(messages: Sequence[BatchItem]) -> bytes:
    """Encodes messages as a RocketMQ batch body (what ``sync_batch_send_message`` takes as
    ``body``): each entry ``{"body": b"...", "properties": {...}}`` (``tags``/``keys``/
    ``flag`` keys too), a :class:`Message` or plain bytes."""
    out = bytearray()
    for item in messages:
        body, props, flag = _item_fields(item)
        ptext = "".join(f"{k}{_NAME_SEP}{v}{_PROP_SEP}" for k, v in props.items()).encode()
        if len(ptext) > 0x7FFF:
            raise ValueError("a batch entry's properties exceed 32767 bytes")
        total = 4 + 4 + 4 + 4 + 4 + len(body) + 2 + len(ptext)
        out += struct.pack(">iiiii", total, 0, 0, flag, len(body)) + body
        out += struct.pack(">h", len(ptext)) + ptext
    return bytes(out)


def decode_batch_messages(data: bytes, topic: str) -> List[Message]:
    """The messages of a batch body made by :func:`encode_batch_messages` (or any RocketMQ
    client's encoder), for ``topic``."""
    msgs: List[Message] = []
    pos, n = 0, len(data)
    while pos < n:
        if n - pos < 20:
            raise ValueError(f"truncated batch body at byte {pos}")
        total, _magic, _crc, flag, blen = struct.unpack_from(">iiiii", data, pos)
        if total < 22 or pos + total > n or 20 + blen + 2 > total:
            raise ValueError(f"malformed batch entry at byte {pos}")
        body = data[pos + 20 : pos + 20 + blen]
        (plen,) = struct.unpack_from(">h", data, pos + 20 + blen)
        ptext = data[pos + 22 + blen : pos + 22 + blen + plen].decode("utf-8")
        props: Dict[str, str] = {}
        for pair in ptext.split(_PROP_SEP):
            if pair:
                k, _, v = pair.partition(_NAME_SEP)
                props[k] = v
        tags = props.pop("TAGS", None)
        keys = props.pop("KEYS", None)
        msgs.append(Message(topic, bytes(body), tags=tags, keys=keys, properties=props, flag=flag))
        pos += total
    return msgs
