//go:build brokerclient_repo && !brokerclient_release

package brokerclient

// -tags brokerclient_repo: this repository's own tests and examples link the checkout's
// debug build, target/debug/libbrokerclient.so (`cargo build`), with an rpath to it, so they
// run without installing anything. Not for users of the module: its default build links an
// installed library through pkg-config (link_pkgconfig.go).

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/debug -Wl,-rpath,${SRCDIR}/../../target/debug -lbrokerclient
import "C"
