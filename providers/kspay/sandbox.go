package kspay

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
)

// App is one application registered in the sandbox's console, with the key
// pair generated for it.
type App struct {
	ID        string
	Name      string
	UserID    string
	AccessKey string
	SecretKey string
	Enabled   bool
	CreatedAt time.Time
	// AllowedOrigins, when set, are the only browser origins accepted
	// (others: 13007). Server-to-server calls carry no Origin and pass.
	AllowedOrigins []string
	// The gateway KS Pay routes this app's payments to.
	GatewayConfigID string
	Gateway         string
	GatewayKey      string
}

// Demo identities. The app id, user id, currency and payment-method ids are
// the seed's own examples.
const (
	DemoAppID     = "ap_rtk2WdyQR"
	DemoUserID    = "us_M6jVa85Zb"
	DemoAccessKey = "KSAK-7Q2M9XK4PD3LZ8WN"
	DemoSecretKey = "KSSK-c1b7e4f09a2d4e6f8b3a5c7d9e1f2a4b"
	OtherAppID    = "ap_0therApp1"
	OtherAccess   = "KSAK-OTHER0000000001"
	OtherSecret   = "KSSK-other-secret-0001"
	DisabledAppID = "ap_Dis4bled1"

	CurrencyINR = "c_WkmEe23LeI"
	CurrencyUSD = "c_JdzYuwqF6O"
	CurrencyEUR = "c_2xqOlqufc3" // disabled by the administration

	PMNetBanking = "pm_Mk55VGvFm"
	PMDebitCard  = "pm_QtgkfiiWb"
	PMUPI        = "pm_5LR93Agwv"
	PMCreditCard = "pm_67NoP7JaQ"
	PMWallet     = "pm_W4llet00X" // inactive
	PMCardUSD    = "pm_CardUSD01"
)

// DemoApps are the apps a sandbox starts with: the demo app, a second app
// (for cross-app checks) and a disabled one.
func DemoApps() []App {
	created := time.Date(2024, 8, 3, 11, 57, 59, 0, time.UTC)
	return []App{
		{ID: DemoAppID, Name: "Paydesk demo", UserID: DemoUserID, AccessKey: DemoAccessKey, SecretKey: DemoSecretKey,
			Enabled: true, CreatedAt: created, AllowedOrigins: []string{"https://paydesk.example"},
			GatewayConfigID: "gc_RzpDemo01", Gateway: "RAZORPAY", GatewayKey: "rzp_test_1DP5mmOlF5G5ag"},
		{ID: OtherAppID, Name: "Another merchant", UserID: "us_Other0001", AccessKey: OtherAccess, SecretKey: OtherSecret,
			Enabled: true, CreatedAt: created, GatewayConfigID: "gc_RzpOther1", Gateway: "RAZORPAY", GatewayKey: "rzp_test_other"},
		{ID: DisabledAppID, Name: "Disabled app", UserID: "us_Disabled1", AccessKey: "KSAK-DISABLED0000001", SecretKey: "KSSK-disabled",
			Enabled: false, CreatedAt: created, GatewayConfigID: "gc_RzpDisab1", Gateway: "RAZORPAY", GatewayKey: "rzp_test_disabled"},
	}
}

// DemoConfig returns a client configuration for the sandbox's demo app
// served at baseURL.
func DemoConfig(baseURL string) Config {
	return Config{BaseURL: baseURL, AppID: DemoAppID, AccessKey: DemoAccessKey, SecretKey: DemoSecretKey}
}

type currency struct {
	Currency
	methods []PaymentMethod
}

func demoCurrencies() []currency {
	created := "2024-08-03T11:57:59.647Z"
	return []currency{
		{Currency{ID: CurrencyINR, Name: "Rupees", Code: "INR", Symbol: "Rs", Type: "FIAT", UserID: DemoUserID, IsActive: true, CreatedAt: created},
			[]PaymentMethod{{PMNetBanking, "NET BANKING", true}, {PMDebitCard, "DEBIT CARD", true}, {PMUPI, "UPI", true}, {PMCreditCard, "CREDIT CARD", true}, {PMWallet, "WALLET", false}}},
		{Currency{ID: CurrencyUSD, Name: "US Dollar", Code: "USD", Symbol: "$", Type: "FIAT", UserID: DemoUserID, IsActive: true, CreatedAt: created},
			[]PaymentMethod{{PMCardUSD, "CARD", true}}},
		{Currency{ID: CurrencyEUR, Name: "Euro", Code: "EUR", Symbol: "€", Type: "FIAT", UserID: DemoUserID, IsActive: false, CreatedAt: created},
			nil},
	}
}

