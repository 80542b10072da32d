"""asyncio classes: ``AsyncBrokerClient``, ``AsyncBrokerManager`` and ``AsyncConnectionPool``.

Completions never run on a library thread. Each event loop gets one ``bc_queue``; every async
object bound to that loop is created with it, and the loop watches ``bc_queue_fd`` with
``loop.add_reader``. When the fd is readable the loop thread calls ``bc_queue_dispatch``,
which runs the queued completion callbacks right there; they resolve the futures. So the GIL
is only ever taken by threads Python already owns.

Every accepted operation completes exactly once. Cancelling the awaiting task cancels the
future at once; sends and pulls also cancel the library operation (``bc_cancel_token``), and
for every operation the one late completion is absorbed (a pulled batch is freed).

The ctypes callback objects are module globals, so they live as long as the library can call
them; ``user_data`` is an integer key into ``_pending``, never a Python object pointer.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import time
from contextlib import asynccontextmanager
from ctypes import byref, c_void_p
from types import TracebackType
from typing import (
    AsyncIterator,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    Union,
    cast,
)

from . import _lifecycle, _oplog, _ops, errors
from ._lib import DONE_CB, FREE_CB, INT64_CB, NOTIFY_CB, PULL_CB, SEND_CB, STR_CB, TXCHECK_CB, lib
from ._native import call, call_out, call_string, enc, new_config, read_send_result, take_batch
from ._ops import Call
from .client import (
    DEFAULT_TIMEOUT,
    JSON,
    BrokerClient,
    ConsumerChangeListener,
    TransactionChecker,
    _broker_stats,
    _dotted,
    make_notify_callback,
    make_txcheck_callback,
    manager_options,
    split_manager_args,
    split_manager_kwargs,
)
from .config import OptionValue, RemoteConfig, TransportConfig, library_options
from .models import (
    BatchItem,
    BrokerState,
    ExpressionType,
    HeartbeatData,
    Message,
    MessageExt,
    MessageQueue,
    PullResult,
    SendResult,
    TransactionState,
)

__all__ = [
    "AsyncBrokerClient",
    "AsyncBrokerManager",
    "AsyncConnectionPool",
    "create_async_broker_client",
    "create_async_broker_manager",
]

log = _oplog.logger

# What a completion resolves a future with, before the typed wrappers narrow it.
_Value = Union[None, int, str, SendResult, PullResult]
# user_data key -> (future, cancel token handle or None, loop queue, the call's queue/start)
_pending: Dict[int, Tuple["asyncio.Future[_Value]", Optional[int], "_LoopQueue", Optional[MessageQueue], float]] = {}
_ids = itertools.count(1)


def pending_count() -> int:
    """Operations accepted by the library whose completion has not run yet (for tests)."""
    return len(_pending)


def _complete(ud: int, status: int, err: Optional[int], value: "Union[_Value, Callable[[Optional[MessageQueue]], _Value]]",
              owned_batch: int = 0) -> None:
    """Runs on the loop thread inside ``bc_queue_dispatch``; never raises into C."""
    try:
        entry = _pending.pop(ud, None)
        if entry is None:  # cannot happen: the library completes each operation once
            log.error("brokerclient: completion for unknown operation %d", ud)
            if owned_batch:
                lib.bc_batch_free(owned_batch)
            return
        fut, token, q, mq, t0 = entry
        q.inflight -= 1
        if token:
            lib.bc_cancel_token_free(token)
        # A cancelled awaiter, or a loop already closed (interpreter exit): absorb it.
        if fut.done() or fut.get_loop().is_closed():
            if owned_batch:
                lib.bc_batch_free(owned_batch)
            return
        if status != errors.OK:
            if owned_batch:
                lib.bc_batch_free(owned_batch)
            fut.set_exception(errors.from_error(status, err))
        elif owned_batch:
            fut.set_result(take_batch(owned_batch, (time.perf_counter() - t0) * 1000.0))
        else:
            fut.set_result(value(mq) if callable(value) else value)
    except BaseException:  # an exception must not unwind into the library
        log.exception("brokerclient: completion callback failed")


def _done(ud: int, status: int, err: Optional[int]) -> None:
    _complete(ud, status, err, None)


def _i64(ud: int, status: int, err: Optional[int], value: int) -> None:
    _complete(ud, status, err, value)


def _send(ud: int, status: int, err: Optional[int], result: Optional[int]) -> None:
    # The result is borrowed for the callback: read it now (only if it is wanted).
    _complete(ud, status, err, lambda mq: read_send_result(result or 0, mq))


def _pull(ud: int, status: int, err: Optional[int], batch: Optional[int]) -> None:
    # The batch is ours: _complete converts or frees it in every branch.
    _complete(ud, status, err, None, owned_batch=batch or 0)


def _str(ud: int, status: int, err: Optional[int], value: Optional[bytes]) -> None:
    _complete(ud, status, err, value.decode() if value is not None else "")


# The C callbacks: module globals, alive as long as the library may call them.
_on_done = DONE_CB(_done)
_on_i64 = INT64_CB(_i64)
_on_send = SEND_CB(_send)
_on_pull = PULL_CB(_pull)
_on_str = STR_CB(_str)

_CALLBACKS = {_ops.NONE: _on_done, _ops.I64: _on_i64, _ops.SEND: _on_send, _ops.PULL: _on_pull, _ops.STR: _on_str}


class _LoopQueue:
    """The ``bc_queue`` of one event loop, watched with ``add_reader``.

    It is freed when the last client or manager using it has closed (all their completions
    have been queued by then, and are dispatched first), or at interpreter exit.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        h = c_void_p()
        call_out(lib.bc_queue_new, out=h)
        self.h: Optional[c_void_p] = h
        self.loop = loop
        self.users = 0
        self.inflight = 0
        # Coroutines waiting for room after the library refused a submission (full window).
        self.room_waiters: "List[asyncio.Future[None]]" = []
        self.fd = lib.bc_queue_fd(h)
        loop.add_reader(self.fd, self.dispatch)

    def dispatch(self) -> None:
        # 0 = everything queued now; the fd is re-armed (or readable again) when this returns.
        if lib.bc_queue_dispatch(self.h, 0) and self.room_waiters:
            # Completions freed places: every waiter tries again (a waiter of another client
            # of this loop just waits once more).
            waiters, self.room_waiters = self.room_waiters, []
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    async def room(self) -> None:
        """Waits for the next completions on this queue (after a refused submission)."""
        w = self.loop.create_future()
        self.room_waiters.append(w)
        await w

    def queued(self) -> int:
        """Completions waiting in the library's queue (for tests)."""
        return int(lib.bc_queue_len(self.h)) if self.h else 0

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            self.free()

    def free(self) -> None:
        if not self.h:
            return
        _queues.pop(self.loop, None)
        # Waiters for room submit again now (and are refused as closed).
        waiters, self.room_waiters = self.room_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)
        try:
            if not self.loop.is_closed():
                self.loop.remove_reader(self.fd)
        except Exception:  # a loop that is shutting down may refuse; the fd dies with us
            pass
        h, self.h = self.h, None
        lib.bc_queue_free(h)  # runs what is still queued, here, on this thread


