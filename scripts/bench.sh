#!/usr/bin/env bash
# `make bench` (issue 8): libbrokerclient and the peer clients side by side, on the same mock
# broker and the same real broker, in one run; writes bench/results/<date>.json, a chart
# (bench/results/<date>.png, also docs/benchmarks.png) and the table in docs/benchmarks.md.
#
#   scripts/bench.sh          full run: RUNS (default 3) runs per cell, medians reported
#   scripts/bench.sh --smoke  CI smoke: small counts, 1 run, results under target/bench/smoke/,
#                             fails when a cell that should run produced no figures
#
# Brokers: with BC_NAMESRV_ADDR and BC_BROKER_ADDR set, the running brokers are used (test.sh
# passes its own); otherwise scripts/rocketmq.sh starts one on BC_NAMESRV_PORT/BC_BROKER_PORT
# (defaults 9876/10911) and stops it on exit. The mock broker (examples/mock_broker.rs) is
# started on a free port either way.
#
# Clients (bench/README.md): brokerclient-rust (bench/rust), brokerclient-c (bench/c),
# pingpong-floor (bench/rust), brokerclient-go (bench/go over bindings/go), brokerclient-python
# (bench/python over bindings/python), go-official, java-official, cpp-official, rust-official
# (bench/peers/*).
# BENCH_CLIENTS="a b" restricts the list.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=full
[ "${1:-}" = --smoke ] && MODE=smoke
OUT=$ROOT/target/bench
mkdir -p "$OUT"
say() { printf 'bench.sh: %s\n' "$*" >&2; }

if [ "$MODE" = smoke ]; then
    RUNS=${RUNS:-1}
    N_SYNC=${N_SYNC:-200}
    N_FAST=${N_FAST:-1000}
    RESULTS_DIR=$OUT/smoke
    CELL_TIMEOUT=${CELL_TIMEOUT:-60}
else
    RUNS=${RUNS:-3}
    N_SYNC=${N_SYNC:-20000}
    N_FAST=${N_FAST:-100000}
    RESULTS_DIR=$ROOT/bench/results
    CELL_TIMEOUT=${CELL_TIMEOUT:-300}
fi
mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y-%m-%dT%H-%M-%SZ)
LINES=$OUT/lines-$STAMP.jsonl
: >"$LINES"

# ---- build every program (each peer in its own project and output dir) ----
# The library without features (the .so the C and Go programs load), then the mock broker,
# which needs the `mock` feature. Smoke mode uses the debug build test.sh has made already:
# it checks that every program still runs, its figures mean nothing.
if [ "$MODE" = smoke ]; then PROFILE=debug; PROFILE_FLAG=(); else PROFILE=release; PROFILE_FLAG=(--release); fi
LIB=$ROOT/target/$PROFILE
# Our own programs (the library, the Rust, C, Go and Python bench programs, the mock broker):
# a failed build fails the run, in smoke mode too. Only peers may be skipped (loudly, below).
own_build_failed() {
    say "ERROR: the build of our own $1 failed${2:+ (see $2)}: the run fails"
    [ -n "${2:-}" ] && tail -40 "$2" >&2
    exit 1
}
say "building the library, the Rust bench and the mock broker ($PROFILE)"
cargo build -q "${PROFILE_FLAG[@]}" --lib --example bench || own_build_failed "library and Rust bench"
cargo build -q "${PROFILE_FLAG[@]}" --features mock,fault-proxy --example mock_broker ||
    own_build_failed "mock broker"
CC=${CC:-gcc}
say "building the C bench over target/$PROFILE/libbrokerclient.so"
$CC -O2 -Wall -Wextra -Iinclude bench/c/bench.c -o "$OUT/bench_c" \
    -L"$LIB" -lbrokerclient -Wl,-rpath,"$LIB" -lpthread || own_build_failed "C bench (bench/c)"
# The image's Go (Debian's golang-go is too old), as scripts/go-tests.sh finds it.
if [ -x /usr/local/go/bin/go ]; then PATH=$PATH:/usr/local/go/bin; fi

declare -A SKIP=()
ALL_CLIENTS="pingpong-floor brokerclient-rust brokerclient-c brokerclient-go brokerclient-python go-official java-official cpp-official rust-official"
if [ "$MODE" = smoke ]; then
    # The CI budget (1.5 min) has no room for a JVM start per cell, the C++ client's wheel
    # download or the first build of rocketmq-client-rust (minutes); the full run measures them.
    CLIENTS=${BENCH_CLIENTS:-pingpong-floor brokerclient-rust brokerclient-c brokerclient-go brokerclient-python go-official}
else
    CLIENTS=${BENCH_CLIENTS:-$ALL_CLIENTS}
fi
for c in $ALL_CLIENTS; do
    case " $CLIENTS " in
    *" $c "*) ;;
    *) SKIP[$c]="not in this run's client list (BENCH_CLIENTS; smoke mode leaves java-official, cpp-official and rust-official to the full run)" ;;
    esac
