// libbrokerclient through its Go binding (bindings/go, issue 7) in `make bench` (issue 8): one
// workload per process, one JSON line in the common schema of bench/README.md.
//
//	go run . <workload> <broker-addr> <mock|real> <messages> <run>
//
// workloads: sync1 sync16 oneway async1024 (1 024 goroutines, each a blocking Send: the
// binding's calls are async in the library, so that is 1 024 in flight) noop (IsConnected,
// the call the Rust and C benches time, so the difference is the cgo boundary).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	bc "github.com/libbrokerclient/libbrokerclient/bindings/go"
)

const (
	topic = "BenchTopic"
	group = "bench_producer"
	body  = 1024
)

func cpuMicros() (float64, int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	us := func(t syscall.Timeval) float64 { return float64(t.Sec)*1e6 + float64(t.Usec) }
	return us(ru.Utime) + us(ru.Stime), ru.Maxrss
}

func die(what string, err error) {
	fmt.Fprintf(os.Stderr, "brokerclient-go: %s: %v\n", what, err)
	os.Exit(1)
}

func measure(threads, warm, calls int, timed bool, f func()) (*hdrhistogram.Histogram, time.Duration, float64) {
	for i := 0; i < warm; i++ {
		f()
	}
	merged := hdrhistogram.New(1, 60_000_000_000, 3)
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
		// One shared histogram: one per goroutine would cost ~180 KB each with 1 024
		// goroutines and make the peak RSS the bench's, not the client's.
		go func() {
			defer wg.Done()
			for i := 0; i < mine; i++ {
				if !timed {
					f()
					continue
				}
				c0 := time.Now()
				f()
				d := time.Since(c0).Nanoseconds()
				mu.Lock()
				_ = merged.RecordValue(d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	e := time.Since(t0)
	cpu1, _ := cpuMicros()
	return merged, e, cpu1 - cpu0
}

func main() {
	if len(os.Args) < 6 {
		fmt.Fprintln(os.Stderr, "usage: brokerclient-go <workload> <addr> <mock|real> <messages> <run>")
		os.Exit(2)
	}
	workload, addr, broker := os.Args[1], os.Args[2], os.Args[3]
	n, _ := strconv.Atoi(os.Args[4])
	run, _ := strconv.Atoi(os.Args[5])
	warm := n / 10
	if warm < 200 {
		warm = 200
	}
	ctx := context.Background()
	c, err := bc.NewClient(addr, bc.Config{})
	if err != nil {
		die("client", err)
	}
	if err := c.CreateTopic(ctx, topic, 4); err != nil {
		die("create topic", err)
	}
	payload := make([]byte, body)
	for i := range payload {
		payload[i] = 'x'
	}
	msg := &bc.Message{Topic: topic, Body: payload}
	send := func() {
		if _, err := c.Send(ctx, group, 0, msg); err != nil {
			die("send", err)
		}
	}
	var h *hdrhistogram.Histogram
	var e time.Duration
	var cpu float64
	switch workload {
	case "sync1":
		h, e, cpu = measure(1, warm, n, true, send)
	case "sync16":
		h, e, cpu = measure(16, warm, n, true, send)
	case "async1024":
		h, e, cpu = measure(1024, warm, n, true, send)
	case "oneway":
		h, e, cpu = measure(1, warm, n, true, func() {
			// A full local window is the library's back-pressure when the caller outruns the
			// socket: wait for room and send again, as an application would.
			for {
				err := c.SendOneway(ctx, group, 0, msg)
				if err == nil {
					return
				}
				if !errors.Is(err, bc.ErrWouldBlock) {
					die("oneway", err)
				}
				runtime.Gosched()
			}
		})
		send()
	case "noop":
		sink := false
		h, e, cpu = measure(1, warm, n, false, func() { sink = c.IsConnected() != sink })
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
		"client": "brokerclient-go", "lang": "go", "workload": workload, "broker": broker, "run": run,
		"messages": n, "seconds": e.Seconds(), "msgs_per_s": float64(n) / e.Seconds(),
		"mb_per_s": float64(n*body) / e.Seconds() / 1e6,
		"p50_us":   q(50), "p99_us": q(99), "p999_us": q(99.9),
		"cpu_us_per_msg": cpu / float64(n), "peak_rss_kb": rss, "allocs_per_msg": nil,
	})
	fmt.Println(string(out))
	_ = c.Close()
}
