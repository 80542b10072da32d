// The official Go client (github.com/apache/rocketmq-client-go/v2) in `make bench` (issue 8):
// one workload per process, one JSON line in the common schema of bench/README.md.
//
//	go run . <workload> <namesrv-addr> <mock|real> <messages> <run>
//
// workloads: sync1 sync16 oneway async1024 batch32 pull. Against the mock broker the name
// server address is the mock itself (it answers route requests too).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const (
	topic = "BenchTopic"
	group = "bench_producer_go"
	body  = 1024
)

func cpuMicros() (float64, int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	us := func(t syscall.Timeval) float64 { return float64(t.Sec)*1e6 + float64(t.Usec) }
	return us(ru.Utime) + us(ru.Stime), ru.Maxrss
}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000_000, 3) }

func die(what string, err error) {
	fmt.Fprintf(os.Stderr, "go-official: %s: %v\n", what, err)
	os.Exit(1)
}

// measure runs f `calls` times over `threads` goroutines, timing each call.
func measure(threads int, warm, calls int, f func()) (*hdrhistogram.Histogram, time.Duration, float64) {
	for i := 0; i < warm; i++ {
		f()
	}
	merged := newHist()
	var mu sync.Mutex
	var wg sync.WaitGroup
	cpu0, _ := cpuMicros()
	t0 := time.Now()
	for t := 0; t < threads; t++ {
		mine := calls / threads
		if t < calls%threads {
			mine++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := newHist()
			for i := 0; i < mine; i++ {
				c0 := time.Now()
				f()
				_ = h.RecordValue(time.Since(c0).Nanoseconds())
			}
			mu.Lock()
			merged.Merge(h)
			mu.Unlock()
		}()
	}
	wg.Wait()
	e := time.Since(t0)
	cpu1, _ := cpuMicros()
	return merged, e, cpu1 - cpu0
}

func main() {
	if len(os.Args) < 6 {
		fmt.Fprintln(os.Stderr, "usage: go-official <workload> <namesrv> <mock|real> <messages> <run>")
		os.Exit(2)
	}
	workload, ns, broker := os.Args[1], os.Args[2], os.Args[3]
	n, _ := strconv.Atoi(os.Args[4])
	run, _ := strconv.Atoi(os.Args[5])
	warm := n / 10
	if warm < 200 {
		warm = 200
	}
	rlog.SetLogLevel("error")
	ctx := context.Background()
	p, err := rocketmq.NewProducer(
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{ns})),
		producer.WithGroupName(group),
		producer.WithRetry(0),
		producer.WithSendMsgTimeout(10*time.Second),
	)
	if err != nil {
		die("producer", err)
	}
	if err := p.Start(); err != nil {
		die("start", err)
	}
	payload := make([]byte, body)
	for i := range payload {
		payload[i] = 'x'
	}
	msg := func() *primitive.Message { return primitive.NewMessage(topic, payload) }
	send := func() {
		if _, err := p.SendSync(ctx, msg()); err != nil {
			die("send", err)
		}
	}
	var h *hdrhistogram.Histogram
	var e time.Duration
	var cpu float64
	msgs := n
	switch workload {
	case "sync1":
		h, e, cpu = measure(1, warm, n, send)
	case "sync16":
		h, e, cpu = measure(16, warm, n, send)
	case "oneway":
		h, e, cpu = measure(1, warm, n, func() {
			if err := p.SendOneWay(ctx, msg()); err != nil {
				die("oneway", err)
			}
		})
	case "batch32":
		batch := make([]*primitive.Message, 32)
		for i := range batch {
			batch[i] = msg()
		}
		h, e, cpu = measure(1, warm/32+10, n/32, func() {
			if _, err := p.SendSync(ctx, batch...); err != nil {
				die("batch", err)
			}
		})
		msgs = n / 32 * 32
	case "async1024":
		h, e, cpu = asyncWindow(ctx, p, msg, 1024, warm, n)
	case "pull":
		h, e, cpu, msgs = pull(ctx, p, ns, msg, warm, n)
	default:
		die("workload", fmt.Errorf("unknown %q", workload))
	}
	_, rss := cpuMicros()
	q := func(v float64) interface{} {
		if h.TotalCount() == 0 {
			return nil
		}
		return float64(h.ValueAtQuantile(v)) / 1000.0
	}
	out, _ := json.Marshal(map[string]interface{}{
		"client": "go-official", "lang": "go", "workload": workload, "broker": broker, "run": run,
		"messages": msgs, "seconds": e.Seconds(), "msgs_per_s": float64(msgs) / e.Seconds(),
		"mb_per_s": float64(msgs*body) / e.Seconds() / 1e6,
		"p50_us":   q(50), "p99_us": q(99), "p999_us": q(99.9),
		"cpu_us_per_msg": cpu / float64(msgs), "peak_rss_kb": rss, "allocs_per_msg": nil,
	})
	fmt.Println(string(out))
	_ = p.Shutdown()
}

