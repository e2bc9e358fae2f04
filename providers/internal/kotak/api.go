package kotak

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"paydesk/providers"
)

// maxAnswer bounds how much of an answer the clients read.
const maxAnswer = 8 << 20

// API is the HTTP call discipline both Kotak clients share: bearer token,
// body encryption, and the one rule that matters for money — a call that
// executes something is never re-sent by the client; when its outcome cannot
// be known the error wraps providers.ErrOutcomeUnknown. Only calls marked
// Idempotent (status reads, lists, the same-batch-until-acked fetch) are
// retried, with small bounded backoff.
type API struct {
	Provider string
	BaseURL  string
	HTTP     *http.Client
	Tokens   *TokenSource
	Cipher   *Cipher // nil: bodies travel in plain text
	// Retries of an idempotent call after the first attempt. Zero means 2,
	// negative means none.
	Retries int
	Backoff time.Duration // first retry delay, doubled each time; zero: 50 ms
}

// Call is one POST to the bank.
type Call struct {
	Op          string // client method name, for errors
	Path        string
	ContentType string
	Body        []byte // plaintext; encrypted here when API.Cipher is set
	Idempotent  bool
	// Decode parses the decrypted answer. It must fail only when the answer
	// is unreadable (syntax, missing mandatory envelope), not for business
	// codes: for a non-idempotent call an unreadable answer leaves the
	// outcome unknown.
	Decode func(plain []byte) error
}

type verdict int

const (
	final     verdict = iota // return the error as it is
	retryable                // an idempotent call may be tried again
	reauth                   // 401: fetch a new token and try once more
)

// Do sends c and decodes the answer.
func (a *API) Do(ctx context.Context, c Call) error {
	retries := a.Retries
	if retries == 0 {
		retries = 2
	}
	if retries < 0 || !c.Idempotent {
		retries = 0
	}
	backoff := a.Backoff
	if backoff <= 0 {
		backoff = 50 * time.Millisecond
	}
	reauthed := false
	attempt := 0
	for {
		v, err := a.once(ctx, c)
		if err == nil {
			return nil
		}
		switch v {
		case reauth:
			// A 401 is the gateway refusing before the API saw the request,
			// so one more try with a fresh token is safe for any call.
			if !reauthed {
				reauthed = true
				continue
			}
			return err
		case retryable:
			if c.Idempotent && attempt < retries && ctx.Err() == nil {
				if sleepCtx(ctx, backoff<<attempt) {
					attempt++
					continue
				}
			}
		}
		if c.Idempotent {
			// A read that failed leaves nothing behind: whatever went wrong,
			// asking again later is safe.
			var ke *Error
			if errors.As(err, &ke) && ke.Kind == providers.ErrOutcomeUnknown {
				ke.Kind = providers.ErrTransient
			}
		}
		return err
	}
}

func (a *API) once(ctx context.Context, c Call) (verdict, error) {
	fail := func(kind error, status int, code, msg string, cause error) *Error {
		return &Error{Provider: a.Provider, Op: c.Op, Code: code, Message: msg, Status: status, Kind: kind, Err: cause}
	}
	tok, err := a.Tokens.Token(ctx)
	if err != nil {
		// Token errors come typed (ErrAuth or ErrTransient) and already
		// retried; relabel the op so the caller sees which call failed.
		var ke *Error
		if errors.As(err, &ke) {
			cp := *ke
			cp.Op = c.Op + " (token)"
			return final, &cp
		}
		return final, fail(providers.ErrTransient, 0, "", "no token", err)
	}
	body := c.Body
	if a.Cipher != nil {
		enc, err := a.Cipher.Encrypt(c.Body)
		if err != nil {
			return final, fail(providers.ErrRejected, 0, "", "encrypting request", err)
		}
		body = []byte(enc)
	}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			wrote.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost,
		strings.TrimRight(a.BaseURL, "/")+c.Path, bytes.NewReader(body))
	if err != nil {
		return final, fail(providers.ErrRejected, 0, "", "building request", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", c.ContentType)
	req.Header.Set("Accept", c.ContentType)
	client := a.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if !wrote.Load() {
			// Nothing reached the bank (refused, DNS, dial timeout).
			return retryable, fail(providers.ErrTransient, 0, "", "request not sent", err)
		}
		return retryable, fail(providers.ErrOutcomeUnknown, 0, "", "no answer after sending", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		if resp.StatusCode == http.StatusOK || resp.StatusCode >= 500 {
			return retryable, fail(providers.ErrOutcomeUnknown, resp.StatusCode, "", "answer cut off", err)
		}
		return retryable, fail(providers.ErrTransient, resp.StatusCode, "", "answer cut off", err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		plain := raw
		if a.Cipher != nil {
			plain, err = a.Cipher.Decrypt(raw)
			if err != nil {
				return retryable, fail(providers.ErrOutcomeUnknown, resp.StatusCode, "", "answer could not be decrypted", err)
			}
		}
		if err := c.Decode(plain); err != nil {
			return retryable, fail(providers.ErrOutcomeUnknown, resp.StatusCode, "", "unreadable answer", err)
		}
		return final, nil
	case resp.StatusCode == http.StatusUnauthorized:
		a.Tokens.Invalidate(tok.AccessToken)
		return reauth, fail(providers.ErrAuth, resp.StatusCode, "", gatewayMessage(raw, resp.Status), nil)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		// The gateway's front door refusing (throttled, unavailable): the
		// request never reached the API.
		return retryable, fail(providers.ErrTransient, resp.StatusCode, "", gatewayMessage(raw, resp.Status), nil)
	case resp.StatusCode >= 500:
		// Any other server or gateway error (500, 502, 504 …) may come after
		// the bank executed the request; only a status inquiry can tell.
		return retryable, fail(providers.ErrOutcomeUnknown, resp.StatusCode, "", gatewayMessage(raw, resp.Status), nil)
	case resp.StatusCode == http.StatusForbidden:
		return final, fail(providers.ErrAuth, resp.StatusCode, "", gatewayMessage(raw, resp.Status), nil)
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusConflict:
		// A gateway's timeout, or a conflict (how some say "that reference
		// is here already"), may come after the request was passed on.
		// Asking costs one inquiry; calling it refused could have a person
		// pay it again.
		return final, fail(providers.ErrOutcomeUnknown, resp.StatusCode, "", gatewayMessage(raw, resp.Status), nil)
	default:
		msg := gatewayMessage(raw, resp.Status)
		kind := providers.ErrRejected
		if isDecryptRefusal(raw) {
			kind = providers.ErrAuth
		}
		return final, fail(kind, resp.StatusCode, "", msg, nil)
	}
}

// gatewayMessage pulls {"error","error_description"} out of a gateway answer,
// falling back to the start of the body.
func gatewayMessage(raw []byte, status string) string {
	var ge struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if json.Unmarshal(raw, &ge) == nil && (ge.Error != "" || ge.ErrorDescription != "") {
		return strings.TrimSpace(fmt.Sprintf("HTTP %s: %s %s", status, ge.Error, ge.ErrorDescription))
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200]
	}
	if s == "" {
		return "HTTP " + status
	}
	return "HTTP " + status + ": " + s
}

// DecryptErrorCode is the gateway error the sandboxes answer (HTTP 400) when
// a body cannot be decrypted with the configured key.
const DecryptErrorCode = "invalid_encryption"

func isDecryptRefusal(raw []byte) bool {
	return bytes.Contains(raw, []byte(DecryptErrorCode))
}
