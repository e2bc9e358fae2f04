package kotak

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"paydesk/providers/sandboxkit"
)

// Issuer is the sandbox side of Kotak's OAuth2 gateway: it hands out
// client-credentials tokens at TokenPath and checks bearer tokens on the API
// routes. Safe for concurrent use.
type Issuer struct {
	ClientID     string
	ClientSecret string
	TTL          time.Duration    // zero: one hour
	Now          func() time.Time // nil: time.Now

	mu     sync.Mutex
	tokens map[string]time.Time
	issued int
}

func (is *Issuer) now() time.Time {
	if is.Now != nil {
		return is.Now()
	}
	return time.Now()
}

func (is *Issuer) ttl() time.Duration {
	if is.TTL <= 0 {
		return time.Hour
	}
	return is.TTL
}

// Issued reports how many tokens were handed out.
func (is *Issuer) Issued() int {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.issued
}

// ExpireAll makes every issued token invalid (control route for tests and
// demos of the client's refresh path).
func (is *Issuer) ExpireAll() {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.tokens = nil
}

// ServeHTTP answers POST /auth/oauth/v2/token. Client credentials are taken
// from HTTP Basic or from client_id/client_secret form fields (both occur in
// the wild); grant_type may be in the body or the query string.
func (is *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<14)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	if gt := r.Form.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
	}
	if !is.credentialsMatch(id, secret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauth"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The given client credentials were not valid")
		return
	}
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "no randomness")
		return
	}
	tok := hex.EncodeToString(raw[:])
	now := is.now()
	is.mu.Lock()
	if is.tokens == nil {
		is.tokens = map[string]time.Time{}
	}
	for t, exp := range is.tokens {
		if !now.Before(exp) {
			delete(is.tokens, t)
		}
	}
	is.tokens[tok] = now.Add(is.ttl())
	is.issued++
	is.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	sandboxkit.WriteJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int64(is.ttl() / time.Second),
		"scope":        "oob",
	})
}

func (is *Issuer) credentialsMatch(id, secret string) bool {
	try := func(id, secret string) bool {
		a := subtle.ConstantTimeCompare([]byte(id), []byte(is.ClientID))
		b := subtle.ConstantTimeCompare([]byte(secret), []byte(is.ClientSecret))
		return a&b == 1
	}
	if id == "" {
		return false
	}
	if try(id, secret) {
		return true
	}
	// RFC 6749 form-encodes Basic credentials; accept that spelling too.
	uid, err1 := url.QueryUnescape(id)
	usec, err2 := url.QueryUnescape(secret)
	return err1 == nil && err2 == nil && try(uid, usec)
}

// Valid reports whether r carries a bearer token issued here and not expired.
func (is *Issuer) Valid(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return false
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	exp, ok := is.tokens[strings.TrimSpace(tok)]
	return ok && is.now().Before(exp)
}

// Require wraps an API handler: requests without a valid bearer token get the
// gateway's 401 and never reach it.
func (is *Issuer) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !is.Valid(r) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			oauthError(w, http.StatusUnauthorized, "invalid_token", "The access token is missing, invalid or expired")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	sandboxkit.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
