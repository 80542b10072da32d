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
#   secure V        waits for it, runs against it tests/secure_broker.rs (Rust configuration)
#                   and then the same through bc_config keys only: tests/c/secure/test_secure.c
#                   (gcc and clang, then under valgrind), the Go binding's TestSecure
#                   (go test -race) and the Python binding's tests/test_secure.py (pytest,
#                   scripts/python-tests.sh's venv); each must have run, not skipped. Stops
#                   it; fails when any of them failed.
#   stop            stops whatever of the above still runs (for an EXIT trap).
#
# Ports: BC_COMPAT_NAMESRV_PORT / BC_COMPAT_BROKER_PORT and BC_SECURE_NAMESRV_PORT /
# BC_SECURE_BROKER_PORT override the defaults above (4.x secure run: +100 each).
#
# Each background start logs to target/security-compat/*.start.log; a failed start fails the
# stage that waits for it, with that log.
# The secure stage's logs and binaries: target/security-compat/secure-V.log (Rust) and
# target/security-compat/secure-V/ (C, Go, Python).
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

# The secure broker's tests through bc_config keys (C, Go, Python), with the environment of
# tests/secure_broker.rs exported: BC_BROKER_ADDR, BC_NAMESRV_ADDR, BC_TLS_DIR,
# BC_ACL_ACCESS_KEY, BC_ACL_SECRET_KEY. secure_bindings VERSION: fails when any failed.
SECURE_PASSED=()
SECURE_FAILED=()
secure_result() { # secure_result NAME RC LOG [SUMMARY]
    if [[ $2 == 0 ]]; then
        SECURE_PASSED+=("$1")
        say "PASS $1${4:+: $4}"
    else
        SECURE_FAILED+=("$1")
        say "FAIL $1 (exit $2; log ${3#"$ROOT"/}):"
        tail -n 40 "$3" | sed 's/^/      | /' >&2
    fi
}

# secure_step NAME LOG LIMIT_S CHECK CMD...: runs CMD (output in LOG) within LIMIT_S; then
# CHECK LOG must print the summary line that proves the test ran and passed.
secure_step() {
    local name=$1 log=$2 limit=$3 check=$4 rc=0 summary
    shift 4
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 || rc=$?
    ((rc != 124)) || echo "security-compat: timed out after $limit s" >>"$log"
    if ((rc == 0)) && ! summary=$("$check" "$log"); then
        echo "security-compat: exit 0 but no summary of a run that passed (skipped?)" >>"$log"
        rc=1
    fi
    secure_result "$name" "$rc" "$log" "${summary:-}"
}

# The last line of the C test (valgrind's ==PID== lines aside), "test_secure: N passed,
# 0 failed" with N > 0.
c_summary() { grep -v '^==[0-9]*==' "$1" | tail -n 1 | grep -E '^test_secure: [1-9][0-9]* passed, 0 failed$'; }
# go test -v: the top-level test passed, and was not skipped.
go_summary() {
    grep -q -- '^--- SKIP: TestSecure' "$1" && return 1
    grep -E -- '^--- PASS: TestSecure ' "$1"
}
# pytest -q: "N passed in Ts" and nothing else (no skipped, failed or errors).
py_summary() { tail -n 1 "$1" | grep -E '^[1-9][0-9]* passed in '; }

secure_bindings() {
    local out="$LOGS/secure-$1" cc
    rm -rf "$out"
    mkdir -p "$out"
    SECURE_PASSED=()
    SECURE_FAILED=()
    # The library the C program and both bindings link (target/debug, no features).
    if ! cargo build --lib >"$out/cargo-build.log" 2>&1; then
        secure_result "cargo build --lib" 1 "$out/cargo-build.log"
        return 1
    fi

    # C: every key through bc_config; gcc (required) and clang (when installed), then the gcc
    # build under valgrind as scripts/c-tests.sh runs it, with tests/c/secure/valgrind.supp
    # (ring's AES-GCM assembly; see that file).
    local built=()
    for cc in gcc clang; do
        if [[ $cc != gcc ]] && ! command -v "$cc" >/dev/null; then
            say "note: $cc not installed, skipped"
            continue
        fi
        local bin="$out/test_secure.$cc" rc=0
        "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -g -Iinclude tests/c/secure/test_secure.c \
            -L"$ROOT/target/debug" -lbrokerclient -Wl,-rpath,"$ROOT/target/debug" -lpthread \
            -o "$bin" >"$bin.build.log" 2>&1 || rc=$?
        secure_result "C: $cc -std=c11 -Wall -Wextra -Werror -pedantic tests/c/secure/test_secure.c" \
            "$rc" "$bin.build.log"
        ((rc != 0)) || built+=("$bin")
    done
    local bin
    for bin in "${built[@]}"; do
        secure_step "C: run ${bin##*/}" "$bin.run.log" 300 c_summary "$bin"
    done
    if [[ -x "$out/test_secure.gcc" ]]; then
        if command -v valgrind >/dev/null; then
            secure_step "C: run test_secure.gcc under valgrind" "$out/test_secure.gcc.valgrind.log" 900 \
                c_summary valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                --track-origins=yes --num-callers=30 --suppressions=tests/c/secure/valgrind.supp \
                "$out/test_secure.gcc"
        else
            secure_result "C: valgrind installed (apt-get install -y valgrind)" 1 /dev/null
        fi
    fi

    # Go: the binding's Config, linked to target/debug as scripts/go-tests.sh does (default
    # build tags), with -race.
    local gobin=go
    [[ -x /usr/local/go/bin/go ]] && gobin=/usr/local/go/bin/go
    if command -v "$gobin" >/dev/null; then
        secure_step "Go: go vet" "$out/go-vet.log" 300 true \
            bash -c 'cd bindings/go && "$0" vet -tags brokerclient_repo ./...' "$gobin"
        secure_step "Go: go test -race -run '^TestSecure\$' -v" "$out/go-test.log" 600 go_summary \
            bash -c 'cd bindings/go && "$0" test -tags brokerclient_repo -race -count=1 -run "^TestSecure\$" -v .' "$gobin"
    else
        secure_result "Go: go installed (need Go >= 1.24)" 1 /dev/null
    fi

    # Python: the binding's options, installed into scripts/python-tests.sh's venv.
    secure_step "Python: pytest tests/test_secure.py" "$out/python.log" 600 py_summary \
        scripts/python-tests.sh -rs test_secure.py

    say "secure $1 through bc_config: ${#SECURE_PASSED[@]} passed, ${#SECURE_FAILED[@]} failed"
    ((${#SECURE_FAILED[@]} == 0))
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
    export BC_TLS_DIR="$TLS_DIR" BC_NAMESRV_ADDR="127.0.0.1:${ns_env#*=}" \
        BC_BROKER_ADDR="127.0.0.1:${broker_env#*=}"
    rc=0
    cargo test --features mock,fault-proxy --test secure_broker -- --test-threads=2 2>&1 | tee "$LOGS/secure-$version.log" \
        || rc=$?
    # The same broker through bc_config keys: C, Go, Python.
    secure_bindings "$version" || rc=1
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
