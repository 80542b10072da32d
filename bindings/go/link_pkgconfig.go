//go:build brokerclient_pkgconfig

package brokerclient

// Links an installed libbrokerclient found through pkg-config (`brokerclient.pc`, see the
// repository README's install section); set PKG_CONFIG_PATH for a non-standard prefix.

// #cgo pkg-config: brokerclient
import "C"
