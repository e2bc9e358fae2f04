// Package sandboxkit holds what every provider sandbox shares: deterministic
// fault injection, the ledger of executed payments, and the control surface
// that tests and demos use under /_sandbox/.
package sandboxkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults says how often a sandbox misbehaves. Rates are fractions of requests
// in [0,1]; they are drawn in this order and are exclusive, so their sum is the
// share of requests that see some fault.
type Faults struct {
	Seed uint64 `json:"seed"`
	// Latency is added to every request.
	Latency time.Duration `json:"latency"`
	// ErrorRate: answer 503 without executing.
	ErrorRate float64 `json:"error_rate"`
	// HangRate: hold the request until the client gives up (or HangFor
	// passes). Half of the hangs execute the request first.
	HangRate float64 `json:"hang_rate"`
	// DropRate: execute the request, then drop the connection unanswered.
	DropRate float64 `json:"drop_rate"`
	// MalformedRate: execute the request, then answer with its status and a
	// broken body.
	MalformedRate float64 `json:"malformed_rate"`
	// HangFor bounds a hang so a sandbox never holds a goroutine forever.
	HangFor time.Duration `json:"hang_for"`
}

// Fault is the misbehaviour chosen for one request.
type Fault int

// The faults an Injector can choose.
const (
	NoFault Fault = iota
	Error5xx
	HangBefore
	HangAfter
	DropAfterAccept
	Malformed
)

// Injector wraps a sandbox's handler and injects the configured faults,
// deterministically for a given seed and order of requests.
type Injector struct {
	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	counts map[Fault]int
}

// NewInjector returns an injector with no faults.
func NewInjector() *Injector {
	in := &Injector{}
	in.Set(Faults{})
	return in
}

// Set replaces the fault configuration and reseeds the random source.
func (in *Injector) Set(f Faults) {
	if f.HangFor <= 0 {
		f.HangFor = 2 * time.Minute
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.faults = f
	in.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
	in.counts = map[Fault]int{}
}

// Get returns the current configuration.
func (in *Injector) Get() Faults {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.faults
}

// Counts returns how many times each fault was injected since the last Set.
func (in *Injector) Counts() map[Fault]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[Fault]int, len(in.counts))
	for k, v := range in.counts {
		out[k] = v
	}
	return out
}

func (in *Injector) draw() (Fault, Faults) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f := in.faults
	x := in.rng.Float64()
	fault := NoFault
	switch {
	case x < f.ErrorRate:
		fault = Error5xx
	case x < f.ErrorRate+f.HangRate:
		fault = HangBefore
		if in.rng.IntN(2) == 1 {
			fault = HangAfter
		}
	case x < f.ErrorRate+f.HangRate+f.DropRate:
		fault = DropAfterAccept
	case x < f.ErrorRate+f.HangRate+f.DropRate+f.MalformedRate:
		fault = Malformed
	}
	in.counts[fault]++
	return fault, f
}

// Wrap returns next with faults injected.
func (in *Injector) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fault, f := in.draw()
		if f.Latency > 0 && !sleep(r.Context(), f.Latency) {
			return
		}
		switch fault {
		case NoFault:
			next.ServeHTTP(w, r)
		case Error5xx:
			http.Error(w, "service temporarily unavailable", http.StatusServiceUnavailable)
		case HangBefore:
			sleep(r.Context(), f.HangFor)
			panic(http.ErrAbortHandler)
		case HangAfter:
			next.ServeHTTP(newRecorder(), detach(r))
			sleep(r.Context(), f.HangFor)
			panic(http.ErrAbortHandler)
		case DropAfterAccept:
			next.ServeHTTP(newRecorder(), detach(r))
			// net/http closes the connection without an answer.
			panic(http.ErrAbortHandler)
		case Malformed:
			rec := newRecorder()
			next.ServeHTTP(rec, detach(r))
			body := rec.body.Bytes()
			w.Header().Set("Content-Type", rec.header.Get("Content-Type"))
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			w.WriteHeader(status)
			_, _ = w.Write(body[:len(body)/2])
			_, _ = w.Write([]byte("\x00<!-- upstream reset -->{"))
		}
	})
}

// detach keeps the request executing even if the client has already gone: the
// provider did the work, only the answer is lost.
func detach(r *http.Request) *http.Request {
	return r.WithContext(context.WithoutCancel(r.Context()))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// faultsJSON is Faults with durations written as text ("250ms").
type faultsJSON struct {
	Seed          uint64  `json:"seed"`
	Latency       string  `json:"latency,omitempty"`
	ErrorRate     float64 `json:"error_rate"`
	HangRate      float64 `json:"hang_rate"`
	DropRate      float64 `json:"drop_rate"`
	MalformedRate float64 `json:"malformed_rate"`
	HangFor       string  `json:"hang_for,omitempty"`
}

// MarshalJSON writes durations as text, as people type them.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{Seed: f.Seed, Latency: f.Latency.String(), ErrorRate: f.ErrorRate, HangRate: f.HangRate,
		DropRate: f.DropRate, MalformedRate: f.MalformedRate, HangFor: f.HangFor.String()})
}

// UnmarshalJSON reads durations as text ("250ms") or as nanoseconds.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var raw struct {
		faultsJSON
		Latency json.RawMessage `json:"latency"`
		HangFor json.RawMessage `json:"hang_for"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	lat, err := parseDuration(raw.Latency)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	hang, err := parseDuration(raw.HangFor)
	if err != nil {
		return fmt.Errorf("hang_for: %w", err)
	}
	*f = Faults{Seed: raw.Seed, Latency: lat, ErrorRate: raw.ErrorRate, HangRate: raw.HangRate, DropRate: raw.DropRate,
		MalformedRate: raw.MalformedRate, HangFor: hang}
	return nil
}

func parseDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return time.ParseDuration(s)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, err
	}
	return time.Duration(n), nil
}
