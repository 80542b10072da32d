package brokerclient

// #include "shim.h"
import "C"

import (
	"runtime"
	"sort"
	"sync"
	"time"
	"unsafe"
)

// Message is a message to send. The library copies it during the call; reuse it freely.
type Message struct {
	Topic         string
	Body          []byte
	Tags          string            // used for server-side filtering; "" for none
	Keys          string            // space-separated business keys, indexed by the broker
	Properties    map[string]string // user properties; names and values non-empty, without 0x01/0x02
	DelayLevel    int32             // 1..18 (1s 5s 10s 30s 1m … 2h); 0 for none
	Flag          int32             // the user flag stored with the message
	Transactional bool              // a transaction half message (see Client.EndTransaction)
}

// build creates the C message; the caller frees it with bc_message_free.
func (m *Message) build() (*C.bc_message, error) {
	if m == nil {
		return nil, invalidArg("nil message")
	}
	var a cargs
	topic := a.str(m.Topic)
	tags, keys := a.optStr(m.Tags), a.optStr(m.Keys)
	var props []byte
	if len(m.Properties) > 0 {
		names := make([]string, 0, len(m.Properties))
		for name := range m.Properties {
			names = append(names, name)
		}
		sort.Strings(names) // a stable order on the wire
		for _, name := range names {
			props = append(append(append(props, name...), 0), m.Properties[name]...)
			props = append(props, 0)
		}
	}
	if a.err != nil {
		return nil, a.err
	}
	var tx C.int32_t
	if m.Transactional {
		tx = 1
	}
	var msg *C.bc_message
	var cerr *C.bc_error
	st := C.bcgo_message_new(topic, bytesPtr(m.Body), C.size_t(len(m.Body)), tags, keys,
		(*C.char)(unsafe.Pointer(bytesPtr(props))), C.size_t(len(props)),
		C.int32_t(m.DelayLevel), C.int32_t(m.Flag), tx, &msg, &cerr)
	if st != C.BC_OK {
		return nil, takeError(st, cerr)
	}
	return msg, nil
}

// buildAll creates the C messages of a batch; free them with freeAll.
func buildAll(msgs []*Message) ([]*C.bc_message, error) {
	if len(msgs) == 0 {
		return nil, invalidArg("empty batch")
	}
	out := make([]*C.bc_message, 0, len(msgs))
	for _, m := range msgs {
		cm, err := m.build()
		if err != nil {
			freeAll(out)
			return nil, err
		}
		out = append(out, cm)
	}
	return out, nil
}

func freeAll(msgs []*C.bc_message) {
	for _, m := range msgs {
		C.bc_message_free(m)
	}
}

// SendStatus says how a stored message was stored.
type SendStatus int32

// Send statuses; all four mean the message was stored.
const (
	SendOK SendStatus = iota
	SendFlushDiskTimeout
	SendFlushSlaveTimeout
	SendSlaveNotAvailable
)

// SendResult is the outcome of a send.
type SendResult struct {
	Status        SendStatus
	MsgID         string // the client message id (UNIQ_KEY); comma-joined for a batch
	OffsetMsgID   string // the broker's id: store host and commit-log offset (see Client.ViewMessage)
	TransactionID string // a half message's transaction id, "" otherwise
	QueueID       int32
	QueueOffset   int64 // the consume-queue offset of the (first) message
}

func sendResultFrom(r *C.bc_send_result) *SendResult {
	var f C.bcgo_send_fields
	C.bcgo_send_result_read(r, &f)
	return &SendResult{
		Status:        SendStatus(f.status),
		MsgID:         C.GoString(f.msg_id),
		OffsetMsgID:   C.GoString(f.offset_msg_id),
		TransactionID: C.GoString(f.transaction_id),
		QueueID:       int32(f.queue_id),
		QueueOffset:   int64(f.queue_offset),
	}
}

// PullStatus is a pull's outcome.
type PullStatus int32

// Pull statuses.
const (
	PullFound PullStatus = iota
	PullNoNewMsg
	PullNoMatchedMsg
	PullOffsetIllegal
)

// PullRequest says what to pull.
type PullRequest struct {
	ConsumerGroup string
	Topic         string
	QueueID       int32
	Offset        int64
	MaxMessages   int32         // 0 means 32
	Suspend       time.Duration // > 0: the broker holds the pull that long while nothing is there
	Subscription  string        // tag expression ("*", "a || b"); "" means "*"
}

