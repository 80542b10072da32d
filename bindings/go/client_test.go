package brokerclient

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	if Version() == "" || versionNum() == 0 {
		t.Fatalf("version %q %#x", Version(), versionNum())
	}
}

func TestSendPullAndOffsets(t *testing.T) {
	c := newTestClient(t, brokerAddr(t))
	ctx := testCtx(t)
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if !c.IsConnected() {
		t.Fatal("not connected after Connect")
	}
	topic := newTopic(t, c, "go_ops", 2)
	pg, cg := uniqueName("go_pg"), uniqueName("go_cg")
	before := time.Now().Add(-time.Second)

	r, err := c.Send(ctx, pg, 0, &Message{Topic: topic, Body: []byte("one"), Tags: "tagA", Keys: "k1 k2",
		Properties: map[string]string{"color": "blue"}, Flag: 7})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != SendOK || r.QueueID != 0 || r.QueueOffset != 0 || r.MsgID == "" || r.OffsetMsgID == "" {
		t.Fatalf("send result %+v", r)
	}
	if err := c.SendOneway(ctx, pg, 0, &Message{Topic: topic, Body: []byte("two")}); err != nil {
		t.Fatal(err)
	}
	if js, err := c.StatsJSON(); err != nil {
		t.Fatal(err)
	} else {
		var s struct {
			Connected  bool   `json:"connected"`
			BytesOut   uint64 `json:"bytes_out"`
			Operations map[string]struct {
				Ok uint64 `json:"ok"`
			} `json:"operations"`
		}
		if err := json.Unmarshal([]byte(js), &s); err != nil {
			t.Fatal(err)
		}
		if !s.Connected || s.BytesOut == 0 || s.Operations["send"].Ok < 1 {
			t.Fatalf("stats %s", js)
		}
	}
	br, err := c.SendBatch(ctx, pg, 0, []*Message{{Topic: topic, Body: []byte("three")}, {Topic: topic, Body: []byte("four")}})
	if err != nil {
		t.Fatal(err)
	}
	if br.QueueID != 0 || br.MsgID == "" {
		t.Fatalf("batch result %+v", br)
	}
	if err := c.SendBatchOneway(ctx, pg, 1, []*Message{{Topic: topic, Body: []byte("five")}}); err != nil {
		t.Fatal(err)
	}

	msgs := pullUntil(t, c, cg, topic, 0, 0, 4)
	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, string(m.Body))
	}
	// The oneway send may land before or after the batch; the batch keeps its order.
	if len(msgs) != 4 || bodies[0] != "one" {
		t.Fatalf("pulled %q", bodies)
	}
	first := msgs[0]
	if first.Topic != topic || first.Tags != "tagA" || first.Keys != "k1 k2" || first.Flag != 7 ||
		first.MsgID != r.MsgID || first.QueueOffset != 0 || first.StoreTimestamp.Before(before) {
		t.Fatalf("first message %+v", first)
	}
	pullUntil(t, c, cg, topic, 1, 0, 1)

	max, err := c.GetMaxOffset(ctx, topic, 0)
	if err != nil || max != 4 {
		t.Fatalf("max offset %d, %v", max, err)
	}
	min, err := c.GetMinOffset(ctx, topic, 0)
	if err != nil || min != 0 {
		t.Fatalf("min offset %d, %v", min, err)
	}
	earliest, err := c.GetEarliestMsgStoreTime(ctx, topic, 0)
	if err != nil || !earliest.Equal(first.StoreTimestamp) {
		t.Fatalf("earliest %v (want %v), %v", earliest, first.StoreTimestamp, err)
	}
	off, err := c.SearchOffsetByTimestamp(ctx, topic, 0, before, false)
	if err != nil || off != 0 {
		t.Fatalf("search offset %d, %v", off, err)
	}

	// Zero-copy: bodies alias the batch until Free; a property by name.
	b, err := c.PullBatch(ctx, PullRequest{ConsumerGroup: cg, Topic: topic, QueueID: 0, Offset: 0, MaxMessages: 1})
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != PullFound || b.Len() != 1 || string(b.Message(0).Body) != "one" || b.NextOffset != 1 {
		t.Fatalf("batch %+v len %d", b, b.Len())
	}
	if v, ok := b.Property(0, "color"); !ok || v != "blue" {
		t.Fatalf("property color = %q, %v", v, ok)
	}
	if _, ok := b.Property(0, "absent"); ok {
		t.Fatal("absent property found")
	}
	b.Free()
	b.Free() // twice is harmless

	// Nothing new at the end of the queue.
	nr, err := c.Pull(ctx, PullRequest{ConsumerGroup: cg, Topic: topic, QueueID: 0, Offset: max})
	if err != nil || nr.Status != PullNoNewMsg || len(nr.Messages) != 0 {
		t.Fatalf("pull at the end: %+v, %v", nr, err)
	}

	// Consumer offsets.
	if err := c.Heartbeat(ctx, pg, cg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.QueryConsumerOffset(ctx, cg, topic, 0); !errors.Is(err, ErrOffset) {
		t.Fatalf("query before commit: %v", err)
	}
	if err := c.UpdateConsumerOffset(ctx, cg, topic, 0, 3); err != nil {
		t.Fatal(err)
	}
	if got, err := c.QueryConsumerOffset(ctx, cg, topic, 0); err != nil || got != 3 {
		t.Fatalf("query after commit: %d, %v", got, err)
	}
	if err := c.UpdateConsumerOffsetOneway(ctx, cg, topic, 1, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "oneway offset commit", 10*time.Second, func() bool {
		got, err := c.QueryConsumerOffset(ctx, cg, topic, 1)
		return err == nil && got == 1
	})
	members, err := c.GetConsumerList(ctx, cg)
	if err != nil || len(members) != 1 {
		t.Fatalf("consumer list %q, %v", members, err)
	}
	if err := c.Unregister(ctx, pg, cg); err != nil {
		t.Fatal(err)
	}

	// View by offset id.
	v, err := c.ViewMessage(ctx, r.OffsetMsgID)
	if err != nil || string(v.Body) != "one" || v.MsgID != r.MsgID {
		t.Fatalf("view %+v, %v", v, err)
	}
	if _, err := c.ViewMessage(ctx, "not-an-id"); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("view of a bad id: %v", err)
	}

	c.Disconnect()
	if c.IsConnected() {
		t.Fatal("connected after Disconnect")
	}
	if _, err := c.GetMaxOffset(ctx, topic, 0); err != nil {
		t.Fatalf("reconnect on demand: %v", err)
	}
}