// SandboxConfig tunes the sandbox. Zero values give the demo setup.
type SandboxConfig struct {
	// Now is the sandbox's clock (default time.Now).
	Now func() time.Time
	// Token and signature lifetimes (defaults 15 min, 7 days, 5 min).
	AccessTTL    time.Duration
	RefreshTTL   time.Duration
	SignatureTTL time.Duration
	// TxnTTL: a transaction nobody paid within this is EXPIRED (default 30 min).
	TxnTTL time.Duration
	// RateLimit is requests per second per app before 11005/429 (0: off).
	RateLimit int
	// Apps replaces the demo apps.
	Apps []App
	// Seed makes generated ids deterministic.
	Seed uint64
}

// Stats counts the sandbox's auth work, for tests.
type Stats struct {
	TokensGenerated   int
	Refreshes         int
	SignaturesIssued  int
	InitiateReplays   int
	Throttled         int
	TransactionsTotal int
}

type txn struct {
	id, appID, reference               string
	currencyID, currencyCode           string
	methodID, methodName               string
	gatewayConfigID                    string
	providerOrderID, providerPaymentID string
	amountPaise                        int64
	redirectURL                        string
	status, providerStatus             string
	createdAt, updatedAt               time.Time
}

// Sandbox is an in-memory KS Pay.
type Sandbox struct {
	sandboxkit.Base // its Ledger records each paid transaction once
	cfg             SandboxConfig
	now             func() time.Time
	secret          []byte

	mu         sync.Mutex
	rng        *rand.Rand
	apps       map[string]*App
	byKey      map[string]*App
	currencies []currency
	refresh    map[string]time.Time // live refresh-token jti → expiry
	txns       map[string]*txn
	byRef      map[string]*txn // appID + "\x00" + referenceNumber
	order      []*txn
	window     map[string]*rateWindow
	stats      Stats
}

type rateWindow struct {
	start time.Time
	n     int
}

var _ sandboxkit.Sandbox = (*Sandbox)(nil)

// NewSandbox returns a sandbox with the configured (or demo) apps and the
// seeded currencies and payment methods.
func NewSandbox(cfg SandboxConfig) *Sandbox {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = defaultAccessTTL
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = defaultRefreshTTL
	}
	if cfg.SignatureTTL <= 0 {
		cfg.SignatureTTL = defaultSignatureTTL
	}
	if cfg.TxnTTL <= 0 {
		cfg.TxnTTL = 30 * time.Minute
	}
	if cfg.Apps == nil {
		cfg.Apps = DemoApps()
	}
	s := &Sandbox{
		Base: sandboxkit.NewBase(Name), cfg: cfg, now: cfg.Now,
		rng:  rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x6b73706179)),
		apps: map[string]*App{}, byKey: map[string]*App{},
		currencies: demoCurrencies(),
		refresh:    map[string]time.Time{},
		txns:       map[string]*txn{}, byRef: map[string]*txn{},
		window: map[string]*rateWindow{},
	}
	s.secret = []byte("kspay-sandbox-jwt-" + s.randomAlnum(32))
	for i := range cfg.Apps {
		a := cfg.Apps[i]
		s.apps[a.ID] = &a
		s.byKey[a.AccessKey] = &a
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/generate-token/{appId}", s.handleGenerateToken)
	mux.HandleFunc("POST /auth/generate-signature/{appId}", s.handleGenerateSignature)
	mux.HandleFunc("POST "+pathRefreshToken, s.handleRefresh)
	mux.HandleFunc("GET "+pathCurrencies, s.handleCurrencies)
	mux.HandleFunc("GET /{currencyId}"+pathPaymentMethods, s.handlePaymentMethods)
	mux.HandleFunc("POST "+pathInitiate, s.handleInitiate)
	mux.HandleFunc("POST "+pathProcess, s.handleProcess)
	mux.HandleFunc("GET /transaction/txnId/{txnId}", s.handleTxnByID)
	mux.HandleFunc("GET "+pathTransactions, s.handleTransactions)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, defNotFoundURL, "Cannot "+r.Method+" "+r.URL.Path)
	})
	// The control surface: the shared /faults and /ledger, plus
	//
	//	GET  /transactions           every transaction
	//	POST /transactions/{id}/pay  the payer finishes at the gateway:
	//	                             {"outcome":"success"|"failed"} (default success);
	//	                             answers the transaction and the redirect URL
	// The gateway's hosted checkout, where the payer pays (decisions.go).
	mux.HandleFunc("GET "+pathCheckout+"{txnId}", s.handleCheckoutPage)
	mux.HandleFunc("POST "+pathCheckout+"{txnId}", s.handleCheckoutPay)
	ctl := s.Attach(mux)
	ctl.HandleFunc("GET /transactions", s.handleCtlList)
	ctl.HandleFunc("POST /transactions/{id}/pay", s.handleCtlPay)
	return s
}

