//go:build brokerclient_release

package brokerclient

// -tags brokerclient_release (alone or with brokerclient_repo): the in-repository build of
// link_repo.go against the checkout's release build, target/release/libbrokerclient.so
// (`cargo build --release`), with an rpath to it; for measuring (bench_test.go,
// scripts/bench.sh).

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/release -lbrokerclient
import "C"
