package kspay

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeEnvelope: the client's decoders never panic on any body, and
// every decoded result type survives whatever "result" holds.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"status":201,"message":"success","result":{"accessToken":"a","refreshToken":"b"}}`))
	f.Add([]byte(`{"status":200,"message":"success","result":[{"id":"c_WkmEe23LeI","code":"INR","isActive":true}]}`))
	f.Add([]byte(`{"status":201,"message":"success","result":{"pe_txnId":"tx_UOVynlQ0j","amount":345.67,"currency":"INR"}}`))
	f.Add([]byte(`{"status":400,"message":["a","b"],"code":-17}`))
	f.Add([]byte(`{"statusCode":404,"message":"Cannot GET /x","error":"Not Found"}`))
	f.Add([]byte(`{"status":201,"result":"ap_rtk2WdyQR:1:abc"}`))
	f.Add([]byte(`{"status":200,"result":{"transactions":[{"amount":"1e9"}],"total":-1}}`))
	f.Add([]byte(`{"status":1} trailing`))
	f.Add([]byte("\x00<!-- upstream reset -->{"))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := decodeEnvelope(body)
		if err != nil {
			return
		}
		_ = env.message()
		if env.Code != nil {
			for _, op := range []string{opInitiate, opTransactions, opRefreshToken} {
				if classify(op, env.Status, *env.Code, env.message(), false) == nil {
					t.Fatalf("code %d classified as nil", *env.Code)
				}
			}
		}
		if len(env.Result) == 0 {
			return
		}
		var tp TokenPair
		var cs []Currency
		var pms []PaymentMethod
		var ir initiateResult
		var o Order
		var tx Transaction
		var page TransactionPage
		var sig string
		for _, out := range []any{&tp, &cs, &pms, &ir, &o, &tx, &page, &sig} {
			_ = decodeResult(env.Result, out)
		}
		_, _ = gatewayTxn(tx)
		for _, t2 := range page.Transactions {
			_, _ = gatewayTxn(t2)
		}
	})
}

// FuzzTokenAndSignature: JWT reading, JWT verification and signature parsing
// never panic; a parsed signature re-renders to itself (modulo hex case).
func FuzzTokenAndSignature(f *testing.F) {
	secret := []byte("s")
	f.Add(signJWT(secret, claims{Sub: DemoAppID, Typ: "access", Exp: 1}))
	f.Add(SignatureFor(DemoAppID, DemoSecretKey, time.Unix(1700000000, 0)))
	f.Add("a.b.c")
	f.Add("ap_rtk2WdyQR:-1:" + strings.Repeat("a", 64))
	f.Add("ap_rtk2WdyQR:99999999999999999999:" + strings.Repeat("A", 64))
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = tokenExpiry(s)
		if c, err := verifyJWT(secret, s); err == nil && signJWT(secret, c) == "" {
			t.Fatal("verified token does not re-sign")
		}
		p, err := parseSignature(s)
		if err != nil {
			return
		}
		if !validID(p.AppID, prefixApp) || len(p.MAC) != 64 {
			t.Fatalf("accepted %q", s)
		}
		if !strings.EqualFold(p.AppID+":"+p.ms+":"+p.MAC, s) {
			t.Fatalf("round trip %q", s)
		}
	})
}

// FuzzParseRedirect: redirect queries never panic, and an accepted one names
// a well-formed transaction id.
func FuzzParseRedirect(f *testing.F) {
	f.Add("payment_status=success&kspay_id=tx_UOVynlQ0j&provider_payment_id=pay_1")
	f.Add("payment_status=failed&kspay_id=tx_&kspay_id=tx_UOVynlQ0j")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		r, err := ParseRedirect(v)
		if err == nil && !validID(r.KsPayID, prefixTxn) {
			t.Fatalf("accepted %q", q)
		}
	})
}

