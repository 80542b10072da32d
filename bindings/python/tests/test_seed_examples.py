"""Every example of pyrocketmq's broker-module document (the seed, shared/seed/), run against
the real broker with only its import lines changed to ``brokerclient``.

Each example's code is kept as the document writes it; what it leaves undefined
(``message_queue``, ``mq``, ``remote_config``, ``client``, ``time``) comes from a prelude, and
the addresses it makes up (``"localhost:9876"`` as a broker, ``"broker1:9876"``) are pointed at
the test broker by plain text substitution. The document's Chinese print texts are
shortened to English (the seed copy lost bytes of them). After each example runs, the test
asserts what it produced.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from typing import Dict

import pytest

import brokerclient as bc
from conftest import broker_addr, namesrv_addr

# The seed's made-up addresses -> the test broker / name server.
_ADDRS = {
    "localhost:9876": broker_addr(),
    "broker1:9876": broker_addr(),
    # a second address string of the same broker (the test has one broker)
    "broker2:9876": "localhost:" + broker_addr().rsplit(":", 1)[1],
    "NAMESRV": namesrv_addr(),
}

_PRELUDE = """
import time
from brokerclient import MessageQueue, RemoteConfig, create_broker_client, encode_batch_messages
from brokerclient.errors import OffsetError
message_queue = MessageQueue(topic="test_topic", broker_name="broker-a", queue_id=0)
mq = message_queue
remote_config = RemoteConfig(connect_timeout=5000.0, request_timeout=30000.0)
"""

_PRELUDE_CLIENT = """
client = create_broker_client("localhost:9876")
client.connect()
"""


def _source(code: str) -> str:
    code = textwrap.dedent(code)
    for k, v in _ADDRS.items():
        code = code.replace(k, v)
    return code


def run_example(code: str, *, with_client: bool = False) -> Dict[str, object]:
    """Runs an example (after the prelude); returns its namespace."""
    ns: Dict[str, object] = {"__name__": "__main__"}  # dataclasses look their module up
    exec(compile(_source(_PRELUDE), "<prelude>", "exec"), ns)
    if with_client:
        exec(compile(_source(_PRELUDE_CLIENT), "<prelude>", "exec"), ns)
    try:
        exec(compile(_source(code), "<seed example>", "exec"), ns)
    finally:
        c = ns.get("client")
        if with_client and isinstance(c, bc.BrokerClient):
            c.close()
    return ns


@pytest.fixture(scope="module", autouse=True)
def seed_topic() -> None:
    """The document's topic exists on the test broker (4 queues) with a message visible on
    queue 0, so the examples' pulls from offset 0 find one on a fresh broker too."""
    with bc.create_broker_client(broker_addr(), 10.0) as c:
        c.create_topic("test_topic", 4)
        c.sync_send_message("producer_group", b"seed", bc.MessageQueue("test_topic", queue_id=0))
        deadline = time.monotonic() + 20
        while c.get_max_offset("test_topic", 0) < 1:  # a round trip per turn
            assert time.monotonic() < deadline, "the seed message never became visible"


# --- 1. BrokerClient ------------------------------------------------------------------------

def test_broker_client_example() -> None:
    ns = run_example('''
        from brokerclient import create_broker_client
        from brokerclient import MessageQueue

        # create a sync client
        client = create_broker_client("localhost:9876")
        client.connect()

        # send a message
        message_queue = MessageQueue(topic="test_topic", broker_name="broker1", queue_id=0)
        result = client.sync_send_message("producer_group", b"Hello RocketMQ", message_queue)

        # pull messages
        pull_result = client.pull_message("consumer_group", "test_topic", 0, 0)

        # disconnect
        client.disconnect()
    ''')
    result, pull_result, client = ns["result"], ns["pull_result"], ns["client"]
    assert isinstance(result, bc.SendMessageResult) and result.is_success and result.msg_id
    assert result.message_queue == bc.MessageQueue("test_topic", "broker1", 0)
    assert isinstance(pull_result, bc.PullMessageResult) and pull_result.is_found
    assert pull_result.messages[0].queue_offset == 0 and pull_result.next_begin_offset >= 1
    assert isinstance(client, bc.BrokerClient) and not client.is_connected
    assert client.timeout == 30.0  # the documented default
    client.close()


# --- 2. AsyncBrokerClient -------------------------------------------------------------------

