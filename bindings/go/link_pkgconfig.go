//go:build !brokerclient_repo && !brokerclient_release

package brokerclient

// The default: an installed libbrokerclient found through pkg-config (brokerclient.pc, which
// `make install PREFIX=…` writes to PREFIX/lib/pkgconfig; set PKG_CONFIG_PATH for a prefix
// pkg-config does not search). The .pc carries no rpath: a library outside the loader's
// search path needs LD_LIBRARY_PATH at run time (or ldconfig, or
// CGO_LDFLAGS=-Wl,-rpath,PREFIX/lib at build time). This repository's own tests link the
// checkout's target/ instead, with -tags brokerclient_repo (link_repo.go).

// #cgo pkg-config: brokerclient
import "C"