done
for c in "${!SKIP[@]}"; do say "WARNING: $c skipped: ${SKIP[$c]}"; done
build_peer() { # build_peer NAME SCRIPT: a failed build of a peer (an official client) skips its rows, loudly
    if ! "$2" >"$OUT/build-$1.log" 2>&1; then
        SKIP[$1]="its build failed (target/bench/build-$1.log)"
        say "WARNING: $1 skipped: ${SKIP[$1]}"
        tail -20 "$OUT/build-$1.log" >&2 || true
    fi
}
build_go() { (cd bench/peers/go-official && go build -o "$OUT/go-official" .); }
build_java() { (cd bench/peers/java && mvn -q -B package -DskipTests && cp target/bench-java.jar "$OUT/"); }
build_cpp() { bench/peers/cpp-capi/build.sh "$OUT"; }
# Its own cargo project: own lock file (--locked) and target dir, never our crate's workspace.
build_rustpeer() {
    (cd bench/peers/rust-client &&
        CARGO_TARGET_DIR="$ROOT/bench/peers/rust-client/target" cargo build --release --locked &&
        cp target/release/rust-official "$OUT/rust-official")
}
build_own() { # build_own NAME SCRIPT: one of our own programs; a failed build fails the run
    say "building $1"
    "$2" >"$OUT/build-$1.log" 2>&1 || own_build_failed "$1" "target/bench/build-$1.log"
}
build_gobinding() {
    # The binding's default build links an installed library (pkg-config); the bench links the
    # checkout's own build.
    local tags=(-tags brokerclient_repo)
    [ "$PROFILE" = release ] && tags=(-tags brokerclient_release)
    (cd bench/go && go build "${tags[@]}" -o "$OUT/brokerclient-go" .)
}
# Python has no build: the bench program must compile and the binding import and load the
# library, else every cell of the row would only fail later.
build_pybench() {
    python3 -c 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")' bench/python/bench.py &&
        BROKERCLIENT_LIB=$LIB/libbrokerclient.so python3 -c \
            'import sys; sys.path.insert(0, "bindings/python"); import brokerclient; from brokerclient._lib import lib; print(lib)'
}
wanted() { case " $CLIENTS " in *" $1 "*) return 0 ;; esac; return 1; }
if wanted brokerclient-go; then build_own brokerclient-go build_gobinding; fi
if wanted brokerclient-python; then build_own brokerclient-python build_pybench; fi
say "building the peers"
wanted go-official && build_peer go-official build_go
wanted java-official && build_peer java-official build_java
wanted cpp-official && build_peer cpp-official build_cpp
wanted rust-official && build_peer rust-official build_rustpeer

# ---- brokers ----
MOCK_PID=""
STARTED_BROKER=0
cleanup() {
    exec 3>&- 2>/dev/null || true
    [ -n "$MOCK_PID" ] && wait "$MOCK_PID" 2>/dev/null || true
    [ "$STARTED_BROKER" = 1 ] && scripts/rocketmq.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
# A run stopped by a signal (Ctrl-C, a closed pipe) must not leave the broker it started.
trap 'exit 130' INT TERM PIPE HUP
rm -f "$OUT/mock.in" && mkfifo "$OUT/mock.in"
"$LIB/examples/mock_broker" <"$OUT/mock.in" >"$OUT/mock.out" 2>"$OUT/mock.err" &
MOCK_PID=$!
exec 3>"$OUT/mock.in" # the mock serves while this stays open
MOCK_ADDR=""
for _ in $(seq 1 100); do
    MOCK_ADDR=$(sed -n 's/^MOCK_ADDR=//p' "$OUT/mock.out")
    [ -n "$MOCK_ADDR" ] && break
    sleep 0.1 # polls the mock's start-up line, bounded to 10 s
done
[ -n "$MOCK_ADDR" ] || { say "the mock broker did not start"; exit 1; }
if [ -z "${BC_NAMESRV_ADDR:-}" ] || [ -z "${BC_BROKER_ADDR:-}" ]; then
    say "starting a real broker (scripts/rocketmq.sh)"
    STARTED_BROKER=1
    BC_RMQ_BROKERS=1 scripts/rocketmq.sh start >&2
    BC_NAMESRV_ADDR=127.0.0.1:${BC_NAMESRV_PORT:-9876}
    BC_BROKER_ADDR=127.0.0.1:${BC_BROKER_PORT:-10911}
fi
say "mock broker $MOCK_ADDR; real name server $BC_NAMESRV_ADDR, broker $BC_BROKER_ADDR"

# ---- the matrix ----
# cmd CLIENT: the command line of a client's program, to which "<workload> <addr> <broker>
# <messages> <run>" is appended. Peers (and our Go binding's program, which resolves routes
# like them) take the name server; against the mock that is the mock itself.
cmd() {
    case $1 in
    brokerclient-rust | pingpong-floor) echo "$LIB/examples/bench" ;;
    brokerclient-c) echo "$OUT/bench_c" ;;
    go-official) echo "$OUT/go-official" ;;
    java-official) echo "java -Xmx512m -jar $OUT/bench-java.jar" ;;
    cpp-official) echo "$OUT/cpp-official" ;;
    rust-official) echo "$OUT/rust-official" ;;
    brokerclient-go) echo "$OUT/brokerclient-go" ;;
    brokerclient-python) echo "env BROKERCLIENT_LIB=$LIB/libbrokerclient.so python3 bench/python/bench.py" ;;
    esac
}
takes_namesrv() { case $1 in go-official | java-official | cpp-official | rust-official) return 0 ;; esac; return 1; }
workloads() {
    case $1 in
    pingpong-floor) echo pingpong ;;
    brokerclient-rust) echo sync1 sync16 oneway async1024 batch32 pull noop ;;
    brokerclient-c) echo sync1 sync16 oneway async1024 noop ;;
    brokerclient-go) echo sync1 sync16 oneway async1024 noop ;;
    brokerclient-python) echo sync1 async1024 noop ;;
    go-official | java-official | rust-official) echo sync1 sync16 oneway async1024 batch32 pull ;;
    cpp-official) echo sync1 sync16 oneway async1024 ;;
    esac
}
count() { case $1 in sync1 | sync16 | pull) echo "$N_SYNC" ;; noop) echo $((N_FAST * 10)) ;; *) echo "$N_FAST" ;; esac; }


