"""Conversions between Python values and the library's handles (messages, results, batches).

Everything here runs on the caller's thread and copies what it reads: a borrowed
``bc_send_result`` or ``bc_message_view`` never outlives the call that received it.
"""

from __future__ import annotations

import ctypes
import dataclasses
from ctypes import byref, c_char_p, c_int64, c_void_p
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import errors
from ._lib import MessageView, lib
from .models import (
    Message,
    MessageExt,
    MessageQueue,
    PullResult,
    PullStatus,
    SendResult,
    SendStatus,
)


def enc(s: Optional[str]) -> Optional[bytes]:
    """A ``const char *`` argument (NULL for None)."""
    return None if s is None else s.encode()


_Fn = Callable[..., int]  # a ctypes foreign function returning bc_status


def call(fn: _Fn, *args: object) -> None:
    """Calls a fallible ``bc_*`` function whose last parameter is ``err_out``; raises on error."""
    err = c_void_p()
    status = fn(*args, byref(err))
    if status != errors.OK:
        raise errors.take_error(status, err)


def call_out(fn: _Fn, *args: object, out: "Union[c_void_p, c_int64, c_char_p]") -> None:
    """As :func:`call` for a function with an out-parameter before ``err_out``."""
    call(fn, *args, byref(out))


def call_i64(fn: _Fn, *args: object) -> int:
    out = c_int64()
    call_out(fn, *args, out=out)
    return int(out.value)


def take_string(out: c_void_p) -> str:
    """An owned ``char *`` as text (freed here with ``bc_string_free``)."""
    try:
        return ctypes.string_at(out.value).decode() if out.value else ""
    finally:
        lib.bc_string_free(out)


def call_string(fn: _Fn, *args: object) -> str:
    """For functions returning an owned ``char *`` (freed here with ``bc_string_free``)."""
    out = c_void_p()
    call_out(fn, *args, out=out)
    return take_string(out)


def new_config(options: Mapping[str, str]) -> c_void_p:
    """A ``bc_config`` from library keys (``"pool.size": "2"``). The caller frees it
    (constructors copy it)."""
    cfg = c_void_p()
    call_out(lib.bc_config_new, out=cfg)
    try:
        for k, v in options.items():
            call(lib.bc_config_set, cfg, str(k).encode(), str(v).encode())
    except BaseException:
        lib.bc_config_free(cfg)
        raise
    return cfg


# System properties pyrocketmq users set through ``properties``, and what they become.
_SYSTEM_PROPERTIES = frozenset(
    ["KEYS", "TAGS", "DELAY", "WAIT", "TRAN_MSG", "TIMER_DELAY_MS", "TIMER_DELIVER_MS"]
)


def _truthy(v: str) -> bool:
    return v.strip().lower() in ("true", "1", "yes")


def new_message(m: Union[Message, bytes], topic: Optional[str] = None) -> c_void_p:
    """A ``bc_message`` (the caller frees it; sends copy it)."""
    if isinstance(m, (bytes, bytearray, memoryview)):
        m = Message(topic=topic or "", body=bytes(m))
    body = bytes(m.body)
    tags, keys, props = m.tags, m.keys, dict(m.properties)
    delay_level, delay_ms, deliver_ms = m.delay_level, m.delay_time_ms, m.deliver_time_ms
    wait, transactional = m.wait_store, m.transactional
    if _SYSTEM_PROPERTIES.intersection(props):
        tags = props.pop("TAGS", tags)
        keys = props.pop("KEYS", keys)
        if "DELAY" in props:
            delay_level = int(props.pop("DELAY"))
        if "TIMER_DELAY_MS" in props:
            delay_ms = int(props.pop("TIMER_DELAY_MS"))
        if "TIMER_DELIVER_MS" in props:
            deliver_ms = int(props.pop("TIMER_DELIVER_MS"))
        if "WAIT" in props:
            wait = _truthy(props.pop("WAIT"))
        if "TRAN_MSG" in props:
            transactional = _truthy(props.pop("TRAN_MSG")) or transactional
    out = c_void_p()
    call_out(lib.bc_message_new, (topic or m.topic).encode(), body, len(body), out=out)
    try:
        if tags is not None:
            call(lib.bc_message_set_tags, out, tags.encode())
        if keys is not None:
            call(lib.bc_message_set_keys, out, keys.encode())
        for k, v in props.items():
            call(lib.bc_message_set_property, out, k.encode(), str(v).encode())
        if delay_level:
            call(lib.bc_message_set_delay_level, out, delay_level)
        if delay_ms:
            call(lib.bc_message_set_delay_time_ms, out, delay_ms)
        if deliver_ms:
            call(lib.bc_message_set_deliver_time_ms, out, deliver_ms)
        if wait is not None:
            call(lib.bc_message_set_wait_store, out, bool(wait))
        if m.flag:
            call(lib.bc_message_set_flag, out, m.flag)
        if transactional:
            call(lib.bc_message_set_transactional, out)
    except BaseException:
        lib.bc_message_free(out)
        raise
    return out


