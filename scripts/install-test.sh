#!/usr/bin/env bash
# Installs libbrokerclient into a temporary prefix (scripts/install.sh) and proves a consumer
# can build against the installed files, shared and static, with pkg-config and with CMake's
# find_package: a C program (tests/install/main.c) and a C++20 one including the installed
# C++ wrapper <brokerclient.hpp> (tests/install/main_cpp.cc). Needs cc, c++, pkg-config,
# cmake; no broker.
#
# Usage: scripts/install-test.sh          (BC_NO_BUILD=1: reuse target/release as is;
#                                          KEEP=1: keep the temporary directory)
#
# BC_CHECK_STATIC_LIBS=1 adds a test that the .pc's Libs.private equals what rustc prints
# with --print native-static-libs. It builds the crate in its own target directory
# (target/native-static-libs; a few minutes the first time, a no-op when nothing changed),
# since passing extra rustc flags in target/ would make `cargo build` rebuild every time.
# Prints "install-test: N passed, M failed"; exits non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-cc}
CXX=${CXX:-c++}

for tool in "$CC" "$CXX" pkg-config cmake readelf; do
    command -v "$tool" >/dev/null || {
        echo "install-test: $tool not found (apt-get install -y pkg-config cmake build-essential)" >&2
        exit 2
    }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bc-install-test.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "install-test: keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi
prefix=$tmp/prefix

version=$(sed -n '/^\[package\]/,/^\[/{/^version *=/{s/^version *= *"\([^"]*\)".*/\1/p;q;}}' Cargo.toml)
[[ $version =~ ^([0-9]+)\.([0-9]+)\.[0-9]+ ]] || { echo "install-test: no version in Cargo.toml" >&2; exit 2; }
if [ "${BASH_REMATCH[1]}" = 0 ]; then soname="libbrokerclient.so.0.${BASH_REMATCH[2]}"; else soname="libbrokerclient.so.${BASH_REMATCH[1]}"; fi

passed=0
failed=0
failed_names=()
run_test() { # name command...
    local name=$1
    shift
    printf '\n== install-test: %s\n' "$name"
    if "$@"; then
        passed=$((passed + 1))
        echo "-- $name: ok"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        echo "-- $name: FAILED"
    fi
}

# Output captured in variables, then matched: `cmd | grep -q` fails under pipefail when grep
# exits at the first match and cmd gets SIGPIPE.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p'; }
needs() { # binary pattern: true when a NEEDED entry matches the extended regex
    local n
    n=$(needed "$1")
    grep -qE "$2" <<<"$n"
}

echo "== install-test: scripts/install.sh $prefix"
scripts/install.sh "$prefix"
lib=$prefix/lib
export PKG_CONFIG_PATH="$lib/pkgconfig"

