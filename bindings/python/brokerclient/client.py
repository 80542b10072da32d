"""The blocking classes: ``BrokerClient`` (one broker), ``BrokerManager`` (many, pooled) and
``ConnectionPool`` (a manager's pool for one broker).

Each call blocks the calling thread only (ctypes releases the GIL), so several threads can
share one client: the library multiplexes their requests over one connection.
"""

from __future__ import annotations

import dataclasses
import json
import time
from contextlib import contextmanager
from ctypes import byref, c_int64, c_size_t, c_void_p
from typing import (
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Type,
    Union,
)
from types import TracebackType

from . import _lifecycle, _oplog, _ops, errors
from ._lib import FREE_CB, NOTIFY_CB, TXCHECK_CB, lib
from ._native import call, call_out, call_string, enc, new_config, take_batch, take_send_result, take_string
from ._ops import Call
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
    "BrokerClient",
    "BrokerManager",
    "ConnectionPool",
    "TransactionCheck",
    "create_broker_client",
    "create_broker_manager",
]

DEFAULT_TIMEOUT = 30.0  # seconds (the seed's default request timeout)
JSON = Dict[str, object]


class TransactionCheck:
    """The broker's question about a half message (what a transaction-check callback gets)."""

    def __init__(self, msg_id: str, transaction_id: str, topic: str, body: bytes,
                 properties: Dict[str, str]) -> None:
        self.msg_id = msg_id
        self.transaction_id = transaction_id
        self.topic = topic
        self.body = body
        self.properties = properties

    def __repr__(self) -> str:
        return f"TransactionCheck(msg_id={self.msg_id!r}, transaction_id={self.transaction_id!r}, topic={self.topic!r})"


TransactionChecker = Callable[[TransactionCheck], Union[TransactionState, int]]


def _read_check(check: int) -> TransactionCheck:
    import ctypes

    n = c_size_t()
    body_p = lib.bc_transaction_check_body(check, byref(n))
    body = ctypes.string_at(body_p, n.value) if body_p and n.value else b""
    props: Dict[str, str] = {}
    for name in ("KEYS", "TAGS", "UNIQ_KEY", "PGROUP", "TRAN_MSG"):
        v = lib.bc_transaction_check_property(check, name.encode())
        if v is not None:
            props[name] = v.decode("utf-8", "replace")
    return TransactionCheck(
        _ops.text_of(lib.bc_transaction_check_msg_id(check)) or "",
        _ops.text_of(lib.bc_transaction_check_transaction_id(check)) or "",
        _ops.text_of(lib.bc_transaction_check_topic(check)) or "",
        body,
        props,
    )


def make_txcheck_callback(checker: TransactionChecker) -> object:
    """The C callback running ``checker`` (on a library thread; an exception means UNKNOWN)."""

    def on_check(_ud: Optional[int], check: Optional[int]) -> int:
        try:
            return int(checker(_read_check(check or 0)))
        except BaseException:  # nothing may unwind into the library
            _oplog.logger.exception("brokerclient: transaction check callback failed")
            return int(TransactionState.UNKNOWN)

    return TXCHECK_CB(on_check)


ConsumerChangeListener = Callable[[str], None]


def make_notify_callback(listener: ConsumerChangeListener) -> object:
    """The C ``bc_notify_cb`` running ``listener(consumer_group)`` (exceptions are logged)."""

    def on_notice(_ud: Optional[int], group: Optional[bytes]) -> None:
        try:
            listener(group.decode("utf-8", "replace") if group else "")
        except BaseException:  # nothing may unwind into the library
            _oplog.logger.exception("brokerclient: consumer-change listener failed")

    return NOTIFY_CB(on_notice)


