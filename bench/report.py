"""Collects the JSON lines of one `make bench` run into the results JSON, a chart (matplotlib)
and the Markdown of docs/benchmarks.md: medians over runs, ratios to the best peer of the
same run, the ping-pong floor, the FFI overhead and the issue's targets."""

import argparse
import json
import os
import shutil
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OURS = ["brokerclient-rust", "brokerclient-c", "brokerclient-go", "brokerclient-python"]
PEERS = ["go-official", "java-official", "cpp-official", "rust-official"]
FLOOR = "pingpong-floor"
WORKLOADS = ["sync1", "sync16", "oneway", "async1024", "batch32", "pull", "noop", "pingpong"]
METRICS = ["msgs_per_s", "mb_per_s", "p50_us", "p99_us", "p999_us", "cpu_us_per_msg",
           "peak_rss_kb", "allocs_per_msg"]
HIGHER_IS_BETTER = {"msgs_per_s", "mb_per_s"}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def collect(lines):
    runs = defaultdict(list)
    errors = []
    for line in lines:
        d = json.loads(line)
        key = (d["broker"], d["workload"], d["client"])
        if "error" in d:
            errors.append(d)
        else:
            runs[key].append(d)
    cells = {}
    for key, rs in runs.items():
        cells[key] = {m: median([r.get(m) for r in rs]) for m in METRICS}
        cells[key]["runs"] = len(rs)
    return runs, cells, errors


def best_peer(cells, broker, workload, metric):
    vals = [(cells[(broker, workload, p)][metric], p) for p in PEERS
            if (broker, workload, p) in cells and cells[(broker, workload, p)][metric] is not None]
    if not vals:
        return None
    return max(vals) if metric in HIGHER_IS_BETTER else min(vals)


def fmt(v, digits=1):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(v, best):
    if v is None or best is None or best[0] in (None, 0):
        return ""
    return f" ({v / best[0]:.2f}×)"


def table(cells, broker):
    rows = ["| workload | client | msg/s | MB/s | p50 µs | p99 µs | p99.9 µs | CPU µs/msg | "
            "peak RSS MiB | allocs/msg |", "|" + "---|" * 10]
    for w in WORKLOADS:
        clients = [c for c in [FLOOR] + OURS + PEERS if (broker, w, c) in cells]
        for c in clients:
            m = cells[(broker, w, c)]
            ours = c in OURS
            r = lambda k: ratio(m[k], best_peer(cells, broker, w, k)) if ours else ""  # noqa: E731
            rss = m["peak_rss_kb"] / 1024 if m["peak_rss_kb"] else None
            name = f"**{c}**" if ours else c
            rows.append(
                f"| {w} | {name} | {fmt(m['msgs_per_s'], 0)}{r('msgs_per_s')} | {fmt(m['mb_per_s'])} | "
                f"{fmt(m['p50_us'])}{r('p50_us')} | {fmt(m['p99_us'])} | {fmt(m['p999_us'])} | "
                f"{fmt(m['cpu_us_per_msg'], 2)}{r('cpu_us_per_msg')} | {fmt(rss)} | "
                f"{fmt(m['allocs_per_msg'], 1)} |")
    return "\n".join(rows)


def targets(cells):
    out = []

    def get(b, w, c, k):
        return cells.get((b, w, c), {}).get(k)

    def verdict(ok):
        return "met" if ok else "**missed**"

    cpu = get("mock", "sync1", "brokerclient-rust", "cpu_us_per_msg")
    best = best_peer(cells, "mock", "sync1", "cpu_us_per_msg")
    if cpu is not None and best:
        out.append(f"| client CPU per sync send ≤ ¼ best peer (mock) | {cpu:.1f} µs vs {best[1]} "
                   f"{best[0]:.1f} µs = {cpu / best[0]:.2f}× | ≤ 0.25× | {verdict(cpu <= best[0] / 4)} |")
    p50 = get("mock", "sync1", "brokerclient-rust", "p50_us")
    floor = get("mock", "pingpong", FLOOR, "p50_us")
    if p50 and floor:
        out.append(f"| sync p50 ≤ 1.15 × ping-pong floor (mock) | {p50:.1f} µs vs {floor:.1f} µs = "
                   f"{p50 / floor:.2f}× | ≤ 1.15× | {verdict(p50 <= 1.15 * floor)} |")
    for b in ["mock", "real"]:
        t = get(b, "async1024", "brokerclient-rust", "msgs_per_s")
        best = best_peer(cells, b, "async1024", "msgs_per_s")
        if t and best:
            out.append(f"| async throughput, one connection ≥ 2 × best peer ({b}) | {t:,.0f} vs "
                       f"{best[1]} {best[0]:,.0f} msg/s = {t / best[0]:.2f}× | ≥ 2× | "
                       f"{verdict(t >= 2 * best[0])} |")
    rn = get("mock", "noop", "brokerclient-rust", "msgs_per_s")
    cn = get("mock", "noop", "brokerclient-c", "msgs_per_s")
    if rn and cn:
        d = (1e6 / cn - 1e6 / rn)
        out.append(f"| C call overhead over Rust ≤ 1 µs (no-op call) | {d * 1000:.0f} ns | ≤ 1 µs | "
                   f"{verdict(d <= 1.0)} |")
    rs = get("mock", "sync1", "brokerclient-rust", "p50_us")
    cs = get("mock", "sync1", "brokerclient-c", "p50_us")
    if rs and cs:
        out.append(f"| C sync send p50 over Rust ≤ 1 µs | {cs - rs:+.1f} µs | ≤ 1 µs | "
                   f"{verdict(cs - rs <= 1.0)} (noisy: a difference of medians) |")
    if not out:
        return ""
    return "\n".join(["| target | measured | goal | |", "|---|---|---|---|"] + out)


