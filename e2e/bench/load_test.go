package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// closedResult is a closed-loop run: each worker sends its next request when
// its last one is answered, so this measures capacity (req/s).
type closedResult struct {
	Workers  int
	Elapsed  time.Duration
	OK       int
	Errors   int
	Bytes    int64 // response bytes (decompressed) of the OK requests
	RPS      float64
	P50, P99 time.Duration // service time per request, at saturation
	// CPU is this process's CPU time per request (server and load
	// generator together): the cost of a page whatever else the machine
	// runs, where req/s depends on the cores it was given.
	CPU      time.Duration
	FirstErr string
}

// closedLoop runs workers goroutines against path for dur.
func closedLoop(c *client, path string, workers int, dur time.Duration) closedResult {
	var mu sync.Mutex
	res := closedResult{Workers: workers}
	var lats []time.Duration
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			ok, bad := 0, 0
			var bytes int64
			var firstErr string
			for time.Now().Before(deadline) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				t0 := time.Now()
				status, n, err := c.getDiscard(ctx, path)
				cancel()
				mine = append(mine, time.Since(t0))
				if err != nil || status != 200 {
					bad++
					if firstErr == "" {
						firstErr = fmt.Sprintf("status %d err %v", status, err)
					}
					continue
				}
				ok++
				bytes += n
			}
			mu.Lock()
			lats = append(lats, mine...)
			res.OK += ok
			res.Errors += bad
			res.Bytes += bytes
			if res.FirstErr == "" {
				res.FirstErr = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.RPS = float64(res.OK) / res.Elapsed.Seconds()
	res.CPU = (processCPU() - cpu0) / time.Duration(max(res.OK+res.Errors, 1))
	slices.Sort(lats)
	res.P50, res.P99 = quantile(lats, 0.50), quantile(lats, 0.99)
	return res
}

// openResult is an open-loop run: requests are sent on a fixed schedule
// whatever happens to earlier ones, and each latency counts from the
// request's scheduled send time, so a slow response cannot hide the requests
// queued behind it (no coordinated omission).
type openResult struct {
	Rate        float64 // scheduled requests per second
	Duration    time.Duration
	Scheduled   int
	Completed   int // answered 200
	Errors      int // non-200, transport errors and timeouts
	Dropped     int // not sent: in-flight cap reached (counted as errors too)
	AchievedRPS float64
	P50, P90    time.Duration
	P99, Max    time.Duration
	MaxInFlight int64
	SendLagP99  time.Duration // actual send time minus scheduled time
	SendLagMax  time.Duration
	Elapsed     time.Duration // first schedule to last answer
	FirstErr    string
}

// openLoop schedules rate requests per second at path for dur. Each request
// runs in its own goroutine, so sending never waits for an answer; the
// scheduler only sleeps until the next slot. In-flight requests are capped at
// maxInFlight (beyond it a request is dropped and counted as an error) and
// each has timeout; the client's connection pool bounds sockets, and time
// spent waiting for a connection counts as latency, as it should.
//
// serverFull, when not nil, is asked before each send: a request the server
// has no room for (it is still working on maxServer abandoned or live
// requests) is dropped. This bounds how much work a run leaves behind: the
// server finishes every request even after its client gave up.
func openLoop(c *client, path string, rate float64, dur, timeout time.Duration, maxInFlight int64, serverFull func() bool) openResult {
	n := int(math.Round(rate * dur.Seconds()))
	interval := time.Duration(float64(time.Second) / rate)
	res := openResult{Rate: rate, Duration: dur, Scheduled: n}
	lats := make([]time.Duration, n)
	lags := make([]time.Duration, n)
	failed := make([]bool, n)
	var inFlight, peak atomic.Int64
	var errMu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now().Add(20 * time.Millisecond)
	for i := range n {
		sched := start.Add(time.Duration(i) * interval)
		if d := time.Until(sched); d > 0 {
			time.Sleep(d)
		}
		if inFlight.Load() >= maxInFlight || (serverFull != nil && serverFull()) {
			res.Dropped++
			failed[i] = true
			lats[i] = -1
			continue
		}
		cur := inFlight.Add(1)
		for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
		}
		wg.Add(1)
		go func(i int, sched time.Time) {
			defer wg.Done()
			defer inFlight.Add(-1)
			lags[i] = time.Since(sched)
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			status, _, err := c.getDiscard(ctx, path)
			lats[i] = time.Since(sched)
			if err != nil || status != 200 {
				failed[i] = true
				errMu.Lock()
				if res.FirstErr == "" {
					res.FirstErr = fmt.Sprintf("status %d err %v", status, err)
				}
				errMu.Unlock()
			}
		}(i, sched)
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	var all []time.Duration
	for i := range n {
		if failed[i] {
			res.Errors++
		} else {
			res.Completed++
		}
		if lats[i] >= 0 { // dropped ones were never sent
			all = append(all, lats[i])
		}
	}
	res.AchievedRPS = float64(res.Completed) / res.Elapsed.Seconds()
	// Percentiles cover every request sent, failed ones at the time they
	// took to fail (a timeout counts as the timeout).
	slices.Sort(all)
	res.P50, res.P90, res.P99 = quantile(all, 0.50), quantile(all, 0.90), quantile(all, 0.99)
	if len(all) > 0 {
		res.Max = all[len(all)-1]
	}
	slices.Sort(lags)
	res.SendLagP99 = quantile(lags, 0.99)
	if len(lags) > 0 {
		res.SendLagMax = lags[len(lags)-1]
	}
	res.MaxInFlight = peak.Load()
	return res
}

// quantile is the nearest-rank q-quantile of sorted.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
