package brokerclient

// #include "shim.h"
import "C"

import (
	"context"
	"encoding/json"
	"runtime"
	"runtime/cgo"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AnyQueue lets the broker pick the queue of a send.
const AnyQueue int32 = -1

// Client talks to one broker or name server. It connects on Connect or on its first call,
// and again after a lost connection. Every method is safe for concurrent use; each call that
// talks to the network takes a context: its cancellation cancels the operation (sends and
// pulls through the library's cancel token; other calls stop waiting and let the library
// finish the request within its request timeout), and its deadline ends the wait with an
// error matching both ErrTimeout and context.DeadlineExceeded. The library's own deadline
// is the "request.timeout.ms" setting.
//
// Close it when done; a cleanup closes a forgotten one when it is garbage-collected.
type Client struct {
	*clientCore
}

// clientCore is what the cleanup of a Client closes, so it must not point back at it.
type clientCore struct {
	*owner
	ptr *C.bc_client

	// The direct path of a send whose context can end (sendDirect) runs on a per-call handle
	// (bc_client_with_timeout with the client's own request timeout, sharing its connection)
	// so that the context's end can cancel it: closing that handle cancels only its call.
	requestTimeoutMs C.int32_t
	perCallHandles   bool // the window is wide enough (see perCallHandlesFor)
	handlesMu        sync.Mutex
	handles          map[*C.bc_client]struct{} // the per-call handles in use
	swept            bool                      // the client was closed: no more handles
}

// defaultRequestTimeoutMs is request.timeout.ms's default in the C key table
// (TestOptionsMatchHeaderKeyTable checks it against the header).
const defaultRequestTimeoutMs = 3000

// requestTimeoutOf is the request timeout a client built from cfg has, in milliseconds.
func requestTimeoutOf(cfg Config) C.int32_t {
	if v, ok := cfg["request.timeout.ms"]; ok {
		// The constructor accepted it: a positive number of milliseconds.
		if ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && ms > 0 {
			return millis(time.Duration(ms) * time.Millisecond)
		}
	}
	return defaultRequestTimeoutMs
}

// minWindowForHandles is the smallest max.in.flight for which a send whose context can end
// takes the direct path: a per-call handle has its own admission count, so those calls (at
// most directThreads process-wide) are beyond the client's window; below this an explicitly
// small window stays exact and such sends take the queue path.
const minWindowForHandles = 1024

// perCallHandlesFor says whether a client built from cfg uses per-call handles.
func perCallHandlesFor(cfg Config) bool {
	v, ok := cfg["max.in.flight"]
	if !ok {
		return true // the default, 4096
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return err == nil && n >= minWindowForHandles
}

// sweepHandles closes the per-call handles in use (their calls return ErrCancelled) and
// refuses new ones; the client is closing.
func (c *clientCore) sweepHandles() {
	c.handlesMu.Lock()
	defer c.handlesMu.Unlock()
	c.swept = true
	for h := range c.handles {
		var cerr *C.bc_error
		if C.bc_client_close(h, 0, &cerr) != C.BC_OK {
			C.bc_error_free(cerr)
		}
	}
}

// NewClient creates a client of the broker or name server at addr ("host:port").
func NewClient(addr string, cfg Config) (*Client, error) {
	var a cargs
	caddr := a.str(addr)
	if a.err != nil {
		return nil, a.err
	}
	o, ptr, err := newOwner(cfg,
		func(ccfg *C.bc_config, q *C.bc_queue, out **C.bc_client, e **C.bc_error) C.bc_status {
			return C.bc_client_new(caddr, ccfg, q, out, e)
		},
		func(p *C.bc_client, ms C.int32_t, e **C.bc_error) C.bc_status { return C.bc_client_close(p, ms, e) },
		func(p *C.bc_client) { C.bc_client_free(p) })
	if err != nil {
		return nil, err
	}
	core := &clientCore{owner: o, ptr: ptr, requestTimeoutMs: requestTimeoutOf(cfg), perCallHandles: perCallHandlesFor(cfg), handles: map[*C.bc_client]struct{}{}}
	o.sweep = core.sweepHandles
	c := &Client{core}
	runtime.AddCleanup(c, func(o *owner) { _ = o.close() }, o)
	return c, nil
}

// Close closes the client at once: calls in flight return ErrCancelled, later calls
// ErrClosed. It returns once every call has completed. Safe to call twice, during a
// Shutdown, and from any goroutine.
func (c *Client) Close() error {
	defer runtime.KeepAlive(c)
	return c.close()
}

// Shutdown closes the client gracefully, like http.Server.Shutdown: it stops admitting calls
// (later ones, on any goroutine, return ErrClosed), waits until the calls in flight have
// returned or ctx is done, whichever comes first, and then closes as Close does. Calls still
// in flight when ctx ends return ErrCancelled, each exactly once, and Shutdown returns
// ctx's error as an *Error (matching ErrTimeout and context.DeadlineExceeded, or
// ErrCancelled and context.Canceled); otherwise it returns the close's error, nil normally.
// Only the first Close or Shutdown closes; every one returns once the client is closed.
func (c *Client) Shutdown(ctx context.Context) error {
	defer runtime.KeepAlive(c)
	return c.gracefulShutdown(ctx)
}

// Connect connects now (calls also connect on demand).
func (c *Client) Connect(ctx context.Context) error {
	defer runtime.KeepAlive(c)
	return c.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_connect_async(c.ptr, ud, e)
	})
}

