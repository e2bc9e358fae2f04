package kotak

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
)

type apiFixture struct {
	srv    *httptest.Server
	is     *Issuer
	api    *API
	hits   atomic.Int32
	handle func(w http.ResponseWriter, r *http.Request, n int32)
}

func newAPIFixture(t *testing.T, encrypted bool) *apiFixture {
	t.Helper()
	fx := &apiFixture{is: &Issuer{ClientID: "cid", ClientSecret: "sec"}}
	var wire Wire
	if encrypted {
		wire.Cipher, _ = NewCipher(katKey)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+TokenPath, fx.is)
	mux.Handle("POST /op", fx.is.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := fx.hits.Add(1)
		body, ok := wire.Read(w, r, 1<<20)
		if !ok {
			return
		}
		if fx.handle != nil {
			fx.handle(w, r, n)
			return
		}
		// A wrong key passes the PKCS#7 check about once in 256 tries and
		// yields garbage; a real bank refuses that too, so the fixture does.
		if string(body) != "hello" {
			sandboxkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": DecryptErrorCode})
			return
		}
		wire.Write(w, "application/json", append([]byte("echo:"), body...))
	})))
	fx.srv = httptest.NewServer(mux)
	t.Cleanup(fx.srv.Close)
	var c *Cipher
	if encrypted {
		c, _ = NewCipher(katKey)
	}
	fx.api = &API{
		Provider: "kotakcms",
		BaseURL:  fx.srv.URL,
		HTTP:     &http.Client{Timeout: 300 * time.Millisecond},
		Tokens:   &TokenSource{Provider: "kotakcms", URL: fx.srv.URL + TokenPath, ClientID: "cid", ClientSecret: "sec"},
		Cipher:   c,
		Backoff:  time.Millisecond,
	}
	return fx
}

func (fx *apiFixture) call(idempotent bool) (string, error) {
	var got string
	err := fx.api.Do(context.Background(), Call{
		Op: "Op", Path: "/op", ContentType: "application/json", Body: []byte("hello"), Idempotent: idempotent,
		Decode: func(p []byte) error {
			if !strings.HasPrefix(string(p), "echo:") {
				return errors.New("not an echo")
			}
			got = string(p)
			return nil
		},
	})
	return got, err
}

func TestAPIEncryptedRoundTrip(t *testing.T) {
	fx := newAPIFixture(t, true)
	got, err := fx.call(false)
	if err != nil || got != "echo:hello" {
		t.Fatalf("got %q err %v", got, err)
	}
}

func TestAPIWrongKeyIsAuth(t *testing.T) {
	fx := newAPIFixture(t, true)
	fx.api.Cipher, _ = NewCipher(strings.Repeat("z", 32))
	_, err := fx.call(false)
	if !errors.Is(err, providers.ErrAuth) || !strings.Contains(err.Error(), DecryptErrorCode) {
		t.Fatalf("err = %v", err)
	}
}

func TestAPIReauthenticatesOnceAfter401(t *testing.T) {
	fx := newAPIFixture(t, false)
	if _, err := fx.call(false); err != nil {
		t.Fatal(err)
	}
	fx.is.ExpireAll() // the bank forgets our token: next call sees 401 once
	got, err := fx.call(false)
	if err != nil || got != "echo:hello" {
		t.Fatalf("after expiry: %q %v", got, err)
	}
	if fx.is.Issued() != 2 {
		t.Fatalf("issued %d", fx.is.Issued())
	}
	// A gateway that refuses every token: one re-auth, then ErrAuth.
	fx.api.Tokens = &TokenSource{Provider: "kotakcms", URL: fx.srv.URL + TokenPath, ClientID: "cid", ClientSecret: "sec"}
	fx.handle = func(w http.ResponseWriter, r *http.Request, n int32) { http.Error(w, `{"error":"invalid_token"}`, 401) }
	before := fx.hits.Load()
	_, err = fx.call(false)
	if !errors.Is(err, providers.ErrAuth) {
		t.Fatalf("err = %v", err)
	}
	if fx.hits.Load()-before != 2 {
		t.Fatalf("%d attempts, want 2", fx.hits.Load()-before)
	}
}

