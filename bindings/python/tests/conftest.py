"""Shared fixtures: the real broker's addresses (BC_BROKER_ADDR, BC_NAMESRV_ADDR), unique
names, a fresh topic. Tests fail, never skip, when the broker is absent."""

from __future__ import annotations

import itertools
import os
import time
from typing import Iterator

import pytest

import brokerclient as bc

_seq = itertools.count()


def broker_addr() -> str:
    return os.environ.get("BC_BROKER_ADDR", "127.0.0.1:10911")


def namesrv_addr() -> str:
    return os.environ.get("BC_NAMESRV_ADDR", "127.0.0.1:9876")


def unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{time.time_ns() % 10**10}_{next(_seq)}"


@pytest.fixture
def client() -> Iterator[bc.BrokerClient]:
    with bc.BrokerClient(broker_addr(), timeout=10) as c:
        yield c


@pytest.fixture
def topic(client: bc.BrokerClient) -> str:
    """A topic created on the test broker (4 queues)."""
    name = unique("py_topic")
    client.create_topic(name, 4)
    return name