func TestSendBackAndQueueLocks(t *testing.T) {
	c := newTestClient(t, brokerAddr(t))
	ctx := testCtx(t)
	topic := newTopic(t, c, "go_sendback", 1)
	pg, cg := uniqueName("go_pg"), uniqueName("go_cg")
	if _, err := c.Send(ctx, pg, 0, &Message{Topic: topic, Body: []byte("again")}); err != nil {
		t.Fatal(err)
	}
	pullUntil(t, c, cg, topic, 0, 0, 1)
	if err := c.Heartbeat(ctx, "", cg); err != nil {
		t.Fatal(err)
	}
	b, err := c.PullBatch(ctx, PullRequest{ConsumerGroup: cg, Topic: topic, QueueID: 0, Offset: 0})
	if err != nil || b.Len() != 1 {
		t.Fatalf("pull batch: %v", err)
	}
	if err := c.ConsumerSendBack(ctx, cg, b, 0, 1, -1); err != nil {
		t.Fatal(err)
	}
	if err := c.ConsumerSendBack(ctx, cg, b, 5, 1, -1); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("send back out of range: %v", err)
	}
	b.Free()
	if err := c.ConsumerSendBack(ctx, cg, b, 0, 1, -1); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("send back from a freed batch: %v", err)
	}

	route, err := newTestClient(t, namesrvAddr(t)).GetRouteInfo(ctx, topic)
	if err != nil || len(route.BrokerDatas) == 0 {
		t.Fatalf("route %+v, %v", route, err)
	}
	mqs := []MessageQueue{{Topic: topic, BrokerName: route.BrokerDatas[0].BrokerName, QueueID: 0}}
	locked, err := c.LockBatchMQ(ctx, cg, mqs)
	if err != nil || len(locked) != 1 || locked[0] != mqs[0] {
		t.Fatalf("locked %+v, %v", locked, err)
	}
	// Another member of the group cannot take the lock.
	other := newTestClient(t, brokerAddr(t))
	if err := other.Heartbeat(ctx, "", cg); err != nil {
		t.Fatal(err)
	}
	if got, err := other.LockBatchMQ(ctx, cg, mqs); err != nil || len(got) != 0 {
		t.Fatalf("other member locked %+v, %v", got, err)
	}
	if err := c.UnlockBatchMQ(ctx, cg, mqs); err != nil {
		t.Fatal(err)
	}
	if got, err := other.LockBatchMQ(ctx, cg, mqs); err != nil || len(got) != 1 {
		t.Fatalf("after unlock, other member locked %+v, %v", got, err)
	}
}

