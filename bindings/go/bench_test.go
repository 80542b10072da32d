package brokerclient

import (
	"context"
	"syscall"
	"testing"
)

// The cgo overhead per call: a no-op C call against whole operations. Run against a broker:
//
//	BC_BROKER_ADDR=127.0.0.1:10911 BC_NAMESRV_ADDR=127.0.0.1:9876 go test -tags brokerclient_repo -run '^$' -bench . -benchmem
//
// (-tags brokerclient_release measures the optimised library; CI runs -benchtime=1x only, as
// a smoke test: speed is measured here, never asserted in tests.)

// cpuPerOp reports the process's CPU time (user + system, every thread: the library's too)
// per iteration of the b.Loop in run, as cpu-µs/op.
func cpuPerOp(b *testing.B, run func() int) {
	cpu := func() int64 {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return ru.Utime.Nano() + ru.Stime.Nano()
	}
	start := cpu()
	n := run()
	if n > 0 {
		b.ReportMetric(float64(cpu()-start)/1e3/float64(n), "cpu-µs/op")
	}
}

// queuePathOnly takes every slot of the direct path for the benchmark, so that its calls go
// through the completion queue.
func queuePathOnly(b *testing.B) {
	for range directThreads {
		directSlots <- struct{}{}
	}
	b.Cleanup(func() {
		for range directThreads {
			<-directSlots
		}
	})
}

// BenchmarkCgoNoop is one cgo crossing into the library and back (bc_version).
func BenchmarkCgoNoop(b *testing.B) {
	for b.Loop() {
		_ = versionNum()
	}
}

// BenchmarkCgoNoopParallel is the same from every P at once.
func BenchmarkCgoNoopParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = versionNum()
		}
	})
}

func benchClient(b *testing.B) (*Client, string) {
	c := newTestClient(b, brokerAddr(b))
	return c, newTopic(b, c, "go_bench", 4)
}

// benchSend is synchronous sends of 1 KiB bodies (the measure) with ctx.
func benchSend(b *testing.B, ctx context.Context) {
	c, topic := benchClient(b)
	msg := &Message{Topic: topic, Body: make([]byte, 1024)}
	cpuPerOp(b, func() int {
		n := 0
		for b.Loop() {
			if _, err := c.Send(ctx, "go_bench_pg", 0, msg); err != nil {
				b.Fatal(err)
			}
			n++
		}
		return n
	})
}

// BenchmarkSend is a synchronous send with a context that never ends: the direct path (one
// blocking C call on the client; the message built in one more).
func BenchmarkSend(b *testing.B) { benchSend(b, context.Background()) }

// BenchmarkSendQueue is the same through the completion queue (the path of a context that
// can end, and of the calls beyond the direct path's threads).
func BenchmarkSendQueue(b *testing.B) {
	queuePathOnly(b)
	benchSend(b, context.Background())
}

// BenchmarkSendCancellable is a context that can end: the direct path on a per-call handle.
func BenchmarkSendCancellable(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchSend(b, ctx)
}

// BenchmarkSendCancellableQueue is the same through the queue, with a cancel token per call.
func BenchmarkSendCancellableQueue(b *testing.B) {
	queuePathOnly(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchSend(b, ctx)
}

// benchOneway is oneway sends of 1 KiB bodies.
func benchOneway(b *testing.B) {
	c, topic := benchClient(b)
	msg := &Message{Topic: topic, Body: make([]byte, 1024)}
	if err := c.Connect(context.Background()); err != nil {
		b.Fatal(err)
	}
	cpuPerOp(b, func() int {
		n := 0
		for b.Loop() {
			if err := c.SendOneway(context.Background(), "go_bench_pg", 0, msg); err != nil {
				b.Fatal(err)
			}
			n++
		}
		return n
	})
}

// BenchmarkSendOneway is a oneway send on the direct path (connected: the blocking call only
// queues the message for writing).
func BenchmarkSendOneway(b *testing.B) { benchOneway(b) }

// BenchmarkSendOnewayQueue is the same through the completion queue.
func BenchmarkSendOnewayQueue(b *testing.B) {
	queuePathOnly(b)
	benchOneway(b)
}

// BenchmarkSendParallel is synchronous sends from many goroutines through one client.
func BenchmarkSendParallel(b *testing.B) {
	c, topic := benchClient(b)
	msg := &Message{Topic: topic, Body: make([]byte, 128)}
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Send(context.Background(), "go_bench_pg", -1, msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGetMaxOffset is the smallest request/response round trip.
func BenchmarkGetMaxOffset(b *testing.B) {
	c, topic := benchClient(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.GetMaxOffset(ctx, topic, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPull compares copying 32 pulled messages of 1 KiB into Go memory with the
// zero-copy batch.
func BenchmarkPull(b *testing.B) {
	c, topic := benchClient(b)
	ctx := context.Background()
	msgs := make([]*Message, 32)
	for i := range msgs {
		msgs[i] = &Message{Topic: topic, Body: make([]byte, 1024)}
	}
	if _, err := c.SendBatch(ctx, "go_bench_pg", 0, msgs); err != nil {
		b.Fatal(err)
	}
	pullUntil(b, c, "go_bench_cg", topic, 0, 0, 32)
	req := PullRequest{ConsumerGroup: "go_bench_cg", Topic: topic, QueueID: 0, Offset: 0, MaxMessages: 32}
	b.Run("copy", func(b *testing.B) {
		for b.Loop() {
			r, err := c.Pull(ctx, req)
			if err != nil || len(r.Messages) != 32 {
				b.Fatal(err)
			}
		}
	})
	b.Run("zero-copy", func(b *testing.B) {
		for b.Loop() {
			batch, err := c.PullBatch(ctx, req)
			if err != nil || batch.Len() != 32 {
				b.Fatal(err)
			}
			_ = batch.Message(31).Body
			batch.Free()
		}
	})
}
