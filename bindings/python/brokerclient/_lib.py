"""Loads ``libbrokerclient.so`` and declares the C prototypes the package uses.

ctypes (standard library) rather than cffi: the C ABI is opaque handles, integers, strings
and plain callbacks, which ctypes describes exactly; it needs no compiler and no build-time
dependency, so ``pip install`` is a pure-Python install. ctypes releases the GIL around every
foreign call, so blocking ``bc_*`` calls do not stall other Python threads.

The library is looked for, in order: the ``BROKERCLIENT_LIB`` environment variable (a path),
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
    c_void_p,
)
from pathlib import Path
from typing import List

__all__ = ["lib", "library_path", "MessageView"]

status_t = c_int32
err_pp = POINTER(c_void_p)  # bc_error **


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


# Callback types. Pointers arrive as plain integers (c_void_p) so the Python side decides
# what to read before the borrowed object goes away.
DONE_CB = CFUNCTYPE(None, c_void_p, c_int32, c_void_p)
SEND_CB = CFUNCTYPE(None, c_void_p, c_int32, c_void_p, c_void_p)
PULL_CB = CFUNCTYPE(None, c_void_p, c_int32, c_void_p, c_void_p)
INT64_CB = CFUNCTYPE(None, c_void_p, c_int32, c_void_p, c_int64)
STR_CB = CFUNCTYPE(None, c_void_p, c_int32, c_void_p, c_char_p)  # bc_json_cb / bc_string_cb
LOG_CB = CFUNCTYPE(None, c_void_p, c_int32, c_char_p, c_char_p, c_char_p)

_H = c_void_p  # every opaque handle
_S = c_char_p
_I32 = c_int32
_I64 = c_int64
_OUT_H = POINTER(c_void_p)
_OUT_I64 = POINTER(c_int64)

# name: (restype, argtypes). Every fallible function ends with bc_error **err_out.
_PROTOTYPES = {
    "bc_version": (c_uint32, []),
    "bc_version_str": (_S, []),
    "bc_status_name": (_S, [_I32]),
    "bc_status_str": (_S, [_I32]),
    "bc_string_free": (None, [c_void_p]),
    # errors
    "bc_error_code": (status_t, [_H]),
    "bc_error_message": (_S, [_H]),
    "bc_error_response_code": (_I32, [_H]),
    "bc_error_remark": (_S, [_H]),
    "bc_error_broker_addr": (_S, [_H]),
    "bc_error_is_retriable": (c_bool, [_H]),
    "bc_error_is_fatal": (c_bool, [_H]),
    "bc_error_free": (None, [_H]),
    # config
    "bc_config_new": (status_t, [_OUT_H, err_pp]),
    "bc_config_set": (status_t, [_H, _S, _S, err_pp]),
    "bc_config_free": (None, [_H]),
    # queue
    "bc_queue_new": (status_t, [_OUT_H, err_pp]),
    "bc_queue_fd": (_I32, [_H]),
    "bc_queue_dispatch": (c_size_t, [_H, c_size_t]),
    "bc_queue_len": (c_size_t, [_H]),
    "bc_queue_free": (None, [_H]),
    # cancel tokens
    "bc_cancel_token_new": (status_t, [_OUT_H, err_pp]),
    "bc_cancel_token_cancel": (None, [_H]),
    "bc_cancel_token_free": (None, [_H]),
    # messages
    "bc_message_new": (status_t, [_S, c_void_p, c_size_t, _OUT_H, err_pp]),
    "bc_message_set_tags": (status_t, [_H, _S, err_pp]),
    "bc_message_set_keys": (status_t, [_H, _S, err_pp]),
    "bc_message_set_property": (status_t, [_H, _S, _S, err_pp]),
    "bc_message_set_delay_level": (status_t, [_H, _I32, err_pp]),
    "bc_message_set_flag": (status_t, [_H, _I32, err_pp]),
    "bc_message_set_transactional": (status_t, [_H, err_pp]),
    "bc_message_free": (None, [_H]),
    # results
    "bc_send_result_status": (_I32, [_H]),
    "bc_send_result_msg_id": (_S, [_H]),
    "bc_send_result_offset_msg_id": (_S, [_H]),
    "bc_send_result_transaction_id": (_S, [_H]),
    "bc_send_result_queue_id": (_I32, [_H]),
    "bc_send_result_queue_offset": (_I64, [_H]),
    "bc_send_result_free": (None, [_H]),
    "bc_batch_status": (_I32, [_H]),
    "bc_batch_next_offset": (_I64, [_H]),
    "bc_batch_min_offset": (_I64, [_H]),
    "bc_batch_max_offset": (_I64, [_H]),
    "bc_batch_len": (c_size_t, [_H]),
    "bc_batch_get": (status_t, [_H, c_size_t, POINTER(MessageView), err_pp]),
    "bc_batch_free": (None, [_H]),
    # logging
    "bc_set_log_callback": (status_t, [_I32, LOG_CB, c_void_p, c_void_p, err_pp]),
    # client
    "bc_client_new": (status_t, [_S, _H, _H, _OUT_H, err_pp]),
    "bc_client_close": (status_t, [_H, _I32, err_pp]),
    "bc_client_free": (None, [_H]),
    "bc_client_connect": (status_t, [_H, err_pp]),
    "bc_client_connect_async": (status_t, [_H, DONE_CB, c_void_p, err_pp]),
    "bc_client_disconnect": (None, [_H]),
    "bc_client_is_connected": (c_bool, [_H]),
    "bc_client_send": (status_t, [_H, _S, _I32, _H, _OUT_H, err_pp]),
    "bc_client_send_async_with_cancel": (
        status_t,
        [_H, _S, _I32, _H, _H, SEND_CB, c_void_p, err_pp],
    ),
    "bc_client_send_oneway": (status_t, [_H, _S, _I32, _H, err_pp]),
    "bc_client_send_oneway_async": (status_t, [_H, _S, _I32, _H, DONE_CB, c_void_p, err_pp]),
    "bc_client_send_batch": (status_t, [_H, _S, _I32, c_void_p, c_size_t, _OUT_H, err_pp]),
    "bc_client_send_batch_async": (
        status_t,
        [_H, _S, _I32, c_void_p, c_size_t, SEND_CB, c_void_p, err_pp],
    ),
    "bc_client_send_batch_oneway": (status_t, [_H, _S, _I32, c_void_p, c_size_t, err_pp]),
    "bc_client_send_batch_oneway_async": (
        status_t,
        [_H, _S, _I32, c_void_p, c_size_t, DONE_CB, c_void_p, err_pp],
    ),
    "bc_client_pull": (
        status_t,
        [_H, _S, _S, _I32, _I64, _I32, _I32, _S, _OUT_H, err_pp],
    ),
    "bc_client_pull_async_with_cancel": (
        status_t,
        [_H, _S, _S, _I32, _I64, _I32, _I32, _S, _H, PULL_CB, c_void_p, err_pp],
    ),
    "bc_client_get_max_offset": (status_t, [_H, _S, _I32, _OUT_I64, err_pp]),
    "bc_client_get_max_offset_async": (status_t, [_H, _S, _I32, INT64_CB, c_void_p, err_pp]),
    "bc_client_search_offset_by_timestamp": (
        status_t,
        [_H, _S, _I32, _I64, _I32, _OUT_I64, err_pp],
    ),
    "bc_client_search_offset_by_timestamp_async": (
        status_t,
        [_H, _S, _I32, _I64, _I32, INT64_CB, c_void_p, err_pp],
    ),
    "bc_client_query_consumer_offset": (status_t, [_H, _S, _S, _I32, _OUT_I64, err_pp]),
    "bc_client_query_consumer_offset_async": (
        status_t,
        [_H, _S, _S, _I32, INT64_CB, c_void_p, err_pp],
    ),
    "bc_client_update_consumer_offset": (status_t, [_H, _S, _S, _I32, _I64, err_pp]),
    "bc_client_update_consumer_offset_async": (
        status_t,
        [_H, _S, _S, _I32, _I64, DONE_CB, c_void_p, err_pp],
    ),
    "bc_client_create_topic": (status_t, [_H, _S, _I32, err_pp]),
    "bc_client_create_topic_async": (status_t, [_H, _S, _I32, DONE_CB, c_void_p, err_pp]),
    "bc_client_heartbeat": (status_t, [_H, _S, _S, err_pp]),
    "bc_client_heartbeat_async": (status_t, [_H, _S, _S, DONE_CB, c_void_p, err_pp]),
    "bc_client_end_transaction": (status_t, [_H, _S, _S, _S, _I64, _S, _I32, err_pp]),
    "bc_client_end_transaction_async": (
        status_t,
        [_H, _S, _S, _S, _I64, _S, _I32, DONE_CB, c_void_p, err_pp],
    ),
    # manager
    "bc_manager_new": (status_t, [_H, _H, _OUT_H, err_pp]),
    "bc_manager_new_from_name_servers": (status_t, [_S, _H, _H, _OUT_H, err_pp]),
    "bc_manager_start": (status_t, [_H, err_pp]),
    "bc_manager_start_async": (status_t, [_H, DONE_CB, c_void_p, err_pp]),
    "bc_manager_close": (status_t, [_H, _I32, err_pp]),
    "bc_manager_free": (None, [_H]),
    "bc_manager_add_broker": (status_t, [_H, _S, _OUT_H, err_pp]),
    "bc_manager_add_broker_async": (status_t, [_H, _S, STR_CB, c_void_p, err_pp]),
    "bc_manager_remove_broker": (status_t, [_H, _S, _I32, err_pp]),
    "bc_manager_remove_broker_async": (status_t, [_H, _S, _I32, DONE_CB, c_void_p, err_pp]),
    "bc_manager_send": (status_t, [_H, _S, _H, _OUT_H, err_pp]),
    "bc_manager_send_async_with_cancel": (
        status_t,
        [_H, _S, _H, _H, SEND_CB, c_void_p, err_pp],
    ),
    "bc_manager_send_batch": (status_t, [_H, _S, c_void_p, c_size_t, _OUT_H, err_pp]),
    "bc_manager_send_batch_async": (
        status_t,
        [_H, _S, c_void_p, c_size_t, SEND_CB, c_void_p, err_pp],
    ),
    "bc_manager_pull": (
        status_t,
        [_H, _S, _S, _S, _I32, _I64, _I32, _I32, _S, _OUT_H, err_pp],
    ),
    "bc_manager_pull_async_with_cancel": (
        status_t,
        [_H, _S, _S, _S, _I32, _I64, _I32, _I32, _S, _H, PULL_CB, c_void_p, err_pp],
    ),
    "bc_manager_query_consumer_offset": (
        status_t,
        [_H, _S, _S, _S, _I32, _OUT_I64, err_pp],
    ),
    "bc_manager_query_consumer_offset_async": (
        status_t,
        [_H, _S, _S, _S, _I32, INT64_CB, c_void_p, err_pp],
    ),
    "bc_manager_get_max_offset": (status_t, [_H, _S, _S, _I32, _OUT_I64, err_pp]),
    "bc_manager_get_max_offset_async": (
        status_t,
        [_H, _S, _S, _I32, INT64_CB, c_void_p, err_pp],
    ),
    "bc_manager_update_consumer_offset": (status_t, [_H, _S, _S, _S, _I32, _I64, err_pp]),
    "bc_manager_update_consumer_offset_async": (
        status_t,
        [_H, _S, _S, _S, _I32, _I64, DONE_CB, c_void_p, err_pp],
    ),
    "bc_manager_heartbeat": (status_t, [_H, _S, _S, err_pp]),
    "bc_manager_heartbeat_async": (status_t, [_H, _S, _S, DONE_CB, c_void_p, err_pp]),
    "bc_manager_broker_state": (_I32, [_H, _S]),
    "bc_manager_brokers": (status_t, [_H, _OUT_H, err_pp]),
}


def _candidates() -> List[str]:
    found = []
    env = os.environ.get("BROKERCLIENT_LIB")
    if env:
        return [env]  # an explicit choice is never second-guessed
    # bindings/python/brokerclient/_lib.py -> repository root is three levels up.
    # The newest build first: a stale release build must not shadow a fresh debug one.
    root = Path(__file__).resolve().parents[3]
    builds = [root / "target" / p / "libbrokerclient.so" for p in ("release", "debug")]
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
        "libbrokerclient.so not found: set BROKERCLIENT_LIB to its path, build the "
        "repository (cargo build --release) or install the library"
        + (" (" + "; ".join(errors) + ")" if errors else "")
    )


lib, library_path = _load()
for _name, (_res, _args) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
