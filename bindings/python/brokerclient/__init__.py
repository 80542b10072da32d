"""Python binding of libbrokerclient: pyrocketmq's broker API over the native core.

Sync: :class:`BrokerClient`, :class:`BrokerManager` (with :class:`ConnectionPool`). asyncio:
:class:`AsyncBrokerClient`, :class:`AsyncBrokerManager` (:class:`AsyncConnectionPool`;
completions dispatched on the loop thread). Errors derive from :class:`BrokerError`. What
pyrocketmq imports from ``pyrocketmq.broker``, ``pyrocketmq.model``,
``pyrocketmq.remote.config`` and ``pyrocketmq.logging`` is importable from here. See
``bindings/python/README.md``.
"""

from ._lib import lib, library_path
from ._log import disable_logging, enable_logging
from ._oplog import get_logger
from .aio import (
    AsyncBrokerClient,
    AsyncBrokerManager,
    AsyncConnectionPool,
    create_async_broker_client,
    create_async_broker_manager,
)
from .client import (
    BrokerClient,
    BrokerManager,
    ConnectionPool,
    TransactionCheck,
    create_broker_client,
    create_broker_manager,
)
from .config import RemoteConfig, TransportConfig
from .errors import (
    AuthorizationError,
    BrokerBusyError,
    BrokerCancelledError,
    BrokerClosedError,
    BrokerConnectionError,
    BrokerError,
    BrokerFatalError,
    BrokerForkedError,
    BrokerProtocolError,
    BrokerResponseError,
    BrokerSystemError,
    BrokerTimeoutError,
    InvalidArgumentError,
    MessagePullError,
    OffsetError,
)
from .models import (
    BrokerState,
    ConsumerData,
    ExpressionType,
    HeartbeatData,
    Message,
    MessageExt,
    MessageQueue,
    ProducerData,
    PullMessageResult,
    PullResult,
    PullStatus,
    SendMessageResult,
    SendResult,
    SendStatus,
    TransactionState,
    decode_batch_messages,
    encode_batch_messages,
)

__version__ = "0.1.0"


def native_version() -> str:
    """The loaded library's version (``bc_version_str``)."""
    v = lib.bc_version_str()
    return v.decode() if isinstance(v, bytes) else ""


__all__ = [
    "AsyncBrokerClient",
    "AsyncBrokerManager",
    "AsyncConnectionPool",
    "AuthorizationError",
    "BrokerBusyError",
    "BrokerCancelledError",
    "BrokerClient",
    "BrokerClosedError",
    "BrokerConnectionError",
    "BrokerError",
    "BrokerFatalError",
    "BrokerForkedError",
    "BrokerManager",
    "BrokerProtocolError",
    "BrokerResponseError",
    "BrokerState",
    "BrokerSystemError",
    "BrokerTimeoutError",
    "ConnectionPool",
    "ConsumerData",
    "ExpressionType",
    "HeartbeatData",
    "InvalidArgumentError",
    "Message",
    "MessageExt",
    "MessagePullError",
    "MessageQueue",
    "OffsetError",
    "ProducerData",
    "PullMessageResult",
    "PullResult",
    "PullStatus",
    "RemoteConfig",
    "SendMessageResult",
    "SendResult",
    "SendStatus",
    "TransactionCheck",
    "TransactionState",
    "TransportConfig",
    "create_async_broker_client",
    "create_async_broker_manager",
    "create_broker_client",
    "create_broker_manager",
    "decode_batch_messages",
    "disable_logging",
    "enable_logging",
    "encode_batch_messages",
    "get_logger",
    "library_path",
    "native_version",
]