func TestNameServerQueries(t *testing.T) {
	ns := newTestClient(t, namesrvAddr(t))
	ctx := testCtx(t)
	info, err := ns.GetClusterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, bd := range info.BrokerAddrTable {
		found = found || bd.BrokerAddrs[0] == brokerAddr(t)
	}
	if !found || len(info.ClusterAddrTable) == 0 {
		t.Fatalf("cluster info %+v lacks %s", info, brokerAddr(t))
	}
	_, err = ns.GetRouteInfo(ctx, uniqueName("go_no_such_topic"))
	var e *Error
	if !errors.As(err, &e) || e.ResponseCode != 17 || !errors.Is(err, ErrBrokerResponse) {
		t.Fatalf("unknown topic: %v", err)
	}
}

func TestTransactions(t *testing.T) {
	c := newTestClient(t, brokerAddr(t))
	ctx := testCtx(t)
	topic := newTopic(t, c, "go_tx", 1)
	pg, cg := uniqueName("go_tx_pg"), uniqueName("go_tx_cg")

	type seen struct {
		check TransactionCheck
		order string
	}
	checks := make(chan seen, 16)
	var wanted atomic.Value
	wanted.Store("")
	err := c.SetTransactionCheckHandler(func(tc *TransactionCheck) TransactionState {
		if tc.MsgID != wanted.Load().(string) {
			return TxRollback // a half message of an earlier run
		}
		order, _ := tc.Property("order")
		select {
		case checks <- seen{*tc, order}:
		default:
		}
		return TxCommit
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Heartbeat(ctx, pg, ""); err != nil {
		t.Fatal(err)
	}
	// Ended by the client: commit one, roll back the other.
	commit, err := c.Send(ctx, pg, 0, &Message{Topic: topic, Body: []byte("commit"), Transactional: true})
	if err != nil || commit.TransactionID == "" {
		t.Fatalf("half message %+v, %v", commit, err)
	}
	rollback, err := c.Send(ctx, pg, 0, &Message{Topic: topic, Body: []byte("rollback"), Transactional: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EndTransaction(ctx, pg, commit, TxCommit); err != nil {
		t.Fatal(err)
	}
	if err := c.EndTransaction(ctx, pg, rollback, TxRollback); err != nil {
		t.Fatal(err)
	}
	// Ended by the broker's check (transactionTimeOut 2 s, checked every 1 s).
	asked, err := c.Send(ctx, pg, 0, &Message{Topic: topic, Body: []byte("asked"), Transactional: true,
		Properties: map[string]string{"order": "42"}})
	if err != nil {
		t.Fatal(err)
	}
	wanted.Store(asked.MsgID)
	select {
	case s := <-checks:
		if s.check.Topic != topic || string(s.check.Body) != "asked" || s.check.TransactionID != asked.TransactionID || s.order != "42" {
			t.Fatalf("check %+v order %q", s.check, s.order)
		}
	case <-ctx.Done():
		t.Fatal("the broker never asked")
	}
	got := pullUntil(t, c, cg, topic, 0, 0, 2)
	if string(got[0].Body) != "commit" || string(got[1].Body) != "asked" {
		t.Fatalf("visible: %q %q", got[0].Body, got[1].Body)
	}
	if err := c.SetTransactionCheckHandler(nil); err != nil {
		t.Fatal(err)
	}
}

func TestErrorsAndBadInput(t *testing.T) {
	if _, err := NewClient("127.0.0.1:1", Config{"no.such.key": "1"}); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("unknown config key: %v", err)
	}
	c := newTestClient(t, brokerAddr(t))
	ctx := testCtx(t)
	if _, err := c.Send(ctx, "pg", 0, &Message{Topic: "bad\x00topic", Body: []byte("x")}); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("NUL in topic: %v", err)
	}
	if _, err := c.Send(ctx, "pg", 0, nil); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("nil message: %v", err)
	}
	if _, err := c.SendBatch(ctx, "pg", 0, nil); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("empty batch: %v", err)
	}
	if _, err := c.Send(ctx, "pg", 0, &Message{Topic: "t", Body: []byte("x"), DelayLevel: 99}); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("delay level 99: %v", err)
	}
	// A closed port: a connection error with the category and retriable flag.
	dead := newTestClient(t, "127.0.0.1:1")
	err := dead.Connect(ctx)
	var e *Error
	if !errors.Is(err, ErrConnection) || !errors.As(err, &e) || e.Message == "" {
		t.Fatalf("connect to a closed port: %v", err)
	}
	// Statuses have names and descriptions.
	if ErrTimeout.Error() != "BC_ERR_TIMEOUT" || ErrTimeout.String() == "" {
		t.Fatalf("status text %q %q", ErrTimeout.Error(), ErrTimeout.String())
	}
}