// FuzzParseAmount: the sandbox's amount reader never panics and never
// accepts more than two real decimals or a non-positive amount.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"345.67", "345.670", "345.678", "2", "-1", "1e2", `"1"`, "0.00", "99999999999.99", "null", "[]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		paise, d, _ := parseAmount(json.RawMessage(s))
		if d.Code == 0 && (paise <= 0 || paise > maxAmountPaise) {
			t.Fatalf("accepted %q as %d", s, paise)
		}
	})
}

// FuzzParseListQuery: GET /transaction's query parser never panics and an
// accepted query has a positive page and a bounded limit.
func FuzzParseListQuery(f *testing.F) {
	f.Add("page=1&limit=10")
	f.Add("startDate=2025-03-01&endDate=2025-03-10")
	f.Add("startDate=2025-02-30&endDate=x&page=-1")
	f.Add("limit=999999999999999999999")
	now := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	created := time.Date(2024, 8, 3, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		lq, d := parseListQuery(v, created, now)
		if d.Code == 0 && (lq.page < 1 || lq.limit < 1 || lq.limit > maxPageLimit || (!lq.from.IsZero() && lq.to.Sub(lq.from) > (maxDateRangeDays+1)*24*time.Hour)) {
			t.Fatalf("accepted %q as %+v", q, lq)
		}
	})
}

// FuzzSandboxRequests: every sandbox endpoint takes arbitrary bodies, paths
// and credentials without panicking and always answers an envelope.
func FuzzSandboxRequests(f *testing.F) {
	now := time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)
	sb := NewSandbox(SandboxConfig{Now: func() time.Time { return now }})
	tok := sb.issuePair(sb.apps[DemoAppID])
	sig := SignatureFor(DemoAppID, DemoSecretKey, now)
	routes := []struct{ method, path string }{
		{"POST", pathGenerateToken + DemoAppID}, {"POST", pathGenerateSignature + DemoAppID}, {"POST", pathRefreshToken},
		{"GET", pathCurrencies}, {"GET", "/" + CurrencyINR + pathPaymentMethods}, {"POST", pathInitiate},
		{"POST", pathProcess}, {"GET", pathTxnByID + "tx_UOVynlQ0j"}, {"GET", pathTransactions},
	}
	f.Add(uint8(5), uint8(2), "", fmt.Sprintf(`{"currencyId":%q,"paymentMethodId":%q,"amount":1.5,"referenceNumber":"F1","redirectUrl":"https://a.b/c"}`, CurrencyINR, PMUPI))
	f.Add(uint8(0), uint8(0), "", fmt.Sprintf(`{"accessKey":%q,"secretKey":%q}`, DemoAccessKey, DemoSecretKey))
	f.Add(uint8(2), uint8(3), "", ``)
	f.Add(uint8(6), uint8(2), "", `{"pe_txnId":"tx_UOVynlQ0j","txnId":7}`)
	f.Add(uint8(8), uint8(1), "?page=0&startDate=2025-01-01", ``)
	f.Add(uint8(4), uint8(1), "/../x", `[`)
	f.Fuzz(func(t *testing.T, which, authSel uint8, suffix, body string) {
		rt := routes[int(which)%len(routes)]
		target := rt.path
		if u, err := url.Parse(rt.path + suffix); err == nil && strings.HasPrefix(u.Path, "/") {
			target = u.RequestURI()
		}
		req := httptest.NewRequest(rt.method, "http://sandbox"+"/", strings.NewReader(body))
		if u, err := url.ParseRequestURI(target); err == nil {
			req.URL = u
			req.RequestURI = target
		}
		switch authSel % 4 {
		case 1:
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		case 2:
			req.Header.Set(headerSignature, sig)
		case 3:
			req.Header.Set("Authorization", tok.RefreshToken)
		}
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, req)
		if rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect {
			return // the mux cleaning a path like /a/../b
		}
		if _, err := decodeEnvelope(rec.Body.Bytes()); err != nil {
			t.Fatalf("%s %s: not an envelope (%d): %q", rt.method, target, rec.Code, rec.Body.String())
		}
	})
}
