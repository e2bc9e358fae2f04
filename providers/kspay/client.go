// Package kspay speaks KS Pay, the Kalp Studio payment engine: token and
// signature authentication, currencies and payment methods, and transactions
// that a payer completes at the gateway KS Pay routes them to.
//
// The package also holds a sandbox that behaves like the provider (see
// NewSandbox) and an Adapter onto providers.Gateway.
package kspay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"paydesk/providers"
)

// Config is what a Client needs: the app's id and the access/secret key pair
// generated for it in the KS Pay console.
type Config struct {
	// BaseURL includes the version, e.g. https://payment-api.p2epl.io/v1.
	BaseURL   string
	AppID     string
	AccessKey string
	SecretKey string
	// HTTPClient defaults to a plain client.
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt (default 30s).
	Timeout time.Duration
	// ReadRetries is how many extra attempts reads and token fetches get
	// after a transient failure (default 2; negative: none).
	ReadRetries int
	// RetryBackoff is the first pause between attempts; it doubles, and no
	// pause (not even a 429's Retry-After) exceeds MaxBackoff.
	RetryBackoff time.Duration
	MaxBackoff   time.Duration
	// RefreshBefore: a token this close to its expiry is renewed before use
	// (default 60s).
	RefreshBefore time.Duration
	// SignatureTTL is how long the provider honours a generated signature
	// (default 5 minutes, see decisions.go).
	SignatureTTL time.Duration
	// InitiateWithBearer authenticates initiate with the access token
	// instead of x-signature (the provider accepts both).
	InitiateWithBearer bool
	// SendAppID puts appId in the initiate body, as the NPM flow does.
	SendAppID bool
	// Now is the client's clock, used for expiry decisions (default
	// time.Now).
	Now func() time.Time
}

// Client calls KS Pay. It caches the token pair and the signature and is safe
// for concurrent use.
type Client struct {
	cfg  Config
	hc   *http.Client
	base string

	tokSem     chan struct{} // one token fetch at a time, cancellable
	access     string
	accessExp  time.Time
	refresh    string
	refreshExp time.Time

	sigSem chan struct{}
	sig    string
	sigExp time.Time
}

