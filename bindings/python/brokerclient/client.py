"""The blocking classes: ``BrokerClient`` (one broker) and ``BrokerManager`` (many).

Each call blocks the calling thread only (ctypes releases the GIL), so several threads can
share one client: the library multiplexes their requests over one connection.
"""

from __future__ import annotations

from contextlib import contextmanager
from ctypes import c_int64, c_void_p
from typing import Any, Dict, Iterator, Optional

from . import _lifecycle
from ._lib import lib
from ._native import call, call_out, enc, new_config, take_batch, take_send_result
from ._ops import I64, NONE, PULL, SEND, STR, BrokerConnection, ClientOps, ManagerOps

__all__ = ["BrokerClient", "BrokerManager", "create_broker_client", "create_broker_manager"]


def _take_string(out: c_void_p) -> str:
    import ctypes

    try:
        return ctypes.string_at(out.value).decode()
    finally:
        lib.bc_string_free(out)


_TAKE = {
    I64: lambda out: out.value,
    SEND: take_send_result,
    PULL: lambda out: take_batch(out.value),
    STR: _take_string,
}


class _Blocking:
    """``_op`` with the blocking ``bc_*`` function."""

    def _op(self, kind: int, name: str, *args: Any) -> Any:
        fn = getattr(lib, name)
        if kind == NONE:
            call(fn, *args)
            return None
        out: Any = c_int64() if kind == I64 else c_void_p()
        call_out(fn, *args, out=out)
        return _TAKE[kind](out)


def _split_addr(host: str, port: Optional[int]) -> str:
    return host if port is None else f"{host}:{port}"


class BrokerClient(_Blocking, ClientOps):
    """A blocking client of one broker (``"host:port"``).

    ``timeout`` (seconds) is the request timeout; ``options`` are library config keys
    (``"connect.timeout.ms"``, ``"max.in.flight"``, ...). Use it as a context manager, or call
    :meth:`close`: an unclosed client is closed when collected or at interpreter exit.
    Thread-safety: any thread, concurrently.
    """

    def __init__(
        self,
        broker_addr: str,
        timeout: Optional[float] = None,
        options: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.broker_addr = broker_addr
        self.timeout = timeout
        cfg = new_config(options, timeout)
        try:
            h = c_void_p()
            call_out(lib.bc_client_new, enc(broker_addr), cfg, None, out=h)
        finally:
            lib.bc_config_free(cfg)
        self._h = h
        _lifecycle.register(self)

    def connect(self) -> None:
        """Connects now (operations also connect on demand)."""
        call(lib.bc_client_connect, self._handle())

    def disconnect(self) -> None:
        """Drops the connection; the next operation reconnects."""
        lib.bc_client_disconnect(self._handle())

    @property
    def is_connected(self) -> bool:
        """True while a connection to the broker is open."""
        return not self._closed and bool(lib.bc_client_is_connected(self._h))

    def close(self, timeout: float = 5.0) -> None:
        """Refuses new operations, lets those in flight finish for ``timeout`` seconds, then
        cancels the rest and frees the client. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        _lifecycle.unregister(self)
        try:
            call(lib.bc_client_close, self._h, int(timeout * 1000))
        finally:
            lib.bc_client_free(self._h)

    def _shutdown_now(self) -> None:
        self.close(0)

    def __enter__(self) -> "BrokerClient":
        self.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if not self._closed and self._h is not None and not _lifecycle.in_forked_child():
            self._closed = True
            lib.bc_client_free(self._h)


class BrokerManager(_Blocking, ManagerOps):
    """A blocking manager: a pool of connections per broker, health tracking, and, with
    ``namesrv_addr`` (``"a:9876;b:9876"``), brokers and routes from the name servers.

    Thread-safety: any thread, concurrently.
    """

    def __init__(
        self,
        namesrv_addr: Optional[str] = None,
        timeout: Optional[float] = None,
        options: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.namesrv_addr = namesrv_addr
        cfg = new_config(options, timeout)
        try:
            h = c_void_p()
            if namesrv_addr:
                call_out(lib.bc_manager_new_from_name_servers, enc(namesrv_addr), cfg, None, out=h)
            else:
                call_out(lib.bc_manager_new, cfg, None, out=h)
        finally:
            lib.bc_config_free(cfg)
        self._h = h
        _lifecycle.register(self)

    def start(self) -> None:
        """Starts health probes and, with name servers, discovers the brokers."""
        call(lib.bc_manager_start, self._handle())

    def shutdown(self, timeout: float = 5.0) -> None:
        """Closes every connection (in-flight requests get ``timeout`` seconds) and frees the
        manager. Twice is harmless."""
        if self._closed:
            return
        self._closed = True
        _lifecycle.unregister(self)
        try:
            call(lib.bc_manager_close, self._h, int(timeout * 1000))
        finally:
            lib.bc_manager_free(self._h)

    close = shutdown

    @contextmanager
    def connection(self, broker: str) -> Iterator[BrokerConnection]:
        """``with manager.connection(addr) as conn: conn.pull_message(...)``: the per-broker
        operations bound to ``broker`` (added first if the manager does not know it)."""
        addr = self.add_broker(broker)
        yield BrokerConnection(self, addr)

    def _shutdown_now(self) -> None:
        self.shutdown(0)

    def __enter__(self) -> "BrokerManager":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    def __del__(self) -> None:
        if not self._closed and self._h is not None and not _lifecycle.in_forked_child():
            self._closed = True
            lib.bc_manager_free(self._h)


def create_broker_client(
    host: str, port: Optional[int] = None, timeout: Optional[float] = None, **options: Any
) -> BrokerClient:
    """A :class:`BrokerClient` for ``host:port`` (or ``host`` already ``"host:port"``)."""
    return BrokerClient(_split_addr(host, port), timeout, options or None)


def create_broker_manager(
    namesrv_addr: Optional[str] = None, timeout: Optional[float] = None, **options: Any
) -> BrokerManager:
    """A :class:`BrokerManager`, discovering brokers from ``namesrv_addr`` when given."""
    return BrokerManager(namesrv_addr, timeout, options or None)
