// Package brokerclient is the Go binding of libbrokerclient, a native Apache RocketMQ
// remoting client: broker-level sends, pulls, offsets, admin and transactions, for one broker
// (Client) or many (Manager, with name-server discovery, pooling and failover).
//
// # Import path and package name
//
// The module is github.com/libbrokerclient/libbrokerclient/bindings/go: the bindings/go
// directory of the libbrokerclient repository. Its package is named brokerclient, after the
// native library it binds (libbrokerclient), not after the directory, so import it with that
// name spelled out:
//
//	import brokerclient "github.com/libbrokerclient/libbrokerclient/bindings/go"
//
// # Installing the native library first
//
// The package is cgo over the C library libbrokerclient, which must be installed before a
// program using it builds. From a checkout of the repository (Rust toolchain needed):
//
//	make install PREFIX=$HOME/.local          # = scripts/install.sh $HOME/.local
//	export PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig
//	export LD_LIBRARY_PATH=$HOME/.local/lib   # the .pc has no rpath; or ldconfig for /usr/local
//
// The default build then links it through pkg-config (brokerclient.pc); no build tags are
// needed. Without PKG_CONFIG_PATH (or a prefix pkg-config searches) the build fails with
// "Package brokerclient was not found in the pkg-config search path"; without
// LD_LIBRARY_PATH (or ldconfig) a program fails to start with "libbrokerclient.so.0.1:
// cannot open shared object file". A library in a directory such as /usr/local/lib needs
// only `ldconfig` after installing.
//
// The repository's own tests build with -tags brokerclient_repo instead, which links the
// checkout's target/debug (`cargo build`) with an rpath to it; -tags brokerclient_release
// links target/release. The module has no dependencies beyond the standard library.
//
// # Calls, contexts and threads
//
// Every call that talks to the network takes a context.Context first. Internally each call
// is the C API's asynchronous operation in queue mode: its completion is queued, and one
// goroutine per Client or Manager waits for the queue's file descriptor through the Go
// netpoller and dispatches it, so a call in flight parks a goroutine, not an OS thread. The
// exception is cheaper: Client.Send and Client.SendOneway make the blocking C call while the
// client is connected and one of a few process-wide slots is free (at most 8 OS threads wait
// in C however many goroutines call); a context that can end cancels it through a per-call
// handle the context's end closes.
// Cancelling a context cancels sends and pulls through the library's cancel token (they
// return once the library confirms); other calls stop waiting at once while the library
// finishes the request within its request timeout. A context's deadline ends the wait the
// same way, with an error matching both ErrTimeout and context.DeadlineExceeded.
//
// # Errors
//
// Every failure is an *Error. errors.Is matches its category (ErrTimeout, ErrConnection,
// ErrBrokerBusy, … one per C bc_status), errors.As gives the broker's response code and
// remark.
//
// # Memory
//
// Messages to send are copied by the library during the call. Pulled messages are copied into
// Go memory by Pull; PullBatch leaves them in the library's memory, without a copy, until
// Batch.Free. Close a Client or Manager when done (Close is idempotent and safe from any
// goroutine); a cleanup closes one that was forgotten.
package brokerclient
