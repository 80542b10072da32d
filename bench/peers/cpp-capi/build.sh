#!/usr/bin/env bash
# Builds the C++ client peer of `make bench`: takes librocketmq.so out of the manylinux wheel
# of rocketmq-client-python 0.5.0rc2 (PyPI; the official C++ client with its C API, what a C
# user would pick instead of us) and compiles bench.c against it. Output: $1/cpp-official.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
lib=$out/cpp-capi
if [ ! -f "$lib/rocketmq/librocketmq.so" ]; then
    rm -rf "$lib" && mkdir -p "$lib"
    python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux1_x86_64 \
        --python-version 3.11 rocketmq-client-python==0.5.0rc2 -d "$lib"
    (cd "$lib" && python3 -m zipfile -e ./*.whl .)
fi
${CC:-gcc} -O2 -Wall -Wextra -I"$here/../../c" "$here/bench.c" -o "$out/cpp-official" \
    "$lib/rocketmq/librocketmq.so" -Wl,-rpath,"$lib/rocketmq:$lib/rocketmq/.libs" -lpthread