class _Blocking:
    """Runs a :class:`Call` with the blocking ``bc_*`` function: logs it, annotates errors."""

    _h: Optional[int] = None
    _closed = False
    timeout: Optional[float] = None

    @property
    def client_id(self) -> str:  # pragma: no cover - overridden
        return ""

    @property
    def log_addr(self) -> str:  # pragma: no cover - overridden
        return ""

    def _handle(self) -> int:
        if self._closed or not self._h:
            raise errors.BrokerClosedError("closed", status=errors.CLOSED)
        return self._h

    def _run(self, c: Call, out: "Optional[Union[c_int64, c_void_p]]") -> None:
        t0 = _oplog.start()
        try:
            err = c_void_p()
            args = (self._handle(),) + c.args + ((byref(out),) if out is not None else ())
            status = getattr(lib, c.fn)(*args, byref(err))
            if status != errors.OK:
                raise errors.take_error(status, err)
        except errors.BrokerError as e:
            c.annotate(e, self.log_addr, self.timeout)
            _oplog.record(self, c.op, t0, e)
            raise
        finally:
            c.release()
        _oplog.record(self, c.op, t0, None)

    def _none(self, c: Call) -> None:
        self._run(c, None)

    def _i64(self, c: Call) -> int:
        out = c_int64()
        self._run(c, out)
        return int(out.value)

    def _send(self, c: Call) -> SendResult:
        out = c_void_p()
        mq = c.mq
        self._run(c, out)
        return take_send_result(out, mq)

    def _pull(self, c: Call) -> PullResult:
        out = c_void_p()
        t = time.perf_counter()
        self._run(c, out)
        return take_batch(out.value or 0, (time.perf_counter() - t) * 1000.0)

    def _str(self, c: Call) -> str:
        out = c_void_p()
        self._run(c, out)
        return take_string(out)

    def _json(self, c: Call) -> JSON:
        data = json.loads(self._str(c))
        return data if isinstance(data, dict) else {"value": data}


