"""pyrocketmq's ``RemoteConfig`` and ``TransportConfig``, translated to library config keys.

Units follow the seed document: ``RemoteConfig(connect_timeout=5000.0,
request_timeout=30000.0)`` are **milliseconds**; the ``timeout`` arguments of the clients and
``create_*`` functions are **seconds** (``create_broker_client(addr, 10.0)``). pyrocketmq's
own ``rpc_timeout`` (seconds) wins over ``request_timeout`` when given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Union

__all__ = ["OptionValue", "RemoteConfig", "TransportConfig", "library_options"]

OptionValue = Union[str, int, float, bool]


def _ms(v: float) -> str:
    return str(max(1, int(round(v))))


def _text(v: OptionValue) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


@dataclass
class RemoteConfig:
    """Remote (request/response) settings; times in milliseconds.

    Mapped: ``connect_timeout`` -> ``connect.timeout.ms``, ``request_timeout`` (or
    ``rpc_timeout`` seconds) -> ``request.timeout.ms``, ``max_waiters`` -> ``max.in.flight``,
    ``connection_pool_size`` -> ``pool.size`` (managers), ``options`` -> any library key.
    Accepted for pyrocketmq compatibility with no effect here (the native core manages
    them): ``idle_timeout``, ``opaque_start``, ``cleanup_interval``, ``waiter_timeout``,
    ``enable_metrics``, ``connection_pool_timeout``, ``connection_max_lifetime``.
    """

    connect_timeout: float = 5000.0
    request_timeout: float = 30000.0
    idle_timeout: float = 60000.0
    rpc_timeout: Optional[float] = None
    max_waiters: int = 4096
    connection_pool_size: Optional[int] = None
    opaque_start: int = 0
    cleanup_interval: float = 60.0
    waiter_timeout: float = 300.0
    enable_metrics: bool = True
    connection_pool_timeout: float = 10.0
    connection_max_lifetime: float = 60.0
    options: Dict[str, OptionValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "request_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be greater than 0")
        if self.rpc_timeout is not None and self.rpc_timeout <= 0:
            raise ValueError("rpc_timeout must be greater than 0")
        if self.max_waiters <= 0:
            raise ValueError("max_waiters must be greater than 0")
        if self.connection_pool_size is not None and self.connection_pool_size <= 0:
            raise ValueError("connection_pool_size must be greater than 0")

    @property
    def request_timeout_seconds(self) -> float:
        return self.rpc_timeout if self.rpc_timeout is not None else self.request_timeout / 1000.0

    def to_options(self) -> Dict[str, str]:
        """The library config keys this config stands for."""
        out = {
            "connect.timeout.ms": _ms(self.connect_timeout),
            "request.timeout.ms": _ms(self.request_timeout_seconds * 1000.0),
            "max.in.flight": str(self.max_waiters),
        }
        if self.connection_pool_size is not None:
            out["pool.size"] = str(self.connection_pool_size)
        out.update({k: _text(v) for k, v in self.options.items()})
        return out


@dataclass
class TransportConfig:
    """Transport (socket) settings: the broker's ``host`` and ``port`` (the seed builds it
    with ``TransportConfig(host=host, port=port)``, the port possibly a string),
    ``connect_timeout`` (ms, overrides the remote config's) and ``options`` (library keys,
    e.g. ``tls.*``)."""

    host: str = "localhost"
    port: Union[int, str] = 10911
    connect_timeout: Optional[float] = None
    options: Dict[str, OptionValue] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.host}:{int(self.port)}"

    def to_options(self) -> Dict[str, str]:
        out: Dict[str, str] = {}
        if self.connect_timeout is not None:
            out["connect.timeout.ms"] = _ms(self.connect_timeout)
        out.update({k: _text(v) for k, v in self.options.items()})
        return out


def library_options(
    remote_config: Optional[RemoteConfig] = None,
    transport_config: Optional[TransportConfig] = None,
    timeout: Optional[float] = None,
    options: Optional[Dict[str, OptionValue]] = None,
) -> Dict[str, str]:
    """Merges everything into library keys; later sources win: remote config, transport
    config, ``timeout`` (seconds), explicit ``options``."""
    out: Dict[str, str] = {}
    if remote_config is not None:
        out.update(remote_config.to_options())
    if transport_config is not None:
        out.update(transport_config.to_options())
    if timeout is not None:
        if timeout <= 0:
            raise ValueError("timeout must be greater than 0")
        out["request.timeout.ms"] = _ms(timeout * 1000.0)
    if options:
        out.update({k: _text(v) for k, v in options.items()})
    return out
