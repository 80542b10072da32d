#!/usr/bin/env bash
# The broker-version compatibility matrix: runs the integration suite against one broker
# version and records every test's result; merges recorded runs into docs/compatibility.md.
#
# Usage: scripts/compat-matrix.sh run [--no-start] [--c-tests] VERSION
#        scripts/compat-matrix.sh table [--write FILE] VERSION...
#
#   run     starts two brokers of VERSION (scripts/rocketmq.sh; VERSION rust-1.0.0 uses
#           scripts/rocketmq-rust.sh) on BC_NAMESRV_PORT (default 19876) / BC_BROKER_PORT
#           (default 20911; broker-b +10), runs every tests/*.rs file that scripts/test.sh runs
#           against the plain brokers (all but manager.rs, secure_broker.rs and interop_java.rs),
#           then interop_java.rs, and with --c-tests the C tests and samples (gcc, plain mode),
#           records one line per test in target/compat/VERSION.tsv and stops the brokers.
#           --no-start: the brokers of VERSION already run on those ports (and are left running).
#           Exit status: non-zero when a test failed (the record is written either way).
#   table   prints (or with --write, replaces the generated part of FILE with) the markdown
#           table test x version of the recorded runs, one column per VERSION (with
#           target/compat/VERSION.secure.tsv, the ACL/TLS run of scripts/security-compat.sh).
#   parse LOG  prints the file/test/result lines of a cargo test log (for other recorders).
#
# Environment: BC_NAMESRV_PORT, BC_BROKER_PORT, BC_COMPAT_NO_INTEROP=1 (skip interop_java).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/target/compat"

