package paymate

import (
	"regexp"
	"testing"
	"time"

	"paydesk/providers"
)

var (
	reTxnRef    = regexp.MustCompile(`^[0-9]{12}$`)
	reXpressID  = regexp.MustCompile(`^[A-Z]{4}[0-9]{6}$`)
	reNEFTUTR   = regexp.MustCompile(`^[A-Z]{4}N[0-9]{11}$`)
	reRTGSUTR   = regexp.MustCompile(`^[A-Z]{4}RC[0-9]{16}$`)
	reIMPSRRN   = regexp.MustCompile(`^[0-9]{12}$`)
	seededCount = 3
)

func TestAddContactAndGetContactList(t *testing.T) {
	e := newEnv(t)
	in := NewContact{CompanyName: "Nelson Group-West", FirstName: "Watson", LastName: "Nelson", NickName: "Wat",
		EmailID: "pay@nelsonwest.in", MobileNo: "8811224456", CompanyAddress: "12, MG Road, Mumbai 400001",
		ReferenceCode: "PD000123", AccountNo: "PAYMY200AM46", IFSCode: "CITI0100000", GSTIN: "27ATYPR6435K1Z0"}
	added, err := e.c.AddContact(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if !reXpressID.MatchString(added.ContactXpressID) || added.VirtualAccountNo == "" || added.VANIFSC != "CITI0100000" {
		t.Fatalf("added %+v", added)
	}

	rows, err := e.c.GetContactList(ctx(t), ContactQuery{ReferenceCode: "PD000123"})
	if err != nil {
		t.Fatal(err)
	}
	want := ContactRecord{NewContact: in, ContactXpressID: added.ContactXpressID, VirtualAccountNo: added.VirtualAccountNo, VANIFSC: added.VANIFSC}
	if len(rows) != 1 || rows[0] != want {
		t.Fatalf("by reference:\n got %+v\nwant %+v", rows, want)
	}

	all, err := e.c.GetContactList(ctx(t), ContactQuery{})
	if err != nil || len(all) != seededCount+1 {
		t.Fatalf("all: %d rows, %v", len(all), err)
	}
	if all[0].ContactXpressID != "TEMH000012" || all[0].ReferenceCode != "200050" {
		t.Fatalf("seeded contact from the seed's sample missing: %+v", all[0])
	}
	byName, err := e.c.GetContactList(ctx(t), ContactQuery{CompanyName: "jsq traders"})
	if err != nil || len(byName) != 1 || byName[0].ContactXpressID != "JSQA000001" {
		t.Fatalf("by name: %+v %v", byName, err)
	}
	// Date range: only the contact added today.
	today, err := e.c.GetContactList(ctx(t), ContactQuery{From: e.clk.Now(), To: e.clk.Now()})
	if err != nil || len(today) != 1 || today[0].ReferenceCode != "PD000123" {
		t.Fatalf("today: %+v %v", today, err)
	}
	_, err = e.c.GetContactList(ctx(t), ContactQuery{From: e.clk.Now().AddDate(0, 0, 1)})
	wantCode(t, err, "225", providers.ErrNotFound)
	_, err = e.c.GetContactList(ctx(t), ContactQuery{From: e.clk.Now(), To: e.clk.Now().AddDate(0, 0, -1)})
	wantCode(t, err, "235", providers.ErrRejected)

	// Same ReferenceCode again: 123, a duplicate.
	_, err = e.c.AddContact(ctx(t), in)
	wantCode(t, err, "123", providers.ErrDuplicate)
	// A customer: email only, no account.
	cust, err := e.c.AddContact(ctx(t), NewContact{CompanyName: "Acme Retail", FirstName: "Asha", LastName: "Rao", EmailID: "asha@acme.in"})
	if err != nil || cust.ContactXpressID == added.ContactXpressID {
		t.Fatalf("customer: %+v %v", cust, err)
	}
}

func TestBookPaymentAndReport(t *testing.T) {
	e := newEnv(t)
	ref := e.book(t, "WAT432562", 10_00_000_00, "PAYMY200AM45")
	if !reTxnRef.MatchString(ref.TransactionRefNo) || ref.OrderID != "WAT432562" || ref.Code != "000" {
		t.Fatalf("ref %+v", ref)
	}
	row := e.status(t, "WAT432562")
	want := PaymentRecord{OrderID: "WAT432562", TransactionRefNo: ref.TransactionRefNo, CompanyName: "Watson Group",
		AccountNo: "PAYMY200AM45", ReceiverIFSC: "CITI0100000", TransactionType: "Xpress Account",
		PaidPaise: 10_00_000_00, CommissionPaise: 10_00, ServiceTaxPaise: 1_80, NetPaise: 10_00_011_80,
		TransactionDate: e.clk.Now(), TransactionStatus: "199", Message: "Awaiting to approve",
		PaymentType: "Normal", Remarks: "Payment for the invoice no WAT345678"}
	if row != want {
		t.Fatalf("row:\n got %+v\nwant %+v", row, want)
	}
	// By TransactionRefNo alone.
	rows, err := e.c.GetPaymentReport(ctx(t), PaymentQuery{TransactionRefNo: ref.TransactionRefNo})
	if err != nil || len(rows) != 1 || rows[0].OrderID != "WAT432562" {
		t.Fatalf("by ref: %+v %v", rows, err)
	}
	// Nothing named: the pending ones, within dates.
	e.book(t, "WAT432563", 500_00, "PAYMY200AM45")
	rows, err = e.c.GetPaymentReport(ctx(t), PaymentQuery{From: e.clk.Now(), To: e.clk.Now()})
	if err != nil || len(rows) != 2 {
		t.Fatalf("pending: %+v %v", rows, err)
	}
	_, err = e.c.GetPaymentReport(ctx(t), PaymentQuery{OrderID: "NOSUCH1"})
	wantCode(t, err, "225", providers.ErrNotFound)
	// 227: the OrderID is the idempotency key.
	_, err = e.c.BookPayment(ctx(t), BookPaymentRequest{CompanyName: "Someone Else", AccountNo: "123456789", IFSCode: "HDFC0000001",
		OrderID: "WAT432562", AmountPaise: 1_00, PaymentType: Instant})
	wantCode(t, err, "227", providers.ErrDuplicate)
	if row := e.status(t, "WAT432562"); row.CompanyName != "Watson Group" || row.PaidPaise != 10_00_000_00 {
		t.Fatalf("the duplicate changed the original: %+v", row)
	}
}

func TestBookPaymentsByXpressID(t *testing.T) {
	e := newEnv(t)
	ref, err := e.c.BookPaymentsByXpressID(ctx(t), BookByXpressIDRequest{ClientXpressID: "TEMH000012", OrderID: "WAT9856343",
		AmountPaise: 10_00_000_00, PaymentType: Normal, Remarks: "Payment against the invoice no WAT3456789"})
	if err != nil || ref.OrderID != "WAT9856343" || !reTxnRef.MatchString(ref.TransactionRefNo) {
		t.Fatalf("%+v %v", ref, err)
	}
	row := e.status(t, "WAT9856343")
	if row.CompanyName != "Nelson Group" || row.AccountNo != "PAYMY200AM45" || row.ReceiverIFSC != "CITI0100000" || row.TransactionStatus != "199" {
		t.Fatalf("row %+v", row)
	}
	_, err = e.c.BookPaymentsByXpressID(ctx(t), BookByXpressIDRequest{ClientXpressID: "NOPE000001", OrderID: "X1", AmountPaise: 100})
	wantCode(t, err, "226", providers.ErrRejected)
	// A customer contact has no account to pay into.
	_, err = e.c.BookPaymentsByXpressID(ctx(t), BookByXpressIDRequest{ClientXpressID: "RSMA000003", OrderID: "X2", AmountPaise: 100})
	wantCode(t, err, "233", providers.ErrRejected)
	// OrderID is at most 10 characters here.
	_, err = e.c.BookPaymentsByXpressID(ctx(t), BookByXpressIDRequest{ClientXpressID: "TEMH000012", OrderID: "ABCDEFGHIJK", AmountPaise: 100})
	wantCode(t, err, "176", providers.ErrRejected)
	_, err = e.c.BookPaymentsByXpressID(ctx(t), BookByXpressIDRequest{ClientXpressID: "TEMH000012", OrderID: "WAT9856343", AmountPaise: 100})
	wantCode(t, err, "227", providers.ErrDuplicate)
}

// Acceptance: a payment moves 199 → 202 → 211 → 216 → 231 after
// ApprovePayment, is executed once, and is debited with PayMate's fee.
func TestApprovePaymentLifecycle(t *testing.T) {
	e := newEnv(t)
	ref := e.book(t, "WAT9856343", 10_00_000_00, "PAYMY200AM45")
	before := e.balance(t)
	if got := e.status(t, "WAT9856343").TransactionStatus; got != "199" {
		t.Fatalf("booked: %s", got)
	}
	if n := len(e.sb.Ledger().Entries()); n != 0 {
		t.Fatalf("booking executed: %d", n)
	}
	ap, err := e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "WAT9856343", TransactionRefNo: ref.TransactionRefNo, Action: ActionApprove})
	if err != nil {
		t.Fatal(err)
	}
	if ap.TransactionStatus != "202" || ap.TransactionMessage != "Sent to bank" || !ap.IsBankResponse ||
		ap.AmountPaise != 10_00_000_00 || ap.OrderID != "WAT9856343" || ap.TransactionRefNo != ref.TransactionRefNo ||
		ap.CompanyName != "Watson Group" || ap.AccountNo != "PAYMY200AM45" || !reRTGSUTR.MatchString(ap.BankRefNo) {
		t.Fatalf("approval %+v", ap)
	}
	if got := before - e.balance(t); got != 10_00_011_80 {
		t.Fatalf("debited %d paise, want amount + 10.00 + 1.80", got)
	}
	ledger := e.sb.Ledger().Entries()
	if len(ledger) != 1 || ledger[0].Ref != "WAT9856343" || ledger[0].AmountPaise != 10_00_000_00 || ledger[0].UTR != ap.BankRefNo || ledger[0].Rail != "RTGS" {
		t.Fatalf("ledger %+v", ledger)
	}
	for i, want := range []string{"202", "211", "216", "231", "231"} {
		row := e.status(t, "WAT9856343")
		if row.TransactionStatus != want || row.Message != codes[want].Message || row.BankRefNo != ap.BankRefNo {
			t.Fatalf("step %d: %+v, want %s", i, row, want)
		}
		e.clk.Advance(testStep)
	}
	// Approving again never pays again.
	_, err = e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "WAT9856343", Action: ActionApprove})
	wantCode(t, err, "224", providers.ErrDuplicate)
	// Nor can a paid payment be rejected.
	_, err = e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "WAT9856343", Action: ActionReject, Reason: "too late"})
	wantCode(t, err, "179", providers.ErrRejected)
	if n := e.sb.Ledger().Executions("WAT9856343"); n != 1 {
		t.Fatalf("executed %d times", n)
	}
	_, err = e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "NOSUCH1", Action: ActionApprove})
	wantCode(t, err, "225", providers.ErrNotFound)
}

