package db

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/registry"
	"paydesk/providers/sandboxes"
)

// switchable fails while down is set.
type switchable struct {
	providers.Balances
	down atomic.Bool
}

func (s *switchable) Balance(ctx context.Context) (providers.Balance, error) {
	if s.down.Load() {
		return providers.Balance{}, errors.New("bank unreachable: " + providers.ErrTransient.Error())
	}
	return s.Balances.Balance(ctx)
}

func setPayMateBalance(t *testing.T, srv *httptest.Server, paise int64) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/_sandbox/paymate/balance",
		bytes.NewReader([]byte(`{"paise": `+strconv.FormatInt(paise, 10)+`}`)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("set balance: %d", resp.StatusCode)
	}
}

// TestBalanceWatcher: Refresh stores PayMate's balance from the real sandbox;
// LastBalance and Balances return it; a failing provider keeps the last
// known value and its error names the source.
func TestBalanceWatcher(t *testing.T) {
	d, clk := newTestDB(t)
	ctx := context.Background()
	set := sandboxes.New(sandboxes.Options{})
	srv := httptest.NewServer(set.Handler())
	t.Cleanup(srv.Close)
	reg, err := registry.Load(registry.Options{SandboxRoot: srv.URL, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := reg.Get(SourcePayMate)
	pm := &switchable{Balances: p.(providers.Balances)}
	w := NewBalanceWatcher(d, map[string]providers.Balances{SourcePayMate: pm})

	if _, ok, err := d.LastBalance(ctx, SourcePayMate); ok || err != nil {
		t.Fatalf("before any refresh: %v, %v", ok, err)
	}
	setPayMateBalance(t, srv, 12_345_678_90)
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	b, ok, err := d.LastBalance(ctx, SourcePayMate)
	if err != nil || !ok || b.AvailablePaise != 12_345_678_90 || b.Source != SourcePayMate || b.Account == "" ||
		b.AsOf.IsZero() || !b.FetchedAt.Equal(clk.Now()) {
		t.Fatalf("balance = %+v, %v, %v", b, ok, err)
	}

	// The bank is down: the last value stays, the error says which bank.
	clk.Advance(time.Minute)
	pm.down.Store(true)
	setPayMateBalance(t, srv, 1)
	err = w.Refresh(ctx)
	if err == nil || !strings.Contains(err.Error(), SourcePayMate) {
		t.Fatalf("refresh while down: %v", err)
	}
	kept, ok, _ := d.LastBalance(ctx, SourcePayMate)
	if !ok || kept != b {
		t.Fatalf("kept = %+v, want %+v", kept, b)
	}

	// Back: the new figure replaces it.
	pm.down.Store(false)
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := d.Balances(ctx)
	if err != nil || len(all) != 1 || all[0].AvailablePaise != 1 || !all[0].FetchedAt.Equal(clk.Now()) {
		t.Fatalf("balances = %+v, %v", all, err)
	}
	// Not audited: a cache of the bank's data.
	if n, _ := d.VerifyAudit(ctx); n != 0 {
		t.Fatalf("audit rows = %d", n)
	}
}

// TestBalanceWatcherRun refreshes at once and stops with its context.
func TestBalanceWatcherRun(t *testing.T) {
	d, _ := newTestDB(t)
	set := sandboxes.New(sandboxes.Options{})
	srv := httptest.NewServer(set.Handler())
	t.Cleanup(srv.Close)
	reg, err := registry.Load(registry.Options{SandboxRoot: srv.URL, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := reg.Get(SourcePayMate)
	w := NewBalanceWatcher(d, map[string]providers.Balances{SourcePayMate: p.(providers.Balances)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, time.Hour) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok, _ := d.LastBalance(context.Background(), SourcePayMate); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no balance")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
