package paymate

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/providers"
)

// fakePayMate answers every request with the handler's plaintext envelope,
// encrypted with the demo key, and counts requests.
type fakePayMate struct {
	srv   *httptest.Server
	calls atomic.Int32
}

func newFake(t *testing.T, h func(n int, w http.ResponseWriter, r *http.Request)) (*fakePayMate, *Client) {
	t.Helper()
	f := &fakePayMate{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.calls.Add(1))
		h(n, w, r)
	}))
	t.Cleanup(f.srv.Close)
	cfg := DemoConfig(f.srv.URL)
	cfg.Timeout = 300 * time.Millisecond
	cfg.RetryBackoff = time.Millisecond
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

var demoBox, _ = newCipherBox([]byte(DemoKey), []byte(DemoIV))

func sealed(t testing.TB, plain string) string {
	text, err := demoBox.seal([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"encData": text})
	return string(b)
}

func writeSealed(t testing.TB, w http.ResponseWriter, plain string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(sealed(t, plain)))
}

// The seed's samples, with their JSON typos (missing and trailing commas)
// mended, decode in every spelling they use.
func TestSeedSampleEnvelopes(t *testing.T) {
	samples := map[string]string{
		"BookPayment": `{"strXpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success",
			"ResponseText":{"TransactionRefNo":"816618019204","OrderID":"WAT432562"}}`,
		"BookPaymentsByXpressID": `{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success",
			"ResponseText":{"TransactionRefNo":"816619019205","OrderID":"WAT9856343"}}`,
		"VendorRequestPayment": `{"strXpressID":"LEGM000001","strErrorCode":"000","strErrorDescription":"Success",
			"Response":{"TransactionRefNo":"811714017155","OrderID":"JSQ2456734"}}`,
		"RequestPayment": `{"strXpressID":"LEGM000001","strErrorCode":"000","strErrorDescription":"Success",
			"Response":{"TransactionRefNo":"811617017149","OrderID":"NEL3498654"}}`,
		"ApprovePayment": `{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success",
			"Response":{"TransactionStatus":"202","TransactionMessage":"Sent to bank","strBankRefNo":"N234567895434",
			"IsBankResponse":true,"TransactionRefNo":"816618019204","OrderID":"WAT9856343","Amount":"1000000.00",
			"CompanyName":"Watson Group","AccountNo":"PAYMY200AM45",
			"PaymentURL":"https://xyz.com/SenderAuthentication.aspx?abc=BA44590&prakriya=AB567B3F"}}`,
		"GetPaymentReport": `{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success","Response":[{
			"OrderId":"WAT9856343","TransactionRefNo":"816618019204","CompanyName":"Nelson Group","AccountNo":"PAYMY200AM45",
			"ReceiverIFSC":"CITI0100000","TransactionType":"Xpress Account","PaidAmount":1000000.00,"Commission":10.00,
			"ServiceTax":1.80,"NetAmount":1000010.80,"transactionDate":"24-04-2018 14:45:21","TransactionStatus":"202",
			"TrasnsactionMessage":"Sent to bank","BankRefNo":"P795109156364004","BankSummary":"SENT_TO_BENEFICIARY"}]}`,
		"GetRequestPaymentReport": `{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success","Response":[{
			"TransactionRefNo":"811618017151","CompanyName":"test","CompanyCode":"rsma","Amount":10.00,
			"TrasnsactioStatus":"250","TrasnsactionMessage":"Pending","BankRefNo":null,"RequestDate":"26/04/2018 18:27:55",
			"PaymentDate":null,"OrderId":"rest0"}]}`,
		"GetXpressAccountBalance": `{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success",
			"Response":{"XpressBalance":"6000070.20"}}`,
		"AddContact": `{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Contact saved successfully.",
			"Response":{"VirtualAccountNo":"PAYMYS123456","VANIFSC":"CITI0100000","ContactXpressID":"TEMH000012"}}`,
		"GetContactList": `{"XpressID":"LEGM000001","ErrorCode":"000","ErrorDescription":"Success","Response":[{
			"CompanyName":"Nelson Group","FirstName":"Watson","LastName":"Nelson","NickName":"Watson","EmailId":"abc@watson.com",
			"MobileNo":"8811224455","CompanyAddress":"Mumbai","ReferenceCode":"200050","AccountNo":"PAYMY200AM45",
			"IFSCode":"CITI0100000","VirtualAccountNo":"PAYMYS123456","VANIFSC":"CITI0100000","ContactXpressID":"TEMH000012"}]}`,
	}
	_, c := newFake(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		writeSealed(t, w, samples[r.URL.Path[len(servicePath):]])
	})
	x := ctx(t)
	ref, err := c.BookPayment(x, BookPaymentRequest{})
	if err != nil || ref != (Ref{"816618019204", "WAT432562", "000"}) {
		t.Fatalf("BookPayment %+v %v", ref, err)
	}
	ref, err = c.BookPaymentsByXpressID(x, BookByXpressIDRequest{})
	if err != nil || ref.TransactionRefNo != "816619019205" {
		t.Fatalf("BookPaymentsByXpressID %+v %v", ref, err)
	}
	ref, err = c.VendorRequestPayment(x, VendorPaymentRequest{})
	if err != nil || ref != (Ref{"811714017155", "JSQ2456734", "000"}) {
		t.Fatalf("VendorRequestPayment %+v %v", ref, err)
	}
	ref, err = c.RequestPayment(x, PaymentRequest{})
	if err != nil || ref.OrderID != "NEL3498654" {
		t.Fatalf("RequestPayment %+v %v", ref, err)
	}
	ap, err := c.ApprovePayment(x, ApprovePaymentRequest{})
	if err != nil || ap.TransactionStatus != "202" || ap.BankRefNo != "N234567895434" || !ap.IsBankResponse || ap.AmountPaise != 10_00_000_00 ||
		ap.PaymentURL != "https://xyz.com/SenderAuthentication.aspx?abc=BA44590&prakriya=AB567B3F" {
		t.Fatalf("ApprovePayment %+v %v", ap, err)
	}
	rows, err := c.GetPaymentReport(x, PaymentQuery{})
	wantRow := PaymentRecord{OrderID: "WAT9856343", TransactionRefNo: "816618019204", CompanyName: "Nelson Group", AccountNo: "PAYMY200AM45",
		ReceiverIFSC: "CITI0100000", TransactionType: "Xpress Account", PaidPaise: 10_00_000_00, CommissionPaise: 10_00, ServiceTaxPaise: 1_80,
		NetPaise: 10_00_010_80, TransactionDate: time.Date(2018, 4, 24, 14, 45, 21, 0, ist), TransactionStatus: "202",
		Message: "Sent to bank", BankRefNo: "P795109156364004", BankSummary: "SENT_TO_BENEFICIARY"}
	if err != nil || len(rows) != 1 || rows[0] != wantRow {
		t.Fatalf("GetPaymentReport\n got %+v %v\nwant %+v", rows, err, wantRow)
	}
	reqs, err := c.GetRequestPaymentReport(x, RequestQuery{OrderID: "rest0"})
	if err != nil || len(reqs) != 1 || reqs[0].Status != "250" || reqs[0].Message != "Pending" || reqs[0].AmountPaise != 10_00 ||
		reqs[0].BankRefNo != "" || !reqs[0].PaymentDate.IsZero() || !reqs[0].RequestDate.Equal(time.Date(2018, 4, 26, 18, 27, 55, 0, ist)) {
		t.Fatalf("GetRequestPaymentReport %+v %v", reqs, err)
	}
	bal, err := c.GetXpressAccountBalance(x)
	if err != nil || bal != 6000070_20 {
		t.Fatalf("balance %d %v", bal, err)
	}
	added, err := c.AddContact(x, NewContact{})
	if err != nil || added != (ContactAdded{"TEMH000012", "PAYMYS123456", "CITI0100000"}) {
		t.Fatalf("AddContact %+v %v", added, err)
	}
	list, err := c.GetContactList(x, ContactQuery{})
	if err != nil || len(list) != 1 || list[0].ContactXpressID != "TEMH000012" || list[0].ReferenceCode != "200050" {
		t.Fatalf("GetContactList %+v %v", list, err)
	}
}