_queues: Dict[asyncio.AbstractEventLoop, _LoopQueue] = {}


def _queue_for(loop: asyncio.AbstractEventLoop) -> _LoopQueue:
    q = _queues.get(loop)
    if q is None or not q.h:
        q = _queues[loop] = _LoopQueue(loop)
    return q


def _free_all_queues() -> None:
    for q in list(_queues.values()):
        q.free()


def _forget_after_fork() -> None:
    # The parent's queues and operations are not ours in a child; never touch them.
    _queues.clear()
    _pending.clear()


_lifecycle.on_exit(_free_all_queues)
import os as _os  # noqa: E402  (kept next to its single use)

_os.register_at_fork(after_in_child=_forget_after_fork)


# Async functions that take a cancel token without "_with_cancel" in their name.
_TOKEN_IN_ASYNC = frozenset(["bc_client_pull_request", "bc_manager_pull_request"])
_async_fns: Dict[str, Tuple[Callable[..., int], bool]] = {}


def _async_fn(name: str) -> Tuple[Callable[..., int], bool]:
    """The async twin of ``name`` and whether it takes a cancel token (looked up once)."""
    found = _async_fns.get(name)
    if found is None:
        fn = getattr(lib, name + "_async_with_cancel", None)
        if fn is not None:
            found = (fn, True)
        else:
            found = (getattr(lib, name + "_async"), name in _TOKEN_IN_ASYNC)
        _async_fns[name] = found
    return found


def _cancel_if_cancelled(ud: int, token: int, fut: "asyncio.Future[_Value]") -> None:
    # Still pending means the token is still alive (it is freed with the completion).
    if fut.cancelled() and ud in _pending:
        lib.bc_cancel_token_cancel(token)


def _close_blocking(close_fn: Callable[..., int], h: int, timeout: float) -> None:
    call(close_fn, h, int(timeout * 1000))


