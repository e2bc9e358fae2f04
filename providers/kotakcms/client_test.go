package kotakcms

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/internal/kotak"
)

var ctx = context.Background()

func payout(id string, paise int64, rail providers.Rail) providers.Payout {
	return providers.Payout{
		ID: id, AmountPaise: paise, Rail: rail, BeneficiaryName: "Asha Traders",
		BeneficiaryAcct: "50100123456789", BeneficiaryIFSC: "HDFC0001234", Purpose: "Invoice " + id,
		BeneficiaryEmail: "accounts@asha.example", BeneficiaryPhone: "9876543210",
	}
}

func TestAcceptanceNoTokenIs401(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{PathPay, PathInquiry, PathPending, PathAuthorize} {
		resp, err := http.Post(e.srv.URL+path, ContentXML, strings.NewReader("<x/>"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(body), "invalid_token") {
			t.Fatalf("%s without token: %d %s", path, resp.StatusCode, body)
		}
	}
	// An expired token is refused the same way.
	tok, err := e.client.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(defaultTokenTTL)
	req, _ := http.NewRequest("POST", e.srv.URL+PathPay, strings.NewReader("x"))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("expired token: %d", resp.StatusCode)
	}
}

func TestAcceptanceMalformedXMLIs001(t *testing.T) {
	e := newEnv(t)
	for _, body := range []string{
		"<soap:Envelope xmlns:soap='" + NSSOAP + "'><soap:Body><Payment",
		"not xml at all",
		// Well-formed but not a Kotak payment.
		`<Envelope xmlns="` + NSSOAP + `"><Body><Payment xmlns="urn:other"/></Body></Envelope>`,
	} {
		status, out := e.raw(t, PathPay, ContentXML, []byte(body))
		if status != 200 {
			t.Fatalf("HTTP %d", status)
		}
		resp, err := decodePayResponse(out)
		if err != nil {
			t.Fatal(err)
		}
		if resp.AckHeader.StatusCd != "001" {
			t.Fatalf("StatusCd %q for %q", resp.AckHeader.StatusCd, body)
		}
	}
	if n := len(e.sb.Instruments()); n != 0 {
		t.Fatalf("%d instruments created from garbage", n)
	}
}

func TestAcceptanceRepeatedMessageIdIs002(t *testing.T) {
	e := newEnv(t)
	in := Instrument{InstRefNo: "PO-1", PayMode: "NEFT", AmountPaise: 100000, IFSC: "HDFC0001234", BeneAccount: "123456789", BeneName: "A"}
	if _, err := e.client.Pay(ctx, PayRequest{MessageID: "MSG0001", Instruments: []Instrument{in}}); err != nil {
		t.Fatal(err)
	}
	in.InstRefNo = "PO-2"
	ack, err := e.client.Pay(ctx, PayRequest{MessageID: "MSG0001", Instruments: []Instrument{in}})
	var ke *Error
	if !errors.As(err, &ke) || ke.Code != "002" || !errors.Is(err, providers.ErrDuplicate) {
		t.Fatalf("err = %v", err)
	}
	if ack.StatusCd != "002" || err.Error() != "kotakcms: Pay: 002 Duplicate Message Id" {
		t.Fatalf("ack %+v, message %q", ack, err)
	}
	if len(e.sb.Instruments()) != 1 {
		t.Fatal("the refused request created an instrument")
	}
}

