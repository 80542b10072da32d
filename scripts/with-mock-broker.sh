#!/usr/bin/env bash
# Runs a command with BC_BROKER_ADDR pointing at the in-process mock broker (src/mock), served
# by `examples/mock_broker.rs`: scripts/with-mock-broker.sh scripts/c-tests.sh plain
# BC_NAMESRV_ADDR points at it too: the mock answers the name server's requests (routes,
# cluster info) with itself as the only broker, "mock-broker".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --features mock,fault-proxy --example mock_broker
work=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null || true; rm -rf "$work"' EXIT
mkfifo "$work/stdin"
target/debug/examples/mock_broker <"$work/stdin" >"$work/out" &
mock=$!
exec 3>"$work/stdin" # the mock serves while this stays open
addr=""
for _ in $(seq 1 100); do
    addr=$(sed -n 's/^MOCK_ADDR=//p' "$work/out")
    [ -n "$addr" ] && break
    kill -0 "$mock" 2>/dev/null || break
    sleep 0.1 # polls the mock's start-up output, bounded to 10 s
done
[ -n "$addr" ] || { echo "with-mock-broker: the mock did not start" >&2; exit 1; }
echo "with-mock-broker: mock broker at $addr"
rc=0
BC_BROKER_ADDR=$addr BC_NAMESRV_ADDR=$addr "$@" || rc=$?
exec 3>&-
wait "$mock" || true
exit "$rc"