// Disconnect closes the current connection (calls on it fail with ErrConnection); the next
// call connects again.
func (c *Client) Disconnect() {
	defer runtime.KeepAlive(c)
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.freed {
		C.bc_client_disconnect(c.ptr)
	}
}

// StatsJSON is the client's statistics as the C API's bc_client_stats_json gives them
// (counters per operation and outcome, traffic, connections, latency percentiles of the last
// minute; docs/operators.md explains each field). Never blocks.
func (c *Client) StatsJSON() (string, error) {
	defer runtime.KeepAlive(c)
	var out *C.char
	if err := c.local(func(e **C.bc_error) C.bc_status { return C.bc_client_stats_json(c.ptr, &out, e) }); err != nil {
		return "", err
	}
	defer C.bc_string_free(out)
	return C.GoString(out), nil
}

// IsConnected reports whether the client has a live connection.
func (c *Client) IsConnected() bool {
	defer runtime.KeepAlive(c)
	c.mu.RLock()
	defer c.mu.RUnlock()
	return !c.freed && bool(C.bc_client_is_connected(c.ptr))
}

// Send sends m to queue queueID (AnyQueue: the broker picks) and waits until it is stored.
// A cancelled send may or may not have been stored (the request may be on the wire).
func (c *Client) Send(ctx context.Context, producerGroup string, queueID int32, m *Message) (*SendResult, error) {
	defer runtime.KeepAlive(c)
	var a cargs
	g := a.str(producerGroup)
	if a.err != nil {
		return nil, a.err
	}
	msg, err := m.build()
	if err != nil {
		return nil, err
	}
	defer C.bc_message_free(msg)
	if res, err, ok := c.sendDirect(ctx, g, C.int32_t(queueID), msg); ok {
		return res, err
	}
	out, err := c.run(ctx, true, func(tok *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_send_async_with_cancel(c.ptr, g, C.int32_t(queueID), msg, tok, ud, e)
	})
	return out.send, err
}

// sendDirect is Send's direct path (see owner.direct): the blocking bc_client_send, on the
// client itself when ctx never ends, else on a per-call handle that ctx's end closes, which
// cancels the call (it then returns ctx's error, unless the send had succeeded). ok false:
// nothing was sent, take the queue path.
func (c *Client) sendDirect(ctx context.Context, g *C.char, queueID C.int32_t, msg *C.bc_message) (res *SendResult, err error, ok bool) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(err), true
	}
	var cres *C.bc_send_result
	if ctx.Done() != nil && !c.perCallHandles {
		return nil, nil, false
	}
	if ctx.Done() == nil {
		err, ok = c.direct(func(e **C.bc_error) C.bc_status {
			return C.bcgo_client_send_direct(c.ptr, g, queueID, msg, &cres, e)
		})
	} else {
		err, ok = c.direct(func(e **C.bc_error) C.bc_status {
			h, st := c.callHandle(e)
			if st != C.BC_OK {
				return st
			}
			defer c.dropHandle(h)
			closed := make(chan struct{})
			stop := context.AfterFunc(ctx, func() {
				defer close(closed)
				var cerr *C.bc_error
				if C.bc_client_close(h, 0, &cerr) != C.BC_OK {
					C.bc_error_free(cerr)
				}
			})
			st = C.bcgo_client_send_direct(h, g, queueID, msg, &cres, e)
			if !stop() {
				<-closed // the handle is freed only once its close returned
			}
			return st
		})
	}
	if !ok {
		return nil, nil, false
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, contextError(ctx.Err()), true
		}
		return nil, err, true
	}
	defer C.bc_send_result_free(cres)
	return sendResultFrom(cres), nil, true
}