func TestAcceptanceLifecyclePAtoPStoCtoU(t *testing.T) {
	e := newEnv(t)
	before := e.sb.Balance()
	st, err := e.ad.InitiatePayout(ctx, payout("PO-100", 2_50_000_00, providers.RailRTGS))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != providers.StateQueued || st.ProviderCode != "PA" {
		t.Fatalf("after initiate: %+v", st)
	}
	check := func(wantCode string, wantState providers.PayoutState) providers.PayoutStatus {
		t.Helper()
		st, err := e.ad.PayoutStatus(ctx, "PO-100")
		if err != nil {
			t.Fatal(err)
		}
		if st.ProviderCode != wantCode || st.State != wantState {
			t.Fatalf("status %+v, want %s/%s", st, wantCode, wantState)
		}
		return st
	}
	check("PA", providers.StateQueued)
	if len(e.sb.Ledger().Entries()) != 0 {
		t.Fatal("executed before approval")
	}
	if err := e.ad.Authorise(ctx, []string{"PO-100"}, providers.Approve, "ok"); err != nil {
		t.Fatal(err)
	}
	st = check("PS", providers.StateProcessing)
	if st.UTR != "" {
		t.Fatal("UTR shown before processed")
	}
	if got := before - e.sb.Balance(); got != 2_50_000_00 {
		t.Fatalf("debited %d", got)
	}
	e.clk.Advance(time.Minute)
	st = check("C", providers.StateProcessing)
	if st.Message != descInProgress {
		t.Fatalf("C desc %q", st.Message)
	}
	e.clk.Advance(2 * time.Minute)
	st = check("U", providers.StateProcessed)
	if !regexp.MustCompile(`^KKBKRC20260302\d{8}$`).MatchString(st.UTR) {
		t.Fatalf("RTGS UTR %q", st.UTR)
	}
	led := e.sb.Ledger().Entries()
	if len(led) != 1 || led[0].Ref != "PO-100" || led[0].UTR != st.UTR || led[0].AmountPaise != 2_50_000_00 || led[0].Rail != "RTGS" {
		t.Fatalf("ledger %+v", led)
	}
}

func TestUTRFormatPerRail(t *testing.T) {
	e := newEnv(t, func(s *SandboxConfig, _ *Config) { s.PendingSendFor, s.InProcessFor = 0, 0 })
	cases := []struct {
		rail  providers.Rail
		paise int64
		ifsc  string
		re    string
	}{
		{providers.RailNEFT, 1000_00, "HDFC0001234", `^KKBKN26061\d{6}$`},
		{providers.RailRTGS, 3_00_000_00, "HDFC0001234", `^KKBKRC20260302\d{8}$`},
		{providers.RailIMPS, 5_00_000_00, "HDFC0001234", `^\d{12}$`},
		{providers.RailIFT, 10_00, "KKBK0000958", `^KKBKI26061\d{6}$`},
	}
	for i, tc := range cases {
		id := "PO-R" + string(rune('A'+i))
		p := payout(id, tc.paise, tc.rail)
		p.BeneficiaryIFSC = tc.ifsc
		if _, err := e.ad.InitiatePayout(ctx, p); err != nil {
			t.Fatalf("%s: %v", tc.rail, err)
		}
		if err := e.ad.Authorise(ctx, []string{id}, providers.Approve, ""); err != nil {
			t.Fatal(err)
		}
		st, err := e.ad.PayoutStatus(ctx, id)
		if err != nil || st.State != providers.StateProcessed || !regexp.MustCompile(tc.re).MatchString(st.UTR) {
			t.Fatalf("%s: %+v %v", tc.rail, st, err)
		}
	}
}

