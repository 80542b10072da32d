package brokerclient

import (
	"errors"
	"testing"
	"time"
)

// brokerName finds the test broker's name in the name server's cluster info.
func brokerName(t *testing.T, m *Manager) string {
	t.Helper()
	info, err := m.GetClusterInfo(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, bd := range info.BrokerAddrTable {
		if bd.BrokerAddrs[0] == brokerAddr(t) {
			return name
		}
	}
	t.Fatalf("no broker at %s in %+v", brokerAddr(t), info)
	return ""
}

func TestManagerFromNameServers(t *testing.T) {
	ctx := testCtx(t)
	m, err := NewManagerFromNameServers(namesrvAddr(t), Config{"pool.size": "2", "request.timeout.ms": "10000"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	name := brokerName(t, m)
	addr, err := m.AddBroker(ctx, name)
	if err != nil || addr != brokerAddr(t) {
		t.Fatalf("AddBroker(%s) = %q, %v", name, addr, err)
	}
	brokers, err := m.Brokers()
	if err != nil || len(brokers) == 0 {
		t.Fatalf("brokers %q, %v", brokers, err)
	}
	if st := m.BrokerState(addr); st != BrokerHealthy {
		t.Fatalf("state of %s: %d", addr, st)
	}
	if st := m.BrokerState("127.0.0.1:1"); st != BrokerUnknown {
		t.Fatalf("state of an unknown broker: %d", st)
	}

	c := newTestClient(t, brokerAddr(t))
	topic := newTopic(t, c, "go_mgr", 1)
	route, err := m.GetRouteInfo(ctx, topic)
	if err != nil || len(route.QueueDatas) == 0 || route.QueueDatas[0].WriteQueueNums != 1 {
		t.Fatalf("route %+v, %v", route, err)
	}
	pg, cg := uniqueName("go_mpg"), uniqueName("go_mcg")
	r, err := m.Send(ctx, pg, &Message{Topic: topic, Body: []byte("via manager")})
	if err != nil || r.QueueID != 0 {
		t.Fatalf("send %+v, %v", r, err)
	}
	if _, err := m.SendBatch(ctx, pg, []*Message{{Topic: topic, Body: []byte("b1")}, {Topic: topic, Body: []byte("b2")}}); err != nil {
		t.Fatal(err)
	}
	var got []MessageExt
	for offset := int64(0); len(got) < 3; {
		pr, err := m.Pull(ctx, name, PullRequest{ConsumerGroup: cg, Topic: topic, QueueID: 0, Offset: offset, Suspend: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pr.Messages...)
		offset = pr.NextOffset
	}
	if string(got[0].Body) != "via manager" || string(got[2].Body) != "b2" {
		t.Fatalf("pulled %q %q", got[0].Body, got[2].Body)
	}
	b, err := m.PullBatch(ctx, addr, PullRequest{ConsumerGroup: cg, Topic: topic, QueueID: 0, Offset: 1, MaxMessages: 1})
	if err != nil || b.Len() != 1 || string(b.Message(0).Body) != "b1" {
		t.Fatalf("pull batch by address: %v", err)
	}
	b.Free()
	if max, err := m.GetMaxOffset(ctx, name, topic, 0); err != nil || max != 3 {
		t.Fatalf("max offset %d, %v", max, err)
	}
	if err := m.Heartbeat(ctx, pg, cg); err != nil {
		t.Fatal(err)
	}
	if err := m.UpdateConsumerOffset(ctx, name, cg, topic, 0, 2); err != nil {
		t.Fatal(err)
	}
	if off, err := m.QueryConsumerOffset(ctx, name, cg, topic, 0); err != nil || off != 2 {
		t.Fatalf("committed offset %d, %v", off, err)
	}
	stats, err := m.Stats()
	if err != nil || len(stats.NameServers) != 1 || len(stats.Brokers) == 0 || stats.ClientID == "" {
		t.Fatalf("stats %+v, %v", stats, err)
	}
	var requests uint64
	for _, b := range stats.Brokers {
		requests += b.Requests
	}
	if requests == 0 {
		t.Fatalf("no requests counted: %+v", stats)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := m.Send(ctx, pg, &Message{Topic: topic, Body: []byte("late")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after Close: %v", err)
	}
	if _, err := m.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatalf("stats after Close: %v", err)
	}
}

func TestManagerAddRemoveByAddress(t *testing.T) {
	ctx := testCtx(t)
	m, err := NewManager(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr, err := m.AddBroker(ctx, brokerAddr(t))
	if err != nil || addr != brokerAddr(t) {
		t.Fatalf("add %q, %v", addr, err)
	}
	c := newTestClient(t, brokerAddr(t))
	topic := newTopic(t, c, "go_mgr_addr", 1)
	if max, err := m.GetMaxOffset(ctx, addr, topic, 0); err != nil || max != 0 {
		t.Fatalf("max offset %d, %v", max, err)
	}
	if err := m.RemoveBroker(ctx, addr, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st := m.BrokerState(addr); st != BrokerUnknown {
		t.Fatalf("state after remove: %d", st)
	}
	if err := m.RemoveBroker(ctx, addr, 0); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("removing an unknown broker: %v", err)
	}
	// No name servers: cluster info is refused.
	if _, err := m.GetClusterInfo(ctx); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("cluster info without name servers: %v", err)
	}
}