// NewClient returns a client for cfg.
func NewClient(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" || cfg.AppID == "" || cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("kspay: BaseURL, AppID, AccessKey and SecretKey are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.ReadRetries == 0 {
		cfg.ReadRetries = 2
	} else if cfg.ReadRetries < 0 {
		cfg.ReadRetries = 0
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = time.Minute
	}
	if cfg.SignatureTTL <= 0 {
		cfg.SignatureTTL = defaultSignatureTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{
		cfg: cfg, hc: hc, base: strings.TrimRight(cfg.BaseURL, "/"),
		tokSem: make(chan struct{}, 1), sigSem: make(chan struct{}, 1),
	}, nil
}

// ---- auth calls ----

// GenerateToken exchanges the access and secret key for a token pair, which
// the client then uses.
func (c *Client) GenerateToken(ctx context.Context) (TokenPair, error) {
	if err := acquire(ctx, c.tokSem); err != nil {
		return TokenPair{}, err
	}
	defer release(c.tokSem)
	p, err := c.generateToken(ctx)
	if err == nil {
		c.adopt(p)
	}
	return p, err
}

// RefreshToken exchanges a refresh token for a new pair. The provider
// revokes the old refresh token. If it was the client's own, the client
// adopts the new pair.
func (c *Client) RefreshToken(ctx context.Context, refreshToken string) (TokenPair, error) {
	if err := acquire(ctx, c.tokSem); err != nil {
		return TokenPair{}, err
	}
	defer release(c.tokSem)
	p, err := c.refreshToken(ctx, refreshToken)
	if err == nil && (refreshToken == c.refresh || c.refresh == "") {
		c.adopt(p)
	}
	return p, err
}

// GenerateSignature asks the provider for a request signature, which the
// client then uses as x-signature until shortly before it expires.
func (c *Client) GenerateSignature(ctx context.Context) (string, error) {
	if err := acquire(ctx, c.sigSem); err != nil {
		return "", err
	}
	defer release(c.sigSem)
	return c.fetchSignature(ctx)
}

func (c *Client) generateToken(ctx context.Context) (TokenPair, error) {
	var p TokenPair
	_, err := c.do(ctx, request{
		op: opGenerateToken, method: http.MethodPost, path: pathGenerateToken + url.PathEscape(c.cfg.AppID),
		body: credentialsBody{AccessKey: c.cfg.AccessKey, SecretKey: c.cfg.SecretKey}, idempotent: true,
	}, &p)
	if err == nil && (p.AccessToken == "" || p.RefreshToken == "") {
		err = &Error{Op: opGenerateToken, Marker: MarkerMalformed, Message: "token pair incomplete", kind: providers.ErrTransient}
	}
	return p, err
}

func (c *Client) refreshToken(ctx context.Context, refreshToken string) (TokenPair, error) {
	var p TokenPair
	// Not retried: the provider spends the refresh token on first use.
	_, err := c.do(ctx, request{
		op: opRefreshToken, method: http.MethodPost, path: pathRefreshToken,
		auth: authRefresh, refresh: refreshToken,
	}, &p)
	if err == nil && (p.AccessToken == "" || p.RefreshToken == "") {
		err = &Error{Op: opRefreshToken, Marker: MarkerMalformed, Message: "token pair incomplete", kind: providers.ErrOutcomeUnknown}
	}
	return p, err
}

func (c *Client) fetchSignature(ctx context.Context) (string, error) {
	var sig string
	fetched := c.cfg.Now()
	_, err := c.do(ctx, request{
		op: opGenerateSignature, method: http.MethodPost, path: pathGenerateSignature + url.PathEscape(c.cfg.AppID),
		body: credentialsBody{AccessKey: c.cfg.AccessKey, SecretKey: c.cfg.SecretKey}, idempotent: true,
	}, &sig)
	if err != nil {
		return "", err
	}
	if sig == "" {
		return "", &Error{Op: opGenerateSignature, Marker: MarkerMalformed, Message: "empty signature", kind: providers.ErrTransient}
	}
	// The decided format carries its own time; an opaque signature is
	// counted from when we fetched it.
	from := fetched
	if p, err := parseSignature(sig); err == nil {
		from = p.At
	}
	c.sig, c.sigExp = sig, from.Add(c.cfg.SignatureTTL-signatureMargin)
	return sig, nil
}

// adopt stores a token pair with the expiries read from the tokens.
func (c *Client) adopt(p TokenPair) {
	now := c.cfg.Now()
	c.access, c.refresh = p.AccessToken, p.RefreshToken
	var ok bool
	if c.accessExp, ok = tokenExpiry(p.AccessToken); !ok {
		c.accessExp = now.Add(fallbackAccessTTL)
	}
	if c.refreshExp, ok = tokenExpiry(p.RefreshToken); !ok {
		c.refreshExp = now.Add(fallbackRefreshTTL)
	}
}

// bearer returns a usable access token: the cached one, else one obtained
// with the refresh token, else a freshly generated pair.
func (c *Client) bearer(ctx context.Context) (string, error) {
	if err := acquire(ctx, c.tokSem); err != nil {
		return "", err
	}
	defer release(c.tokSem)
	now := c.cfg.Now()
	if c.access != "" && now.Before(c.accessExp.Add(-c.cfg.RefreshBefore)) {
		return c.access, nil
	}
	if c.refresh != "" && now.Before(c.refreshExp.Add(-c.cfg.RefreshBefore)) {
		p, err := c.refreshToken(ctx, c.refresh)
		if err == nil {
			c.adopt(p)
			return c.access, nil
		}
		// Refused or lost: the refresh token may be spent either way, and the
		// keys can always make a new pair.
		c.refresh = ""
	}
	p, err := c.generateToken(ctx)
	if err != nil {
		return "", err
	}
	c.adopt(p)
	return c.access, nil
}

// dropToken forgets tok after the provider refused it. all: the refresh
// token goes too.
func (c *Client) dropToken(tok string, all bool) {
	c.tokSem <- struct{}{}
	defer release(c.tokSem)
	if c.access == tok {
		c.access = ""
		if all {
			c.refresh = ""
		}
	}
}

func (c *Client) signature(ctx context.Context) (string, error) {
	if err := acquire(ctx, c.sigSem); err != nil {
		return "", err
	}
	defer release(c.sigSem)
	if c.sig != "" && c.cfg.Now().Before(c.sigExp) {
		return c.sig, nil
	}
	return c.fetchSignature(ctx)
}

func (c *Client) dropSignature(sig string) {
	c.sigSem <- struct{}{}
	defer release(c.sigSem)
	if c.sig == sig {
		c.sig = ""
	}
}

func acquire(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func release(sem chan struct{}) { <-sem }

// ---- catalogue ----

// Currencies lists the currencies KS Pay offers the app.
func (c *Client) Currencies(ctx context.Context) ([]Currency, error) {
	var out []Currency
	_, err := c.do(ctx, request{op: opCurrencies, method: http.MethodGet, path: pathCurrencies, auth: authBearer, idempotent: true}, &out)
	return out, err
}

// PaymentMethods lists the payment methods of a currency.
func (c *Client) PaymentMethods(ctx context.Context, currencyID string) ([]PaymentMethod, error) {
	var out []PaymentMethod
	_, err := c.do(ctx, request{
		op: opPaymentMethods, method: http.MethodGet, path: "/" + url.PathEscape(currencyID) + pathPaymentMethods,
		auth: authBearer, idempotent: true,
	}, &out)
	return out, err
}

// ---- transactions ----

// InitiateParams starts a transaction.
type InitiateParams struct {
	CurrencyID      string
	PaymentMethodID string
	AmountPaise     int64 // minor units of the currency
	// ReferenceNumber is the caller's id and the provider's duplicate guard.
	ReferenceNumber string
	RedirectURL     string
}

// InitiateResult is the provider's answer to initiate.
type InitiateResult struct {
	TxnID           string
	ProviderOrderID string
	AmountPaise     int64
	Currency        string
	// Replayed: the provider already had this referenceNumber with the same
	// request and returned that transaction (HTTP 200, not 201).
	Replayed bool
}

// InitiateTransaction creates a PENDING transaction. Never retried by the
// client, except once after the provider refused the signature or token as
// expired (a refusal before anything happened).
func (c *Client) InitiateTransaction(ctx context.Context, p InitiateParams) (InitiateResult, error) {
	if p.AmountPaise <= 0 {
		return InitiateResult{}, &Error{Op: opInitiate, Marker: MarkerClient, Message: "amount must be positive", kind: providers.ErrRejected}
	}
	body := initiateBody{
		CurrencyID: p.CurrencyID, PaymentMethodID: p.PaymentMethodID,
		Amount: json.Number(providers.FormatAmount(p.AmountPaise)), ReferenceNumber: p.ReferenceNumber,
		RedirectURL: p.RedirectURL,
	}
	if c.cfg.SendAppID {
		body.AppID = c.cfg.AppID
	}
	mode := authSignature
	if c.cfg.InitiateWithBearer {
		mode = authBearer
	}
	var r initiateResult
	status, err := c.do(ctx, request{op: opInitiate, method: http.MethodPost, path: pathInitiate, body: body, auth: mode}, &r)
	if err != nil {
		return InitiateResult{}, err
	}
	paise, perr := providers.ParseAmount(r.Amount.String())
	if !validID(r.TxnID, prefixTxn) || perr != nil {
		return InitiateResult{}, &Error{Op: opInitiate, Marker: MarkerMalformed, Message: "answer without a transaction id or amount", kind: providers.ErrOutcomeUnknown}
	}
	return InitiateResult{TxnID: r.TxnID, ProviderOrderID: r.ProviderOrderID, AmountPaise: paise, Currency: r.Currency, Replayed: status == http.StatusOK}, nil
}

// ProcessTransaction turns a PENDING transaction into the order object the
// checkout takes. Not retried.
func (c *Client) ProcessTransaction(ctx context.Context, txnID string) (Order, error) {
	var o Order
	_, err := c.do(ctx, request{op: opProcess, method: http.MethodPost, path: pathProcess, body: processBody{TxnID: txnID}, auth: authSignature}, &o)
	if err == nil && o.TxnID != txnID {
		err = &Error{Op: opProcess, Marker: MarkerMalformed, Message: "order is for another transaction", kind: providers.ErrOutcomeUnknown}
	}
	return o, err
}

// TransactionByID reads one transaction.
func (c *Client) TransactionByID(ctx context.Context, txnID string) (Transaction, error) {
	var t Transaction
	_, err := c.do(ctx, request{op: opTxnByID, method: http.MethodGet, path: pathTxnByID + url.PathEscape(txnID), auth: authBearer, idempotent: true}, &t)
	if err == nil && t.ID != txnID {
		err = &Error{Op: opTxnByID, Marker: MarkerMalformed, Message: "answer is about another transaction", kind: providers.ErrTransient}
	}
	return t, err
}

// TxnQuery filters GET /transaction. Zero values are left out.
type TxnQuery struct {
	Page            int
	Limit           int
	StartDate       time.Time // a day, in Indian time
	EndDate         time.Time
	ReferenceNumber string
	Status          string
}

// Transactions reads one page of the app's transactions, newest first.
func (c *Client) Transactions(ctx context.Context, q TxnQuery) (TransactionPage, error) {
	v := url.Values{}
	if q.Page != 0 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if !q.StartDate.IsZero() {
		v.Set("startDate", q.StartDate.In(istZone).Format(dateLayout))
	}
	if !q.EndDate.IsZero() {
		v.Set("endDate", q.EndDate.In(istZone).Format(dateLayout))
	}
	if q.ReferenceNumber != "" {
		v.Set("referenceNumber", q.ReferenceNumber)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	var p TransactionPage
	_, err := c.do(ctx, request{op: opTransactions, method: http.MethodGet, path: pathTransactions, query: v, auth: authBearer, idempotent: true}, &p)
	return p, err
}

// Redirect is what the payer's browser brings back to redirectUrl. It is a
// hint, not proof: confirm with TransactionByID before acting on it.
type Redirect struct {
	PaymentStatus     string // "success" or "failed"
	KsPayID           string
	ProviderPaymentID string
}

// ParseRedirect reads the redirect query.
func ParseRedirect(q url.Values) (Redirect, error) {
	r := Redirect{PaymentStatus: q.Get(paramPaymentStatus), KsPayID: q.Get(paramKsPayID), ProviderPaymentID: q.Get(paramProviderPaymentID)}
	if r.PaymentStatus != "success" && r.PaymentStatus != "failed" {
		return Redirect{}, errors.New("kspay: redirect: payment_status must be success or failed")
	}
	if !validID(r.KsPayID, prefixTxn) {
		return Redirect{}, errors.New("kspay: redirect: kspay_id is not a transaction id")
	}
	if len(r.ProviderPaymentID) > 64 {
		return Redirect{}, errors.New("kspay: redirect: provider_payment_id too long")
	}
	return r, nil
}

// ---- transport ----

type authMode int

const (
	authNone authMode = iota
	authBearer
	authSignature
	authRefresh
)

type request struct {
	op, method, path string
	query            url.Values
	body             any
	auth             authMode
	refresh          string
	idempotent       bool
}

// do runs rq and decodes the result into out. Idempotent requests are retried
// on transient failures with bounded doubling backoff. Any request whose token
// or signature the provider refused as expired or unknown is sent once more
// with fresh credentials: the refusal means nothing was done.
func (c *Client) do(ctx context.Context, rq request, out any) (int, error) {
	var payload []byte
	if rq.body != nil {
		var err error
		if payload, err = json.Marshal(rq.body); err != nil {
			return 0, &Error{Op: rq.op, Marker: MarkerClient, kind: providers.ErrRejected, err: err}
		}
	}
	attempts := 1
	if rq.idempotent {
		attempts += c.cfg.ReadRetries
	}
	pause := c.cfg.RetryBackoff
	renewed := false
	for i := 0; ; {
		status, used, err := c.once(ctx, rq, payload, out)
		if err == nil {
			return status, nil
		}
		var e *Error
		if !renewed && errors.As(err, &e) && e.HasCode && c.renew(rq.auth, used, e) {
			renewed = true
			continue
		}
		i++
		if !rq.idempotent || i >= attempts || !errors.Is(err, providers.ErrTransient) || ctx.Err() != nil {
			return status, err
		}
		wait := pause
		if errors.As(err, &e) && e.retryAfter > wait {
			wait = e.retryAfter
		}
		wait = min(wait, c.cfg.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return status, err
		case <-t.C:
		}
		pause *= 2
	}
}

// renew drops the credential the provider refused and reports whether a
// fresh one is worth a second try.
func (c *Client) renew(mode authMode, used string, e *Error) bool {
	switch {
	case mode == authBearer && e.Code == defTokenExpired.Code:
		c.dropToken(used, false)
		return true
	case mode == authBearer && (e.Code == defTokenMissing.Code || e.Code == defUnauthorized.Code):
		c.dropToken(used, true)
		return true
	case mode == authSignature && e.HTTPStatus != http.StatusTooManyRequests &&
		(e.Code == defSigExpired.Code || e.Code == defSigFormat.Code):
		c.dropSignature(used)
		return true
	}
	return false
}

// once is one HTTP exchange; used is the token or signature it carried.
func (c *Client) once(ctx context.Context, rq request, payload []byte, out any) (int, string, error) {
	unknown := providers.ErrOutcomeUnknown
	if rq.idempotent {
		unknown = providers.ErrTransient
	}
	var cred string
	var err error
	switch rq.auth {
	case authBearer:
		cred, err = c.bearer(ctx)
	case authSignature:
		cred, err = c.signature(ctx)
	case authRefresh:
		cred = rq.refresh
	}
	if err != nil {
		// Nothing of ours was sent: the credential could not be had. The
		// credential call's own error says why (it is a read, so it never
		// claims an unknown outcome).
		var ce *Error
		if errors.As(err, &ce) {
			return 0, "", err
		}
		return 0, "", &Error{Op: rq.op, Marker: MarkerClient, Message: "no credential", kind: notSentKind(err), err: err}
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := c.base + rq.path
	if len(rq.query) > 0 {
		u += "?" + rq.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hreq, err := http.NewRequestWithContext(actx, rq.method, u, body)
	if err != nil {
		return 0, cred, &Error{Op: rq.op, Marker: MarkerClient, kind: providers.ErrRejected, err: err}
	}
	hreq.Header.Set("Accept", "application/json")
	if payload != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	switch rq.auth {
	case authBearer:
		hreq.Header.Set("Authorization", "Bearer "+cred)
	case authSignature:
		hreq.Header.Set(headerSignature, cred)
	case authRefresh:
		hreq.Header.Set("Authorization", cred)
	}
	res, err := c.hc.Do(hreq)
	if err != nil {
		kind := unknown
		if notSent(err) {
			kind = providers.ErrTransient
		}
		return 0, cred, &Error{Op: rq.op, Marker: MarkerTransport, kind: kind, err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return res.StatusCode, cred, &Error{Op: rq.op, Marker: MarkerTransport, HTTPStatus: res.StatusCode, kind: unknown, err: err}
	}
	env, derr := decodeEnvelope(raw)
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if derr == nil && len(env.Result) > 0 {
			if out == nil {
				return res.StatusCode, cred, nil
			}
			if derr = decodeResult(env.Result, out); derr == nil {
				return res.StatusCode, cred, nil
			}
		}
		if derr == nil {
			derr = errors.New("no result")
		}
		return res.StatusCode, cred, &Error{Op: rq.op, Marker: MarkerMalformed, HTTPStatus: res.StatusCode, kind: unknown, err: derr}
	}
	if derr == nil && env.Code != nil {
		msg := env.message()
		e := &Error{Op: rq.op, Code: *env.Code, HasCode: true, HTTPStatus: res.StatusCode, Message: msg,
			kind: classify(rq.op, res.StatusCode, *env.Code, msg, rq.idempotent)}
		e.retryAfter = retryAfter(res.Header.Get("Retry-After"))
		return res.StatusCode, cred, e
	}
	// No envelope: a proxy, a load balancer or a framework page.
	kind := unknown
	switch {
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable:
		kind = providers.ErrTransient
	case res.StatusCode >= 400 && res.StatusCode < 500:
		kind = providers.ErrRejected
	}
	e := &Error{Op: rq.op, Marker: MarkerHTTP, HTTPStatus: res.StatusCode, Message: http.StatusText(res.StatusCode), kind: kind}
	e.retryAfter = retryAfter(res.Header.Get("Retry-After"))
	return res.StatusCode, cred, e
}

func decodeResult(raw json.RawMessage, out any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(out)
}

func retryAfter(h string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n > 0 && n < 3600 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// notSentKind is the sentinel for a request that never left because its
// credential could not be had: the credential call's own verdict, but never
// "outcome unknown" — nothing of ours was sent.
func notSentKind(err error) error {
	switch {
	case errors.Is(err, providers.ErrAuth):
		return providers.ErrAuth
	case errors.Is(err, providers.ErrRejected):
		return providers.ErrRejected
	}
	return providers.ErrTransient
}

// notSent reports whether err happened before the request left.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