func TestEnvelopeVariants(t *testing.T) {
	cases := map[string]struct {
		body string
		code string
		resp string
	}{
		"plain":          {`{"XpressID":"X","ErrorCode":"000","ErrorDescription":"Success","Response":{"a":1}}`, "000", `{"a":1}`},
		"str spellings":  {`{"strXpressID":"X","strErrorCode":"227","strErrorDescription":"dup","ResponseText":""}`, "227", ""},
		"numeric code":   {`{"XpressID":"X","ErrorCode":0,"Response":[1]}`, "000", `[1]`},
		"null response":  {`{"XpressID":"X","ErrorCode":"225","Response":null}`, "225", ""},
		"ResponseText":   {`{"XpressID":"X","ErrorCode":"000","Response":"","ResponseText":{"b":2}}`, "000", `{"b":2}`},
		"numeric status": {`{"ErrorCode":199,"Response":{}}`, "199", `{}`},
	}
	for name, c := range cases {
		env, err := decodeEnvelope([]byte(c.body))
		if err != nil || env.Code != c.code || string(env.Response) != c.resp {
			t.Errorf("%s: %+v %v", name, env, err)
		}
	}
	for _, bad := range []string{`{}`, `[]`, `{"XpressID":"X"}`, `{"ErrorCode":{}}`, `nope`} {
		if _, err := decodeEnvelope([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
	// A JSON string holding JSON, and one object where a list is expected.
	var rows []wireRef
	if err := decodeResponse(json.RawMessage(`"{\"TransactionRefNo\":\"1\",\"OrderID\":\"A\"}"`), &rows); err != nil || len(rows) != 1 || rows[0].OrderID != "A" {
		t.Errorf("string-wrapped object as list: %+v %v", rows, err)
	}
	var one wireRef
	if err := decodeResponse(json.RawMessage(`[{"TransactionRefNo":"1","OrderID":"B"}]`), &one); err != nil || one.OrderID != "B" {
		t.Errorf("list of one as object: %+v %v", one, err)
	}
	if err := decodeResponse(json.RawMessage(`[{},{}]`), &one); err == nil {
		t.Error("list of two as object")
	}
}

func TestClientFailureKinds(t *testing.T) {
	type result struct {
		kind  error
		calls int
	}
	cases := []struct {
		name    string
		handler func(n int, w http.ResponseWriter, r *http.Request)
		write   result // BookPayment
		read    result // GetPaymentReport
	}{
		{"503", func(_ int, w http.ResponseWriter, _ *http.Request) { http.Error(w, "busy", 503) },
			result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
		{"500 with plain PayMate error", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`{"XpressID":"X","ErrorCode":"101","ErrorDescription":"no"}`))
		}, result{providers.ErrAuth, 1}, result{providers.ErrAuth, 1}},
		{"404", func(_ int, w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) },
			result{providers.ErrRejected, 1}, result{providers.ErrRejected, 1}},
		{"409", func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(409) },
			result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
		{"408", func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(408) },
			result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
		{"401", func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(401) },
			result{providers.ErrAuth, 1}, result{providers.ErrAuth, 1}},
		{"429", func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(429) },
			result{providers.ErrTransient, 1}, result{providers.ErrTransient, 3}},
		{"malformed", func(_ int, w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"encData":"abc`)) },
			result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
		{"undecryptable", func(_ int, w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"encData":"AAAAAAAAAAAAAAAAAAAAAA=="}`))
		}, result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
		{"plain success is not trusted", func(_ int, w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"XpressID":"X","ErrorCode":"000","Response":{"TransactionRefNo":"1","OrderID":"A"}}`))
		}, result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
		{"plain 227", func(_ int, w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"XpressID":"X","ErrorCode":"227","ErrorDescription":"OrderID Already Exsits."}`))
		}, result{providers.ErrDuplicate, 1}, result{providers.ErrDuplicate, 1}},
		{"999", func(_ int, w http.ResponseWriter, _ *http.Request) {
			writeSealed(t, w, `{"XpressID":"X","ErrorCode":"999","ErrorDescription":"Technical error","Response":""}`)
		}, result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
		{"unknown code", func(_ int, w http.ResponseWriter, _ *http.Request) {
			writeSealed(t, w, `{"XpressID":"X","ErrorCode":"555","ErrorDescription":"??","Response":""}`)
		}, result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
		{"success without Response", func(_ int, w http.ResponseWriter, _ *http.Request) {
			writeSealed(t, w, `{"XpressID":"X","ErrorCode":"000","ErrorDescription":"Success","Response":""}`)
		}, result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
		{"hang", func(_ int, w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}, result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
		{"drop", func(_ int, w http.ResponseWriter, _ *http.Request) { panic(http.ErrAbortHandler) },
			result{providers.ErrOutcomeUnknown, 1}, result{providers.ErrTransient, 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t, tc.handler)
			_, err := c.BookPayment(ctx(t), BookPaymentRequest{OrderID: "A"})
			if !errors.Is(err, tc.write.kind) || int(f.calls.Load()) != tc.write.calls {
				t.Fatalf("write: %v after %d calls, want %v after %d", err, f.calls.Load(), tc.write.kind, tc.write.calls)
			}
			f.calls.Store(0)
			_, err = c.GetPaymentReport(ctx(t), PaymentQuery{OrderID: "A"})
			if !errors.Is(err, tc.read.kind) || int(f.calls.Load()) != tc.read.calls {
				t.Fatalf("read: %v after %d calls, want %v after %d", err, f.calls.Load(), tc.read.kind, tc.read.calls)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Op != "GetPaymentReport" {
				t.Fatalf("not a typed error: %#v", err)
			}
		})
	}

	// Reads recover: a 503 then a good answer.
	f, c := newFake(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			http.Error(w, "busy", 503)
			return
		}
		writeSealed(t, w, `{"XpressID":"X","ErrorCode":"000","Response":{"XpressBalance":"12.34"}}`)
	})
	if b, err := c.GetXpressAccountBalance(ctx(t)); err != nil || b != 12_34 || f.calls.Load() != 2 {
		t.Fatalf("retry: %d %v after %d", b, err, f.calls.Load())
	}

	// Nothing listening: the request never left, so it is transient even for a write.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	cfg := DemoConfig(dead.URL)
	cfg.RetryBackoff = time.Millisecond
	dc, _ := NewClient(cfg)
	_, err := dc.BookPayment(ctx(t), BookPaymentRequest{OrderID: "A"})
	if !errors.Is(err, providers.ErrTransient) || errors.Is(err, providers.ErrOutcomeUnknown) {
		t.Fatalf("refused: %v", err)
	}
}

func TestClientHeadersAndPath(t *testing.T) {
	var got http.Header
	var path string
	_, c := newFake(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		got, path = r.Header.Clone(), r.URL.Path
		writeSealed(t, w, `{"XpressID":"X","ErrorCode":"000","Response":{"XpressBalance":"1"}}`)
	})
	c.cfg.UserEmail = "maker@demo.paydesk.in"
	if _, err := c.GetXpressAccountBalance(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if path != "/PMXClients.svc/PMXClients/GetXpressAccountBalance" || got.Get(HeaderBusiness) != DemoBusinessID ||
		got.Get(HeaderTerminal) != DemoTerminalID || got.Get(HeaderXpressID) != DemoXpressID ||
		got.Get(HeaderUserEmail) != "maker@demo.paydesk.in" || got.Get("Content-Type") != "application/json" {
		t.Fatalf("path %s headers %v", path, got)
	}
	if _, err := NewClient(Config{BaseURL: "x", BusinessIdentification: "a", TerminalIdentification: "b", XpressID: "c", Key: []byte("short"), IV: make([]byte, 16)}); err == nil {
		t.Fatal("short key accepted")
	}
	if _, err := NewClient(Config{Key: []byte(DemoKey), IV: []byte(DemoIV)}); err == nil {
		t.Fatal("missing ids accepted")
	}
}
