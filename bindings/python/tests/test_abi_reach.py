"""The rest of the C ABI through Python, against the real broker: route and cluster info,
view message, min offset and store time, queue locks, send-back, the transaction-check
callback, properties of pulled messages, manager stats, a manager's pooled client, per-call
timeout handles, SQL92 pulls and pull requests with a commit offset."""

from __future__ import annotations

import asyncio
import queue
import time

import pytest

import brokerclient as bc
from conftest import broker_addr, namesrv_addr, unique


def _wait_visible(c: bc.BrokerClient, topic: str, queue_id: int, count: int) -> None:
    deadline = time.monotonic() + 20
    while c.get_max_offset(topic, queue_id) < count:  # a round trip per turn, no sleep
        assert time.monotonic() < deadline, f"{topic}:{queue_id} never reached {count}"


def test_name_server_route_and_cluster_info(topic: str) -> None:
    with bc.create_broker_client(namesrv_addr(), 10.0) as ns:
        # the topic was created on the broker; the broker registers it with the name server
        deadline = time.monotonic() + 60
        while True:
            try:
                route = ns.get_route_info(topic)
                break
            except bc.BrokerResponseError as e:
                assert e.response_code == 17 and time.monotonic() < deadline
                ns.get_cluster_info()  # a round trip between attempts
        brokers = route["brokerDatas"]
        assert isinstance(brokers, list) and brokers
        cluster = ns.get_cluster_info()
        assert "brokerAddrTable" in cluster
        with pytest.raises(bc.BrokerResponseError) as e:
            ns.get_route_info(unique("py_no_route"))
        assert e.value.response_code == 17 and e.value.topic is not None


def test_view_message_min_offset_store_time_and_properties(client: bc.BrokerClient, topic: str) -> None:
    mq = bc.MessageQueue(topic, queue_id=1)
    r = client.sync_send_message("py_pg", bc.Message(topic, b"viewed", tags="TV", keys="K V",
                                                     properties={"color": "blue"}), mq)
    _wait_visible(client, topic, 1, r.queue_offset + 1)
    m = client.view_message(r.offset_msg_id)
    assert (m.body, m.tags, m.topic, m.queue_offset) == (b"viewed", "TV", topic, r.queue_offset)
    assert m.properties["color"] == "blue" and m.get_property("KEYS") == "K V"
    [pulled] = client.pull_message("py_cg", topic, 1, r.queue_offset, 1).messages
    assert pulled.properties["color"] == "blue" and pulled.properties["UNIQ_KEY"] == r.msg_id
    assert client.get_min_offset(topic, 1) == 0
    t = client.get_earliest_msg_store_time(topic, 1)
    assert abs(t - pulled.store_timestamp) < 1000 * 60
    stats = client.stats()
    assert stats["connected"] is True and stats["bytes_out"] > 0
    assert stats["operations"]["send"]["ok"] >= 1 and stats["operations"]["view message"]["ok"] >= 1
    assert stats["operations"]["send"]["latency_us"]["count"] >= 1


def test_sql92_pull_and_pull_request_commit_offset(client: bc.BrokerClient, topic: str) -> None:
    mq = bc.MessageQueue(topic, queue_id=2)
    client.sync_send_message("py_pg", bc.Message(topic, b"cheap", properties={"price": "3"}), mq)
    last = client.sync_send_message("py_pg", bc.Message(topic, b"dear", properties={"price": "30"}), mq)
    _wait_visible(client, topic, 2, last.queue_offset + 1)
    group = unique("py_cg")
    client.send_heartbeat(consumer_group=group)
    r = client.pull_message(group, topic, 2, 0, 32, sub_expression="price > 10", expression_type="SQL92")
    assert [m.body for m in r.messages] == [b"dear"]
    # commit offset 1 with a pull (PullSysFlag 1): the broker stores it
    client.pull_message(group, topic, 2, 1, 32, sys_flag=1, commit_offset=1)
    assert client.query_consumer_offset(group, topic, 2) == 1


def test_locks_and_send_back(client: bc.BrokerClient, topic: str) -> None:
    group = unique("py_cg")
    client.send_heartbeat(consumer_group=group)
    mqs = [bc.MessageQueue(topic, "broker-a", 0), bc.MessageQueue(topic, "broker-a", 3)]
    locked = client.lock_batch_mq(group, mqs)
    assert sorted(q.queue_id for q in locked) == [0, 3] and all(q.topic == topic for q in locked)
    client.unlock_batch_mq(group, mqs)

    r = client.sync_send_message("py_pg", b"again", bc.MessageQueue(topic, queue_id=3))
    _wait_visible(client, topic, 3, r.queue_offset + 1)
    [m] = client.pull_message(group, topic, 3, r.queue_offset, 1).messages
    client.consumer_send_back(group, m, 1)
    # redelivery goes through the group's retry topic %RETRY%group (after delay level 1: 1 s)
    retry = f"%RETRY%{group}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if client.get_max_offset(retry, 0) >= 1:
                break
        except bc.BrokerResponseError:
            pass
        assert time.monotonic() < deadline, "the sent-back message never reached the retry topic"
        client.get_max_offset(topic, 3)  # a round trip between attempts


