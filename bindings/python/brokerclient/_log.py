"""Routes the library's log events to Python's ``logging``.

Off by default (the library logs nothing without a callback). :func:`enable_logging` installs
one: each event becomes a record of the ``brokerclient`` logger (or the one given) whose
``extra`` holds the event's structured fields (``addr``, ``opaque``, ...) plus ``target``.

Unlike async completions, log events are emitted on the thread that produced them, library
threads included, so this callback takes the GIL there; that is why logging is opt-in, and
why it is removed at interpreter exit before the library is closed down.
"""

from __future__ import annotations

import logging
import shlex
from typing import Dict, Optional

from . import _lifecycle
from ._lib import FREE_CB, LOG_CB, lib
from ._native import call

__all__ = ["enable_logging", "disable_logging", "parse_fields"]

_PY_LEVEL = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG, 5: 5}
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_state: Dict[str, object] = {}


def _bc_level(level: int) -> int:
    if level >= logging.ERROR:
        return 1
    if level >= logging.WARNING:
        return 2
    if level >= logging.INFO:
        return 3
    if level >= logging.DEBUG:
        return 4
    return 5


def parse_fields(fields: str) -> Dict[str, str]:
    """``'addr=127.0.0.1:10911 msg="a b"'`` -> ``{"addr": ..., "msg": "a b"}``. A key that
    would clash with a ``LogRecord`` attribute gets a ``bc_`` prefix."""
    out: Dict[str, str] = {}
    try:
        parts = shlex.split(fields, posix=True)
    except ValueError:  # never lose the event over a field we cannot split
        parts = fields.split(" ")
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep:
            continue
        out["bc_" + key if key in _RESERVED else key] = value
    return out


def enable_logging(level: int = logging.INFO, logger: Optional[logging.Logger] = None) -> None:
    """Sends the library's events at ``level`` or more severe to ``logger``."""
    target_logger = logger or logging.getLogger("brokerclient")

    def on_log_py(_ud: object, lvl: int, target: bytes, message: bytes, fields: bytes) -> None:
        try:
            extra = parse_fields(fields.decode("utf-8", "replace")) if fields else {}
            extra["target"] = target.decode("utf-8", "replace") if target else ""
            target_logger.log(
                _PY_LEVEL.get(lvl, logging.INFO),
                message.decode("utf-8", "replace") if message else "",
                extra=extra,
            )
        except BaseException:  # nothing may unwind into the library
            pass

    on_log = LOG_CB(on_log_py)
    call(lib.bc_set_log_callback, _bc_level(level), on_log, None, FREE_CB())
    # The old callback (if any) is no longer running once the call returned: drop it only now.
    _state["cb"] = on_log


def disable_logging() -> None:
    """Removes the callback; when this returns it runs nowhere any more."""
    call(lib.bc_set_log_callback, 0, LOG_CB(), None, FREE_CB())
    _state.pop("cb", None)


def _disable_at_exit() -> None:
    if "cb" in _state:
        disable_logging()


_lifecycle.on_exit_first(_disable_at_exit)