// callHandle makes a per-call handle of the client (BC_ERR_CLOSED once it is closing).
// Called under the owner's read lock (local), so the client is not freed meanwhile.
func (c *Client) callHandle(e **C.bc_error) (*C.bc_client, C.bc_status) {
	var h *C.bc_client
	if st := C.bc_client_with_timeout(c.ptr, c.requestTimeoutMs, &h, e); st != C.BC_OK {
		return nil, st
	}
	c.handlesMu.Lock()
	defer c.handlesMu.Unlock()
	if c.swept {
		C.bc_client_free(h)
		return nil, C.BC_ERR_CLOSED
	}
	c.handles[h] = struct{}{}
	return h, C.BC_OK
}

// dropHandle frees a per-call handle whose call returned.
func (c *Client) dropHandle(h *C.bc_client) {
	c.handlesMu.Lock()
	delete(c.handles, h)
	c.handlesMu.Unlock()
	C.bc_client_free(h)
}

// SendOneway sends m without waiting for the broker; it returns once m is queued for writing.
func (c *Client) SendOneway(ctx context.Context, producerGroup string, queueID int32, m *Message) error {
	defer runtime.KeepAlive(c)
	var a cargs
	g := a.str(producerGroup)
	if a.err != nil {
		return a.err
	}
	msg, err := m.build()
	if err != nil {
		return err
	}
	defer C.bc_message_free(msg)
	// Connected, the blocking call only queues the message for writing: it returns at once.
	if err := ctx.Err(); err != nil {
		return contextError(err)
	}
	if err, ok := c.direct(func(e **C.bc_error) C.bc_status {
		return C.bcgo_client_send_oneway_direct(c.ptr, g, C.int32_t(queueID), msg, e)
	}); ok {
		return err
	}
	return c.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_send_oneway_async(c.ptr, g, C.int32_t(queueID), msg, ud, e)
	})
}

// SendBatch sends messages of one topic as one batch to queueID, stored in order.
func (c *Client) SendBatch(ctx context.Context, producerGroup string, queueID int32, msgs []*Message) (*SendResult, error) {
	defer runtime.KeepAlive(c)
	var a cargs
	g := a.str(producerGroup)
	if a.err != nil {
		return nil, a.err
	}
	cm, err := buildAll(msgs)
	if err != nil {
		return nil, err
	}
	defer freeAll(cm)
	out, err := c.run(ctx, false, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_send_batch_async(c.ptr, g, C.int32_t(queueID), &cm[0], C.size_t(len(cm)), ud, e)
	})
	return out.send, err
}

// SendBatchOneway sends a batch without waiting for the broker.
func (c *Client) SendBatchOneway(ctx context.Context, producerGroup string, queueID int32, msgs []*Message) error {
	defer runtime.KeepAlive(c)
	var a cargs
	g := a.str(producerGroup)
	if a.err != nil {
		return a.err
	}
	cm, err := buildAll(msgs)
	if err != nil {
		return err
	}
	defer freeAll(cm)
	return c.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_send_batch_oneway_async(c.ptr, g, C.int32_t(queueID), &cm[0], C.size_t(len(cm)), ud, e)
	})
}

// pullArgs are a PullRequest's C arguments.
type pullArgs struct {
	group, topic, sub *C.char
	queueID, max      C.int32_t
	suspend           C.int32_t
	offset            C.int64_t
}

func (r *PullRequest) cargs(a *cargs) pullArgs {
	max := r.MaxMessages
	if max == 0 {
		max = 32
	}
	return pullArgs{
		group: a.str(r.ConsumerGroup), topic: a.str(r.Topic), sub: a.optStr(r.Subscription),
		queueID: C.int32_t(r.QueueID), max: C.int32_t(max), suspend: millis(r.Suspend),
		offset: C.int64_t(r.Offset),
	}
}