func TestApprovePaymentRejectAndRails(t *testing.T) {
	e := newEnv(t)
	e.book(t, "REJ1", 1000_00, "PAYMY200AM45")
	ap, err := e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "REJ1", Action: ActionReject, Reason: "Duplicate invoice"})
	if err != nil || ap.TransactionStatus != "212" || ap.IsBankResponse || ap.BankRefNo != "" {
		t.Fatalf("reject: %+v %v", ap, err)
	}
	_, err = e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "REJ1", Action: ActionApprove})
	wantCode(t, err, "224", providers.ErrDuplicate)
	if got := e.status(t, "REJ1").TransactionStatus; got != "212" {
		t.Fatalf("rejected shows %s", got)
	}
	// Instant is IMPS with a 12-digit RRN; small Normal is NEFT.
	if _, err := e.c.BookPayment(ctx(t), BookPaymentRequest{CompanyName: "Quick Pay", AccountNo: "123456789012", IFSCode: "HDFC0000001",
		OrderID: "IMPS1", AmountPaise: 5_00_000_00, PaymentType: Instant}); err != nil {
		t.Fatal(err)
	}
	ap, err = e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "IMPS1", Action: ActionApprove})
	if err != nil || !reIMPSRRN.MatchString(ap.BankRefNo) {
		t.Fatalf("IMPS: %+v %v", ap, err)
	}
	e.book(t, "NEFT1", 1_99_999_99, "PAYMY200AM45")
	ap, err = e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "NEFT1", Action: ActionApprove})
	if err != nil || !reNEFTUTR.MatchString(ap.BankRefNo) {
		t.Fatalf("NEFT: %+v %v", ap, err)
	}
	rails := map[string]string{}
	for _, x := range e.sb.Ledger().Entries() {
		rails[x.Ref] = x.Rail
	}
	if rails["IMPS1"] != "IMPS" || rails["NEFT1"] != "NEFT" || len(rails) != 2 {
		t.Fatalf("ledger rails %v", rails)
	}
}

