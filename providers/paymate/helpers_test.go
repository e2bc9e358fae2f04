package paymate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeClock is a hand-stepped clock for lifecycle tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 14, 10, 30, 0, 0, ist)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a sandbox served over real HTTP with a client and adapter on it.
type env struct {
	sb  *Sandbox
	srv *httptest.Server
	ctl *httptest.Server
	c   *Client
	a   *Adapter
	clk *fakeClock
}

const testStep = 10 * time.Second

func newEnv(t testing.TB, mods ...func(*SandboxConfig, *Config)) *env {
	t.Helper()
	clk := newClock()
	scfg := SandboxConfig{Now: clk.Now, Step: testStep}
	ccfg := Config{Timeout: 5 * time.Second, RetryBackoff: time.Millisecond}
	for _, m := range mods {
		m(&scfg, &ccfg)
	}
	sb := NewSandbox(scfg)
	srv := httptest.NewServer(sb)
	ctl := httptest.NewServer(sb.Control())
	t.Cleanup(func() { srv.Close(); ctl.Close() })
	demo := DemoConfig(srv.URL)
	if ccfg.BaseURL == "" {
		ccfg.BaseURL = demo.BaseURL
	}
	if ccfg.BusinessIdentification == "" {
		ccfg.BusinessIdentification = demo.BusinessIdentification
	}
	if ccfg.TerminalIdentification == "" {
		ccfg.TerminalIdentification = demo.TerminalIdentification
	}
	if ccfg.XpressID == "" {
		ccfg.XpressID = demo.XpressID
	}
	if ccfg.Key == nil {
		ccfg.Key = demo.Key
	}
	if ccfg.IV == nil {
		ccfg.IV = demo.IV
	}
	c, err := NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAdapter(c)
	a.now = clk.Now
	return &env{sb: sb, srv: srv, ctl: ctl, c: c, a: a, clk: clk}
}

// client builds another client on the same sandbox with cfg changed.
func (e *env) client(t testing.TB, mod func(*Config)) *Client {
	t.Helper()
	cfg := DemoConfig(e.srv.URL)
	cfg.Timeout = 5 * time.Second
	mod(&cfg)
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// control calls a control route; out may be nil.
func (e *env) control(t testing.TB, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.ctl.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("control %s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

// raw sends any request body (as JSON, encrypted) to a method and returns
// PayMate's code: "000" or the error's code.
func (e *env) raw(t testing.TB, method string, req any) string {
	t.Helper()
	var out json.RawMessage
	code, err := e.c.call(context.Background(), method, true, req, &out)
	if err == nil {
		return code
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Code == "" {
		t.Fatalf("%s: not a PayMate answer: %v", method, err)
	}
	return pe.Code
}

func wantCode(t testing.TB, err error, code string, kind error) {
	t.Helper()
	if err == nil {
		t.Fatalf("want code %s, got success", code)
	}
	if !IsCode(err, code) {
		t.Fatalf("want code %s, got %v", code, err)
	}
	if kind != nil && !errors.Is(err, kind) {
		t.Fatalf("code %s: want errors.Is %v, got %v", code, kind, err)
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// book books a plain payment to a valid beneficiary.
func (e *env) book(t testing.TB, order string, paise int64, account string) Ref {
	t.Helper()
	ref, err := e.c.BookPayment(ctx(t), BookPaymentRequest{CompanyName: "Watson Group", CompanyEmailID: "abc@watson.com",
		AccountNo: account, IFSCode: "CITI0100000", OrderID: order, AmountPaise: paise, PaymentType: Normal,
		PaymentFrom: FromXpressAccount, Remarks: "Payment for the invoice no WAT345678"})
	if err != nil {
		t.Fatalf("BookPayment %s: %v", order, err)
	}
	return ref
}

func (e *env) status(t testing.TB, order string) PaymentRecord {
	t.Helper()
	rows, err := e.c.GetPaymentReport(ctx(t), PaymentQuery{OrderID: order})
	if err != nil {
		t.Fatalf("GetPaymentReport %s: %v", order, err)
	}
	if len(rows) != 1 || rows[0].OrderID != order {
		t.Fatalf("GetPaymentReport %s: rows %+v", order, rows)
	}
	return rows[0]
}

func (e *env) balance(t testing.TB) int64 {
	t.Helper()
	b, err := e.c.GetXpressAccountBalance(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
