package paymate

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"paydesk/providers"
)

// Acceptance: a client holding the wrong AES key gets 102.
func TestWrongKeyIs102(t *testing.T) {
	e := newEnv(t)
	bad := e.client(t, func(c *Config) { c.Key = []byte("AnotherThirtyTwoByteAESKey000000") })
	_, err := bad.GetXpressAccountBalance(ctx(t))
	wantCode(t, err, "102", providers.ErrAuth)
	_, err = bad.BookPayment(ctx(t), BookPaymentRequest{CompanyName: "Watson Group", AccountNo: "PAYMY200AM45", IFSCode: "CITI0100000", OrderID: "K1", AmountPaise: 100})
	wantCode(t, err, "102", providers.ErrAuth)
	if !strings.HasPrefix(err.Error(), "paymate: BookPayment: 102 Request Data Decryption Failed") {
		t.Fatalf("message %q", err)
	}
	badIV := e.client(t, func(c *Config) { c.IV = []byte("0000000000000000") })
	_, err = badIV.GetXpressAccountBalance(ctx(t))
	wantCode(t, err, "102", providers.ErrAuth)
	wrongField := e.client(t, func(c *Config) { c.EncField = "data" })
	_, err = wrongField.GetXpressAccountBalance(ctx(t))
	wantCode(t, err, "102", providers.ErrAuth)
	// Nothing was booked.
	_, err = e.c.GetPaymentReport(ctx(t), PaymentQuery{OrderID: "K1"})
	wantCode(t, err, "225", providers.ErrNotFound)
}

func TestHeaderChecks(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		mod  func(*Config)
		code string
	}{
		{"unknown business", func(c *Config) { c.BusinessIdentification = "PMXDEMOBUSINESS0000000000000002A" }, "101"},
		{"unknown terminal", func(c *Config) { c.TerminalIdentification = "X" }, "101"},
		{"unknown XpressID", func(c *Config) { c.XpressID = "LEGM000002" }, "103"},
		{"unknown user", func(c *Config) { c.UserEmail = "nobody@demo.paydesk.in" }, "101"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client(t, tc.mod).GetXpressAccountBalance(ctx(t))
			wantCode(t, err, tc.code, providers.ErrAuth)
		})
	}
	// No identification at all: 120. Not POST: 129. Tampered ciphertext: 105.
	post := func(method, path string, hdr map[string]string, body string) envelope {
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		env, err := decodeEnvelope(raw)
		if err != nil {
			t.Fatalf("%s %s: plain envelope expected: %v %s", method, path, err, raw)
		}
		return env
	}
	ids := map[string]string{HeaderBusiness: DemoBusinessID, HeaderTerminal: DemoTerminalID, HeaderXpressID: DemoXpressID}
	if env := post("POST", servicePath+"GetXpressAccountBalance", nil, `{}`); env.Code != "120" {
		t.Fatalf("no headers: %+v", env)
	}
	if env := post("GET", servicePath+"GetXpressAccountBalance", ids, ``); env.Code != "129" {
		t.Fatalf("GET: %+v", env)
	}
	if env := post("POST", servicePath+"GetXpressAccountBalance", ids, `{"encData":"***"}`); env.Code != "105" {
		t.Fatalf("tampered: %+v", env)
	}
	if env := post("POST", servicePath+"GetXpressAccountBalance", ids, `{"encData":"AAAAAAAAAAAAAAAAAAAAAAAA"}`); env.Code != "105" {
		t.Fatalf("cut ciphertext: %+v", env)
	}
	if env := post("POST", servicePath+"GetXpressAccountBalance", ids, `{"OrderId":"plain"}`); env.Code != "102" {
		t.Fatalf("unencrypted: %+v", env)
	}
	if env := post("POST", servicePath+"GetXpressAccountBalance", ids, `not json`); env.Code != "102" {
		t.Fatalf("not json: %+v", env)
	}
	if env := post("POST", servicePath+"GetXpressAccountBalance", ids, `{"encData":"`+strings.Repeat("A", maxBody)+`"}`); env.Code != "105" {
		t.Fatalf("oversized: %+v", env)
	}
	// Unknown request type: 104 (encrypted: the caller is known).
	_, err := e.c.call(ctx(t), "DeleteEverything", true, struct{}{}, new(json.RawMessage))
	wantCode(t, err, "104", providers.ErrAuth)
}

