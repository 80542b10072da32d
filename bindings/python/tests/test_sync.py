"""Every method of the blocking BrokerClient and BrokerManager against the real broker."""

from __future__ import annotations

import time

import pytest

import brokerclient as bc
from conftest import broker_addr, namesrv_addr, unique


def test_connect_disconnect_and_context_manager() -> None:
    c = bc.BrokerClient(broker_addr())
    assert not c.is_connected
    c.connect()
    assert c.is_connected
    c.disconnect()
    assert not c.is_connected
    c.close()
    c.close()  # twice is harmless
    with pytest.raises(bc.BrokerClosedError):
        c.get_max_offset("TBW102", 0)
    with bc.create_broker_client(broker_addr(), 10.0) as c2:
        assert c2.is_connected


def test_send_pull_and_offsets(client: bc.BrokerClient, topic: str) -> None:
    mq = bc.MessageQueue(topic, "broker", 1)
    before = int(time.time() * 1000) - 1
    r = client.sync_send_message("py_pg", b"one", mq, {"k": "v"}, tags="TagA", keys="K1")
    assert r.status == bc.SendStatus.SEND_OK and r.queue_id == 1 and r.msg_id
    # The broker answers a send once it is in the commit log and builds the consume queue
    # right after (ReputMessageService): poll (bounded; each turn a round trip, no sleep).
    deadline = time.monotonic() + 10
    while client.get_max_offset(topic, 1) < r.queue_offset + 1:
        assert time.monotonic() < deadline, "sent message never became visible"
    assert client.get_max_offset(topic, 1) == r.queue_offset + 1

    pulled = client.pull_message("py_cg", topic, 1, r.queue_offset, 8)
    assert pulled.status == bc.PullStatus.FOUND
    [m] = pulled.messages
    assert (m.body, m.tags, m.keys, m.msg_id) == (b"one", "TagA", "K1", r.msg_id)
    assert pulled.next_begin_offset == r.queue_offset + 1

    none = client.pull_message("py_cg", topic, 1, pulled.next_begin_offset, 8)
    assert none.status != bc.PullStatus.FOUND and none.messages == []

    assert client.search_offset_by_timestamp(topic, 1, before) == r.queue_offset

    group = unique("py_cg")
    client.send_heartbeat(consumer_group=group)  # the broker creates the group
    client.update_consumer_offset(group, topic, 1, 1)
    assert client.query_consumer_offset(group, topic, 1) == 1


def test_oneway_and_batches(client: bc.BrokerClient, topic: str) -> None:
    mq = bc.MessageQueue(topic, queue_id=2)
    client.oneway_send_message("py_pg", b"oneway", mq)
    r = client.sync_batch_send_message("py_pg", [b"b1", bc.Message(topic, b"b2", tags="t")], mq)
    assert r.status == bc.SendStatus.SEND_OK
    client.oneway_batch_send_message("py_pg", [b"b3", b"b4"], mq)
    r2 = client.sync_send_message("py_pg", b"last", mq)
    # Oneway sends complete once written and the broker stores requests on several threads,
    # so the answer to a later sync send does not prove a oneway one stored: poll (bounded).
    deadline = time.monotonic() + 10
    while True:
        bodies = [m.body for m in client.pull_message("py_cg", topic, 2, 0, 32).messages]
        if len(bodies) >= 6 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    # A oneway send is not waited for, so the broker may store the next request first; every
    # message is there and each batch keeps its order.
    assert sorted(bodies) == sorted([b"oneway", b"b1", b"b2", b"b3", b"b4", b"last"])
    assert bodies.index(b"b2") == bodies.index(b"b1") + 1
    assert bodies.index(b"b4") == bodies.index(b"b3") + 1
    assert r2.queue_offset == bodies.index(b"last")  # pulled from offset 0


def test_heartbeat_and_end_transaction(client: bc.BrokerClient, topic: str) -> None:
    group = unique("py_tx_pg")
    client.send_heartbeat(producer_group=group, consumer_group=unique("py_cg"))
    half = client.sync_send_message(
        group, bc.Message(topic, b"half", transactional=True), bc.MessageQueue(topic, queue_id=3)
    )
    assert client.get_max_offset(topic, 3) == 0  # a half message is not visible
    client.end_transaction(
        group, half.msg_id, half.offset_msg_id, half.queue_offset, half.transaction_id,
        bc.TransactionState.COMMIT,
    )
    # end_transaction is oneway: poll (bounded) until the committed message shows up.
    deadline = time.monotonic() + 20
    while client.get_max_offset(topic, 3) == 0:
        assert time.monotonic() < deadline, "committed message never became visible"
        client.send_heartbeat(producer_group=group)  # a round trip, no sleep
    [m] = client.pull_message("py_cg", topic, 3, 0, 8).messages
    assert m.body == b"half"


def test_errors_are_typed(client: bc.BrokerClient) -> None:
    with pytest.raises(bc.BrokerResponseError) as e:
        client.query_consumer_offset(unique("py_cg"), unique("py_missing"), 0)
    assert e.value.code != 0 and isinstance(e.value, bc.BrokerError)
    with pytest.raises(bc.InvalidArgumentError):
        bc.BrokerClient(broker_addr(), options={"no.such.key": 1})
    with pytest.raises(bc.BrokerConnectionError):
        bc.BrokerClient("127.0.0.1:1", timeout=2).connect()
    with pytest.raises(bc.InvalidArgumentError):
        client.sync_batch_send_message("py_pg", [], bc.MessageQueue("t"))


def test_manager(topic: str) -> None:
    with bc.create_broker_manager(namesrv_addr(), timeout=10) as m:
        assert m.add_broker(broker_addr()) == broker_addr()
        assert broker_addr() in m.brokers()
        assert m.broker_state(broker_addr()) == bc.BrokerState.HEALTHY
        r = m.sync_send_message("py_pg", bc.Message(topic, b"via manager"))
        rb = m.sync_batch_send_message("py_pg", [bc.Message(topic, b"x"), bc.Message(topic, b"y")])
        assert rb.status == bc.SendStatus.SEND_OK
        pulled = m.pull_message(broker_addr(), "py_cg", topic, r.queue_id, r.queue_offset, 1)
        assert [x.body for x in pulled.messages] == [b"via manager"]
        assert m.get_max_offset(broker_addr(), topic, r.queue_id) >= r.queue_offset + 1
        group = unique("py_cg")
        m.send_heartbeat(consumer_group=group)
        m.update_consumer_offset(broker_addr(), group, topic, r.queue_id, 7)
        assert m.query_consumer_offset(broker_addr(), group, topic, r.queue_id) == 7
        m.send_heartbeat(producer_group="py_pg")
        with m.connection(broker_addr()) as conn:
            assert conn.is_connected
            assert conn.get_max_offset(topic, r.queue_id) >= r.queue_offset + 1
            assert conn.query_consumer_offset(group, topic, r.queue_id) == 7
        m.remove_broker(broker_addr())
        assert broker_addr() not in m.brokers()
    with pytest.raises(bc.BrokerClosedError):
        m.brokers()