func TestRepeatedInstRefNoIsDuplicateAndNeverPaysTwice(t *testing.T) {
	e := newEnv(t, func(s *SandboxConfig, _ *Config) { s.PendingSendFor, s.InProcessFor = 0, 0 })
	p := payout("PO-7", 5000_00, providers.RailNEFT)
	if _, err := e.ad.InitiatePayout(ctx, p); err != nil {
		t.Fatal(err)
	}
	// The adapter's second call uses a new MessageId: the bank spots the
	// InstRefNo.
	st, err := e.ad.InitiatePayout(ctx, p)
	var ke *Error
	if !errors.Is(err, providers.ErrDuplicate) || !errors.As(err, &ke) || ke.Code != "006" || !strings.HasPrefix(ke.Message, "Duplicate") {
		t.Fatalf("err = %v", err)
	}
	if st.State != providers.StateUnknown {
		t.Fatalf("state %s", st.State)
	}
	for range 3 {
		if err := e.ad.Authorise(ctx, []string{"PO-7"}, providers.Approve, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.ad.InitiatePayout(ctx, p); !errors.Is(err, providers.ErrDuplicate) {
		t.Fatalf("after approval: %v", err)
	}
	if n := e.sb.Ledger().Executions("PO-7"); n != 1 {
		t.Fatalf("executed %d times", n)
	}
}

func TestAuthorizeRules(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"A1", "A2", "A3"} {
		if _, err := e.ad.InitiatePayout(ctx, payout(id, 100_00, providers.RailIMPS)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.client.Authorize(ctx, AuthorizeRequest{MessageID: "AUTH1", InstRefNos: []string{"A1", "A2"}, Action: ActionApprove})
	if err != nil || res.StatusCd != "000" || len(res.Results) != 2 || res.Results[0].Status != "PS" {
		t.Fatalf("%+v %v", res, err)
	}
	// Approving again: no-op, success.
	res, err = e.client.Authorize(ctx, AuthorizeRequest{MessageID: "AUTH2", InstRefNos: []string{"A1"}, Action: ActionApprove})
	if err != nil || !strings.Contains(res.Results[0].StatusRem, "Already approved") {
		t.Fatalf("%+v %v", res, err)
	}
	// Same MessageId again: 002.
	_, err = e.client.Authorize(ctx, AuthorizeRequest{MessageID: "AUTH2", InstRefNos: []string{"A3"}, Action: ActionApprove})
	if !errors.Is(err, providers.ErrDuplicate) {
		t.Fatalf("repeat MessageId: %v", err)
	}
	// Reject an approved one, and an unknown one, alongside a good reject.
	res, err = e.client.Authorize(ctx, AuthorizeRequest{MessageID: "AUTH3", InstRefNos: []string{"A2", "NOPE", "A3"}, Action: ActionReject, Remarks: "wrong vendor"})
	if res.StatusCd != "005" {
		t.Fatalf("%+v", res)
	}
	if !errors.Is(err, providers.ErrRejected) || !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("joined errors: %v", err)
	}
	st, _ := e.ad.PayoutStatus(ctx, "A3")
	if st.State != providers.StateRejected || st.ProviderCode != "R" || !strings.Contains(st.Message, "wrong vendor") {
		t.Fatalf("A3: %+v", st)
	}
	// Approving a rejected instrument is refused.
	if err := e.ad.Authorise(ctx, []string{"A3"}, providers.Approve, ""); !errors.Is(err, providers.ErrRejected) {
		t.Fatalf("approve rejected: %v", err)
	}
	if err := e.ad.Authorise(ctx, []string{"NOPE"}, providers.Approve, ""); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("approve unknown: %v", err)
	}
	if got := len(e.sb.Ledger().Entries()); got != 2 {
		t.Fatalf("ledger has %d executions, want 2", got)
	}
}

func TestInsufficientBalanceIsDebitFailed(t *testing.T) {
	e := newEnv(t, func(s *SandboxConfig, _ *Config) { s.OpeningBalancePaise = 1000_00 })
	if _, err := e.ad.InitiatePayout(ctx, payout("BIG", 1000_01, providers.RailNEFT)); err != nil {
		t.Fatal(err)
	}
	if err := e.ad.Authorise(ctx, []string{"BIG"}, providers.Approve, ""); err != nil {
		t.Fatal(err)
	}
	st, err := e.ad.PayoutStatus(ctx, "BIG")
	if err != nil || st.State != providers.StateFailed || st.ProviderCode != "DF" || !strings.Contains(st.Message, "insufficient balance") {
		t.Fatalf("%+v %v", st, err)
	}
	if len(e.sb.Ledger().Entries()) != 0 || e.sb.Balance() != 1000_00 {
		t.Fatal("money moved on a failed debit")
	}
}

func TestReturnedBeneficiaryIsCreditFailed(t *testing.T) {
	e := newEnv(t, func(s *SandboxConfig, _ *Config) { s.PendingSendFor, s.InProcessFor = 0, 0 })
	before := e.sb.Balance()
	p := payout("RET", 700_00, providers.RailNEFT)
	p.BeneficiaryAcct = "123456789999"
	e.ad.InitiatePayout(ctx, p)
	e.ad.Authorise(ctx, []string{"RET"}, providers.Approve, "")
	st, err := e.ad.PayoutStatus(ctx, "RET")
	if err != nil || st.State != providers.StateFailed || st.ProviderCode != "CF" {
		t.Fatalf("%+v %v", st, err)
	}
	if e.sb.Balance() != before || e.sb.Ledger().Executions("RET") != 1 {
		t.Fatal("returned money not back, or execution not recorded")
	}
}

func TestInquiryUnknownIsDataNotFound(t *testing.T) {
	e := newEnv(t)
	details, err := e.client.StatusInquiry(ctx, "NOPE-1", "NOPE-2")
	if err != nil || len(details) != 2 || details[0].StatusDesc != "Data Not Found" || details[0].StatusCode != "" {
		t.Fatalf("%+v %v", details, err)
	}
	_, err = e.ad.PayoutStatus(ctx, "NOPE-1")
	if !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestPartialAcceptance005(t *testing.T) {
	e := newEnv(t)
	good := Instrument{InstRefNo: "G1", PayMode: "NEFT", AmountPaise: 100, IFSC: "HDFC0001234", BeneAccount: "1234567890", BeneName: "Good"}
	bad := good
	bad.InstRefNo, bad.IFSC = "B1", "HDFC1234567"
	ack, err := e.client.Pay(ctx, PayRequest{MessageID: "M005", Instruments: []Instrument{good, bad}})
	if err != nil || ack.StatusCd != "005" || len(ack.Instruments) != 2 {
		t.Fatalf("%+v %v", ack, err)
	}
	if ack.Instruments[0].Err() != nil || ack.Instruments[0].Code != "007" {
		t.Fatalf("good: %+v", ack.Instruments[0])
	}
	if e := ack.Instruments[1].Err(); !errors.Is(e, providers.ErrRejected) || !strings.Contains(e.Error(), "IFSC") {
		t.Fatalf("bad: %v", e)
	}
}

func TestPendingApprovalsIncludesPortalInstruments(t *testing.T) {
	e := newEnv(t, func(s *SandboxConfig, _ *Config) { s.PendingSendFor, s.InProcessFor = 0, 0 })
	if _, err := e.ad.InitiatePayout(ctx, payout("API-1", 123_45, providers.RailNEFT)); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Second)
	code, body := e.control(t, "POST", "/pending", PortalInstrument{Amount: "98765.43", BeneName: "Portal Vendor", BeneAcctNo: "998877665544", RecBrCd: "ICIC0000001", DrDesc: "rent"})
	if code != 201 {
		t.Fatalf("portal create: %d %s", code, body)
	}
	list, err := e.ad.PendingApprovals(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("%+v %v", list, err)
	}
	if list[0].ID != "API-1" || list[0].AmountPaise != 123_45 || list[0].Rail != providers.RailNEFT {
		t.Fatalf("first %+v", list[0])
	}
	portal := list[1]
	if !strings.HasPrefix(portal.Ref, "PORTAL") || portal.AmountPaise != 98765_43 || portal.BeneficiaryIFSC != "ICIC0000001" || portal.Purpose != "rent" {
		t.Fatalf("portal %+v", portal)
	}
	raw, _ := e.client.PendingApprovals(ctx)
	if raw[1].Source != "PORTAL" || raw[0].Source != "API" || raw[0].MessageID == "" {
		t.Fatalf("sources %+v", raw)
	}
	if err := e.ad.Authorise(ctx, []string{portal.Ref}, providers.Approve, ""); err != nil {
		t.Fatal(err)
	}
	if e.sb.Ledger().Executions(portal.Ref) != 1 {
		t.Fatal("portal instrument not executed")
	}
	list, _ = e.ad.PendingApprovals(ctx)
	if len(list) != 1 || list[0].ID != "API-1" {
		t.Fatalf("after approval %+v", list)
	}
}

func TestTokenCachedAndRenewedAfterBankForgetsIt(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		if _, err := e.client.StatusInquiry(ctx, "X"); err != nil {
			t.Fatal(err)
		}
	}
	if e.sb.Issuer().Issued() != 1 {
		t.Fatalf("issued %d tokens for 5 calls", e.sb.Issuer().Issued())
	}
	// The bank's clock runs past the token's life while ours does not: the
	// next call meets a 401, fetches a new token and succeeds.
	e.clk.Advance(defaultTokenTTL + time.Second)
	if _, err := e.ad.InitiatePayout(ctx, payout("AFTER-401", 100, providers.RailNEFT)); err != nil {
		t.Fatal(err)
	}
	if e.sb.Issuer().Issued() != 2 || len(e.sb.Instruments()) != 1 {
		t.Fatalf("issued %d", e.sb.Issuer().Issued())
	}
}

