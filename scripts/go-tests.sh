#!/usr/bin/env bash
# Tests of the Go binding (bindings/go, module github.com/libbrokerclient/libbrokerclient/bindings/go,
# package brokerclient) against the real broker:
#   go vet -> go test -race -> go test under GOEXPERIMENT=cgocheck2 -> benchmarks once (smoke)
#   -> the quickstart -> a fresh module outside the checkout, as a user builds one.
#
# Usage: BC_BROKER_ADDR=127.0.0.1:10911 BC_NAMESRV_ADDR=127.0.0.1:9876 scripts/go-tests.sh
#
# Linking. The binding's default build (no tags) links an INSTALLED library through
# pkg-config (brokerclient.pc, what `make install PREFIX=…` writes). Every in-repo go vet /
# go test / go run here builds with -tags brokerclient_repo instead, which links this
# checkout's target/debug (`cargo build`) with an rpath to it (bindings/go/link_repo.go;
# -tags brokerclient_release is the same against target/release).
#
# The last step is the user's path, with NO build tags: scripts/install.sh of target/release
# into a temporary prefix, a new module in a temporary directory outside the checkout that
# requires the binding (a `replace` to a COPY of bindings/go stands in for a published
# version), PKG_CONFIG_PATH as its only pointer to the library, GOFLAGS=-mod=mod GOPROXY=off
# (it needs nothing from the network), LD_LIBRARY_PATH at run time (the installed .pc has no
# rpath), and a send and a pull against the broker.
#
# Needs target/debug/libbrokerclient.so (`cargo build`), target/release for the last step
# (`cargo build --release`) and pkg-config; without those that step is skipped with a warning,
# unless BC_TEST_STRICT=1 (as in CI: scripts/test.sh) makes it a failure. Go >= 1.24 (Debian
# 12's golang-go is 1.19: too old, so the image's /usr/local/go is used).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
: "${BC_BROKER_ADDR:?set BC_BROKER_ADDR (host:port of the test broker)}"
: "${BC_NAMESRV_ADDR:?set BC_NAMESRV_ADDR (host:port of the test name server)}"
export BC_BROKER_ADDR BC_NAMESRV_ADDR
[ -x /usr/local/go/bin/go ] && PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "go-tests: go not found (need Go >= 1.24)" >&2; exit 1; }
minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
((minor >= 24)) || { echo "go-tests: $(go env GOVERSION) is too old (need Go >= 1.24)" >&2; exit 1; }
[ -f target/debug/libbrokerclient.so ] || { echo "go-tests: run cargo build first" >&2; exit 1; }
step() { printf -- '-- go-tests: %s\n' "$*"; }

# In-repo builds link the checkout's target/debug (see above).
repo=(-tags brokerclient_repo)

cd bindings/go
step "go vet (in-repo links: target/debug and target/release)"
go vet "${repo[@]}" ./...
go vet -tags brokerclient_release ./...
step "go test -race"
go test "${repo[@]}" -race -count=1 ./...
step "go test with GOEXPERIMENT=cgocheck2"
GOEXPERIMENT=cgocheck2 go test "${repo[@]}" -count=1 ./...
step "benchmarks, once each (smoke; speed is measured by hand, see bench_test.go)"
go test "${repo[@]}" -count=1 -run '^$' -bench . -benchtime=1x .
step "quickstart"
go run "${repo[@]}" ./examples/quickstart
cd "$root"

step "a fresh module outside the checkout: no build tags, an installed library through pkg-config"
missing() {
    if [ "${BC_TEST_STRICT:-0}" = 1 ]; then
        echo "go-tests: FAILED: $* (BC_TEST_STRICT=1)" >&2
        exit 1
    fi
    echo "go-tests: WARNING: fresh-module step SKIPPED: $*" >&2
    echo "go-tests: passed, except the fresh-module step (skipped)"
    exit 0
}
[ -f target/release/libbrokerclient.so ] || missing "no target/release/libbrokerclient.so (run cargo build --release)"
command -v pkg-config >/dev/null || missing "pkg-config is not installed"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bc-go-fresh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
case "$tmp/" in "$root"/*) echo "go-tests: the temporary directory $tmp is inside the checkout" >&2; exit 1 ;; esac
BC_NO_BUILD=1 scripts/install.sh "$tmp/prefix" >/dev/null
pc=$tmp/prefix/lib/pkgconfig
[ -f "$pc/brokerclient.pc" ] || { echo "go-tests: scripts/install.sh wrote no $pc/brokerclient.pc" >&2; exit 1; }
# The copy stands in for the published module: a `replace` to the checkout itself would also
# work, but would not show that the module builds away from target/ and include/.
cp -r bindings/go "$tmp/binding"
mkdir "$tmp/app"
cp bindings/go/internal/freshapp/main.go "$tmp/app/main.go"
cat >"$tmp/app/go.mod" <<'EOF'
module example.com/brokerclientfresh

go 1.24

require github.com/libbrokerclient/libbrokerclient/bindings/go v0.0.0

// Stands in for a published version of the binding: a copy of bindings/go.
replace github.com/libbrokerclient/libbrokerclient/bindings/go => ../binding
EOF
# A user's environment: no tags, no CGO_* flags, no go.work, no network; only PKG_CONFIG_PATH.
fresh_env=(env -u CGO_CFLAGS -u CGO_LDFLAGS -u CGO_CPPFLAGS -u GOEXPERIMENT -u LD_LIBRARY_PATH
    GOWORK=off GOFLAGS=-mod=mod GOPROXY=off PKG_CONFIG_PATH="$pc")
binding=github.com/libbrokerclient/libbrokerclient/bindings/go
dir=$(cd "$tmp/app" && "${fresh_env[@]}" go list -m -f '{{.Dir}}' "$binding")
[ "$dir" = "$tmp/binding" ] || { echo "go-tests: the fresh module resolved the binding to '$dir', not the copy $tmp/binding" >&2; exit 1; }
(cd "$tmp/app" && "${fresh_env[@]}" go vet . "$binding" && "${fresh_env[@]}" go build -o "$tmp/fresh" .)
# The .pc gives -L and -lbrokerclient but no rpath (check: pkg-config --libs brokerclient),
# so the program finds the library the way a user's does: LD_LIBRARY_PATH (or ldconfig).
libs=$(PKG_CONFIG_PATH=$pc pkg-config --libs brokerclient)
echo "go-tests: pkg-config --libs brokerclient: $libs"
if [[ $libs == *rpath* ]]; then
    run_env=(env)
else
    run_env=(env LD_LIBRARY_PATH="$tmp/prefix/lib")
fi
if ! "${run_env[@]}" ldd "$tmp/fresh" | grep -q "=> $tmp/prefix/lib/libbrokerclient"; then
    echo "go-tests: the fresh program does not load the installed library:" >&2
    "${run_env[@]}" ldd "$tmp/fresh" >&2
    exit 1
fi
"${run_env[@]}" "$tmp/fresh"
echo "go-tests: all passed"
