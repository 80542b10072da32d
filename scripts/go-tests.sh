#!/usr/bin/env bash
# Tests of the Go binding (bindings/go) against the real broker:
#   go vet -> go test -race -> go test under GOEXPERIMENT=cgocheck2 -> benchmarks once (smoke)
#   -> the quickstart, linked in-repo -> the quickstart built with -tags brokerclient_pkgconfig
#   against an installed copy (scripts/install.sh of target/release).
#
# Usage: BC_BROKER_ADDR=127.0.0.1:10911 BC_NAMESRV_ADDR=127.0.0.1:9876 scripts/go-tests.sh
#
# Needs target/debug/libbrokerclient.so (`cargo build`), target/release for the pkg-config
# part (`cargo build --release`; without it that part is skipped, unless BC_TEST_STRICT=1,
# as in CI, makes it a failure), and Go >= 1.24 (Debian 12's golang-go is 1.19: too old, so
# the image's /usr/local/go is used).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BC_BROKER_ADDR:?set BC_BROKER_ADDR (host:port of the test broker)}"
: "${BC_NAMESRV_ADDR:?set BC_NAMESRV_ADDR (host:port of the test name server)}"
export BC_BROKER_ADDR BC_NAMESRV_ADDR
[ -x /usr/local/go/bin/go ] && PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "go-tests: go not found (need Go >= 1.24)" >&2; exit 1; }
minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
((minor >= 24)) || { echo "go-tests: $(go env GOVERSION) is too old (need Go >= 1.24)" >&2; exit 1; }
[ -f target/debug/libbrokerclient.so ] || { echo "go-tests: run cargo build first" >&2; exit 1; }
step() { printf -- '-- go-tests: %s\n' "$*"; }

cd bindings/go
step "go vet (default and release builds)"
go vet ./...
go vet -tags brokerclient_release ./...
step "go test -race"
go test -race -count=1 ./...
step "go test with GOEXPERIMENT=cgocheck2"
GOEXPERIMENT=cgocheck2 go test -count=1 ./...
step "benchmarks, once each (smoke; speed is measured by hand, see bench_test.go)"
go test -count=1 -run '^$' -bench . -benchtime=1x .
step "quickstart"
go run ./examples/quickstart

step "quickstart through pkg-config against an installed copy"
if [ ! -f ../../target/release/libbrokerclient.so ]; then
    [ "${BC_TEST_STRICT:-0}" = 1 ] && { echo "go-tests: no release build for the pkg-config test" >&2; exit 1; }
    echo "go-tests: skipped (no target/release; run cargo build --release)"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bc-go-tests.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
BC_NO_BUILD=1 ../../scripts/install.sh "$tmp/prefix" >/dev/null
# The rpath also changes the key of Go's build cache, which does not cover what pkg-config
# prints: without it a package cached from a build against another .pc would be linked.
PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig CGO_LDFLAGS="-O2 -g -Wl,-rpath,$tmp/prefix/lib" \
    go build -tags brokerclient_pkgconfig -o "$tmp/quickstart" ./examples/quickstart
if ! ldd "$tmp/quickstart" | grep -q "$tmp/prefix/lib/libbrokerclient"; then
    echo "go-tests: the pkg-config build does not link the installed library:" >&2
    ldd "$tmp/quickstart" >&2
    exit 1
fi
"$tmp/quickstart"
echo "go-tests: all passed"
