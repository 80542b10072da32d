package brokerclient

// Exported functions the C library calls back. In queue mode they run on the dispatcher
// goroutine (inside bc_queue_dispatch), or on the goroutine freeing the queue; the
// transaction check and the log callback run on library threads. Each does a non-blocking
// hand-off (a buffered channel of one per call) and recovers panics so that none crosses into C.

// #include "shim.h"
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// errPanic completes an operation whose callback panicked (a bug in this package).
var errPanic = &Error{Status: ErrFatal, Message: "panic in the Go binding's callback"}

// pendingOf resolves and releases the one-shot handle of an operation.
func pendingOf(ud unsafe.Pointer) *pending {
	h := cgo.Handle(uintptr(ud))
	p := h.Value().(*pending)
	h.Delete()
	pendingHandles.Add(-1)
	return p
}

// complete delivers an outcome; a panic while building it still completes the call, with
// ErrFatal, so that its waiter never hangs.
func complete(ud unsafe.Pointer, status C.bc_status, cerr *C.bc_error, fill func(*outcome)) {
	var p *pending
	defer func() {
		if r := recover(); r != nil && p != nil {
			p.deliver(outcome{err: errPanic})
		}
	}()
	p = pendingOf(ud)
	var o outcome
	if status != C.BC_OK {
		o.err = errorFrom(status, cerr)
	} else if fill != nil {
		fill(&o)
	}
	p.deliver(o)
}

//export bcgoDoneCb
func bcgoDoneCb(ud unsafe.Pointer, status C.bc_status, cerr *C.bc_error) {
	complete(ud, status, cerr, nil)
}

//export bcgoSendCb
func bcgoSendCb(ud unsafe.Pointer, status C.bc_status, cerr *C.bc_error, res *C.bc_send_result) {
	complete(ud, status, cerr, func(o *outcome) { o.send = sendResultFrom(res) })
}

//export bcgoInt64Cb
func bcgoInt64Cb(ud unsafe.Pointer, status C.bc_status, cerr *C.bc_error, v C.int64_t) {
	complete(ud, status, cerr, func(o *outcome) { o.i64 = int64(v) })
}

//export bcgoStringCb
func bcgoStringCb(ud unsafe.Pointer, status C.bc_status, cerr *C.bc_error, s *C.char) {
	complete(ud, status, cerr, func(o *outcome) { o.str = C.GoString(s) })
}

//export bcgoPullCb
func bcgoPullCb(ud unsafe.Pointer, status C.bc_status, cerr *C.bc_error, b *C.bc_batch) {
	var p *pending
	delivered := false
	defer func() {
		r := recover()
		if !delivered {
			C.bc_batch_free(b) // the batch is ours unless a waiter took it; NULL is ignored
		}
		if r != nil && p != nil {
			p.deliver(outcome{err: errPanic})
		}
	}()
	p = pendingOf(ud)
	if status != C.BC_OK {
		p.deliver(outcome{err: errorFrom(status, cerr)})
		return
	}
	delivered = p.deliver(outcome{batch: b})
}

//export bcgoFreeHandle
func bcgoFreeHandle(ud unsafe.Pointer) {
	defer func() { _ = recover() }()
	cgo.Handle(uintptr(ud)).Delete()
}

//export bcgoTxCheckCb
func bcgoTxCheckCb(ud unsafe.Pointer, check *C.bc_transaction_check) (state C.int32_t) {
	defer func() {
		if recover() != nil {
			state = C.int32_t(TxUnknown) // the broker asks again later
		}
	}()
	handler := cgo.Handle(uintptr(ud)).Value().(TransactionCheckHandler)
	tc := transactionCheckFrom(check)
	defer func() { tc.check = nil }() // borrowed for the callback only
	return C.int32_t(handler(tc))
}

//export bcgoLogCb
func bcgoLogCb(ud unsafe.Pointer, level C.int32_t, target, message, fields *C.char) {
	defer func() { _ = recover() }() // a logger's panic must not take the library thread down
	cgo.Handle(uintptr(ud)).Value().(*logSink).log(int32(level), C.GoString(target), C.GoString(message), C.GoString(fields))
}
