//go:build !brokerclient_pkgconfig && !brokerclient_release

package brokerclient

// Links the repository's debug build (`cargo build`, what CI and `make test` build) with an
// rpath to it, so tests and examples run without installing anything. Build with
// `-tags brokerclient_release` for target/release (`cargo build --release`), or
// `-tags brokerclient_pkgconfig` for an installed library found through pkg-config.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/debug -Wl,-rpath,${SRCDIR}/../../target/debug -lbrokerclient
import "C"