func TestUserRoles(t *testing.T) {
	e := newEnv(t)
	maker := e.client(t, func(c *Config) { c.UserEmail = DemoMakerEmail })
	viewer := e.client(t, func(c *Config) { c.UserEmail = "VIEWER@demo.paydesk.in" })
	if _, err := maker.BookPayment(ctx(t), BookPaymentRequest{CompanyName: "Watson Group", AccountNo: "PAYMY200AM45", IFSCode: "CITI0100000", OrderID: "M1", AmountPaise: 100}); err != nil {
		t.Fatal(err)
	}
	_, err := maker.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "M1", Action: ActionApprove})
	wantCode(t, err, "104", providers.ErrAuth)
	_, err = viewer.BookPayment(ctx(t), BookPaymentRequest{CompanyName: "Watson Group", AccountNo: "PAYMY200AM45", IFSCode: "CITI0100000", OrderID: "V1", AmountPaise: 100})
	wantCode(t, err, "104", providers.ErrAuth)
	if _, err := viewer.GetPaymentReport(ctx(t), PaymentQuery{OrderID: "M1"}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sb.Ledger().Entries()); n != 0 {
		t.Fatal("maker's approval executed")
	}
	// Admin (no UserEmail) approves.
	if _, err := e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "M1", Action: ActionApprove}); err != nil {
		t.Fatal(err)
	}
}