// MessageExt is a pulled (or viewed) message.
type MessageExt struct {
	Topic           string
	Body            []byte // a copy, except in Batch.Message, where it aliases the batch
	Tags            string
	Keys            string
	MsgID           string // the client message id, or the offset id when there is none
	OffsetMsgID     string
	QueueID         int32
	Flag            int32
	QueueOffset     int64
	CommitLogOffset int64
	BornTimestamp   time.Time
	StoreTimestamp  time.Time
	ReconsumeTimes  int32
}

// PullResult is a pull's outcome with its messages copied into Go memory.
type PullResult struct {
	Status     PullStatus
	NextOffset int64 // where the next pull of this queue should start
	MinOffset  int64 // the queue's smallest stored offset at pull time (-1: not known)
	MaxOffset  int64 // the queue's next offset to be written at pull time (-1: not known)
	Messages   []MessageExt
}

// Batch is a pull's outcome left in the library's memory: Message gives bodies without a
// copy, valid until Free. Free it when done (a cleanup frees a forgotten one when it is
// garbage-collected). Methods may be called from several goroutines, but not after Free.
type Batch struct {
	Status     PullStatus
	NextOffset int64
	MinOffset  int64
	MaxOffset  int64

	mu      sync.Mutex
	ptr     *C.bc_batch
	views   []C.bc_message_view
	cleanup runtime.Cleanup
}

func newBatch(ptr *C.bc_batch) *Batch {
	var f C.bcgo_batch_fields
	C.bcgo_batch_read(ptr, &f)
	b := &Batch{
		Status:     PullStatus(f.status),
		NextOffset: int64(f.next_offset),
		MinOffset:  int64(f.min_offset),
		MaxOffset:  int64(f.max_offset),
		ptr:        ptr,
	}
	if f.len > 0 {
		// One crossing for every view, not one per message.
		b.views = make([]C.bc_message_view, int(f.len))
		n := C.bcgo_batch_views(ptr, &b.views[0], f.len)
		b.views = b.views[:int(n)]
	}
	b.cleanup = runtime.AddCleanup(b, func(p *C.bc_batch) { C.bc_batch_free(p) }, ptr)
	return b
}

// Len is the number of messages.
func (b *Batch) Len() int { return len(b.views) }

// Message returns message i; its Body aliases the batch (valid until Free, never modify it),
// its strings are copies.
func (b *Batch) Message(i int) MessageExt {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil {
		panic("brokerclient: Batch used after Free")
	}
	v := &b.views[i]
	m := messageFromView(v)
	if v.body_len > 0 {
		m.Body = unsafe.Slice((*byte)(unsafe.Pointer(v.body)), int(v.body_len))
	}
	return m
}

// Property returns user or system property name of message i.
func (b *Batch) Property(i int, name string) (string, bool) {
	var a cargs
	n := a.str(name)
	if a.err != nil {
		return "", false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil || i < 0 || i >= len(b.views) {
		return "", false
	}
	p := C.bc_batch_property(b.ptr, C.size_t(i), n)
	if p == nil {
		return "", false
	}
	return C.GoString(p), true
}

// Free releases the batch and invalidates the bodies Message returned. Calling it twice is
// harmless.
func (b *Batch) Free() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil {
		return
	}
	b.cleanup.Stop()
	C.bc_batch_free(b.ptr)
	b.ptr = nil
	b.views = nil
}

// copyOut copies everything into a PullResult and frees the batch.
func (b *Batch) copyOut() *PullResult {
	r := &PullResult{Status: b.Status, NextOffset: b.NextOffset, MinOffset: b.MinOffset, MaxOffset: b.MaxOffset}
	if len(b.views) > 0 {
		r.Messages = make([]MessageExt, len(b.views))
		for i := range b.views {
			v := &b.views[i]
			r.Messages[i] = messageFromView(v)
			r.Messages[i].Body = C.GoBytes(unsafe.Pointer(v.body), C.int(v.body_len))
		}
	}
	b.Free()
	return r
}

func messageFromView(v *C.bc_message_view) MessageExt {
	return MessageExt{
		Topic:           C.GoString(v.topic),
		Tags:            C.GoString(v.tags),
		Keys:            C.GoString(v.keys),
		MsgID:           C.GoString(v.msg_id),
		OffsetMsgID:     C.GoString(v.offset_msg_id),
		QueueID:         int32(v.queue_id),
		Flag:            int32(v.flag),
		QueueOffset:     int64(v.queue_offset),
		CommitLogOffset: int64(v.commit_log_offset),
		BornTimestamp:   time.UnixMilli(int64(v.born_timestamp)),
		StoreTimestamp:  time.UnixMilli(int64(v.store_timestamp)),
		ReconsumeTimes:  int32(v.reconsume_times),
	}
}
