#!/usr/bin/env bash
# Builds and runs the C and C++ tests of the C ABI (tests/c/), the C samples (examples-c/) and
# the C++ wrapper's tests (bindings/cpp/tests/).
#
# Usage: scripts/c-tests.sh [plain|asan|valgrind|all]      (default: plain)
#
#   plain     every file compiled with gcc (and clang / clang++ when installed) as
#             -std=c11 (C++: -std=c++17; -std=c++20 for sources including the C++ wrapper
#             brokerclient.hpp, which needs std::span) -Wall -Wextra -Werror -pedantic, then run.
#   asan      the same with -fsanitize=address,undefined -fno-omit-frame-pointer; checks that
#             __asan_init is in every binary; runs with ASAN_OPTIONS=detect_leaks=1 (LeakSanitizer
#             sees the Rust side's allocations too: the library uses the system allocator).
#   valgrind  plain gcc builds run under
#             valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
#             --track-origins=yes, with fewer iterations (BC_VALGRIND_ITERATIONS, default 100).
#   all       the three in turn, one summary.
#
# The samples, bindings/cpp/tests and tests/c/test_operations.c need the real broker: this
# script does not start it (scripts/test.sh does) and FAILS when it is not reachable at
# $BC_BROKER_ADDR (default 127.0.0.1:10911); bindings/cpp/tests and test_operations also ask the
# name server at $BC_NAMESRV_ADDR (default 127.0.0.1:9876; scripts/with-mock-broker.sh points
# both at the mock broker, where they skip by name what only a real broker does). The rest of
# tests/c needs no broker. test_operations must call every function the header declares (the
# fault proxy's aside): a step below fails when one is not called there. Links against
# target/debug/libbrokerclient.so (built here with `cargo build --lib`) with an rpath.
# Binaries and logs: target/c-tests/<mode>/.
#
# Environment: BC_BROKER_ADDR, BC_NAMESRV_ADDR; BC_TEST_ITERATIONS (sends per sample, default
# 1000; stress loops of test_api, default 200); BC_VALGRIND_ITERATIONS; C_TESTS_CC /
# C_TESTS_CXX (compiler lists, default "gcc clang" / "g++ clang++", missing ones skipped;
# gcc/g++ are required);
# C_TESTS_VERBOSE=1 prints every run's output; BC_TEST_STRICT=1 makes test_api fail on the
# known library bugs it reports.
#
# Prints "c-tests: N passed, M failed" last; exits non-zero when M > 0.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

MODE=${1:-plain}
case "$MODE" in
plain | asan | valgrind) MODES=("$MODE") ;;
all) MODES=(plain asan valgrind) ;;
-h | --help)
    sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "usage: $0 [plain|asan|valgrind|all]" >&2
    exit 2
    ;;
esac

BROKER_ADDR=${BC_BROKER_ADDR:-127.0.0.1:10911}
export BC_BROKER_ADDR=$BROKER_ADDR
export BC_NAMESRV_ADDR=${BC_NAMESRV_ADDR:-127.0.0.1:9876}
LIBDIR=$ROOT/target/debug
STD_C=(-std=c11 -Wall -Wextra -Werror -pedantic -g)
STD_CXX=(-Wall -Wextra -Werror -pedantic -g) # -std= per source: see cxx_std
SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer)
LINK=(-L"$LIBDIR" -lbrokerclient -Wl,-rpath,"$LIBDIR" -lpthread)
VALGRIND=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --track-origins=yes --num-callers=30)

PASSED=0
FAILED=0
FAILURES=()
say() { printf 'c-tests: %s\n' "$*"; }
pass() {
    PASSED=$((PASSED + 1))
    printf '  PASS %-55s %s\n' "$1" "${2:-}"
}
fail() {
    FAILED=$((FAILED + 1))
    FAILURES+=("$1")
    printf '  FAIL %-55s %s\n' "$1" "${2:-}"
}
now_ms() { date +%s%3N; }

# run_step NAME LOG TIMEOUT_S CMD...: runs CMD with its output in LOG; records pass/fail.
run_step() {
    local name=$1 log=$2 limit=$3
    shift 3
    local t0 rc
    t0=$(now_ms)
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
    rc=$?
    local took
    took=$(awk -v ms=$(($(now_ms) - t0)) 'BEGIN { printf "%.1fs", ms / 1000 }')
    if [ "$rc" -eq 0 ]; then
        pass "$name" "$took  $(grep -v '^==[0-9]*==' "$log" | tail -n 1 | cut -c1-70)"
        if [ "${C_TESTS_VERBOSE:-0}" = 1 ]; then
            sed 's/^/      | /' "$log"
        else
            grep -h 'KNOWN BUG' "$log" | sed 's/^/      | /'
        fi
    else
        local why="exit $rc"
        [ "$rc" -eq 124 ] && why="timed out after ${limit}s"
        [ "$rc" -eq 99 ] && why="valgrind errors"
        fail "$name" "$took  ($why, log: ${log#"$ROOT"/})"
        tail -n 60 "$log" | sed 's/^/      | /'
    fi
    return "$rc"
}

