#!/usr/bin/env bash
# The security and compatibility stages of scripts/test.sh, each against brokers of its own,
# on ports apart from the main run's (9876 / 10911 / 10921):
#
# Usage: scripts/security-compat.sh boot-matrix | matrix | boot-secure VERSION | secure VERSION | stop
#
#   boot-matrix     starts RocketMQ $BC_COMPAT_VERSION (default 4.9.7: two brokers, name server
#                   19876, brokers 20911/20921) in the background; `matrix` waits for it.
#   matrix          the integration suite, the Java interop test and the C samples against it
#                   (scripts/compat-matrix.sh run --no-start --c-tests), then stops it.
#   boot-secure V   makes a test CA and certificates (examples/tls_test_certs.rs, into
#                   target/tls-test) and starts one broker of version V in the background that
#                   enforces TLS with client certificates and ACL (name server 19976 + 100*i,
#                   broker 21011 + 100*i; i = 0 for 5.x, 1 for 4.x).
#   secure V        waits for it, runs tests/secure_broker.rs against it, stops it.
#   stop            stops whatever of the above still runs (for an EXIT trap).
#
# Ports: BC_COMPAT_NAMESRV_PORT / BC_COMPAT_BROKER_PORT and BC_SECURE_NAMESRV_PORT /
# BC_SECURE_BROKER_PORT override the defaults above (4.x secure run: +100 each).
#
# Each background start logs to target/security-compat/*.start.log; a failed start fails the
# stage that waits for it, with that log.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOGS="$ROOT/target/security-compat"
TLS_DIR="$ROOT/target/tls-test"
MATRIX_VERSION=${BC_COMPAT_VERSION:-4.9.7}
MATRIX_PORTS=(BC_NAMESRV_PORT="${BC_COMPAT_NAMESRV_PORT:-19876}" BC_BROKER_PORT="${BC_COMPAT_BROKER_PORT:-20911}")

say() { echo "security-compat: $*"; }
die() {
    echo "security-compat: error: $*" >&2
    exit 1
}

secure_ports() {
    local i=0
    [[ $1 == 4.* ]] && i=1
    echo "BC_NAMESRV_PORT=$((${BC_SECURE_NAMESRV_PORT:-19976} + 100 * i))" \
        "BC_BROKER_PORT=$((${BC_SECURE_BROKER_PORT:-21011} + 100 * i))"
}

# boot NAME ENV... -- ARGS: scripts/rocketmq.sh start ARGS in the background with ENV.
boot() {
    local name=$1
    shift
    local envs=()
    while [[ $1 != -- ]]; do
        envs+=("$1")
        shift
    done
    shift
    mkdir -p "$LOGS"
    rm -f "$LOGS/$name.rc"
    (
        rc=0
        env "${envs[@]}" scripts/rocketmq.sh start "$@" >"$LOGS/$name.start.log" 2>&1 || rc=$?
        echo "$rc" >"$LOGS/$name.rc"
    ) &
    say "$name: starting in the background (${envs[*]}; log ${LOGS#"$ROOT"/}/$name.start.log)"
}

# wait_boot NAME: until the background start of NAME ended; fails when it failed.
wait_boot() {
    local name=$1 t0=$SECONDS
    while [[ ! -f "$LOGS/$name.rc" ]]; do
        ((SECONDS - t0 < 240)) || die "$name did not finish starting within 240 s"
        sleep 0.5
    done
    if [[ "$(cat "$LOGS/$name.rc")" != 0 ]]; then
        cat "$LOGS/$name.start.log" >&2
        die "$name failed to start"
    fi
    say "$name: ready ($(grep -o 'ready after [0-9.]* s' "$LOGS/$name.start.log" | tail -n 1); waited $((SECONDS - t0)) s here)"
}

stop_run() {
    env "$@" scripts/rocketmq.sh stop >/dev/null 2>&1 || true
}

case "${1:-}" in
boot-matrix)
    boot matrix "${MATRIX_PORTS[@]}" BC_RMQ_BROKERS=2 -- "$MATRIX_VERSION"
    ;;
matrix)
    wait_boot matrix
    rc=0
    env "${MATRIX_PORTS[@]}" scripts/compat-matrix.sh run --no-start --c-tests "$MATRIX_VERSION" || rc=$?
    stop_run "${MATRIX_PORTS[@]}"
    exit $rc
    ;;
boot-secure)
    version=${2:?version}
    cargo run -q --example tls_test_certs -- "$TLS_DIR"
    # shellcheck disable=SC2046
    boot "secure-$version" $(secure_ports "$version") BC_RMQ_TLS_DIR="$TLS_DIR" \
        BC_RMQ_TLS_CLIENT_AUTH=require BC_RMQ_ACL=1 -- "$version"
    ;;
secure)
    version=${2:?version}
    wait_boot "secure-$version"
    read -r ns_env broker_env < <(secure_ports "$version")
    work="${TMPDIR:-/tmp}/brokerclient-rmq-${ns_env#*=}"
    # The generated credentials reach the test through its environment only.
    set -a
    # shellcheck disable=SC1091
    . "$work/acl.env"
    set +a
    rc=0
    BC_TLS_DIR="$TLS_DIR" BC_NAMESRV_ADDR="127.0.0.1:${ns_env#*=}" \
        BC_BROKER_ADDR="127.0.0.1:${broker_env#*=}" \
        cargo test --features mock,fault-proxy --test secure_broker -- --test-threads=2 2>&1 | tee "$LOGS/secure-$version.log" \
        || rc=$?
    stop_run "$ns_env" "$broker_env"
    # For the table of docs/compatibility.md.
    mkdir -p "$ROOT/target/compat"
    scripts/compat-matrix.sh parse "$LOGS/secure-$version.log" >"$ROOT/target/compat/$version.secure.tsv"
    exit $rc
    ;;
stop)
    stop_run "${MATRIX_PORTS[@]}"
    for v in 5 4.; do
        # shellcheck disable=SC2046
        stop_run $(secure_ports "$v")
    done
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