func TestMagicAccountsFailReturnSchedule(t *testing.T) {
	e := newEnv(t)
	start := e.balance(t)
	e.book(t, "FAIL1", 1000_00, SandboxFailAccount)
	e.book(t, "RET1", 2000_00, SandboxReturnAccount)
	e.book(t, "SCH1", 3000_00, SandboxScheduledAccount)
	for _, o := range []string{"FAIL1", "RET1", "SCH1"} {
		if _, err := e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: o, Action: ActionApprove}); err != nil {
			t.Fatal(err)
		}
	}
	fee := int64(11_80)
	if got := start - e.balance(t); got != 6000_00+3*fee {
		t.Fatalf("debited %d", got)
	}
	paths := map[string][]string{
		"FAIL1": {"202", "211", "204", "204", "204", "204"},
		"RET1":  {"202", "211", "216", "231", "214", "214"},
		"SCH1":  {"202", "215", "211", "216", "231", "231"},
	}
	for step := 0; step < 6; step++ {
		for o, p := range paths {
			if got := e.status(t, o).TransactionStatus; got != p[step] {
				t.Fatalf("%s step %d: %s, want %s", o, step, got, p[step])
			}
		}
		e.clk.Advance(testStep)
	}
	// Failed and returned payments are refunded with their fee, once.
	if got := start - e.balance(t); got != 3000_00+fee {
		t.Fatalf("after refunds debited %d, want only SCH1", got)
	}
	if got := start - e.balance(t); got != 3000_00+fee {
		t.Fatalf("refund applied twice: %d", got)
	}
	if n := len(e.sb.Ledger().Entries()); n != 3 {
		t.Fatalf("ledger %d", n)
	}
}

