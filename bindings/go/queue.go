package brokerclient

// #include "shim.h"
import "C"

import (
	"os"
	"sync"
	"syscall"
)

// queue is a bc_queue and the one goroutine that dispatches its completions. It waits for
// the queue's eventfd through the Go netpoller, so no OS thread is parked while nothing
// completes, and none per call.
type queue struct {
	ptr  *C.bc_queue
	file *os.File      // a dup of the queue's fd: closing it never closes the queue's own
	done chan struct{} // closed when the dispatcher returned

	roomMu sync.Mutex
	room   chan struct{} // closed (and replaced) after a dispatch that ran completions
}

func newQueue() (*queue, error) {
	q := &queue{done: make(chan struct{}), room: make(chan struct{})}
	var cerr *C.bc_error
	if st := C.bc_queue_new(&q.ptr, &cerr); st != C.BC_OK {
		return nil, takeError(st, cerr)
	}
	// The eventfd is non-blocking, and so is the dup (same open file), which is what makes
	// os.NewFile register it with the netpoller.
	fd, err := syscall.Dup(int(C.bc_queue_fd(q.ptr)))
	if err != nil {
		C.bc_queue_free(q.ptr)
		return nil, &Error{Status: ErrFatal, Message: "dup of the queue fd: " + err.Error()}
	}
	syscall.CloseOnExec(fd)
	q.file = os.NewFile(uintptr(fd), "bc_queue")
	rc, err := q.file.SyscallConn()
	if err != nil {
		q.file.Close()
		C.bc_queue_free(q.ptr)
		return nil, &Error{Status: ErrFatal, Message: "queue fd: " + err.Error()}
	}
	go func() {
		defer close(q.done)
		// RawConn.Read calls the func, and while it returns false waits for readability.
		// bc_queue_dispatch leaves the fd either re-armed with the queue empty or readable
		// again, so no completion is missed. Read returns once the file is closed.
		_ = rc.Read(func(uintptr) bool {
			if C.bc_queue_dispatch(q.ptr, 0) > 0 {
				q.signalRoom()
			}
			return false
		})
	}()
	return q, nil
}

// roomSignal is closed after the next dispatch that ran completions: a submission refused
// with a full window (ErrWouldBlock) waits on it, fetched before the attempt so that no
// completion between the refusal and the wait is missed.
func (q *queue) roomSignal() <-chan struct{} {
	q.roomMu.Lock()
	defer q.roomMu.Unlock()
	return q.room
}

func (q *queue) signalRoom() {
	q.roomMu.Lock()
	close(q.room)
	q.room = make(chan struct{})
	q.roomMu.Unlock()
}

// close stops the dispatcher, then frees the queue: completions still queued run here.
func (q *queue) close() {
	q.file.Close()
	<-q.done
	C.bc_queue_free(q.ptr)
}