def test_transaction_check_callback(client: bc.BrokerClient, topic: str) -> None:
    group = unique("py_tx_pg")
    client.send_heartbeat(producer_group=group)
    wanted: "queue.Queue[bc.TransactionCheck]" = queue.Queue()
    ids: "list[str]" = []

    def checker(check: bc.TransactionCheck) -> bc.TransactionState:
        wanted.put(check)
        return bc.TransactionState.COMMIT if ids and check.msg_id == ids[0] else bc.TransactionState.UNKNOWN

    client.set_transaction_check_callback(checker)
    try:
        half = client.sync_send_message(group, bc.Message(topic, b"checked", transactional=True),
                                        bc.MessageQueue(topic, queue_id=0))
        ids.append(half.msg_id)
        # the broker asks (transactionTimeOut 2 s, checks every 1 s): wait for our message
        deadline = time.monotonic() + 60
        while True:
            check = wanted.get(timeout=max(0.1, deadline - time.monotonic()))
            if check.msg_id == half.msg_id:
                break
            assert time.monotonic() < deadline
        assert check.topic == topic and check.body == b"checked"
        _wait_visible(client, topic, 0, 1)
        [m] = client.pull_message("py_cg", topic, 0, 0, 8).messages
        assert m.body == b"checked"
    finally:
        client.set_transaction_check_callback(None)


def test_manager_stats_pooled_client_and_timeout_handles(topic: str) -> None:
    with bc.BrokerManager(bc.RemoteConfig(), connection_pool_size=3) as m:
        addr = m.add_broker(broker_addr(), "broker-a")
        pooled = m.client(addr)
        r = pooled.sync_send_message("py_pg", b"through the pool", bc.MessageQueue(topic, queue_id=1))
        assert r.is_success
        _wait_visible(pooled, topic, 1, r.queue_offset + 1)
        pooled.close()
        stats = m.stats()
        [entry] = [b for b in stats["brokers"] if b["addr"] == addr]  # type: ignore[union-attr]
        assert entry["state"] == "healthy" and entry["requests"] >= 2
        assert stats["client_id"]
        quick = m.with_timeout(5.0)
        assert quick.get_max_offset(addr, topic, 1) == r.queue_offset + 1
        quick.shutdown()
    with bc.create_broker_client(broker_addr(), 10.0) as c:
        t = c.with_timeout(2.0)
        assert t.timeout == 2.0 and t.get_max_offset(topic, 1) >= 1
        t.close()
        assert c.get_max_offset(topic, 1) >= 1  # the parent is untouched


def test_async_reach(topic: str) -> None:
    async def main() -> None:
        async with bc.create_async_broker_client(broker_addr(), 10.0) as c:
            r = await c.sync_send_message("py_pg", bc.Message(topic, b"a", properties={"p": "q"}),
                                          bc.MessageQueue(topic, queue_id=2))
            m = await c.view_message(r.offset_msg_id)
            assert m.properties["p"] == "q"
            assert await c.get_min_offset(topic, 2) == 0
            t = c.with_timeout(3.0)
            assert await t.get_max_offset(topic, 2) >= 1
            await t.close()
            assert c.client_id and c.client_id == await c.get_client_id()
        async with bc.AsyncBrokerManager(bc.RemoteConfig(), connection_pool_size=2) as m:
            addr = await m.add_broker(broker_addr())
            pc = m.client(addr)
            assert await pc.get_max_offset(topic, 2) >= 1
            await pc.close()
            assert m.stats()["brokers"]

    asyncio.run(main())


def test_consumer_change_callback(topic: str) -> None:
    group = unique("py_notify_cg")
    notices: "queue.Queue[str]" = queue.Queue()
    a = bc.create_broker_client(broker_addr(), 10.0)
    b = bc.create_broker_client(broker_addr(), 10.0)
    try:
        a.send_heartbeat(consumer_group=group)
        a.set_consumer_change_callback(notices.put)
        b.send_heartbeat(consumer_group=group)  # a second member joins: the broker tells a
        assert notices.get(timeout=30) == group
        a.set_consumer_change_callback(None)
    finally:
        b.close()
        a.close()


def test_async_consumer_change_callback_runs_on_the_loop(topic: str) -> None:
    import threading

    async def main() -> None:
        group = unique("py_notify_cg")
        loop_thread = threading.get_ident()
        got: "asyncio.Queue[tuple[str, int]]" = asyncio.Queue()
        async with bc.create_async_broker_client(broker_addr(), 10.0) as a:
            await a.send_heartbeat(consumer_group=group)
            a.set_consumer_change_callback(lambda g: got.put_nowait((g, threading.get_ident())))
            with bc.create_broker_client(broker_addr(), 10.0) as b:
                b.send_heartbeat(consumer_group=group)
                g, thread = await asyncio.wait_for(got.get(), 30)
            assert g == group and thread == loop_thread

    asyncio.run(main())