t_layout() {
    local ok=0
    [ -f "$lib/libbrokerclient.so.$version" ] && [ ! -L "$lib/libbrokerclient.so.$version" ] || { echo "no real file libbrokerclient.so.$version"; ok=1; }
    [ "$(readlink "$lib/$soname")" = "libbrokerclient.so.$version" ] || { echo "$soname is not a symlink to the real file"; ok=1; }
    [ "$(readlink -f "$lib/libbrokerclient.so")" = "$(readlink -f "$lib/libbrokerclient.so.$version")" ] || { echo "libbrokerclient.so does not resolve to the real file"; ok=1; }
    [ -f "$lib/libbrokerclient.a" ] || { echo "no libbrokerclient.a"; ok=1; }
    local got
    got=$(readelf -d "$lib/libbrokerclient.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    [ "$got" = "$soname" ] || { echo "installed soname '$got', expected '$soname'"; ok=1; }
    cmp -s include/brokerclient.h "$prefix/include/brokerclient.h" || { echo "installed header differs from include/brokerclient.h"; ok=1; }
    cmp -s bindings/cpp/brokerclient.hpp "$prefix/include/brokerclient.hpp" || { echo "installed C++ wrapper differs from bindings/cpp/brokerclient.hpp"; ok=1; }
    for h in include/brokerclient/adapters/*.h; do
        cmp -s "$h" "$prefix/$h" || { echo "adapter header $h not installed"; ok=1; }
    done
    [ "$(pkg-config --modversion brokerclient)" = "$version" ] || { echo "pkg-config --modversion is not $version"; ok=1; }
    [ -f "$lib/cmake/brokerclient/brokerclientConfig.cmake" ] && [ -f "$lib/cmake/brokerclient/brokerclientConfigVersion.cmake" ] || { echo "no CMake package files"; ok=1; }
    scripts/check-symbols.sh "$lib/libbrokerclient.so.$version" || ok=1
    return $ok
}

t_pkgconfig_shared() {
    local flags out="$tmp/pc_shared"
    flags=$(pkg-config --cflags --libs brokerclient)
    echo "pkg-config --cflags --libs brokerclient: $flags"
    # shellcheck disable=SC2086
    "$CC" -std=c11 -Wall -Wextra -Werror -pedantic tests/install/main.c $flags \
        -Wl,-rpath,"$(pkg-config --variable=libdir brokerclient)" -o "$out" || return 1
    needs "$out" "^${soname//./\\.}\$" || { echo "$out does not need $soname"; return 1; }
    "$out" pkg-config-shared
}

t_pkgconfig_static() {
    local flags out="$tmp/pc_static"
    flags=$(pkg-config --cflags --libs --static brokerclient)
    echo "pkg-config --cflags --libs --static brokerclient: $flags"
    # Both libbrokerclient.so and .a are installed; -l:libbrokerclient.a picks the archive.
    flags=$(sed 's/-lbrokerclient\b/-l:libbrokerclient.a/' <<<"$flags")
    # shellcheck disable=SC2086
    "$CC" -std=c11 -Wall -Wextra -Werror -pedantic tests/install/main.c $flags -o "$out" || return 1
    if needs "$out" brokerclient; then echo "$out still needs a shared libbrokerclient"; return 1; fi
    "$out" pkg-config-static
}

t_pkgconfig_cpp() { # shared|static: the C++ wrapper from the installed include directory
    local flags out="$tmp/pc_cpp_$1"
    if [ "$1" = shared ]; then
        flags=$(pkg-config --cflags --libs brokerclient)
    else
        flags=$(pkg-config --cflags --libs --static brokerclient | sed 's/-lbrokerclient\b/-l:libbrokerclient.a/')
    fi
    # No -I of the source tree: <brokerclient.hpp> and <brokerclient.h> come from the prefix.
    # shellcheck disable=SC2086
    "$CXX" -std=c++20 -Wall -Wextra -Werror -pedantic tests/install/main_cpp.cc $flags \
        -Wl,-rpath,"$(pkg-config --variable=libdir brokerclient)" -o "$out" || return 1
    if [ "$1" = shared ]; then
        needs "$out" "^${soname//./\\.}\$" || { echo "$out does not need $soname"; return 1; }
    elif needs "$out" brokerclient; then
        echo "$out still needs a shared libbrokerclient"
        return 1
    fi
    "$out" "pkg-config-cpp-$1"
}

t_cmake() { # shared|static|cpp
    local b="$tmp/cmake-build"
    if [ ! -f "$b/CMakeCache.txt" ]; then
        cmake -S tests/install -B "$b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$CC" \
            -DCMAKE_CXX_COMPILER="$CXX" \
            -DBC_EXPECT_VERSION="$version" -DCMAKE_BUILD_TYPE=Release || return 1
    fi
    cmake --build "$b" --target "main_$1" || return 1
    if [ "$1" = shared ] || [ "$1" = cpp ]; then
        needs "$b/main_$1" "^${soname//./\\.}\$" || { echo "main_$1 does not need $soname"; return 1; }
    elif needs "$b/main_static" brokerclient; then
        echo "main_static still needs a shared libbrokerclient"
        return 1
    fi
    "$b/main_$1" "cmake-$1"
}

t_relocated() { # the CMake package is relocatable: move the prefix and find it again
    local moved="$tmp/moved" b="$tmp/cmake-moved"
    cp -a "$prefix" "$moved"
    cmake -S tests/install -B "$b" -DCMAKE_PREFIX_PATH="$moved" -DCMAKE_C_COMPILER="$CC" \
        -DCMAKE_CXX_COMPILER="$CXX" >/dev/null || return 1
    cmake --build "$b" --target main_shared >/dev/null || return 1
    local libs
    libs=$(ldd "$b/main_shared")
    grep -qF "$moved/lib/$soname" <<<"$libs" || { echo "main_shared does not load from $moved:"; echo "$libs"; return 1; }
    "$b/main_shared" cmake-relocated
}

t_static_libs() {
    local out want got
    out=$(CARGO_TARGET_DIR=target/native-static-libs cargo rustc --lib -- --print native-static-libs 2>&1) || {
        echo "$out" | tail -20
        return 1
    }
    want=$(sed -n 's/.*native-static-libs: *//p' <<<"$out" | tail -n1 | xargs)
    got=$(pkg-config --libs --static brokerclient | tr ' ' '\n' | grep -v -e '^-L' -e '^-lbrokerclient$' | xargs)
    echo "rustc --print native-static-libs: $want"
    echo "brokerclient.pc Libs.private:     $got"
    [ -n "$want" ] && [ "$want" = "$got" ] || {
        echo "update DEFAULT_STATIC_LIBS in scripts/install.sh (and the README's static link line)"
        return 1
    }
}

run_test "installed layout (files, symlinks, soname, headers, C++ wrapper, symbols)" t_layout
run_test "pkg-config, shared" t_pkgconfig_shared
run_test "pkg-config --static, static archive" t_pkgconfig_static
run_test "CMake find_package, brokerclient::brokerclient" t_cmake shared
run_test "CMake find_package, brokerclient::brokerclient_static" t_cmake static
run_test "C++ wrapper <brokerclient.hpp>, pkg-config, shared" t_pkgconfig_cpp shared
run_test "C++ wrapper <brokerclient.hpp>, pkg-config --static" t_pkgconfig_cpp static
run_test "C++ wrapper <brokerclient.hpp>, CMake brokerclient::brokerclient" t_cmake cpp
run_test "CMake package relocated to another prefix" t_relocated
if [ "${BC_CHECK_STATIC_LIBS:-0}" = 1 ]; then
    run_test "Libs.private matches rustc --print native-static-libs" t_static_libs
fi

echo
for n in "${failed_names[@]+"${failed_names[@]}"}"; do echo "install-test: FAILED: $n"; done
echo "install-test: $passed passed, $failed failed"
[ "$failed" = 0 ]
