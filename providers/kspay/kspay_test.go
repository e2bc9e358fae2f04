package kspay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
	"paydesk/providers/sandboxkit/sandboxtest"
)

type env struct {
	sb      *Sandbox
	srv     *httptest.Server
	ctl     *httptest.Server
	client  *Client
	adapter *Adapter
	clock   *sandboxtest.Clock // the sandbox's clock; the client shares it unless told otherwise
}

func newEnv(t *testing.T, sc func(*SandboxConfig), cc func(*Config)) *env {
	t.Helper()
	ck := sandboxtest.NewClock(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC))
	scfg := SandboxConfig{Now: ck.Now, Seed: 1}
	if sc != nil {
		sc(&scfg)
	}
	sb := NewSandbox(scfg)
	srv := httptest.NewServer(sb)
	ctl := httptest.NewServer(sb.Control())
	t.Cleanup(srv.Close)
	t.Cleanup(ctl.Close)
	cfg := DemoConfig(srv.URL)
	cfg.Now = ck.Now
	cfg.RetryBackoff = time.Millisecond
	if cc != nil {
		cc(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sb: sb, srv: srv, ctl: ctl, client: c, adapter: NewAdapter(c), clock: ck}
}

func wantCode(t *testing.T, err error, code int, sentinel error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !e.HasCode {
		t.Fatalf("want provider code %d, got %v", code, err)
	}
	if e.Code != code {
		t.Fatalf("want code %d, got %d (%v)", code, e.Code, err)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("%v does not wrap %v", err, sentinel)
	}
	if !strings.HasPrefix(err.Error(), "kspay: ") {
		t.Fatalf("error not prefixed: %q", err)
	}
	return e
}

// raw sends a request without the client and decodes the envelope.
func raw(t *testing.T, method, u string, hdr map[string]string, body string) (int, *envelope) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u, rd)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	env, err := decodeEnvelope(b)
	if err != nil {
		t.Fatalf("%s %s: %v: %s", method, u, err, b)
	}
	return res.StatusCode, env
}

func wantEnvCode(t *testing.T, status int, env *envelope, httpStatus, code int, msg string) {
	t.Helper()
	if status != httpStatus || env.Code == nil || *env.Code != code || (msg != "" && env.message() != msg) {
		c := "nil"
		if env.Code != nil {
			c = fmt.Sprint(*env.Code)
		}
		t.Fatalf("want %d/%d %q, got %d/%s %q", httpStatus, code, msg, status, c, env.message())
	}
}

