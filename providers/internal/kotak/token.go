package kotak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
)

// TokenPath is where Kotak's API gateway issues OAuth2 tokens.
const TokenPath = "/auth/oauth/v2/token"

// Token is an OAuth2 bearer token and the moment it stops being accepted.
type Token struct {
	AccessToken string
	TokenType   string
	Scope       string
	Expiry      time.Time
}

// TokenSource fetches client-credentials tokens, caches them and fetches a
// new one shortly before the cached one expires. Safe for concurrent use;
// concurrent callers share one fetch.
type TokenSource struct {
	Provider     string // error prefix
	URL          string // full token URL
	ClientID     string
	ClientSecret string
	Scope        string // optional
	HTTP         *http.Client
	// Now is the clock used for expiry; nil means time.Now.
	Now func() time.Time
	// RefreshBefore: a token this close to expiry is replaced (capped at half
	// its lifetime). Zero means 60 s.
	RefreshBefore time.Duration
	// Retries and Backoff bound the retries of a failed fetch (the token
	// call is idempotent). Zero Retries means 2; negative means none.
	Retries int
	Backoff time.Duration

	mu       sync.Mutex
	tok      Token
	issuedAt time.Time
	fetches  int
}

func (ts *TokenSource) now() time.Time {
	if ts.Now != nil {
		return ts.Now()
	}
	return time.Now()
}

// Fetches reports how many tokens were fetched so far (tests prove caching).
func (ts *TokenSource) Fetches() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.fetches
}

// Token returns a valid token, fetching one if none is cached or the cached
// one is about to expire.
func (ts *TokenSource) Token(ctx context.Context) (Token, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.fresh() {
		return ts.tok, nil
	}
	tok, err := ts.fetchRetrying(ctx)
	if err != nil {
		return Token{}, err
	}
	ts.tok = tok
	ts.issuedAt = ts.now()
	ts.fetches++
	return tok, nil
}

// Invalidate drops the cached token if it is still access, so the next call
// fetches a new one. Used when the gateway answers 401 to a token we thought
// valid (revoked, or the clocks disagree).
func (ts *TokenSource) Invalidate(access string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tok.AccessToken == access {
		ts.tok = Token{}
	}
}

func (ts *TokenSource) fresh() bool {
	if ts.tok.AccessToken == "" {
		return false
	}
	margin := ts.RefreshBefore
	if margin <= 0 {
		margin = 60 * time.Second
	}
	if life := ts.tok.Expiry.Sub(ts.issuedAt); margin > life/2 {
		margin = life / 2
	}
	return ts.now().Before(ts.tok.Expiry.Add(-margin))
}

func (ts *TokenSource) fetchRetrying(ctx context.Context) (Token, error) {
	retries := ts.Retries
	if retries == 0 {
		retries = 2
	}
	if retries < 0 {
		retries = 0
	}
	backoff := ts.Backoff
	if backoff <= 0 {
		backoff = 50 * time.Millisecond
	}
	var err error
	for attempt := 0; ; attempt++ {
		var tok Token
		tok, err = ts.fetch(ctx)
		if err == nil {
			return tok, nil
		}
		// Refused credentials do not get better by asking again.
		if errors.Is(err, providers.ErrAuth) || attempt >= retries || ctx.Err() != nil {
			break
		}
		if !sleepCtx(ctx, backoff<<attempt) {
			break
		}
	}
	var ke *Error
	if errors.As(err, &ke) && ke.Kind != providers.ErrAuth {
		// A token call never executes anything: every non-auth failure of
		// it is safe to retry later.
		ke.Kind = providers.ErrTransient
	}
	return Token{}, err
}

// tokenResponse is the gateway's answer. expires_in arrives as a number from
// most gateways and as a string from some; flexInt takes both.
type tokenResponse struct {
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	ExpiresIn        flexInt `json:"expires_in"`
	Scope            string  `json:"scope"`
	Error            string  `json:"error"`
	ErrorDescription string  `json:"error_description"`
}

type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

// DecodeTokenResponse parses a token endpoint answer body. Exported for fuzz
// tests and for the sandbox's own tests.
func DecodeTokenResponse(body []byte, now time.Time) (Token, error) {
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return Token{}, err
	}
	if tr.AccessToken == "" {
		return Token{}, errors.New("no access_token in answer")
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return Token{}, fmt.Errorf("unexpected token_type %q", tr.TokenType)
	}
	secs := int64(tr.ExpiresIn)
	if secs <= 0 || secs > 366*24*3600 {
		// Missing or absurd lifetime: assume a short one so we ask again soon.
		secs = 300
	}
	return Token{
		AccessToken: tr.AccessToken,
		TokenType:   "Bearer",
		Scope:       tr.Scope,
		Expiry:      now.Add(time.Duration(secs) * time.Second),
	}, nil
}

func (ts *TokenSource) fetch(ctx context.Context) (Token, error) {
	fail := func(kind error, status int, code, msg string, cause error) error {
		return &Error{Provider: ts.Provider, Op: "Token", Code: code, Message: msg, Status: status, Kind: kind, Err: cause}
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if ts.Scope != "" {
		form.Set("scope", ts.Scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, fail(providers.ErrRejected, 0, "", "building token request", err)
	}
	// Raw, not form-encoded as RFC 6749 §2.3.1 would have it: that is what
	// the public Kotak integrations send, and the sandbox accepts both.
	req.SetBasicAuth(ts.ClientID, ts.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	client := ts.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	sentAt := ts.now()
	resp, err := client.Do(req)
	if err != nil {
		return Token{}, fail(providers.ErrTransient, 0, "", "token request failed", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return Token{}, fail(providers.ErrTransient, resp.StatusCode, "", "reading token answer", err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		tok, err := DecodeTokenResponse(body, sentAt)
		if err != nil {
			return Token{}, fail(providers.ErrTransient, resp.StatusCode, "", "unreadable token answer", err)
		}
		return tok, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return Token{}, fail(providers.ErrTransient, resp.StatusCode, "", "token endpoint answered "+resp.Status, nil)
	default:
		var tr tokenResponse
		_ = json.Unmarshal(body, &tr)
		msg := strings.TrimSpace(tr.Error + " " + tr.ErrorDescription)
		if msg == "" {
			msg = "token endpoint answered " + resp.Status
		}
		return Token{}, fail(providers.ErrAuth, resp.StatusCode, "", msg, nil)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