FAILED=0      # cells of our own clients that failed: the run fails
PEER_FAILED=0 # cells of peers that failed (hang, crash): reported loudly, the run goes on
for broker in mock real; do
    for client in $CLIENTS; do
        if [ -n "${SKIP[$client]:-}" ]; then
            say "WARNING: $client skipped: ${SKIP[$client]}"
            continue
        fi
        [ "$client" = pingpong-floor ] && [ "$broker" = real ] && continue
        if [ "$MODE" = smoke ] && [ "$broker" = real ] && [ "$client" = go-official ]; then
            say "WARNING: smoke mode runs go-official against the mock broker only (CI budget)"
            continue
        fi
        if [ "$broker" = mock ]; then addr=$MOCK_ADDR; elif takes_namesrv "$client"; then
            addr=$BC_NAMESRV_ADDR
        else addr=$BC_BROKER_ADDR; fi
        for w in $(workloads "$client"); do
            for run in $(seq 1 "$RUNS"); do
                if [ "$run" -gt 1 ] && [ "${cell_failed:-}" = "$broker $client $w" ]; then
                    say "skipping the other runs of $broker $client $w after its failure"
                    break
                fi
                n=$(count "$w")
                # shellcheck disable=SC2046
                if line=$(timeout "$CELL_TIMEOUT" $(cmd "$client") "$w" "$addr" "$broker" "$n" "$run" 2>>"$OUT/stderr-$client.log" | tail -1) &&
                    [ "${line:0:1}" = "{" ]; then
                    echo "$line" >>"$LINES"
                    say "$broker $client $w run $run: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.0f msg/s, p50 %s us, %.1f us CPU/msg" % (d["msgs_per_s"], d["p50_us"], d["cpu_us_per_msg"]))' "$line")"
                else
                    case $client in
                    brokerclient-* | pingpong-floor) FAILED=$((FAILED + 1)) ;;
                    *) PEER_FAILED=$((PEER_FAILED + 1)) ;;
                    esac
                    cell_failed="$broker $client $w"
                    say "FAILED: $broker $client $w run $run (see target/bench/stderr-$client.log)"
                    printf '{"client":"%s","workload":"%s","broker":"%s","run":%s,"error":"failed"}\n' \
                        "$client" "$w" "$broker" "$run" >>"$LINES"
                fi
            done
        done
    done
done

# ---- report: JSON, chart, Markdown ----
VENV=$ROOT/target/bench-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    say "installing matplotlib into $VENV (PyPI)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q matplotlib
fi
SKIPPED=""
for c in "${!SKIP[@]}"; do SKIPPED+="$c: ${SKIP[$c]}"$'\n'; done
REPORT_ARGS=(--lines "$LINES" --json "$RESULTS_DIR/$STAMP.json" --chart "$RESULTS_DIR/$STAMP.png" --runs "$RUNS" --mode "$MODE")
if [ "$MODE" = full ]; then
    REPORT_ARGS+=(--markdown docs/benchmarks.md --chart-copy docs/benchmarks.png)
else
    REPORT_ARGS+=(--markdown "$RESULTS_DIR/benchmarks.md")
fi
BENCH_SKIPPED="$SKIPPED" "$VENV/bin/python" bench/report.py "${REPORT_ARGS[@]}"
if [ "$PEER_FAILED" -gt 0 ]; then
    say "WARNING: $PEER_FAILED cell runs of peer clients failed or hung (listed in the report)"
fi
if [ "$FAILED" -gt 0 ]; then
    say "$FAILED cell runs failed"
    exit 1
fi
say "done ($MODE): $RESULTS_DIR/$STAMP.json"
