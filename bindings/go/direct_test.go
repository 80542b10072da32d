package brokerclient

import (
	"context"
	"errors"
	"runtime/pprof"
	"sync"
	"testing"
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
	// Threads the runtime started meanwhile: the blocked ones, plus a few to keep Ps busy.
	if grown := threads.Count() - before; grown > 2*directThreads+8 {
		t.Fatalf("%d OS threads started for %d concurrent sends (direct path bound: %d)", grown, n, directThreads)
	} else {
		t.Logf("%d OS threads started for %d concurrent sends", grown, n)
	}
}
