//go:build brokerclient_release && !brokerclient_pkgconfig

package brokerclient

// Links the repository's release build (`cargo build --release`), rpath to it.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/release -lbrokerclient
import "C"
