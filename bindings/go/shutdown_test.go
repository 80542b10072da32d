package brokerclient

import (
	"context"
	"errors"
	"testing"
	"time"
)

// shutdownTarget is a Client or a Manager under Shutdown: a long poll through it, a call to
// make once it no longer admits calls, and its owner for the test hooks.
type shutdownTarget struct {
	owner    *owner
	pull     func(ctx context.Context, topic string) (*PullResult, error)
	call     func(ctx context.Context, topic string) error
	shutdown func(ctx context.Context) error
	close    func() error
}

// shutdownTargets builds a fresh Client and a fresh Manager (one broker), each with its
// hooks installed before its first call: submitted receives once per call the library
// accepted, closing is closed once Shutdown stopped admitting calls.
func shutdownTargets() map[string]func(t *testing.T, submitted chan<- struct{}, closing chan struct{}) shutdownTarget {
	group := uniqueName("go_shutdown_cg")
	req := func(topic string) PullRequest {
		return PullRequest{ConsumerGroup: group, Topic: topic, QueueID: 0, Offset: 0, Suspend: 60 * time.Second}
	}
	hooks := func(o *owner, submitted chan<- struct{}, closing chan struct{}) {
		o.onSubmitted = func() { submitted <- struct{}{} }
		o.onClosing = func() { close(closing) }
	}
	return map[string]func(*testing.T, chan<- struct{}, chan struct{}) shutdownTarget{
		"Client": func(t *testing.T, submitted chan<- struct{}, closing chan struct{}) shutdownTarget {
			addr := brokerAddr(t)
			c, err := NewClient(addr, Config{"request.timeout.ms": "10000"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			hooks(c.owner, submitted, closing)
			return shutdownTarget{
				owner: c.owner,
				pull: func(ctx context.Context, topic string) (*PullResult, error) {
					return c.Pull(ctx, req(topic))
				},
				call: func(ctx context.Context, topic string) error {
					_, err := c.GetMaxOffset(ctx, topic, 0)
					return err
				},
				shutdown: c.Shutdown,
				close:    c.Close,
			}
		},
		"Manager": func(t *testing.T, submitted chan<- struct{}, closing chan struct{}) shutdownTarget {
			addr := brokerAddr(t)
			m, err := NewManager(Config{"request.timeout.ms": "10000"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Close() })
			if _, err := m.AddBroker(testCtx(t), addr); err != nil {
				t.Fatal(err)
			}
			hooks(m.owner, submitted, closing) // no call of m runs now
			return shutdownTarget{
				owner: m.owner,
				pull: func(ctx context.Context, topic string) (*PullResult, error) {
					return m.Pull(ctx, addr, req(topic))
				},
				call: func(ctx context.Context, topic string) error {
					_, err := m.GetMaxOffset(ctx, addr, topic, 0)
					return err
				},
				shutdown: m.Shutdown,
				close:    m.Close,
			}
		},
	}
}

type pullOutcome struct {
	r   *PullResult
	err error
}

// startLongPoll starts a pull the broker holds (an empty queue, 60 s suspend) and returns
// once the library accepted it.
func startLongPoll(t *testing.T, tg shutdownTarget, topic string, submitted <-chan struct{}) <-chan pullOutcome {
	t.Helper()
	results := make(chan pullOutcome, 2) // room for a (wrong) second return
	go func() {
		r, err := tg.pull(context.Background(), topic)
		results <- pullOutcome{r, err}
	}()
	select {
	case <-submitted:
	case r := <-results:
		t.Fatalf("long poll returned before Shutdown: %+v, %v", r.r, r.err)
	}
	return results
}

// requireRefused checks that the target no longer admits calls while Shutdown waits.
func requireRefused(t *testing.T, tg shutdownTarget, topic string, shut <-chan error) {
	t.Helper()
	if err := tg.call(testCtx(t), topic); !errors.Is(err, ErrClosed) {
		t.Fatalf("call during Shutdown: %v (want ErrClosed)", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned with a call in flight: %v", err)
	default:
	}
}

// requireOnce checks that the long poll returned exactly once.
func requireOnce(t *testing.T, results <-chan pullOutcome) pullOutcome {
	t.Helper()
	r := <-results
	select {
	case again := <-results:
		t.Fatalf("long poll returned twice: %v, then %v", r.err, again.err)
	default:
	}
	return r
}

// Shutdown waits for the calls in flight: a long poll the broker holds keeps it waiting (and
// later calls are refused meanwhile) until a message arrives and the poll returns it; then
// Shutdown closes and returns nil.
func TestShutdownDrains(t *testing.T) {
	for name, build := range shutdownTargets() {
		t.Run(name, func(t *testing.T) {
			producer := newTestClient(t, brokerAddr(t))
			topic := newTopic(t, producer, "go_shutdown_drain", 1)
			submitted, closing := make(chan struct{}, 4), make(chan struct{})
			tg := build(t, submitted, closing)
			results := startLongPoll(t, tg, topic, submitted)

			shut := make(chan error, 1)
			go func() { shut <- tg.shutdown(testCtx(t)) }()
			<-closing
			requireRefused(t, tg, topic, shut)

			if _, err := producer.Send(testCtx(t), uniqueName("go_shutdown_pg"), 0, &Message{Topic: topic, Body: []byte("drained")}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if err := <-shut; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			r := requireOnce(t, results)
			if r.err != nil || len(r.r.Messages) != 1 || string(r.r.Messages[0].Body) != "drained" {
				t.Fatalf("long poll in flight at Shutdown: %+v, %v (want the message)", r.r, r.err)
			}
			if err := tg.call(testCtx(t), topic); !errors.Is(err, ErrClosed) {
				t.Fatalf("call after Shutdown: %v", err)
			}
			if err := tg.shutdown(testCtx(t)); err != nil {
				t.Fatalf("second Shutdown: %v", err)
			}
			if err := tg.close(); err != nil {
				t.Fatalf("Close after Shutdown: %v", err)
			}
		})
	}
}

// Shutdown whose context ends first closes anyway: the call still in flight returns
// ErrCancelled, once, and Shutdown returns the context's error. Cancellation and deadline.
func TestShutdownContextEnds(t *testing.T) {
	for name, build := range shutdownTargets() {
		for _, how := range []string{"cancel", "deadline"} {
			t.Run(name+"/"+how, func(t *testing.T) {
				producer := newTestClient(t, brokerAddr(t))
				topic := newTopic(t, producer, "go_shutdown_ctx", 1)
				submitted, closing := make(chan struct{}, 4), make(chan struct{})
				tg := build(t, submitted, closing)
				results := startLongPoll(t, tg, topic, submitted)

				var ctx context.Context
				var cancel context.CancelFunc
				if how == "cancel" {
					ctx, cancel = context.WithCancel(context.Background())
				} else {
					ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
				}
				defer cancel()
				shut := make(chan error, 1)
				go func() { shut <- tg.shutdown(ctx) }()
				<-closing
				requireRefused(t, tg, topic, shut)
				if how == "cancel" {
					cancel()
				}

				err := <-shut
				switch how {
				case "cancel":
					if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
						t.Fatalf("Shutdown with its context cancelled: %v", err)
					}
				default:
					if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("Shutdown past its deadline: %v", err)
					}
				}
				// The close completed the poll (its callback ran before Shutdown returned);
				// its goroutine returns it, once.
				r := requireOnce(t, results)
				if !errors.Is(r.err, ErrCancelled) {
					t.Fatalf("long poll in flight when Shutdown's context ended: %+v, %v (want ErrCancelled)", r.r, r.err)
				}
				if err := tg.call(testCtx(t), topic); !errors.Is(err, ErrClosed) {
					t.Fatalf("call after Shutdown: %v", err)
				}
			})
		}
	}
}

// A Close during a Shutdown's wait closes at once; the Shutdown then returns too.
func TestCloseDuringShutdown(t *testing.T) {
	producer := newTestClient(t, brokerAddr(t))
	topic := newTopic(t, producer, "go_shutdown_close", 1)
	submitted, closing := make(chan struct{}, 4), make(chan struct{})
	tg := shutdownTargets()["Client"](t, submitted, closing)
	results := startLongPoll(t, tg, topic, submitted)
	shut := make(chan error, 1)
	go func() { shut <- tg.shutdown(testCtx(t)) }()
	<-closing
	requireRefused(t, tg, topic, shut)
	if err := tg.close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if r := requireOnce(t, results); !errors.Is(r.err, ErrCancelled) {
		t.Fatalf("long poll in flight at Close: %v (want ErrCancelled)", r.err)
	}
}
