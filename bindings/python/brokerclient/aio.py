"""asyncio classes: ``AsyncBrokerClient`` and ``AsyncBrokerManager``.

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
import logging
from contextlib import asynccontextmanager
from ctypes import byref, c_void_p
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

from . import _lifecycle, errors
from ._lib import DONE_CB, INT64_CB, PULL_CB, SEND_CB, STR_CB, lib
from ._native import call, call_out, enc, new_config, read_send_result, take_batch
from ._ops import I64, NONE, PULL, SEND, STR, BrokerConnection, ClientOps, ManagerOps

__all__ = [
    "AsyncBrokerClient",
    "AsyncBrokerManager",
    "create_async_broker_client",
    "create_async_broker_manager",
]

log = logging.getLogger("brokerclient")

# user_data key -> (future, cancel token handle or None, loop queue)
_pending: Dict[int, Tuple["asyncio.Future[Any]", Optional[int], "_LoopQueue"]] = {}
_ids = itertools.count(1)


def pending_count() -> int:
    """Operations accepted by the library whose completion has not run yet (for tests)."""
    return len(_pending)


def _complete(ud: int, status: int, err: Optional[int], value: Any, owned_batch: int = 0) -> None:
    """Runs on the loop thread inside ``bc_queue_dispatch``; never raises into C."""
    try:
        entry = _pending.pop(ud, None)
        if entry is None:  # cannot happen: the library completes each operation once
            log.error("brokerclient: completion for unknown operation %d", ud)
            if owned_batch:
                lib.bc_batch_free(owned_batch)
            return
        fut, token, q = entry
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
            fut.set_result(take_batch(owned_batch))
        else:
            fut.set_result(value() if callable(value) else value)
    except BaseException:  # an exception must not unwind into the library
        log.exception("brokerclient: completion callback failed")


@DONE_CB
def _on_done(ud: int, status: int, err: Optional[int]) -> None:
    _complete(ud, status, err, None)


@INT64_CB
def _on_i64(ud: int, status: int, err: Optional[int], value: int) -> None:
    _complete(ud, status, err, value)


@SEND_CB
def _on_send(ud: int, status: int, err: Optional[int], result: Optional[int]) -> None:
    # The result is borrowed for the callback: read it now (lazily only if it is wanted).
    _complete(ud, status, err, lambda: read_send_result(result))


@PULL_CB
def _on_pull(ud: int, status: int, err: Optional[int], batch: Optional[int]) -> None:
    # The batch is ours: _complete converts or frees it in every branch.
    _complete(ud, status, err, None, owned_batch=batch or 0)


@STR_CB
def _on_str(ud: int, status: int, err: Optional[int], value: Optional[bytes]) -> None:
    _complete(ud, status, err, value.decode() if value is not None else None)


_CALLBACKS = {NONE: _on_done, I64: _on_i64, SEND: _on_send, PULL: _on_pull, STR: _on_str}


class _LoopQueue:
    """The ``bc_queue`` of one event loop, watched with ``add_reader``.

    It is freed when the last client or manager using it has closed (all their completions
    have been queued by then, and are dispatched first), or at interpreter exit.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        h = c_void_p()
        call_out(lib.bc_queue_new, out=h)
        self.h = h
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


class _Async:
    """``_op`` with the ``_async`` twin of a ``bc_*`` function, completing a future."""

    _queue: Optional[_LoopQueue] = None

    def _bind(self) -> _LoopQueue:  # pragma: no cover - abstract
        raise NotImplementedError

    def _op(self, kind: int, name: str, *args: Any) -> "asyncio.Future[Any]":
        q = self._bind()
        fut = q.loop.create_future()
        ud = next(_ids)
        token: Optional[int] = None
        fn, cancellable = _async_fn(name)
        if cancellable:
            t = c_void_p()
            call_out(lib.bc_cancel_token_new, out=t)
            token = t.value
            args = args + (token,)
        _pending[ud] = (fut, token, q)
        err = c_void_p()
        status = fn(*args, _CALLBACKS[kind], ud, byref(err))
        if status != errors.OK:  # not accepted: no callback will come
            del _pending[ud]
            if token:
                lib.bc_cancel_token_free(token)
            raise errors.take_error(status, err)
        q.inflight += 1
        if token:
            fut.add_done_callback(functools.partial(_cancel_if_cancelled, ud, token))
        return fut