// Stats returns the sandbox's counters.
func (s *Sandbox) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.TransactionsTotal = len(s.txns)
	return st
}

// Transactions returns every transaction, oldest first, brought up to date.
func (s *Sandbox) Transactions() []Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]Transaction, 0, len(s.order))
	for _, t := range s.order {
		s.advance(t, now)
		out = append(out, t.wire())
	}
	return out
}

// PayResult is what the payer's completion produced.
type PayResult struct {
	Transaction Transaction `json:"transaction"`
	RedirectURL string      `json:"redirectUrl,omitempty"`
}

var (
	errTxnUnknown = errors.New("no such transaction")
	errTxnNotOpen = errors.New("transaction is not pending")
)

// Pay completes a PENDING transaction at the gateway: success makes it PAID
// (and records the execution), anything else FAILED. A transaction is paid at
// most once.
func (s *Sandbox) Pay(id string, success bool) (PayResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txns[id]
	if !ok {
		return PayResult{}, errTxnUnknown
	}
	now := s.now()
	s.advance(t, now)
	if t.status != StatusPending {
		return PayResult{Transaction: t.wire()}, errTxnNotOpen
	}
	t.providerPaymentID = "pay_" + s.randomAlnum(14)
	t.updatedAt = now
	outcome := "failed"
	if success {
		outcome = "success"
		t.status, t.providerStatus = StatusPaid, "captured"
		s.Ledger().Record(sandboxkit.Execution{
			Provider: "kspay", Ref: t.reference, AmountPaise: t.amountPaise, Account: t.appID,
			Rail: t.methodName, UTR: t.providerPaymentID, At: now,
		})
	} else {
		t.status, t.providerStatus = StatusFailed, "failed"
	}
	res := PayResult{Transaction: t.wire()}
	if t.redirectURL != "" {
		res.RedirectURL = redirectWith(t.redirectURL, outcome, t.id, t.providerPaymentID)
	}
	return res, nil
}

// redirectWith adds the seed's three parameters to the merchant's URL,
// keeping any query it already has.
func redirectWith(base, status, id, paymentID string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	q.Set(paramPaymentStatus, status)
	q.Set(paramKsPayID, id)
	q.Set(paramProviderPaymentID, paymentID)
	u.RawQuery = q.Encode()
	return u.String()
}

// advance applies time: a PENDING transaction older than TxnTTL expires.
// Callers hold s.mu.
func (s *Sandbox) advance(t *txn, now time.Time) {
	if t.status == StatusPending && !now.Before(t.createdAt.Add(s.cfg.TxnTTL)) {
		t.status, t.providerStatus = StatusExpired, "expired"
		t.updatedAt = t.createdAt.Add(s.cfg.TxnTTL)
	}
}

func (t *txn) wire() Transaction {
	return Transaction{
		ID: t.id, ProviderOrderID: t.providerOrderID, ProviderPaymentID: t.providerPaymentID,
		CurrencyID: t.currencyID, AppID: t.appID, ReferenceNumber: t.reference, PaymentMethodID: t.methodID,
		GatewayConfigID: t.gatewayConfigID, Amount: providers.FormatAmount(t.amountPaise), CurrencyCode: t.currencyCode,
		Status: t.status, ProviderStatus: t.providerStatus, IsPaid: t.status == StatusPaid, RedirectURL: t.redirectURL,
		CreatedAt: isoTime(t.createdAt), UpdatedAt: isoTime(t.updatedAt),
	}
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomAlnum draws n alphanumerics; callers hold s.mu (or are NewSandbox).
func (s *Sandbox) randomAlnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[s.rng.IntN(len(alnum))]
	}
	return string(b)
}

func (s *Sandbox) newID(prefix string) string {
	return prefix + s.randomAlnum(idLength-len(prefix))
}

// ---- answers ----

func ok(w http.ResponseWriter, status int, result any) {
	sandboxkit.WriteJSON(w, status, map[string]any{"status": status, "message": "success", "result": result})
}

// fail answers with a row of the error table; msg replaces the row's fixed
// text for the rows that take a parameter.
func fail(w http.ResponseWriter, d Def, msg string) {
	if msg == "" {
		msg = d.Message
	}
	if d.HTTP == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	sandboxkit.WriteJSON(w, d.HTTP, map[string]any{"status": d.HTTP, "message": msg, "code": d.Code})
}

// ---- auth ----

// readJSON decodes the body into dst (unknown keys are ignored, as the
// provider's validation pipe does). It answers 25 itself on failure.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<16))
	if err == nil {
		err = parseJSON(body, dst)
	}
	if err != nil {
		fail(w, defInvalidRequest, "")
		return false
	}
	return true
}

