package paymate

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

func TestAdapterPayouts(t *testing.T) {
	e := newEnv(t)
	a := e.a
	if a.Name() != "paymate" {
		t.Fatal(a.Name())
	}
	caps := providers.Capabilities(a)
	for _, want := range []providers.Capability{providers.CapPayouts, providers.CapBalances, providers.CapContacts, providers.CapCollections} {
		if !slices.Contains(caps, want) {
			t.Fatalf("capabilities %v lack %s", caps, want)
		}
	}
	st, err := a.InitiatePayout(ctx(t), providers.Payout{ID: "PD1001", AmountPaise: 2500_00, Rail: providers.RailIMPS,
		BeneficiaryName: "Watson Group", BeneficiaryAcct: "PAYMY200AM45", BeneficiaryIFSC: "citi0100000",
		BeneficiaryEmail: "abc@watson.com", BeneficiaryPhone: "+91 88112 24455", Purpose: "Invoice 42"})
	if err != nil {
		t.Fatal(err)
	}
	if st.State != providers.StateQueued || st.ProviderCode != "199" || st.Message != "Awaiting to approve" || !reTxnRef.MatchString(st.ProviderRef) {
		t.Fatalf("initiated %+v", st)
	}
	// A contact payout goes through BookPaymentsByXpressID.
	if _, err := a.InitiatePayout(ctx(t), providers.Payout{ID: "PD1002", AmountPaise: 7500_00, Rail: providers.RailNEFT, ContactRef: "TEMH000012"}); err != nil {
		t.Fatal(err)
	}
	if row := e.status(t, "PD1002"); row.CompanyName != "Nelson Group" || row.PaymentType != "Normal" {
		t.Fatalf("contact payout %+v", row)
	}
	// Repeating an id is a duplicate, never a second payment.
	_, err = a.InitiatePayout(ctx(t), providers.Payout{ID: "PD1001", AmountPaise: 1, BeneficiaryName: "X", BeneficiaryAcct: "1", BeneficiaryIFSC: "HDFC0000001"})
	if !errors.Is(err, providers.ErrDuplicate) {
		t.Fatalf("repeat: %v", err)
	}
	// Refused for good.
	st, err = a.InitiatePayout(ctx(t), providers.Payout{ID: "PD1003", AmountPaise: 100, BeneficiaryName: "X", BeneficiaryAcct: "1", BeneficiaryIFSC: "BAD"})
	if !errors.Is(err, providers.ErrRejected) || st.ProviderCode != "167" || st.State != "" {
		t.Fatalf("bad IFSC: %+v %v", st, err)
	}

	// A payment made on PayMate's portal shows up for approval too.
	var portal outPaymentRow
	e.control(t, "POST", "/payments", PortalPayment{OrderID: "PORTAL77", CompanyName: "Landlord", AccountNo: "918020012345678", IFSC: "UTIB0000123", AmountPaise: 50_000_00, Remarks: "Rent"}, &portal)
	pend, err := a.PendingApprovals(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]providers.PendingPayout{}
	for _, p := range pend {
		ids[p.Ref] = p
	}
	if len(pend) != 3 || ids["PD1001"].AmountPaise != 2500_00 || ids["PD1001"].Rail != providers.RailIMPS ||
		ids["PD1001"].BeneficiaryIFSC != "CITI0100000" || ids["PD1001"].Purpose != "Invoice 42" || !ids["PD1001"].CreatedAt.Equal(e.clk.Now()) ||
		ids["PORTAL77"].BeneficiaryName != "Landlord" || ids["PD1002"].Rail != providers.RailNEFT {
		t.Fatalf("pending %+v", pend)
	}

	// Approve two, reject one.
	if err := a.Authorise(ctx(t), []string{"PD1001", "PORTAL77"}, providers.Approve, "ok"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("Not ours <b>. ", 10)
	if err := a.Authorise(ctx(t), []string{"PD1002"}, providers.Reject, long); err != nil {
		t.Fatal(err)
	}
	st, err = a.PayoutStatus(ctx(t), "PD1001")
	if err != nil || st.State != providers.StateProcessing || st.ProviderCode != "202" || !reIMPSRRN.MatchString(st.UTR) {
		t.Fatalf("approved %+v %v", st, err)
	}
	if st, _ := a.PayoutStatus(ctx(t), "PD1002"); st.State != providers.StateRejected || st.ProviderCode != "212" {
		t.Fatalf("rejected %+v", st)
	}
	e.clk.Advance(3 * testStep)
	st, err = a.PayoutStatus(ctx(t), "PD1001")
	if err != nil || st.State != providers.StateProcessed || st.ProviderCode != "231" || st.Message != "Paid" || !st.State.Final() {
		t.Fatalf("paid %+v %v", st, err)
	}
	if pend, _ := a.PendingApprovals(ctx(t)); len(pend) != 0 {
		t.Fatalf("still pending %+v", pend)
	}
	// Authorise goes on past a bad ref and reports each failure with its kind.
	err = a.Authorise(ctx(t), []string{"PD1001", "NOSUCH", "PD1003"}, providers.Approve, "")
	if !errors.Is(err, providers.ErrDuplicate) || !errors.Is(err, providers.ErrNotFound) || !strings.Contains(err.Error(), "order NOSUCH") {
		t.Fatalf("joined: %v", err)
	}
	if err := a.Authorise(ctx(t), []string{"X"}, "maybe", ""); !errors.Is(err, providers.ErrRejected) {
		t.Fatalf("bad decision: %v", err)
	}
	_, err = a.PayoutStatus(ctx(t), "NEVERBOOKED")
	if !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if n := len(e.sb.Ledger().Entries()); n != 2 {
		t.Fatalf("ledger %d", n)
	}
}

func TestAdapterContactPayoutWithLongID(t *testing.T) {
	e := newEnv(t)
	a := e.a
	// An id longer than BookPaymentsByXpressID's OrderID takes is booked
	// with the details written out instead of being refused (176).
	if bookByXpressIDOrderLen < providers.MaxContactPayoutIDLen {
		t.Fatalf("providers.MaxContactPayoutIDLen %d does not fit PayMate's %d", providers.MaxContactPayoutIDLen, bookByXpressIDOrderLen)
	}
	if _, err := a.InitiatePayout(ctx(t), providers.Payout{ID: "PD1002LONGERID", AmountPaise: 7500_00, Rail: providers.RailNEFT,
		ContactRef: "TEMH000012", BeneficiaryName: "Nelson Group", BeneficiaryAcct: "PAYMY200AM45", BeneficiaryIFSC: "CITI0100000"}); err != nil {
		t.Fatal(err)
	}
	if row := e.status(t, "PD1002LONGERID"); row.CompanyName != "Nelson Group" || row.AccountNo != "PAYMY200AM45" {
		t.Fatalf("long-id contact payout %+v", row)
	}
}

func TestAdapterBalanceAndContacts(t *testing.T) {
	e := newEnv(t)
	b, err := e.a.Balance(ctx(t))
	if err != nil || b.AvailablePaise != 6000070_20 || b.Account != "Xpress Account LEGM000001" || !b.AsOf.Equal(e.clk.Now()) {
		t.Fatalf("balance %+v %v", b, err)
	}
	list, err := e.a.ListContacts(ctx(t))
	if err != nil || len(list) != seededCount {
		t.Fatalf("seeded %d %v", len(list), err)
	}
	c, err := e.a.AddContact(ctx(t), providers.Contact{ReferenceCode: "PDV0001", CompanyName: "Kiran Steel", FirstName: "Kiran",
		LastName: "Patil", Email: "ap@kiransteel.in", Mobile: "09876543210", AccountNo: "00112233445566", IFSC: "sbin0001234",
		GSTIN: "27aapfk1234q1z5", IsVendor: true})
	if err != nil || !reXpressID.MatchString(c.ProviderID) || c.VirtualAccountNo == "" || c.VirtualIFSC == "" {
		t.Fatalf("added %+v %v", c, err)
	}
	list, _ = e.a.ListContacts(ctx(t))
	i := slices.IndexFunc(list, func(x providers.Contact) bool { return x.ReferenceCode == "PDV0001" })
	if i < 0 || list[i].Mobile != "9876543210" || list[i].IFSC != "SBIN0001234" || !list[i].IsVendor || list[i].ProviderID != c.ProviderID {
		t.Fatalf("listed %+v", list)
	}
	if i := slices.IndexFunc(list, func(x providers.Contact) bool { return x.ProviderID == "RSMA000003" }); i < 0 || list[i].IsVendor {
		t.Fatal("seeded customer")
	}
	_, err = e.a.AddContact(ctx(t), providers.Contact{ReferenceCode: "PDV0001", CompanyName: "Kiran Steel", FirstName: "Kiran", LastName: "Patil", Email: "ap@kiransteel.in"})
	if !errors.Is(err, providers.ErrDuplicate) {
		t.Fatalf("duplicate reference: %v", err)
	}
	_, err = e.a.AddContact(ctx(t), providers.Contact{CompanyName: "No Account", FirstName: "N", LastName: "A", Email: "n@a.in", IsVendor: true})
	if !errors.Is(err, providers.ErrRejected) {
		t.Fatalf("vendor without account: %v", err)
	}
	empty := newEnv(t, func(s *SandboxConfig, _ *Config) { s.NoSeedContacts = true })
	if list, err := empty.a.ListContacts(ctx(t)); err != nil || len(list) != 0 {
		t.Fatalf("no contacts: %v %v", list, err)
	}
}

func TestAdapterCollections(t *testing.T) {
	e := newEnv(t)
	a := e.a
	cs, err := a.RequestPayment(ctx(t), providers.CollectionRequest{ID: "COL1", Name: "Meera Industries Private Limited Pune",
		Email: "ap@meera.in", Mobile: "9123456780", AmountPaise: 12_000_00, Purpose: "Invoice 9", DueDate: time.Now()})
	if err != nil || cs.State != providers.CollectionPending || cs.ProviderRef == "" {
		t.Fatalf("request %+v %v", cs, err)
	}
	if _, err := a.RequestPayment(ctx(t), providers.CollectionRequest{ID: "COL2", ContactRef: "RSMA000003", AmountPaise: 500_00}); err != nil {
		t.Fatal(err)
	}
	st, err := a.CollectionStatus(ctx(t), "COL1")
	if err != nil || st.State != providers.CollectionPending || st.ProviderCode != "250" || st.ProviderRef != cs.ProviderRef {
		t.Fatalf("pending %+v %v", st, err)
	}
	e.clk.Advance(time.Hour)
	e.control(t, "POST", "/requests/COL1/paid", nil, nil)
	st, err = a.CollectionStatus(ctx(t), "COL1")
	if err != nil || st.State != providers.CollectionPaid || st.UTR == "" || !st.PaidAt.Equal(e.clk.Now()) {
		t.Fatalf("paid %+v %v", st, err)
	}
	e.control(t, "POST", "/requests/COL2/expire", nil, nil)
	if st, _ := a.CollectionStatus(ctx(t), "COL2"); st.State != providers.CollectionExpired {
		t.Fatalf("expired %+v", st)
	}
	if _, err := a.CollectionStatus(ctx(t), "NOPE"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	_, err = a.RequestPayment(ctx(t), providers.CollectionRequest{ID: "COL1", Name: "X", Email: "x@y.in", Mobile: "9123456780", AmountPaise: 1})
	if !errors.Is(err, providers.ErrDuplicate) {
		t.Fatalf("repeat: %v", err)
	}

	// Vendors asking to be paid: made by API and on the portal.
	if vr, err := a.VendorRequests(ctx(t)); err != nil || len(vr) != 0 {
		t.Fatalf("none yet: %v %v", vr, err)
	}
	if _, err := e.c.VendorRequestPayment(ctx(t), VendorPaymentRequest{ClientXpressID: "JSQA000001", OrderID: "JSQ2456734", AmountPaise: 1_00_000_00, Remarks: "Invoice JSQ-1"}); err != nil {
		t.Fatal(err)
	}
	e.control(t, "POST", "/vendor-requests", VendorRequestInput{ContactXpressID: "TEMH000012", OrderID: "NEL77", AmountPaise: 999_99}, nil)
	vr, err := a.VendorRequests(ctx(t))
	if err != nil || len(vr) != 2 {
		t.Fatalf("vendor requests %+v %v", vr, err)
	}
	if vr[0].InvoiceNo != "JSQ2456734" || vr[0].ContactRef != "JSQA000001" || vr[0].VendorName != "JSQ Traders" ||
		vr[0].AmountPaise != 1_00_000_00 || vr[0].Purpose != "Invoice JSQ-1" || vr[1].ContactRef != "TEMH000012" {
		t.Fatalf("vendor requests %+v", vr)
	}
	// Paying one is an approval of its InvoiceNo; a vendor request is not a
	// payout awaiting approval.
	if pend, _ := a.PendingApprovals(ctx(t)); len(pend) != 0 {
		t.Fatalf("vendor requests among approvals: %+v", pend)
	}
	if err := a.Authorise(ctx(t), []string{vr[0].InvoiceNo}, providers.Approve, ""); err != nil {
		t.Fatal(err)
	}
	if e.sb.Ledger().Executions("JSQ2456734") != 1 {
		t.Fatal("vendor not paid")
	}
	if vr, _ := a.VendorRequests(ctx(t)); len(vr) != 1 || vr[0].InvoiceNo != "NEL77" {
		t.Fatalf("after paying %+v", vr)
	}
}

func TestAdapterHelpers(t *testing.T) {
	if got := fitText("Bad <tag> \"q\" ok", 60); got != "Bad  tag   q  ok" {
		t.Errorf("fitText %q", got)
	}
	if got := fitText(strings.Repeat("a", 70), 60); len(got) != 60 {
		t.Errorf("fitText length %d", len(got))
	}
	if paymentTypeFor(providers.RailIMPS) != Instant || paymentTypeFor(providers.RailRTGS) != Normal || paymentTypeFor(providers.RailIFT) != Normal {
		t.Error("paymentTypeFor")
	}
}