class _AsyncHandle:
    """Binding to the running loop's queue on first use, running calls, the close sequence."""

    _h: Optional[int] = None
    _closed = False
    _queue: Optional[_LoopQueue] = None
    _options: Dict[str, str] = {}
    timeout: Optional[float] = None

    @property
    def client_id(self) -> str:  # pragma: no cover - overridden
        return ""

    @property
    def log_addr(self) -> str:  # pragma: no cover - overridden
        return ""

    def _create(self, cfg: c_void_p, queue: c_void_p, out: c_void_p) -> None:  # pragma: no cover
        raise NotImplementedError

    def _free(self, h: int) -> None:  # pragma: no cover
        raise NotImplementedError

    def _bind(self) -> _LoopQueue:
        if self._closed:
            raise errors.BrokerClosedError("closed", status=errors.CLOSED)
        if self._queue is None:
            loop = asyncio.get_running_loop()
            q = _queue_for(loop)
            assert q.h is not None
            cfg = new_config(self._options)
            try:
                h = c_void_p()
                self._create(cfg, q.h, h)
            finally:
                lib.bc_config_free(cfg)
            self._h, self._queue = h.value, q
            q.users += 1
            _lifecycle.register(self)
        return self._queue

    def _adopt(self, h: int, q: _LoopQueue) -> None:
        """Takes a handle the library made on ``q``'s queue (a derived or pooled handle)."""
        self._h, self._queue = h, q
        q.users += 1
        _lifecycle.register(self)

    def _handle(self) -> int:
        self._bind()
        if not self._h:
            raise errors.BrokerClosedError("closed", status=errors.CLOSED)
        return self._h

    def _submit(self, c: Call) -> "asyncio.Future[_Value]":
        q = self._bind()
        fut: "asyncio.Future[_Value]" = q.loop.create_future()
        ud = next(_ids)
        token: Optional[int] = None
        fn, cancellable = _async_fn(c.fn)
        args: Tuple[object, ...] = (self._handle(),) + c.args
        if cancellable:
            t = c_void_p()
            call_out(lib.bc_cancel_token_new, out=t)
            token = t.value
            args = args + (token,)
        # the submission time only where a result reports it (a pull's pull_rt)
        _pending[ud] = (fut, token, q, c.mq, time.perf_counter() if c.kind == _ops.PULL else 0.0)
        err = c_void_p()
        status = fn(*args, _CALLBACKS[c.kind], ud, byref(err))
        if status != errors.OK:  # not accepted: no callback will come
            del _pending[ud]
            if token:
                lib.bc_cancel_token_free(token)
            raise errors.take_error(status, err)
        q.inflight += 1
        if token:
            fut.add_done_callback(functools.partial(_cancel_if_cancelled, ud, token))
        return fut

    async def _arun(self, c: Call) -> _Value:
        t0 = _oplog.start()
        try:
            # Admission: the library refuses a submission beyond max.in.flight (WOULD_BLOCK).
            # An awaiting coroutine is the natural back-pressure in asyncio, so it waits for
            # completions and submits again (cancellable like any await). With nothing of its
            # loop in flight no completion would come: then the refusal is raised.
            while True:
                try:
                    fut = self._submit(c)
                    break
                except errors.BrokerBusyError as e:
                    q = self._queue
                    if e.status != errors.WOULD_BLOCK or q is None or q.inflight == 0:
                        raise
                    await q.room()
            c.release()  # the library copied what it needs at submission
            value = await fut
        except errors.BrokerError as e:
            c.annotate(e, self.log_addr, self.timeout)
            _oplog.record(self, c.op, t0, e)
            raise
        finally:
            c.release()
        _oplog.record(self, c.op, t0, None)
        return value

    async def _none(self, c: Call) -> None:
        await self._arun(c)

    async def _i64(self, c: Call) -> int:
        return cast(int, await self._arun(c))

    async def _send(self, c: Call) -> SendResult:
        return cast(SendResult, await self._arun(c))

    async def _pull(self, c: Call) -> PullResult:
        return cast(PullResult, await self._arun(c))

    async def _str(self, c: Call) -> str:
        return cast(str, await self._arun(c))

    async def _json(self, c: Call) -> JSON:
        data = json.loads(await self._str(c))
        return data if isinstance(data, dict) else {"value": data}

    async def _close(self, close_fn: Callable[..., int], timeout: float) -> None:
        if self._closed:
            return
        self._closed = True
        _lifecycle.unregister(self)
        q, h = self._queue, self._h
        if q is None or not h:
            return
        t0 = _oplog.start()
        try:
            # Blocks until every accepted operation's completion is queued: off the loop
            # thread, so the loop keeps dispatching meanwhile.
            await q.loop.run_in_executor(None, _close_blocking, close_fn, h, timeout)
        finally:
            self._free(h)
            q.dispatch()
            q.release()
            _oplog.record(self, "close", t0, None)

    def _shutdown_now(self) -> None:
        """Interpreter exit: close without grace on whatever thread runs atexit."""
        if self._closed or self._queue is None or not self._h:
            return
        self._closed = True
        self._free(self._h)  # close(0): in-flight operations are cancelled and queued
        self._queue.release()

    def __del__(self) -> None:
        if self._closed or self._queue is None or not self._h or _lifecycle.in_forked_child():
            return
        self._closed = True
        self._free(self._h)
        # The completions are queued; the loop's reader dispatches them.
        self._queue.users -= 1