// recorder keeps what the client put on the wire.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func TestBodiesAreEncryptedOnTheWire(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, func(_ *SandboxConfig, c *Config) {
		c.HTTPClient = &http.Client{Transport: rec, Timeout: 5 * time.Second}
	})
	if _, err := e.ad.InitiatePayout(ctx, payout("ENC-1", 100, providers.RailNEFT)); err != nil {
		t.Fatal(err)
	}
	if err := e.ad.Authorise(ctx, []string{"ENC-1"}, providers.Approve, ""); err != nil {
		t.Fatal(err)
	}
	c := e.cipher(t)
	var sawPay, sawAuth bool
	for _, b := range rec.bodies[1:] { // [0] is the token form
		if bytes.Contains(b, []byte("<")) || bytes.Contains(b, []byte("{")) {
			t.Fatalf("plain body on the wire: %q", b)
		}
		plain, err := c.Decrypt(b)
		if err != nil {
			t.Fatal(err)
		}
		sawPay = sawPay || bytes.Contains(plain, []byte(`<Payment xmlns="`+NSPayRequest+`">`)) && bytes.Contains(plain, []byte("<InstRefNo>ENC-1</InstRefNo>"))
		sawAuth = sawAuth || bytes.Contains(plain, []byte(`"Action":"APPROVE"`))
	}
	if !sawPay || !sawAuth {
		t.Fatalf("pay %v auth %v", sawPay, sawAuth)
	}
	// Plain XML to an encrypting bank is refused at the gateway.
	tok, _ := e.client.Token(ctx)
	req, _ := http.NewRequest("POST", e.srv.URL+PathPay, strings.NewReader("<Envelope/>"))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("plain body: %d", resp.StatusCode)
	}
}