def test_async_broker_client_example() -> None:
    ns = run_example('''
        import asyncio
        from brokerclient import create_async_broker_client

        async def async_example():
            # create an async client
            client = create_async_broker_client("localhost:9876")
            await client.connect()

            # send a message
            result = await client.sync_send_message("producer_group", b"Async Message", message_queue)

            # pull messages
            pull_result = await client.pull_message("consumer_group", "test_topic", 0, 0)

            await client.disconnect()
            return client, result, pull_result

        # run the async example
        outcome = asyncio.run(async_example())
    ''')
    client, result, pull_result = ns["outcome"]  # type: ignore[misc]
    assert isinstance(client, bc.AsyncBrokerClient) and not client.is_connected
    assert isinstance(result, bc.SendResult) and result.is_success and result.queue_id == 0
    assert isinstance(pull_result, bc.PullResult) and pull_result.messages


# --- 3. BrokerManager -----------------------------------------------------------------------

def test_broker_manager_example() -> None:
    ns = run_example('''
        from brokerclient import BrokerManager
        from brokerclient import RemoteConfig

        # remote config
        remote_config = RemoteConfig(
            connect_timeout=5000.0,
            request_timeout=30000.0
        )

        # the manager
        manager = BrokerManager(
            remote_config=remote_config,
            connection_pool_size=10
        )
        manager.start()

        # add a broker
        manager.add_broker("localhost:9876", "broker1")

        # its connection pool
        pool = manager.connection_pool("localhost:9876")
        with pool.get_connection() as connection:
            max_offset = connection.get_max_offset("test_topic", 0)
        unknown_pool = manager.connection_pool("127.0.0.1:1")

        # shut the manager down
        manager.shutdown()
    ''')
    pool = ns["pool"]
    assert isinstance(pool, bc.ConnectionPool)
    assert (pool.address, pool.broker_name, pool.pool_size) == (broker_addr(), "broker1", 10)
    assert isinstance(ns["max_offset"], int) and ns["max_offset"] >= 1
    assert ns["unknown_pool"] is None
    manager = ns["manager"]
    assert isinstance(manager, bc.BrokerManager) and manager.timeout == 30.0
    with pytest.raises(bc.BrokerClosedError):
        manager.brokers()


# --- 4. AsyncBrokerManager ------------------------------------------------------------------

def test_async_broker_manager_example() -> None:
    ns = run_example('''
        import asyncio
        from brokerclient import AsyncBrokerManager

        async def async_manager_example():
            # the async manager
            manager = AsyncBrokerManager(remote_config, connection_pool_size=20)
            await manager.start()

            # add a broker
            await manager.add_broker("localhost:9876", "broker1")

            # its async connection pool
            pool = await manager.connection_pool("localhost:9876")
            async with pool.get_connection() as connection:
                r = await connection.sync_send_message("producer_group", b"pooled", message_queue)

            await manager.shutdown()
            return pool, r

        pool, r = asyncio.run(async_manager_example())
    ''')
    pool, r = ns["pool"], ns["r"]
    assert isinstance(pool, bc.AsyncConnectionPool) and pool.pool_size == 20
    assert pool.broker_name == "broker1"
    assert isinstance(r, bc.SendResult) and r.is_success


# --- 5. the exceptions ----------------------------------------------------------------------

_EXCEPT_EXAMPLE = '''
from brokerclient.errors import (
    BrokerConnectionError,
    MessagePullError,
    OffsetError
)

caught = []
try:
    result = client.pull_message("consumer_group", "test_topic", 0, 0)
except BrokerConnectionError as e:
    print(f"connection failed: {e}, broker address: {e.broker_address}")
    caught.append(("connection", e.broker_address))
except MessagePullError as e:
    print(f"pull failed: {e}, Topic: {e.topic}, QueueId: {e.queue_id}")
    caught.append(("pull", e.topic, e.queue_id))
except OffsetError as e:
    print(f"offset error: {e}, Topic: {e.topic}, QueueId: {e.queue_id}")
    caught.append(("offset", e.topic, e.queue_id))
'''


def test_exceptions_example_success_path() -> None:
    ns = run_example(_EXCEPT_EXAMPLE, with_client=True)
    assert ns["caught"] == [] and isinstance(ns["result"], bc.PullResult)


def test_exceptions_example_connection_error_carries_broker_address() -> None:
    code = _EXCEPT_EXAMPLE.replace("caught = []", 'caught = []\nclient = create_broker_client("127.0.0.1:1", 3.0)')
    ns = run_example(code)
    assert ns["caught"] == [("connection", "127.0.0.1:1")]


