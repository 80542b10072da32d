"""Loads ``libbrokerclient.so`` and declares the C prototypes the package uses.

ctypes (standard library) rather than cffi: the C ABI is opaque handles, integers, strings
and plain callbacks, which ctypes describes exactly; it needs no compiler and no build-time
dependency, so ``pip install`` is a pure-Python install. ctypes releases the GIL around every
foreign call, so blocking ``bc_*`` calls do not stall other Python threads.

The library is looked for, in order: the ``BROKERCLIENT_LIB`` environment variable (a path,
an override), the copy inside the installed package (``pip install`` builds and ships it),
the repository's ``target/release`` or ``target/debug``, the newer first (when the package
runs from a checkout), then the system loader (``ctypes.util.find_library("brokerclient")``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_bool,
    c_char_p,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Dict, List, Optional

from ._prototypes import CALLBACKS, PROTOTYPES

__all__ = ["lib", "library_path", "MessageView"]

_LIB_FILE = "libbrokerclient.so"



class MessageView(ctypes.Structure):
    """``bc_message_view``: size-prefixed, filled by ``bc_batch_get``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("body", POINTER(c_uint8)),
        ("body_len", c_size_t),
        ("topic", c_char_p),
        ("tags", c_char_p),
        ("keys", c_char_p),
        ("msg_id", c_char_p),
        ("offset_msg_id", c_char_p),
        ("queue_id", c_int32),
        ("flag", c_int32),
        ("queue_offset", c_int64),
        ("commit_log_offset", c_int64),
        ("born_timestamp", c_int64),
        ("store_timestamp", c_int64),
        ("reconsume_times", c_int32),
    ]


# Callback types, from the header's typedefs (CALLBACKS). Pointers arrive as plain integers
# (c_void_p) so the Python side decides what to read before the borrowed object goes away.
_SCALAR: Dict[str, Optional[type]] = {
    "void": None,
    "i32": c_int32,
    "i64": c_int64,
    "u32": c_uint32,
    "u64": c_uint64,
    "size": c_size_t,
    "bool": c_bool,
    "str": c_char_p,
    "ptr": c_void_p,
    "handle": c_void_p,  # every opaque handle
}
CALLBACK_TYPES: Dict[str, type] = {
    # (ctypes' stubs cannot type a signature read from a table)
    name: CFUNCTYPE(_SCALAR[ret], *[_SCALAR[a] for a in args])  # type: ignore[arg-type]
    for name, (ret, args) in CALLBACKS.items()
}
DONE_CB = CALLBACK_TYPES["bc_done_cb"]
SEND_CB = CALLBACK_TYPES["bc_send_cb"]
PULL_CB = CALLBACK_TYPES["bc_pull_cb"]
INT64_CB = CALLBACK_TYPES["bc_int64_cb"]
STR_CB = CALLBACK_TYPES["bc_json_cb"]  # bc_json_cb / bc_string_cb (the same shape)
LOG_CB = CALLBACK_TYPES["bc_log_cb"]
TXCHECK_CB = CALLBACK_TYPES["bc_transaction_check_cb"]
FREE_CB = CALLBACK_TYPES["bc_free_cb"]
NOTIFY_CB = CALLBACK_TYPES["bc_notify_cb"]
WAKEUP_CB = CFUNCTYPE(None, c_void_p)  # bc_queue_set_wakeup's void (*)(void *)

# The vocabulary of _prototypes.py (generated from the header) in ctypes.
_CTYPES: Dict[str, Optional[type]] = {
    **_SCALAR,
    "out_ptr": POINTER(c_void_p),  # T ** (handles, owned strings, bc_error **err_out)
    "out_str": POINTER(c_char_p),
    "out_i64": POINTER(c_int64),
    "out_size": POINTER(c_size_t),
    "view": POINTER(MessageView),
    "cb_wakeup": WAKEUP_CB,
    **{"cb:" + name: t for name, t in CALLBACK_TYPES.items()},
}


def _candidates() -> List[str]:
    env = os.environ.get("BROKERCLIENT_LIB")
    if env:
        return [env]  # an explicit choice is never second-guessed
    found: List[str] = []
    # The copy the wheel ships (pip install ./bindings/python builds it into the package).
    packaged = Path(__file__).resolve().parent / _LIB_FILE
    if packaged.is_file():
        found.append(str(packaged))
    # Running from a checkout (bindings/python/brokerclient/_lib.py: the repository root is
    # three levels up): the newest build first, a stale release must not shadow a fresh debug.
    root = Path(__file__).resolve().parents[3]
    if (root / "Cargo.toml").is_file():
        builds = [root / "target" / p / _LIB_FILE for p in ("release", "debug")]
        builds = sorted((p for p in builds if p.is_file()), key=lambda p: -p.stat().st_mtime)
        found.extend(str(p) for p in builds)
    system = ctypes.util.find_library("brokerclient")
    if system:
        found.append(system)
    return found


def _load() -> "tuple[ctypes.CDLL, str]":
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError(
        "libbrokerclient.so not found: reinstall the package (pip install ./bindings/python "
        "builds it into the package), set BROKERCLIENT_LIB to its path, or install the library"
        + (" (" + "; ".join(errors) + ")" if errors else "")
    )


lib, library_path = _load()
for _name, (_res, _args) in PROTOTYPES.items():
    # A function the loaded library lacks (an older build under BROKERCLIENT_LIB) fails only
    # when called; tests/test_prototypes.py checks the packaged library has every one.
    _fn = getattr(lib, _name, None)
    if _fn is None:
        continue
    _fn.restype = _CTYPES[_res]
    _fn.argtypes = [_CTYPES[a] for a in _args]