// Pull pulls messages and copies them into Go memory. Cancelling ctx ends a long poll at once.
func (c *Client) Pull(ctx context.Context, req PullRequest) (*PullResult, error) {
	b, err := c.PullBatch(ctx, req)
	if err != nil {
		return nil, err
	}
	return b.copyOut(), nil
}

// PullBatch is Pull without copying: the bodies stay in the library's memory until
// Batch.Free.
func (c *Client) PullBatch(ctx context.Context, req PullRequest) (*Batch, error) {
	defer runtime.KeepAlive(c)
	var a cargs
	p := req.cargs(&a)
	if a.err != nil {
		return nil, a.err
	}
	return c.runBatch(ctx, true, func(tok *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_pull_async_with_cancel(c.ptr, p.group, p.topic, p.queueID, p.offset, p.max, p.suspend, p.sub, tok, ud, e)
	})
}

// queueOp is an operation on one queue of a topic returning a number.
type queueOp func(c *C.bc_client, topic *C.char, queueID C.int32_t, ud C.uintptr_t, e **C.bc_error) C.bc_status

func (c *Client) queueInt64(ctx context.Context, topic string, queueID int32, op queueOp) (int64, error) {
	defer runtime.KeepAlive(c)
	var a cargs
	t := a.str(topic)
	if a.err != nil {
		return 0, a.err
	}
	return c.runInt64(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return op(c.ptr, t, C.int32_t(queueID), ud, e)
	})
}

// GetMaxOffset is the next offset to be written in a queue (exclusive maximum).
func (c *Client) GetMaxOffset(ctx context.Context, topic string, queueID int32) (int64, error) {
	return c.queueInt64(ctx, topic, queueID, func(p *C.bc_client, t *C.char, q C.int32_t, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_get_max_offset_async(p, t, q, ud, e)
	})
}

// GetMinOffset is the smallest offset still stored in a queue.
func (c *Client) GetMinOffset(ctx context.Context, topic string, queueID int32) (int64, error) {
	return c.queueInt64(ctx, topic, queueID, func(p *C.bc_client, t *C.char, q C.int32_t, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_get_min_offset_async(p, t, q, ud, e)
	})
}

// GetEarliestMsgStoreTime is the store time of the oldest message in a queue.
func (c *Client) GetEarliestMsgStoreTime(ctx context.Context, topic string, queueID int32) (time.Time, error) {
	ms, err := c.queueInt64(ctx, topic, queueID, func(p *C.bc_client, t *C.char, q C.int32_t, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_get_earliest_msg_store_time_async(p, t, q, ud, e)
	})
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}

// SearchOffsetByTimestamp is the first offset stored at or after ts; upper picks the last of
// several messages stored at the same time.
func (c *Client) SearchOffsetByTimestamp(ctx context.Context, topic string, queueID int32, ts time.Time, upper bool) (int64, error) {
	var u C.int32_t
	if upper {
		u = 1
	}
	return c.queueInt64(ctx, topic, queueID, func(p *C.bc_client, t *C.char, q C.int32_t, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_search_offset_by_timestamp_async(p, t, q, C.int64_t(ts.UnixMilli()), u, ud, e)
	})
}

// QueryConsumerOffset is the committed offset of a consumer group on a queue; ErrOffset
// when none is committed.
func (c *Client) QueryConsumerOffset(ctx context.Context, consumerGroup, topic string, queueID int32) (int64, error) {
	var a cargs
	g := a.str(consumerGroup)
	if a.err != nil {
		return 0, a.err
	}
	return c.queueInt64(ctx, topic, queueID, func(p *C.bc_client, t *C.char, q C.int32_t, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_query_consumer_offset_async(p, g, t, q, ud, e)
	})
}

// offsetOp is a commit of an offset: acknowledged or oneway.
type offsetOp func(c *C.bc_client, group, topic *C.char, queueID C.int32_t, offset C.int64_t, ud C.uintptr_t, e **C.bc_error) C.bc_status

func (c *Client) commitOffset(ctx context.Context, consumerGroup, topic string, queueID int32, offset int64, op offsetOp) error {
	defer runtime.KeepAlive(c)
	var a cargs
	g, t := a.str(consumerGroup), a.str(topic)
	if a.err != nil {
		return a.err
	}
	return c.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return op(c.ptr, g, t, C.int32_t(queueID), C.int64_t(offset), ud, e)
	})
}