func initiate(t *testing.T, e *env, ref string, paise int64) InitiateResult {
	t.Helper()
	r, err := e.client.InitiateTransaction(context.Background(), InitiateParams{
		CurrencyID: CurrencyINR, PaymentMethodID: PMUPI, AmountPaise: paise, ReferenceNumber: ref,
		RedirectURL: "https://paydesk.example/return?order=" + ref,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoundTripEveryCall(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()

	pair, err := e.client.GenerateToken(ctx)
	if err != nil || pair.AccessToken == "" || pair.RefreshToken == "" {
		t.Fatalf("%+v %v", pair, err)
	}
	if exp, ok := tokenExpiry(pair.AccessToken); !ok || !exp.Equal(e.clock.Now().Add(defaultAccessTTL).Truncate(time.Second)) {
		t.Fatalf("access exp %v %v", exp, ok)
	}
	sig, err := e.client.GenerateSignature(ctx)
	if err != nil || sig != SignatureFor(DemoAppID, DemoSecretKey, e.clock.Now()) {
		t.Fatalf("signature %q %v", sig, err)
	}
	pair2, err := e.client.RefreshToken(ctx, pair.RefreshToken)
	if err != nil || pair2.AccessToken == pair.AccessToken || pair2.RefreshToken == pair.RefreshToken {
		t.Fatalf("refresh %+v %v", pair2, err)
	}

	cs, err := e.client.Currencies(ctx)
	if err != nil || len(cs) != 3 || cs[0].Code != "INR" || cs[0].ID != CurrencyINR || cs[0].Symbol != "Rs" || cs[2].IsActive {
		t.Fatalf("currencies %+v %v", cs, err)
	}
	pms, err := e.client.PaymentMethods(ctx, CurrencyINR)
	if err != nil || len(pms) != 5 || pms[0].Name != "NET BANKING" {
		t.Fatalf("methods %+v %v", pms, err)
	}

	r := initiate(t, e, "ORD-1", 34567)
	if r.Replayed || r.AmountPaise != 34567 || r.Currency != "INR" || !validID(r.TxnID, prefixTxn) || !strings.HasPrefix(r.ProviderOrderID, "order_") {
		t.Fatalf("initiate %+v", r)
	}
	o, err := e.client.ProcessTransaction(ctx, r.TxnID)
	if err != nil || o.AmountMinor != 34567 || o.Currency != "INR" || o.Status != "attempted" || o.Key == "" || o.ProviderOrderID != r.ProviderOrderID {
		t.Fatalf("process %+v %v", o, err)
	}
	tx, err := e.client.TransactionByID(ctx, r.TxnID)
	if err != nil || tx.Status != StatusPending || tx.Amount != "345.67" || tx.ReferenceNumber != "ORD-1" || tx.AppID != DemoAppID || tx.IsPaid {
		t.Fatalf("txn %+v %v", tx, err)
	}
	page, err := e.client.Transactions(ctx, TxnQuery{})
	if err != nil || page.Total != 1 || len(page.Transactions) != 1 || page.Transactions[0].ID != r.TxnID || page.Limit != defaultPageLimit {
		t.Fatalf("list %+v %v", page, err)
	}
}

func TestWholeRupeeAmountAnswer(t *testing.T) {
	// The provider writes 2.00 as 2 (JavaScript); the client reads it.
	e := newEnv(t, nil, nil)
	r := initiate(t, e, "WHOLE-1", 200)
	if r.AmountPaise != 200 {
		t.Fatalf("%+v", r)
	}
	r = initiate(t, e, "HALF-1", 1050)
	if r.AmountPaise != 1050 {
		t.Fatalf("%+v", r)
	}
}

func TestRefreshGetsNewPair(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	p1, err := e.client.GenerateToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := e.client.RefreshToken(ctx, p1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if p2.AccessToken == p1.AccessToken || p2.RefreshToken == p1.RefreshToken {
		t.Fatal("refresh did not issue a new pair")
	}
	// The old refresh token is spent.
	_, err = e.client.RefreshToken(ctx, p1.RefreshToken)
	ee := wantCode(t, err, 9008, providers.ErrAuth)
	if ee.Message != "Invalid token." || ee.HTTPStatus != 401 {
		t.Fatalf("%+v", ee)
	}
	// The new one works, once.
	if _, err := e.client.RefreshToken(ctx, p2.RefreshToken); err != nil {
		t.Fatal(err)
	}
	// Raw: the token travels bare, without "Bearer".
	p3, _ := e.client.GenerateToken(ctx)
	st, env := raw(t, "POST", e.srv.URL+pathRefreshToken, map[string]string{"Authorization": "Bearer " + p3.RefreshToken}, "")
	wantEnvCode(t, st, env, 401, 9008, "Invalid token.")
	st, env = raw(t, "POST", e.srv.URL+pathRefreshToken, nil, "")
	wantEnvCode(t, st, env, 400, 9000, "Token missing or incorrect")
	// An access token is not a refresh token.
	st, env = raw(t, "POST", e.srv.URL+pathRefreshToken, map[string]string{"Authorization": p3.AccessToken}, "")
	wantEnvCode(t, st, env, 401, 9008, "Invalid token.")
	// Expired refresh token.
	e.clock.Advance(defaultRefreshTTL + time.Second)
	st, env = raw(t, "POST", e.srv.URL+pathRefreshToken, map[string]string{"Authorization": p3.RefreshToken}, "")
	wantEnvCode(t, st, env, 401, 9008, "Refresh token has expired.")
}

func TestExpiredAccessToken9009(t *testing.T) {
	e := newEnv(t, nil, nil)
	p, err := e.client.GenerateToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hdr := map[string]string{"Authorization": "Bearer " + p.AccessToken}
	if st, env := raw(t, "GET", e.srv.URL+pathCurrencies, hdr, ""); st != 200 || env.Code != nil {
		t.Fatalf("fresh token refused: %d", st)
	}
	e.clock.Advance(defaultAccessTTL)
	st, env := raw(t, "GET", e.srv.URL+pathCurrencies, hdr, "")
	wantEnvCode(t, st, env, 401, 9009, "Token has expired.")
	st, env = raw(t, "GET", e.srv.URL+pathCurrencies, map[string]string{"Authorization": "Bearer garbage"}, "")
	wantEnvCode(t, st, env, 400, 9000, "Token missing or incorrect")
	st, env = raw(t, "GET", e.srv.URL+pathCurrencies, nil, "")
	wantEnvCode(t, st, env, 400, 9000, "Token missing or incorrect")
}

func TestClientRecoversFrom9009(t *testing.T) {
	// The client's clock lags the provider's: it believes its token valid,
	// meets 9009, refreshes once and retries the read.
	lag := sandboxtest.NewClock(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC))
	e := newEnv(t, nil, func(c *Config) { c.Now = lag.Now })
	ctx := context.Background()
	if _, err := e.client.Currencies(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(defaultAccessTTL + time.Minute)
	if _, err := e.client.Currencies(ctx); err != nil {
		t.Fatalf("client did not recover from 9009: %v", err)
	}
	st := e.sb.Stats()
	if st.TokensGenerated != 1 || st.Refreshes != 1 {
		t.Fatalf("want 1 generate + 1 refresh, got %+v", st)
	}
}

func TestProactiveRefreshBeforeExpiry(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	if _, err := e.client.Currencies(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(defaultAccessTTL - 30*time.Second) // within RefreshBefore (60s)
	if _, err := e.client.Currencies(ctx); err != nil {
		t.Fatal(err)
	}
	if st := e.sb.Stats(); st.Refreshes != 1 || st.TokensGenerated != 1 {
		t.Fatalf("%+v", st)
	}
	// When the refresh token itself is near its end, the keys make a new pair.
	e.clock.Advance(defaultRefreshTTL)
	if _, err := e.client.Currencies(ctx); err != nil {
		t.Fatal(err)
	}
	if st := e.sb.Stats(); st.TokensGenerated != 2 {
		t.Fatalf("%+v", st)
	}
}

func TestRefreshRefusedFallsBackToGenerate(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	p, _ := e.client.GenerateToken(ctx)
	// Someone spends our refresh token behind our back.
	raw(t, "POST", e.srv.URL+pathRefreshToken, map[string]string{"Authorization": p.RefreshToken}, "")
	e.clock.Advance(defaultAccessTTL)
	if _, err := e.client.Currencies(ctx); err != nil {
		t.Fatal(err)
	}
	if st := e.sb.Stats(); st.TokensGenerated != 2 {
		t.Fatalf("%+v", st)
	}
}

const nanoidMsgC = "ID must start with 'c_' and be 12 characters long with alphanumeric characters following the prefix."

func TestMalformedIDMinus17(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	for _, id := range []string{"c_short", "x_WkmEe23LeI", "c_WkmEe23Le-", "c_WkmEe23LeIX"} {
		_, err := e.client.PaymentMethods(ctx, id)
		ee := wantCode(t, err, -17, providers.ErrRejected)
		if ee.Message != nanoidMsgC || ee.HTTPStatus != 400 {
			t.Fatalf("%q: %+v", id, ee)
		}
	}
	_, err := e.client.TransactionByID(ctx, "tx_123")
	ee := wantCode(t, err, -17, providers.ErrRejected)
	if ee.Message != "ID must start with 'tx_' and be 12 characters long with alphanumeric characters following the prefix." {
		t.Fatal(ee.Message)
	}
	_, err = e.client.InitiateTransaction(ctx, InitiateParams{CurrencyID: CurrencyINR, PaymentMethodID: "pm_Mk55VGv", AmountPaise: 100, ReferenceNumber: "R1"})
	ee = wantCode(t, err, -17, providers.ErrRejected)
	if !strings.Contains(ee.Message, "'pm_'") {
		t.Fatal(ee.Message)
	}
	_, err = e.client.ProcessTransaction(ctx, "tx_!!!!!!!!!")
	wantCode(t, err, -17, providers.ErrRejected)
	// App id in the path.
	st, env := raw(t, "POST", e.srv.URL+pathGenerateToken+"ap_x", nil, `{"accessKey":"a","secretKey":"b"}`)
	wantEnvCode(t, st, env, 400, -17, "ID must start with 'ap_' and be 12 characters long with alphanumeric characters following the prefix.")
}

func TestAmountDecimalsMinus19(t *testing.T) {
	e := newEnv(t, nil, nil)
	sig := SignatureFor(DemoAppID, DemoSecretKey, e.clock.Now())
	hdr := map[string]string{headerSignature: sig, "Content-Type": "application/json"}
	body := func(amount, ref string) string {
		return fmt.Sprintf(`{"currencyId":%q,"paymentMethodId":%q,"amount":%s,"referenceNumber":%q}`, CurrencyINR, PMUPI, amount, ref)
	}
	st, env := raw(t, "POST", e.srv.URL+pathInitiate, hdr, body("345.678", "D-1"))
	wantEnvCode(t, st, env, 400, -19, "Number should have at most the allowed number of decimal places ie - 2")
	st, env = raw(t, "POST", e.srv.URL+pathInitiate, hdr, body("0.001", "D-2"))
	wantEnvCode(t, st, env, 400, -19, "")
	// Trailing zeros are not decimals (the provider's validator sees 345.67).
	st, env = raw(t, "POST", e.srv.URL+pathInitiate, hdr, body("345.670", "D-3"))
	if st != 201 || env.Code != nil {
		t.Fatalf("345.670 refused: %d %s", st, env.message())
	}
	for _, bad := range []string{`"345.67"`, "-5", "0", "1e3", "null"} {
		st, env = raw(t, "POST", e.srv.URL+pathInitiate, hdr, body(bad, "D-4"))
		if st != 400 || env.Code == nil || (*env.Code != 25 && *env.Code != -9) {
			t.Fatalf("amount %s: %d %v", bad, st, env.message())
		}
	}
	if n := len(e.sb.Transactions()); n != 1 {
		t.Fatalf("%d transactions", n)
	}
}

func TestSignatureRules(t *testing.T) {
	e := newEnv(t, nil, nil)
	u := e.srv.URL + pathInitiate
	body := fmt.Sprintf(`{"currencyId":%q,"paymentMethodId":%q,"amount":1,"referenceNumber":"S-1"}`, CurrencyINR, PMUPI)
	now := e.clock.Now()
	cases := []struct {
		sig  string
		http int
		code int
	}{
		{SignatureFor(DemoAppID, DemoSecretKey, now.Add(-defaultSignatureTTL)), 400, 11005},
		{SignatureFor(DemoAppID, DemoSecretKey, now.Add(2*signatureSkew)), 400, 11005},
		{"not-a-signature", 400, 11006},
		{DemoAppID + ":abc:" + strings.Repeat("0", 64), 400, 11006},
		{DemoAppID + ":1:" + strings.Repeat("g", 64), 400, 11006},
		{SignatureFor(DemoAppID, "wrong-secret", now), 401, 9007},
		{SignatureFor("ap_Unknown01", DemoSecretKey, now), 404, 11002},
		{SignatureFor(DisabledAppID, "KSSK-disabled", now), 404, 11011},
	}
	for _, c := range cases {
		st, env := raw(t, "POST", u, map[string]string{headerSignature: c.sig}, body)
		wantEnvCode(t, st, env, c.http, c.code, "")
	}
	// Process takes only a signature; a bearer token alone is refused.
	p, _ := e.client.GenerateToken(context.Background())
	st, env := raw(t, "POST", e.srv.URL+pathProcess, map[string]string{"Authorization": "Bearer " + p.AccessToken}, `{"pe_txnId":"tx_UOVynlQ0j"}`)
	wantEnvCode(t, st, env, 400, 9000, "")
	// Initiate accepts the bearer token instead.
	st, env = raw(t, "POST", u, map[string]string{"Authorization": "Bearer " + p.AccessToken}, body)
	if st != 201 {
		t.Fatalf("bearer initiate: %d %s", st, env.message())
	}
}

func TestClientRenewsExpiredSignature(t *testing.T) {
	lag := sandboxtest.NewClock(time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC))
	e := newEnv(t, nil, func(c *Config) { c.Now = lag.Now })
	initiate(t, e, "SIG-1", 100)
	e.clock.Advance(defaultSignatureTTL + time.Minute) // the client does not notice
	initiate(t, e, "SIG-2", 100)
	if st := e.sb.Stats(); st.SignaturesIssued != 2 || st.TransactionsTotal != 2 {
		t.Fatalf("%+v", st)
	}
}

func TestInitiateWithBearer(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.InitiateWithBearer = true; c.SendAppID = true })
	initiate(t, e, "BEARER-1", 100)
	if st := e.sb.Stats(); st.SignaturesIssued != 0 || st.TokensGenerated != 1 {
		t.Fatalf("%+v", st)
	}
}

func TestCredentialCodes(t *testing.T) {
	e := newEnv(t, nil, nil)
	gen := func(app, ak, sk string) (int, *envelope) {
		return raw(t, "POST", e.srv.URL+pathGenerateToken+app, nil, fmt.Sprintf(`{"accessKey":%q,"secretKey":%q}`, ak, sk))
	}
	st, env := gen("ap_Unknown01", DemoAccessKey, DemoSecretKey)
	wantEnvCode(t, st, env, 404, 11002, "Application not found for the provided app ID")
	st, env = gen(DemoAppID, "KSAK-nope", DemoSecretKey)
	wantEnvCode(t, st, env, 404, 11001, "Credentials not found for the provided access key")
	st, env = gen(DemoAppID, OtherAccess, OtherSecret)
	wantEnvCode(t, st, env, 400, 11008, "Access key does not match any active credentials")
	st, env = gen(DemoAppID, DemoAccessKey, "wrong")
	wantEnvCode(t, st, env, 400, 11004, "Invalid credentials, please check the provided secret key")
	st, env = gen(DisabledAppID, "KSAK-DISABLED0000001", "KSSK-disabled")
	wantEnvCode(t, st, env, 404, 11011, "Application is disabled!")
	st, env = gen(DemoAppID, "", DemoSecretKey)
	wantEnvCode(t, st, env, 400, -9, "accessKey not present in Request")
	st, env = gen(DemoAppID, DemoAccessKey, "")
	wantEnvCode(t, st, env, 400, -9, "secretKey not present in Request")
	st, env = raw(t, "POST", e.srv.URL+pathGenerateToken+DemoAppID, nil, `{"accessKey":`)
	wantEnvCode(t, st, env, 400, 25, "Invalid Request")

	// Through the client: ErrAuth, and the read retries do not hammer.
	bad := newEnv(t, nil, func(c *Config) { c.SecretKey = "wrong" })
	_, err := bad.client.Currencies(context.Background())
	if !errors.Is(err, providers.ErrAuth) || !IsCode(err, 11004) {
		t.Fatalf("%v", err)
	}
}

func TestInitiateValidation(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	p := func(mod func(*InitiateParams)) error {
		ip := InitiateParams{CurrencyID: CurrencyINR, PaymentMethodID: PMUPI, AmountPaise: 100, ReferenceNumber: "V-1"}
		mod(&ip)
		_, err := e.client.InitiateTransaction(ctx, ip)
		return err
	}
	ee := wantCode(t, p(func(ip *InitiateParams) { ip.ReferenceNumber = "" }), -9, providers.ErrRejected)
	if ee.Message != "referenceNumber not present in Request" {
		t.Fatal(ee.Message)
	}
	wantCode(t, p(func(ip *InitiateParams) { ip.CurrencyID = "" }), -9, providers.ErrRejected)
	ee = wantCode(t, p(func(ip *InitiateParams) { ip.CurrencyID = CurrencyEUR; ip.PaymentMethodID = PMCardUSD }), 13007, providers.ErrRejected)
	if ee.HTTPStatus != 400 {
		t.Fatal(ee)
	}
	wantCode(t, p(func(ip *InitiateParams) { ip.CurrencyID = "c_Unknown001" }), 13007, providers.ErrRejected)
	ee = wantCode(t, p(func(ip *InitiateParams) { ip.PaymentMethodID = PMWallet }), 13006, providers.ErrRejected)
	if ee.Message != "The following payment method IDs does not exist in DB: "+PMWallet {
		t.Fatal(ee.Message)
	}
	wantCode(t, p(func(ip *InitiateParams) { ip.PaymentMethodID = PMCardUSD }), 13006, providers.ErrRejected) // not an INR method
	wantCode(t, p(func(ip *InitiateParams) { ip.ReferenceNumber = "has space" }), -17, providers.ErrRejected)
	wantCode(t, p(func(ip *InitiateParams) { ip.RedirectURL = "javascript:alert(1)" }), -17, providers.ErrRejected)
	if n := len(e.sb.Transactions()); n != 0 {
		t.Fatalf("refusals made %d transactions", n)
	}
	// appId in the body must be the caller's own.
	sig := SignatureFor(DemoAppID, DemoSecretKey, e.clock.Now())
	st, env := raw(t, "POST", e.srv.URL+pathInitiate, map[string]string{headerSignature: sig},
		fmt.Sprintf(`{"currencyId":%q,"paymentMethodId":%q,"amount":1,"referenceNumber":"A-1","appId":%q}`, CurrencyINR, PMUPI, OtherAppID))
	wantEnvCode(t, st, env, 403, 11003, "User does not belong to the specified application")
	// Browser origin not allowed for the app.
	st, env = raw(t, "POST", e.srv.URL+pathInitiate, map[string]string{headerSignature: sig, "Origin": "https://evil.example"},
		fmt.Sprintf(`{"currencyId":%q,"paymentMethodId":%q,"amount":1,"referenceNumber":"A-2"}`, CurrencyINR, PMUPI))
	wantEnvCode(t, st, env, 403, 13007, "Access denied from this origin.")
	st, _ = raw(t, "POST", e.srv.URL+pathInitiate, map[string]string{headerSignature: sig, "Origin": "https://paydesk.example"},
		fmt.Sprintf(`{"currencyId":%q,"paymentMethodId":%q,"amount":1,"referenceNumber":"A-3"}`, CurrencyINR, PMUPI))
	if st != 201 {
		t.Fatalf("allowed origin refused: %d", st)
	}
}

func TestCatalogueCodes(t *testing.T) {
	e := newEnv(t, nil, nil)
	_, err := e.client.PaymentMethods(context.Background(), CurrencyEUR)
	wantCode(t, err, 13007, providers.ErrRejected)
	_, err = e.client.PaymentMethods(context.Background(), "c_Unknown001")
	wantCode(t, err, 13007, providers.ErrRejected)
	st, env := raw(t, "GET", e.srv.URL+"/nope/nothing", nil, "")
	wantEnvCode(t, st, env, 404, -10, "Cannot GET /nope/nothing")
}

func TestTransactionAccess(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	r := initiate(t, e, "MINE-1", 100)
	_, err := e.client.TransactionByID(ctx, "tx_Unknown01")
	ee := wantCode(t, err, 24, providers.ErrNotFound)
	if ee.Message != "No data found with this ID!" {
		t.Fatal(ee.Message)
	}
	other, _ := NewClient(Config{BaseURL: e.srv.URL, AppID: OtherAppID, AccessKey: OtherAccess, SecretKey: OtherSecret, Now: e.clock.Now})
	_, err = other.TransactionByID(ctx, r.TxnID)
	wantCode(t, err, 23, providers.ErrNotFound)
	_, err = other.ProcessTransaction(ctx, r.TxnID)
	wantCode(t, err, 23, providers.ErrNotFound)
	page, err := other.Transactions(ctx, TxnQuery{})
	if err != nil || page.Total != 0 {
		t.Fatalf("other app sees %+v %v", page, err)
	}
}

func TestDuplicateReference(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	first := initiate(t, e, "DUP-1", 5000)
	again := initiate(t, e, "DUP-1", 5000)
	if !again.Replayed || again.TxnID != first.TxnID || first.Replayed {
		t.Fatalf("identical replay: %+v vs %+v", again, first)
	}
	_, err := e.client.InitiateTransaction(ctx, InitiateParams{CurrencyID: CurrencyINR, PaymentMethodID: PMUPI, AmountPaise: 5001, ReferenceNumber: "DUP-1"})
	ee := wantCode(t, err, -17, providers.ErrDuplicate)
	if !strings.Contains(ee.Message, first.TxnID) {
		t.Fatal(ee.Message)
	}
	if n := len(e.sb.Transactions()); n != 1 {
		t.Fatalf("%d transactions for one reference", n)
	}
	// Another app may use the same reference for its own transaction.
	other, _ := NewClient(Config{BaseURL: e.srv.URL, AppID: OtherAppID, AccessKey: OtherAccess, SecretKey: OtherSecret, Now: e.clock.Now})
	if _, err := other.InitiateTransaction(ctx, InitiateParams{CurrencyID: CurrencyINR, PaymentMethodID: PMUPI, AmountPaise: 5000, ReferenceNumber: "DUP-1"}); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentSameReference(t *testing.T) {
	e := newEnv(t, nil, nil)
	var wg sync.WaitGroup
	ids := make(chan string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.client.InitiateTransaction(context.Background(), InitiateParams{CurrencyID: CurrencyINR, PaymentMethodID: PMUPI, AmountPaise: 700, ReferenceNumber: "RACE-1"})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- r.TxnID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || len(e.sb.Transactions()) != 1 {
		t.Fatalf("ids %v, %d transactions", seen, len(e.sb.Transactions()))
	}
}

func ctlPay(t *testing.T, e *env, id, outcome string) (int, PayResult) {
	t.Helper()
	body := ""
	if outcome != "" {
		body = `{"outcome":"` + outcome + `"}`
	}
	res, err := http.Post(e.ctl.URL+"/transactions/"+id+"/pay", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var pr PayResult
	json.NewDecoder(res.Body).Decode(&pr)
	return res.StatusCode, pr
}

func TestPaymentLifecycle(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	paid := initiate(t, e, "LC-PAID", 123456)
	failed := initiate(t, e, "LC-FAIL", 100)
	expired := initiate(t, e, "LC-EXP", 100)

	st, pr := ctlPay(t, e, paid.TxnID, "")
	if st != 200 || pr.Transaction.Status != StatusPaid || !pr.Transaction.IsPaid {
		t.Fatalf("pay: %d %+v", st, pr)
	}
	u, err := url.Parse(pr.RedirectURL)
	if err != nil || u.Host != "paydesk.example" || u.Query().Get("order") != "LC-PAID" {
		t.Fatalf("redirect %q", pr.RedirectURL)
	}
	rd, err := ParseRedirect(u.Query())
	if err != nil || rd.PaymentStatus != "success" || rd.KsPayID != paid.TxnID || rd.ProviderPaymentID != pr.Transaction.ProviderPaymentID {
		t.Fatalf("%+v %v", rd, err)
	}
	if st, _ := ctlPay(t, e, paid.TxnID, ""); st != http.StatusConflict {
		t.Fatalf("second pay: %d", st)
	}
	if st, _ := ctlPay(t, e, "tx_Unknown01", ""); st != http.StatusNotFound {
		t.Fatalf("unknown: %d", st)
	}
	if st, _ := ctlPay(t, e, failed.TxnID, "maybe"); st != http.StatusBadRequest {
		t.Fatalf("bad outcome: %d", st)
	}
	st, pr = ctlPay(t, e, failed.TxnID, "failed")
	if st != 200 || pr.Transaction.Status != StatusFailed {
		t.Fatalf("fail: %+v", pr)
	}
	if rd, _ := ParseRedirect(mustQuery(t, pr.RedirectURL)); rd.PaymentStatus != "failed" {
		t.Fatalf("%+v", rd)
	}
	ents := e.sb.Ledger().Entries()
	if len(ents) != 1 || ents[0].Ref != "LC-PAID" || ents[0].AmountPaise != 123456 || ents[0].Rail != "UPI" {
		t.Fatalf("ledger %+v", ents)
	}

	e.clock.Advance(30 * time.Minute)
	tx, err := e.client.TransactionByID(ctx, expired.TxnID)
	if err != nil || tx.Status != StatusExpired {
		t.Fatalf("%+v %v", tx, err)
	}
	_, err = e.client.ProcessTransaction(ctx, expired.TxnID)
	wantCode(t, err, 25, providers.ErrRejected)
	if st, _ := ctlPay(t, e, expired.TxnID, ""); st != http.StatusConflict {
		t.Fatalf("paying expired: %d", st)
	}
	// Through the adapter the states read as Paydesk's.
	for id, want := range map[string]providers.CollectionState{paid.TxnID: providers.CollectionPaid, failed.TxnID: providers.CollectionFailed, expired.TxnID: providers.CollectionExpired} {
		g, err := e.adapter.Transaction(ctx, id)
		if err != nil || g.Status != string(want) || g.Paid != (want == providers.CollectionPaid) {
			t.Fatalf("%s: %+v %v", id, g, err)
		}
	}
	if len(e.sb.Ledger().Entries()) != 1 {
		t.Fatal("ledger grew")
	}
}

func mustQuery(t *testing.T, s string) url.Values {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestTransactionsFilters(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		initiate(t, e, fmt.Sprintf("F-%02d", i), int64(100+i))
		e.clock.Advance(time.Second)
	}
	p, err := e.client.Transactions(ctx, TxnQuery{Page: 3, Limit: 10})
	if err != nil || p.Total != 25 || len(p.Transactions) != 5 || p.Transactions[4].ReferenceNumber != "F-00" {
		t.Fatalf("%+v %v", p, err)
	}
	p, err = e.client.Transactions(ctx, TxnQuery{ReferenceNumber: "F-07"})
	if err != nil || p.Total != 1 || p.Transactions[0].Amount != "1.07" {
		t.Fatalf("%+v %v", p, err)
	}
	today := e.clock.Now()
	p, err = e.client.Transactions(ctx, TxnQuery{StartDate: today.AddDate(0, 0, -1), EndDate: today, Limit: 100})
	if err != nil || p.Total != 25 {
		t.Fatalf("%+v %v", p, err)
	}
	p, err = e.client.Transactions(ctx, TxnQuery{StartDate: today.AddDate(0, 0, -3), EndDate: today.AddDate(0, 0, -2)})
	if err != nil || p.Total != 0 {
		t.Fatalf("%+v %v", p, err)
	}
	cases := []struct {
		q    TxnQuery
		code int
	}{
		{TxnQuery{StartDate: today}, 11010},
		{TxnQuery{StartDate: today, EndDate: today.AddDate(0, 0, -1)}, 11007},
		{TxnQuery{StartDate: today.AddDate(0, 0, -91), EndDate: today}, 11006},
		{TxnQuery{StartDate: today.AddDate(0, 0, 1), EndDate: today.AddDate(0, 0, 2)}, 11009},
		{TxnQuery{StartDate: today, EndDate: today.AddDate(0, 0, 1)}, 11011},
		{TxnQuery{StartDate: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), EndDate: time.Date(2024, 8, 10, 0, 0, 0, 0, time.UTC)}, 11008},
		{TxnQuery{Page: -1}, 4089},
		{TxnQuery{Limit: -5}, 4056},
		{TxnQuery{Status: "SETTLED"}, 25},
	}
	for _, c := range cases {
		_, err := e.client.Transactions(ctx, c.q)
		// Date codes share numbers with key-vault codes; on this call they
		// are plain refusals, not authentication failures.
		wantCode(t, err, c.code, providers.ErrRejected)
		if errors.Is(err, providers.ErrAuth) {
			t.Fatalf("%d read as auth failure", c.code)
		}
	}
}

func TestRateLimitedReadsRetry(t *testing.T) {
	// Real clock: the sandbox's one-second window must really pass.
	e := newEnv(t, func(sc *SandboxConfig) { sc.Now = nil; sc.RateLimit = 3 }, func(c *Config) { c.Now = nil; c.MaxBackoff = 1100 * time.Millisecond })
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := e.client.Currencies(ctx); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if e.sb.Stats().Throttled == 0 {
		t.Fatal("never throttled; the test proves nothing")
	}
	// A write meeting 429 is not retried and is transient.
	// Frozen clock: the window never turns, so the third request is refused.
	e2 := newEnv(t, func(sc *SandboxConfig) { sc.RateLimit = 2 }, nil)
	initiate(t, e2, "RL-1", 100) // signature fetch + initiate
	_, err := e2.client.InitiateTransaction(ctx, InitiateParams{CurrencyID: CurrencyINR, PaymentMethodID: PMUPI, AmountPaise: 100, ReferenceNumber: "RL-2"})
	ee := wantCode(t, err, 11005, providers.ErrTransient)
	if ee.HTTPStatus != 429 || ee.Message != "Too many requests made in a short period" {
		t.Fatalf("%+v", ee)
	}
}

func TestAdapter(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	if caps := providers.Capabilities(e.adapter); len(caps) != 1 || caps[0] != providers.CapGateway {
		t.Fatalf("%v", caps)
	}
	cs, err := e.adapter.Currencies(ctx)
	if err != nil || len(cs) != 2 || cs[0].Code != "INR" {
		t.Fatalf("%+v %v", cs, err)
	}
	ms, err := e.adapter.PaymentMethods(ctx, CurrencyINR)
	if err != nil || len(ms) != 4 || ms[0].CurrencyID != CurrencyINR {
		t.Fatalf("%+v %v", ms, err)
	}
	g, err := e.adapter.InitiatePayment(ctx, providers.GatewayPayment{ID: "AD-1", CurrencyID: CurrencyINR, PaymentMethodID: PMNetBanking, AmountPaise: 99900, RedirectURL: "https://paydesk.example/r"})
	if err != nil || g.Reference != "AD-1" || g.AmountPaise != 99900 || g.Status != "pending" || g.CurrencyCode != "INR" || g.CreatedAt.IsZero() {
		t.Fatalf("%+v %v", g, err)
	}
	for i := 0; i < 130; i++ {
		if _, err := e.adapter.InitiatePayment(ctx, providers.GatewayPayment{ID: fmt.Sprintf("AD-P%03d", i), CurrencyID: CurrencyINR, PaymentMethodID: PMUPI, AmountPaise: 100}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.adapter.Transactions(ctx)
	if err != nil || len(all) != 131 {
		t.Fatalf("%d %v", len(all), err)
	}
	found, ok, err := e.adapter.TransactionByReference(ctx, "AD-1")
	if err != nil || !ok || found.ID != g.ID {
		t.Fatalf("%+v %v %v", found, ok, err)
	}
	if _, ok, err := e.adapter.TransactionByReference(ctx, "NOPE"); ok || err != nil {
		t.Fatal("found a reference never used")
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c, _ := NewClient(DemoConfig("http://" + addr))
	_, err := c.InitiateTransaction(context.Background(), InitiateParams{CurrencyID: CurrencyINR, PaymentMethodID: PMUPI, AmountPaise: 1, ReferenceNumber: "X"})
	if !errors.Is(err, providers.ErrTransient) || errors.Is(err, providers.ErrOutcomeUnknown) {
		t.Fatalf("%v", err)
	}
}

func TestLostAnswersAreUnknown(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	ctx := context.Background()
	if _, err := e.client.GenerateSignature(ctx); err != nil { // cache it before faults
		t.Fatal(err)
	}
	for i, f := range []sandboxkit.Faults{{DropRate: 1}, {MalformedRate: 1}, {HangRate: 1, HangFor: time.Second}, {ErrorRate: 1}} {
		e.sb.Injector().Set(f)
		_, err := e.client.InitiateTransaction(ctx, InitiateParams{CurrencyID: CurrencyINR, PaymentMethodID: PMUPI, AmountPaise: 1, ReferenceNumber: fmt.Sprintf("U-%d", i)})
		want := providers.ErrOutcomeUnknown
		if f.ErrorRate == 1 {
			want = providers.ErrTransient // 503 before the application
		}
		if !errors.Is(err, want) {
			t.Fatalf("%+v: want %v, got %v", f, want, err)
		}
	}
}

// TestFaultsOneTransactionPerReference initiates through heavy faults and
// follows the rule: on an unknown outcome ask by reference (the adapter does)
// and only initiate again when the provider does not know it. Every
// reference ends with exactly one transaction, and paying them all records
// each exactly once.
func TestFaultsOneTransactionPerReference(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.Timeout = 200 * time.Millisecond; c.ReadRetries = 6 })
	// Warm the token and signature caches, then turn faults on.
	initiate(t, e, "WARM", 100)
	e.sb.Injector().Set(sandboxkit.Faults{Seed: 9, ErrorRate: 0.08, HangRate: 0.08, DropRate: 0.08, MalformedRate: 0.08, HangFor: 400 * time.Millisecond})
	const n = 300
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]string{}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ref := fmt.Sprintf("FT-%04d", i)
				var g providers.GatewayTransaction
				var err error
				for attempt := 0; attempt < 50; attempt++ {
					g, err = e.adapter.InitiatePayment(context.Background(), providers.GatewayPayment{ID: ref, CurrencyID: CurrencyINR, PaymentMethodID: PMUPI, AmountPaise: int64(100 + i)})
					if err == nil || !(errors.Is(err, providers.ErrOutcomeUnknown) || errors.Is(err, providers.ErrTransient)) {
						break
					}
				}
				if err != nil {
					t.Errorf("%s: %v", ref, err)
					continue
				}
				mu.Lock()
				got[ref] = g.ID
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	counts := e.sb.Injector().Counts()
	if counts[sandboxkit.DropAfterAccept] == 0 || counts[sandboxkit.HangAfter] == 0 || counts[sandboxkit.Malformed] == 0 {
		t.Fatalf("faults not exercised: %v", counts)
	}
	txns := e.sb.Transactions()
	if len(txns) != n+1 {
		t.Fatalf("%d transactions for %d references", len(txns), n+1)
	}
	for _, tx := range txns[1:] {
		if got[tx.ReferenceNumber] != tx.ID {
			t.Fatalf("%s: adapter said %q, sandbox has %q", tx.ReferenceNumber, got[tx.ReferenceNumber], tx.ID)
		}
		if _, err := e.sb.Pay(tx.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sb.Pay(tx.ID, true); err == nil {
			t.Fatal("paid twice")
		}
	}
	if l := e.sb.Ledger(); len(l.Entries()) != n || len(l.Duplicates()) != 0 {
		t.Fatalf("ledger %d entries, duplicates %v", len(l.Entries()), l.Duplicates())
	}
}

func TestLookupDisambiguates(t *testing.T) {
	cases := []struct {
		op           string
		status, code int
		name         string
	}{
		{opTransactions, 400, 11006, "datesExceedError"},
		{opInitiate, 400, 11006, "invalidSignatureFormat"},
		{opInitiate, 400, 11005, "signatureExpired"},
		{opCurrencies, 429, 11005, "tooManyRequests"},
		{opTransactions, 400, 11008, "startDateBeforeAppCreation"},
		{opGenerateToken, 400, 11008, "accessKeyMismatch"},
		{opGenerateToken, 404, 11011, "appDisabled"},
		{opTransactions, 400, 11011, "endDateAfterToday"},
		{opRefreshToken, 401, 9008, "refreshTokenExpired"},
		{opTxnByID, 404, 23, "unauthorizedAccess"},
		{opInitiate, 400, 13007, "invalidCurrencyId"},
		{opInitiate, 403, 13007, "invalidOrigin"},
	}
	for _, c := range cases {
		d, ok := Lookup(c.op, c.status, c.code)
		if !ok || d.Name != c.name {
			t.Errorf("%s %d %d: got %q", c.op, c.status, c.code, d.Name)
		}
	}
	if !errors.Is(classify(opInitiate, 500, 26, "", false), providers.ErrOutcomeUnknown) || !errors.Is(classify(opCurrencies, 500, 26, "", true), providers.ErrTransient) {
		t.Fatal("26 must depend on the call")
	}
	if !errors.Is(classify(opInitiate, 400, 424242, "", false), providers.ErrRejected) {
		t.Fatal("unknown 4xx code")
	}
	if !errors.Is(classify(opInitiate, 502, 424242, "", false), providers.ErrOutcomeUnknown) {
		t.Fatal("unknown 5xx code on a write")
	}
}

func TestParseRedirect(t *testing.T) {
	good := url.Values{"payment_status": {"success"}, "kspay_id": {"tx_UOVynlQ0j"}, "provider_payment_id": {"pay_x"}}
	if _, err := ParseRedirect(good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []url.Values{
		{"payment_status": {"ok"}, "kspay_id": {"tx_UOVynlQ0j"}},
		{"payment_status": {"success"}, "kspay_id": {"tx_short"}},
		{"payment_status": {"success"}},
	} {
		if _, err := ParseRedirect(bad); err == nil {
			t.Fatalf("accepted %v", bad)
		}
	}
}

func TestNewClientNeedsCredentials(t *testing.T) {
	if _, err := NewClient(Config{BaseURL: "http://x", AppID: DemoAppID}); err == nil {
		t.Fatal("accepted missing keys")
	}
}