class BrokerClient(_Blocking):
    """A blocking client of one broker (``"host:port"``) or name server.

    ``timeout`` (seconds; default: the remote config's, else 30) is the request timeout; ``remote_config`` /
    ``transport_config`` are pyrocketmq's configs; ``options`` are library config keys
    (``"connect.timeout.ms"``, ``"max.in.flight"``, ``"tls.*"``...), applied last. Use it as
    a context manager, or call :meth:`close`: an unclosed client is closed when collected or
    at interpreter exit. Thread-safety: any thread, concurrently.
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
        t0 = _oplog.start()
        if timeout is None:  # the remote config's, else the seed's 30 s
            timeout = remote_config.request_timeout_seconds if remote_config else DEFAULT_TIMEOUT
        self.broker_addr = broker_addr
        self.timeout = timeout
        self._client_id: Optional[str] = None
        self._txcheck: Optional[object] = None
        self._notify: Optional[object] = None
        self._owns = True
        cfg = new_config(library_options(remote_config, transport_config, timeout, dict(options or {})))
        try:
            h = c_void_p()
            call_out(lib.bc_client_new, enc(broker_addr), cfg, None, out=h)
        finally:
            lib.bc_config_free(cfg)
        self._h = h.value
        _lifecycle.register(self)
        _oplog.record(self, "create_client", t0, None)

    @classmethod
    def _wrap(cls, h: int, broker_addr: str, timeout: Optional[float]) -> "BrokerClient":
        """A client object over a handle made by the library (``with_timeout``, a pool's)."""
        self = cls.__new__(cls)
        self.broker_addr = broker_addr
        self.timeout = timeout
        self._client_id = None
        self._txcheck = None
        self._notify = None
        self._owns = True
        self._h = h
        _lifecycle.register(self)
        return self

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

    def get_client_id(self) -> str:
        """As :attr:`client_id`, connecting first if needed."""
        if not self.is_connected:
            self.connect()
        return call_string(lib.bc_client_get_client_id, self._handle())

    def stats(self) -> JSON:
        """Statistics (``bc_client_stats_json``): ``connected``, ``connects``, ``reconnects``,
        ``in_flight``, ``bytes_out``, ``bytes_in``, ``requests``, ``failed``, ``timeouts``,
        ``window_rejections`` and ``operations`` by name, each with ``requests``, ``ok``,
        ``refused``, ``failed``, ``timeouts`` and ``latency_us`` (``count``, ``p50``, ``p90``,
        ``p99``, ``max`` over the last ``window_ms``). Never blocks."""
        data = json.loads(call_string(lib.bc_client_stats_json, self._handle()))
        return data if isinstance(data, dict) else {}

    # -- connection ------------------------------------------------------------------------

    def connect(self) -> None:
        """Connects now (operations also connect on demand)."""
        self._none(Call("bc_client_connect", (), _ops.NONE, "connect"))

    def disconnect(self) -> None:
        """Drops the connection; the next operation reconnects."""
        t0 = _oplog.start()
        lib.bc_client_disconnect(self._handle())
        _oplog.record(self, "disconnect", t0, None)

    @property
    def is_connected(self) -> bool:
        """True while a connection to the broker is open."""
        return not self._closed and bool(self._h) and bool(lib.bc_client_is_connected(self._h))

    def with_timeout(self, timeout: float) -> "BrokerClient":
        """The same client (connection, queue) with another request timeout in seconds: a
        handle of its own to close (``bc_client_with_timeout``, the per-call deadline)."""
        h = c_void_p()
        call_out(lib.bc_client_with_timeout, self._handle(), max(1, int(timeout * 1000)), out=h)
        return BrokerClient._wrap(h.value or 0, self.broker_addr, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Refuses new operations, lets those in flight finish for ``timeout`` seconds, then
        cancels the rest and frees the client. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        _lifecycle.unregister(self)
        t0 = _oplog.start()
        try:
            call(lib.bc_client_close, self._h, int(timeout * 1000))
        finally:
            lib.bc_client_free(self._h)
            self._txcheck = self._notify = None
            _oplog.record(self, "close", t0, None)

    def _shutdown_now(self) -> None:
        self.close(0)

    def __enter__(self) -> "BrokerClient":
        self.connect()
        return self

    def __exit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __del__(self) -> None:
        if not self._closed and self._h and not _lifecycle.in_forked_child():
            self._closed = True
            lib.bc_client_free(self._h)

    # -- sends -----------------------------------------------------------------------------

    def sync_send_message(
        self,
        producer_group: str,
        body: Union[bytes, Message],
        mq: Optional[MessageQueue] = None,
        properties: Optional[Dict[str, str]] = None,
        *,
        tags: Optional[str] = None,
        keys: Optional[str] = None,
    ) -> SendResult:
        """Sends one message to ``mq`` and waits for the broker's :class:`SendResult`.

        ``body`` is the payload (with ``mq`` and optional ``properties``/``tags``/``keys``)
        or a whole :class:`Message` (then ``mq`` only gives the queue id, default 0).
        """
        return self._send(_ops.send(producer_group, body, mq, properties, tags, keys))

    def oneway_send_message(
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
        self._none(_ops.send_oneway(producer_group, body, mq, properties, tags, keys))

    def sync_batch_send_message(
        self,
        producer_group: str,
        body: Union[bytes, Sequence[BatchItem]],
        mq: MessageQueue,
        properties: Optional[Dict[str, str]] = None,
    ) -> SendResult:
        """Sends a batch to ``mq``: ``body`` is a batch body from
        :func:`encode_batch_messages` (the seed's form) or a list of :class:`Message`/bytes/
        dict entries; ``properties`` apply to every message. One :class:`SendResult`."""
        return self._send(_ops.send_batch(producer_group, body, mq, properties))

    def oneway_batch_send_message(
        self,
        producer_group: str,
        body: Union[bytes, Sequence[BatchItem]],
        mq: MessageQueue,
        properties: Optional[Dict[str, str]] = None,
    ) -> None:
        """As :meth:`sync_batch_send_message` without waiting for an answer."""
        self._none(_ops.send_batch_oneway(producer_group, body, mq, properties))

    # -- pulls and offsets -----------------------------------------------------------------

    def pull_message(
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
        """Pulls up to ``max_msg_nums`` messages from ``queue_offset``; a :class:`PullResult`.

        ``sys_flag`` takes PullSysFlag bits (1 commit offset, 2 suspend, 4 subscription);
        ``commit_offset`` > 0 commits that offset with the pull; ``suspend_timeout``
        (seconds) > 0 lets the broker hold the pull while nothing is new;
        ``sub_expression`` is a tag expression or, with ``expression_type="SQL92"``, an SQL92
        condition on properties.
        """
        return self._pull(_ops.pull(consumer_group, topic, queue_id, queue_offset, max_msg_nums,
                                    sys_flag, commit_offset, sub_expression, suspend_timeout,
                                    expression_type, sub_version))

    def query_consumer_offset(self, consumer_group: str, topic: str, queue_id: int) -> int:
        """The offset the broker stores for the group on that queue (``OffsetError`` when
        there is none)."""
        return self._i64(_ops.group_topic_queue("bc_client_query_consumer_offset", _ops.I64,
                                                "query_consumer_offset", consumer_group, topic, queue_id))

    def update_consumer_offset(self, consumer_group: str, topic: str, queue_id: int,
                               commit_offset: int) -> None:
        """Stores the group's offset on that queue (waits for the broker's answer)."""
        self._none(_ops.group_topic_queue("bc_client_update_consumer_offset", _ops.NONE,
                                          "update_consumer_offset", consumer_group, topic, queue_id,
                                          commit_offset, offset=commit_offset))

    def update_consumer_offset_oneway(self, consumer_group: str, topic: str, queue_id: int,
                                      commit_offset: int) -> None:
        """Commits the group's offset without waiting for the broker."""
        self._none(_ops.group_topic_queue("bc_client_update_consumer_offset_oneway", _ops.NONE,
                                          "update_consumer_offset_oneway", consumer_group, topic,
                                          queue_id, commit_offset, offset=commit_offset))

    def search_offset_by_timestamp(self, topic: str, queue_id: int, timestamp: int,
                                   upper: bool = False) -> int:
        """The queue offset of the first message stored at or after ``timestamp`` (ms)."""
        return self._i64(_ops.topic_queue("bc_client_search_offset_by_timestamp",
                                          "search_offset_by_timestamp", topic, queue_id, timestamp,
                                          1 if upper else 0))

    def get_max_offset(self, topic: str, queue_id: int) -> int:
        """The queue's next offset (one past the last message)."""
        return self._i64(_ops.topic_queue("bc_client_get_max_offset", "get_max_offset", topic, queue_id))

    def get_min_offset(self, topic: str, queue_id: int) -> int:
        """The queue's first offset still stored."""
        return self._i64(_ops.topic_queue("bc_client_get_min_offset", "get_min_offset", topic, queue_id))

    def get_earliest_msg_store_time(self, topic: str, queue_id: int) -> int:
        """The store time (ms since the epoch) of the queue's oldest message."""
        return self._i64(_ops.topic_queue("bc_client_get_earliest_msg_store_time",
                                          "get_earliest_msg_store_time", topic, queue_id))

    # -- groups, transactions, admin -------------------------------------------------------

    def send_heartbeat(
        self,
        heartbeat_data: Optional[HeartbeatData] = None,
        *,
        producer_group: Optional[str] = None,
        consumer_group: Optional[str] = None,
    ) -> None:
        """Registers this client in the producer and consumer groups of ``heartbeat_data``
        (and/or the groups given by name), with their modes and subscriptions: one request."""
        self._none(_ops.heartbeat("bc_client_send_heartbeat", heartbeat_data, producer_group, consumer_group))

    def unregister_client(self, producer_group: Optional[str] = None,
                          consumer_group: Optional[str] = None) -> None:
        """Tells the broker this client leaves its producer and/or consumer group."""
        self._none(Call("bc_client_unregister", (enc(producer_group), enc(consumer_group)),
                        _ops.NONE, "unregister_client", resource=producer_group or consumer_group))

    def end_transaction(
        self,
        producer_group: str,
        msg_id: str,
        offset_msg_id: str,
        queue_offset: int,
        transaction_id: Optional[str],
        state: Union[int, TransactionState],
    ) -> None:
        """Commits or rolls back a half message (oneway: done once written)."""
        self._none(_ops.end_transaction(producer_group, msg_id, offset_msg_id, queue_offset,
                                        transaction_id, state))

    def set_transaction_check_callback(self, checker: Optional[TransactionChecker]) -> None:
        """Answers the broker's checks of half messages this client's producer groups sent
        (register the group with :meth:`send_heartbeat`): ``checker(check)`` returns a
        :class:`TransactionState`; it runs on a library thread and must not call this
        client's blocking methods. ``None`` removes it."""
        cb = make_txcheck_callback(checker) if checker is not None else TXCHECK_CB()
        call(lib.bc_client_set_transaction_check_cb, self._handle(), cb, None, FREE_CB())
        self._txcheck = cb if checker is not None else None

    def set_consumer_change_callback(self, listener: Optional[ConsumerChangeListener]) -> None:
        """``listener(consumer_group)`` is told when a consumer group this client registered
        (:meth:`send_heartbeat`) gains or loses a member (NOTIFY_CONSUMER_IDS_CHANGED: time to
        rebalance); it runs on a library thread, where this client's blocking methods must not
        be called. Notices are hints (the broker may drop them). ``None`` removes it."""
        cb = make_notify_callback(listener) if listener is not None else NOTIFY_CB()
        call(lib.bc_client_set_notify_cb, self._handle(), cb, None, FREE_CB())
        self._notify = cb if listener is not None else None

    def create_topic(self, topic: str, queue_nums: int = 4) -> None:
        """Creates (or updates) ``topic`` on this broker (an admin request)."""
        self._none(Call("bc_client_create_topic", (enc(topic), queue_nums), _ops.NONE,
                        "create_topic", topic=topic))

    def get_route_info(self, topic: str) -> JSON:
        """The route of ``topic`` (a name server's ``TopicRouteData``: ``queueDatas``,
        ``brokerDatas``); ask a client of a name server."""
        return self._json(Call("bc_client_get_route_info", (enc(topic),), _ops.STR,
                               "get_route_info", topic=topic))

    def get_cluster_info(self) -> JSON:
        """Every cluster and broker the name server knows (``ClusterInfo``)."""
        return self._json(Call("bc_client_get_cluster_info", (), _ops.STR, "get_cluster_info"))

    def get_consumer_list(self, consumer_group: str) -> List[str]:
        """The client ids of a consumer group's live members."""
        data = json.loads(self._str(Call("bc_client_get_consumer_list", (enc(consumer_group),),
                                         _ops.STR, "get_consumer_list", resource=consumer_group)))
        return [str(x) for x in data] if isinstance(data, list) else []

    def view_message(self, offset_msg_id: str) -> MessageExt:
        """The stored message with that offset message id (``SendResult.offset_msg_id``)."""
        r = self._pull(Call("bc_client_view_message", (enc(offset_msg_id),), _ops.PULL,
                            "view_message", resource=offset_msg_id))
        return r.messages[0]

    def consumer_send_back(self, consumer_group: str, message: MessageExt, delay_level: int = 0,
                           max_reconsume_times: int = -1) -> None:
        """Hands a pulled message back for redelivery to ``consumer_group`` after
        ``delay_level`` (0: the broker chooses; negative: the dead-letter queue)."""
        t0 = _oplog.start()
        batch = c_void_p()
        try:
            call_out(lib.bc_client_view_message, self._handle(), enc(message.offset_msg_id), out=batch)
            try:
                call(lib.bc_client_consumer_send_back, self._handle(), enc(consumer_group), batch,
                     0, delay_level, max_reconsume_times)
            finally:
                lib.bc_batch_free(batch)
        except errors.BrokerError as e:
            e._annotate(operation="consumer_send_back", broker_addr=self.broker_addr,
                        timeout=self.timeout, topic=message.topic, queue_id=message.queue_id,
                        offset=message.queue_offset, resource=consumer_group)
            _oplog.record(self, "consumer_send_back", t0, e)
            raise
        _oplog.record(self, "consumer_send_back", t0, None)

    def lock_batch_mq(self, consumer_group: str, mqs: Sequence[MessageQueue]) -> List[MessageQueue]:
        """Locks queues for ordered consumption; returns those now locked by this client."""
        return _ops.parse_mqs(self._str(Call("bc_client_lock_batch_mq",
                                             (enc(consumer_group), _ops.mq_json(mqs)), _ops.STR,
                                             "lock_batch_mq", resource=consumer_group)))

    def unlock_batch_mq(self, consumer_group: str, mqs: Sequence[MessageQueue]) -> None:
        """Releases queue locks of :meth:`lock_batch_mq`."""
        self._none(Call("bc_client_unlock_batch_mq", (enc(consumer_group), _ops.mq_json(mqs)),
                        _ops.NONE, "unlock_batch_mq", resource=consumer_group))


class ConnectionPool:
    """A manager's pool of connections to one broker (pyrocketmq's ``ConnectionPool``).

    ``get_connection()`` is a context manager yielding a :class:`BrokerClient` whose every
    operation takes the pool's next connection (``bc_manager_client``) and counts towards the
    broker's health; leaving the block releases the client, never the pooled connections
    (the manager owns them)."""

    def __init__(self, manager: "BrokerManager", address: str, broker_name: Optional[str],
                 pool_size: int) -> None:
        self.manager = manager
        self.address = address
        self.broker_name = broker_name
        self.pool_size = pool_size
        self.max_connections = pool_size

    def client(self) -> BrokerClient:
        """A client on this pool (close it when done)."""
        return self.manager.client(self.address)

    @contextmanager
    def get_connection(self) -> Iterator[BrokerClient]:
        c = self.client()
        try:
            yield c
        finally:
            c.close()

    def get_stats(self) -> JSON:
        """This broker's entry of :meth:`BrokerManager.stats` (state, connections, latency)."""
        return _broker_stats(self.manager.stats(), self.address)

    @property
    def active_connections(self) -> int:
        v = self.get_stats().get("open_connections", 0)
        return int(v) if isinstance(v, (int, float, str)) else 0

    @property
    def is_healthy(self) -> bool:
        return self.manager.broker_state(self.address) == BrokerState.HEALTHY

    def close(self) -> None:
        """Removes the broker from the manager (its connections close)."""
        self.manager.remove_broker(self.address)


def _broker_stats(stats: JSON, address: str) -> JSON:
    brokers = stats.get("brokers")
    if isinstance(brokers, list):
        for b in brokers:
            if isinstance(b, dict) and b.get("addr") == address:
                return {str(k): v for k, v in b.items()}
    return {}


def manager_options(
    remote_config: Optional[RemoteConfig],
    transport_config: Optional[TransportConfig],
    max_consecutive_failures: int,
    connection_pool_size: int,
    timeout: Optional[float],
    options: Optional[Mapping[str, OptionValue]],
) -> Dict[str, str]:
    extra: Dict[str, OptionValue] = {
        "max.consecutive.failures": max_consecutive_failures,
        "pool.size": connection_pool_size,
    }
    extra.update(options or {})
    return library_options(remote_config, transport_config, timeout, extra)


def split_manager_args(
    remote_config: Union[RemoteConfig, str, None], namesrv_addr: Optional[str]
) -> "tuple[Optional[RemoteConfig], Optional[str]]":
    """``BrokerManager("ns:9876")`` (a name-server string first) is accepted as before."""
    if isinstance(remote_config, str):
        return None, namesrv_addr or remote_config
    return remote_config, namesrv_addr


class BrokerManager(_Blocking):
    """A blocking manager (pyrocketmq's ``BrokerManager``): a pool of
    ``connection_pool_size`` connections per broker, health tracking (a broker is marked down
    after ``max_consecutive_failures`` transport failures in a row, probed until it answers)
    and, with ``namesrv_addr`` (``"a:9876;b:9876"``), brokers and routes from the name servers.

    Thread-safety: any thread, concurrently.
    """

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
        t0 = _oplog.start()
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
        cfg = new_config(manager_options(remote_config, transport_config, max_consecutive_failures,
                                         connection_pool_size, timeout, options))
        try:
            h = c_void_p()
            if namesrv_addr:
                call_out(lib.bc_manager_new_from_name_servers, enc(namesrv_addr), cfg, None, out=h)
            else:
                call_out(lib.bc_manager_new, cfg, None, out=h)
        finally:
            lib.bc_config_free(cfg)
        self._h = h.value
        _lifecycle.register(self)
        _oplog.record(self, "create_manager", t0, None)

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

    def start(self) -> None:
        """Starts health probes and, with name servers, discovers the brokers."""
        self._none(Call("bc_manager_start", (), _ops.NONE, "start"))

    def shutdown(self, timeout: float = 5.0) -> None:
        """Closes every connection (in-flight requests get ``timeout`` seconds) and frees the
        manager. Twice is harmless."""
        if self._closed:
            return
        self._closed = True
        _lifecycle.unregister(self)
        t0 = _oplog.start()
        try:
            call(lib.bc_manager_close, self._h, int(timeout * 1000))
        finally:
            lib.bc_manager_free(self._h)
            _oplog.record(self, "shutdown", t0, None)

    close = shutdown

    def _shutdown_now(self) -> None:
        self.shutdown(0)

    def __enter__(self) -> "BrokerManager":
        self.start()
        return self

    def __exit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.shutdown()

    def __del__(self) -> None:
        if not self._closed and self._h and not _lifecycle.in_forked_child():
            self._closed = True
            lib.bc_manager_free(self._h)

    # -- brokers and pools -----------------------------------------------------------------

    def add_broker(self, broker_addr: str, broker_name: Optional[str] = None) -> str:
        """Adds a broker by address (or by name when the manager has name servers); returns
        its address. ``broker_name`` is remembered for its :class:`ConnectionPool`."""
        addr = self._str(Call("bc_manager_add_broker", (enc(broker_addr),), _ops.STR, "add_broker",
                              resource=broker_addr))
        self._names[addr] = broker_name or self._names.get(addr)
        return addr

    def remove_broker(self, broker_addr: str, drain: float = 0.0) -> None:
        """Removes a broker; requests in flight on it get ``drain`` seconds to finish."""
        self._none(Call("bc_manager_remove_broker", (enc(broker_addr), int(drain * 1000)),
                        _ops.NONE, "remove_broker", resource=broker_addr))
        self._names.pop(broker_addr, None)

    def connection_pool(self, broker_addr: str) -> Optional[ConnectionPool]:
        """The pool of a broker the manager knows, else ``None``."""
        if broker_addr not in self.brokers():
            return None
        return ConnectionPool(self, broker_addr, self._names.get(broker_addr), self.connection_pool_size)

    def client(self, broker: str) -> BrokerClient:
        """A :class:`BrokerClient` on the pool of ``broker`` (address or known name): every
        client operation through the manager (``bc_manager_client``). Close it when done."""
        h = c_void_p()
        call_out(lib.bc_manager_client, self._handle(), enc(broker), out=h)
        return BrokerClient._wrap(h.value or 0, broker, self.timeout)

    @contextmanager
    def connection(self, broker: str) -> Iterator[BrokerClient]:
        """``with manager.connection(addr) as conn: conn.pull_message(...)``: a pooled client
        of ``broker`` (added first if the manager does not know it)."""
        addr = self.add_broker(broker)
        c = self.client(addr)
        try:
            yield c
        finally:
            c.close()

    def with_timeout(self, timeout: float) -> "BrokerManager":
        """The same manager (pools, brokers) with another request timeout in seconds: a
        handle of its own to shut down (``bc_manager_with_timeout``)."""
        h = c_void_p()
        call_out(lib.bc_manager_with_timeout, self._handle(), max(1, int(timeout * 1000)), out=h)
        m = BrokerManager.__new__(BrokerManager)
        m.__dict__.update(self.__dict__)
        m._closed = False
        m._h = h.value
        m.timeout = timeout
        _lifecycle.register(m)
        return m

    def brokers(self) -> List[str]:
        """The addresses of the brokers the manager knows."""
        return [str(x) for x in json.loads(call_string(lib.bc_manager_brokers, self._handle()))]

    def broker_state(self, broker: str) -> BrokerState:
        """The health of a broker (``UNKNOWN`` when the manager does not know it)."""
        return BrokerState(int(lib.bc_manager_broker_state(self._handle(), enc(broker))))

    def stats(self) -> JSON:
        """State and metrics: ``client_id``, ``name_servers``, ``brokers`` (per broker:
        ``addr``, ``name``, ``state``, ``consecutive_failures``, ``open_connections``,
        ``in_flight``, ``requests``, ``errors``, ``latency_p50_us``, ``latency_p99_us``)."""
        data = json.loads(call_string(lib.bc_manager_stats_json, self._handle()))
        return data if isinstance(data, dict) else {}

    # -- operations ------------------------------------------------------------------------

    def sync_send_message(self, producer_group: str, message: Message) -> SendResult:
        """Sends a message to a queue of its topic the manager picks from the route."""
        c = _ops.send(producer_group, message, None, None, None, None)
        c.fn, c.args = "bc_manager_send", (c.args[0], c.args[2])
        return self._send(c)

    def sync_batch_send_message(self, producer_group: str, messages: Sequence[Message]) -> SendResult:
        """Sends a batch (one topic) to a queue the manager picks."""
        if not messages:
            raise errors.InvalidArgumentError("a batch needs at least one message", status=errors.INVALID_ARG)
        c = _ops.send_batch(producer_group, list(messages), MessageQueue(messages[0].topic), None)
        c.fn, c.args = "bc_manager_send_batch", (c.args[0], c.args[2], c.args[3])
        return self._send(c)

    def pull_message(
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
        """Pulls from ``broker`` (address or name), as ``BrokerClient.pull_message``."""
        return self._pull(_ops.pull(consumer_group, topic, queue_id, queue_offset, max_msg_nums,
                                    sys_flag, commit_offset, sub_expression, suspend_timeout,
                                    expression_type, sub_version, broker=broker))

    def query_consumer_offset(self, broker: str, consumer_group: str, topic: str, queue_id: int) -> int:
        """The group's stored offset on ``broker``'s queue."""
        c = _ops.group_topic_queue("bc_manager_query_consumer_offset", _ops.I64,
                                   "query_consumer_offset", consumer_group, topic, queue_id)
        c.args = (enc(broker),) + c.args
        return self._i64(c)

    def update_consumer_offset(self, broker: str, consumer_group: str, topic: str, queue_id: int,
                               commit_offset: int) -> None:
        """Stores the group's offset on ``broker``'s queue."""
        c = _ops.group_topic_queue("bc_manager_update_consumer_offset", _ops.NONE,
                                   "update_consumer_offset", consumer_group, topic, queue_id,
                                   commit_offset, offset=commit_offset)
        c.args = (enc(broker),) + c.args
        self._none(c)

    def get_max_offset(self, broker: str, topic: str, queue_id: int) -> int:
        """The next offset of ``broker``'s queue."""
        c = _ops.topic_queue("bc_manager_get_max_offset", "get_max_offset", topic, queue_id)
        c.args = (enc(broker),) + c.args
        return self._i64(c)

    def send_heartbeat(
        self,
        heartbeat_data: Optional[HeartbeatData] = None,
        *,
        producer_group: Optional[str] = None,
        consumer_group: Optional[str] = None,
    ) -> None:
        """Heartbeats every broker the manager knows (every group in one request each)."""
        self._none(_ops.heartbeat("bc_manager_send_heartbeat", heartbeat_data, producer_group, consumer_group))

    def get_route_info(self, topic: str) -> JSON:
        """The route of ``topic`` from the manager's name servers (cached by the manager)."""
        return self._json(Call("bc_manager_get_route_info", (enc(topic),), _ops.STR,
                               "get_route_info", topic=topic))

    def get_cluster_info(self) -> JSON:
        """The cluster information of the manager's name servers."""
        return self._json(Call("bc_manager_get_cluster_info", (), _ops.STR, "get_cluster_info"))


def create_broker_client(
    broker_addr: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    remote_config: Optional[RemoteConfig] = None,
    transport_config: Optional[TransportConfig] = None,
    **options: OptionValue,
) -> BrokerClient:
    """A :class:`BrokerClient` for ``"host:port"`` with a request ``timeout`` in seconds
    (default 30); further keyword arguments are library config keys with ``_`` for ``.``
    (``connect_timeout_ms=500``) or given as ``options={"connect.timeout.ms": 500}``."""
    return BrokerClient(broker_addr, timeout, _dotted(options), remote_config=remote_config,
                        transport_config=transport_config)


def _dotted(options: Mapping[str, object]) -> Dict[str, OptionValue]:
    out: Dict[str, OptionValue] = {}
    for k, v in options.items():
        if k == "options" and isinstance(v, Mapping):
            out.update({str(a): b for a, b in v.items()})
        elif isinstance(v, (str, int, float, bool)):
            out[k.replace("_", ".")] = v
        else:
            raise TypeError(f"option {k}: {type(v).__name__} is not a config value")
    return out


_REMOTE_FIELDS = frozenset(RemoteConfig.__dataclass_fields__)


def split_manager_kwargs(
    remote_config: Optional[RemoteConfig],
    options: Optional[Mapping[str, OptionValue]],
    kwargs: Mapping[str, OptionValue],
) -> "tuple[Optional[RemoteConfig], Dict[str, OptionValue]]":
    """``create_broker_manager``'s keyword arguments: :class:`RemoteConfig` fields build (or
    override) the remote config, the rest are library keys."""
    remote_kw = {k: v for k, v in kwargs.items() if k in _REMOTE_FIELDS}
    if remote_kw:
        base = remote_config or RemoteConfig()
        remote_config = dataclasses.replace(base)
        for k, v in remote_kw.items():
            setattr(remote_config, k, v)
        remote_config.__post_init__()
    opts = dict(options or {})
    opts.update(_dotted({k: v for k, v in kwargs.items() if k not in _REMOTE_FIELDS}))
    return remote_config, opts


def create_broker_manager(
    namesrv_addr: str,
    *,
    remote_config: Optional[RemoteConfig] = None,
    transport_config: Optional[TransportConfig] = None,
    max_consecutive_failures: int = 3,
    connection_pool_size: int = 5,
    timeout: Optional[float] = None,
    options: Optional[Mapping[str, OptionValue]] = None,
    **kwargs: OptionValue,
) -> BrokerManager:
    """A :class:`BrokerManager` discovering brokers from ``namesrv_addr`` (``;``-separated).

    Keyword arguments: the manager's own (``connection_pool_size``,
    ``max_consecutive_failures``, ``transport_config``, ``timeout`` seconds), any
    :class:`RemoteConfig` field (``connect_timeout=1000.0``, ``request_timeout=5000.0``, ms)
    building its remote config, or library keys (``options=`` or ``route_refresh_ms=1000``)."""
    remote_config, opts = split_manager_kwargs(remote_config, options, kwargs)
    return BrokerManager(remote_config, transport_config, max_consecutive_failures,
                         connection_pool_size, namesrv_addr=namesrv_addr, timeout=timeout, options=opts)
