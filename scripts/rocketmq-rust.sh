#!/usr/bin/env bash
# The rocketmq-rust name server and broker (crates rocketmq-namesrv / rocketmq-broker 1.0.0) on
# loopback, for the extra row of docs/compatibility.md. Manual: not part of scripts/test.sh,
# since building them takes very long on 2 cores.
#
# Usage: scripts/rocketmq-rust.sh install | start [--brokers N] | stop | status
#
#   install  cargo install --locked rocketmq-namesrv@1.0.0 rocketmq-broker@1.0.0 into
#            BC_RMQ_RUST_ROOT (nice 19, one job: it can run beside other work).
#   start    fresh store; the name server, then N brokers (default BC_RMQ_BROKERS or 1),
#            broker-a, broker-b, ... of DefaultCluster, masters; waits until the name server
#            lists each; writes <work>/brokers.env like scripts/rocketmq.sh.
#   stop     SIGTERM (SIGKILL after 20 s) to what start started.
#   status   exit 3 when a process of the run is not running.
#
# Environment: BC_RMQ_RUST_ROOT (install root, default <repo>/.cache/rocketmq-rust; binaries
# rocketmq-namesrv-rust and rocketmq-broker-rust under bin/), BC_NAMESRV_PORT (default 9876),
# BC_BROKER_PORT (default 10911; broker i at +10*i), BC_RMQ_BROKERS, BC_RMQ_WORK (default
# ${TMPDIR:-/tmp}/brokerclient-rmq-rust-<namesrv port>), BC_RMQ_START_TIMEOUT (default 90).
# A VERSION argument to start is accepted and must be 1.0.0 (scripts/compat-matrix.sh passes it).
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
PROBE="$SCRIPT_DIR/rmq_probe.py"
VERSION=1.0.0
ROOT=${BC_RMQ_RUST_ROOT:-$REPO_ROOT/.cache/rocketmq-rust}
NAMESRV_PORT=${BC_NAMESRV_PORT:-9876}
BROKER_PORT=${BC_BROKER_PORT:-10911}
BROKERS=${BC_RMQ_BROKERS:-1}
WORK=${BC_RMQ_WORK:-${TMPDIR:-/tmp}/brokerclient-rmq-rust-$NAMESRV_PORT}
START_TIMEOUT=${BC_RMQ_START_TIMEOUT:-90}
LETTERS=(a b c d)

say() { echo "rocketmq-rust.sh: $*"; }
die() {
    echo "rocketmq-rust.sh: error: $*" >&2
    exit 1
}

pid_alive() { [[ -n "$1" && -d "/proc/$1" ]] && [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }
# A pid file's process, if it still runs the binary named in its command line.
pid_of() {
    local f="$WORK/$1.pid" pid
    [[ -f "$f" ]] || return 1
    pid=$(<"$f")
    pid_alive "$pid" || return 1
    [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"$2"* ]] || return 1
    echo "$pid"
}

do_install() {
    mkdir -p "$ROOT"
    say "building rocketmq-namesrv and rocketmq-broker $VERSION into $ROOT (this takes long)"
    CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} CARGO_TARGET_DIR="$ROOT/target" nice -n 19 \
        cargo install --locked --root "$ROOT" "rocketmq-namesrv@$VERSION" "rocketmq-broker@$VERSION"
}

launch() {
    local name=$1
    shift
    setsid nohup "$@" </dev/null >>"$WORK/$name.out" 2>&1 &
    echo $! >"$WORK/$name.pid"
}

listed() { python3 "$PROBE" brokers "127.0.0.1:$NAMESRV_PORT" --timeout 2 2>/dev/null | awk '{print $4}'; }