// UpdateConsumerOffset commits offset for a consumer group on a queue (the broker must know
// the group: Heartbeat or Pull first).
func (c *Client) UpdateConsumerOffset(ctx context.Context, consumerGroup, topic string, queueID int32, offset int64) error {
	return c.commitOffset(ctx, consumerGroup, topic, queueID, offset, func(p *C.bc_client, g, t *C.char, q C.int32_t, o C.int64_t, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_update_consumer_offset_async(p, g, t, q, o, ud, e)
	})
}

// UpdateConsumerOffsetOneway commits an offset without waiting for the broker.
func (c *Client) UpdateConsumerOffsetOneway(ctx context.Context, consumerGroup, topic string, queueID int32, offset int64) error {
	return c.commitOffset(ctx, consumerGroup, topic, queueID, offset, func(p *C.bc_client, g, t *C.char, q C.int32_t, o C.int64_t, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_update_consumer_offset_oneway_async(p, g, t, q, o, ud, e)
	})
}

// CreateTopic creates (or updates) topic with queueNums read and write queues (admin).
func (c *Client) CreateTopic(ctx context.Context, topic string, queueNums int32) error {
	defer runtime.KeepAlive(c)
	var a cargs
	t := a.str(topic)
	if a.err != nil {
		return a.err
	}
	return c.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_create_topic_async(c.ptr, t, C.int32_t(queueNums), ud, e)
	})
}

// groupsOp is a call naming a producer and/or a consumer group.
type groupsOp func(c *C.bc_client, pg, cg *C.char, ud C.uintptr_t, e **C.bc_error) C.bc_status

func (c *Client) groups(ctx context.Context, producerGroup, consumerGroup string, op groupsOp) error {
	defer runtime.KeepAlive(c)
	var a cargs
	pg, cg := a.optStr(producerGroup), a.optStr(consumerGroup)
	if a.err != nil {
		return a.err
	}
	return c.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return op(c.ptr, pg, cg, ud, e)
	})
}

// Heartbeat registers a producer group and/or a consumer group (pull consumer, clustering)
// with the broker; either may be "" but not both.
func (c *Client) Heartbeat(ctx context.Context, producerGroup, consumerGroup string) error {
	return c.groups(ctx, producerGroup, consumerGroup, func(p *C.bc_client, pg, cg *C.char, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_heartbeat_async(p, pg, cg, ud, e)
	})
}

// Unregister tells the broker this client leaves its producer and/or consumer group.
func (c *Client) Unregister(ctx context.Context, producerGroup, consumerGroup string) error {
	return c.groups(ctx, producerGroup, consumerGroup, func(p *C.bc_client, pg, cg *C.char, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_unregister_async(p, pg, cg, ud, e)
	})
}

// EndTransaction commits (TxCommit), rolls back (TxRollback) or leaves open (TxUnknown) the
// half message whose send returned half. Oneway: returns once written.
func (c *Client) EndTransaction(ctx context.Context, producerGroup string, half *SendResult, state TransactionState) error {
	defer runtime.KeepAlive(c)
	if half == nil {
		return invalidArg("nil send result")
	}
	var a cargs
	g, id, off, tx := a.str(producerGroup), a.str(half.MsgID), a.str(half.OffsetMsgID), a.str(half.TransactionID)
	if a.err != nil {
		return a.err
	}
	return c.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_end_transaction_async(c.ptr, g, id, off, C.int64_t(half.QueueOffset), tx, C.int32_t(state), ud, e)
	})
}

// GetRouteInfo asks a name server for topic's route; an unknown topic is an *Error with
// ResponseCode 17.
func (c *Client) GetRouteInfo(ctx context.Context, topic string) (*TopicRoute, error) {
	defer runtime.KeepAlive(c)
	var a cargs
	t := a.str(topic)
	if a.err != nil {
		return nil, a.err
	}
	return decodeJSON[*TopicRoute](c.runString(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_get_route_info_async(c.ptr, t, ud, e)
	}))
}

// GetClusterInfo asks a name server for every cluster and broker it knows.
func (c *Client) GetClusterInfo(ctx context.Context) (*ClusterInfo, error) {
	defer runtime.KeepAlive(c)
	return decodeJSON[*ClusterInfo](c.runString(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_get_cluster_info_async(c.ptr, ud, e)
	}))
}