def test_failed_pull_carries_topic_queue_and_offset() -> None:
    # A pull of a topic the broker does not have: the broker's answer, typed, with the pull's
    # context (what the document's MessagePullError/OffsetError handlers read).
    with bc.create_broker_client(broker_addr(), 10.0) as c:
        with pytest.raises(bc.BrokerResponseError) as e:
            c.pull_message("consumer_group", "no_such_seed_topic", 2, 7)
    err = e.value
    assert (err.topic, err.queue_id, err.pull_offset, err.offset) == ("no_such_seed_topic", 2, 7, 7)
    assert err.response_code == 17 and err.error_code == 17 and err.operation == "pull_message"
    assert err.broker_address == broker_addr()


def test_nine_exceptions_and_their_attributes() -> None:
    from brokerclient.errors import (
        AuthorizationError,
        BrokerBusyError,
        BrokerConnectionError,
        BrokerError,
        BrokerProtocolError,
        BrokerResponseError,
        BrokerSystemError,
        BrokerTimeoutError,
        MessagePullError,
        OffsetError,
    )

    nine = [BrokerConnectionError, BrokerTimeoutError, BrokerResponseError, BrokerProtocolError,
            AuthorizationError, BrokerBusyError, MessagePullError, OffsetError, BrokerSystemError]
    assert all(issubclass(c, BrokerError) for c in nine)
    assert BrokerError("x", 7).error_code == 7
    assert BrokerConnectionError("x", "h:1").broker_address == "h:1"
    assert BrokerTimeoutError("x", 2.5).timeout == 2.5
    assert BrokerResponseError("x", 17).response_code == 17
    a = AuthorizationError("x", "send", "topic_a")
    assert (a.operation, a.resource) == ("send", "topic_a")
    assert BrokerBusyError("x", "h:2").broker_address == "h:2"
    p = MessagePullError("x", "t", 3, 9)
    assert (p.topic, p.queue_id, p.pull_offset) == ("t", 3, 9)
    o = OffsetError("x", "t", 1, 5)
    assert (o.topic, o.queue_id, o.offset) == ("t", 1, 5)
    assert BrokerSystemError("x", 1).error_code == 1


def test_timeout_error_carries_timeout() -> None:
    # A peer that accepts the connection (the kernel's backlog) and never answers.
    import socket

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        addr = "127.0.0.1:%d" % srv.getsockname()[1]
        c = bc.create_broker_client(addr, 1.0)
        try:
            with pytest.raises(bc.BrokerTimeoutError) as e:
                c.get_max_offset("test_topic", 3)
        finally:
            c.close(0)
    assert e.value.timeout == 1.0 and e.value.topic == "test_topic" and e.value.queue_id == 3
    assert e.value.broker_address == addr


# --- convenience functions ------------------------------------------------------------------

def test_convenience_functions() -> None:
    c = bc.create_broker_client(broker_addr(), 10.0)
    assert c.timeout == 10.0 and c.broker_addr == broker_addr()
    assert c.get_max_offset("test_topic", 0) >= 1
    c.close()
    ac = bc.create_async_broker_client(broker_addr(), 12.5)
    assert ac.timeout == 12.5

    async def use() -> int:
        try:
            return await ac.get_max_offset("test_topic", 0)
        finally:
            await ac.close()

    assert asyncio.run(use()) >= 1
    m = bc.create_broker_manager(namesrv_addr(), connection_pool_size=2)
    try:
        assert m.connection_pool_size == 2 and m.namesrv_addr == namesrv_addr()
        m.start()
        m.add_broker(broker_addr())
        pool = m.connection_pool(broker_addr())
        assert pool is not None and pool.pool_size == 2
        with pool.get_connection() as conn:
            assert conn.get_max_offset("test_topic", 0) >= 1
        assert pool.get_stats()["addr"] == broker_addr()
    finally:
        m.shutdown()
    with pytest.raises(TypeError):
        bc.create_broker_manager(namesrv_addr(), no_such_thing=object())  # type: ignore[arg-type]


# --- the seven usage patterns ---------------------------------------------------------------