func parseJSON(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

// admit applies the per-app checks every authenticated call shares: enabled,
// origin, rate. Callers do not hold s.mu.
func (s *Sandbox) admit(w http.ResponseWriter, r *http.Request, a *App) bool {
	if !a.Enabled {
		fail(w, defAppDisabled, "")
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && len(a.AllowedOrigins) > 0 {
		allowed := false
		for _, ao := range a.AllowedOrigins {
			allowed = allowed || ao == o
		}
		if !allowed {
			fail(w, defInvalidOrigin, "")
			return false
		}
	}
	if s.cfg.RateLimit > 0 {
		s.mu.Lock()
		now := s.now()
		win := s.window[a.ID]
		if win == nil || now.Sub(win.start) >= time.Second || now.Before(win.start) {
			win = &rateWindow{start: now}
			s.window[a.ID] = win
		}
		win.n++
		over := win.n > s.cfg.RateLimit
		if over {
			s.stats.Throttled++
		}
		s.mu.Unlock()
		if over {
			fail(w, defTooMany, "")
			return false
		}
	}
	return true
}

// credentials checks a generate-token / generate-signature request.
func (s *Sandbox) credentials(w http.ResponseWriter, r *http.Request) *App {
	appID := r.PathValue("appId")
	if !validID(appID, prefixApp) {
		fail(w, defInvalidNanoid, msgInvalidNanoid(prefixApp))
		return nil
	}
	var body credentialsBody
	if !readJSON(w, r, &body) {
		return nil
	}
	if body.AccessKey == "" {
		fail(w, defInvalidID, msgInvalidID("accessKey"))
		return nil
	}
	if body.SecretKey == "" {
		fail(w, defInvalidID, msgInvalidID("secretKey"))
		return nil
	}
	s.mu.Lock()
	app, cred := s.apps[appID], s.byKey[body.AccessKey]
	s.mu.Unlock()
	switch {
	case app == nil:
		fail(w, defAppNotFound, "")
	case cred == nil:
		fail(w, defCredsNotFound, "")
	case cred.ID != app.ID:
		fail(w, defAccessKeyMismatch, "")
	case subtle.ConstantTimeCompare([]byte(cred.SecretKey), []byte(body.SecretKey)) != 1:
		fail(w, defBadSecret, "")
	default:
		if s.admit(w, r, app) {
			return app
		}
	}
	return nil
}

func (s *Sandbox) issuePair(app *App) TokenPair {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ajti, rjti := s.randomAlnum(16), s.randomAlnum(16)
	rexp := now.Add(s.cfg.RefreshTTL)
	s.refresh[rjti] = rexp
	return TokenPair{
		AccessToken:  signJWT(s.secret, claims{Sub: app.ID, Typ: "access", Jti: ajti, Iat: now.Unix(), Exp: now.Add(s.cfg.AccessTTL).Unix()}),
		RefreshToken: signJWT(s.secret, claims{Sub: app.ID, Typ: "refresh", Jti: rjti, Iat: now.Unix(), Exp: rexp.Unix()}),
	}
}

func (s *Sandbox) handleGenerateToken(w http.ResponseWriter, r *http.Request) {
	app := s.credentials(w, r)
	if app == nil {
		return
	}
	p := s.issuePair(app)
	s.mu.Lock()
	s.stats.TokensGenerated++
	s.mu.Unlock()
	ok(w, http.StatusCreated, p)
}

func (s *Sandbox) handleGenerateSignature(w http.ResponseWriter, r *http.Request) {
	app := s.credentials(w, r)
	if app == nil {
		return
	}
	s.mu.Lock()
	s.stats.SignaturesIssued++
	now := s.now()
	s.mu.Unlock()
	ok(w, http.StatusCreated, SignatureFor(app.ID, app.SecretKey, now))
}

func (s *Sandbox) handleRefresh(w http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get("Authorization")
	if tok == "" {
		fail(w, defTokenMissing, "")
		return
	}
	c, err := verifyJWT(s.secret, tok)
	if err != nil || c.Typ != "refresh" {
		fail(w, defRefreshInvalid, "")
		return
	}
	s.mu.Lock()
	now := s.now()
	exp, live := s.refresh[c.Jti]
	app := s.apps[c.Sub]
	switch {
	case !now.Before(time.Unix(c.Exp, 0)) || (live && !now.Before(exp)):
		delete(s.refresh, c.Jti)
		s.mu.Unlock()
		fail(w, defRefreshExpired, "")
		return
	case !live || app == nil:
		s.mu.Unlock()
		fail(w, defRefreshInvalid, "")
		return
	}
	// Spent on first use: the old refresh token is refused from now on.
	delete(s.refresh, c.Jti)
	s.stats.Refreshes++
	s.mu.Unlock()
	if !s.admit(w, r, app) {
		return
	}
	ok(w, http.StatusCreated, s.issuePair(app))
}

// bearer authenticates Authorization: Bearer <access token>.
func (s *Sandbox) bearer(w http.ResponseWriter, r *http.Request) *App {
	h := r.Header.Get("Authorization")
	tok, found := strings.CutPrefix(h, "Bearer ")
	if !found || tok == "" {
		fail(w, defTokenMissing, "")
		return nil
	}
	c, err := verifyJWT(s.secret, tok)
	if err != nil || c.Typ != "access" {
		fail(w, defTokenMissing, "")
		return nil
	}
	if !s.now().Before(time.Unix(c.Exp, 0)) {
		fail(w, defTokenExpired, "")
		return nil
	}
	s.mu.Lock()
	app := s.apps[c.Sub]
	s.mu.Unlock()
	if app == nil {
		fail(w, defUnauthorized, "")
		return nil
	}
	if !s.admit(w, r, app) {
		return nil
	}
	return app
}

// signed authenticates x-signature; bearerToo lets a Bearer token stand in
// when no signature is sent (initiate only).
func (s *Sandbox) signed(w http.ResponseWriter, r *http.Request, bearerToo bool) *App {
	sig := r.Header.Get(headerSignature)
	if sig == "" {
		if bearerToo && r.Header.Get("Authorization") != "" {
			return s.bearer(w, r)
		}
		fail(w, defTokenMissing, "")
		return nil
	}
	p, err := parseSignature(sig)
	if err != nil {
		fail(w, defSigFormat, "")
		return nil
	}
	s.mu.Lock()
	app := s.apps[p.AppID]
	s.mu.Unlock()
	if app == nil {
		fail(w, defAppNotFound, "")
		return nil
	}
	if !p.verify(app.SecretKey) {
		fail(w, defUnauthorized, "")
		return nil
	}
	now := s.now()
	if !now.Before(p.At.Add(s.cfg.SignatureTTL)) || p.At.After(now.Add(signatureSkew)) {
		fail(w, defSigExpired, "")
		return nil
	}
	if !s.admit(w, r, app) {
		return nil
	}
	return app
}

// ---- catalogue ----

func (s *Sandbox) handleCurrencies(w http.ResponseWriter, r *http.Request) {
	if s.bearer(w, r) == nil {
		return
	}
	out := make([]Currency, 0, len(s.currencies))
	for _, c := range s.currencies {
		out = append(out, c.Currency)
	}
	ok(w, http.StatusOK, out)
}

func (s *Sandbox) findCurrency(id string) *currency {
	for i := range s.currencies {
		if s.currencies[i].ID == id {
			return &s.currencies[i]
		}
	}
	return nil
}

func (s *Sandbox) handlePaymentMethods(w http.ResponseWriter, r *http.Request) {
	if s.bearer(w, r) == nil {
		return
	}
	id := r.PathValue("currencyId")
	if !validID(id, prefixCurrency) {
		fail(w, defInvalidNanoid, msgInvalidNanoid(prefixCurrency))
		return
	}
	c := s.findCurrency(id)
	if c == nil || !c.IsActive {
		fail(w, defBadCurrency, "")
		return
	}
	ok(w, http.StatusOK, append([]PaymentMethod{}, c.methods...))
}

// ---- transactions ----

// initiateWire is the initiate body as the sandbox reads it: the amount raw,
// so that its literal digits can be checked.
type initiateWire struct {
	CurrencyID      string          `json:"currencyId"`
	PaymentMethodID string          `json:"paymentMethodId"`
	Amount          json.RawMessage `json:"amount"`
	ReferenceNumber string          `json:"referenceNumber"`
	AppID           string          `json:"appId"`
	RedirectURL     string          `json:"redirectUrl"`
}

// parseAmount reads a JSON number into paise the way the provider's
// validator sees it: trailing zeros are not decimals, more than two real
// decimals is -19, anything not a positive plain number is 25.
func parseAmount(raw json.RawMessage) (int64, Def, string) {
	lit := strings.TrimSpace(string(raw))
	if lit == "" || lit == "null" {
		return 0, defInvalidID, msgInvalidID("amount")
	}
	if lit[0] != '-' && (lit[0] < '0' || lit[0] > '9') {
		return 0, defInvalidRequest, ""
	}
	if !json.Valid([]byte(lit)) {
		return 0, defInvalidRequest, ""
	}
	if whole, frac, found := strings.Cut(lit, "."); found {
		frac = strings.TrimRight(frac, "0")
		lit = whole
		if frac != "" {
			lit += "." + frac
		}
	}
	paise, err := providers.ParseAmount(lit)
	switch {
	case errors.Is(err, providers.ErrAmountPrecision):
		return 0, defDecimal, msgDecimal(2)
	case err != nil || paise <= 0 || paise > maxAmountPaise:
		return 0, defInvalidRequest, ""
	}
	return paise, Def{}, ""
}

func (s *Sandbox) handleInitiate(w http.ResponseWriter, r *http.Request) {
	app := s.signed(w, r, true)
	if app == nil {
		return
	}
	var b initiateWire
	if !readJSON(w, r, &b) {
		return
	}
	for _, f := range []struct{ name, v string }{{"currencyId", b.CurrencyID}, {"paymentMethodId", b.PaymentMethodID}, {"amount", string(b.Amount)}, {"referenceNumber", b.ReferenceNumber}} {
		if f.v == "" || f.v == "null" {
			fail(w, defInvalidID, msgInvalidID(f.name))
			return
		}
	}
	switch {
	case !validID(b.CurrencyID, prefixCurrency):
		fail(w, defInvalidNanoid, msgInvalidNanoid(prefixCurrency))
		return
	case !validID(b.PaymentMethodID, prefixPaymentMethod):
		fail(w, defInvalidNanoid, msgInvalidNanoid(prefixPaymentMethod))
		return
	case b.AppID != "" && !validID(b.AppID, prefixApp):
		fail(w, defInvalidNanoid, msgInvalidNanoid(prefixApp))
		return
	case b.AppID != "" && b.AppID != app.ID:
		fail(w, defUserNotInApp, "")
		return
	}
	paise, d, msg := parseAmount(b.Amount)
	if d.Code != 0 {
		fail(w, d, msg)
		return
	}
	if !reReference.MatchString(b.ReferenceNumber) {
		fail(w, defInvalidNanoid, "referenceNumber must be 1-40 letters, digits, '-' or '_'")
		return
	}
	if b.RedirectURL != "" {
		u, err := url.Parse(b.RedirectURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(b.RedirectURL) > 2048 {
			fail(w, defInvalidNanoid, "redirectUrl must be an absolute http(s) URL")
			return
		}
	}
	c := s.findCurrency(b.CurrencyID)
	if c == nil || !c.IsActive {
		fail(w, defBadCurrency, "")
		return
	}
	var method *PaymentMethod
	for i := range c.methods {
		if c.methods[i].ID == b.PaymentMethodID && c.methods[i].IsActive {
			method = &c.methods[i]
		}
	}
	if method == nil {
		fail(w, defBadPaymentMethods, msgBadPaymentMethods([]string{b.PaymentMethodID}))
		return
	}

	s.mu.Lock()
	now := s.now()
	key := app.ID + "\x00" + b.ReferenceNumber
	if t, dup := s.byRef[key]; dup {
		if t.currencyID != b.CurrencyID || t.methodID != b.PaymentMethodID || t.amountPaise != paise {
			s.mu.Unlock()
			fail(w, defInvalidNanoid, msgReferenceUsed+" by transaction "+t.id)
			return
		}
		s.stats.InitiateReplays++
		res := initiateAnswer(t)
		s.mu.Unlock()
		ok(w, http.StatusOK, res)
		return
	}
	t := &txn{
		id: s.newID(prefixTxn), appID: app.ID, reference: b.ReferenceNumber,
		currencyID: c.ID, currencyCode: c.Code, methodID: method.ID, methodName: method.Name,
		gatewayConfigID: app.GatewayConfigID, providerOrderID: "order_" + s.randomAlnum(14),
		amountPaise: paise, redirectURL: b.RedirectURL,
		status: StatusPending, providerStatus: "created", createdAt: now, updatedAt: now,
	}
	for s.txns[t.id] != nil {
		t.id = s.newID(prefixTxn)
	}
	s.txns[t.id] = t
	s.byRef[key] = t
	s.order = append(s.order, t)
	res := initiateAnswer(t)
	s.mu.Unlock()
	ok(w, http.StatusCreated, res)
}

// initiateAnswer writes the amount as the provider's JavaScript would: a
// number without trailing zeros (2, 345.5, 345.67).
func initiateAnswer(t *txn) initiateResult {
	a := strings.TrimSuffix(strings.TrimRight(providers.FormatAmount(t.amountPaise), "0"), ".")
	return initiateResult{TxnID: t.id, ProviderOrderID: t.providerOrderID, Amount: json.Number(a), Currency: t.currencyCode}
}

// processWire accepts both names for the transaction id.
type processWire struct {
	PeTxnID string `json:"pe_txnId"`
	TxnID   string `json:"txnId"`
}

func (s *Sandbox) handleProcess(w http.ResponseWriter, r *http.Request) {
	app := s.signed(w, r, false)
	if app == nil {
		return
	}
	var b processWire
	if !readJSON(w, r, &b) {
		return
	}
	id := b.PeTxnID
	if id == "" {
		id = b.TxnID
	}
	t := s.ownTxn(w, app, id, "pe_txnId")
	if t == nil {
		return
	}
	s.mu.Lock()
	s.advance(t, s.now())
	if t.status != StatusPending {
		s.mu.Unlock()
		fail(w, defInvalidRequest, "")
		return
	}
	t.providerStatus = "attempted"
	t.updatedAt = s.now()
	o := Order{
		TxnID: t.id, ProviderOrderID: t.providerOrderID, Gateway: app.Gateway, GatewayConfigID: t.gatewayConfigID,
		Key: app.GatewayKey, AmountMinor: t.amountPaise, Currency: t.currencyCode, ReferenceNumber: t.reference,
		RedirectURL: t.redirectURL, Status: t.providerStatus, CheckoutURL: checkoutURL(r, t.id),
	}
	if t.methodID == PMUPI {
		o.UPIIntent = upiIntent(app, t)
	}
	s.mu.Unlock()
	ok(w, http.StatusCreated, o)
}

// ownTxn finds id among app's transactions, answering -9, -17, 24 or 23.
func (s *Sandbox) ownTxn(w http.ResponseWriter, app *App, id, field string) *txn {
	if id == "" {
		fail(w, defInvalidID, msgInvalidID(field))
		return nil
	}
	if !validID(id, prefixTxn) {
		fail(w, defInvalidNanoid, msgInvalidNanoid(prefixTxn))
		return nil
	}
	s.mu.Lock()
	t := s.txns[id]
	s.mu.Unlock()
	if t == nil {
		fail(w, defNoData, "")
		return nil
	}
	if t.appID != app.ID {
		fail(w, defNoAccess, "")
		return nil
	}
	return t
}

func (s *Sandbox) handleTxnByID(w http.ResponseWriter, r *http.Request) {
	app := s.bearer(w, r)
	if app == nil {
		return
	}
	t := s.ownTxn(w, app, r.PathValue("txnId"), "txnId")
	if t == nil {
		return
	}
	s.mu.Lock()
	s.advance(t, s.now())
	out := t.wire()
	s.mu.Unlock()
	ok(w, http.StatusOK, out)
}

// listQuery is GET /transaction's query, checked.
type listQuery struct {
	page, limit int
	from, to    time.Time // [from, to) in IST; zero: no date filter
	reference   string
	status      string
}

// parseListQuery applies the decided rules in a fixed order; the Def is the
// refusal, zero when the query is good.
func parseListQuery(q url.Values, appCreated, now time.Time) (listQuery, Def) {
	lq := listQuery{page: 1, limit: defaultPageLimit, reference: q.Get("referenceNumber"), status: q.Get("status")}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return lq, defInvalidRequest
		}
		if n <= 0 {
			return lq, defPageNotPositive
		}
		lq.page = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return lq, defInvalidRequest
		}
		if n <= 0 {
			return lq, defLimitNotPositive
		}
		lq.limit = min(n, maxPageLimit)
	}
	switch lq.status {
	case "", StatusPending, StatusPaid, StatusFailed, StatusExpired:
	default:
		return lq, defInvalidRequest
	}
	if len(lq.reference) > 40 {
		return lq, defInvalidRequest
	}
	sd, ed := q.Get("startDate"), q.Get("endDate")
	if sd == "" && ed == "" {
		return lq, Def{}
	}
	if sd == "" || ed == "" {
		return lq, defBothDates
	}
	start, err1 := time.ParseInLocation(dateLayout, sd, istZone)
	end, err2 := time.ParseInLocation(dateLayout, ed, istZone)
	if err1 != nil || err2 != nil {
		return lq, defInvalidRequest
	}
	y, m, d := now.In(istZone).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, istZone)
	ay, am, ad := appCreated.In(istZone).Date()
	created := time.Date(ay, am, ad, 0, 0, 0, 0, istZone)
	switch {
	case start.After(today):
		return lq, defStartAfterToday
	case end.After(today):
		return lq, defEndAfterToday
	case start.After(end):
		return lq, defDateRange
	case end.Sub(start) > maxDateRangeDays*24*time.Hour:
		return lq, defDatesExceed
	case start.Before(created):
		return lq, defStartBeforeApp
	}
	lq.from, lq.to = start, end.AddDate(0, 0, 1)
	return lq, Def{}
}