func TestKeyFormsAndPlaintext(t *testing.T) {
	key := "0123456789abcdefPAYDESKKOTAK2026"
	b64 := base64.StdEncoding.EncodeToString([]byte(key))
	e := newEnv(t, func(s *SandboxConfig, c *Config) {
		s.EncryptionKey = key
		c.EncryptionKey, c.EncryptionKeyBase64 = b64, true
	})
	if _, err := e.ad.InitiatePayout(ctx, payout("K1", 100, providers.RailNEFT)); err != nil {
		t.Fatalf("base64 key form: %v", err)
	}
	// Same bank, client with the wrong key: refused as an auth problem.
	cfg := e.cfg
	cfg.EncryptionKey, cfg.EncryptionKeyBase64 = strings.Repeat("w", 32), false
	wrong, _ := NewClient(cfg)
	if _, err := wrong.StatusInquiry(ctx, "K1"); !errors.Is(err, providers.ErrAuth) {
		t.Fatalf("wrong key: %v", err)
	}
	p := newEnv(t, func(s *SandboxConfig, c *Config) { s.Plaintext, c.Plaintext = true, true })
	if _, err := p.ad.InitiatePayout(ctx, payout("P1", 100, providers.RailNEFT)); err != nil {
		t.Fatalf("plaintext: %v", err)
	}
	if st, err := p.ad.PayoutStatus(ctx, "P1"); err != nil || st.State != providers.StateQueued {
		t.Fatalf("plaintext status %+v %v", st, err)
	}
	if _, err := NewClient(Config{Conn: Conn{BaseURL: "x", ClientID: "a", ClientSecret: "short"}, ClientCode: "C"}); err == nil {
		t.Fatal("a 5-char secret was accepted as an AES key")
	}
}

