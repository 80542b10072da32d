#!/usr/bin/env bash
# Installs libbrokerclient (release build) under a prefix.
#
# Usage: scripts/install.sh PREFIX        (make install PREFIX=/usr/local)
#
#   <prefix>/<libdir>/libbrokerclient.so.X.Y.Z        the shared library (soname libbrokerclient.so.0.Y
#                     libbrokerclient.so.0.Y -> ...    during 0.x, libbrokerclient.so.X from 1.0)
#                     libbrokerclient.so -> ...        for -lbrokerclient
#                     libbrokerclient.a                the static library
#                     pkgconfig/brokerclient.pc        pkg-config --cflags --libs [--static] brokerclient
#                     cmake/brokerclient/brokerclientConfig{,Version}.cmake
#                                                      find_package(brokerclient 0.1) ->
#                                                      brokerclient::brokerclient(_static)
#   <prefix>/include/brokerclient.h
#   <prefix>/include/brokerclient.hpp                  the header-only C++20 wrapper (bindings/cpp)
#   <prefix>/include/brokerclient/adapters/*.h         header-only event-loop adapters
#
# Environment:
#   LIBDIR          library directory, relative to PREFIX or absolute (default: lib)
#   DESTDIR         staging root prepended to every installed path (packaging); the files
#                   written still refer to PREFIX
#   BC_NO_BUILD=1   do not run `cargo build --release` (install what target/release holds)
#   BC_STATIC_LIBS  system libraries a static link needs (default below)
#
# Run ldconfig yourself when installing into a system directory.
set -euo pipefail
cd "$(dirname "$0")/.."

# The static library's system dependencies, as printed by
#   cargo rustc --release --lib -- --print native-static-libs
# (not run here: it changes the build's fingerprint, so it and `cargo build --release` would
# rebuild each other). scripts/install-test.sh links statically with this list, so a
# dependency that needs another library makes that test fail.
DEFAULT_STATIC_LIBS="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

if [ $# -ne 1 ] || [ -z "$1" ] || [[ $1 == -* ]]; then
    echo "usage: scripts/install.sh PREFIX   (env: LIBDIR, DESTDIR, BC_NO_BUILD, BC_STATIC_LIBS)" >&2
    exit 2
fi
prefix=$(realpath -m -- "$1")
libdir_arg=${LIBDIR:-lib}
if [[ $libdir_arg == /* ]]; then
    libdir=$(realpath -m -- "$libdir_arg")
else
    libdir="$prefix/$libdir_arg"
fi
case "$libdir/" in
"$prefix"/*) libdir_rel=${libdir#"$prefix"/} ;;
*)
    echo "install.sh: LIBDIR ($libdir) must be inside PREFIX ($prefix)" >&2
    exit 2
    ;;
esac
destdir=${DESTDIR:-}
static_libs=${BC_STATIC_LIBS:-$DEFAULT_STATIC_LIBS}

version=$(sed -n '/^\[package\]/,/^\[/{/^version *=/{s/^version *= *"\([^"]*\)".*/\1/p;q;}}' Cargo.toml)
if ! [[ $version =~ ^([0-9]+)\.([0-9]+)\.([0-9]+) ]]; then
    echo "install.sh: cannot read the version from Cargo.toml" >&2
    exit 1
fi
major=${BASH_REMATCH[1]}
minor=${BASH_REMATCH[2]}
if [ "$major" = 0 ]; then soversion="0.$minor"; else soversion=$major; fi
soname="libbrokerclient.so.$soversion"
realname="libbrokerclient.so.$version"

if [ "${BC_NO_BUILD:-0}" != 1 ]; then
    cargo build --release --lib
fi
so=target/release/libbrokerclient.so
a=target/release/libbrokerclient.a
for f in "$so" "$a" include/brokerclient.h bindings/cpp/brokerclient.hpp; do
    [ -f "$f" ] || { echo "install.sh: $f is missing" >&2; exit 1; }
done
built_soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$built_soname" != "$soname" ]; then
    echo "install.sh: $so has soname '$built_soname', expected '$soname' (see build.rs)" >&2
    exit 1
fi

# The CMake config lives in <libdir>/cmake/brokerclient: the way back up to the prefix.
up="../.."
IFS=/ read -r -a parts <<<"$libdir_rel"
for p in "${parts[@]}"; do [ -n "$p" ] && up="$up/.."; done
static_libs_cmake=$(printf '%s\n' $static_libs | sed -n 's/^-l//p' | paste -sd';' -)
sizeof_void_p=$(($(getconf LONG_BIT) / 8))

substitute() { # template -> output
    sed -e "s|@PREFIX@|$prefix|g" \
        -e "s|@LIBDIR@|\${exec_prefix}/$libdir_rel|g" \
        -e "s|@LIBDIR_REL@|$libdir_rel|g" \
        -e "s|@PREFIX_FROM_CMAKEDIR@|$up|g" \
        -e "s|@VERSION@|$version|g" \
        -e "s|@VERSION_MAJOR@|$major|g" \
        -e "s|@VERSION_MINOR@|$minor|g" \
        -e "s|@SONAME@|$soname|g" \
        -e "s|@STATIC_LIBS@|$static_libs|g" \
        -e "s|@STATIC_LIBS_CMAKE@|$static_libs_cmake|g" \
        -e "s|@SIZEOF_VOID_P@|$sizeof_void_p|g" \
        "$1" >"$2"
    if grep -n '@[A-Z_]*@' "$2" >&2; then
        echo "install.sh: unsubstituted placeholder in $2" >&2
        exit 1
    fi
}

L="$destdir$libdir"
I="$destdir$prefix/include"
install -d "$L" "$L/pkgconfig" "$L/cmake/brokerclient" "$I" "$I/brokerclient/adapters"

install -m 0755 "$so" "$L/$realname"
ln -sfn "$realname" "$L/$soname"
ln -sfn "$soname" "$L/libbrokerclient.so"
install -m 0644 "$a" "$L/libbrokerclient.a"

install -m 0644 include/brokerclient.h "$I/brokerclient.h"
install -m 0644 bindings/cpp/brokerclient.hpp "$I/brokerclient.hpp"
for h in include/brokerclient/adapters/*.h; do
    [ -f "$h" ] && install -m 0644 "$h" "$I/brokerclient/adapters/"
done

substitute packaging/brokerclient.pc.in "$L/pkgconfig/brokerclient.pc"
substitute packaging/brokerclientConfig.cmake.in "$L/cmake/brokerclient/brokerclientConfig.cmake"
substitute packaging/brokerclientConfigVersion.cmake.in "$L/cmake/brokerclient/brokerclientConfigVersion.cmake"
chmod 0644 "$L/pkgconfig/brokerclient.pc" "$L/cmake/brokerclient/"*.cmake

echo "install.sh: libbrokerclient $version installed under $destdir$prefix:"
(cd "$destdir$prefix" && find . \( -type f -o -type l \) \( -path "./$libdir_rel/*" -o -path './include/*' \) |
    grep brokerclient | sort | while read -r f; do
        if [ -L "$f" ]; then echo "  ${f#./} -> $(readlink "$f")"; else echo "  ${f#./}"; fi
    done)
