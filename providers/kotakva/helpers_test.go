package kotakva

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/internal/kotak/kotaktest"
	"paydesk/providers/sandboxkit/sandboxtest"
)

var ctx = context.Background()

type env struct {
	sb     *Sandbox
	srv    *httptest.Server
	client *Client
	ad     *Adapter
	clk    *sandboxtest.Clock
	cfg    Config
}

func newEnv(t *testing.T, mods ...func(*SandboxConfig, *Config)) *env {
	t.Helper()
	clk := kotaktest.NewClock()
	scfg := DefaultSandboxConfig()
	scfg.Now = clk.Now
	scfg.RefundSendFor, scfg.RefundProcessFor = time.Minute, 2*time.Minute
	ccfg := DemoConfig("")
	ccfg.Backoff = time.Millisecond
	ccfg.Timeout = 5 * time.Second
	for _, m := range mods {
		m(&scfg, &ccfg)
	}
	sb := NewSandbox(scfg)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	ccfg.BaseURL = srv.URL
	c, err := NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sb: sb, srv: srv, client: c, ad: NewAdapter(c), clk: clk, cfg: ccfg}
}

// raw posts plain JSON (encrypted with the demo key) with a valid token and
// returns the decrypted answer.
func (e *env) raw(t *testing.T, path string, v any) []byte {
	t.Helper()
	tok, err := e.client.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plain, ok := v.([]byte)
	if !ok {
		plain, _ = json.Marshal(v)
	}
	status, out := kotaktest.Post(t, e.srv.URL+path, tok.AccessToken, "", DemoClientSecret, plain)
	if status != 200 {
		t.Fatalf("%s: HTTP %d %s", path, status, out)
	}
	return out
}

func (e *env) control(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	return sandboxtest.Control(e.sb.Control(), method, path, body)
}

// mustCreate creates accounts with the given suffixes and returns their
// numbers.
func (e *env) mustCreate(t *testing.T, suffixes ...string) []string {
	t.Helper()
	var accts []providers.VirtualAccount
	for _, s := range suffixes {
		accts = append(accts, providers.VirtualAccount{Suffix: s, Name: "Customer " + s, Purpose: "invoices", Email: "c@example.com", Mobile: "9876543210"})
	}
	res, err := e.ad.CreateVirtualAccounts(ctx, accts)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res {
		if !r.OK {
			t.Fatalf("create: %+v", r)
		}
		out = append(out, r.Number)
	}
	return out
}

func (e *env) addCredits(t *testing.T, req CreditRequest) CreditsAdded {
	t.Helper()
	code, body := e.control(t, "POST", "/credits", req)
	if code != 201 {
		t.Fatalf("POST /credits: %d %s", code, body)
	}
	var out CreditsAdded
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameCredit compares credits field by field (times with Equal: each decode
// has its own zone pointer).
func sameCredit(a, b providers.Credit) bool {
	at, bt := a.CreditedAt, b.CreditedAt
	a.CreditedAt, b.CreditedAt = time.Time{}, time.Time{}
	return a == b && at.Equal(bt)
}