_async_fns: Dict[str, Tuple[Any, bool]] = {}


def _async_fn(name: str) -> Tuple[Any, bool]:
    """The async twin of ``name`` and whether it takes a cancel token (looked up once)."""
    found = _async_fns.get(name)
    if found is None:
        fn = getattr(lib, name + "_async_with_cancel", None)
        found = (fn, True) if fn is not None else (getattr(lib, name + "_async"), False)
        _async_fns[name] = found
    return found


def _cancel_if_cancelled(ud: int, token: int, fut: "asyncio.Future[Any]") -> None:
    # Still pending means the token is still alive (it is freed with the completion).
    if fut.cancelled() and ud in _pending:
        lib.bc_cancel_token_cancel(token)


def _coroutine(name: str, base: type) -> Any:
    """A coroutine method awaiting the shared operation ``base.name``."""
    op = getattr(base, name)

    @functools.wraps(op)
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Admission: the library refuses a submission beyond max.in.flight (WOULD_BLOCK). An
        # awaiting coroutine is the natural back-pressure in asyncio, so it waits for
        # completions and submits again (cancellable like any await). With nothing of its
        # loop in flight no completion would come: then the refusal is raised.
        while True:
            try:
                fut = op(self, *args, **kwargs)
            except errors.BrokerBusyError as e:
                q = self._queue
                if e.status != errors.WOULD_BLOCK or q is None or q.inflight == 0:
                    raise
                await q.room()
                continue
            return await fut

    return method


_CLIENT_METHODS = [
    "sync_send_message",
    "oneway_send_message",
    "sync_batch_send_message",
    "oneway_batch_send_message",
    "pull_message",
    "query_consumer_offset",
    "update_consumer_offset",
    "search_offset_by_timestamp",
    "get_max_offset",
    "send_heartbeat",
    "end_transaction",
    "create_topic",
]
_MANAGER_METHODS = [
    "add_broker",
    "remove_broker",
    "sync_send_message",
    "sync_batch_send_message",
    "pull_message",
    "query_consumer_offset",
    "update_consumer_offset",
    "get_max_offset",
    "send_heartbeat",
]


class _AsyncHandle(_Async):
    """Binding to the running loop's queue on first use, and the close sequence."""

    _h: Any = None
    _closed = False
    _new_args: Tuple[Any, ...] = ()

    def _create(self, cfg: Any, queue: Any, out: c_void_p) -> None:  # pragma: no cover
        raise NotImplementedError

    def _bind(self) -> _LoopQueue:
        if self._closed:
            raise errors.BrokerClosedError("closed", status=errors.CLOSED)
        if self._queue is None:
            loop = asyncio.get_running_loop()
            q = _queue_for(loop)
            cfg = new_config(self._options, self._timeout)  # type: ignore[attr-defined]
            try:
                h = c_void_p()
                self._create(cfg, q.h, h)
            finally:
                lib.bc_config_free(cfg)
            self._h, self._queue = h, q
            q.users += 1
            _lifecycle.register(self)
        return self._queue

    def _handle(self) -> Any:
        self._bind()
        return self._h

    async def _close(self, close_fn: Any, free_fn: Any, timeout: float) -> None:
        if self._closed:
            return
        self._closed = True
        _lifecycle.unregister(self)
        q, h = self._queue, self._h
        if q is None:
            return
        try:
            # Blocks until every accepted operation's completion is queued: off the loop
            # thread, so the loop keeps dispatching meanwhile.
            await q.loop.run_in_executor(None, _close_blocking, close_fn, h, timeout)
        finally:
            free_fn(h)
            q.dispatch()
            q.release()

    def _shutdown_now(self, close_fn: Any, free_fn: Any) -> None:
        """Interpreter exit: close without grace on whatever thread runs atexit."""
        if self._closed or self._queue is None:
            return
        self._closed = True
        free_fn(self._h)  # close(0): in-flight operations are cancelled and queued
        self._queue.release()

    def __del__(self) -> None:
        if self._closed or self._queue is None or _lifecycle.in_forked_child():
            return
        self._closed = True
        self._free(self._h)  # type: ignore[attr-defined]
        # The completions are queued; the loop's reader dispatches them.
        self._queue.users -= 1


def _close_blocking(close_fn: Any, h: Any, timeout: float) -> None:
    call(close_fn, h, int(timeout * 1000))


