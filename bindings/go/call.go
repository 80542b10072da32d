package brokerclient

// #include "shim.h"
import "C"

import (
	"context"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
)

// millis converts a duration to the C API's int32 milliseconds, saturating.
func millis(d time.Duration) C.int32_t {
	ms := d.Milliseconds()
	switch {
	case ms < 0:
		return 0
	case ms > 1<<31-1:
		return 1<<31 - 1
	}
	return C.int32_t(ms)
}

// outcome is what a completion carries to its waiting goroutine.
type outcome struct {
	err   *Error
	send  *SendResult
	batch *C.bc_batch // owned by the receiver
	i64   int64
	str   string
}

// pending is one accepted asynchronous operation, reached from C through a cgo.Handle.
type pending struct {
	ch    chan outcome // capacity 1: the callback never blocks
	state atomic.Int32 // pendingWaiting, then pendingDelivered or pendingAbandoned
}

// pendingHandles counts the handles of accepted operations whose callback has not run yet:
// the tests check it returns to zero (every accepted operation completed exactly once).
var pendingHandles atomic.Int64

const (
	pendingWaiting int32 = iota
	pendingDelivered
	pendingAbandoned
)

// deliver hands o to the waiter; false when the waiter gave up (the caller then owns o's
// resources, e.g. a batch to free).
func (p *pending) deliver(o outcome) bool {
	if !p.state.CompareAndSwap(pendingWaiting, pendingDelivered) {
		return false
	}
	p.ch <- o
	return true
}

// starter submits one asynchronous C call with the operation's handle and cancel token
// (NULL when the call cannot be cancelled or the context never ends).
type starter func(tok *C.bc_cancel_token, ud C.uintptr_t, errOut **C.bc_error) C.bc_status

// owner is what a Client and a Manager share: the completion queue, and the lock that keeps
// the C object alive while a call submits to it.
type owner struct {
	mu     sync.RWMutex // read-held while submitting; write-held to free the C object
	freed  bool
	queue  *queue
	closed sync.Once
	err    error // of the close, for every Close and Shutdown

	// Calls between admission (run) and their return, for Shutdown: once closing is set no
	// call is admitted, and drained is closed when the last one admitted returned.
	callsMu   sync.Mutex
	calls     int
	closing   bool
	drained   chan struct{}
	isDrained bool

	// Test hooks (nil outside tests): after a call's submission was accepted by the library,
	// and once Shutdown stopped admitting calls.
	onSubmitted func()
	onClosing   func()

	closeC func(graceMs C.int32_t, errOut **C.bc_error) C.bc_status // bc_client_close / bc_manager_close
	freeC  func()                                                   // bc_client_free / bc_manager_free
	sweep  func()                                                   // before closeC: closes what else holds calls (a Client's per-call handles)
}

// newOwner builds the config and the completion queue, then the C object with create;
// closeC and freeC are the object's bc_*_close and bc_*_free.
func newOwner[P any](cfg Config,
	create func(ccfg *C.bc_config, q *C.bc_queue, out *P, errOut **C.bc_error) C.bc_status,
	closeC func(p P, graceMs C.int32_t, errOut **C.bc_error) C.bc_status,
	freeC func(p P)) (*owner, P, error) {
	var ptr P // a local: cgo checks all of the memory an argument points into
	ccfg, err := cfg.build()
	if err != nil {
		return nil, ptr, err
	}
	defer C.bc_config_free(ccfg)
	q, err := newQueue()
	if err != nil {
		return nil, ptr, err
	}
	var cerr *C.bc_error
	if st := create(ccfg, q.ptr, &ptr, &cerr); st != C.BC_OK {
		q.close()
		return nil, ptr, takeError(st, cerr)
	}
	return &owner{
		queue:   q,
		drained: make(chan struct{}),
		closeC:  func(ms C.int32_t, e **C.bc_error) C.bc_status { return closeC(ptr, ms, e) },
		freeC:   func() { freeC(ptr) },
	}, ptr, nil
}