func TestContextEndsCalls(t *testing.T) {
	c := newTestClient(t, brokerAddr(t))
	ctx := testCtx(t)
	topic := newTopic(t, c, "go_ctx", 1)
	cg := uniqueName("go_cg")

	// Already cancelled: refused before reaching the library.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Send(done, "pg", 0, &Message{Topic: topic, Body: []byte("x")}); !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled send: %v", err)
	}

	// A long poll (held 20 s by the broker) ends when its context is cancelled.
	pctx, pcancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Pull(pctx, PullRequest{ConsumerGroup: cg, Topic: topic, QueueID: 0, Offset: 0, Suspend: 20 * time.Second})
		errc <- err
	}()
	time.AfterFunc(200*time.Millisecond, pcancel)
	select {
	case err := <-errc:
		if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled long poll: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled long poll did not return")
	}

	// A deadline ends it too, as a timeout.
	dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer dcancel()
	_, err := c.Pull(dctx, PullRequest{ConsumerGroup: cg, Topic: topic, QueueID: 0, Offset: 0, Suspend: 20 * time.Second})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("long poll past its deadline: %v", err)
	}
}

// Close with long polls in flight: the broker holds each pull (empty queue, 60 s suspend),
// so they are still pending when Close runs. The test waits until the library accepted all
// of them (pendingHandles: accepted operations whose callback has not run) and none has
// returned, closes, and then requires every one to return exactly once with ErrCancelled;
// ErrClosed is only for calls submitted after Close.
func TestCloseWithCallsInFlight(t *testing.T) {
	// Operations left over from earlier tests (abandoned by their context) finish within
	// their request timeout; start from none so that the count below is this test's alone.
	eventually(t, "no operation pending before the test", 60*time.Second, func() bool { return pendingHandles.Load() == 0 })
	c, err := NewClient(brokerAddr(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	topic := newTopic(t, c, "go_close", 1)
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 20
	type result struct {
		i   int
		err error
	}
	results := make(chan result, n)
	pull := func() error {
		_, err := c.Pull(ctx, PullRequest{ConsumerGroup: "go_close_cg", Topic: topic, QueueID: 0, Offset: 0, Suspend: 60 * time.Second})
		return err
	}
	for i := 0; i < n; i++ {
		go func() { results <- result{i, pull()} }()
	}
	// In flight: all n accepted by the library and none completed (the broker holds them).
	deadline := time.Now().Add(30 * time.Second)
	for pendingHandles.Load() < n {
		select {
		case r := <-results:
			t.Fatalf("pull %d returned before Close: %v", r.i, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d pulls in flight after 30 s", pendingHandles.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := pendingHandles.Load(); got != n {
		t.Fatalf("%d operations pending, expected the %d pulls", got, n)
	}
	closed := make(chan error, 2)
	go func() { closed <- c.Close() }()
	go func() { closed <- c.Close() }()
	for i := 0; i < 2; i++ {
		if err := <-closed; err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	// Close returns once every accepted operation completed: all callbacks ran.
	if left := pendingHandles.Load(); left != 0 {
		t.Fatalf("%d pulls still pending after Close", left)
	}
	seen := make([]int, n)
	for k := 0; k < n; k++ {
		r := <-results
		seen[r.i]++
		if !errors.Is(r.err, ErrCancelled) {
			t.Fatalf("pull %d in flight at Close: %v (want ErrCancelled)", r.i, r.err)
		}
	}
	for i, s := range seen {
		if s != 1 {
			t.Fatalf("pull %d returned %d times", i, s)
		}
	}
	select {
	case r := <-results:
		t.Fatalf("pull %d returned again: %v", r.i, r.err)
	default:
	}
	// Submitted after Close: refused, never accepted.
	if err := pull(); !errors.Is(err, ErrClosed) {
		t.Fatalf("pull after Close: %v", err)
	}
	if _, err := c.GetMaxOffset(ctx, topic, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	if left := pendingHandles.Load(); left != 0 {
		t.Fatalf("%d operations pending after refused calls", left)
	}
	if c.IsConnected() {
		t.Fatal("connected after Close")
	}
}
