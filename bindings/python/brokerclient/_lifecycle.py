"""Process-wide bookkeeping: live handles are closed at interpreter exit, forgotten after fork.

At exit every client and manager still open is closed with no grace period (operations in
flight complete with ``BrokerCancelledError``), before the interpreter tears down the objects
their callbacks would touch; so exit never waits on the network and no library thread calls
into a finalising interpreter. In a forked child the parent's objects refuse every call
(``BrokerForkedError``) and are dropped from the registry there; objects the child creates
work (the library gives the child its own runtime) and are the child's to close at its exit.
"""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Callable, List, Protocol


class Closable(Protocol):
    """What the registry holds: an object that closes itself without waiting."""

    def _shutdown_now(self) -> None: ...


_live: "weakref.WeakSet[Closable]" = weakref.WeakSet()
_exit_hooks: List[Callable[[], None]] = []
_first_hooks: List[Callable[[], None]] = []
_parent_pid = os.getpid()


def register(obj: Closable) -> None:
    """``obj`` has ``_shutdown_now()`` which closes it without waiting."""
    _live.add(obj)


def unregister(obj: Closable) -> None:
    _live.discard(obj)


def on_exit(hook: Callable[[], None]) -> None:
    """Runs after every live handle was closed (the async module frees its queues here)."""
    _exit_hooks.append(hook)


def on_exit_first(hook: Callable[[], None]) -> None:
    """Runs before any handle is closed (logging is switched off here)."""
    _first_hooks.append(hook)


def in_forked_child() -> bool:
    """True in a child forked after this module was loaded, until the fork handler below
    ran (it makes the child the owner of what it creates from then on)."""
    return os.getpid() != _parent_pid


def _at_exit() -> None:
    if in_forked_child():
        return
    for hook in _first_hooks:
        try:
            hook()
        except Exception:
            pass
    for obj in list(_live):
        try:
            obj._shutdown_now()
        except Exception:  # exit must go on; nothing useful to raise to
            pass
    for hook in _exit_hooks:
        try:
            hook()
        except Exception:
            pass


def _after_fork_in_child() -> None:
    global _parent_pid
    _live.clear()
    # Inherited handles are freed by the library without being touched (it returns at once),
    # so finalisers may run here as in any process.
    _parent_pid = os.getpid()


atexit.register(_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
