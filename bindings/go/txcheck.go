package brokerclient

// #include "shim.h"
import "C"

import "unsafe"

// TransactionState is the fate of a transaction's half message.
type TransactionState int32

// Transaction states.
const (
	TxUnknown  TransactionState = 0 // the broker asks again later
	TxCommit   TransactionState = 1
	TxRollback TransactionState = 2
)

// TransactionCheck is the broker's question about a half message (all fields copied).
type TransactionCheck struct {
	MsgID         string
	TransactionID string
	Topic         string
	Body          []byte
	check         *C.bc_transaction_check
}

// Property returns a property of the half message (e.g. "PGROUP", "TAGS", user properties).
// Only valid while the handler runs.
func (t *TransactionCheck) Property(name string) (string, bool) {
	if t.check == nil {
		return "", false
	}
	var a cargs
	n := a.str(name)
	if a.err != nil {
		return "", false
	}
	p := C.bc_transaction_check_property(t.check, n)
	if p == nil {
		return "", false
	}
	return C.GoString(p), true
}

// TransactionCheckHandler decides a half message's fate when the broker asks. It runs on a
// library thread while the broker waits, possibly concurrently with other checks; it may
// block briefly (a database look-up) but must not call this client's methods and wait for
// them. A panic counts as TxUnknown.
type TransactionCheckHandler func(check *TransactionCheck) TransactionState

func transactionCheckFrom(c *C.bc_transaction_check) *TransactionCheck {
	var n C.size_t
	body := C.bc_transaction_check_body(c, &n)
	return &TransactionCheck{
		MsgID:         C.GoString(C.bc_transaction_check_msg_id(c)),
		TransactionID: C.GoString(C.bc_transaction_check_transaction_id(c)),
		Topic:         C.GoString(C.bc_transaction_check_topic(c)),
		Body:          C.GoBytes(unsafe.Pointer(body), C.int(n)),
		check:         c,
	}
}
