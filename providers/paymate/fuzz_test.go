package paymate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"paydesk/providers"
)

// Seed corpus shared by the decoder fuzzers: the seed page's samples in both
// envelope spellings, and odd shapes.
var envelopeSeeds = []string{
	`{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success","Response":{"XpressBalance":"6000070.20"}}`,
	`{"strXpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success","ResponseText":{"TransactionRefNo":"816618019204","OrderID":"WAT432562"}}`,
	`{"strXpressID":"LEGM000001","strErrorCode":"000","strErrorDescription":"Success","Response":{"TransactionRefNo":"811714017155","OrderID":"JSQ2456734"}}`,
	`{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success","Response":[{"OrderId":"WAT9856343","TransactionRefNo":"816618019204","PaidAmount":1000000.00,"Commission":10.00,"transactionDate":"24-04-2018 14:45:21","TransactionStatus":"202","TrasnsactionMessage":"Sent to bank","BankRefNo":"P795109156364004"}]}`,
	`{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success","Response":[{"TransactionRefNo":"811618017151","Amount":10.00,"TrasnsactioStatus":"250","TrasnsactionMessage":"Pending","BankRefNo":null,"RequestDate":"26/04/2018 18:27:55","PaymentDate":null,"OrderId":"rest0"}]}`,
	`{"XpressID":"LEGM000001","ErrorCode":"000","Response":{"TransactionStatus":202,"strBankRefNo":"N234567895434","IsBankResponse":"true","Amount":"1000000.00"}}`,
	`{"XpressID":"LEGM000001","ErrorCode":"000","Response":"{\"VirtualAccountNo\":\"PAYMYS123456\",\"VANIFSC\":\"CITI0100000\",\"ContactXpressID\":\"TEMH000012\"}"}`,
	`{"XpressID":"LEGM000001","ErrorCode":"227","ErrorDescription":"OrderID Already Exsits.","Response":""}`,
	`{"ErrorCode":0,"Response":null}`,
	`{"encData":"1vUyodljGzs04yFOZj5jgzwEWNtpE/1fvHPK902Zlp9lljz+rCff1zYz7rQIGYVgoYxKsnYmeQSvdget2GQ4V35VOUavKJktDswZoTSR3Zw="}`,
	`{"Response":[1e400],"ErrorCode":"000"}`,
	`[]`, `null`, `{"ErrorCode":{"a":1}}`,
}

// decodeAll runs every typed Response decoder over raw.
func decodeAll(raw json.RawMessage) {
	var a wireContactResult
	var b []wireContact
	var c wireRef
	var d wireApproval
	var e []wirePaymentRow
	var f wireBalance
	var g []wireRequestRow
	for _, out := range []any{&a, &b, &c, &d, &e, &f, &g} {
		_ = decodeResponse(raw, out)
	}
	for _, r := range e {
		parseWireTime(string(r.TransactionDate))
	}
	for _, r := range g {
		parseWireTime(string(r.RequestDate))
		parseWireTime(string(r.PaymentDate))
	}
}