func TestIPAllowList(t *testing.T) {
	blocked := newEnv(t, func(s *SandboxConfig, _ *Config) { s.AllowedIPs = []string{"10.0.0.0/8", "192.168.1.7"} })
	_, err := blocked.c.GetXpressAccountBalance(ctx(t))
	wantCode(t, err, "192", providers.ErrAuth)
	allowed := newEnv(t, func(s *SandboxConfig, _ *Config) { s.AllowedIPs = []string{"10.0.0.0/8", "127.0.0.1", "::1"} })
	if _, err := allowed.c.GetXpressAccountBalance(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// Field validation per the seed's tables: each case changes one member of a
// valid request and expects PayMate's code for it.
func TestFieldValidation(t *testing.T) {
	e := newEnv(t)
	valid := map[string]map[string]any{
		"AddContact": {"CompanyName": "Nelson Group", "FirstName": "Watson", "LastName": "Nelson", "NickName": "Watson",
			"EmailId": "abc@watson.com", "MobileNo": "8811224455", "CompanyAddress": "Mumbai", "ReferenceCode": "V200050",
			"AccountNo": "PAYMY200AM45", "IFSCode": "CITI0100000", "GSTIN": "27ATYPR6435K1N0"},
		"BookPayment": {"CompanyName": "Watson Group", "ReceiverEmailId": "abc@watson.com", "CompanyMobileNo": "8811224455",
			"AccountNo": "PAYMY200AM45", "IFSCode": "CITI0100000", "OrderId": "V1", "Amount": "1000000",
			"PaymentType": "Normal", "PaymentFrom": "XpressAccount", "Remarks": "Payment for the invoice no WAT345678",
			"ReturnURL": "https://paydesk.example/back?x=1"},
		"BookPaymentsByXpressID": {"ClientXpressId": "TEMH000012", "OrderID": "V1", "Amount": "1000000",
			"PaymentType": "Normal", "PaymentFrom": "XpressAccount", "Remarks": "Payment against the invoice no WAT3456789"},
		"ApprovePayment":           {"AprovalAction": "Approve", "OrderId": "APPR1", "Reason": "", "TransactionRefNo": ""},
		"GetPaymentReport":         {"OrderId": "APPR1", "TransactionRefNo": "", "FromDate": "", "ToDate": ""},
		"GetContactList":           {"CompanyName": "", "CompanyCode": "200050", "FromDate": "", "ToDate": ""},
		"VendorRequestPayment":     {"ClientXpressId": "JSQA000001", "OrderID": "V1", "Amount": "100000", "Remarks": "Please make the payment on time."},
		"RequestPayment":           {"CompanyName": "Nelson Group", "EmailID": "account@nelson.co", "ContactName": "Watson Nelson", "CompanyCode": "NEL123467", "OrderId": "V1", "Amount": "100000", "MobileNo": "7700112100", "Remarks": "Please make the payment against the invoice NEL1245343"},
		"RequestPaymentByXpressID": {"ClientXpressId": "JSQA000001", "OrderID": "V1", "Amount": "1000000", "Remarks": "Invoice no 452342342"},
		"GetRequestPaymentReport":  {"OrderId": "", "TransactionRefNo": "", "FromDate": "01/03/2026", "ToDate": "31/03/2026"},
	}
	e.book(t, "APPR1", 1000_00, "PAYMY200AM45")
	e.book(t, "APPR2", 1000_00, "PAYMY200AM45")

	type tc struct {
		method, field string
		value         any // nil: remove the member
		code          string
	}
	long := func(n int, c string) string { return strings.Repeat(c, n) }
	cases := []tc{
		// AddContact
		{"AddContact", "CompanyName", nil, "124"},
		{"AddContact", "CompanyName", "Acme # Corp", "106"},
		{"AddContact", "CompanyName", long(61, "a"), "106"},
		{"AddContact", "CompanyName", "O'Neil, Sons & Co", "106"},
		{"AddContact", "CompanyName", "O'Neil, Sons @ Co. - 2 !", "000"},
		{"AddContact", "FirstName", "", "125"},
		{"AddContact", "FirstName", "Wat5on", "107"},
		{"AddContact", "LastName", long(31, "n"), "107"},
		{"AddContact", "LastName", "Mary Ann", "000"},
		{"AddContact", "NickName", long(11, "w"), "107"},
		{"AddContact", "EmailId", nil, "127"},
		{"AddContact", "EmailId", "abc@watson", "109"},
		{"AddContact", "EmailId", "abc@@watson.com", "109"},
		{"AddContact", "EmailId", long(190, "a") + "@watson.com", "109"},
		{"AddContact", "MobileNo", "88112244556", "108"},
		{"AddContact", "MobileNo", "5811224455", "108"},
		{"AddContact", "MobileNo", 8811224455, "000"},
		{"AddContact", "CompanyAddress", long(301, "m"), "128"},
		{"AddContact", "CompanyAddress", "Mumbai <b>", "128"},
		{"AddContact", "ReferenceCode", "REF-1", "122"},
		{"AddContact", "ReferenceCode", long(21, "1"), "122"},
		{"AddContact", "AccountNo", "AC 12", "233"},
		{"AddContact", "AccountNo", long(31, "1"), "233"},
		{"AddContact", "AccountNo", nil, "233"},
		{"AddContact", "IFSCode", nil, "166"},
		{"AddContact", "IFSCode", "CITI1100000", "167"},
		{"AddContact", "IFSCode", "CITI010000", "167"},
		{"AddContact", "GSTIN", "27ATYPR6435K1N", "178"},
		{"AddContact", "GSTIN", "27ATYPR6435K0N0", "178"},
		{"AddContact", "GSTIN", "2AATYPR6435K1N0", "178"},
		{"AddContact", "GSTIN", "27ATYPR6435K1Z5", "000"},
		{"AddContact", "FirstName", map[string]string{"x": "y"}, "178"},
		// BookPayment
		{"BookPayment", "CompanyName", nil, "232"},
		{"BookPayment", "CompanyName", "Watson Group 2", "232"},
		{"BookPayment", "CompanyName", long(61, "W"), "232"},
		{"BookPayment", "ReceiverEmailId", "abc", "109"},
		{"BookPayment", "CompanyMobileNo", "12345", "108"},
		{"BookPayment", "AccountNo", nil, "162"},
		{"BookPayment", "AccountNo", "PAYMY-200", "163"},
		{"BookPayment", "AccountNo", long(31, "9"), "163"},
		{"BookPayment", "IFSCode", "", "166"},
		{"BookPayment", "IFSCode", "citi0100000", "167"},
		{"BookPayment", "OrderId", nil, "176"},
		{"BookPayment", "OrderId", "ORD-1", "176"},
		{"BookPayment", "OrderId", long(21, "O"), "176"},
		{"BookPayment", "Amount", nil, "159"},
		{"BookPayment", "Amount", "0", "159"},
		{"BookPayment", "Amount", "-5", "159"},
		{"BookPayment", "Amount", "10.001", "159"},
		{"BookPayment", "Amount", "1,000", "159"},
		{"BookPayment", "Amount", "10000000.00", "159"},
		{"BookPayment", "Amount", "9999999.99", "000"},
		{"BookPayment", "Amount", json.Number("1000.5"), "000"},
		{"BookPayment", "Amount", true, "178"},
		{"BookPayment", "PaymentType", "Fast", "178"},
		{"BookPayment", "PaymentType", nil, "178"},
		{"BookPayment", "PaymentFrom", "CreditCard", "178"},
		{"BookPayment", "Remarks", long(201, "r"), "181"},
		{"BookPayment", "Remarks", "<script>", "178"},
		{"BookPayment", "ReturnURL", "ftp://x.example/", "178"},
		{"BookPayment", "PaymentType", "Instant", "180"}, // ₹10,00,000 over IMPS
		// BookPaymentsByXpressID
		{"BookPaymentsByXpressID", "ClientXpressId", nil, "226"},
		{"BookPaymentsByXpressID", "ClientXpressId", "TEMH0000121", "226"},
		{"BookPaymentsByXpressID", "OrderID", "ABCDEFGHIJK", "176"},
		{"BookPaymentsByXpressID", "Amount", "abc", "159"},
		{"BookPaymentsByXpressID", "PaymentFrom", "NetBanking", "178"},
		{"BookPaymentsByXpressID", "Remarks", long(201, "r"), "181"},
		// ApprovePayment
		{"ApprovePayment", "OrderId", nil, "176"},
		{"ApprovePayment", "OrderId", "A/1", "176"},
		{"ApprovePayment", "TransactionRefNo", "123", "177"},
		{"ApprovePayment", "TransactionRefNo", "000000000000", "177"},
		{"ApprovePayment", "AprovalAction", "Maybe", "178"},
		{"ApprovePayment", "AprovalAction", nil, "178"},
		{"ApprovePayment", "Reason", long(61, "r"), "178"},
		{"ApprovePayment", "OrderId", "NOSUCH", "225"},
		{"ApprovePayment", "OrderId", "APPR2", "000"},
		// GetPaymentReport
		{"GetPaymentReport", "FromDate", "2026-03-01", "234"},
		{"GetPaymentReport", "FromDate", "31/02/2026", "234"},
		{"GetPaymentReport", "ToDate", "1/3/2026", "234"},
		{"GetPaymentReport", "TransactionRefNo", "abc", "177"},
		{"GetPaymentReport", "OrderId", "A-1", "176"},
		// GetContactList
		{"GetContactList", "CompanyName", long(31, "c"), "106"},
		{"GetContactList", "CompanyCode", "20-50", "122"},
		{"GetContactList", "FromDate", "yesterday", "234"},
		{"GetContactList", "CompanyCode", "NOSUCH", "225"},
		// VendorRequestPayment
		{"VendorRequestPayment", "ClientXpressId", "NOPE000001", "226"},
		{"VendorRequestPayment", "ClientXpressId", "RSMA000003", "233"},
		{"VendorRequestPayment", "Amount", "0.001", "159"},
		{"VendorRequestPayment", "OrderID", long(21, "1"), "176"},
		// RequestPayment
		{"RequestPayment", "ContactName", nil, "229"},
		{"RequestPayment", "ContactName", "Watson <Nelson>", "107"},
		{"RequestPayment", "CompanyName", nil, "124"},
		{"RequestPayment", "CompanyName", "Nelson; Group", "124"},
		{"RequestPayment", "CompanyCode", "NEL12346789", "122"},
		{"RequestPayment", "EmailID", nil, "127"},
		{"RequestPayment", "EmailID", "nelson.co", "109"},
		{"RequestPayment", "MobileNo", nil, "126"},
		{"RequestPayment", "MobileNo", "770011210", "108"},
		{"RequestPayment", "Remarks", long(201, "r"), "181"},
		// RequestPaymentByXpressID
		{"RequestPaymentByXpressID", "ClientXpressId", nil, "226"},
		{"RequestPaymentByXpressID", "Amount", "", "159"},
		// GetRequestPaymentReport
		{"GetRequestPaymentReport", "FromDate", nil, "000"},
		{"GetRequestPaymentReport", "FromDate", "14/03/2026", "000"},
		{"GetRequestPaymentReport", "FromDate", "15/03/2026", "225"},
		{"GetRequestPaymentReport", "ToDate", "01/02/2026", "235"},
		{"GetRequestPaymentReport", "ToDate", "", "178"}, // with FromDate removed below
	}
	// Requests the report can find.
	if _, err := e.c.RequestPaymentByXpressID(ctx(t), PaymentRequestByXpressID{ClientXpressID: "JSQA000001", OrderID: "RQ1", AmountPaise: 100}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cases {
		req := map[string]any{}
		for k, v := range valid[c.method] {
			req[k] = v
		}
		// Fresh ids so successes never collide.
		n++
		for _, k := range []string{"OrderId", "OrderID", "ReferenceCode"} {
			if _, ok := req[k]; ok && c.method != "ApprovePayment" && !strings.HasPrefix(c.method, "Get") {
				req[k] = "V" + strconv.Itoa(n)
			}
		}
		if c.method == "GetRequestPaymentReport" && c.code == "178" {
			delete(req, "FromDate")
		}
		if c.value == nil {
			delete(req, c.field)
		} else {
			req[c.field] = c.value
		}
		if got := e.raw(t, c.method, req); got != c.code {
			t.Errorf("%s %s=%v: code %s, want %s", c.method, c.field, c.value, got, c.code)
		}
	}
	// The unchanged sample requests pass.
	for m, req := range valid {
		if m == "ApprovePayment" || m == "GetPaymentReport" {
			continue
		}
		r := map[string]any{}
		for k, v := range req {
			r[k] = v
		}
		for _, k := range []string{"OrderId", "OrderID"} {
			if _, ok := r[k]; ok && !strings.HasPrefix(m, "Get") {
				r[k] = "S" + strconv.Itoa(len(m))
			}
		}
		if m == "AddContact" {
			r["ReferenceCode"] = "S1"
		}
		if got := e.raw(t, m, r); got != "000" {
			t.Errorf("sample %s: %s", m, got)
		}
	}
}

func TestControlRoutes(t *testing.T) {
	e := newEnv(t)
	var row outPaymentRow
	if st := e.control(t, "POST", "/payments", PortalPayment{CompanyName: "Portal Vendor", AccountNo: "918020012345678", IFSC: "UTIB0000123", AmountPaise: 2500_00, Remarks: "Rent March"}, &row); st != 201 {
		t.Fatalf("POST /payments: %d", st)
	}
	if row.TransactionStatus != "199" || !strings.HasPrefix(row.OrderID, "PORTAL") {
		t.Fatalf("portal payment %+v", row)
	}
	var bad ctlError
	if st := e.control(t, "POST", "/payments", PortalPayment{CompanyName: "Portal Vendor", AccountNo: "918020012345678", IFSC: "bad", AmountPaise: 1}, &bad); st != 422 || bad.Code != "167" {
		t.Fatalf("bad IFSC: %d %+v", st, bad)
	}
	if st := e.control(t, "POST", "/payments", PortalPayment{OrderID: row.OrderID, CompanyName: "Portal Vendor", AccountNo: "918020012345678", IFSC: "UTIB0000123", AmountPaise: 1}, &bad); st != 422 || bad.Code != "227" {
		t.Fatalf("repeat: %d %+v", st, bad)
	}
	var vrow outRequestRow
	if st := e.control(t, "POST", "/vendor-requests", VendorRequestInput{ContactXpressID: "JSQA000001", AmountPaise: 12_345_67, Remarks: "Invoice JSQ-77"}, &vrow); st != 201 {
		t.Fatalf("POST /vendor-requests: %d", st)
	}
	if vrow.TrasnsactioStatus != "200" || vrow.Amount != 12_345_67 {
		t.Fatalf("vendor request %+v", vrow)
	}
	if st := e.control(t, "POST", "/vendor-requests", VendorRequestInput{ContactXpressID: "NOPE000000", AmountPaise: 1}, &bad); st != 422 || bad.Code != "226" {
		t.Fatalf("unknown vendor: %d %+v", st, bad)
	}
	var list []ctlPaymentRow
	e.control(t, "GET", "/payments", nil, &list)
	if len(list) != 2 || list[0].Kind != "portal" || list[1].Kind != "vendor" {
		t.Fatalf("GET /payments %+v", list)
	}
	if st := e.control(t, "POST", "/requests/NOPE/paid", nil, nil); st != 404 {
		t.Fatalf("paid unknown: %d", st)
	}
	if st := e.control(t, "POST", "/requests/"+vrow.OrderID+"/expire", nil, nil); st != 200 {
		t.Fatalf("expire vendor request: %d", st)
	}
	_, err := e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: vrow.OrderID, Action: ActionApprove})
	wantCode(t, err, "224", providers.ErrDuplicate)
	if st := e.control(t, "PUT", "/balance", map[string]any{"paise": -1}, nil); st != 400 {
		t.Fatalf("negative balance: %d", st)
	}
	if st := e.control(t, "PUT", "/faults", map[string]any{"seed": 1}, nil); st != 200 {
		t.Fatalf("faults: %d", st)
	}
	var ledger []json.RawMessage
	if st := e.control(t, "GET", "/ledger", nil, &ledger); st != 200 || len(ledger) != 0 {
		t.Fatalf("ledger: %d %d", st, len(ledger))
	}
	req, _ := http.NewRequest("POST", e.ctl.URL+"/payments", bytes.NewReader([]byte(`{"nope":1}`)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("unknown member: %d", resp.StatusCode)
	}
}