def test_pattern_1_basic() -> None:
    ns = run_example('''
        from brokerclient import create_broker_client

        # the client
        client = create_broker_client("localhost:9876")

        # connect
        client.connect()

        try:
            # send
            result = client.sync_send_message(
                producer_group="test_group",
                body=b"Hello RocketMQ",
                mq=message_queue,
                properties={"KEYS": "order_123"}
            )
            print(f"sent: {result.msg_id}")

        finally:
            # disconnect
            client.disconnect()
    ''')
    r = ns["result"]
    assert isinstance(r, bc.SendResult) and r.msg_id
    with bc.create_broker_client(broker_addr(), 10.0) as c:
        stored = c.view_message(r.offset_msg_id)
    assert stored.keys == "order_123" and stored.body == b"Hello RocketMQ"


def test_pattern_2_async_concurrency() -> None:
    ns = run_example('''
        import asyncio
        from brokerclient import create_async_broker_client

        async def async_concurrent_example():
            # the async client
            client = create_async_broker_client("localhost:9876")
            await client.connect()

            # many sends at once
            tasks = []
            for i in range(10):
                task = client.sync_send_message(
                    producer_group="async_group",
                    body=f"Async Message {i}".encode(),
                    mq=message_queue
                )
                tasks.append(task)

            # wait for every send
            results = await asyncio.gather(*tasks)
            print(f"batch done, {len(results)} messages sent")

            await client.disconnect()
            return results

        results = asyncio.run(async_concurrent_example())
    ''')
    results = ns["results"]
    assert isinstance(results, list) and len(results) == 10
    offsets = sorted(r.queue_offset for r in results)
    assert offsets == list(range(offsets[0], offsets[0] + 10))  # ten distinct stored messages


def test_pattern_3_connection_pool() -> None:
    ns = run_example('''
        from brokerclient import BrokerManager
        from brokerclient.client import create_broker_client

        # the manager
        manager = BrokerManager(remote_config, connection_pool_size=10)
        manager.start()

        # several brokers
        manager.add_broker("broker1:9876", "broker1")
        manager.add_broker("broker2:9876", "broker2")

        # use a pool
        pool = manager.connection_pool("broker1:9876")
        if pool:
            with pool.get_connection() as connection:
                # talk through the connection
                client = create_broker_client("broker1:9876")
                result = client.sync_send_message("group", b"Hello", mq)

        manager.shutdown()
    ''')
    assert isinstance(ns["pool"], bc.ConnectionPool)
    assert isinstance(ns["result"], bc.SendResult) and ns["result"].is_success
    assert isinstance(ns["connection"], bc.BrokerClient)
    ns["client"].close()  # type: ignore[attr-defined]


def test_pattern_4_batch() -> None:
    ns = run_example('''
        # batch send
        batch_messages = [
            {"body": b"Message 1", "properties": {"KEYS": "msg1"}},
            {"body": b"Message 2", "properties": {"KEYS": "msg2"}},
            {"body": b"Message 3", "properties": {"KEYS": "msg3"}}
        ]

        # encode the batch
        batch_body = encode_batch_messages(batch_messages)

        # send the batch
        result = client.sync_batch_send_message(
            producer_group="batch_group",
            body=batch_body,
            mq=message_queue
        )

        print(f"batch sent: {result.msg_id}")
    ''', with_client=True)
    r = ns["result"]
    assert isinstance(r, bc.SendResult) and r.is_success and len(r.msg_id.split(",")) == 3
    with bc.create_broker_client(broker_addr(), 10.0) as c:
        # the broker answers once the batch is in the commit log; its queue entries follow
        deadline = time.monotonic() + 20
        while c.get_max_offset("test_topic", 0) < r.queue_offset + 3:  # a round trip per turn
            assert time.monotonic() < deadline, "the batch never became visible"
        pulled = c.pull_message("consumer_group", "test_topic", 0, r.queue_offset, 3)
    assert [(m.body, m.keys) for m in pulled.messages] == [
        (b"Message 1", "msg1"), (b"Message 2", "msg2"), (b"Message 3", "msg3")]