class AsyncBrokerClient(_AsyncHandle):
    """The asyncio client of one broker; the methods of ``BrokerClient`` as coroutines.

    The client binds to the event loop that first uses it (``connect`` or any operation) and
    must be used from that loop only. ``async with`` connects and closes.
    """

    def __init__(
        self,
        broker_addr: str,
        timeout: Optional[float] = None,
        options: Optional[Mapping[str, OptionValue]] = None,
        *,
        remote_config: Optional[RemoteConfig] = None,
        transport_config: Optional[TransportConfig] = None,
    ) -> None:
        if timeout is None:
            timeout = remote_config.request_timeout_seconds if remote_config else DEFAULT_TIMEOUT
        self.broker_addr = broker_addr
        self.timeout = timeout
        self._client_id: Optional[str] = None
        self._txcheck: Optional[object] = None
        self._notify: Optional[object] = None
        self._options = library_options(remote_config, transport_config, timeout, dict(options or {}))
        _oplog.record(self, "create_client", _oplog.start(), None)

    @classmethod
    def _wrap(cls, h: int, q: _LoopQueue, broker_addr: str, timeout: Optional[float]) -> "AsyncBrokerClient":
        self = cls.__new__(cls)
        self.broker_addr = broker_addr
        self.timeout = timeout
        self._client_id = None
        self._txcheck = None
        self._notify = None
        self._options = {}
        self._adopt(h, q)
        return self

    def _create(self, cfg: c_void_p, queue: c_void_p, out: c_void_p) -> None:
        call_out(lib.bc_client_new, enc(self.broker_addr), cfg, queue, out=out)

    def _free(self, h: int) -> None:
        lib.bc_client_free(h)
        self._txcheck = self._notify = None

    @property
    def log_addr(self) -> str:
        return self.broker_addr

    @property
    def client_id(self) -> str:
        """The id the broker sees (``ip@instance``); settled by the first connection."""
        if self._client_id is None:
            if self._closed or not self._h or not lib.bc_client_is_connected(self._h):
                return ""
            self._client_id = call_string(lib.bc_client_get_client_id, self._h)
        return self._client_id

    async def get_client_id(self) -> str:
        """As :attr:`client_id`, connecting first if needed."""
        if not self.is_connected:
            await self.connect()
        return call_string(lib.bc_client_get_client_id, self._handle())

    async def connect(self) -> None:
        """Connects now (operations also connect on demand)."""
        await self._none(Call("bc_client_connect", (), _ops.NONE, "connect"))

    async def disconnect(self) -> None:
        """Drops the connection; the next operation reconnects."""
        t0 = _oplog.start()
        lib.bc_client_disconnect(self._handle())
        _oplog.record(self, "disconnect", t0, None)

    @property
    def is_connected(self) -> bool:
        """True while a connection to the broker is open."""
        return not self._closed and bool(self._h) and bool(lib.bc_client_is_connected(self._h))

    def with_timeout(self, timeout: float) -> "AsyncBrokerClient":
        """The same client with another request timeout in seconds (its own handle to
        close); call it on the client's loop."""
        h = c_void_p()
        call_out(lib.bc_client_with_timeout, self._handle(), max(1, int(timeout * 1000)), out=h)
        assert self._queue is not None
        return AsyncBrokerClient._wrap(h.value or 0, self._queue, self.broker_addr, timeout)

    async def close(self, timeout: float = 5.0) -> None:
        """Refuses new operations, lets those in flight finish for ``timeout`` seconds, then
        cancels the rest; every pending awaitable is resolved before this returns."""
        await self._close(lib.bc_client_close, timeout)

    async def __aenter__(self) -> "AsyncBrokerClient":
        await self.connect()
        return self

    async def __aexit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        await self.close()

    async def sync_send_message(
        self,
        producer_group: str,
        body: Union[bytes, Message],
        mq: Optional[MessageQueue] = None,
        properties: Optional[Dict[str, str]] = None,
        *,
        tags: Optional[str] = None,
        keys: Optional[str] = None,
    ) -> SendResult:
        """Sends one message and awaits the broker's :class:`SendResult`."""
        return await self._send(_ops.send(producer_group, body, mq, properties, tags, keys))

    async def oneway_send_message(
        self,
        producer_group: str,
        body: Union[bytes, Message],
        mq: Optional[MessageQueue] = None,
        properties: Optional[Dict[str, str]] = None,
        *,
        tags: Optional[str] = None,
        keys: Optional[str] = None,
    ) -> None:
        """Sends one message without waiting for an answer (done once written)."""
        await self._none(_ops.send_oneway(producer_group, body, mq, properties, tags, keys))

    async def sync_batch_send_message(
        self,
        producer_group: str,
        body: Union[bytes, Sequence[BatchItem]],
        mq: MessageQueue,
        properties: Optional[Dict[str, str]] = None,
    ) -> SendResult:
        """Sends a batch (an encoded body or a list of messages) to ``mq``."""
        return await self._send(_ops.send_batch(producer_group, body, mq, properties))

    async def oneway_batch_send_message(
        self,
        producer_group: str,
        body: Union[bytes, Sequence[BatchItem]],
        mq: MessageQueue,
        properties: Optional[Dict[str, str]] = None,
    ) -> None:
        """As :meth:`sync_batch_send_message` without waiting for an answer."""
        await self._none(_ops.send_batch_oneway(producer_group, body, mq, properties))

    async def pull_message(
        self,
        consumer_group: str,
        topic: str,
        queue_id: int,
        queue_offset: int,
        max_msg_nums: int = 32,
        sys_flag: int = 0,
        commit_offset: int = 0,
        *,
        sub_expression: str = "*",
        expression_type: Union[ExpressionType, str] = ExpressionType.TAG,
        suspend_timeout: float = 0.0,
        sub_version: int = 0,
    ) -> PullResult:
        """Pulls up to ``max_msg_nums`` messages from ``queue_offset`` (see ``BrokerClient``)."""
        return await self._pull(_ops.pull(consumer_group, topic, queue_id, queue_offset, max_msg_nums,
                                          sys_flag, commit_offset, sub_expression, suspend_timeout,
                                          expression_type, sub_version))

    async def query_consumer_offset(self, consumer_group: str, topic: str, queue_id: int) -> int:
        """The offset the broker stores for the group on that queue."""
        return await self._i64(_ops.group_topic_queue("bc_client_query_consumer_offset", _ops.I64,
                                                      "query_consumer_offset", consumer_group, topic, queue_id))

    async def update_consumer_offset(self, consumer_group: str, topic: str, queue_id: int,
                                     commit_offset: int) -> None:
        """Stores the group's offset on that queue."""
        await self._none(_ops.group_topic_queue("bc_client_update_consumer_offset", _ops.NONE,
                                                "update_consumer_offset", consumer_group, topic,
                                                queue_id, commit_offset, offset=commit_offset))

    async def update_consumer_offset_oneway(self, consumer_group: str, topic: str, queue_id: int,
                                            commit_offset: int) -> None:
        """Commits the group's offset without waiting for the broker."""
        await self._none(_ops.group_topic_queue("bc_client_update_consumer_offset_oneway", _ops.NONE,
                                                "update_consumer_offset_oneway", consumer_group, topic,
                                                queue_id, commit_offset, offset=commit_offset))

    async def search_offset_by_timestamp(self, topic: str, queue_id: int, timestamp: int,
                                         upper: bool = False) -> int:
        """The queue offset of the first message stored at or after ``timestamp`` (ms)."""
        return await self._i64(_ops.topic_queue("bc_client_search_offset_by_timestamp",
                                                "search_offset_by_timestamp", topic, queue_id,
                                                timestamp, 1 if upper else 0))

    async def get_max_offset(self, topic: str, queue_id: int) -> int:
        """The queue's next offset (one past the last message)."""
        return await self._i64(_ops.topic_queue("bc_client_get_max_offset", "get_max_offset", topic, queue_id))

    async def get_min_offset(self, topic: str, queue_id: int) -> int:
        """The queue's first offset still stored."""
        return await self._i64(_ops.topic_queue("bc_client_get_min_offset", "get_min_offset", topic, queue_id))

    async def get_earliest_msg_store_time(self, topic: str, queue_id: int) -> int:
        """The store time (ms since the epoch) of the queue's oldest message."""
        return await self._i64(_ops.topic_queue("bc_client_get_earliest_msg_store_time",
                                                "get_earliest_msg_store_time", topic, queue_id))

    async def send_heartbeat(
        self,
        heartbeat_data: Optional[HeartbeatData] = None,
        *,
        producer_group: Optional[str] = None,
        consumer_group: Optional[str] = None,
    ) -> None:
        """Registers this client in the groups of ``heartbeat_data`` and/or those named."""
        await self._none(_ops.heartbeat("bc_client_send_heartbeat", heartbeat_data, producer_group,
                                        consumer_group))

    async def unregister_client(self, producer_group: Optional[str] = None,
                                consumer_group: Optional[str] = None) -> None:
        """Tells the broker this client leaves its producer and/or consumer group."""
        await self._none(Call("bc_client_unregister", (enc(producer_group), enc(consumer_group)),
                              _ops.NONE, "unregister_client", resource=producer_group or consumer_group))

    async def end_transaction(
        self,
        producer_group: str,
        msg_id: str,
        offset_msg_id: str,
        queue_offset: int,
        transaction_id: Optional[str],
        state: Union[int, TransactionState],
    ) -> None:
        """Commits or rolls back a half message (oneway: done once written)."""
        await self._none(_ops.end_transaction(producer_group, msg_id, offset_msg_id, queue_offset,
                                              transaction_id, state))

    def set_transaction_check_callback(self, checker: Optional[TransactionChecker]) -> None:
        """As ``BrokerClient.set_transaction_check_callback`` (runs on a library thread)."""
        cb = make_txcheck_callback(checker) if checker is not None else TXCHECK_CB()
        call(lib.bc_client_set_transaction_check_cb, self._handle(), cb, None, FREE_CB())
        self._txcheck = cb if checker is not None else None

    def set_consumer_change_callback(self, listener: Optional[ConsumerChangeListener]) -> None:
        """As ``BrokerClient.set_consumer_change_callback``; here the listener runs on the
        loop's thread (inside the queue's dispatch). Call it on the client's loop."""
        cb = make_notify_callback(listener) if listener is not None else NOTIFY_CB()
        call(lib.bc_client_set_notify_cb, self._handle(), cb, None, FREE_CB())
        self._notify = cb if listener is not None else None

    async def create_topic(self, topic: str, queue_nums: int = 4) -> None:
        """Creates (or updates) ``topic`` on this broker (an admin request)."""
        await self._none(Call("bc_client_create_topic", (enc(topic), queue_nums), _ops.NONE,
                              "create_topic", topic=topic))

    async def get_route_info(self, topic: str) -> JSON:
        """The route of ``topic`` (ask a client of a name server)."""
        return await self._json(Call("bc_client_get_route_info", (enc(topic),), _ops.STR,
                                     "get_route_info", topic=topic))

    async def get_cluster_info(self) -> JSON:
        """Every cluster and broker the name server knows."""
        return await self._json(Call("bc_client_get_cluster_info", (), _ops.STR, "get_cluster_info"))

    async def get_consumer_list(self, consumer_group: str) -> List[str]:
        """The client ids of a consumer group's live members."""
        data = json.loads(await self._str(Call("bc_client_get_consumer_list", (enc(consumer_group),),
                                               _ops.STR, "get_consumer_list", resource=consumer_group)))
        return [str(x) for x in data] if isinstance(data, list) else []

    async def view_message(self, offset_msg_id: str) -> MessageExt:
        """The stored message with that offset message id."""
        r = await self._pull(Call("bc_client_view_message", (enc(offset_msg_id),), _ops.PULL,
                                  "view_message", resource=offset_msg_id))
        return r.messages[0]

    async def consumer_send_back(self, consumer_group: str, message: MessageExt, delay_level: int = 0,
                                 max_reconsume_times: int = -1) -> None:
        """Hands a pulled message back for redelivery (see ``BrokerClient``); runs the
        blocking calls on the loop's default executor."""
        h = self._handle()
        t0 = _oplog.start()
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, _send_back_blocking, h, consumer_group, message, delay_level, max_reconsume_times)
        except errors.BrokerError as e:
            e._annotate(operation="consumer_send_back", broker_addr=self.broker_addr,
                        timeout=self.timeout, topic=message.topic, queue_id=message.queue_id,
                        offset=message.queue_offset, resource=consumer_group)
            _oplog.record(self, "consumer_send_back", t0, e)
            raise
        _oplog.record(self, "consumer_send_back", t0, None)

    async def lock_batch_mq(self, consumer_group: str, mqs: Sequence[MessageQueue]) -> List[MessageQueue]:
        """Locks queues for ordered consumption; returns those now locked by this client."""
        return _ops.parse_mqs(await self._str(Call("bc_client_lock_batch_mq",
                                                   (enc(consumer_group), _ops.mq_json(mqs)), _ops.STR,
                                                   "lock_batch_mq", resource=consumer_group)))

    async def unlock_batch_mq(self, consumer_group: str, mqs: Sequence[MessageQueue]) -> None:
        """Releases queue locks of :meth:`lock_batch_mq`."""
        await self._none(Call("bc_client_unlock_batch_mq", (enc(consumer_group), _ops.mq_json(mqs)),
                              _ops.NONE, "unlock_batch_mq", resource=consumer_group))