// run submits an operation and waits for its completion without parking an OS thread.
// With cancellable true the context's end triggers the operation's cancel token, and the
// call returns when the library completes it (soon, with ErrCancelled, unless the answer
// won the race). Otherwise the call returns at once with the context's error and the
// operation finishes unobserved in the library (within its request timeout).
func (o *owner) run(ctx context.Context, cancellable bool, start starter) (outcome, error) {
	if err := ctx.Err(); err != nil {
		return outcome{}, contextError(err)
	}
	if !o.admit() {
		return outcome{}, errClosed()
	}
	defer o.leave()
	var tok *C.bc_cancel_token
	if cancellable && ctx.Done() != nil {
		var cerr *C.bc_error
		if st := C.bc_cancel_token_new(&tok, &cerr); st != C.BC_OK {
			return outcome{}, takeError(st, cerr)
		}
		defer C.bc_cancel_token_free(tok)
	}
	p := &pending{ch: make(chan outcome, 1)}
	h := cgo.NewHandle(p)
	pendingHandles.Add(1)
	if err := o.submit(ctx, func(e **C.bc_error) C.bc_status { return start(tok, C.uintptr_t(h), e) }); err != nil {
		h.Delete() // refused: the callback will never run
		pendingHandles.Add(-1)
		return outcome{}, err
	}
	if o.onSubmitted != nil {
		o.onSubmitted()
	}
	var out outcome
	select {
	case out = <-p.ch:
	case <-ctx.Done():
		switch {
		case tok != nil:
			C.bc_cancel_token_cancel(tok)
			out = <-p.ch
		case p.state.CompareAndSwap(pendingWaiting, pendingAbandoned):
			return outcome{}, contextError(ctx.Err())
		default: // delivered meanwhile
			out = <-p.ch
		}
	}
	if out.err != nil {
		if out.err.Status == ErrCancelled && ctx.Err() != nil {
			return outcome{}, contextError(ctx.Err())
		}
		return outcome{}, out.err
	}
	return out, nil
}

// admissionRecheck bounds a wait for room: completions of blocking calls on other goroutines
// free places too, and those signal nothing.
const admissionRecheck = 20 * time.Millisecond

// submit runs an async submission. The library refuses one beyond max.in.flight at once
// (ErrWouldBlock); a Go caller blocked in a call with a context is the natural place for
// back-pressure, so it waits for completions (or the context) and submits again.
func (o *owner) submit(ctx context.Context, call func(errOut **C.bc_error) C.bc_status) error {
	for {
		room := o.queue.roomSignal()
		err := o.local(call)
		e, ok := err.(*Error)
		if err == nil || !ok || e.Status != ErrWouldBlock {
			return err
		}
		t := time.NewTimer(admissionRecheck)
		select {
		case <-room:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return contextError(ctx.Err())
		}
		t.Stop()
	}
}

// local runs a C call on the live object (refused with ErrClosed once it was freed).
func (o *owner) local(call func(errOut **C.bc_error) C.bc_status) error {
	var cerr *C.bc_error
	o.mu.RLock()
	st := C.bc_status(C.BC_ERR_CLOSED)
	if !o.freed {
		st = call(&cerr)
	}
	o.mu.RUnlock()
	switch {
	case st == C.BC_OK:
		return nil
	case cerr == nil:
		return &Error{Status: Status(st), Message: Status(st).String()}
	}
	return takeError(st, cerr)
}

// runDone runs an operation without a result value.
func (o *owner) runDone(ctx context.Context, start starter) error {
	_, err := o.run(ctx, false, start)
	return err
}

// runInt64 runs an operation returning a number.
func (o *owner) runInt64(ctx context.Context, start starter) (int64, error) {
	out, err := o.run(ctx, false, start)
	return out.i64, err
}

// runString runs an operation returning text (JSON or an address).
func (o *owner) runString(ctx context.Context, start starter) (string, error) {
	out, err := o.run(ctx, false, start)
	return out.str, err
}

// runBatch runs a pull-like operation and returns its batch (owned by the caller).
func (o *owner) runBatch(ctx context.Context, cancellable bool, start starter) (*Batch, error) {
	out, err := o.run(ctx, cancellable, start)
	if err != nil {
		return nil, err
	}
	return newBatch(out.batch), nil
}

// directThreads bounds, process-wide, the OS threads that calls park in blocking C calls on
// the direct path: however many goroutines call at once, at most this many wait in C; the
// others take the queue path, which parks no thread.
const directThreads = 8