def test_pattern_5_consumer_offsets() -> None:
    group = f"seed_offset_cg_{os.getpid()}"
    ns = run_example('''
        # the current offset
        try:
            current_offset = client.query_consumer_offset("consumer_group", "test_topic", 0)
            print(f"current offset: {current_offset}")
        except OffsetError as e:
            if e.topic and e.queue_id is not None:
                print(f"no offset, from 0: Topic={e.topic}, QueueId={e.queue_id}")
                current_offset = 0

        # pull
        pull_result = client.pull_message(
            consumer_group="consumer_group",
            topic="test_topic",
            queue_id=0,
            queue_offset=current_offset,
            max_msg_nums=32
        )

        # after processing, commit
        new_offset = current_offset + len(pull_result.messages)
        client.update_consumer_offset("consumer_group", "test_topic", 0, new_offset)
    '''.replace('"consumer_group"', repr(group)), with_client=True)
    assert ns["current_offset"] == 0  # a new group: the OffsetError branch ran
    new_offset = ns["new_offset"]
    assert isinstance(new_offset, int) and new_offset >= 1
    with bc.create_broker_client(broker_addr(), 10.0) as c:
        assert c.query_consumer_offset(group, "test_topic", 0) == new_offset


def test_pattern_6_error_handling() -> None:
    ns = run_example('''
        from brokerclient.errors import (
            BrokerConnectionError,
            BrokerTimeoutError,
            MessagePullError
        )

        def robust_client_example():
            client = create_broker_client("localhost:9876")

            max_retries = 3
            for attempt in range(max_retries):
                try:
                    client.connect()
                    break
                except BrokerConnectionError as e:
                    if attempt == max_retries - 1:
                        raise
                    print(f"connect failed, retry {attempt + 1}/{max_retries}: {e}")
                    time.sleep(2 ** attempt)  # exponential backoff

            try:
                result = client.sync_send_message("group", b"Hello", mq)
                return result
            except BrokerTimeoutError as e:
                print(f"send timed out: {e}")
                raise
            except BrokerConnectionError as e:
                print(f"connection lost: {e}")
                # reconnect
                client.connect()
                return client.sync_send_message("group", b"Hello", mq)
            finally:
                client.disconnect()

        result = robust_client_example()
    ''')
    assert isinstance(ns["result"], bc.SendResult) and ns["result"].is_success


def test_pattern_6_error_handling_retries_then_raises() -> None:
    # The same function against a port nobody listens on: three attempts, then the typed error.
    code = '''
        from brokerclient.errors import BrokerConnectionError

        attempts = []
        def robust_client_example():
            client = create_broker_client("127.0.0.1:1", 2.0)
            max_retries = 3
            for attempt in range(max_retries):
                try:
                    attempts.append(attempt)
                    client.connect()
                    break
                except BrokerConnectionError as e:
                    if attempt == max_retries - 1:
                        raise
                    time.sleep(0.01 * 2 ** attempt)
        try:
            robust_client_example()
        except BrokerConnectionError as e:
            final = e
    '''
    ns = run_example(code)
    assert ns["attempts"] == [0, 1, 2]
    assert isinstance(ns["final"], bc.BrokerConnectionError)
    assert ns["final"].broker_address == "127.0.0.1:1"  # type: ignore[attr-defined]