def ffi(cells):
    rows = ["| boundary | no-op call ns | sync send p50 µs (mock) | CPU µs/send |", "|---|---|---|---|"]
    for c, label in [("brokerclient-rust", "Rust (direct)"), ("brokerclient-c", "C ABI"),
                     ("brokerclient-go", "Go binding (cgo)"),
                     ("brokerclient-python", "Python binding (ctypes)")]:
        noop = cells.get(("mock", "noop", c), {}).get("msgs_per_s")
        s = cells.get(("mock", "sync1", c), {})
        if noop is None and not s:
            rows.append(f"| {label} | not measured | | |")
            continue
        rows.append(f"| {label} | {fmt(1e9 / noop if noop else None)} | {fmt(s.get('p50_us'))} | "
                    f"{fmt(s.get('cpu_us_per_msg'), 2)} |")
    return "\n".join(rows)


def chart(cells, path):
    fig, axes = plt.subplots(2, 2, figsize=(14, 9))
    for row, broker in enumerate(["mock", "real"]):
        ws = [w for w in WORKLOADS[:6] if any((broker, w, c) in cells for c in OURS + PEERS)]
        clients = [c for c in OURS + PEERS if any((broker, w, c) in cells for w in ws)]
        for col, (metric, label) in enumerate([("msgs_per_s", "messages/s (log)"),
                                               ("cpu_us_per_msg", "client CPU µs/message (log)")]):
            ax = axes[row][col]
            width = 0.8 / max(len(clients), 1)
            for i, c in enumerate(clients):
                vals = [cells.get((broker, w, c), {}).get(metric) or 0 for w in ws]
                ax.bar([x + i * width for x in range(len(ws))], vals, width, label=c)
            if broker == "mock" and metric == "cpu_us_per_msg" and (broker, "pingpong", FLOOR) in cells:
                ax.axhline(cells[(broker, "pingpong", FLOOR)][metric], color="k", ls="--",
                           lw=1, label="ping-pong floor (sync)")
            ax.set_xticks([x + 0.4 - width / 2 for x in range(len(ws))])
            ax.set_xticklabels(ws)
            ax.set_yscale("log")
            ax.set_title(f"{broker} broker: {label}")
            ax.grid(axis="y", alpha=0.3)
        axes[row][0].legend(fontsize=8)
    fig.suptitle("libbrokerclient vs official clients, 1 KiB bodies (medians)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--chart", required=True)
    ap.add_argument("--chart-copy")
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--mode", required=True)
    a = ap.parse_args()
    with open(a.lines) as f:
        lines = [ln for ln in f if ln.strip()]
    runs, cells, errors = collect(lines)
    skipped = [s for s in os.environ.get("BENCH_SKIPPED", "").splitlines() if s]
    doc = {
        "mode": a.mode, "runs_per_cell": a.runs, "host": os.uname().nodename,
        "cpus": os.cpu_count(), "skipped": skipped, "errors": errors,
        "runs": [r for rs in runs.values() for r in rs],
        "medians": [dict(zip(["broker", "workload", "client"], k), **v) for k, v in sorted(cells.items())],
    }
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=1)
    chart(cells, a.chart)
    if a.chart_copy:
        shutil.copy(a.chart, a.chart_copy)
    chart_ref = os.path.basename(a.chart_copy or a.chart)
    md = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`scripts/bench.sh`, programs under `bench/`): libbrokerclient and the",
        "official clients in one run, on the same mock broker (answers at once: the client is the",
        "bottleneck) and the same real broker, 1 KiB bodies. Each figure is the median of "
        f"{a.runs} run(s);",
        "figures of our clients (**bold**) carry their ratio to the best peer of the same run in",
        "parentheses (throughput: higher is better; latency and CPU: lower is better). CPU is the",
        "client process's user+system time (getrusage; the JVM's process CPU time for Java) over the",
        "measured phase only, divided by the messages; peak RSS is the process's maximum; allocations",
        "are counted by a counting global allocator in the Rust bench. Latency of async1024 is from",
        "submit to completion with 1 024 in flight; of batch32 and pull, per request (32 messages).",
        "`noop` is a call that does nothing (`is_connected`) through each boundary.",
        "",
        f"![chart]({chart_ref})",
        "",
        "## Targets",
        "",
        targets(cells) or "(not enough cells measured)",
        "",
        "## FFI overhead",
        "",
        ffi(cells),
        "",
        "## Mock broker",
        "",
        table(cells, "mock"),
        "",
        "## Real broker",
        "",
        table(cells, "real"),
        "",
    ]
    if skipped or errors:
        md += ["## Not measured in this run", ""]
        md += [f"- {s}" for s in skipped]
        md += [f"- {e['broker']} {e['client']} {e['workload']} run {e['run']}: failed" for e in errors]
        md.append("")
    md += [f"Raw figures: `bench/results/{os.path.basename(a.json)}` ({a.mode} run).", ""]
    with open(a.markdown, "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
