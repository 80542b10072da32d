"""Every operation's argument conversion, written once for the sync and the async classes.

A builder turns the Python arguments into a :class:`Call`: the ``bc_*`` function's name, its C
arguments after the handle, the handles to free once the library has taken them (sends and
pulls copy what they need before returning), and the context an error is annotated with
(topic, queue id, offset). The sync classes run a call with the blocking function, the async
ones with its ``_async`` twin (see ``client.py`` and ``aio.py``); both log it (``_oplog``).
"""

from __future__ import annotations

import ctypes
import json
from ctypes import c_void_p
from typing import Callable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _prototypes as _P
from . import errors
from ._lib import lib
from ._native import call, call_out, enc, messages_array_owned, new_message, single_message
from .models import (
    BatchItem,
    ConsumerData,
    ExpressionType,
    HeartbeatData,
    Message,
    MessageQueue,
    TransactionState,
    decode_batch_messages,
)

# result kinds
NONE, I64, SEND, PULL, STR = range(5)

# FLAG_* of pyrocketmq's (and Java's) PullSysFlag, as pull_message's sys_flag takes them.
PULL_FLAG_COMMIT_OFFSET = 0x1
PULL_FLAG_SUSPEND = 0x2
PULL_FLAG_SUBSCRIPTION = 0x4
DEFAULT_SUSPEND_TIMEOUT = 15.0  # seconds: the broker's default long-poll hold

_Free = Callable[[int], None]


class Call:
    """One operation: ``fn(handle, *args, [out,] err_out)`` or its async twin."""

    __slots__ = ("fn", "args", "kind", "op", "topic", "queue_id", "offset", "resource", "mq", "_frees", "_keep")

    def __init__(
        self,
        fn: str,
        args: Tuple[object, ...],
        kind: int,
        op: str,
        *,
        topic: Optional[str] = None,
        queue_id: Optional[int] = None,
        offset: Optional[int] = None,
        resource: Optional[str] = None,
        mq: Optional[MessageQueue] = None,
    ) -> None:
        self.fn = fn
        self.args = args
        self.kind = kind
        self.op = op
        self.topic = topic
        self.queue_id = queue_id
        self.offset = offset
        self.resource = resource
        self.mq = mq
        self._frees: List[Tuple[_Free, int]] = []
        self._keep: List[object] = []

    def hold(self, free: _Free, handle: c_void_p) -> None:
        if handle.value:
            self._frees.append((free, handle.value))

    def keep(self, obj: object) -> None:
        self._keep.append(obj)

    def release(self) -> None:
        frees, self._frees, self._keep = self._frees, [], []
        for free, h in frees:
            free(h)

    def annotate(self, e: errors.BrokerError, broker_addr: Optional[str], timeout: Optional[float]) -> None:
        e._annotate(
            operation=self.op,
            broker_addr=broker_addr,
            timeout=timeout,
            topic=self.topic,
            queue_id=self.queue_id,
            offset=self.offset,
            resource=self.resource,
        )


def _message_call(
    fn: str,
    kind: int,
    op: str,
    producer_group: str,
    body: Union[bytes, Message],
    mq: Optional[MessageQueue],
    properties: Optional[Mapping[str, str]],
    tags: Optional[str],
    keys: Optional[str],
) -> Call:
    msg, queue_id = single_message(body, mq, properties, tags, keys)
    h = new_message(msg)
    c = Call(fn, (enc(producer_group), queue_id, h), kind, op, topic=msg.topic, queue_id=queue_id,
             resource=producer_group, mq=mq or MessageQueue(msg.topic, "", queue_id))
    c.hold(lib.bc_message_free, h)
    return c


def send(producer_group: str, body: Union[bytes, Message], mq: Optional[MessageQueue],
         properties: Optional[Mapping[str, str]], tags: Optional[str], keys: Optional[str]) -> Call:
    return _message_call("bc_client_send", SEND, "sync_send_message", producer_group, body, mq,
                         properties, tags, keys)


def send_oneway(producer_group: str, body: Union[bytes, Message], mq: Optional[MessageQueue],
                properties: Optional[Mapping[str, str]], tags: Optional[str], keys: Optional[str]) -> Call:
    return _message_call("bc_client_send_oneway", NONE, "oneway_send_message", producer_group, body,
                         mq, properties, tags, keys)


