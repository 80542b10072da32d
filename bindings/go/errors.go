package brokerclient

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
)

// Status is the category of a failure: the C API's bc_status. Each non-OK value is also an
// error, so it serves as the sentinel for errors.Is:
//
//	if errors.Is(err, brokerclient.ErrTimeout) { ... }
//
// Values are never renumbered; compare with the constants and keep a default case.
type Status int32

// The failure categories (bc_status values).
const (
	ErrInvalidArg     Status = C.BC_ERR_INVALID_ARG      // bad argument; nothing was sent
	ErrConnection     Status = C.BC_ERR_CONNECTION       // connecting failed or the connection was lost
	ErrTimeout        Status = C.BC_ERR_TIMEOUT          // the deadline passed (the library's or the context's)
	ErrProtocol       Status = C.BC_ERR_PROTOCOL         // the peer sent bytes that do not decode
	ErrWouldBlock     Status = C.BC_ERR_WOULD_BLOCK      // the in-flight window is full; try again later
	ErrCancelled      Status = C.BC_ERR_CANCELLED        // cancelled (the context, or Close)
	ErrShutdown       Status = C.BC_ERR_SHUTDOWN         // the object is shutting down
	ErrClosed         Status = C.BC_ERR_CLOSED           // the object was closed
	ErrWouldDeadlock  Status = C.BC_ERR_WOULD_DEADLOCK   // a blocking call from a library thread
	ErrForked         Status = C.BC_ERR_FORKED           // used after fork
	ErrFatal          Status = C.BC_ERR_FATAL            // a library bug was caught; the object is unusable
	ErrBufferTooSmall Status = C.BC_ERR_BUFFER_TOO_SMALL // a caller buffer is too small
	ErrBrokerResponse Status = C.BC_ERR_BROKER_RESPONSE  // the broker answered with an error code
	ErrAuthorization  Status = C.BC_ERR_AUTHORIZATION    // NO_PERMISSION
	ErrBrokerBusy     Status = C.BC_ERR_BROKER_BUSY      // the broker is flow-controlling; retriable
	ErrPull           Status = C.BC_ERR_PULL             // a pull failed (not "no new message")
	ErrOffset         Status = C.BC_ERR_OFFSET           // no committed offset, or a refused one
	ErrBrokerSystem   Status = C.BC_ERR_BROKER_SYSTEM    // SYSTEM_ERROR / SERVICE_NOT_AVAILABLE; retriable
)

// Error implements error with the symbolic name, e.g. "BC_ERR_TIMEOUT".
func (s Status) Error() string { return C.GoString(C.bc_status_name(C.int32_t(s))) }

// String is the C API's short English description of the status.
func (s Status) String() string { return C.GoString(C.bc_status_str(C.int32_t(s))) }

// Error is every failure the library reports. errors.Is matches its Status (and, for a
// context that ended the call, context.Canceled or context.DeadlineExceeded); errors.As
// gives the broker's response code and remark:
//
//	var e *brokerclient.Error
//	if errors.As(err, &e) && e.ResponseCode == 17 { /* topic not exist */ }
type Error struct {
	Status       Status // the category
	Message      string // a human-readable description
	ResponseCode int32  // the RocketMQ response code the broker sent, 0 when not from a broker
	Remark       string // the broker's remark with its response code
	BrokerAddr   string // the broker involved, "" when not known
	Retriable    bool   // the same call may succeed if tried again
	Fatal        bool   // the object that reported it is unusable from now on
	cause        error  // the context's error when the context ended the call
}

func (e *Error) Error() string {
	s := "brokerclient: " + e.Status.Error()
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.ResponseCode != 0 {
		s += fmt.Sprintf(" (response code %d", e.ResponseCode)
		if e.Remark != "" {
			s += ": " + e.Remark
		}
		s += ")"
	}
	return s
}

// Is reports whether target is e's Status.
func (e *Error) Is(target error) bool {
	s, ok := target.(Status)
	return ok && s == e.Status
}

// Unwrap returns the context error that ended the call, if any.
func (e *Error) Unwrap() error { return e.cause }

// errorFrom copies a C error (borrowed or owned; not freed here) into Go memory.
func errorFrom(status C.bc_status, cerr *C.bc_error) *Error {
	e := &Error{Status: Status(status)}
	if cerr != nil {
		var f C.bcgo_error_fields
		C.bcgo_error_read(cerr, &f)
		e.Message = C.GoString(f.message)
		e.ResponseCode = int32(f.response_code)
		e.Remark = C.GoString(f.remark)
		e.BrokerAddr = C.GoString(f.broker_addr)
		e.Retriable = f.retriable != 0
		e.Fatal = f.fatal != 0
	}
	return e
}

// takeError converts an error returned through err_out and frees it.
func takeError(status C.bc_status, cerr *C.bc_error) error {
	e := errorFrom(status, cerr)
	C.bc_error_free(cerr)
	return e
}

// contextError maps a context's end onto the library's categories: a deadline is ErrTimeout,
// a cancellation ErrCancelled; both still match the context's own error with errors.Is.
func contextError(ctxErr error) *Error {
	if ctxErr == context.DeadlineExceeded {
		return &Error{Status: ErrTimeout, Message: "context deadline exceeded", cause: ctxErr}
	}
	return &Error{Status: ErrCancelled, Message: "context canceled", cause: ctxErr}
}

func invalidArg(msg string) *Error { return &Error{Status: ErrInvalidArg, Message: msg} }
