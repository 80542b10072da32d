package brokerclient

import (
	"context"
	"testing"
)

// The cgo overhead per call: a no-op C call against whole operations. Run against a broker:
//
//	BC_BROKER_ADDR=127.0.0.1:10911 BC_NAMESRV_ADDR=127.0.0.1:9876 go test -run '^$' -bench . -benchmem
//
// (-tags brokerclient_release measures the optimised library; CI runs -benchtime=1x only, as
// a smoke test: speed is measured here, never asserted in tests.)

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

// BenchmarkSend is a synchronous send: build the message, submit, wait through the queue.
func BenchmarkSend(b *testing.B) {
	c, topic := benchClient(b)
	msg := &Message{Topic: topic, Body: make([]byte, 128)}
	ctx := context.Background() // never ends: no cancel token
	for b.Loop() {
		if _, err := c.Send(ctx, "go_bench_pg", 0, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendCancellable adds a cancel token per call (a context that can end).
func BenchmarkSendCancellable(b *testing.B) {
	c, topic := benchClient(b)
	msg := &Message{Topic: topic, Body: make([]byte, 128)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for b.Loop() {
		if _, err := c.Send(ctx, "go_bench_pg", 0, msg); err != nil {
			b.Fatal(err)
		}
	}
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