def _send_back_blocking(h: int, consumer_group: str, message: MessageExt, delay_level: int,
                        max_reconsume_times: int) -> None:
    batch = c_void_p()
    call_out(lib.bc_client_view_message, h, enc(message.offset_msg_id), out=batch)
    try:
        call(lib.bc_client_consumer_send_back, h, enc(consumer_group), batch, 0, delay_level,
             max_reconsume_times)
    finally:
        lib.bc_batch_free(batch)


class AsyncConnectionPool:
    """An async manager's pool for one broker (pyrocketmq's ``AsyncConnectionPool``):
    ``async with pool.get_connection() as client:`` yields an :class:`AsyncBrokerClient` on
    the pool (``bc_manager_client``)."""

    def __init__(self, manager: "AsyncBrokerManager", address: str, broker_name: Optional[str],
                 pool_size: int) -> None:
        self.manager = manager
        self.address = address
        self.broker_name = broker_name
        self.pool_size = pool_size
        self.max_connections = pool_size

    def client(self) -> AsyncBrokerClient:
        return self.manager.client(self.address)

    @asynccontextmanager
    async def get_connection(self) -> AsyncIterator[AsyncBrokerClient]:
        c = self.client()
        try:
            yield c
        finally:
            await c.close()

    def get_stats(self) -> JSON:
        return _broker_stats(self.manager.stats(), self.address)

    @property
    def active_connections(self) -> int:
        v = self.get_stats().get("open_connections", 0)
        return int(v) if isinstance(v, (int, float, str)) else 0

    @property
    def is_healthy(self) -> bool:
        return self.manager.broker_state(self.address) == BrokerState.HEALTHY

    async def close(self) -> None:
        """Removes the broker from the manager (its connections close)."""
        await self.manager.remove_broker(self.address)