class AsyncBrokerClient(_AsyncHandle, ClientOps):
    """The asyncio client of one broker; the methods of ``BrokerClient`` as coroutines.

    The client binds to the event loop that first uses it (``connect`` or any operation) and
    must be used from that loop only. ``async with`` connects and closes.
    """

    _free = staticmethod(lib.bc_client_free)

    def __init__(
        self,
        broker_addr: str,
        timeout: Optional[float] = None,
        options: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.broker_addr = broker_addr
        self.timeout = self._timeout = timeout
        self._options = options

    def _create(self, cfg: Any, queue: Any, out: c_void_p) -> None:
        call_out(lib.bc_client_new, enc(self.broker_addr), cfg, queue, out=out)

    async def connect(self) -> None:
        """Connects now (operations also connect on demand)."""
        await self._op(NONE, "bc_client_connect", self._handle())

    async def disconnect(self) -> None:
        """Drops the connection; the next operation reconnects."""
        lib.bc_client_disconnect(self._handle())

    @property
    def is_connected(self) -> bool:
        """True while a connection to the broker is open."""
        return not self._closed and self._h is not None and bool(lib.bc_client_is_connected(self._h))

    async def close(self, timeout: float = 5.0) -> None:
        """Refuses new operations, lets those in flight finish for ``timeout`` seconds, then
        cancels the rest; every pending awaitable is resolved before this returns."""
        await self._close(lib.bc_client_close, lib.bc_client_free, timeout)

    def _shutdown_now(self) -> None:  # type: ignore[override]
        _AsyncHandle._shutdown_now(self, lib.bc_client_close, lib.bc_client_free)

    async def __aenter__(self) -> "AsyncBrokerClient":
        await self.connect()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


for _name in _CLIENT_METHODS:
    setattr(AsyncBrokerClient, _name, _coroutine(_name, ClientOps))


class AsyncBrokerManager(_AsyncHandle, ManagerOps):
    """The asyncio manager; the methods of ``BrokerManager`` as coroutines."""

    _free = staticmethod(lib.bc_manager_free)

    def __init__(
        self,
        namesrv_addr: Optional[str] = None,
        timeout: Optional[float] = None,
        options: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.namesrv_addr = namesrv_addr
        self._timeout = timeout
        self._options = options

    def _create(self, cfg: Any, queue: Any, out: c_void_p) -> None:
        if self.namesrv_addr:
            call_out(
                lib.bc_manager_new_from_name_servers, enc(self.namesrv_addr), cfg, queue, out=out
            )
        else:
            call_out(lib.bc_manager_new, cfg, queue, out=out)

    async def start(self) -> None:
        """Starts health probes and, with name servers, discovers the brokers."""
        await self._op(NONE, "bc_manager_start", self._handle())

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Closes every connection; pending awaitables are resolved before this returns."""
        await self._close(lib.bc_manager_close, lib.bc_manager_free, timeout)

    close = shutdown

    @asynccontextmanager
    async def connection(self, broker: str) -> AsyncIterator[BrokerConnection]:
        """``async with manager.connection(addr) as conn: await conn.pull_message(...)``."""
        addr = await self.add_broker(broker)  # type: ignore[misc]
        yield BrokerConnection(self, addr)

    def _shutdown_now(self) -> None:  # type: ignore[override]
        _AsyncHandle._shutdown_now(self, lib.bc_manager_close, lib.bc_manager_free)

    async def __aenter__(self) -> "AsyncBrokerManager":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.shutdown()


for _name in _MANAGER_METHODS:
    setattr(AsyncBrokerManager, _name, _coroutine(_name, ManagerOps))


def create_async_broker_client(
    host: str, port: Optional[int] = None, timeout: Optional[float] = None, **options: Any
) -> AsyncBrokerClient:
    """An :class:`AsyncBrokerClient` for ``host:port`` (or ``host`` already ``"host:port"``)."""
    return AsyncBrokerClient(host if port is None else f"{host}:{port}", timeout, options or None)


def create_async_broker_manager(
    namesrv_addr: Optional[str] = None, timeout: Optional[float] = None, **options: Any
) -> AsyncBrokerManager:
    """An :class:`AsyncBrokerManager`, discovering brokers from ``namesrv_addr`` when given."""
    return AsyncBrokerManager(namesrv_addr, timeout, options or None)