func TestInsufficientBalance(t *testing.T) {
	e := newEnv(t)
	if st := e.control(t, "PUT", "/balance", BalanceBody{Paise: 500_00}, nil); st != 200 {
		t.Fatalf("PUT /balance: %d", st)
	}
	e.book(t, "BIG1", 1000_00, "PAYMY200AM45")
	_, err := e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "BIG1", Action: ActionApprove})
	wantCode(t, err, "180", providers.ErrRejected)
	if got := e.status(t, "BIG1").TransactionStatus; got != "199" {
		t.Fatalf("refused approval moved it to %s", got)
	}
	if n := len(e.sb.Ledger().Entries()); n != 0 {
		t.Fatal("refused approval executed")
	}
	e.control(t, "PUT", "/balance", BalanceBody{Paise: 2000_00}, nil)
	if _, err := e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "BIG1", Action: ActionApprove}); err != nil {
		t.Fatal(err)
	}
	if got := e.balance(t); got != 2000_00-1000_00-11_80 {
		t.Fatalf("balance %d", got)
	}
}

func TestGetXpressAccountBalance(t *testing.T) {
	e := newEnv(t)
	if got := e.balance(t); got != 6000070_20 {
		t.Fatalf("balance %d, want the seed's 6000070.20", got)
	}
	var b BalanceBody
	e.control(t, "GET", "/balance", nil, &b)
	if b.Paise != 6000070_20 {
		t.Fatalf("control balance %d", b.Paise)
	}
}