do_start() {
    [[ "${1:-$VERSION}" == "$VERSION" ]] || die "only $VERSION is supported"
    local ns="$ROOT/bin/rocketmq-namesrv-rust" br="$ROOT/bin/rocketmq-broker-rust"
    [[ -x "$ns" && -x "$br" ]] || die "no binaries in $ROOT/bin (scripts/rocketmq-rust.sh install)"
    do_stop >/dev/null
    rm -rf "$WORK"
    mkdir -p "$WORK"
    local t0=$SECONDS i l port
    launch namesrv "$ns" --listenPort "$NAMESRV_PORT" --bindAddress 127.0.0.1 \
        --rocketmqHome "$WORK" --kvConfigPath "$WORK/kvConfig.json"
    until python3 "$PROBE" cluster "127.0.0.1:$NAMESRV_PORT" --timeout 2 >/dev/null 2>&1; do
        pid_of namesrv rocketmq-namesrv-rust >/dev/null || { tail -n 40 "$WORK/namesrv.out" >&2; die "name server died"; }
        ((SECONDS - t0 < START_TIMEOUT)) || die "name server not answering within $START_TIMEOUT s"
        sleep 0.5
    done
    say "name server answering on 127.0.0.1:$NAMESRV_PORT after $((SECONDS - t0)) s"
    for ((i = 0; i < BROKERS; i++)); do
        l=${LETTERS[$i]}
        port=$((BROKER_PORT + 10 * i))
        mkdir -p "$WORK/broker-$l/store"
        # Java-properties syntax, as the Java broker reads it, but rocketmq-rust 1.0 refuses
        # keys it does not know: no bindAddress (it listens on all addresses), and the
        # transaction timeout is spelled transactionTimeout (Java: transactionTimeOut). The HA
        # port defaults to a fixed 10912 (Java: listenPort + 1), taken by a Java broker on the
        # default ports: set it, or the broker fails to start without saying why.
        cat >"$WORK/broker-$l.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-$l
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
namesrvAddr=127.0.0.1:$NAMESRV_PORT
brokerIP1=127.0.0.1
listenPort=$port
haListenPort=$((port + 1))
storePathRootDir=$WORK/broker-$l/store
storePathCommitLog=$WORK/broker-$l/store/commitlog
mappedFileSizeCommitLog=67108864
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
transactionTimeout=2000
transactionCheckInterval=1000
EOF
        ROCKETMQ_HOME="$WORK/broker-$l" launch "broker-$l" "$br" -c "$WORK/broker-$l.conf" \
            -n "127.0.0.1:$NAMESRV_PORT"
    done
    local pending=() still addrs
    for ((i = 0; i < BROKERS; i++)); do pending+=("$i"); done
    while :; do
        addrs=$(listed || true)
        still=()
        for i in "${pending[@]}"; do
            l=${LETTERS[$i]}
            port=$((BROKER_PORT + 10 * i))
            pid_of "broker-$l" rocketmq-broker-rust >/dev/null || { tail -n 40 "$WORK/broker-$l.out" >&2; die "broker-$l died"; }
            if grep -qx "127.0.0.1:$port" <<<"$addrs"; then
                say "broker-$l ready after $((SECONDS - t0)) s (127.0.0.1:$port)"
            else
                still+=("$i")
            fi
        done
        ((${#still[@]} == 0)) && break
        pending=("${still[@]}")
        ((SECONDS - t0 < START_TIMEOUT)) || die "broker(s) ${pending[*]} not listed within $START_TIMEOUT s"
        sleep 0.5
    done
    {
        echo "NAMESRV_ADDR=127.0.0.1:$NAMESRV_PORT"
        for ((i = 0; i < BROKERS; i++)); do
            echo "BROKER_${LETTERS[$i]^^}_ADDR=127.0.0.1:$((BROKER_PORT + 10 * i))"
        done
    } >"$WORK/brokers.env"
    say "$BROKERS broker(s) ready after $((SECONDS - t0)) s (work dir $WORK)"
}

do_stop() {
    local pids=() pid name
    for name in broker-a broker-b broker-c broker-d namesrv; do
        pid=$(pid_of "$name" rocketmq-) && { kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); }
    done
    local i
    for ((i = 0; i < 80; i++)); do
        local alive=0
        for pid in "${pids[@]}"; do pid_alive "$pid" && alive=1; done
        ((alive)) || break
        sleep 0.25
    done
    for pid in "${pids[@]}"; do pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null; done
    rm -f "$WORK"/*.pid 2>/dev/null || true
    say "stopped (${#pids[@]} process(es))"
}

do_status() {
    local rc=0 name
    for name in namesrv $(printf 'broker-%s ' "${LETTERS[@]:0:$BROKERS}"); do
        if pid_of "$name" rocketmq- >/dev/null; then say "$name running"; else say "$name not running"; rc=3; fi
    done
    return $rc
}

CMD=${1:-}
[[ $# -gt 0 ]] && shift
case "$CMD" in
install) do_install ;;
start)
    if [[ "${1:-}" == --brokers ]]; then
        BROKERS=$2
        shift 2
    fi
    do_start "$@"
    ;;
stop) do_stop ;;
status) do_status || exit $? ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
