"""Every method of AsyncBrokerClient and AsyncBrokerManager against the real broker, and
cancellation: each awaitable resolves once, late completions are absorbed, nothing leaks."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable

import pytest

import brokerclient as bc
from brokerclient import aio
from conftest import broker_addr, namesrv_addr, unique


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def until(what: str, cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Yields to the loop (which dispatches completions) until ``cond`` holds."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.005)


def test_async_client_every_method(topic: str) -> None:
    async def main() -> None:
        async with bc.create_async_broker_client(broker_addr(), timeout=10) as c:
            assert asyncio.iscoroutinefunction(c.sync_send_message)
            assert c.is_connected
            mq = bc.MessageQueue(topic, queue_id=0)
            before = int(time.time() * 1000) - 1
            r = await c.sync_send_message("py_pg", b"a1", mq, {"p": "1"}, tags="T")
            assert r.status == bc.SendStatus.SEND_OK and r.queue_offset == 0
            await c.oneway_send_message("py_pg", b"a2", mq)
            rb = await c.sync_batch_send_message("py_pg", [b"a3", b"a4"], mq)
            assert rb.status == bc.SendStatus.SEND_OK
            await c.oneway_batch_send_message("py_pg", [b"a5"], mq)
            await c.sync_send_message("py_pg", b"a6", mq)
            # Oneway sends complete once written and the broker stores requests on several
            # threads: poll (bounded) until all six are stored.
            deadline = time.monotonic() + 10
            while True:
                pulled = await c.pull_message("py_cg", topic, 0, 0, 32)
                bodies = [m.body for m in pulled.messages]
                if len(bodies) >= 6 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            # A oneway send is not waited for, so the broker may store the next request first;
            # every message is there and a batch keeps its order.
            assert sorted(bodies) == [b"a1", b"a2", b"a3", b"a4", b"a5", b"a6"]
            assert bodies.index(b"a4") == bodies.index(b"a3") + 1
            assert pulled.messages[0].tags == "T"
            assert await c.get_max_offset(topic, 0) == 6
            assert await c.search_offset_by_timestamp(topic, 0, before) == 0
            group = unique("py_cg")
            await c.send_heartbeat(consumer_group=group)
            await c.update_consumer_offset(group, topic, 0, 4)
            assert await c.query_consumer_offset(group, topic, 0) == 4

            pg = unique("py_tx_pg")
            half = await c.sync_send_message(
                pg, bc.Message(topic, b"half", transactional=True), bc.MessageQueue(topic, queue_id=1)
            )
            await c.end_transaction(
                pg, half.msg_id, half.offset_msg_id, half.queue_offset, half.transaction_id,
                bc.TransactionState.ROLLBACK,
            )
            with pytest.raises(bc.BrokerResponseError):
                await c.query_consumer_offset(unique("py_cg"), unique("py_missing"), 0)
            await c.disconnect()
            assert not c.is_connected
            await c.connect()
        assert aio.pending_count() == 0
        with pytest.raises(bc.BrokerClosedError):
            await c.get_max_offset(topic, 0)

    run(main())


def test_async_manager_every_method(topic: str) -> None:
    async def main() -> None:
        async with bc.create_async_broker_manager(namesrv_addr(), timeout=10) as m:
            assert await m.add_broker(broker_addr()) == broker_addr()
            assert broker_addr() in m.brokers()
            r = await m.sync_send_message("py_pg", bc.Message(topic, b"m1"))
            await m.sync_batch_send_message("py_pg", [bc.Message(topic, b"m2")])
            # The consume queue is built right after the broker answers a send: poll (bounded).
            deadline = time.monotonic() + 10
            while await m.get_max_offset(broker_addr(), topic, r.queue_id) <= r.queue_offset:
                assert time.monotonic() < deadline, "sent message never became visible"
            p = await m.pull_message(broker_addr(), "py_cg", topic, r.queue_id, r.queue_offset, 1)
            assert [x.body for x in p.messages] == [b"m1"]
            assert await m.get_max_offset(broker_addr(), topic, r.queue_id) > r.queue_offset
            group = unique("py_cg")
            await m.send_heartbeat(consumer_group=group)
            await m.update_consumer_offset(broker_addr(), group, topic, r.queue_id, 3)
            assert await m.query_consumer_offset(broker_addr(), group, topic, r.queue_id) == 3
            async with m.connection(broker_addr()) as conn:
                p2 = await conn.pull_message("py_cg", topic, r.queue_id, r.queue_offset, 1)
                assert [x.body for x in p2.messages] == [b"m1"]
            await m.remove_broker(broker_addr())
            assert m.brokers() == [] or broker_addr() not in m.brokers()
        assert aio.pending_count() == 0

    run(main())


def test_ten_thousand_sends_with_a_share_cancelled(topic: str, caplog: Any) -> None:
    caplog.set_level(logging.ERROR, logger="brokerclient")
    n = 10_000

    async def main() -> None:
        c = bc.AsyncBrokerClient(broker_addr(), timeout=30)
        await c.connect()
        queue = c._queue
        assert queue is not None
        tasks = [
            asyncio.ensure_future(
                c.sync_send_message("py_pg", b"x%d" % i, bc.MessageQueue(topic, queue_id=i % 4))
            )
            for i in range(n)
        ]
        await asyncio.sleep(0)  # one loop turn: every task submits its send
        # Admission: at most max.in.flight (4096) are accepted at once; the other coroutines
        # wait for room and submit as completions arrive.
        assert aio.pending_count() > 0
        cancelled = {i for i in range(0, n, 4) if tasks[i].cancel()}
        assert len(cancelled) > n // 5  # most of them were still in flight
        results = await asyncio.gather(*tasks, return_exceptions=True)
        sent = 0
        for i, res in enumerate(results):
            if i in cancelled:
                assert isinstance(res, asyncio.CancelledError), res
            else:
                assert isinstance(res, bc.SendResult), res
                sent += 1
        # The cancelled sends' completions (CANCELLED, or a late success) are absorbed.
        await until("late completions absorbed", lambda: aio.pending_count() == 0)
        assert queue.queued() == 0
        stored = 0
        for q in range(4):
            stored += await c.get_max_offset(topic, q)
        assert sent <= stored <= n
        await c.close()
        assert queue.h is None  # the loop's queue was freed with its last client

    run(main())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_cancelling_a_long_poll_cancels_the_pull(topic: str) -> None:
    async def main() -> None:
        async with bc.AsyncBrokerClient(broker_addr(), timeout=10) as c:
            task = asyncio.ensure_future(
                c.pull_message("py_cg", topic, 2, 0, 8, suspend_timeout=30.0)
            )
            await asyncio.sleep(0)  # let it submit
            assert aio.pending_count() == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The broker would hold the pull for 30 s; the cancel token ends it now.
            await until("pull cancelled in the library", lambda: aio.pending_count() == 0)
            # The client is still usable.
            assert await c.get_max_offset(topic, 2) == 0

    run(main())


def test_close_resolves_everything_in_flight(topic: str) -> None:
    async def main() -> None:
        c = bc.AsyncBrokerClient(broker_addr(), timeout=10)
        await c.connect()
        pulls = [
            asyncio.ensure_future(c.pull_message("py_cg", topic, 3, 0, 8, suspend_timeout=30.0))
            for _ in range(20)
        ]
        await asyncio.sleep(0)
        await c.close(timeout=0)
        results = await asyncio.gather(*pulls, return_exceptions=True)
        assert all(isinstance(r, bc.BrokerCancelledError) for r in results), results
        assert aio.pending_count() == 0

    run(main())