func FuzzDecodeBody(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add([]byte(s))
		f.Add([]byte(sealed(f, s)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, _, err := decodeBody(body, DefaultEncField, demoBox)
		if err != nil {
			return
		}
		if env.Code == "" {
			t.Fatal("decoded an envelope without a code")
		}
		decodeAll(env.Response)
	})
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range envelopeSeeds {
		if env, err := decodeEnvelope([]byte(s)); err == nil {
			f.Add([]byte(env.Response))
		}
	}
	f.Add([]byte(`{"PaidAmount":"1,00,000.5","transactionDate":"31-12-2025 23:59:59"}`))
	f.Add([]byte(`[{"Amount":-1},{"Amount":"x"}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		decodeAll(raw)
		var amt wireAmount
		if amt.UnmarshalJSON(raw) == nil && amt < 0 {
			t.Fatalf("negative amount from %q", raw)
		}
	})
}

// fuzzTransport answers every request with the fuzzed status and body.
type fuzzTransport struct {
	status int
	body   []byte
}

func (ft fuzzTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: ft.status, Body: io.NopCloser(bytes.NewReader(ft.body)), Header: http.Header{}, Request: r}, nil
}

// FuzzClientAnswer drives every client method with an arbitrary answer:
// no panic, every failure typed, and a write is never called "transient"
// (safe to resend) unless PayMate said so.
func FuzzClientAnswer(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add(200, []byte(s), false)
		f.Add(200, []byte(s), true)
	}
	f.Add(503, []byte("service temporarily unavailable"), false)
	f.Add(429, []byte(""), false)
	f.Add(500, []byte(`{"ErrorCode":"999"}`), false)
	f.Fuzz(func(t *testing.T, status int, body []byte, seal bool) {
		if status < 100 || status > 999 {
			return
		}
		if seal {
			body = []byte(sealed(t, string(body)))
		}
		cfg := DemoConfig("http://paymate.invalid")
		cfg.HTTPClient = &http.Client{Transport: fuzzTransport{status, body}}
		cfg.ReadAttempts = 1
		c, err := NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		x := context.Background()
		check := func(write bool, err error) {
			if err == nil {
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind == nil || !strings.HasPrefix(err.Error(), "paymate: ") {
				t.Fatalf("untyped error %v", err)
			}
			if write && errors.Is(err, providers.ErrTransient) && status != http.StatusTooManyRequests {
				t.Fatalf("write called transient on status %d: %v", status, err)
			}
		}
		_, err = c.AddContact(x, NewContact{})
		check(true, err)
		_, err = c.GetContactList(x, ContactQuery{})
		check(false, err)
		_, err = c.BookPayment(x, BookPaymentRequest{})
		check(true, err)
		_, err = c.BookPaymentsByXpressID(x, BookByXpressIDRequest{})
		check(true, err)
		_, err = c.ApprovePayment(x, ApprovePaymentRequest{})
		check(true, err)
		_, err = c.GetPaymentReport(x, PaymentQuery{})
		check(false, err)
		_, err = c.GetXpressAccountBalance(x)
		check(false, err)
		_, err = c.VendorRequestPayment(x, VendorPaymentRequest{})
		check(true, err)
		_, err = c.RequestPayment(x, PaymentRequest{})
		check(true, err)
		_, err = c.RequestPaymentByXpressID(x, PaymentRequestByXpressID{})
		check(true, err)
		_, err = c.GetRequestPaymentReport(x, RequestQuery{})
		check(false, err)
	})
}

var fuzzMethods = func() []string {
	var m []string
	for k := range apiMethods {
		m = append(m, k)
	}
	slices.Sort(m)
	return append(m, "NoSuchMethod")
}()

// checkSandboxAnswer asserts the sandbox answered with a PayMate envelope
// whose code is in the table.
func checkSandboxAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("status %d", rec.Code)
	}
	env, _, err := decodeBody(rec.Body.Bytes(), DefaultEncField, demoBox)
	if err != nil {
		t.Fatalf("answer unreadable: %v: %s", err, rec.Body.Bytes())
	}
	if _, ok := codes[env.Code]; !ok {
		t.Fatalf("code %q not in the table", env.Code)
	}
}

func newFuzzSandbox() *Sandbox {
	return NewSandbox(SandboxConfig{OpeningBalancePaise: 1 << 50, AllowedIPs: []string{"10.0.0.0/8"}})
}

func sandboxPost(s *Sandbox, method string, hdr map[string]string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, servicePath+method, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

var demoHeaders = map[string]string{HeaderBusiness: DemoBusinessID, HeaderTerminal: DemoTerminalID, HeaderXpressID: DemoXpressID}

// FuzzSandboxRequest feeds arbitrary decrypted requests to every method.
func FuzzSandboxRequest(f *testing.F) {
	samples := []string{
		`{"CompanyName":"Nelson Group","FirstName":"Watson","LastName":"Nelson","EmailId":"abc@watson.com","MobileNo":"8811224455","ReferenceCode":"200051","AccountNo":"PAYMY200AM45","IFSCode":"CITI0100000","GSTIN":"27ATYPR6435K1N0"}`,
		`{"CompanyName":"Watson Group","ReceiverEmailId":"abc@watson.com","AccountNo":"PAYMY200AM45","IFSCode":"CITI0100000","OrderId":"WAT432562","Amount":"1000000","PaymentType":"Normal","PaymentFrom":"XpressAccount"}`,
		`{"ClientXpressId":"TEMH000012","OrderID":"WAT9856343","Amount":"1000000","PaymentType":"Normal","PaymentFrom":"XpressAccount"}`,
		`{"AprovalAction":"Approve","OrderId":"WAT432562","Reason":"","TransactionRefNo":""}`,
		`{"OrderId":"WAT9856343","TransactionRefNo":"","FromDate":"01/01/2026","ToDate":"31/12/2026"}`,
		`{"ClientXpressId":"JSQA000001","OrderID":"JSQ2456734","Amount":"100000","Remarks":"Please make the payment on time."}`,
		`{"CompanyName":"Nelson Group","EmailID":"account@nelson.co","ContactName":"Watson Nelson","OrderId":"NEL3498654","Amount":100000,"MobileNo":"7700112100"}`,
		`{"CompanyCode":"200050"}`, `{}`, `[]`, `{"Amount":{"x":1}}`, `{"OrderId":null}`, "\x00",
	}
	for i, s := range samples {
		f.Add(uint8(i), []byte(s))
	}
	s := NewSandbox(SandboxConfig{OpeningBalancePaise: 1 << 50})
	f.Fuzz(func(t *testing.T, m uint8, plain []byte) {
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		body := sealed(t, string(plain))
		checkSandboxAnswer(t, sandboxPost(s, method, demoHeaders, []byte(body)))
		if dup := s.Ledger().Duplicates(); len(dup) != 0 {
			t.Fatalf("paid twice: %v", dup)
		}
	})
}

// FuzzSandboxRawBody feeds arbitrary bodies and header sets, unencrypted.
func FuzzSandboxRawBody(f *testing.F) {
	f.Add(uint8(0), []byte(`{"encData":"1vUyodljGzs04yFOZj5jgzwEWNtpE/1fvHPK902Zlp9lljz+rCff1zYz7rQIGYVgoYxKsnYmeQSvdget2GQ4V35VOUavKJktDswZoTSR3Zw="}`))
	f.Add(uint8(1), []byte(`{"encData":"***"}`))
	f.Add(uint8(2), []byte(`{"encData":12}`))
	f.Add(uint8(3), []byte(`not json`))
	f.Add(uint8(4), []byte{})
	s := NewSandbox(SandboxConfig{})
	blocked := newFuzzSandbox()
	f.Fuzz(func(t *testing.T, h uint8, body []byte) {
		hdr := map[string]string{}
		for k, v := range demoHeaders {
			hdr[k] = v
		}
		switch h % 6 {
		case 1:
			delete(hdr, HeaderXpressID)
		case 2:
			hdr = map[string]string{}
		case 3:
			hdr[HeaderMerchant] = hdr[HeaderBusiness]
			delete(hdr, HeaderBusiness)
		case 4:
			hdr[HeaderUserEmail] = string(body[:min(len(body), 40)])
		case 5:
			checkSandboxAnswer(t, sandboxPost(blocked, "GetXpressAccountBalance", hdr, body))
			return
		}
		method := fuzzMethods[int(h)%len(fuzzMethods)]
		checkSandboxAnswer(t, sandboxPost(s, method, hdr, body))
	})
}

// FuzzSandboxControl feeds arbitrary bodies to the control routes.
func FuzzSandboxControl(f *testing.F) {
	routes := []struct{ method, path string }{
		{"POST", "/payments"}, {"POST", "/vendor-requests"}, {"POST", "/requests/REQ1/paid"},
		{"POST", "/requests/REQ1/expire"}, {"PUT", "/balance"}, {"PUT", "/faults"},
	}
	f.Add(uint8(0), []byte(`{"company_name":"Landlord","account_no":"918020012345678","ifsc":"UTIB0000123","amount_paise":100}`))
	f.Add(uint8(1), []byte(`{"contact_xpress_id":"JSQA000001","amount_paise":100}`))
	f.Add(uint8(2), []byte(`{"bank_ref_no":"612345678901"}`))
	f.Add(uint8(3), []byte(``))
	f.Add(uint8(4), []byte(`{"paise":5}`))
	f.Add(uint8(5), []byte(`{"seed":3}`))
	s := NewSandbox(SandboxConfig{})
	ref, _ := s.requestPayment(call{f: asFields(map[string]string{"OrderID": "REQ1", "CompanyName": "Acme", "SenderName": "Asha",
		"EmailID": "a@acme.in", "MobileNo": "9123456780", "Amount": "10"}), now: time.Now()})
	if ref != codeSuccess {
		f.Fatal(ref)
	}
	f.Fuzz(func(t *testing.T, r uint8, body []byte) {
		rt := routes[int(r)%len(routes)]
		if rt.path == "/faults" {
			return // would switch faults on for the API; the shared route is sandboxkit's
		}
		req := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		s.Control().ServeHTTP(rec, req)
		if rec.Code >= 500 || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: %d %s", rt.method, rt.path, rec.Code, rec.Body.Bytes())
		}
	})
}

// FuzzFields checks the request-field parser and every rule table: whatever
// passes respects its own limits.
func FuzzFields(f *testing.F) {
	f.Add([]byte(`{"OrderId":"A1","Amount":"10.5","FromDate":"01/02/2026","ToDate":"01/01/2026"}`))
	f.Add([]byte(`{"orderid":123,"AMOUNT":1e3,"IFSCode":"CITI0100000","GSTIN":"27ATYPR6435K1N0"}`))
	f.Add([]byte(`{"EmailId":"a@b.co","MobileNo":"9123456780","CompanyName":"A, B. @!'-"}`))
	tables := [][]rule{rulesAddContact, rulesContactList, rulesBookPayment, rulesBookByXpressID, rulesApprove,
		rulesPaymentReport, rulesVendorRequest, rulesRequestPayment, rulesRequestByXpressID, rulesRequestReport}
	f.Fuzz(func(t *testing.T, plain []byte) {
		fl, err := parseFields(plain)
		if err != nil {
			return
		}
		for _, tb := range tables {
			v, code := fl.apply(tb)
			if code != "" {
				if _, ok := codes[code]; !ok {
					t.Fatalf("code %q not in the table", code)
				}
				continue
			}
			for _, r := range tb {
				val := v[r.names[0]]
				if utf8.RuneCountInString(val) > r.max || (val != "" && r.check != nil && !r.check(val)) {
					t.Fatalf("%s=%q passed", r.names[0], val)
				}
				if r.required && val == "" {
					t.Fatalf("required %s missing", r.names[0])
				}
			}
			dateRange(v)
		}
	})
}

func FuzzWireAmount(f *testing.F) {
	for _, s := range []string{"1000000", "1000000.00", "0.01", "9999999.99", "10000000", "1,000", "-1", "1e5", " 5", "00012.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := parseWireAmount(s)
		if !ok {
			return
		}
		if p <= 0 || p > maxAmountPaise {
			t.Fatalf("%q → %d", s, p)
		}
		back, ok := parseWireAmount(providers.FormatAmount(p))
		if !ok || back != p {
			t.Fatalf("%q → %d → %q → %d", s, p, providers.FormatAmount(p), back)
		}
	})
}
