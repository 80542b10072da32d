#!/usr/bin/env python3
"""The Python row of `make bench`: libbrokerclient through bindings/python (ctypes + asyncio).

    bench/python/bench.py <workload> <broker-addr> <mock|real> <messages> <run>

Workloads: sync1 (one coroutine, one send at a time, i.e. the sync path's latency through the
asyncio client), async1024 (1 024 sends in flight on one connection, driven by the completion
queue on the loop thread) and noop (a ctypes call to bc_version: the boundary's cost). Prints
one JSON object in the schema of bench/README.md; CPU is the whole process's (Python thread
and library threads) over the measured phase only (getrusage).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings" / "python"))  # the checkout's package, uninstalled

import brokerclient as bc  # noqa: E402
from brokerclient._lib import lib  # noqa: E402

TOPIC = "BenchTopic"  # the topic bench/rust creates; created here too for a run of its own
BODY = b"x" * 1024
WINDOW = 1024


def cpu_us() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return (ru.ru_utime + ru.ru_stime) * 1e6


def quantiles(samples: list[float]) -> dict:
    if not samples:
        return {"p50_us": None, "p99_us": None, "p999_us": None}
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return {"p50_us": pick(0.5), "p99_us": pick(0.99), "p999_us": pick(0.999)}


async def sends(addr: str, n: int, window: int) -> tuple[list[float], float, float]:
    async with bc.AsyncBrokerClient(addr, timeout=30) as c:
        await c.create_topic(TOPIC, 4)
        mq = bc.MessageQueue(TOPIC, queue_id=0)
        for _ in range(min(200, n)):  # warm-up: connection, topic, code paths
            await c.sync_send_message("bench_py", BODY, mq)
        lat: list[float] = []
        per_worker = [n // window + (1 if w < n % window else 0) for w in range(window)]

        async def worker(count: int) -> None:
            for _ in range(count):
                t0 = time.perf_counter()
                await c.sync_send_message("bench_py", BODY, mq)
                lat.append((time.perf_counter() - t0) * 1e6)

        c0, t0 = cpu_us(), time.perf_counter()
        await asyncio.gather(*(worker(k) for k in per_worker if k))
        return lat, time.perf_counter() - t0, cpu_us() - c0


def main() -> None:
    if len(sys.argv) != 6:
        sys.exit("usage: bench.py <workload> <addr> <mock|real> <messages> <run>")
    workload, addr, broker, n, run = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if workload == "noop":
        for _ in range(1000):
            lib.bc_version()
        c0, t0 = cpu_us(), time.perf_counter()
        for _ in range(n):
            lib.bc_version()
        secs, cpu, lat = time.perf_counter() - t0, cpu_us() - c0, []
    elif workload in ("sync1", "async1024"):
        lat, secs, cpu = asyncio.run(sends(addr, n, 1 if workload == "sync1" else WINDOW))
    else:
        sys.exit(f"bench.py: unknown workload {workload}")
    line = {
        "client": "brokerclient-python",
        "lang": "python",
        "workload": workload,
        "broker": broker,
        "run": run,
        "messages": n,
        "seconds": secs,
        "msgs_per_s": n / secs,
        "mb_per_s": (0 if workload == "noop" else n * len(BODY)) / secs / 1e6,
        "cpu_us_per_msg": cpu / n,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "allocs_per_msg": None,
        **quantiles(lat),
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
