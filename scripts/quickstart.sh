#!/usr/bin/env bash
# README's first command (`make quickstart`): builds the library, starts a local name server
# and broker (left running; `scripts/rocketmq.sh stop` stops it), then compiles and runs
# examples-c/quickstart.c, which sends a message through the C library and pulls it back.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --lib
scripts/rocketmq.sh start
out=target/release/examples-c
mkdir -p "$out"
cc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude examples-c/quickstart.c \
    -o "$out/quickstart" -Ltarget/release -lbrokerclient -Wl,-rpath,"$PWD/target/release" -lpthread
"$out/quickstart"