func TestMessageIDDerivation(t *testing.T) {
	a := MessageID("pay", "PO-1", 1)
	if len(a) != 20 || !strings.HasPrefix(a, "PD") || a != MessageID("pay", "PO-1", 1) {
		t.Fatalf("%q", a)
	}
	if a == MessageID("pay", "PO-1", 2) || a == MessageID("auth", "PO-1", 1) || a == MessageID("pay", "PO-2", 1) {
		t.Fatal("MessageIds collide")
	}
}

func TestAdapterSkipsUsedMessageIds(t *testing.T) {
	e := newEnv(t)
	// Another process (or this one before a restart) used attempts 1 and 2.
	for i := 1; i <= 2; i++ {
		in := Instrument{InstRefNo: "OTHER-" + string(rune('0'+i)), PayMode: "NEFT", AmountPaise: 100, IFSC: "HDFC0001234", BeneAccount: "1234567890", BeneName: "x"}
		if _, err := e.client.Pay(ctx, PayRequest{MessageID: MessageID("pay", "PO-RESTART", i), Instruments: []Instrument{in}}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := e.ad.InitiatePayout(ctx, payout("PO-RESTART", 100, providers.RailNEFT))
	if err != nil || st.State != providers.StateQueued {
		t.Fatalf("%+v %v", st, err)
	}
	for _, v := range e.sb.Instruments() {
		if v.InstRefNo == "PO-RESTART" && v.MessageID != MessageID("pay", "PO-RESTART", 3) {
			t.Fatalf("sent with %s", v.MessageID)
		}
	}
}

func TestAdapterRejectsLocallyAndMapsValidation(t *testing.T) {
	e := newEnv(t)
	if _, err := e.ad.InitiatePayout(ctx, providers.Payout{ID: "Z"}); !errors.Is(err, providers.ErrRejected) {
		t.Fatalf("zero amount: %v", err)
	}
	p := payout("IMPS-BIG", 5_00_000_01, providers.RailIMPS)
	st, err := e.ad.InitiatePayout(ctx, p)
	if !errors.Is(err, providers.ErrRejected) || st.State != providers.StateRejected || !strings.Contains(err.Error(), "kotakcms: Pay: 006 IMPS amount above") {
		t.Fatalf("%+v %v", st, err)
	}
	if _, err := e.ad.PayoutStatus(ctx, "IMPS-BIG"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("rejected instrument exists: %v", err)
	}
	if err := e.ad.Authorise(ctx, []string{"x"}, "maybe", ""); !errors.Is(err, providers.ErrRejected) {
		t.Fatal(err)
	}
	// A long purpose is cut to the 140-char narration, not refused.
	p = payout("LONG", 100, providers.RailNEFT)
	p.Purpose = strings.Repeat("é", 300)
	if _, err := e.ad.InitiatePayout(ctx, p); err != nil {
		t.Fatal(err)
	}
}

func TestStateMapping(t *testing.T) {
	want := map[string]providers.PayoutState{
		"PA": providers.StateQueued, "PS": providers.StateProcessing, "C": providers.StateProcessing,
		"DC": providers.StateProcessing, "O": providers.StateProcessing, "U": providers.StateProcessed,
		"R": providers.StateRejected, "CF": providers.StateFailed, "DF": providers.StateFailed,
		"CN": providers.StateCancelled, "AR": providers.StateReversed, "CR": providers.StateReversed,
		"DL": providers.StateReversed,
	}
	for code, st := range want {
		got, ok := StateOf(code, "")
		if !ok || got != st {
			t.Errorf("%s → %s, want %s", code, got, st)
		}
	}
	if len(statusCodes) != len(want) {
		t.Errorf("table has %d codes, test knows %d", len(statusCodes), len(want))
	}
	if got, ok := StateOf("", "Transaction is in Progress"); !ok || got != providers.StateProcessing {
		t.Error("in-progress text")
	}
	if _, ok := StateOf("", "Data Not Found"); ok {
		t.Error("not found mapped to a state")
	}
	kinds := map[string]error{"001": providers.ErrRejected, "002": providers.ErrDuplicate, "003": providers.ErrRejected,
		"004": providers.ErrRejected, "006": providers.ErrRejected, "008": providers.ErrAuth, "009": providers.ErrRejected,
		"010": providers.ErrRejected, "011": providers.ErrOutcomeUnknown, "999": providers.ErrOutcomeUnknown}
	for code, k := range kinds {
		if err := ackError("Pay", code, ""); !errors.Is(err, k) || kotak.KindOf(err) != k {
			t.Errorf("%s → %v, want %v", code, err, k)
		}
	}
	for _, ok := range []string{"000", "005", "007"} {
		if err := ackError("Pay", ok, ""); err != nil {
			t.Errorf("%s is an error: %v", ok, err)
		}
	}
	if err := ackError("Pay", "006", "Duplicate InstRefNo"); !errors.Is(err, providers.ErrDuplicate) {
		t.Error("duplicate remark")
	}
}

func TestControlRoutes(t *testing.T) {
	e := newEnv(t, func(s *SandboxConfig, _ *Config) { s.PendingSendFor, s.InProcessFor = 0, 0 })
	e.ad.InitiatePayout(ctx, payout("CT-1", 500_00, providers.RailNEFT))
	e.ad.InitiatePayout(ctx, payout("CT-2", 600_00, providers.RailNEFT))
	e.ad.Authorise(ctx, []string{"CT-1"}, providers.Approve, "")
	code, body := e.control(t, "GET", "/instruments", nil)
	if code != 200 || !bytes.Contains(body, []byte(`"Status":"U"`)) || !bytes.Contains(body, []byte(`"Status":"PA"`)) {
		t.Fatalf("%d %s", code, body)
	}
	if code, _ := e.control(t, "GET", "/instruments/CT-9", nil); code != 404 {
		t.Fatal(code)
	}
	before := e.sb.Balance()
	if code, body := e.control(t, "POST", "/instruments/CT-1/status", map[string]string{"Status": "AR"}); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if e.sb.Balance() != before+500_00 {
		t.Fatal("returned money not credited back")
	}
	st, _ := e.ad.PayoutStatus(ctx, "CT-1")
	if st.State != providers.StateReversed {
		t.Fatalf("%+v", st)
	}
	if code, _ := e.control(t, "POST", "/instruments/CT-2/status", map[string]string{"Status": "U"}); code != 409 {
		t.Fatal("forced a payment through the control surface")
	}
	if code, _ := e.control(t, "POST", "/instruments/CT-2/status", map[string]string{"Status": "CN"}); code != 200 {
		t.Fatal("cancel PA")
	}
	if code, body := e.control(t, "PUT", "/balance", map[string]int64{"AvailablePaise": 42}); code != 200 || e.sb.Balance() != 42 {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := e.control(t, "GET", "/balance", nil); code != 200 || !bytes.Contains(body, []byte(`"Available":"0.42"`)) {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := e.control(t, "GET", "/ledger", nil); code != 200 || !bytes.Contains(body, []byte(`"ref":"CT-1"`)) {
		t.Fatalf("%d %s", code, body)
	}
	if code, _ := e.control(t, "POST", "/tokens/expire", nil); code != 204 {
		t.Fatal(code)
	}
	if _, err := e.client.StatusInquiry(ctx, "CT-1"); err != nil {
		t.Fatalf("client did not recover from expired tokens: %v", err)
	}
	if code, _ := e.control(t, "POST", "/pending", PortalInstrument{Amount: "1.001", BeneName: "x", BeneAcctNo: "1", RecBrCd: "HDFC0001234"}); code != 422 {
		t.Fatal("portal instrument with 3 decimals accepted")
	}
}
