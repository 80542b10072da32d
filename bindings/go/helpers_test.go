package brokerclient

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// The tests run against the real broker scripts/test.sh starts (scripts/rocketmq.sh): they
// fail, never skip, when its address is not given.
func brokerAddr(t testing.TB) string { return mustEnv(t, "BC_BROKER_ADDR") }

func namesrvAddr(t testing.TB) string { return mustEnv(t, "BC_NAMESRV_ADDR") }

func mustEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: start a broker with scripts/rocketmq.sh and export it", name)
	}
	return v
}

var nameSeq atomic.Int64

// uniqueName gives every run its own topics and groups on a long-lived broker.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d_%d_%d", prefix, os.Getpid(), time.Now().UnixNano()%1e9, nameSeq.Add(1))
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newTestClient(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := NewClient(addr, Config{"request.timeout.ms": "10000"})
	if err != nil {
		t.Fatalf("NewClient(%s): %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newTopic creates a topic with queues on the test broker.
func newTopic(t testing.TB, c *Client, prefix string, queues int32) string {
	t.Helper()
	topic := uniqueName(prefix)
	if err := c.CreateTopic(testCtx(t), topic, queues); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	return topic
}

// pullUntil pulls queue 0 from offset until n messages arrived (a new topic's messages
// become pullable shortly after they are stored), with long polling rather than sleeps.
func pullUntil(t testing.TB, c *Client, group, topic string, queueID int32, offset int64, n int) []MessageExt {
	t.Helper()
	ctx := testCtx(t)
	var got []MessageExt
	for len(got) < n {
		r, err := c.Pull(ctx, PullRequest{ConsumerGroup: group, Topic: topic, QueueID: queueID, Offset: offset, MaxMessages: 32, Suspend: time.Second})
		if err != nil {
			t.Fatalf("Pull: %v (got %d of %d)", err, len(got), n)
		}
		got = append(got, r.Messages...)
		offset = r.NextOffset
	}
	return got
}

// eventually polls cond (bounded), for state that settles asynchronously.
func eventually(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
