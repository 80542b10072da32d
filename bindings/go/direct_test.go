package brokerclient

import (
	"context"
	"errors"
	"net"
	"runtime/pprof"
	"sync"
	"testing"
	"time"
)

// With a context that never ends, Send and SendOneway take the direct path (a blocking C
// call) once the client is connected, and the queue path before: both store the messages.
func TestDirectSends(t *testing.T) {
	c := newTestClient(t, brokerAddr(t))
	topic := newTopic(t, c, "go_direct", 1)
	bg := context.Background()
	c.Disconnect() // the first send takes the queue path (not connected), and connects
	first, err := c.Send(bg, "go_direct_pg", 0, &Message{Topic: topic, Body: []byte("0")})
	if err != nil {
		t.Fatalf("Send while disconnected: %v", err)
	}
	if !c.IsConnected() {
		t.Fatal("not connected after a send")
	}
	if _, err := c.Send(bg, "go_direct_pg", 0, &Message{Topic: topic, Body: []byte("1")}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := c.SendOneway(bg, "go_direct_pg", 0, &Message{Topic: topic, Body: []byte("2")}); err != nil {
		t.Fatalf("SendOneway: %v", err)
	}
	got := pullUntil(t, c, "go_direct_cg", topic, 0, first.QueueOffset, 3)
	for i, m := range got[:3] {
		if string(m.Body) != string(rune('0'+i)) {
			t.Fatalf("message %d: %q", i, m.Body)
		}
	}
	// Errors come back as from the queue path, and nothing falls through to it twice.
	if _, err := c.Send(bg, "go_direct_pg", 0, &Message{Topic: topic}); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("empty body: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(bg, "go_direct_pg", 0, &Message{Topic: topic, Body: []byte("x")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := c.SendOneway(bg, "go_direct_pg", 0, &Message{Topic: topic, Body: []byte("x")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendOneway after Close: %v", err)
	}
}

// 1 000 goroutines sending at once with contexts that never end: at most directThreads of
// them wait in blocking C calls, the rest go through the queue, so the process does not
// start an OS thread per goroutine. Every send returns once and succeeds.
func TestDirectPathBoundsThreads(t *testing.T) {
	const n = 1000
	c, err := NewClient(brokerAddr(t), Config{"request.timeout.ms": "20000"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := newTopic(t, c, "go_direct_many", 4)
	if err := c.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	threads := pprof.Lookup("threadcreate")
	before := threads.Count()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Send(context.Background(), "go_direct_many_pg", int32(i%4), &Message{Topic: topic, Body: []byte("m")})
			if err != nil && !errors.Is(err, ErrBrokerBusy) { // the broker's flow control on a slow machine
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("send: %v", err)
	}
	// Threads the runtime started meanwhile: usually 0 to 24 (the direct calls' and a few
	// to keep the Ps busy), but on a loaded machine any cgo call that a preemption keeps in C
	// for over 20 µs has its P handed to another thread, so the bound checked is the one
	// that matters: far from a thread per goroutine. The direct path itself never has more
	// than directThreads calls in C (directSlots' capacity).
	grown := threads.Count() - before
	t.Logf("%d OS threads started for %d concurrent sends", grown, n)
	if grown >= n/4 {
		t.Fatalf("%d OS threads started for %d concurrent sends", grown, n)
	}
}

// silentBroker accepts connections and reads requests but never answers: a send to it stays
// in flight. requests receives once per connection when its first bytes arrived.
func silentBroker(t *testing.T) (addr string, requests <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got := make(chan struct{}, 16)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
			go func() {
				buf := make([]byte, 4096)
				first := true
				for {
					n, err := conn.Read(buf)
					if n > 0 && first {
						first = false
						got <- struct{}{}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String(), got
}

// A direct send whose context can end runs on a per-call handle: cancelling the context,
// its deadline, or closing the client ends the blocking call at once, with the error the
// queue path gives (ErrCancelled + context.Canceled, ErrTimeout + context.DeadlineExceeded,
// ErrCancelled). A context that never ends is still ended by Close.
func TestDirectSendInFlight(t *testing.T) {
	for _, how := range []string{"cancel", "deadline", "close", "close-background"} {
		t.Run(how, func(t *testing.T) {
			addr, requests := silentBroker(t)
			c, err := NewClient(addr, Config{"request.timeout.ms": "60000"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Connect(testCtx(t)); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			switch how {
			case "deadline":
				ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
			case "close-background":
				ctx = context.Background()
			}
			done := make(chan error, 1)
			go func() {
				_, err := c.Send(ctx, "g", 0, &Message{Topic: "T", Body: []byte("held")})
				done <- err
			}()
			select {
			case <-requests: // on the wire
			case err := <-done:
				t.Fatalf("send returned before it was cancelled: %v", err)
			}
			if n := len(directSlots); n != 1 {
				t.Fatalf("%d calls on the direct path, want the send", n)
			}
			switch how {
			case "cancel":
				cancel()
			case "close", "close-background":
				if err := c.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
			}
			err = <-done
			switch how {
			case "cancel":
				if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
					t.Fatalf("cancelled direct send: %v", err)
				}
			case "deadline":
				if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("direct send past its deadline: %v", err)
				}
			default:
				if !errors.Is(err, ErrCancelled) {
					t.Fatalf("direct send at Close: %v", err)
				}
			}
			if n := len(directSlots); n != 0 {
				t.Fatalf("%d direct-path slots still held", n)
			}
			c.handlesMu.Lock()
			left := len(c.handles)
			c.handlesMu.Unlock()
			if left != 0 {
				t.Fatalf("%d per-call handles left", left)
			}
		})
	}
}

// A small explicit window keeps sends with contexts that can end on the queue path (a
// per-call handle would be outside the window).
func TestSmallWindowKeepsQueuePath(t *testing.T) {
	if perCallHandlesFor(Config{"max.in.flight": "4"}) || !perCallHandlesFor(nil) || !perCallHandlesFor(Config{"max.in.flight": "4096"}) {
		t.Fatal("perCallHandlesFor")
	}
}

// Manager.Send with a context that never ends takes the direct path (bc_manager_send).
func TestManagerDirectSend(t *testing.T) {
	m, err := NewManagerFromNameServers(namesrvAddr(t), Config{"request.timeout.ms": "10000"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, brokerAddr(t))
	topic := newTopic(t, c, "go_mdirect", 1)
	if _, err := m.GetRouteInfo(testCtx(t), topic); err != nil {
		t.Fatalf("GetRouteInfo: %v", err)
	}
	r, err := m.Send(context.Background(), "go_mdirect_pg", &Message{Topic: topic, Body: []byte("direct")})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := pullUntil(t, c, "go_mdirect_cg", topic, 0, r.QueueOffset, 1)
	if string(got[0].Body) != "direct" {
		t.Fatalf("pulled %q", got[0].Body)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Send(context.Background(), "go_mdirect_pg", &Message{Topic: topic, Body: []byte("x")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}