compilers() { # compilers KIND(c|cxx): the available ones, gcc/g++ first and required
    local list
    if [ "$1" = c ]; then list=${C_TESTS_CC:-gcc clang}; else list=${C_TESTS_CXX:-g++ clang++}; fi
    local cc
    for cc in $list; do
        if command -v "$cc" >/dev/null 2>&1; then
            echo "$cc"
        elif [ "$cc" = gcc ] || [ "$cc" = g++ ]; then
            echo "$cc" # reported as a compile failure below
        else
            say "note: $cc not installed, skipped" >&2
        fi
    done
}

broker_reachable() {
    local host=${BROKER_ADDR%:*} port=${BROKER_ADDR##*:}
    timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
mkdir -p "$ROOT/target/c-tests"
if ! run_step "cargo build --lib" "$ROOT/target/c-tests/cargo-build.log" 1800 cargo build --lib ||
    [ ! -f "$LIBDIR/libbrokerclient.so" ]; then
    echo "c-tests: $PASSED passed, $((FAILED > 0 ? FAILED : 1)) failed"
    exit 1
fi

if broker_reachable; then
    pass "broker reachable at $BROKER_ADDR"
else
    fail "broker reachable at $BROKER_ADDR" "(start it: scripts/rocketmq.sh start; the samples will fail)"
fi

# The exports C sees: all bc_-prefixed (C_ABI.md 3.5), and all declared in the header.
exports=$(nm -D --defined-only "$LIBDIR/libbrokerclient.so" | awk '{ print $3 }' | sort -u)
foreign=$(grep -v '^bc_' <<<"$exports" | grep -v '^$' || true)
if [ -z "$foreign" ]; then
    pass "exports are bc_* only ($(wc -l <<<"$exports") symbols)"
else
    fail "exports are bc_* only" "(also: $(tr '\n' ' ' <<<"$foreign" | cut -c1-200))"
fi
undeclared=$(comm -23 <(grep '^bc_' <<<"$exports") \
    <(grep -o '\bbc_[A-Za-z0-9_]*[[:space:]]*(' include/brokerclient.h | tr -d '( \t' | sort -u))
# (cbindgen does not expand macro_rules!: an extern fn declared through a macro is exported
# but silently missing from the header.)
if [ -z "$undeclared" ]; then
    pass "include/brokerclient.h declares every export"
else
    fail "include/brokerclient.h declares every export" "($(wc -l <<<"$undeclared") missing)"
    sed 's/^/      | /' <<<"$undeclared"
fi

# tests/c/test_bad_input.c passes NULL for every pointer parameter of every function, from a
# table generated from the header: a new function must not go untested.
run_step "tests/c/bad_input_table.inc matches the header" "$ROOT/target/c-tests/bad-input-table.log" 60 \
    python3 scripts/gen-c-bad-input.py --check

# header_functions_in VERB CALLS SOURCE COMPILER: every function the header declares
# unconditionally (the fault proxy's, under BC_FEATURE_FAULT_PROXY, are test-only) must occur in
# SOURCE without its comments (stripped by COMPILER): as a word, or with CALLS=1 as a call (the
# name followed by "("). Names are taken from the preprocessed header.
header_functions_in() {
    local verb=$1 calls=$2 src=$3 cc=$4 declared code missing=() f
    declared=$(gcc -E -P -x c include/brokerclient.h | grep -o '\bbc_[A-Za-z0-9_]*[[:space:]]*(' | tr -d '( \t' | sort -u)
    code=$("$cc" -fpreprocessed -dD -E -P "$src") || return 1
    for f in $declared; do
        if [ "$calls" = 1 ]; then
            grep -qE "\\b$f[[:space:]]*\\(" <<<"$code" || missing+=("$f")
        else
            grep -qw "$f" <<<"$code" || missing+=("$f")
        fi
    done
    echo "$(wc -w <<<"$declared") functions declared, ${#missing[@]} not $verb"
    [ "${#missing[@]}" -eq 0 ] || { printf "  not $verb: %s\n" "${missing[@]}"; return 1; }
}
export -f header_functions_in
# bindings/cpp/brokerclient.hpp wraps every one: a new function must be wrapped.
run_step "bindings/cpp/brokerclient.hpp wraps every header function" "$ROOT/target/c-tests/cpp-wrapper.log" 60 \
    bash -c 'header_functions_in wrapped 0 bindings/cpp/brokerclient.hpp g++'
# tests/c/test_operations.c calls every one against the broker: a new function must be called
# there.
run_step "tests/c/test_operations.c calls every header function" "$ROOT/target/c-tests/c-operations.log" 60 \
    bash -c 'header_functions_in called 1 tests/c/test_operations.c gcc'

shopt -s nullglob
C_SOURCES=(tests/c/*.c examples-c/*.c)
CXX_SOURCES=(tests/c/*.cc examples-c/*.cc bindings/cpp/tests/*.cc)
shopt -u nullglob

# Flags a source needs beyond the header and the library, from what it includes: libuv
# (pkg-config; Debian: libuv1-dev; a missing libuv fails the build, it is not skipped) and the
# C++ wrapper's directory.
deps_flags() {
    local src=$1
    if grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](uv\.h|brokerclient/adapters/libuv\.h)[>"]' "$src"; then
        pkg-config --cflags --libs libuv 2>/dev/null || say "note: pkg-config finds no libuv (apt-get install -y libuv1-dev)" >&2
    fi
    if grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]brokerclient\.hpp[>"]' "$src" && [ -d bindings/cpp ]; then
        echo "-Ibindings/cpp"
    fi
}
# The C++ standard of a source: C++20 when it includes the C++ wrapper (std::span), else C++17
# (the C header itself must stay usable from C++17).
cxx_std() {
    if grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]brokerclient\.hpp[>"]' "$1"; then
        echo "-std=c++20"
    else
        echo "-std=c++17"
    fi
}
mapfile -t CCS < <(compilers c)
mapfile -t CXXS < <(compilers cxx)
[ "${#CCS[@]}" -gt 0 ] || fail "a C compiler" "(none of: ${C_TESTS_CC:-gcc clang})"

for mode in "${MODES[@]}"; do
    out=$ROOT/target/c-tests/$mode
    rm -rf "$out"
    mkdir -p "$out"
    say "mode $mode (binaries and logs in ${out#"$ROOT"/})"
    extra=()
    [ "$mode" = asan ] && extra=("${SAN[@]}")
    if [ "$mode" = valgrind ] && ! command -v valgrind >/dev/null 2>&1; then
        fail "[$mode] valgrind installed" "(apt-get install -y valgrind)"
        continue
    fi
    mode_t0=$(now_ms)

    # Compile everything with every compiler.
    bins=()
    for cc in "${CCS[@]}"; do
        for src in "${C_SOURCES[@]}"; do
            bin=$out/$(basename "$src" .c).$cc
            read -ra deps <<<"$(deps_flags "$src")"
            if run_step "[$mode] $cc $src" "$bin.build.log" 300 \
                "$cc" "${STD_C[@]}" "${extra[@]}" -Iinclude "$src" "${deps[@]}" "${LINK[@]}" -o "$bin"; then
                bins+=("$bin")
            fi
        done
    done
    for cxx in "${CXXS[@]}"; do
        for src in "${CXX_SOURCES[@]}"; do
            bin=$out/$(basename "$src" .cc).$cxx
            read -ra deps <<<"$(deps_flags "$src")"
            if run_step "[$mode] $cxx $src" "$bin.build.log" 300 \
                "$cxx" "$(cxx_std "$src")" "${STD_CXX[@]}" "${extra[@]}" -Iinclude "$src" "${deps[@]}" "${LINK[@]}" -o "$bin"; then
                bins+=("$bin")
            fi
            # The C++ wrapper's warnings that only the optimizer finds (-Wmaybe-uninitialized):
            # its tests compiled once more at -O2 (not run).
            if [ "$mode" = plain ] && [[ $src == bindings/cpp/tests/* ]]; then
                run_step "[$mode] $cxx -O2 $src (warnings only)" "$bin.O2.build.log" 300 \
                    "$cxx" "$(cxx_std "$src")" "${STD_CXX[@]}" -O2 -Iinclude "$src" "${deps[@]}" -c -o "$bin.O2.o"
            fi
        done
    done

    # Run: plain and asan run every compiler's binaries; valgrind the first compiler's only
    # (same library code, and valgrind is slow).
    for bin in "${bins[@]}"; do
        name=$(basename "$bin")
        compiler=${name##*.}
        if [ "$mode" = valgrind ] && [ "$compiler" != "${CCS[0]}" ] && [ "$compiler" != "${CXXS[0]:-}" ]; then
            continue
        fi
        case "$mode" in
        plain)
            run_step "[$mode] run $name" "$bin.run.log" 300 "$bin"
            ;;
        asan)
            if nm "$bin" 2>/dev/null | grep '__asan_init' >/dev/null; then  # no grep -q: SIGPIPE + pipefail
                pass "[$mode] __asan_init in $name"
            else
                fail "[$mode] __asan_init in $name" "(not built with ASan)"
                continue
            fi
            run_step "[$mode] run $name" "$bin.run.log" 300 \
                env ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$bin"
            ;;
        valgrind)
            run_step "[$mode] run $name" "$bin.run.log" 1200 \
                env BC_TEST_ITERATIONS="${BC_VALGRIND_ITERATIONS:-100}" "${VALGRIND[@]}" "$bin"
            ;;
        esac
    done
    say "mode $mode done in $(awk -v ms=$(($(now_ms) - mode_t0)) 'BEGIN { printf "%.1fs", ms / 1000 }')"
done

if [ "$FAILED" -gt 0 ]; then
    say "failed:"
    printf '  - %s\n' "${FAILURES[@]}"
fi
echo "c-tests: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
