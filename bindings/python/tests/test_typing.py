"""The typing sample (checked by ``mypy --strict`` in scripts/python-tests.sh) also runs
against the broker, so it is a working program, not only a well-typed one."""

from __future__ import annotations

import brokerclient as bc
import typing_sample
from conftest import broker_addr, namesrv_addr, unique


def test_typing_sample_runs() -> None:
    topic = unique("py_typing")
    with bc.create_broker_client(broker_addr(), 10.0) as c:
        c.create_topic(topic, 4)
    assert typing_sample.main(broker_addr(), namesrv_addr(), topic) > 10
