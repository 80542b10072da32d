package brokerclient

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// 1 000 goroutines send through one client, a quarter of them with a context cancelled
// before or while they run: every call returns exactly once, every accepted operation's
// callback ran (no handle left), and no goroutine is left behind once the client is closed.
func TestThousandGoroutinesWithCancellation(t *testing.T) {
	const n = 1000
	base := runtime.NumGoroutine()
	c, err := NewClient(brokerAddr(t), Config{"request.timeout.ms": "20000"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	topic := newTopic(t, c, "go_many", 4)
	maxBefore := int64(0)

	type result struct {
		i   int
		err error
	}
	results := make(chan result, n)
	var start sync.WaitGroup
	start.Add(1)
	for i := 0; i < n; i++ {
		go func() {
			callCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			switch i % 8 {
			case 0:
				cancel() // before the call
			case 4:
				time.AfterFunc(time.Duration(i%5)*time.Millisecond, cancel) // while it runs
			}
			start.Wait()
			_, err := c.Send(callCtx, "go_many_pg", int32(i%4), &Message{Topic: topic, Body: []byte("m")})
			results <- result{i, err}
		}()
	}
	start.Done()
	seen := make([]int, n)
	ok, cancelled, busy := 0, 0, 0
	for k := 0; k < n; k++ {
		r := <-results
		seen[r.i]++
		switch {
		case r.err == nil:
			ok++
		case errors.Is(r.err, ErrCancelled) && errors.Is(r.err, context.Canceled) && r.i%4 == 0:
			cancelled++
		case errors.Is(r.err, ErrBrokerBusy):
			busy++ // the broker's flow control, when the shared machine is slow
		default:
			t.Fatalf("send %d: %v", r.i, r.err)
		}
	}
	for i, s := range seen {
		if s != 1 {
			t.Fatalf("send %d returned %d times", i, s)
		}
	}
	// Those cancelled before the call (i%8 == 0) always are.
	if ok == 0 || cancelled < n/8 || ok+cancelled+busy != n {
		t.Fatalf("%d sent, %d cancelled, %d refused as busy", ok, cancelled, busy)
	}
	var stored int64
	for q := int32(0); q < 4; q++ {
		max, err := c.GetMaxOffset(ctx, topic, q)
		if err != nil {
			t.Fatal(err)
		}
		stored += max - maxBefore
	}
	// A send cancelled on the wire may still be stored; one that succeeded always is.
	if stored < int64(ok) || stored > int64(n) {
		t.Fatalf("%d stored for %d successful sends", stored, ok)
	}
	t.Logf("%d sent, %d cancelled, %d refused as busy, %d stored", ok, cancelled, busy, stored)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if left := pendingHandles.Load(); left != 0 {
		t.Fatalf("%d operations never completed", left)
	}
	eventually(t, "goroutines to settle", 10*time.Second, func() bool { return runtime.NumGoroutine() <= base })
}

// A forgotten client is closed by its cleanup: its dispatcher goroutine ends.
func TestCleanupClosesForgottenClient(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		c, err := NewClient(brokerAddr(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Connect(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}()
	eventually(t, "the cleanup to close the client", 10*time.Second, func() bool {
		runtime.GC()
		return runtime.NumGoroutine() <= base
	})
}

// recorder is a slog.Handler keeping the records it receives.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) find(msg, key, value string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.records {
		found := false
		rec.Attrs(func(a slog.Attr) bool {
			found = found || (a.Key == key && a.Value.String() == value)
			return !found
		})
		if rec.Message == msg && found {
			return true
		}
	}
	return false
}

func TestLogsReachSlog(t *testing.T) {
	rec := &recorder{}
	if err := SetLogger(slog.New(rec), slog.LevelInfo); err != nil {
		t.Fatal(err)
	}
	defer SetLogger(nil, 0)
	c := newTestClient(t, brokerAddr(t))
	if err := c.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	// Emitted on the connecting library thread before Connect completes.
	if !rec.find("connected", "addr", brokerAddr(t)) {
		t.Fatalf("no \"connected\" event with addr=%s among %d records", brokerAddr(t), len(rec.records))
	}
	if got := parseFields(`a=1 b="x y \"q\"" c=`); len(got) != 3 || got[1].Value.String() != `x y "q"` || got[2].Value.String() != "" {
		t.Fatalf("parseFields: %v", got)
	}
}

// A full window is back-pressure, not an error: with max.in.flight 4 and 64 goroutines
// sending at once, the library refuses submissions beyond 4 (ErrWouldBlock) and each Send
// waits for completions and submits again, so every send succeeds. Against a server that
// never answers, the wait ends with the caller's context.
func TestFullWindowWaitsForRoom(t *testing.T) {
	c, err := NewClient(brokerAddr(t), Config{"max.in.flight": "4", "request.timeout.ms": "20000"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testCtx(t)
	topic := newTopic(t, c, "go_window", 1)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Send(ctx, "go_window_pg", 0, &Message{Topic: topic, Body: []byte("x")})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("send at a full window: %v", err)
		}
	}

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	s, err := NewClient(silent.Addr().String(), Config{"max.in.flight": "1", "request.timeout.ms": "60000"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	held := make(chan error, 1)
	go func() {
		_, err := s.Send(context.Background(), "g", 0, &Message{Topic: "T", Body: []byte("held")})
		held <- err
	}()
	eventually(t, "the first send to be in flight", 30*time.Second, func() bool { return pendingHandles.Load() >= 1 })
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = s.Send(short, "g", 0, &Message{Topic: "T", Body: []byte("waits")})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a send waiting for room ends with its context: %v", err)
	}
	s.Close()
	// The held send was accepted (cancelled by close) or, had the other won the only place,
	// was still waiting for room (refused as closed).
	if err := <-held; !errors.Is(err, ErrCancelled) && !errors.Is(err, ErrClosed) {
		t.Fatalf("held send after close: %v", err)
	}
}
