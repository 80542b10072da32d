"""Python binding of libbrokerclient: pyrocketmq's broker API over the native core.

Sync: :class:`BrokerClient`, :class:`BrokerManager`. asyncio: :class:`AsyncBrokerClient`,
:class:`AsyncBrokerManager` (completions dispatched on the loop thread). Errors derive from
:class:`BrokerError`. See ``bindings/python/README.md``.
"""

from ._lib import library_path
from ._log import disable_logging, enable_logging
from .aio import (
    AsyncBrokerClient,
    AsyncBrokerManager,
    create_async_broker_client,
    create_async_broker_manager,
)
from .client import BrokerClient, BrokerManager, create_broker_client, create_broker_manager
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
    Message,
    MessageExt,
    MessageQueue,
    PullResult,
    PullStatus,
    SendResult,
    SendStatus,
    TransactionState,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncBrokerClient",
    "AsyncBrokerManager",
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
    "InvalidArgumentError",
    "Message",
    "MessageExt",
    "MessagePullError",
    "MessageQueue",
    "OffsetError",
    "PullResult",
    "PullStatus",
    "SendResult",
    "SendStatus",
    "TransactionState",
    "create_async_broker_client",
    "create_async_broker_manager",
    "create_broker_client",
    "create_broker_manager",
    "disable_logging",
    "enable_logging",
    "library_path",
]
