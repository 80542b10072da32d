"""A program using every public class of the package, for ``mypy --strict`` (run by
scripts/python-tests.sh): the annotations below must hold without casts. test_typing.py
runs ``main()`` against the broker too, so the sample is also known to work."""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, List, Optional

import brokerclient as bc
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


def sync_part(broker: str, namesrv: str, topic: str) -> List[str]:
    seen: List[str] = []
    rc = bc.RemoteConfig(connect_timeout=5000.0, request_timeout=30000.0)
    tc = bc.TransportConfig(host=broker.split(":")[0], port=broker.split(":")[1])
    client: bc.BrokerClient = bc.create_broker_client(broker, 10.0)
    client.connect()
    connected: bool = client.is_connected
    seen.append(f"connected={connected}")
    mq = bc.MessageQueue(topic=topic, broker_name="broker-a", queue_id=0)
    result: bc.SendMessageResult = client.sync_send_message("typing_pg", b"x", mq, {"KEYS": "k"})
    msg_id: str = result.msg_id
    ok: bool = result.is_success
    client.oneway_send_message("typing_pg", bc.Message(topic, b"y", tags="t"), mq)
    body: bytes = bc.encode_batch_messages([{"body": b"a", "properties": {"KEYS": "b"}}])
    batch: bc.SendResult = client.sync_batch_send_message("typing_pg", body, mq)
    client.oneway_batch_send_message("typing_pg", [b"z"], mq)
    pulled: bc.PullMessageResult = client.pull_message("typing_cg", topic, 0, 0, 32, 0, 0)
    first: Optional[bc.MessageExt] = pulled.messages[0] if pulled.messages else None
    props: Dict[str, str] = first.properties if first else {}
    status: bc.PullStatus = pulled.status
    offset: int = client.get_max_offset(topic, 0)
    low: int = client.get_min_offset(topic, 0)
    when: int = client.get_earliest_msg_store_time(topic, 0)
    found: int = client.search_offset_by_timestamp(topic, 0, when)
    hb = bc.HeartbeatData(client_id="x", producer_data_set=[bc.ProducerData("typing_pg")],
                          consumer_data_set=[bc.ConsumerData("typing_cg")])
    client.send_heartbeat(hb)
    client.update_consumer_offset("typing_cg", topic, 0, 1)
    committed: int = client.query_consumer_offset("typing_cg", topic, 0)
    members: List[str] = client.get_consumer_list("typing_cg")
    viewed: bc.MessageExt = client.view_message(result.offset_msg_id)
    locked: List[bc.MessageQueue] = client.lock_batch_mq("typing_cg", [mq])
    client.unlock_batch_mq("typing_cg", locked)

    def check(c: bc.TransactionCheck) -> bc.TransactionState:
        return bc.TransactionState.COMMIT if c.topic else bc.TransactionState.ROLLBACK

    client.set_transaction_check_callback(check)
    quick: bc.BrokerClient = client.with_timeout(2.0)
    quick.close()
    cid: str = client.client_id
    client.disconnect()
    client.close()

    manager = bc.BrokerManager(remote_config=rc, transport_config=tc, connection_pool_size=2)
    manager.start()
    addr: str = manager.add_broker(broker, "broker1")
    pool: Optional[bc.ConnectionPool] = manager.connection_pool(addr)
    if pool is not None:
        with pool.get_connection() as conn:
            conn_offset: int = conn.get_max_offset(topic, 0)
            seen.append(f"pooled={conn_offset}")
        stats: Dict[str, object] = pool.get_stats()
        seen.append(f"stats={sorted(stats)}")
    state: bc.BrokerState = manager.broker_state(addr)
    brokers: List[str] = manager.brokers()
    manager.remove_broker(addr)
    manager.shutdown()
    discovering: bc.BrokerManager = bc.create_broker_manager(namesrv, connection_pool_size=2)
    discovering.start()
    routed: bc.SendResult = discovering.sync_send_message("typing_pg", bc.Message(topic, b"m"))
    route: Dict[str, object] = discovering.get_route_info(topic)
    discovering.shutdown()
    logger: logging.Logger = bc.get_logger(__name__)
    logger.debug("typed")
    seen += [msg_id, str(ok), str(batch.queue_offset), str(status), str(offset), str(low),
             str(found), str(committed), str(members), viewed.topic, cid, str(state),
             str(routed.queue_id), str(brokers), str(sorted(route)), str(sorted(props))]
    return seen


async def async_part(broker: str, namesrv: str, topic: str) -> int:
    client: bc.AsyncBrokerClient = bc.create_async_broker_client(broker, 10.0)
    await client.connect()
    mq = bc.MessageQueue(topic, "broker-a", 1)
    results: List[bc.SendResult] = list(await asyncio.gather(
        *(client.sync_send_message("typing_pg", b"a", mq) for _ in range(3))))
    pulled: bc.PullResult = await client.pull_message("typing_cg", topic, 1, 0)
    offset: int = await client.get_max_offset(topic, 1)
    await client.disconnect()
    await client.close()
    manager = bc.AsyncBrokerManager(bc.RemoteConfig(), connection_pool_size=2)
    await manager.start()
    await manager.add_broker(broker, "broker1")
    pool: Optional[bc.AsyncConnectionPool] = await manager.connection_pool(broker)
    if pool is not None:
        async with pool.get_connection() as conn:
            offset = await conn.get_max_offset(topic, 1)
    await manager.shutdown()
    m2: bc.AsyncBrokerManager = bc.create_async_broker_manager(namesrv, connection_pool_size=2)
    await m2.shutdown()
    return len(results) + len(pulled.messages) + offset


def errors_part(e: BrokerError) -> str:
    if isinstance(e, OffsetError):
        t: Optional[str] = e.topic
        q: Optional[int] = e.queue_id
        return f"{t}{q}{e.offset}"
    if isinstance(e, MessagePullError):
        return f"{e.topic}{e.queue_id}{e.pull_offset}"
    if isinstance(e, BrokerConnectionError):
        a: Optional[str] = e.broker_address
        return a or ""
    if isinstance(e, BrokerTimeoutError):
        return str(e.timeout)
    if isinstance(e, AuthorizationError):
        return f"{e.operation}{e.resource}"
    if isinstance(e, (BrokerBusyError, BrokerSystemError, BrokerProtocolError)):
        return str(e.error_code)
    if isinstance(e, BrokerResponseError):
        code: Optional[int] = e.response_code
        return str(code)
    if isinstance(e, (bc.BrokerClosedError, bc.BrokerCancelledError, bc.BrokerForkedError,
                      bc.BrokerFatalError, bc.InvalidArgumentError)):
        return f"{e.status}{e.retriable}{e.fatal}"
    return e.status_name


def enums_part() -> List[int]:
    return [bc.SendStatus.SEND_OK, bc.PullStatus.FOUND, bc.ExpressionType.SQL92,
            bc.BrokerState.HEALTHY, bc.TransactionState.UNKNOWN]


def main(broker: str, namesrv: str, topic: str) -> int:
    seen = sync_part(broker, namesrv, topic)
    n = asyncio.run(async_part(broker, namesrv, topic))
    return len(seen) + n + len(errors_part(OffsetError("x", topic, 0, 1))) + len(enums_part())