// asyncWindow keeps `window` SendAsync calls in flight.
func asyncWindow(ctx context.Context, p rocketmq.Producer, msg func() *primitive.Message, window, warm, n int) (*hdrhistogram.Histogram, time.Duration, float64) {
	run := func(total int, h *hdrhistogram.Histogram) {
		slots := make(chan struct{}, window)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := 0; i < total; i++ {
			slots <- struct{}{}
			wg.Add(1)
			c0 := time.Now()
			err := p.SendAsync(ctx, func(_ context.Context, _ *primitive.SendResult, err error) {
				if err != nil {
					die("async send", err)
				}
				mu.Lock()
				_ = h.RecordValue(time.Since(c0).Nanoseconds())
				mu.Unlock()
				<-slots
				wg.Done()
			}, msg())
			if err != nil {
				die("async send", err)
			}
		}
		wg.Wait()
	}
	run(warm, newHist())
	h := newHist()
	cpu0, _ := cpuMicros()
	t0 := time.Now()
	run(n, h)
	e := time.Since(t0)
	cpu1, _ := cpuMicros()
	return h, e, cpu1 - cpu0
}

// pull fills queue 1 with batches, then pulls 32-message batches from its start (PullFrom),
// starting over at the end, until n messages were decoded.
func pull(ctx context.Context, p rocketmq.Producer, ns string, msg func() *primitive.Message, warm, n int) (*hdrhistogram.Histogram, time.Duration, float64, int) {
	c, err := consumer.NewPullConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{ns})),
		consumer.WithGroupName("bench_consumer_go"),
	)
	if err != nil {
		die("pull consumer", err)
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}); err != nil {
		die("subscribe", err)
	}
	if err := c.Start(); err != nil {
		die("pull consumer start", err)
	}
	mqs, err := c.GetTopicRouteInfo(topic)
	if err != nil || len(mqs) == 0 {
		die("route", err)
	}
	mq := mqs[0]
	for _, q := range mqs {
		if q.QueueId == 1 {
			mq = q
		}
	}
	batch := make([]*primitive.Message, 32)
	for i := range batch {
		batch[i] = msg()
	}
	fill := n
	if fill > 8192 {
		fill = 8192
	}
	var start int64 = -1
	for i := 0; i < (fill+31)/32; i++ {
		// Batches go to the queue the producer picks; queue 1 gets its share of them.
		r, err := p.SendSync(ctx, batch...)
		if err != nil {
			die("fill", err)
		}
		if r.MessageQueue.QueueId == mq.QueueId && start < 0 {
			start = r.QueueOffset
		}
	}
	if start < 0 {
		start = 0
	}
	offset := start
	pullSome := func(h *hdrhistogram.Histogram) int {
		c0 := time.Now()
		r, err := c.PullFrom(ctx, mq, offset, 32)
		if err != nil {
			die("pull", err)
		}
		if h != nil {
			_ = h.RecordValue(time.Since(c0).Nanoseconds())
		}
		got := len(r.GetMessageExts())
		if got == 0 {
			offset = start
		} else {
			offset = r.NextBeginOffset
		}
		return got
	}
	for w := 0; w < warm; {
		g := pullSome(nil)
		if g == 0 {
			g = 1
		}
		w += g
	}
	h := newHist()
	cpu0, _ := cpuMicros()
	t0 := time.Now()
	got := 0
	for got < n {
		got += pullSome(h)
	}
	e := time.Since(t0)
	cpu1, _ := cpuMicros()
	_ = c.Shutdown()
	return h, e, cpu1 - cpu0, got
}
