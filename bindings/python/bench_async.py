#!/usr/bin/env python3
"""Throughput and CPU per message of AsyncBrokerClient against a real broker.

    python bindings/python/bench_async.py --addr 127.0.0.1:10911 --messages 20000

``--concurrency`` coroutines each send one message at a time (so that many are in flight).
CPU is the whole process's (``time.process_time``: the Python thread plus the library's
threads), divided by the messages. The last line printed is one JSON object (also appended to
``--json-out`` when given) that the benchmark suite can collect beside the C and Go figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run from a checkout, uninstalled

import brokerclient as bc  # noqa: E402


async def bench(args: argparse.Namespace) -> dict:
    topic = args.topic or f"py_bench_{os.getpid()}"
    body = b"x" * args.body_size
    async with bc.AsyncBrokerClient(args.addr, timeout=30) as c:
        await c.create_topic(topic, 4)
        for q in range(4):  # warm-up: the connection and the topic's queues
            await c.sync_send_message("py_bench", body, bc.MessageQueue(topic, queue_id=q))
        per_worker = args.messages // args.concurrency
        total = per_worker * args.concurrency

        async def worker(w: int) -> None:
            mq = bc.MessageQueue(topic, queue_id=w % 4)
            for _ in range(per_worker):
                await c.sync_send_message("py_bench", body, mq)

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(args.concurrency)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "bench": "python_async_send",
        "binding": "python-ctypes-asyncio",
        "messages": total,
        "concurrency": args.concurrency,
        "body_bytes": args.body_size,
        "seconds": round(wall, 4),
        "msgs_per_sec": round(total / wall, 1),
        "cpu_us_per_msg": round(cpu / total * 1e6, 2),
        "python": platform.python_version(),
        "library": bc.library_path,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--addr", default=os.environ.get("BC_BROKER_ADDR", "127.0.0.1:10911"))
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--concurrency", type=int, default=256)
    p.add_argument("--body-size", type=int, default=128)
    p.add_argument("--topic", default=None)
    p.add_argument("--json-out", default=None, help="append the JSON line to this file")
    args = p.parse_args()
    result = asyncio.run(bench(args))
    print(
        f"python async send: {result['msgs_per_sec']:.0f} msg/s, "
        f"{result['cpu_us_per_msg']:.1f} us CPU/msg ({result['messages']} messages, "
        f"{args.concurrency} in flight, {args.body_size} B)"
    )
    line = json.dumps(result, sort_keys=True)
    print(line)
    if args.json_out:
        with open(args.json_out, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