class AsyncBrokerManager(_AsyncHandle):
    """The asyncio manager; the methods of ``BrokerManager`` as coroutines (the local
    queries ``brokers``, ``broker_state``, ``stats`` and ``client`` stay plain methods)."""

    def __init__(
        self,
        remote_config: Union[RemoteConfig, str, None] = None,
        transport_config: Optional[TransportConfig] = None,
        max_consecutive_failures: int = 3,
        connection_pool_size: int = 5,
        *,
        namesrv_addr: Optional[str] = None,
        timeout: Optional[float] = None,
        options: Optional[Mapping[str, OptionValue]] = None,
    ) -> None:
        remote_config, namesrv_addr = split_manager_args(remote_config, namesrv_addr)
        self.remote_config = remote_config
        self.transport_config = transport_config
        self.max_consecutive_failures = max_consecutive_failures
        self.connection_pool_size = connection_pool_size
        self.namesrv_addr = namesrv_addr
        self.timeout = timeout if timeout is not None else (
            remote_config.request_timeout_seconds if remote_config is not None else None)
        self._names: Dict[str, Optional[str]] = {}
        self._client_id: Optional[str] = None
        self._options = manager_options(remote_config, transport_config, max_consecutive_failures,
                                        connection_pool_size, timeout, options)
        _oplog.record(self, "create_manager", _oplog.start(), None)

    def _create(self, cfg: c_void_p, queue: c_void_p, out: c_void_p) -> None:
        if self.namesrv_addr:
            call_out(lib.bc_manager_new_from_name_servers, enc(self.namesrv_addr), cfg, queue, out=out)
        else:
            call_out(lib.bc_manager_new, cfg, queue, out=out)

    def _free(self, h: int) -> None:
        lib.bc_manager_free(h)

    @property
    def log_addr(self) -> str:
        return self.namesrv_addr or ""

    @property
    def client_id(self) -> str:
        if self._client_id is None:
            if self._closed or not self._h:
                return ""
            v = self.stats().get("client_id")
            self._client_id = str(v) if v is not None else ""
        return self._client_id

    async def start(self) -> None:
        """Starts health probes and, with name servers, discovers the brokers."""
        await self._none(Call("bc_manager_start", (), _ops.NONE, "start"))

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Closes every connection; pending awaitables are resolved before this returns."""
        await self._close(lib.bc_manager_close, timeout)

    close = shutdown

    async def __aenter__(self) -> "AsyncBrokerManager":
        await self.start()
        return self

    async def __aexit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None:
        await self.shutdown()

    async def add_broker(self, broker_addr: str, broker_name: Optional[str] = None) -> str:
        """Adds a broker by address (or known name); returns its address."""
        addr = await self._str(Call("bc_manager_add_broker", (enc(broker_addr),), _ops.STR,
                                    "add_broker", resource=broker_addr))
        self._names[addr] = broker_name or self._names.get(addr)
        return addr

    async def remove_broker(self, broker_addr: str, drain: float = 0.0) -> None:
        """Removes a broker; requests in flight on it get ``drain`` seconds to finish."""
        await self._none(Call("bc_manager_remove_broker", (enc(broker_addr), int(drain * 1000)),
                              _ops.NONE, "remove_broker", resource=broker_addr))
        self._names.pop(broker_addr, None)

    async def connection_pool(self, broker_addr: str) -> Optional[AsyncConnectionPool]:
        """The pool of a broker the manager knows, else ``None``."""
        if broker_addr not in self.brokers():
            return None
        return AsyncConnectionPool(self, broker_addr, self._names.get(broker_addr), self.connection_pool_size)

    def client(self, broker: str) -> AsyncBrokerClient:
        """An :class:`AsyncBrokerClient` on the pool of ``broker`` (close it when done)."""
        h = c_void_p()
        call_out(lib.bc_manager_client, self._handle(), enc(broker), out=h)
        assert self._queue is not None
        return AsyncBrokerClient._wrap(h.value or 0, self._queue, broker, self.timeout)

    @asynccontextmanager
    async def connection(self, broker: str) -> AsyncIterator[AsyncBrokerClient]:
        """``async with manager.connection(addr) as conn: await conn.pull_message(...)``."""
        addr = await self.add_broker(broker)
        c = self.client(addr)
        try:
            yield c
        finally:
            await c.close()

    def with_timeout(self, timeout: float) -> "AsyncBrokerManager":
        """The same manager with another request timeout in seconds (its own handle)."""
        h = c_void_p()
        call_out(lib.bc_manager_with_timeout, self._handle(), max(1, int(timeout * 1000)), out=h)
        m = AsyncBrokerManager.__new__(AsyncBrokerManager)
        m.__dict__.update(self.__dict__)
        m._closed = False
        m.timeout = timeout
        assert self._queue is not None
        m._adopt(h.value or 0, self._queue)
        return m

    def brokers(self) -> List[str]:
        """The addresses of the brokers the manager knows."""
        return [str(x) for x in json.loads(call_string(lib.bc_manager_brokers, self._handle()))]

    def broker_state(self, broker: str) -> BrokerState:
        """The health of a broker (``UNKNOWN`` when the manager does not know it)."""
        return BrokerState(int(lib.bc_manager_broker_state(self._handle(), enc(broker))))

    def stats(self) -> JSON:
        """State and metrics (see ``BrokerManager.stats``)."""
        data = json.loads(call_string(lib.bc_manager_stats_json, self._handle()))
        return data if isinstance(data, dict) else {}

    async def sync_send_message(self, producer_group: str, message: Message) -> SendResult:
        """Sends a message to a queue of its topic the manager picks from the route."""
        c = _ops.send(producer_group, message, None, None, None, None)
        c.fn, c.args = "bc_manager_send", (c.args[0], c.args[2])
        return await self._send(c)

    async def sync_batch_send_message(self, producer_group: str, messages: Sequence[Message]) -> SendResult:
        """Sends a batch (one topic) to a queue the manager picks."""
        if not messages:
            raise errors.InvalidArgumentError("a batch needs at least one message", status=errors.INVALID_ARG)
        c = _ops.send_batch(producer_group, list(messages), MessageQueue(messages[0].topic), None)
        c.fn, c.args = "bc_manager_send_batch", (c.args[0], c.args[2], c.args[3])
        return await self._send(c)

    async def pull_message(
        self,
        broker: str,
        consumer_group: str,
        topic: str,
        queue_id: int,
        queue_offset: int,
        max_msg_nums: int = 32,
        sys_flag: int = 0,
        commit_offset: int = 0,
        *,
        sub_expression: str = "*",
        expression_type: Union[ExpressionType, str] = ExpressionType.TAG,
        suspend_timeout: float = 0.0,
        sub_version: int = 0,
    ) -> PullResult:
        """Pulls from ``broker`` (address or name)."""
        return await self._pull(_ops.pull(consumer_group, topic, queue_id, queue_offset, max_msg_nums,
                                          sys_flag, commit_offset, sub_expression, suspend_timeout,
                                          expression_type, sub_version, broker=broker))

    async def query_consumer_offset(self, broker: str, consumer_group: str, topic: str, queue_id: int) -> int:
        """The group's stored offset on ``broker``'s queue."""
        c = _ops.group_topic_queue("bc_manager_query_consumer_offset", _ops.I64,
                                   "query_consumer_offset", consumer_group, topic, queue_id)
        c.args = (enc(broker),) + c.args
        return await self._i64(c)

    async def update_consumer_offset(self, broker: str, consumer_group: str, topic: str, queue_id: int,
                                     commit_offset: int) -> None:
        """Stores the group's offset on ``broker``'s queue."""
        c = _ops.group_topic_queue("bc_manager_update_consumer_offset", _ops.NONE,
                                   "update_consumer_offset", consumer_group, topic, queue_id,
                                   commit_offset, offset=commit_offset)
        c.args = (enc(broker),) + c.args
        await self._none(c)

    async def get_max_offset(self, broker: str, topic: str, queue_id: int) -> int:
        """The next offset of ``broker``'s queue."""
        c = _ops.topic_queue("bc_manager_get_max_offset", "get_max_offset", topic, queue_id)
        c.args = (enc(broker),) + c.args
        return await self._i64(c)

    async def send_heartbeat(
        self,
        heartbeat_data: Optional[HeartbeatData] = None,
        *,
        producer_group: Optional[str] = None,
        consumer_group: Optional[str] = None,
    ) -> None:
        """Heartbeats every broker the manager knows."""
        await self._none(_ops.heartbeat("bc_manager_send_heartbeat", heartbeat_data, producer_group,
                                        consumer_group))

    async def get_route_info(self, topic: str) -> JSON:
        """The route of ``topic`` from the manager's name servers."""
        return await self._json(Call("bc_manager_get_route_info", (enc(topic),), _ops.STR,
                                     "get_route_info", topic=topic))

    async def get_cluster_info(self) -> JSON:
        """The cluster information of the manager's name servers."""
        return await self._json(Call("bc_manager_get_cluster_info", (), _ops.STR, "get_cluster_info"))