func TestRequestPaymentLifecycle(t *testing.T) {
	e := newEnv(t)
	ref, err := e.c.RequestPayment(ctx(t), PaymentRequest{OrderID: "NEL3498654", CompanyName: "Nelson Group", CompanyCode: "NEL123467",
		SenderName: "Watson Nelson", EmailID: "account@nelson.co", MobileNo: "7700112100", AmountPaise: 1_00_000_00,
		Remarks: "Please make the payment against the invoice NEL1245343"})
	if err != nil || ref.OrderID != "NEL3498654" || !reTxnRef.MatchString(ref.TransactionRefNo) {
		t.Fatalf("%+v %v", ref, err)
	}
	rows, err := e.c.GetRequestPaymentReport(ctx(t), RequestQuery{OrderID: "NEL3498654"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("%+v %v", rows, err)
	}
	want := RequestRecord{TransactionRefNo: ref.TransactionRefNo, OrderID: "NEL3498654", CompanyName: "Nelson Group", CompanyCode: "NEL123467",
		AmountPaise: 1_00_000_00, Status: "250", Message: "Pending", RequestDate: e.clk.Now(), Remarks: "Please make the payment against the invoice NEL1245343"}
	if rows[0] != want {
		t.Fatalf("row:\n got %+v\nwant %+v", rows[0], want)
	}
	// The customer pays (control), by TransactionRefNo.
	e.clk.Advance(time.Hour)
	if st := e.control(t, "POST", "/requests/"+ref.TransactionRefNo+"/paid", PaidInput{BankRefNo: "612345678901"}, nil); st != 200 {
		t.Fatalf("paid: %d", st)
	}
	rows, err = e.c.GetRequestPaymentReport(ctx(t), RequestQuery{TransactionRefNo: ref.TransactionRefNo})
	if err != nil || rows[0].Status != "231" || rows[0].BankRefNo != "612345678901" || !rows[0].PaymentDate.Equal(e.clk.Now()) {
		t.Fatalf("paid row %+v %v", rows, err)
	}
	if st := e.control(t, "POST", "/requests/NEL3498654/paid", nil, nil); st != 409 {
		t.Fatalf("paid twice: %d", st)
	}

	byID, err := e.c.RequestPaymentByXpressID(ctx(t), PaymentRequestByXpressID{ClientXpressID: "JSQA000001", OrderID: "NEL4598567",
		AmountPaise: 10_00_000_00, Remarks: "Invoice no 452342342"})
	if err != nil || byID.OrderID != "NEL4598567" {
		t.Fatalf("%+v %v", byID, err)
	}
	rows, _ = e.c.GetRequestPaymentReport(ctx(t), RequestQuery{OrderID: "NEL4598567"})
	if rows[0].CompanyName != "JSQ Traders" || rows[0].CompanyCode != "JSQ001" || rows[0].Status != "250" {
		t.Fatalf("by XpressID row %+v", rows[0])
	}
	if st := e.control(t, "POST", "/requests/NEL4598567/expire", nil, nil); st != 200 {
		t.Fatalf("expire: %d", st)
	}
	rows, _ = e.c.GetRequestPaymentReport(ctx(t), RequestQuery{OrderID: "NEL4598567"})
	if rows[0].Status != "205" {
		t.Fatalf("expired row %+v", rows[0])
	}
	// Unpaid requests expire on their own after RequestTTL.
	if _, err := e.c.RequestPaymentByXpressID(ctx(t), PaymentRequestByXpressID{ClientXpressID: "RSMA000003", OrderID: "TTL1", AmountPaise: 100}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(defaultRequestTTL)
	rows, _ = e.c.GetRequestPaymentReport(ctx(t), RequestQuery{OrderID: "TTL1"})
	if rows[0].Status != "205" {
		t.Fatalf("TTL row %+v", rows[0])
	}
	// OrderIDs are one namespace with payments.
	_, err = e.c.RequestPaymentByXpressID(ctx(t), PaymentRequestByXpressID{ClientXpressID: "RSMA000003", OrderID: "TTL1", AmountPaise: 100})
	wantCode(t, err, "227", providers.ErrDuplicate)
	_, err = e.c.RequestPaymentByXpressID(ctx(t), PaymentRequestByXpressID{ClientXpressID: "NOPE000009", OrderID: "TTL2", AmountPaise: 100})
	wantCode(t, err, "226", providers.ErrRejected)
	_, err = e.c.GetRequestPaymentReport(ctx(t), RequestQuery{OrderID: "NOSUCH"})
	wantCode(t, err, "225", providers.ErrNotFound)
	// Date range alone lists all requests of those days.
	rows, err = e.c.GetRequestPaymentReport(ctx(t), RequestQuery{From: e.clk.Now().AddDate(0, 0, -30), To: e.clk.Now()})
	if err != nil || len(rows) != 3 {
		t.Fatalf("range: %d %v", len(rows), err)
	}
}

func TestVendorRequestPayment(t *testing.T) {
	e := newEnv(t)
	ref, err := e.c.VendorRequestPayment(ctx(t), VendorPaymentRequest{ClientXpressID: "JSQA000001", OrderID: "JSQ2456734",
		AmountPaise: 1_00_000_00, Remarks: "Please make the payment on time."})
	if err != nil || ref.OrderID != "JSQ2456734" || !reTxnRef.MatchString(ref.TransactionRefNo) {
		t.Fatalf("%+v %v", ref, err)
	}
	// A payable awaiting our payment, in both reports.
	row := e.status(t, "JSQ2456734")
	if row.TransactionStatus != "200" || row.CompanyName != "JSQ Traders" || row.AccountNo != "50100234567890" {
		t.Fatalf("payment row %+v", row)
	}
	rows, err := e.c.GetRequestPaymentReport(ctx(t), RequestQuery{OrderID: "JSQ2456734"})
	if err != nil || rows[0].Status != "200" || rows[0].Message != "Awaiting to pay" || rows[0].CompanyCode != "JSQ001" {
		t.Fatalf("request row %+v %v", rows, err)
	}
	// Paying it is an approval.
	if _, err := e.c.ApprovePayment(ctx(t), ApprovePaymentRequest{OrderID: "JSQ2456734", Action: ActionApprove}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(10 * testStep)
	rows, _ = e.c.GetRequestPaymentReport(ctx(t), RequestQuery{OrderID: "JSQ2456734"})
	if rows[0].Status != "231" || rows[0].BankRefNo == "" || rows[0].PaymentDate.IsZero() {
		t.Fatalf("paid vendor request %+v", rows[0])
	}
	if e.sb.Ledger().Executions("JSQ2456734") != 1 {
		t.Fatal("vendor request not executed once")
	}
	_, err = e.c.VendorRequestPayment(ctx(t), VendorPaymentRequest{ClientXpressID: "RSMA000003", OrderID: "V2", AmountPaise: 100})
	wantCode(t, err, "233", providers.ErrRejected)
	_, err = e.c.VendorRequestPayment(ctx(t), VendorPaymentRequest{ClientXpressID: "JSQA000001", OrderID: "JSQ2456734", AmountPaise: 100})
	wantCode(t, err, "227", providers.ErrDuplicate)
}

// The sandbox's IDs and headers: the client can use MerchantIdentification.
func TestMerchantIdentificationHeader(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, func(c *Config) { c.BusinessHeader = HeaderMerchant })
	if _, err := c.GetXpressAccountBalance(ctx(t)); err != nil {
		t.Fatal(err)
	}
}