// GetConsumerList returns the client ids of a consumer group's live members.
func (c *Client) GetConsumerList(ctx context.Context, consumerGroup string) ([]string, error) {
	defer runtime.KeepAlive(c)
	var a cargs
	g := a.str(consumerGroup)
	if a.err != nil {
		return nil, a.err
	}
	return decodeJSON[[]string](c.runString(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_get_consumer_list_async(c.ptr, g, ud, e)
	}))
}

// ViewMessage fetches the stored message whose offset message id is offsetMsgID (from
// SendResult.OffsetMsgID or MessageExt.OffsetMsgID).
func (c *Client) ViewMessage(ctx context.Context, offsetMsgID string) (*MessageExt, error) {
	defer runtime.KeepAlive(c)
	var a cargs
	id := a.str(offsetMsgID)
	if a.err != nil {
		return nil, a.err
	}
	b, err := c.runBatch(ctx, false, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_view_message_async(c.ptr, id, ud, e)
	})
	if err != nil {
		return nil, err
	}
	r := b.copyOut()
	if len(r.Messages) != 1 {
		return nil, &Error{Status: ErrProtocol, Message: "view message: not one message"}
	}
	return &r.Messages[0], nil
}

// ConsumerSendBack hands message index of a pulled batch back to the broker for redelivery
// to consumerGroup after delayLevel (0: the broker chooses; negative: straight to the
// dead-letter queue); maxReconsumeTimes negative means the broker's default. The batch is
// only read during the call.
func (c *Client) ConsumerSendBack(ctx context.Context, consumerGroup string, batch *Batch, index int, delayLevel, maxReconsumeTimes int32) error {
	defer runtime.KeepAlive(c)
	var a cargs
	g := a.str(consumerGroup)
	if a.err != nil {
		return a.err
	}
	if batch == nil || index < 0 {
		return invalidArg("nil batch or negative index")
	}
	return c.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		// The C call copies the message's identity before returning: the batch is only
		// held (against a concurrent Free) while it runs.
		batch.mu.Lock()
		defer batch.mu.Unlock()
		if batch.ptr == nil {
			return C.BC_ERR_INVALID_ARG
		}
		return C.bcgo_client_consumer_send_back_async(c.ptr, g, batch.ptr, C.size_t(index), C.int32_t(delayLevel), C.int32_t(maxReconsumeTimes), ud, e)
	})
}

// LockBatchMQ locks queues of consumerGroup for ordered consumption by this client; it
// returns those now locked by this client (the others are held by another member). Locks
// expire unless renewed by locking again.
func (c *Client) LockBatchMQ(ctx context.Context, consumerGroup string, mqs []MessageQueue) ([]MessageQueue, error) {
	defer runtime.KeepAlive(c)
	g, j, err := mqArgs(consumerGroup, mqs)
	if err != nil {
		return nil, err
	}
	return decodeJSON[[]MessageQueue](c.runString(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_lock_batch_mq_async(c.ptr, g, j, ud, e)
	}))
}

// UnlockBatchMQ releases locks this client holds on queues of consumerGroup.
func (c *Client) UnlockBatchMQ(ctx context.Context, consumerGroup string, mqs []MessageQueue) error {
	defer runtime.KeepAlive(c)
	g, j, err := mqArgs(consumerGroup, mqs)
	if err != nil {
		return err
	}
	return c.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_client_unlock_batch_mq_async(c.ptr, g, j, ud, e)
	})
}

func mqArgs(group string, mqs []MessageQueue) (*C.char, *C.char, error) {
	if mqs == nil {
		mqs = []MessageQueue{}
	}
	text, err := json.Marshal(mqs)
	if err != nil {
		return nil, nil, invalidArg(err.Error())
	}
	var a cargs
	g, j := a.str(group), a.str(string(text))
	return g, j, a.err
}

// SetTransactionCheckHandler installs the handler that answers the broker's transaction
// checks for half messages this client's producer groups sent (register the group with
// Heartbeat so the broker knows where to ask). nil removes it.
func (c *Client) SetTransactionCheckHandler(h TransactionCheckHandler) error {
	defer runtime.KeepAlive(c)
	var handle cgo.Handle
	if h != nil {
		handle = cgo.NewHandle(h)
	}
	err := c.local(func(e **C.bc_error) C.bc_status {
		return C.bcgo_client_set_transaction_check(c.ptr, C.uintptr_t(handle), e)
	})
	if err != nil && handle != 0 {
		handle.Delete() // not taken: free_user_data will not run
	}
	return err
}
