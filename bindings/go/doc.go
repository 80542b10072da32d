// Package brokerclient is the Go binding of libbrokerclient, a native Apache RocketMQ
// remoting client: broker-level sends, pulls, offsets, admin and transactions, for one broker
// (Client) or many (Manager, with name-server discovery, pooling and failover).
//
// # Linking
//
// By default the package links the repository's debug build, target/debug/libbrokerclient.so
// (built by `cargo build`), with an rpath to it, so `go test` and `go run` work in a checkout
// without installing anything. Build with -tags brokerclient_release to link
// target/release (`cargo build --release`), or with -tags brokerclient_pkgconfig to link an
// installed library through pkg-config (`brokerclient.pc`). The module has no dependencies
// beyond the standard library.
//
// # Calls, contexts and threads
//
// Every call that talks to the network takes a context.Context first. Internally each call
// is the C API's asynchronous operation in queue mode: its completion is queued, and one
// goroutine per Client or Manager waits for the queue's file descriptor through the Go
// netpoller and dispatches it, so a call in flight parks a goroutine, never an OS thread.
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
