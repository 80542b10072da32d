package brokerclient

// #include "shim.h"
import "C"

import (
	"context"
	"runtime"
	"time"
)

// Manager sends and pulls through many brokers: it pools connections per broker, tracks
// their health, and with name servers discovers them and follows topic routes. Contexts
// work as for Client. Every method is safe for concurrent use. Close it when done; a
// cleanup closes a forgotten one when it is garbage-collected.
type Manager struct {
	*managerCore
}

type managerCore struct {
	*owner
	ptr *C.bc_manager
}

// NewManager creates a manager with no brokers (add them with AddBroker).
func NewManager(cfg Config) (*Manager, error) {
	return newManager(cfg, func(ccfg *C.bc_config, q *C.bc_queue, out **C.bc_manager, e **C.bc_error) C.bc_status {
		return C.bc_manager_new(ccfg, q, out, e)
	})
}

// NewManagerFromNameServers creates a manager that discovers its brokers from the name
// servers ("a:9876;b:9876") on Start, then follows their routes.
func NewManagerFromNameServers(nameServers string, cfg Config) (*Manager, error) {
	var a cargs
	ns := a.str(nameServers)
	if a.err != nil {
		return nil, a.err
	}
	return newManager(cfg, func(ccfg *C.bc_config, q *C.bc_queue, out **C.bc_manager, e **C.bc_error) C.bc_status {
		return C.bc_manager_new_from_name_servers(ns, ccfg, q, out, e)
	})
}

func newManager(cfg Config, create func(*C.bc_config, *C.bc_queue, **C.bc_manager, **C.bc_error) C.bc_status) (*Manager, error) {
	o, ptr, err := newOwner(cfg, create,
		func(p *C.bc_manager, ms C.int32_t, e **C.bc_error) C.bc_status { return C.bc_manager_close(p, ms, e) },
		func(p *C.bc_manager) { C.bc_manager_free(p) })
	if err != nil {
		return nil, err
	}
	m := &Manager{&managerCore{o, ptr}}
	runtime.AddCleanup(m, func(o *owner) { _ = o.close() }, o)
	return m, nil
}

// Close closes the manager at once: calls in flight return ErrCancelled, later calls
// ErrClosed; then its connections close. It returns once every call has completed. Safe to call twice, during a
// Shutdown, and from any goroutine.
func (m *Manager) Close() error {
	defer runtime.KeepAlive(m)
	return m.close()
}

// Shutdown closes the manager gracefully, like http.Server.Shutdown: it stops admitting calls
// (later ones, on any goroutine, return ErrClosed), waits until the calls in flight have
// returned or ctx is done, whichever comes first, and then closes as Close does. Calls still
// in flight when ctx ends return ErrCancelled, each exactly once, and Shutdown returns
// ctx's error as an *Error (matching ErrTimeout and context.DeadlineExceeded, or
// ErrCancelled and context.Canceled); otherwise it returns the close's error, nil normally.
// Only the first Close or Shutdown closes; every one returns once the manager is closed.
func (m *Manager) Shutdown(ctx context.Context) error {
	defer runtime.KeepAlive(m)
	return m.gracefulShutdown(ctx)
}

// Start starts the background work (health probes; with name servers, route refresh) and,
// with name servers, discovers the brokers once before returning. Starting twice is harmless.
func (m *Manager) Start(ctx context.Context) error {
	defer runtime.KeepAlive(m)
	return m.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_start_async(m.ptr, ud, e)
	})
}

// AddBroker adds a broker by address or, with name servers, by broker name; it returns the
// broker's address. Adding a known broker changes nothing.
func (m *Manager) AddBroker(ctx context.Context, nameOrAddr string) (string, error) {
	defer runtime.KeepAlive(m)
	var a cargs
	n := a.str(nameOrAddr)
	if a.err != nil {
		return "", a.err
	}
	return m.runString(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_add_broker_async(m.ptr, n, ud, e)
	})
}

// RemoveBroker stops admitting requests to the broker at addr, lets those in flight finish
// for up to drain, then closes its connections.
func (m *Manager) RemoveBroker(ctx context.Context, addr string, drain time.Duration) error {
	defer runtime.KeepAlive(m)
	var a cargs
	ad := a.str(addr)
	if a.err != nil {
		return a.err
	}
	return m.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_remove_broker_async(m.ptr, ad, millis(drain), ud, e)
	})
}

// Send sends msg to its topic, route-aware, retrying a retriable failure on another broker
// within one request timeout.
func (m *Manager) Send(ctx context.Context, producerGroup string, msg *Message) (*SendResult, error) {
	defer runtime.KeepAlive(m)
	var a cargs
	g := a.str(producerGroup)
	if a.err != nil {
		return nil, a.err
	}
	cm, err := msg.build()
	if err != nil {
		return nil, err
	}
	defer C.bc_message_free(cm)
	if ctx.Done() == nil {
		// The direct path (see owner.direct): a context that never ends needs no cancel token.
		var res *C.bc_send_result
		if err, ok := m.direct(func(e **C.bc_error) C.bc_status {
			return C.bc_manager_send(m.ptr, g, cm, &res, e)
		}); ok {
			if err != nil {
				return nil, err
			}
			defer C.bc_send_result_free(res)
			return sendResultFrom(res), nil
		}
	}
	out, err := m.run(ctx, true, func(tok *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_send_async_with_cancel(m.ptr, g, cm, tok, ud, e)
	})
	return out.send, err
}

// SendBatch sends messages of one topic as one batch, route-aware (one queue, in order).
func (m *Manager) SendBatch(ctx context.Context, producerGroup string, msgs []*Message) (*SendResult, error) {
	defer runtime.KeepAlive(m)
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
	out, err := m.run(ctx, false, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_send_batch_async(m.ptr, g, &cm[0], C.size_t(len(cm)), ud, e)
	})
	return out.send, err
}

