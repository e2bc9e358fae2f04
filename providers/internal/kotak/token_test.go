package kotak

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/sandboxkit/sandboxtest"
)

// newClock is the clock issuer and token source share.
func newClock() *sandboxtest.Clock {
	return sandboxtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, IST))
}

func issuerServer(t *testing.T, is *Issuer) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("POST "+TokenPath, is)
	mux.Handle("POST /api", is.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestTokenSourceCachesAndRefreshesBeforeExpiry(t *testing.T) {
	clk := newClock()
	is := &Issuer{ClientID: "cid", ClientSecret: "sec", TTL: 10 * time.Minute, Now: clk.Now}
	srv := issuerServer(t, is)
	ts := &TokenSource{Provider: "kotakcms", URL: srv.URL + TokenPath, ClientID: "cid", ClientSecret: "sec", Now: clk.Now, RefreshBefore: time.Minute}
	ctx := context.Background()

	first, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(10 * time.Minute); !first.Expiry.Equal(want) {
		t.Fatalf("expiry %v, want %v", first.Expiry, want)
	}
	for range 20 {
		tok, err := ts.Token(ctx)
		if err != nil || tok.AccessToken != first.AccessToken {
			t.Fatalf("cached token not reused: %v", err)
		}
	}
	if ts.Fetches() != 1 || is.Issued() != 1 {
		t.Fatalf("fetches=%d issued=%d, want 1", ts.Fetches(), is.Issued())
	}
	clk.Advance(8*time.Minute + 59*time.Second) // 61 s left: still fresh
	if tok, _ := ts.Token(ctx); tok.AccessToken != first.AccessToken {
		t.Fatal("refreshed too early")
	}
	clk.Advance(2 * time.Second) // 59 s left: inside the refresh margin
	second, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken == first.AccessToken || is.Issued() != 2 {
		t.Fatal("token not refreshed before expiry")
	}
}

func TestTokenSourceConcurrentCallersShareOneFetch(t *testing.T) {
	is := &Issuer{ClientID: "cid", ClientSecret: "sec"}
	srv := issuerServer(t, is)
	ts := &TokenSource{Provider: "kotakva", URL: srv.URL + TokenPath, ClientID: "cid", ClientSecret: "sec"}
	var wg sync.WaitGroup
	toks := make([]string, 32)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := ts.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok.AccessToken
		}()
	}
	wg.Wait()
	for _, tk := range toks {
		if tk != toks[0] {
			t.Fatal("callers got different tokens")
		}
	}
	if is.Issued() != 1 {
		t.Fatalf("issued %d tokens, want 1", is.Issued())
	}
}

func TestTokenSourceBadCredentialsIsAuthAndNotRetried(t *testing.T) {
	is := &Issuer{ClientID: "cid", ClientSecret: "sec"}
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("POST "+TokenPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		is.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ts := &TokenSource{Provider: "kotakcms", URL: srv.URL + TokenPath, ClientID: "cid", ClientSecret: "wrong", Retries: 3}
	_, err := ts.Token(context.Background())
	if !errors.Is(err, providers.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if !strings.HasPrefix(err.Error(), "kotakcms: Token: ") || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("message %q", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("bad credentials retried: %d calls", calls.Load())
	}
}

func TestTokenSourceRetriesServerErrorsThenTransient(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if n == 3 {
			w.Write([]byte(`{"access_token":"abc","token_type":"Bearer","expires_in":"120"}`)) // string form
			return
		}
	}))
	defer srv.Close()
	ts := &TokenSource{Provider: "kotakcms", URL: srv.URL, ClientID: "a", ClientSecret: "b", Retries: 2, Backoff: time.Millisecond}
	tok, err := ts.Token(context.Background())
	if err != nil || tok.AccessToken != "abc" {
		t.Fatalf("tok=%v err=%v", tok, err)
	}
	if calls.Load() != 3 {
		t.Fatalf("calls %d", calls.Load())
	}

	calls.Store(-100) // always busy now
	ts2 := &TokenSource{Provider: "kotakcms", URL: srv.URL, ClientID: "a", ClientSecret: "b", Retries: 1, Backoff: time.Millisecond}
	_, err = ts2.Token(context.Background())
	if !errors.Is(err, providers.ErrTransient) {
		t.Fatalf("err = %v, want ErrTransient", err)
	}
}

func TestIssuerAcceptsFormCredentialsAndQueryGrant(t *testing.T) {
	is := &Issuer{ClientID: "c id", ClientSecret: "s&c"}
	srv := issuerServer(t, is)
	// Form fields instead of Basic.
	resp, err := http.PostForm(srv.URL+TokenPath, url.Values{"grant_type": {"client_credentials"}, "client_id": {"c id"}, "client_secret": {"s&c"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("form credentials: %s", resp.Status)
	}
	// grant_type in the query string and RFC 6749 form-encoded Basic.
	req, _ := http.NewRequest("POST", srv.URL+TokenPath+"?grant_type=client_credentials", nil)
	req.SetBasicAuth(url.QueryEscape("c id"), url.QueryEscape("s&c"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tr map[string]any
	json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if resp.StatusCode != 200 || tr["token_type"] != "Bearer" || tr["expires_in"].(float64) != 3600 {
		t.Fatalf("query grant: %s %v", resp.Status, tr)
	}
	// Wrong grant type.
	resp, _ = http.PostForm(srv.URL+TokenPath, url.Values{"grant_type": {"password"}, "client_id": {"c id"}, "client_secret": {"s&c"}})
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("password grant: %s", resp.Status)
	}
}

func TestIssuerRequireRejectsMissingAndExpiredTokens(t *testing.T) {
	clk := newClock()
	is := &Issuer{ClientID: "cid", ClientSecret: "sec", TTL: time.Minute, Now: clk.Now}
	srv := issuerServer(t, is)
	call := func(tok string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call(""); got != 401 {
		t.Fatalf("no token: %d", got)
	}
	if got := call("made-up"); got != 401 {
		t.Fatalf("unknown token: %d", got)
	}
	ts := &TokenSource{Provider: "x", URL: srv.URL + TokenPath, ClientID: "cid", ClientSecret: "sec", Now: clk.Now}
	tok, err := ts.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := call(tok.AccessToken); got != 200 {
		t.Fatalf("fresh token: %d", got)
	}
	clk.Advance(time.Minute)
	if got := call(tok.AccessToken); got != 401 {
		t.Fatalf("expired token: %d", got)
	}
}

func FuzzDecodeTokenResponse(f *testing.F) {
	f.Add([]byte(`{"access_token":"abc","token_type":"Bearer","expires_in":3600,"scope":"oob"}`))
	f.Add([]byte(`{"access_token":"abc","expires_in":"60"}`))
	f.Add([]byte(`{"error":"invalid_client"}`))
	f.Add([]byte(`{"access_token":"abc","token_type":"mac","expires_in":-1}`))
	f.Add([]byte(`{"access_to`))
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := DecodeTokenResponse(body, now)
		if err == nil {
			if tok.AccessToken == "" || !tok.Expiry.After(now) {
				t.Fatalf("accepted bad token %+v", tok)
			}
		}
	})
}