func TestAPINonIdempotentNeverResent(t *testing.T) {
	cases := []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request, n int32)
		kind   error
	}{
		{"503", func(w http.ResponseWriter, r *http.Request, n int32) { http.Error(w, "down", 503) }, providers.ErrTransient},
		{"500", func(w http.ResponseWriter, r *http.Request, n int32) { http.Error(w, "oops", 500) }, providers.ErrOutcomeUnknown},
		{"504", func(w http.ResponseWriter, r *http.Request, n int32) { http.Error(w, "timeout", 504) }, providers.ErrOutcomeUnknown},
		{"502", func(w http.ResponseWriter, r *http.Request, n int32) { http.Error(w, "bad gw", 502) }, providers.ErrOutcomeUnknown},
		{"drop", func(w http.ResponseWriter, r *http.Request, n int32) { panic(http.ErrAbortHandler) }, providers.ErrOutcomeUnknown},
		{"malformed", func(w http.ResponseWriter, r *http.Request, n int32) { w.Write([]byte("\x00<!-- upstream reset -->{")) }, providers.ErrOutcomeUnknown},
		{"hang", func(w http.ResponseWriter, r *http.Request, n int32) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}, providers.ErrOutcomeUnknown},
		{"429", func(w http.ResponseWriter, r *http.Request, n int32) { http.Error(w, "slow down", 429) }, providers.ErrTransient},
		{"400", func(w http.ResponseWriter, r *http.Request, n int32) { http.Error(w, "bad", 400) }, providers.ErrRejected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fx := newAPIFixture(t, false)
			fx.handle = tc.handle
			_, err := fx.call(false)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if !strings.HasPrefix(err.Error(), "kotakcms: Op: ") {
				t.Fatalf("message %q", err)
			}
			if n := fx.hits.Load(); n != 1 {
				t.Fatalf("non-idempotent call sent %d times", n)
			}
		})
	}
}

func TestAPIIdempotentRetriesThenSucceeds(t *testing.T) {
	fx := newAPIFixture(t, false)
	fx.handle = func(w http.ResponseWriter, r *http.Request, n int32) {
		switch n {
		case 1:
			http.Error(w, "down", 503)
		case 2:
			w.Write([]byte("garbage"))
		default:
			w.Write([]byte("echo:third"))
		}
	}
	got, err := fx.call(true)
	if err != nil || got != "echo:third" || fx.hits.Load() != 3 {
		t.Fatalf("got %q err %v hits %d", got, err, fx.hits.Load())
	}
	// Exhausted retries on a read are transient, never "outcome unknown".
	fx.handle = func(w http.ResponseWriter, r *http.Request, n int32) { http.Error(w, "bad gateway", 502) }
	_, err = fx.call(true)
	if !errors.Is(err, providers.ErrTransient) || errors.Is(err, providers.ErrOutcomeUnknown) {
		t.Fatalf("err = %v", err)
	}
}

func TestAPINotSentIsTransient(t *testing.T) {
	fx := newAPIFixture(t, false)
	if _, err := fx.api.Tokens.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Point the API at a closed port; the cached token stays valid.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	fx.api.BaseURL = "http://" + addr
	_, err := fx.call(false)
	if !errors.Is(err, providers.ErrTransient) {
		t.Fatalf("err = %v", err)
	}
}

func TestUTRFormats(t *testing.T) {
	at := time.Date(2026, 3, 2, 14, 5, 0, 0, IST)
	cases := map[string]*regexp.Regexp{
		"NEFT": regexp.MustCompile(`^KKBKN26061\d{6}$`),
		"RTGS": regexp.MustCompile(`^KKBKRC20260302\d{8}$`),
		"IMPS": regexp.MustCompile(`^6061\d{8}$`),
		"IFT":  regexp.MustCompile(`^KKBKI26061\d{6}$`),
	}
	lens := map[string]int{"NEFT": 16, "RTGS": 22, "IMPS": 12, "IFT": 16}
	for rail, re := range cases {
		u := UTR(rail, at, 42)
		if !re.MatchString(u) || len(u) != lens[rail] {
			t.Errorf("%s UTR %q", rail, u)
		}
	}
	if UTR("NEFT", at, 1) == UTR("NEFT", at, 2) {
		t.Error("sequence not in UTR")
	}
}

// TestAPIAmbiguous4xxIsUnknown: a 408 or 409 from the gateway may come
// after the request went through, so it is an unknown outcome (asked
// about), never a refusal; a plain 400 is still a refusal.
func TestAPIAmbiguous4xxIsUnknown(t *testing.T) {
	for status, want := range map[int]error{
		http.StatusRequestTimeout: providers.ErrOutcomeUnknown,
		http.StatusConflict:       providers.ErrOutcomeUnknown,
		http.StatusBadRequest:     providers.ErrRejected,
		http.StatusNotFound:       providers.ErrRejected,
	} {
		fx := newAPIFixture(t, false)
		fx.handle = func(w http.ResponseWriter, r *http.Request, n int32) {
			sandboxkit.WriteJSON(w, status, map[string]string{"error": "gateway_said_no"})
		}
		if _, err := fx.call(false); !errors.Is(err, want) {
			t.Errorf("HTTP %d: err = %v, want %v", status, err, want)
		}
		if n := fx.hits.Load(); n != 1 {
			t.Errorf("HTTP %d: sent %d times, want once", status, n)
		}
	}
}