func (s *Sandbox) handleTransactions(w http.ResponseWriter, r *http.Request) {
	app := s.bearer(w, r)
	if app == nil {
		return
	}
	lq, d := parseListQuery(r.URL.Query(), app.CreatedAt, s.now())
	if d.Code != 0 {
		fail(w, d, "")
		return
	}
	s.mu.Lock()
	now := s.now()
	var match []Transaction
	for i := len(s.order) - 1; i >= 0; i-- { // newest first
		t := s.order[i]
		if t.appID != app.ID {
			continue
		}
		s.advance(t, now)
		if lq.reference != "" && t.reference != lq.reference || lq.status != "" && t.status != lq.status {
			continue
		}
		if !lq.from.IsZero() && (t.createdAt.Before(lq.from) || !t.createdAt.Before(lq.to)) {
			continue
		}
		match = append(match, t.wire())
	}
	s.mu.Unlock()
	page := TransactionPage{Transactions: []Transaction{}, Total: len(match), Page: lq.page, Limit: lq.limit}
	if lo := (lq.page - 1) * lq.limit; lo < len(match) && lo >= 0 {
		page.Transactions = match[lo:min(lo+lq.limit, len(match))]
	}
	ok(w, http.StatusOK, page)
}

// ---- control ----

func (s *Sandbox) handleCtlList(w http.ResponseWriter, r *http.Request) {
	sandboxkit.WriteJSON(w, http.StatusOK, s.Transactions())
}