def test_pattern_7_logging_records_every_operation() -> None:
    # A process of its own: logging.basicConfig must configure the root logger as it would
    # in an application (pytest's capture would otherwise own it).
    code = _source(_PRELUDE) + _source('''
        import logging
        from brokerclient import get_logger

        # the log level
        logging.basicConfig(level=logging.INFO)
        logger = get_logger(__name__)

        # creating the client logs
        client = create_broker_client("localhost:9876")

        # every operation records a structured log
        client.connect()  # connect log
        result = client.sync_send_message("group", b"Hello", mq)  # send log
        client.disconnect()  # disconnect log
        assert isinstance(logger, logging.Logger)
    ''')
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("INFO:brokerclient.broker:")]
    ops = [ln.split("operation_type=")[1].split()[0] for ln in lines]
    assert ops[:4] == ["create_client", "connect", "sync_send_message", "disconnect"], p.stderr
    for ln in lines[1:4]:
        for f in ("client_id=", "operation_type=", "timestamp=", "status=success", "execution_time="):
            assert f in ln, ln
        assert "client_id= " not in ln  # known once connected
    # a failure records its error_message
    failing = _source(_PRELUDE) + textwrap.dedent('''
        import logging
        logging.basicConfig(level=logging.INFO)
        c = create_broker_client("127.0.0.1:1", 2.0)
        try:
            c.connect()
        except Exception:
            pass
    ''')
    p = subprocess.run([sys.executable, "-c", failing], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    [fail] = [ln for ln in p.stderr.splitlines() if "operation_type=connect" in ln]
    assert "status=failed" in fail and "error_message=" in fail


def test_pattern_7_structured_fields_in_extra(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="brokerclient.broker")
    with bc.create_broker_client(broker_addr(), 10.0) as c:
        c.get_max_offset("test_topic", 0)
    [rec] = [r for r in caplog.records if getattr(r, "operation_type", None) == "get_max_offset"]
    assert rec.status == "success" and rec.client_id and rec.error_message is None  # type: ignore[attr-defined]
    assert rec.execution_time >= 0 and rec.timestamp > 1.6e9  # type: ignore[attr-defined]


# --- the performance-tuning examples --------------------------------------------------------

def test_performance_examples() -> None:
    ns = run_example('''
        import asyncio
        from os import cpu_count
        from brokerclient import AsyncBrokerManager, BrokerManager

        # high-throughput
        manager = BrokerManager(
            remote_config=remote_config,
            connection_pool_size=20,  # a bigger pool
            max_consecutive_failures=2  # faster failure detection
        )

        # low latency
        remote_config = RemoteConfig(
            connect_timeout=1000.0,    # 1 s connect timeout
            request_timeout=5000.0     # 5 s request timeout
        )

        # large-scale concurrency
        async_manager = AsyncBrokerManager(
            remote_config=remote_config,
            connection_pool_size=50  # a bigger async pool
        )

        # batch sizes
        MAX_BATCH_SIZE = 64  # 32-64 recommended

        # pool size
        CONNECTION_POOL_SIZE = min(20, cpu_count() * 2)

        # timeouts
        TIMEOUT_CONFIG = {
            "connect_timeout": 5000.0,   # 5 s connect timeout
            "request_timeout": 30000.0,  # 30 s request timeout
            "idle_timeout": 60000.0      # 60 s idle timeout
        }
        tuned = RemoteConfig(**TIMEOUT_CONFIG)
        sized = BrokerManager(tuned, connection_pool_size=CONNECTION_POOL_SIZE)
        manager.shutdown()
        sized.shutdown()
    ''')
    assert ns["manager"].max_consecutive_failures == 2  # type: ignore[attr-defined]
    assert ns["async_manager"].timeout == 5.0  # type: ignore[attr-defined]
    assert ns["tuned"].to_options()["request.timeout.ms"] == "30000"  # type: ignore[attr-defined]


def test_batch_send_async_example_with_its_missing_producer_group() -> None:
    # The document's batch_send_async calls sync_send_message(msg.body, msg.queue,
    # msg.properties): no producer group, which cannot work in pyrocketmq either. Run with the
    # group added (README: the choices made).
    ns = run_example('''
        import asyncio
        from dataclasses import dataclass, field
        from brokerclient import create_async_broker_client

        @dataclass
        class Msg:
            body: bytes
            queue: MessageQueue
            properties: dict = field(default_factory=dict)

        async def batch_send_async(client, messages):
            """send many messages concurrently"""
            tasks = [
                client.sync_send_message("batch_group", msg.body, msg.queue, msg.properties)
                for msg in messages
            ]
            return await asyncio.gather(*tasks)

        async def main():
            async with create_async_broker_client("localhost:9876") as client:
                return await batch_send_async(client, [Msg(b"a", mq), Msg(b"b", mq, {"k": "v"})])

        results = asyncio.run(main())
    ''')
    assert [r.is_success for r in ns["results"]] == [True, True]  # type: ignore[attr-defined]


def test_heartbeat_data() -> None:
    group = f"hb_cg_{os.getpid()}"
    hb = bc.HeartbeatData(
        client_id="seed",
        producer_data_set=[bc.ProducerData("hb_pg")],
        consumer_data_set=[bc.ConsumerData(group, consume_type="CONSUME_ACTIVELY",
                                           subscription_data_set=[{"topic": "test_topic", "sub_string": "TagA || TagB"}])],
    )
    with bc.create_broker_client(broker_addr(), 10.0) as c:
        c.send_heartbeat(hb)
        # one request registered the consumer group with this client as a member
        assert c.client_id in c.get_consumer_list(group)
        with pytest.raises(bc.InvalidArgumentError):
            c.send_heartbeat(bc.HeartbeatData(consumer_data_set=[bc.ConsumerData(group, consume_type="NOPE")]))
        with pytest.raises(bc.InvalidArgumentError):
            c.send_heartbeat(bc.HeartbeatData())  # no group at all