def create_async_broker_client(
    broker_addr: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    remote_config: Optional[RemoteConfig] = None,
    transport_config: Optional[TransportConfig] = None,
    **options: OptionValue,
) -> AsyncBrokerClient:
    """An :class:`AsyncBrokerClient` for ``"host:port"`` (see ``create_broker_client``)."""
    return AsyncBrokerClient(broker_addr, timeout, _dotted(options), remote_config=remote_config,
                             transport_config=transport_config)


def create_async_broker_manager(
    namesrv_addr: str,
    *,
    remote_config: Optional[RemoteConfig] = None,
    transport_config: Optional[TransportConfig] = None,
    max_consecutive_failures: int = 3,
    connection_pool_size: int = 5,
    timeout: Optional[float] = None,
    options: Optional[Mapping[str, OptionValue]] = None,
    **kwargs: OptionValue,
) -> AsyncBrokerManager:
    """An :class:`AsyncBrokerManager` discovering brokers from ``namesrv_addr`` (see
    ``create_broker_manager`` for the keyword arguments)."""
    remote_config, opts = split_manager_kwargs(remote_config, options, kwargs)
    return AsyncBrokerManager(remote_config, transport_config, max_consecutive_failures,
                              connection_pool_size, namesrv_addr=namesrv_addr, timeout=timeout,
                              options=opts)
