"""The operations of a client and a manager, written once for both the sync and async classes.

Each method normalises its Python arguments into the C arguments and hands them to
``self._op(kind, name, *args)``. The sync classes implement ``_op`` with the blocking
``bc_*`` function ``name``; the async ones with ``name + "_async"`` (or
``"_async_with_cancel"``) and a future resolved from the completion queue. ``kind`` says how
the result comes back (nothing, an int64, a send result, a pulled batch, a string).
"""

from __future__ import annotations

import functools
import json
from typing import Any, Dict, List, Optional, Sequence, Union

from . import errors
from ._native import call_string, enc, messages_array, new_message, single_message
from ._lib import lib
from .models import Message, MessageQueue, TransactionState

# result kinds
NONE, I64, SEND, PULL, STR = range(5)


class _Handle:
    """An owned library handle (``bc_client``/``bc_manager``) that refuses use once closed."""

    _h: Any = None
    _closed = False

    def _handle(self) -> Any:
        if self._closed or self._h is None:
            raise errors.BrokerClosedError("closed", status=errors.CLOSED)
        return self._h

    def _op(self, kind: int, name: str, *args: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class ClientOps(_Handle):
    """The seed's ``BrokerClient`` methods (sync results, or awaitables in the async class)."""

    broker_addr: str

    def sync_send_message(
        self,
        producer_group: str,
        body: Union[bytes, Message],
        mq: Optional[MessageQueue] = None,
        properties: Optional[Dict[str, str]] = None,
        *,
        tags: Optional[str] = None,
        keys: Optional[str] = None,
    ) -> Any:
        """Sends one message to ``mq`` and waits for the broker's :class:`SendResult`.

        ``body`` is the payload (with ``mq`` and optional ``properties``/``tags``/``keys``)
        or a whole :class:`Message` (then ``mq`` only gives the queue id, default 0).
        """
        msg, queue_id = single_message(body, mq, properties, tags, keys)
        h = new_message(msg)
        try:
            return self._op(SEND, "bc_client_send", self._handle(), enc(producer_group), queue_id, h)
        finally:
            lib.bc_message_free(h)

    def oneway_send_message(
        self,
        producer_group: str,
        body: Union[bytes, Message],
        mq: Optional[MessageQueue] = None,
        properties: Optional[Dict[str, str]] = None,
        *,
        tags: Optional[str] = None,
        keys: Optional[str] = None,
    ) -> Any:
        """Sends one message without waiting for an answer (done once written)."""
        msg, queue_id = single_message(body, mq, properties, tags, keys)
        h = new_message(msg)
        try:
            return self._op(
                NONE, "bc_client_send_oneway", self._handle(), enc(producer_group), queue_id, h
            )
        finally:
            lib.bc_message_free(h)

    def sync_batch_send_message(
        self,
        producer_group: str,
        messages: Sequence[Union[bytes, Message]],
        mq: MessageQueue,
    ) -> Any:
        """Sends ``messages`` (all for ``mq.topic``) as one batch; one :class:`SendResult`.

        The seed took a pre-encoded batch body; here the library encodes the list.
        """
        with messages_array(messages, mq.topic) as (arr, n):
            return self._op(
                SEND, "bc_client_send_batch", self._handle(), enc(producer_group), mq.queue_id, arr, n
            )

    def oneway_batch_send_message(
        self,
        producer_group: str,
        messages: Sequence[Union[bytes, Message]],
        mq: MessageQueue,
    ) -> Any:
        """As :meth:`sync_batch_send_message` without waiting for an answer."""
        with messages_array(messages, mq.topic) as (arr, n):
            return self._op(
                NONE,
                "bc_client_send_batch_oneway",
                self._handle(),
                enc(producer_group),
                mq.queue_id,
                arr,
                n,
            )

    def pull_message(
        self,
        consumer_group: str,
        topic: str,
        queue_id: int,
        queue_offset: int,
        max_msg_nums: int = 32,
        sub_expression: str = "*",
        suspend_timeout: float = 0.0,
    ) -> Any:
        """Pulls up to ``max_msg_nums`` messages from ``queue_offset``; a :class:`PullResult`.

        ``suspend_timeout`` (seconds) > 0 lets the broker hold the pull while nothing is new.
        """
        return self._op(
            PULL,
            "bc_client_pull",
            self._handle(),
            enc(consumer_group),
            enc(topic),
            queue_id,
            queue_offset,
            max_msg_nums,
            int(suspend_timeout * 1000),
            enc(sub_expression),
        )

    def query_consumer_offset(self, consumer_group: str, topic: str, queue_id: int) -> Any:
        """The offset the broker stores for the group on that queue (an int)."""
        return self._op(
            I64,
            "bc_client_query_consumer_offset",
            self._handle(),
            enc(consumer_group),
            enc(topic),
            queue_id,
        )

    def update_consumer_offset(
        self, consumer_group: str, topic: str, queue_id: int, commit_offset: int
    ) -> Any:
        """Stores the group's offset on that queue (waits for the broker's answer)."""
        return self._op(
            NONE,
            "bc_client_update_consumer_offset",
            self._handle(),
            enc(consumer_group),
            enc(topic),
            queue_id,
            commit_offset,
        )

    def search_offset_by_timestamp(
        self, topic: str, queue_id: int, timestamp: int, upper: bool = False
    ) -> Any:
        """The queue offset of the first message stored at or after ``timestamp`` (ms)."""
        return self._op(
            I64,
            "bc_client_search_offset_by_timestamp",
            self._handle(),
            enc(topic),
            queue_id,
            timestamp,
            1 if upper else 0,
        )

    def get_max_offset(self, topic: str, queue_id: int) -> Any:
        """The queue's next offset (one past the last message)."""
        return self._op(I64, "bc_client_get_max_offset", self._handle(), enc(topic), queue_id)

    def send_heartbeat(
        self, producer_group: Optional[str] = None, consumer_group: Optional[str] = None
    ) -> Any:
        """Registers this client in a producer and/or consumer group."""
        return self._op(
            NONE, "bc_client_heartbeat", self._handle(), enc(producer_group), enc(consumer_group)
        )

    def end_transaction(
        self,
        producer_group: str,
        msg_id: str,
        offset_msg_id: str,
        queue_offset: int,
        transaction_id: Optional[str],
        state: Union[int, TransactionState],
    ) -> Any:
        """Commits or rolls back a half message (oneway: done once written)."""
        return self._op(
            NONE,
            "bc_client_end_transaction",
            self._handle(),
            enc(producer_group),
            enc(msg_id),
            enc(offset_msg_id),
            queue_offset,
            enc(transaction_id),
            int(state),
        )

    def create_topic(self, topic: str, queue_nums: int = 4) -> Any:
        """Creates (or updates) ``topic`` on this broker (an admin request)."""
        return self._op(NONE, "bc_client_create_topic", self._handle(), enc(topic), queue_nums)


class ManagerOps(_Handle):
    """The operations of ``BrokerManager``: broker set plus routed or per-broker requests."""

    def add_broker(self, broker: str) -> Any:
        """Adds a broker by address, or by name when the manager has name servers; returns
        its address."""
        return self._op(STR, "bc_manager_add_broker", self._handle(), enc(broker))

    def remove_broker(self, broker_addr: str, drain: float = 0.0) -> Any:
        """Removes a broker; requests in flight on it get ``drain`` seconds to finish."""
        return self._op(
            NONE, "bc_manager_remove_broker", self._handle(), enc(broker_addr), int(drain * 1000)
        )

    def sync_send_message(self, producer_group: str, message: Message) -> Any:
        """Sends a message to a queue of its topic the manager picks from the route."""
        h = new_message(message)
        try:
            return self._op(SEND, "bc_manager_send", self._handle(), enc(producer_group), h)
        finally:
            lib.bc_message_free(h)

    def sync_batch_send_message(self, producer_group: str, messages: Sequence[Message]) -> Any:
        """Sends a batch (one topic) to a queue the manager picks."""
        with messages_array(messages, None) as (arr, n):
            return self._op(
                SEND, "bc_manager_send_batch", self._handle(), enc(producer_group), arr, n
            )

    def pull_message(
        self,
        broker: str,
        consumer_group: str,
        topic: str,
        queue_id: int,
        queue_offset: int,
        max_msg_nums: int = 32,
        sub_expression: str = "*",
        suspend_timeout: float = 0.0,
    ) -> Any:
        """Pulls from ``broker`` (address or name), as ``BrokerClient.pull_message``."""
        return self._op(
            PULL,
            "bc_manager_pull",
            self._handle(),
            enc(broker),
            enc(consumer_group),
            enc(topic),
            queue_id,
            queue_offset,
            max_msg_nums,
            int(suspend_timeout * 1000),
            enc(sub_expression),
        )

    def query_consumer_offset(
        self, broker: str, consumer_group: str, topic: str, queue_id: int
    ) -> Any:
        """The group's stored offset on ``broker``'s queue."""
        return self._op(
            I64,
            "bc_manager_query_consumer_offset",
            self._handle(),
            enc(broker),
            enc(consumer_group),
            enc(topic),
            queue_id,
        )

    def update_consumer_offset(
        self, broker: str, consumer_group: str, topic: str, queue_id: int, commit_offset: int
    ) -> Any:
        """Stores the group's offset on ``broker``'s queue."""
        return self._op(
            NONE,
            "bc_manager_update_consumer_offset",
            self._handle(),
            enc(broker),
            enc(consumer_group),
            enc(topic),
            queue_id,
            commit_offset,
        )

    def get_max_offset(self, broker: str, topic: str, queue_id: int) -> Any:
        """The next offset of ``broker``'s queue."""
        return self._op(
            I64, "bc_manager_get_max_offset", self._handle(), enc(broker), enc(topic), queue_id
        )

    def send_heartbeat(
        self, producer_group: Optional[str] = None, consumer_group: Optional[str] = None
    ) -> Any:
        """Heartbeats every broker the manager knows."""
        return self._op(
            NONE, "bc_manager_heartbeat", self._handle(), enc(producer_group), enc(consumer_group)
        )

    # Local queries: never block, so sync in both flavours.
    def brokers(self) -> List[str]:
        """The addresses of the brokers the manager knows."""
        return list(json.loads(call_string(lib.bc_manager_brokers, self._handle())))

    def broker_state(self, broker: str) -> int:
        """``BrokerState`` of a broker: 0 healthy, 1 suspect, 2 down, -1 unknown."""
        return int(lib.bc_manager_broker_state(self._handle(), enc(broker)))


class BrokerConnection:
    """What ``manager.connection(broker)`` yields (pyrocketmq's with-style connection): the
    manager's per-broker operations with ``broker`` filled in. The manager keeps owning the
    pooled connections, so leaving the block releases nothing but the view."""

    _PER_BROKER = frozenset(
        ["pull_message", "query_consumer_offset", "update_consumer_offset", "get_max_offset"]
    )

    def __init__(self, manager: ManagerOps, broker: str) -> None:
        self.manager = manager
        self.broker = broker

    def __getattr__(self, name: str) -> Any:
        if name in self._PER_BROKER:
            return functools.partial(getattr(self.manager, name), self.broker)
        raise AttributeError(name)

    @property
    def is_connected(self) -> bool:
        """True while the manager counts the broker healthy."""
        return self.manager.broker_state(self.broker) == 0