def batch_messages(
    body: Union[bytes, Sequence[BatchItem]], topic: str, properties: Optional[Mapping[str, str]]
) -> List[Union[Message, bytes]]:
    """The batch's messages: a pre-encoded body (``encode_batch_messages``) is decoded; the
    batch-level ``properties`` apply to every message (a message's own win)."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            items: List[BatchItem] = list(decode_batch_messages(bytes(body), topic))
        except ValueError as e:
            raise errors.InvalidArgumentError(f"batch body: {e}", status=errors.INVALID_ARG) from e
    else:
        items = list(body)
    out: List[Union[Message, bytes]] = []
    for item in items:
        if isinstance(item, Message):
            m = item
        elif isinstance(item, (bytes, bytearray, memoryview)):
            m = Message(topic, bytes(item))
        else:
            # a mapping entry: through the encoder's reading of it
            [m] = decode_batch_messages(_encode_one(item), topic)
        if properties:
            m = Message(m.topic or topic, m.body, m.tags, m.keys, {**dict(properties), **m.properties},
                        m.delay_level, m.flag, m.transactional, m.delay_time_ms, m.deliver_time_ms,
                        m.wait_store)
        out.append(m)
    return out


def _encode_one(item: BatchItem) -> bytes:
    from .models import encode_batch_messages

    return encode_batch_messages([item])


def _batch_call(fn: str, kind: int, op: str, producer_group: str,
                body: Union[bytes, Sequence[BatchItem]], mq: MessageQueue,
                properties: Optional[Mapping[str, str]]) -> Call:
    msgs = batch_messages(body, mq.topic, properties)
    handles, arr = messages_array_owned(msgs, mq.topic)
    c = Call(fn, (enc(producer_group), mq.queue_id, arr, len(handles)), kind, op, topic=mq.topic,
             queue_id=mq.queue_id, resource=producer_group, mq=mq)
    for h in handles:
        c.hold(lib.bc_message_free, h)
    c.keep(arr)
    return c


def send_batch(producer_group: str, body: Union[bytes, Sequence[BatchItem]], mq: MessageQueue,
               properties: Optional[Mapping[str, str]]) -> Call:
    return _batch_call("bc_client_send_batch", SEND, "sync_batch_send_message", producer_group,
                       body, mq, properties)


def send_batch_oneway(producer_group: str, body: Union[bytes, Sequence[BatchItem]], mq: MessageQueue,
                      properties: Optional[Mapping[str, str]]) -> Call:
    return _batch_call("bc_client_send_batch_oneway", NONE, "oneway_batch_send_message",
                       producer_group, body, mq, properties)


def pull(
    consumer_group: str,
    topic: str,
    queue_id: int,
    queue_offset: int,
    max_msg_nums: int,
    sys_flag: int,
    commit_offset: int,
    sub_expression: str,
    suspend_timeout: float,
    expression_type: Union[int, ExpressionType, str],
    sub_version: int,
    broker: Optional[str] = None,
) -> Call:
    """``pull_message``: the plain pull, or a ``bc_pull_request`` when a commit offset, SQL92,
    a subscription version or ``sys_flag`` asks for more."""
    if isinstance(expression_type, str):
        try:
            expression_type = ExpressionType[expression_type.upper()]
        except KeyError:
            raise errors.InvalidArgumentError(
                f"expression_type {expression_type!r}: TAG or SQL92", status=errors.INVALID_ARG
            ) from None
    if sys_flag & PULL_FLAG_SUSPEND and suspend_timeout <= 0:
        suspend_timeout = DEFAULT_SUSPEND_TIMEOUT
    suspend_ms = int(suspend_timeout * 1000)
    commit = commit_offset > 0 or bool(sys_flag & PULL_FLAG_COMMIT_OFFSET)
    prefix: Tuple[object, ...] = () if broker is None else (enc(broker),)
    base = "bc_client" if broker is None else "bc_manager"
    ctx = {"topic": topic, "queue_id": queue_id, "offset": queue_offset, "resource": consumer_group}
    if not commit and int(expression_type) == ExpressionType.TAG and not sub_version:
        return Call(f"{base}_pull", prefix + (enc(consumer_group), enc(topic), queue_id, queue_offset,
                    max_msg_nums, suspend_ms, enc(sub_expression)), PULL, "pull_message", **ctx)  # type: ignore[arg-type]
    req = c_void_p()
    call_out(lib.bc_pull_request_new, enc(consumer_group), enc(topic), queue_id, queue_offset, out=req)
    try:
        call(lib.bc_pull_request_set_max_messages, req, max_msg_nums)
        call(lib.bc_pull_request_set_expression, req, enc(sub_expression), int(expression_type))
        if suspend_ms > 0:
            call(lib.bc_pull_request_set_long_polling, req, suspend_ms)
        if commit:
            call(lib.bc_pull_request_set_commit_offset, req, commit_offset)
        if sub_version:
            call(lib.bc_pull_request_set_sub_version, req, sub_version)
    except BaseException:
        lib.bc_pull_request_free(req)
        raise
    c = Call(f"{base}_pull_request", prefix + (req,), PULL, "pull_message", **ctx)  # type: ignore[arg-type]
    c.hold(lib.bc_pull_request_free, req)
    return c


def group_topic_queue(fn: str, kind: int, op: str, group: str, topic: str, queue_id: int,
                      *extra: object, offset: Optional[int] = None) -> Call:
    return Call(fn, (enc(group), enc(topic), queue_id) + extra, kind, op, topic=topic,
                queue_id=queue_id, offset=offset, resource=group)


def topic_queue(fn: str, op: str, topic: str, queue_id: int, *extra: object) -> Call:
    return Call(fn, (enc(topic), queue_id) + extra, I64, op, topic=topic, queue_id=queue_id)


def _enum(prefix: str, value: Union[int, str], what: str) -> int:
    if isinstance(value, int):
        return value
    name = value.upper()
    for cand in (prefix + name, "BC_" + name):
        v = getattr(_P, cand, None)
        if isinstance(v, int):
            return v
    raise errors.InvalidArgumentError(f"{what} {value!r} is not known", status=errors.INVALID_ARG)


def heartbeat(fn: str, heartbeat_data: Optional[HeartbeatData], producer_group: Optional[str],
              consumer_group: Optional[str]) -> Call:
    """One heartbeat request with every group of ``heartbeat_data`` (consume type, message
    model, start point, subscriptions) plus the groups named (a ``bc_heartbeat``)."""
    hb = c_void_p()
    call_out(lib.bc_heartbeat_new, out=hb)
    c = Call(fn, (hb,), NONE, "send_heartbeat", resource=producer_group or consumer_group)
    c.hold(lib.bc_heartbeat_free, hb)
    try:
        producers = [producer_group] if producer_group else []
        consumers: List[ConsumerData] = [ConsumerData(consumer_group)] if consumer_group else []
        if heartbeat_data is not None:
            producers += heartbeat_data.get_producer_groups()
            consumers += heartbeat_data.consumer_data_set
        for g in producers:
            call(lib.bc_heartbeat_add_producer, hb, enc(g))
        for cd in consumers:
            call(lib.bc_heartbeat_add_consumer, hb, enc(cd.group_name),
                 _enum("BC_", cd.consume_type, "consume_type"),
                 _enum("BC_MESSAGE_MODEL_", cd.message_model, "message_model"),
                 _enum("BC_", cd.consume_from_where, "consume_from_where"))
            for sub in cd.subscription_data_set:
                topic = sub.get("topic", "")
                expr = sub.get("sub_string") or sub.get("subString") or sub.get("expression") or "*"
                etype = sub.get("expression_type") or sub.get("expressionType") or "TAG"
                call(lib.bc_heartbeat_add_subscription, hb, enc(cd.group_name), enc(topic), enc(expr),
                     _enum("BC_EXPRESSION_", etype, "expression_type"))
        c.resource = c.resource or (producers[0] if producers else consumers[0].group_name if consumers else None)
    except BaseException:
        c.release()
        raise
    return c


def end_transaction(producer_group: str, msg_id: str, offset_msg_id: str, queue_offset: int,
                    transaction_id: Optional[str], state: Union[int, TransactionState]) -> Call:
    return Call("bc_client_end_transaction", (enc(producer_group), enc(msg_id), enc(offset_msg_id),
                queue_offset, enc(transaction_id), int(state)), NONE, "end_transaction",
                offset=queue_offset, resource=producer_group)


def mq_json(mqs: Sequence[MessageQueue]) -> bytes:
    return json.dumps([mq.to_dict() for mq in mqs]).encode()


def parse_mqs(text: str) -> List[MessageQueue]:
    data = json.loads(text) if text else []
    return [MessageQueue.from_dict(d) for d in data]


def text_of(p: Optional[bytes]) -> Optional[str]:
    return p.decode("utf-8", "replace") if p is not None else None


def c_string(p: int) -> str:
    return ctypes.string_at(p).decode("utf-8", "replace") if p else ""
