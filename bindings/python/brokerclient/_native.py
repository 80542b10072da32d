"""Conversions between Python values and the library's handles (messages, results, batches).

Everything here runs on the caller's thread and copies what it reads: a borrowed
``bc_send_result`` or ``bc_message_view`` never outlives the call that received it.
"""

from __future__ import annotations

import ctypes
from contextlib import contextmanager
from ctypes import byref, c_int64, c_void_p
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

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


def call(fn, *args) -> None:  # type: ignore[no-untyped-def]
    """Calls a fallible ``bc_*`` function whose last parameter is ``err_out``; raises on error."""
    err = c_void_p()
    status = fn(*args, byref(err))
    if status != errors.OK:
        raise errors.take_error(status, err)


def call_out(fn, *args, out: "ctypes._SimpleCData") -> None:  # type: ignore[no-untyped-def]
    """As :func:`call` for a function with an out-parameter before ``err_out``."""
    call(fn, *args, byref(out))


def call_i64(fn, *args) -> int:  # type: ignore[no-untyped-def]
    out = c_int64()
    call_out(fn, *args, out=out)
    return out.value


def call_string(fn, *args) -> str:  # type: ignore[no-untyped-def]
    """For functions returning an owned ``char *`` (freed here with ``bc_string_free``)."""
    out = c_void_p()
    call_out(fn, *args, out=out)
    try:
        return ctypes.string_at(out.value).decode()
    finally:
        lib.bc_string_free(out)


def new_config(options: Optional[Dict[str, object]], timeout: Optional[float]) -> c_void_p:
    """A ``bc_config`` from library keys (``"pool.size": 2``); ``timeout`` in seconds sets
    ``request.timeout.ms``. The caller frees it (constructors copy it)."""
    cfg = c_void_p()
    call_out(lib.bc_config_new, out=cfg)
    try:
        items = dict(options or {})
        if timeout is not None:
            items.setdefault("request.timeout.ms", int(timeout * 1000))
        for k, v in items.items():
            call(lib.bc_config_set, cfg, str(k).encode(), str(v).encode())
    except BaseException:
        lib.bc_config_free(cfg)
        raise
    return cfg


def new_message(m: Union[Message, bytes], topic: Optional[str] = None) -> c_void_p:
    """A ``bc_message`` (the caller frees it; sends copy it)."""
    if isinstance(m, (bytes, bytearray, memoryview)):
        m = Message(topic=topic or "", body=bytes(m))
    body = bytes(m.body)
    out = c_void_p()
    call_out(lib.bc_message_new, m.topic.encode(), body, len(body), out=out)
    try:
        if m.tags is not None:
            call(lib.bc_message_set_tags, out, m.tags.encode())
        if m.keys is not None:
            call(lib.bc_message_set_keys, out, m.keys.encode())
        for k, v in m.properties.items():
            call(lib.bc_message_set_property, out, k.encode(), str(v).encode())
        if m.delay_level:
            call(lib.bc_message_set_delay_level, out, m.delay_level)
        if m.flag:
            call(lib.bc_message_set_flag, out, m.flag)
        if m.transactional:
            call(lib.bc_message_set_transactional, out)
    except BaseException:
        lib.bc_message_free(out)
        raise
    return out


def single_message(
    body: Union[bytes, Message],
    mq: Optional[MessageQueue],
    properties: Optional[Dict[str, str]],
    tags: Optional[str],
    keys: Optional[str],
) -> Tuple[Message, int]:
    """Normalises the seed's ``(body, mq, properties)`` arguments into a message and queue id."""
    if isinstance(body, Message):
        msg = body
    else:
        if mq is None:
            raise errors.InvalidArgumentError("mq (the MessageQueue) is required with a body")
        msg = Message(mq.topic, bytes(body), tags=tags, keys=keys, properties=dict(properties or {}))
    return msg, (mq.queue_id if mq is not None else 0)


@contextmanager
def messages_array(
    messages: Sequence[Union[Message, bytes]], topic: Optional[str]
) -> Iterator[Tuple["ctypes.Array[c_void_p]", int]]:
    """A ``const bc_message *const *`` array for the batch sends; frees the messages after."""
    if not messages:
        raise errors.InvalidArgumentError("a batch needs at least one message")
    handles: List[c_void_p] = []
    try:
        for m in messages:
            handles.append(new_message(m, topic))
        arr = (c_void_p * len(handles))(*(h.value for h in handles))
        yield arr, len(handles)
    finally:
        for h in handles:
            lib.bc_message_free(h)


def _s(p: Optional[bytes]) -> Optional[str]:
    return p.decode("utf-8", "replace") if p is not None else None


def read_send_result(r: int) -> SendResult:
    """Copies a (borrowed or owned) ``bc_send_result``."""
    return SendResult(
        status=SendStatus(lib.bc_send_result_status(r)),
        msg_id=_s(lib.bc_send_result_msg_id(r)) or "",
        offset_msg_id=_s(lib.bc_send_result_offset_msg_id(r)) or "",
        queue_id=lib.bc_send_result_queue_id(r),
        queue_offset=lib.bc_send_result_queue_offset(r),
        transaction_id=_s(lib.bc_send_result_transaction_id(r)),
    )


def take_send_result(r: c_void_p) -> SendResult:
    try:
        return read_send_result(r.value)  # type: ignore[arg-type]
    finally:
        lib.bc_send_result_free(r)


def take_batch(b: int) -> PullResult:
    """Copies an owned ``bc_batch`` into a :class:`PullResult` and frees it."""
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
                )
            )
        return PullResult(
            status=PullStatus(lib.bc_batch_status(b)),
            next_begin_offset=lib.bc_batch_next_offset(b),
            min_offset=lib.bc_batch_min_offset(b),
            max_offset=lib.bc_batch_max_offset(b),
            messages=msgs,
        )
    finally:
        lib.bc_batch_free(b)