// Pull pulls from a queue on broker (a broker name or an address), copying the messages.
func (m *Manager) Pull(ctx context.Context, broker string, req PullRequest) (*PullResult, error) {
	b, err := m.PullBatch(ctx, broker, req)
	if err != nil {
		return nil, err
	}
	return b.copyOut(), nil
}

// PullBatch is Pull without copying (see Batch).
func (m *Manager) PullBatch(ctx context.Context, broker string, req PullRequest) (*Batch, error) {
	defer runtime.KeepAlive(m)
	var a cargs
	br := a.str(broker)
	p := req.cargs(&a)
	if a.err != nil {
		return nil, a.err
	}
	return m.runBatch(ctx, true, func(tok *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_pull_async_with_cancel(m.ptr, br, p.group, p.topic, p.queueID, p.offset, p.max, p.suspend, p.sub, tok, ud, e)
	})
}

// QueryConsumerOffset is the committed offset of consumerGroup on a queue of topic on broker
// (name or address); ErrOffset when none is committed.
func (m *Manager) QueryConsumerOffset(ctx context.Context, broker, consumerGroup, topic string, queueID int32) (int64, error) {
	defer runtime.KeepAlive(m)
	var a cargs
	br, g, t := a.str(broker), a.str(consumerGroup), a.str(topic)
	if a.err != nil {
		return 0, a.err
	}
	return m.runInt64(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_query_consumer_offset_async(m.ptr, br, g, t, C.int32_t(queueID), ud, e)
	})
}

// GetMaxOffset is the next offset to be written in a queue of topic on broker.
func (m *Manager) GetMaxOffset(ctx context.Context, broker, topic string, queueID int32) (int64, error) {
	defer runtime.KeepAlive(m)
	var a cargs
	br, t := a.str(broker), a.str(topic)
	if a.err != nil {
		return 0, a.err
	}
	return m.runInt64(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_get_max_offset_async(m.ptr, br, t, C.int32_t(queueID), ud, e)
	})
}

// UpdateConsumerOffset commits offset for consumerGroup on a queue of topic on broker.
func (m *Manager) UpdateConsumerOffset(ctx context.Context, broker, consumerGroup, topic string, queueID int32, offset int64) error {
	defer runtime.KeepAlive(m)
	var a cargs
	br, g, t := a.str(broker), a.str(consumerGroup), a.str(topic)
	if a.err != nil {
		return a.err
	}
	return m.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_update_consumer_offset_async(m.ptr, br, g, t, C.int32_t(queueID), C.int64_t(offset), ud, e)
	})
}

// Heartbeat registers a producer group and/or a consumer group with every known broker.
func (m *Manager) Heartbeat(ctx context.Context, producerGroup, consumerGroup string) error {
	defer runtime.KeepAlive(m)
	var a cargs
	pg, cg := a.optStr(producerGroup), a.optStr(consumerGroup)
	if a.err != nil {
		return a.err
	}
	return m.runDone(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_heartbeat_async(m.ptr, pg, cg, ud, e)
	})
}

// GetClusterInfo asks the manager's name servers (with failover) for every cluster and broker.
func (m *Manager) GetClusterInfo(ctx context.Context) (*ClusterInfo, error) {
	defer runtime.KeepAlive(m)
	return decodeJSON[*ClusterInfo](m.runString(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_get_cluster_info_async(m.ptr, ud, e)
	}))
}

// GetRouteInfo is topic's route, from the manager's cache or its name servers; its brokers
// become known to the manager.
func (m *Manager) GetRouteInfo(ctx context.Context, topic string) (*TopicRoute, error) {
	defer runtime.KeepAlive(m)
	var a cargs
	t := a.str(topic)
	if a.err != nil {
		return nil, a.err
	}
	return decodeJSON[*TopicRoute](m.runString(ctx, func(_ *C.bc_cancel_token, ud C.uintptr_t, e **C.bc_error) C.bc_status {
		return C.bcgo_manager_get_route_info_async(m.ptr, t, ud, e)
	}))
}

// BrokerState is the health of the broker at addr (an address or a known broker name).
// Never blocks.
func (m *Manager) BrokerState(addr string) BrokerState {
	defer runtime.KeepAlive(m)
	var a cargs
	ad := a.str(addr)
	if a.err != nil {
		return BrokerUnknown
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.freed {
		return BrokerUnknown
	}
	return BrokerState(C.bc_manager_broker_state(m.ptr, ad))
}

// localJSON runs one of the manager's local JSON queries.
func (m *Manager) localJSON(query func(*C.bc_manager, **C.char, **C.bc_error) C.bc_status) (string, error) {
	defer runtime.KeepAlive(m)
	var out *C.char
	if err := m.local(func(e **C.bc_error) C.bc_status { return query(m.ptr, &out, e) }); err != nil {
		return "", err
	}
	defer C.bc_string_free(out)
	return C.GoString(out), nil
}

// Stats is the manager's state and metrics. Never blocks.
func (m *Manager) Stats() (*ManagerStats, error) {
	return decodeJSON[*ManagerStats](m.localJSON(func(p *C.bc_manager, out **C.char, e **C.bc_error) C.bc_status {
		return C.bc_manager_stats_json(p, out, e)
	}))
}

// Brokers lists the addresses of the brokers the manager knows. Never blocks.
func (m *Manager) Brokers() ([]string, error) {
	return decodeJSON[[]string](m.localJSON(func(p *C.bc_manager, out **C.char, e **C.bc_error) C.bc_status {
		return C.bc_manager_brokers(p, out, e)
	}))
}