say() { echo "compat-matrix: $*"; }
die() {
    echo "compat-matrix: error: $*" >&2
    exit 2
}
usage() {
    sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

# Test files run against the plain brokers, as scripts/test.sh's integration step runs them.
suite_files() {
    local f name
    for f in tests/*.rs; do
        name=$(basename "$f" .rs)
        case "$name" in manager | secure_broker | interop_java | fault_restart | mock_random) ;; *) echo "$name" ;; esac
    done
}

# parse_cargo LOG: "file<TAB>test<TAB>ok|FAILED" for every test of a cargo test log.
parse_cargo() {
    awk '
        # Output of child processes (mvn) may leave colour codes in front of a result line.
        { gsub(/\033\[[0-9;]*m/, "") }
        /^     Running tests\// { file = $2; sub(/^tests\//, "", file); sub(/\.rs$/, "", file) }
        /^     Running unittests/ { file = "" }
        /^test .* \.\.\. (ok|FAILED|ignored)$/ && file != "" {
            name = $2; res = $NF; print file "\t" name "\t" res
        }' "$1"
}

do_run() {
    local start=1 ctests=0 version=""
    while (($#)); do
        case "$1" in
        --no-start) start=0 ;;
        --c-tests) ctests=1 ;;
        -*) usage ;;
        *) version=$1 ;;
        esac
        shift
    done
    [[ -n "$version" ]] || usage
    export BC_NAMESRV_PORT=${BC_NAMESRV_PORT:-19876} BC_BROKER_PORT=${BC_BROKER_PORT:-20911}
    export BC_NAMESRV_ADDR=127.0.0.1:$BC_NAMESRV_PORT
    export BC_BROKER_ADDR=127.0.0.1:$BC_BROKER_PORT
    export BC_BROKER_B_ADDR=127.0.0.1:$((BC_BROKER_PORT + 10))
    broker_script=scripts/rocketmq.sh
    [[ $version == rust-* ]] && broker_script=scripts/rocketmq-rust.sh
    if ((start)); then
        trap '"$broker_script" stop >/dev/null 2>&1 || true' EXIT
        BC_RMQ_BROKERS=2 "$broker_script" start "${version#rust-}" || die "cannot start $version"
    fi
    mkdir -p "$OUT"
    local log="$OUT/$version.log" tsv="$OUT/$version.tsv" rc=0 t0
    : >"$log"
    local args=() f
    for f in $(suite_files); do args+=(--test "$f"); done
    t0=$(date +%s)
    say "integration suite against $version ($BC_NAMESRV_ADDR, $BC_BROKER_ADDR, $BC_BROKER_B_ADDR)"
    cargo test --no-fail-fast --features mock,fault-proxy "${args[@]}" -- --test-threads=2 >>"$log" 2>&1 || rc=1
    if [[ "${BC_COMPAT_NO_INTEROP:-0}" != 1 ]]; then
        say "Java client interop against $version"
        cargo test --features mock,fault-proxy --test interop_java >>"$log" 2>&1 || rc=1
    fi
    parse_cargo "$log" >"$tsv"
    if ((ctests)); then
        say "C tests and samples (gcc, plain) against $version"
        local clog="$OUT/$version.c.log"
        C_TESTS_CC=gcc C_TESTS_CXX=g++ BC_TEST_STRICT=1 scripts/c-tests.sh plain >"$clog" 2>&1 || rc=1
        awk '/^  (PASS|FAIL) \[plain\] run / { print "c\t" $4 "\t" ($1 == "PASS" ? "ok" : "FAILED") }' \
            "$clog" >>"$tsv"
        tail -n 1 "$clog"
    fi
    local passed failed
    passed=$(awk -F'\t' '$3 == "ok"' "$tsv" | wc -l)
    failed=$(awk -F'\t' '$3 == "FAILED"' "$tsv" | wc -l)
    say "$version: $passed passed, $failed failed in $(($(date +%s) - t0)) s (record: ${tsv#"$ROOT"/})"
    if ((failed)); then
        awk -F'\t' '$3 == "FAILED" { print "  FAILED " $1 "::" $2 }' "$tsv"
        grep -A6 "panicked at" "$log" | cut -c1-300 | head -n 80
    fi
    if ((rc)) && ((failed == 0)); then
        tail -n 40 "$log"
        die "a test run failed before reporting its tests (see ${log#"$ROOT"/})"
    fi
    return $rc
}

do_table() {
    local write="" versions=()
    while (($#)); do
        case "$1" in
        --write)
            write=${2:-}
            shift
            ;;
        -*) usage ;;
        *) versions+=("$1") ;;
        esac
        shift
    done
    ((${#versions[@]})) || usage
    local v files=()
    for v in "${versions[@]}"; do
        [[ -f "$OUT/$v.tsv" ]] || die "no record for $v (scripts/compat-matrix.sh run $v)"
        cat "$OUT/$v.tsv" "$OUT/$v.secure.tsv" 2>/dev/null >"$OUT/.$v.merged"
        files+=("$OUT/.$v.merged")
    done
    local table
    table=$(awk -F'\t' -v names="${versions[*]}" '
        BEGIN { n = split(names, ver, " ") }
        FNR == 1 { col++ }
        { key = $1 "\t" $2; if (!(key in seen)) { seen[key] = 1; order[++rows] = key }
          res[key, col] = ($3 == "ok" ? "pass" : ($3 == "FAILED" ? "**FAIL**" : $3)) }
        END {
            hdr = "| file | test (operations) |"; sep = "|---|---|"
            for (i = 1; i <= n; i++) { hdr = hdr " " ver[i] " |"; sep = sep "---|" }
            print hdr; print sep
            for (r = 1; r <= rows; r++) {
                split(order[r], kv, "\t"); line = "| " kv[1] " | `" kv[2] "` |"
                for (i = 1; i <= n; i++) line = line " " ((order[r], i) in res ? res[order[r], i] : "–") " |"
                print line
            }
            for (i = 1; i <= n; i++) { p = 0; t = 0
                for (r = 1; r <= rows; r++) if ((order[r], i) in res) { t++; if (res[order[r], i] == "pass") p++ }
                tot = tot (i > 1 ? ", " : "") ver[i] ": " p "/" t " pass" }
            print ""; print "Totals: " tot "."
        }' "${files[@]}")
    if [[ -z "$write" ]]; then
        echo "$table"
        return 0
    fi
    local begin="<!-- compat-matrix: begin (generated by scripts/compat-matrix.sh table --write) -->"
    local end="<!-- compat-matrix: end -->"
    grep -qF "$begin" "$write" || die "$write has no '$begin' marker"
    awk -v b="$begin" -v e="$end" -v t="$table" '
        $0 == b { print; print t; skip = 1; next }
        $0 == e { skip = 0 }
        !skip { print }' "$write" >"$write.tmp" && mv "$write.tmp" "$write"
    say "table of ${versions[*]} written into $write"
}

CMD=${1:-}
[[ $# -gt 0 ]] && shift
case "$CMD" in
run) do_run "$@" ;;
table) do_table "$@" ;;
parse) parse_cargo "${1:?log}" ;;
*) usage ;;
esac