var directSlots = make(chan struct{}, directThreads)

// direct runs a blocking C call on the calling goroutine's thread, when that is possible:
// a slot is free and the call did not refuse (BCGO_NOT_CONNECTED: no live connection,
// ErrWouldBlock: the window is full, ErrWouldDeadlock: on a library thread). With ok false
// nothing was sent and the caller takes the queue path (run).
//
// Why: a call through the queue costs several thread wake-ups (the library's thread writes
// the eventfd, the netpoller wakes the dispatcher goroutine, which hands the result to the
// caller's goroutine on a channel), measured at ~12 context switches and ~2x the CPU of the
// blocking call per synchronous send on a 2-core VM; the blocking call wakes the one
// waiting thread.
func (o *owner) direct(call func(errOut **C.bc_error) C.bc_status) (err error, ok bool) {
	select {
	case directSlots <- struct{}{}:
	default:
		return nil, false
	}
	defer func() { <-directSlots }()
	if !o.admit() {
		return errClosed(), true
	}
	defer o.leave()
	err = o.local(call)
	if e, isErr := err.(*Error); isErr {
		switch e.Status {
		case C.BCGO_NOT_CONNECTED, ErrWouldBlock, ErrWouldDeadlock:
			return nil, false
		}
	}
	return err, true
}

// errClosed is the error of a call made after Close or Shutdown began.
func errClosed() *Error { return &Error{Status: ErrClosed, Message: ErrClosed.String()} }

// admit counts a call in, unless Close or Shutdown began.
func (o *owner) admit() bool {
	o.callsMu.Lock()
	defer o.callsMu.Unlock()
	if o.closing {
		return false
	}
	o.calls++
	return true
}

// leave counts a call out: it returned to its caller.
func (o *owner) leave() {
	o.callsMu.Lock()
	defer o.callsMu.Unlock()
	o.calls--
	o.signalDrained()
}

// signalDrained closes drained once closing is set and no admitted call is left. Called
// with callsMu held.
func (o *owner) signalDrained() {
	if o.closing && o.calls == 0 && !o.isDrained {
		o.isDrained = true
		close(o.drained)
	}
}

// stopAdmitting makes later calls fail with ErrClosed and returns the channel closed once
// the calls admitted before have returned.
func (o *owner) stopAdmitting() <-chan struct{} {
	o.callsMu.Lock()
	first := !o.closing
	o.closing = true
	o.signalDrained()
	o.callsMu.Unlock()
	if first && o.onClosing != nil {
		o.onClosing()
	}
	return o.drained
}

// gracefulShutdown stops admitting calls, waits until those in flight returned or ctx is
// done, then closes. With ctx done first, the calls still in flight are cancelled by the
// close (each returns ErrCancelled, once) and the error matches ctx's (ErrTimeout and
// context.DeadlineExceeded, or ErrCancelled and context.Canceled); else it is the close's.
func (o *owner) gracefulShutdown(ctx context.Context) error {
	drained := o.stopAdmitting()
	var ctxErr error
	select {
	case <-drained:
	case <-ctx.Done():
		select {
		case <-drained: // both ready: the calls did drain
		default:
			ctxErr = contextError(ctx.Err())
		}
	}
	if err := o.shutdown(0); err != nil {
		return err
	}
	return ctxErr
}

// close stops admitting calls and closes at once: calls in flight return ErrCancelled.
func (o *owner) close() error {
	o.stopAdmitting()
	return o.shutdown(0)
}

// shutdown closes the C object once (close with grace, then free), stops the dispatcher and
// frees the queue, which delivers what is still queued on this goroutine: every accepted
// operation has then completed. Every caller gets the first close's error.
func (o *owner) shutdown(grace time.Duration) error {
	o.closed.Do(func() {
		if o.sweep != nil {
			o.sweep() // first: the close's disconnect would fail their calls with ErrConnection
		}
		var cerr *C.bc_error
		if st := o.closeC(millis(grace), &cerr); st != C.BC_OK {
			o.err = takeError(st, cerr)
		}
		o.mu.Lock()
		o.freed = true
		o.freeC()
		o.mu.Unlock()
		o.queue.close()
	})
	return o.err
}
