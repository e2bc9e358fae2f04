package sandboxkit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestFaultsJSONDurations(t *testing.T) {
	var f Faults
	if err := json.Unmarshal([]byte(`{"seed":7,"latency":"25ms","hang_for":1000000000,"error_rate":0.1}`), &f); err != nil {
		t.Fatal(err)
	}
	if f.Seed != 7 || f.Latency != 25*time.Millisecond || f.HangFor != time.Second || f.ErrorRate != 0.1 {
		t.Fatalf("decoded %+v", f)
	}
	b, _ := json.Marshal(f)
	var back Faults
	if err := json.Unmarshal(b, &back); err != nil || back != f {
		t.Fatalf("round trip %s → %+v, %v", b, back, err)
	}
}

// TestInjectorIsDeterministic: the same seed gives the same faults in the
// same order of requests, and each fault behaves as documented.
func TestInjectorIsDeterministic(t *testing.T) {
	var executed atomic.Int64
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		executed.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"padding":"xxxxxxxxxxxxxxxx"}`)
	})
	run := func() ([]int, map[Fault]int, int) {
		executed.Store(0)
		in := NewInjector()
		in.Set(Faults{Seed: 42, ErrorRate: 0.2, DropRate: 0.2, MalformedRate: 0.2, HangRate: 0.1, HangFor: 5 * time.Millisecond})
		srv := httptest.NewServer(in.Wrap(handler))
		defer srv.Close()
		client := &http.Client{Timeout: time.Second}
		var statuses []int
		for i := 0; i < 200; i++ {
			resp, err := client.Get(srv.URL)
			if err != nil {
				statuses = append(statuses, -1)
				continue
			}
			io.ReadAll(resp.Body)
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
		}
		return statuses, in.Counts(), int(executed.Load())
	}
	a, countsA, execA := run()
	b, countsB, execB := run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d: %d then %d", i, a[i], b[i])
		}
	}
	if execA != execB {
		t.Fatalf("executions differ: %d vs %d", execA, execB)
	}
	for _, f := range []Fault{NoFault, Error5xx, DropAfterAccept, Malformed, HangBefore, HangAfter} {
		if countsA[f] == 0 || countsA[f] != countsB[f] {
			t.Fatalf("fault %d counts %v vs %v", f, countsA, countsB)
		}
	}
	// Executed: clean, dropped, malformed and hang-after requests; not 5xx or hang-before.
	want := countsA[NoFault] + countsA[DropAfterAccept] + countsA[Malformed] + countsA[HangAfter]
	if execA != want {
		t.Fatalf("executed %d, want %d (%v)", execA, want, countsA)
	}
}