func (s *Sandbox) handleCtlPay(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Outcome string `json:"outcome"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&body); err != nil && err != io.EOF {
			sandboxkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
	}
	if body.Outcome != "" && body.Outcome != "success" && body.Outcome != "failed" {
		sandboxkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": `outcome must be "success" or "failed"`})
		return
	}
	res, err := s.Pay(r.PathValue("id"), body.Outcome != "failed")
	switch {
	case errors.Is(err, errTxnUnknown):
		sandboxkit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		sandboxkit.WriteJSON(w, http.StatusConflict, map[string]any{"error": fmt.Sprintf("%v: %s", err, res.Transaction.Status), "transaction": res.Transaction})
	default:
		sandboxkit.WriteJSON(w, http.StatusOK, res)
	}
}

// ---- hosted checkout (decisions.go) ----

// checkoutURL is where the sandbox's hosted checkout of txnID lives, as the
// caller reached the sandbox (the set mounts it under a prefix that
// http.StripPrefix removed from the path but not from RequestURI).
func checkoutURL(r *http.Request, txnID string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	prefix := strings.TrimSuffix(strings.SplitN(r.RequestURI, "?", 2)[0], r.URL.Path)
	return scheme + "://" + r.Host + prefix + pathCheckout + url.PathEscape(txnID)
}

// upiIntent is the UPI deep link a payer's app opens or scans for t.
func upiIntent(app *App, t *txn) string {
	q := url.Values{}
	q.Set("pa", strings.ToLower(app.Gateway)+"."+app.ID+"@kspay")
	q.Set("pn", app.Name)
	q.Set("am", providers.FormatAmount(t.amountPaise))
	q.Set("cu", t.currencyCode)
	q.Set("tr", t.reference)
	return "upi://pay?" + q.Encode()
}

func (s *Sandbox) handleCheckoutPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t := s.txns[r.PathValue("txnId")]
	var wire Transaction
	if t != nil {
		s.advance(t, s.now())
		wire = t.wire()
	}
	s.mu.Unlock()
	if t == nil {
		http.Error(w, "no such transaction", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>KS Pay sandbox checkout</title></head><body>
<h1>KS Pay sandbox checkout</h1>
<p>Transaction <code>%s</code> · reference <code>%s</code> · %s %s · status <strong>%s</strong></p>
<form method="post"><input type="hidden" name="outcome" value="success"><button type="submit">Pay now</button></form>
<form method="post"><input type="hidden" name="outcome" value="failed"><button type="submit">Decline</button></form>
</body></html>`, htmlEscape(wire.ID), htmlEscape(wire.ReferenceNumber), htmlEscape(wire.CurrencyCode), htmlEscape(wire.Amount), htmlEscape(wire.Status))
}

func (s *Sandbox) handleCheckoutPay(w http.ResponseWriter, r *http.Request) {
	res, err := s.Pay(r.PathValue("txnId"), r.FormValue("outcome") != "failed")
	switch {
	case errors.Is(err, errTxnUnknown):
		http.Error(w, "no such transaction", http.StatusNotFound)
	case err != nil:
		http.Error(w, "this transaction is "+res.Transaction.Status+" and cannot be paid", http.StatusConflict)
	case res.RedirectURL != "":
		http.Redirect(w, r, res.RedirectURL, http.StatusSeeOther)
	default:
		fmt.Fprintf(w, "payment %s", htmlEscape(res.Transaction.Status))
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}