def single_message(
    body: Union[bytes, Message],
    mq: Optional[MessageQueue],
    properties: Optional[Mapping[str, str]],
    tags: Optional[str],
    keys: Optional[str],
) -> Tuple[Message, int]:
    """Normalises the seed's ``(body, mq, properties)`` arguments into a message and queue id."""
    if isinstance(body, Message):
        msg = body
        if properties or tags is not None or keys is not None:
            msg = dataclasses.replace(
                body,
                properties={**dict(properties or {}), **body.properties},
                tags=body.tags if body.tags is not None else tags,
                keys=body.keys if body.keys is not None else keys,
            )
    elif isinstance(body, (bytes, bytearray, memoryview)):
        if mq is None:
            raise errors.InvalidArgumentError(
                "mq (the MessageQueue) is required with a body", status=errors.INVALID_ARG
            )
        msg = Message(mq.topic, bytes(body), tags=tags, keys=keys, properties=dict(properties or {}))
    else:
        raise errors.InvalidArgumentError(
            f"body must be bytes or a Message, not {type(body).__name__}", status=errors.INVALID_ARG
        )
    return msg, (mq.queue_id if mq is not None else 0)


def messages_array_owned(
    messages: Sequence[Union[Message, bytes]], topic: Optional[str]
) -> Tuple[List[c_void_p], "ctypes.Array[c_void_p]"]:
    """The ``bc_message`` handles of a batch (the caller frees them) and the
    ``const bc_message *const *`` array over them."""
    if not messages:
        raise errors.InvalidArgumentError(
            "a batch needs at least one message", status=errors.INVALID_ARG
        )
    handles: List[c_void_p] = []
    try:
        for m in messages:
            handles.append(new_message(m, topic))
    except BaseException:
        for h in handles:
            lib.bc_message_free(h)
        raise
    arr = (c_void_p * len(handles))(*(h.value for h in handles))
    return handles, arr


def _s(p: Optional[bytes]) -> Optional[str]:
    return p.decode("utf-8", "replace") if p is not None else None


def read_send_result(r: int, mq: Optional[MessageQueue] = None) -> SendResult:
    """Copies a (borrowed or owned) ``bc_send_result``; ``mq`` the queue it was sent to."""
    queue_id = lib.bc_send_result_queue_id(r)
    if mq is not None and mq.queue_id != queue_id:
        mq = MessageQueue(mq.topic, mq.broker_name, queue_id)
    return SendResult(
        status=SendStatus(lib.bc_send_result_status(r)),
        msg_id=_s(lib.bc_send_result_msg_id(r)) or "",
        offset_msg_id=_s(lib.bc_send_result_offset_msg_id(r)) or "",
        queue_id=lib.bc_send_result_queue_id(r),
        queue_offset=lib.bc_send_result_queue_offset(r),
        transaction_id=_s(lib.bc_send_result_transaction_id(r)),
        message_queue=mq,
    )


def take_send_result(r: c_void_p, mq: Optional[MessageQueue] = None) -> SendResult:
    try:
        return read_send_result(r.value or 0, mq)
    finally:
        lib.bc_send_result_free(r)


def _properties(b: int, i: int) -> Dict[str, str]:
    props: Dict[str, str] = {}
    name, value = c_char_p(), c_char_p()
    for j in range(lib.bc_batch_property_count(b, i)):
        call(lib.bc_batch_property_at, b, i, j, byref(name), byref(value))
        props[_s(name.value) or ""] = _s(value.value) or ""
    return props


def take_batch(b: int, pull_rt: Optional[float] = None) -> PullResult:
    """Copies an owned ``bc_batch`` into a :class:`PullResult` and frees it (``pull_rt``:
    the round trip in ms, when known)."""
    try:
        n = lib.bc_batch_len(b)
        msgs: List[MessageExt] = []
        view = MessageView()
        for i in range(n):
            view.struct_size = ctypes.sizeof(MessageView)
            call(lib.bc_batch_get, b, i, byref(view))
            msgs.append(
                MessageExt(
                    topic=_s(view.topic) or "",
                    body=ctypes.string_at(view.body, view.body_len) if view.body_len else b"",
                    tags=_s(view.tags),
                    keys=_s(view.keys),
                    msg_id=_s(view.msg_id),
                    offset_msg_id=_s(view.offset_msg_id),
                    queue_id=view.queue_id,
                    flag=view.flag,
                    queue_offset=view.queue_offset,
                    commit_log_offset=view.commit_log_offset,
                    born_timestamp=view.born_timestamp,
                    store_timestamp=view.store_timestamp,
                    reconsume_times=view.reconsume_times,
                    properties=_properties(b, i),
                )
            )
        return PullResult(
            status=PullStatus(lib.bc_batch_status(b)),
            next_begin_offset=lib.bc_batch_next_offset(b),
            min_offset=lib.bc_batch_min_offset(b),
            max_offset=lib.bc_batch_max_offset(b),
            messages=msgs,
            pull_rt=pull_rt,
        )
    finally:
        lib.bc_batch_free(b)
