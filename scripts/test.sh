#!/usr/bin/env bash
# Runs every test of the project (README's test command, `make test`):
#   lints -> header drift -> unit + property tests -> real broker -> integration tests.
# The broker is started fresh and stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== test.sh: %s\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings

step "generated header is current"
BC_CHECK_HEADER=1 cargo build
git diff --exit-code -- include/ || {
    echo "include/ differs from the committed header: commit the regenerated header" >&2
    exit 1
}

step "unit and property tests (no broker needed)"
cargo test --lib

step "start the real broker"
trap 'scripts/rocketmq.sh stop || true' EXIT
scripts/rocketmq.sh start

step "integration tests against the real broker"
cargo test --test '*' -- --test-threads=2
cargo test --doc

step "quickstart"
cargo run --example quickstart

echo
echo "test.sh: all tests passed"
