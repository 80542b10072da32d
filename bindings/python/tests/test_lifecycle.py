"""Process life: interpreter exit with operations in flight, fork, logging, error mapping."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

import brokerclient as bc
from brokerclient import _log, errors
from conftest import broker_addr

_EXIT_SCRIPT = r"""
import asyncio, sys, threading
import brokerclient as bc

addr, topic, mode = sys.argv[1], sys.argv[2], sys.argv[3]
mq = bc.MessageQueue(topic, queue_id=0)

def blocked_sync_pull():
    c = bc.BrokerClient(addr, timeout=60)
    started.set()
    try:
        c.pull_message("py_cg", topic, 1, 0, 8, suspend_timeout=50.0)
    except bc.BrokerCancelledError:
        pass  # expected when exit closes the client under it

async def submit(c):
    await c.connect()
    for i in range(500):
        asyncio.ensure_future(c.sync_send_message("py_pg", b"bye", mq))
    for _ in range(50):
        asyncio.ensure_future(c.pull_message("py_cg", topic, 2, 0, 8, suspend_timeout=50.0))
    await asyncio.sleep(0)  # let every task submit, then leave them in flight

started = threading.Event()
threading.Thread(target=blocked_sync_pull, daemon=True).start()
started.wait()
c = bc.AsyncBrokerClient(addr, timeout=60)
if mode == "asyncio.run":
    asyncio.run(submit(c))          # run() cancels the leftover tasks and closes the loop
else:
    loop = asyncio.new_event_loop()  # a loop that is never closed
    loop.run_until_complete(submit(c))
print("leaving with operations in flight", flush=True)
"""


@pytest.mark.parametrize("mode", ["asyncio.run", "open-loop"])
def test_interpreter_exit_with_operations_in_flight(topic: str, mode: str) -> None:
    p = subprocess.run(
        [sys.executable, "-c", _EXIT_SCRIPT, broker_addr(), topic, mode],
        capture_output=True,
        text=True,
        timeout=40,  # the pulls in flight would hold for 50 s: exit must not wait for them
        env=dict(os.environ),
    )
    assert p.returncode == 0, p.stderr
    assert "leaving with operations in flight" in p.stdout
    assert "Traceback" not in p.stderr and "Fatal" not in p.stderr, p.stderr


def test_fork_child_refuses_inherited_clients_and_makes_new_ones(
    client: bc.BrokerClient, topic: str
) -> None:
    """The pre-fork worker pattern: the inherited client raises BrokerForkedError, a client
    made in the child works (its own runtime in the library)."""
    mq = bc.MessageQueue(topic, queue_id=0)
    client.sync_send_message("py_pg", b"before fork", mq)
    pid = os.fork()
    if pid == 0:  # child: report through the exit code only
        code = 10
        try:
            client.get_max_offset(topic, 0)
        except bc.BrokerForkedError as e:
            code = 0 if e.status == errors.FORKED and isinstance(e, bc.BrokerError) else 11
        except BaseException:
            code = 12
        if code == 0:
            try:
                with bc.BrokerClient(broker_addr(), timeout=10) as own:
                    own.sync_send_message("py_pg", b"from the child", mq)
                    code = 0 if _max_offset_reaches(own, topic, 2) else 14
            except BaseException:
                code = 13
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _max_offset_reaches(client, topic, 2)  # the parent is unaffected, and sees it


def _max_offset_reaches(c: bc.BrokerClient, topic: str, n: int) -> bool:
    """The broker answers a send once it is in the commit log and builds the consume queue
    right after: poll (bounded) until queue 0 holds ``n`` messages."""
    deadline = time.monotonic() + 10
    while c.get_max_offset(topic, 0) < n:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return c.get_max_offset(topic, 0) == n


def test_logs_reach_python_logging_with_fields(caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="brokerclient")
    bc.enable_logging(logging.DEBUG)
    try:
        with bc.BrokerClient(broker_addr()) as c:
            assert c.is_connected
    finally:
        bc.disable_logging()
    with_addr = [r for r in caplog.records if getattr(r, "addr", None) == broker_addr()]
    assert with_addr, [(r.getMessage(), r.__dict__.get("target")) for r in caplog.records]
    assert all(getattr(r, "target", "").startswith("brokerclient") for r in with_addr)


def test_parse_fields_quotes_and_reserved_names() -> None:
    got = _log.parse_fields('addr=1.2.3.4:5 msg="a b=c" opaque=7')
    assert got == {"addr": "1.2.3.4:5", "bc_msg": "a b=c", "opaque": "7"}


def test_status_mapping_covers_the_seed_hierarchy() -> None:
    cases = {
        errors.CONNECTION: bc.BrokerConnectionError,
        errors.TIMEOUT: bc.BrokerTimeoutError,
        errors.PROTOCOL: bc.BrokerProtocolError,
        errors.BROKER_RESPONSE: bc.BrokerResponseError,
        errors.AUTHORIZATION: bc.AuthorizationError,
        errors.BROKER_BUSY: bc.BrokerBusyError,
        errors.PULL: bc.MessagePullError,
        errors.OFFSET: bc.OffsetError,
        errors.BROKER_SYSTEM: bc.BrokerSystemError,
        errors.FORKED: bc.BrokerForkedError,
        errors.CANCELLED: bc.BrokerCancelledError,
        12345: bc.BrokerError,
    }
    for status, cls in cases.items():
        e = errors.from_error(status, None)
        assert type(e) is cls and isinstance(e, bc.BrokerError) and e.status == status
    assert errors.from_error(errors.TIMEOUT, None).status_name == "BC_ERR_TIMEOUT"


def test_package_is_typed_and_documented() -> None:
    import importlib.resources

    assert importlib.resources.files("brokerclient").joinpath("py.typed").is_file()
    for name in bc.__all__:
        obj = getattr(bc, name)
        assert callable(obj) or isinstance(obj, str)
    for cls in (bc.BrokerClient, bc.AsyncBrokerClient, bc.BrokerManager, bc.AsyncBrokerManager):
        for meth in ("pull_message", "send_heartbeat", "get_max_offset"):
            assert getattr(cls, meth).__doc__, (cls, meth)
    assert textwrap.dedent(bc.library_path)
