package kotakva

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

func TestNoTokenIs401(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{PathCreate, PathModify, PathDelete, PathTransactions, PathAck, PathRefund, PathRefundStatus} {
		resp, err := http.Post(e.srv.URL+p, ContentJSON, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
}

func TestCreateModifyDeleteRoundTrip(t *testing.T) {
	e := newEnv(t)
	exp := e.clk.Now().AddDate(0, 1, 0)
	res, err := e.ad.CreateVirtualAccounts(ctx, []providers.VirtualAccount{
		{Suffix: "KR0M", Name: "Kiran Rao", Purpose: "school fees", Email: "kiran@example.com", Mobile: "9876543210", ExpiresOn: exp},
		{Suffix: "bad-suffix", Name: "X"},
		{Suffix: "AB12", Name: "Asha & Co."},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || !res[0].OK || res[0].Number != "90909010KR0M" || res[1].OK || res[1].Code != "101" || !res[2].OK {
		t.Fatalf("%+v", res)
	}
	raw, err := e.client.CreateVirtualAccounts(ctx, []Account{{Suffix: "KR0M", Name: "Again"}})
	if err != nil || raw.StatusCd != "009" || raw.Results[0].Code != "102" || !errors.Is(raw.Results[0].Err(), providers.ErrDuplicate) {
		t.Fatalf("duplicate create: %+v %v", raw, err)
	}
	res, err = e.ad.ModifyVirtualAccounts(ctx, []providers.VirtualAccount{
		{Number: "90909010KR0M", Name: "Kiran R Rao", Mobile: "9123456789"},
		{Number: "90909010NOPE", Name: "x"},
		{Number: "90909010AB12", Suffix: "ZZ"},
	})
	if err != nil || !res[0].OK || res[1].Code != "103" || res[2].Code != "101" {
		t.Fatalf("modify: %+v %v", res, err)
	}
	var got AccountView
	for _, a := range e.sb.Accounts() {
		if a.VirtualAccountNo == "90909010KR0M" {
			got = a
		}
	}
	if got.Name != "Kiran R Rao" || got.Mobile != "9123456789" || got.Purpose != "school fees" || got.ExpiresOn != exp.Format(time.DateOnly) {
		t.Fatalf("after modify: %+v", got)
	}
	res, err = e.ad.DeleteVirtualAccounts(ctx, []string{"90909010KR0M", "90909010NOPE"})
	if err != nil || !res[0].OK || res[1].Code != "103" {
		t.Fatalf("delete: %+v %v", res, err)
	}
	// Deleting again is fine; modifying or re-creating a deleted one is not.
	res, _ = e.ad.DeleteVirtualAccounts(ctx, []string{"90909010KR0M"})
	if !res[0].OK || !strings.Contains(res[0].Reason, "already") {
		t.Fatalf("re-delete: %+v", res)
	}
	res, _ = e.ad.ModifyVirtualAccounts(ctx, []providers.VirtualAccount{{Number: "90909010KR0M", Name: "x"}})
	if res[0].Code != "104" {
		t.Fatalf("modify deleted: %+v", res)
	}
	res, _ = e.ad.CreateVirtualAccounts(ctx, []providers.VirtualAccount{{Suffix: "KR0M", Name: "New holder"}})
	if res[0].Code != "102" || !strings.Contains(res[0].Reason, "not reused") {
		t.Fatalf("re-create deleted: %+v", res)
	}
	// Credits to a deleted account are returned by the bank.
	if code, _ := e.control(t, "POST", "/credits", CreditRequest{VirtualAccountNo: "90909010KR0M", Amount: "10"}); code != 422 {
		t.Fatalf("credit to deleted account: %d", code)
	}
}

func TestAccountValidation(t *testing.T) {
	e := newEnv(t)
	past := e.clk.Now().AddDate(0, 0, -1).Format(time.DateOnly)
	cases := map[string]wireAccount{
		"suffix too long":   {Suffix: strings.Repeat("A", 13), Name: "x"},
		"suffix lower":      {Suffix: "ab", Name: "x"},
		"name missing":      {Suffix: "N1"},
		"name too long":     {Suffix: "N2", Name: strings.Repeat("n", 101)},
		"name symbols":      {Suffix: "N3", Name: "Bad<Name>"},
		"purpose too long":  {Suffix: "N4", Name: "x", Purpose: strings.Repeat("p", 51)},
		"email":             {Suffix: "N5", Name: "x", Email: "no-at"},
		"mobile":            {Suffix: "N6", Name: "x", Mobile: "1234567890"},
		"expiry past":       {Suffix: "N7", Name: "x", ExpiresOn: past},
		"expiry format":     {Suffix: "N8", Name: "x", ExpiresOn: "31/12/2026"},
		"wrong prefix":      {Suffix: "N9", Name: "x", Prefix: "11111111"},
		"number not prefix": {Suffix: "NA", Name: "x", VirtualAccountNo: "12345678NA"},
	}
	for name, a := range cases {
		out := e.raw(t, PathCreate, accountsRequest{ClientCode: DemoClientCode, PhysicalAccountNo: DemoPhysicalAcct, Accounts: []wireAccount{a}})
		var r accountsResponse
		json.Unmarshal(out, &r)
		if r.StatusCd != "009" || len(r.Results) != 1 || r.Results[0].Code != "101" {
			t.Errorf("%s: %s", name, out)
		}
	}
	ok := e.raw(t, PathCreate, accountsRequest{ClientCode: DemoClientCode, PhysicalAccountNo: DemoPhysicalAcct, Accounts: []wireAccount{
		{Suffix: strings.Repeat("A", 12), Name: strings.Repeat("n", 100), Purpose: strings.Repeat("p", 50), Prefix: DemoPrefix, VirtualAccountNo: DemoPrefix + strings.Repeat("A", 12), ExpiresOn: e.clk.Now().Format(time.DateOnly)},
	}})
	if !bytes.Contains(ok, []byte(`"StatusCd":"000"`)) {
		t.Errorf("boundary values refused: %s", ok)
	}
	for name, tc := range map[string]struct {
		req  any
		code string
	}{
		"garbage":       {[]byte("{"), "001"},
		"no accounts":   {accountsRequest{ClientCode: DemoClientCode, PhysicalAccountNo: DemoPhysicalAcct}, "001"},
		"101 accounts":  {accountsRequest{ClientCode: DemoClientCode, PhysicalAccountNo: DemoPhysicalAcct, Accounts: make([]wireAccount, 101)}, "001"},
		"client code":   {accountsRequest{ClientCode: "OTHER", PhysicalAccountNo: DemoPhysicalAcct, Accounts: []wireAccount{{}}}, "003"},
		"long code":     {accountsRequest{ClientCode: strings.Repeat("C", 11), PhysicalAccountNo: DemoPhysicalAcct, Accounts: []wireAccount{{}}}, "001"},
		"physical acct": {accountsRequest{ClientCode: DemoClientCode, PhysicalAccountNo: "111", Accounts: []wireAccount{{}}}, "004"},
	} {
		out := e.raw(t, PathCreate, tc.req)
		if !bytes.Contains(out, []byte(`"StatusCd":"`+tc.code+`"`)) {
			t.Errorf("%s: %s", name, out)
		}
	}
	// The client surfaces request-level refusals as typed errors.
	cfg := e.cfg
	cfg.PhysicalAccountNo = "111"
	other, _ := NewClient(cfg)
	if _, err := other.CreateVirtualAccounts(ctx, []Account{{Suffix: "X", Name: "x"}}); !errors.Is(err, providers.ErrRejected) || !strings.HasPrefix(err.Error(), "kotakva: CreateVirtualAccounts: 004") {
		t.Fatalf("err = %v", err)
	}
	if _, err := other.FetchTransactions(ctx); !errors.Is(err, providers.ErrRejected) {
		t.Fatalf("err = %v", err)
	}
}

// Acceptance: the same batch of ≤100 credits comes back until acknowledged.
func TestSameBatchUntilAcknowledged(t *testing.T) {
	e := newEnv(t)
	nums := e.mustCreate(t, "AAA1", "BBB2")
	added := e.addCredits(t, CreditRequest{Count: 150})
	if added.Created != 150 {
		t.Fatal(added)
	}
	first, err := e.ad.FetchCredits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.BatchID == "" || len(first.Credits) != BatchSize {
		t.Fatalf("batch %s with %d credits", first.BatchID, len(first.Credits))
	}
	// New money arriving meanwhile does not change the outstanding batch.
	e.addCredits(t, CreditRequest{VirtualAccountNo: nums[0], Amount: "99.99"})
	for range 3 {
		again, err := e.ad.FetchCredits(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if again.BatchID != first.BatchID || len(again.Credits) != len(first.Credits) {
			t.Fatalf("batch changed before ack: %s", again.BatchID)
		}
		for i := range again.Credits {
			if !sameCredit(again.Credits[i], first.Credits[i]) {
				t.Fatalf("record %d changed: %+v vs %+v", i, again.Credits[i], first.Credits[i])
			}
		}
	}
	c := first.Credits[0]
	if c.TxnRef != added.TxnRefs[0] || c.AmountPaise <= 0 || c.UTR == "" || c.RemitterIFSC == "" || c.CreditedAt.IsZero() {
		t.Fatalf("credit %+v", c)
	}
	// A partial acknowledgement and an unknown batch are refused.
	partial := first
	partial.Credits = partial.Credits[:99]
	if err := e.ad.AcknowledgeCredits(ctx, partial); !errors.Is(err, providers.ErrRejected) || !strings.Contains(err.Error(), "202") {
		t.Fatalf("partial ack: %v", err)
	}
	swapped := first
	swapped.Credits = append(append([]providers.Credit(nil), first.Credits[:99]...), first.Credits[0])
	if err := e.ad.AcknowledgeCredits(ctx, swapped); !errors.Is(err, providers.ErrRejected) {
		t.Fatalf("ack with a repeated ref: %v", err)
	}
	unknown := first
	unknown.BatchID = "B000000000000"
	if err := e.ad.AcknowledgeCredits(ctx, unknown); !errors.Is(err, providers.ErrNotFound) || !strings.Contains(err.Error(), "201") {
		t.Fatalf("unknown batch: %v", err)
	}
	if again, _ := e.ad.FetchCredits(ctx); again.BatchID != first.BatchID {
		t.Fatal("refused acks moved the batch on")
	}
	if err := e.ad.AcknowledgeCredits(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := e.ad.AcknowledgeCredits(ctx, first); err != nil {
		t.Fatalf("re-ack of the same batch: %v", err)
	}
	second, _ := e.ad.FetchCredits(ctx)
	if second.BatchID == first.BatchID || len(second.Credits) != 51 {
		t.Fatalf("second batch %s with %d", second.BatchID, len(second.Credits))
	}
	if second.Credits[50].AmountPaise != 99_99 {
		t.Fatal("late credit not at the end")
	}
	if err := e.ad.AcknowledgeCredits(ctx, second); err != nil {
		t.Fatal(err)
	}
	empty, err := e.ad.FetchCredits(ctx)
	if err != nil || empty.BatchID != "" || len(empty.Credits) != 0 {
		t.Fatalf("after all acked: %+v %v", empty, err)
	}
	if err := e.ad.AcknowledgeCredits(ctx, empty); err != nil {
		t.Fatal(err)
	}
}

// Acceptance: 1,000 credits fetched and acknowledged arrive exactly once.
func TestThousandCreditsArriveExactlyOnce(t *testing.T) {
	e := newEnv(t)
	nums := e.mustCreate(t, "C1", "C2", "C3")
	added := e.addCredits(t, CreditRequest{Count: 1000})
	want := map[string]bool{}
	for _, r := range added.TxnRefs {
		want[r] = true
	}
	seen := map[string]int{}
	var total int64
	batches := 0
	for {
		b, err := e.ad.FetchCredits(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b.BatchID == "" {
			break
		}
		batches++
		for _, c := range b.Credits {
			seen[c.TxnRef]++
			total += c.AmountPaise
			if !strings.HasPrefix(c.VirtualAccount, DemoPrefix) || (c.VirtualAccount != nums[0] && c.VirtualAccount != nums[1] && c.VirtualAccount != nums[2]) {
				t.Fatalf("credit to %s", c.VirtualAccount)
			}
		}
		if err := e.ad.AcknowledgeCredits(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if batches != 10 || len(seen) != 1000 || total != added.TotalPaise {
		t.Fatalf("%d batches, %d credits, %d paise (want 10, 1000, %d)", batches, len(seen), total, added.TotalPaise)
	}
	for ref, n := range seen {
		if n != 1 || !want[ref] {
			t.Fatalf("%s arrived %d times (known %v)", ref, n, want[ref])
		}
	}
	for _, v := range e.sb.Credits() {
		if v.Deliveries != 1 || v.AckedBatchID == "" {
			t.Fatalf("%+v", v)
		}
	}
}

func TestCreditModesAndUTRs(t *testing.T) {
	e := newEnv(t)
	n := e.mustCreate(t, "UTR1")[0]
	e.addCredits(t, CreditRequest{VirtualAccountNo: n, Amount: "250000", RemitterIFSC: "HDFC0001234", Mode: "RTGS"})
	e.addCredits(t, CreditRequest{VirtualAccountNo: n, Amount: "100", RemitterIFSC: "ICIC0000104", Mode: "NEFT"})
	e.addCredits(t, CreditRequest{VirtualAccountNo: n, Amount: "100", RemitterIFSC: "SBIN0000691", Mode: "IMPS"})
	b, _ := e.ad.FetchCredits(ctx)
	pat := []string{`^HDFCRC20260302\d{8}$`, `^ICICN26061\d{6}$`, `^\d{12}$`}
	for i, p := range pat {
		if !regexp.MustCompile(p).MatchString(b.Credits[i].UTR) {
			t.Errorf("credit %d (%s) UTR %q", i, b.Credits[i].Mode, b.Credits[i].UTR)
		}
	}
	if b.Credits[0].Mode != providers.RailRTGS || b.Credits[0].AmountPaise != 2_50_000_00 {
		t.Fatalf("%+v", b.Credits[0])
	}
	for _, bad := range []CreditRequest{
		{VirtualAccountNo: n, Amount: "100", Mode: "RTGS"},
		{VirtualAccountNo: n, Amount: "500000.01", Mode: "IMPS"},
		{VirtualAccountNo: n, Amount: "1", Mode: "CHEQUE"},
		{VirtualAccountNo: n, Amount: "1.001"},
		{VirtualAccountNo: n, Amount: "1", RemitterIFSC: "BAD"},
		{VirtualAccountNo: "nope", Amount: "1"},
	} {
		if code, body := e.control(t, "POST", "/credits", bad); code != 422 {
			t.Errorf("%+v: %d %s", bad, code, body)
		}
	}
}

func TestExpiredAccountTakesNoCredits(t *testing.T) {
	e := newEnv(t)
	res, _ := e.ad.CreateVirtualAccounts(ctx, []providers.VirtualAccount{{Suffix: "EXP1", Name: "Short lived", ExpiresOn: e.clk.Now()}})
	n := res[0].Number
	e.addCredits(t, CreditRequest{VirtualAccountNo: n, Amount: "1"})
	e.clk.Advance(24 * time.Hour)
	if code, _ := e.control(t, "POST", "/credits", CreditRequest{VirtualAccountNo: n, Amount: "1"}); code != 422 {
		t.Fatal("credit to an expired account accepted")
	}
	// Extending the expiry reopens it.
	res, _ = e.ad.ModifyVirtualAccounts(ctx, []providers.VirtualAccount{{Number: n, ExpiresOn: e.clk.Now().AddDate(0, 0, 5)}})
	if !res[0].OK {
		t.Fatalf("%+v", res)
	}
	e.addCredits(t, CreditRequest{VirtualAccountNo: n, Amount: "1"})
}

func TestScheduledCredits(t *testing.T) {
	e := newEnv(t, func(s *SandboxConfig, _ *Config) { s.CreditEvery = 10 * time.Second })
	b, _ := e.ad.FetchCredits(ctx)
	if len(b.Credits) != 0 {
		t.Fatal("credits before any account exists")
	}
	e.mustCreate(t, "SCH1")
	e.clk.Advance(35 * time.Second)
	b, err := e.ad.FetchCredits(ctx)
	if err != nil || len(b.Credits) != 3 {
		t.Fatalf("%d credits after 35 s at one per 10 s: %v", len(b.Credits), err)
	}
	off := newEnv(t)
	off.mustCreate(t, "OFF1")
	off.clk.Advance(time.Hour)
	if b, _ := off.ad.FetchCredits(ctx); len(b.Credits) != 0 {
		t.Fatal("scheduled credits on by default")
	}
}

func TestRefundLifecycleAndLedgerOnce(t *testing.T) {
	e := newEnv(t)
	n := e.mustCreate(t, "RF1")[0]
	e.addCredits(t, CreditRequest{VirtualAccountNo: n, Amount: "1500.50", Mode: "UPI", RemitterIFSC: "HDFC0001234", RemitterAccount: "50100012345678"})
	b, _ := e.ad.FetchCredits(ctx)
	txn := b.Credits[0].TxnRef

	if _, err := e.ad.RefundCredit(ctx, providers.Refund{TxnRef: txn, AmountPaise: 1500_51, Reason: "overpaid"}); !errors.Is(err, providers.ErrRejected) || !strings.Contains(err.Error(), "303") {
		t.Fatalf("refund above credit: %v", err)
	}
	st, err := e.ad.RefundCredit(ctx, providers.Refund{TxnRef: txn, AmountPaise: 500_50, Reason: "overpaid"})
	if err != nil || st.ProviderCode != "INITIATED" || st.State != providers.StateProcessing || !strings.HasPrefix(st.RefundRef, "RF") {
		t.Fatalf("%+v %v", st, err)
	}
	ref := st.RefundRef
	dup, err := e.ad.RefundCredit(ctx, providers.Refund{TxnRef: txn, Reason: "again"})
	if !errors.Is(err, providers.ErrDuplicate) || dup.RefundRef != ref {
		t.Fatalf("second refund: %+v %v", dup, err)
	}
	if _, err := e.ad.RefundCredit(ctx, providers.Refund{TxnRef: "KVA000", Reason: "x"}); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("unknown txn: %v", err)
	}
	// The sandbox finds a credit by the seq its TxnRef ends in; the rest
	// of the TxnRef must match too.
	for _, wrong := range []string{"KVA990101" + txn[len("KVA990101"):], txn + "0", txn[:len(txn)-1], "KVB" + txn[3:]} {
		if _, err := e.ad.RefundCredit(ctx, providers.Refund{TxnRef: wrong, Reason: "x"}); !errors.Is(err, providers.ErrNotFound) {
			t.Fatalf("%s, not %s: %v", wrong, txn, err)
		}
	}
	check := func(want string, state providers.PayoutState, lookup string) providers.RefundStatus {
		t.Helper()
		st, err := e.ad.RefundStatus(ctx, lookup)
		if err != nil || st.ProviderCode != want || st.State != state || st.RefundRef != ref {
			t.Fatalf("status %+v %v, want %s", st, err, want)
		}
		return st
	}
	check("INITIATED", providers.StateProcessing, ref)
	e.clk.Advance(time.Minute)
	check("IN_PROCESS", providers.StateProcessing, txn) // by the credit's TxnRef
	e.clk.Advance(2 * time.Minute)
	st = check("PROCESSED", providers.StateProcessed, ref)
	if !regexp.MustCompile(`^\d{12}$`).MatchString(st.UTR) {
		t.Fatalf("UPI refund goes back by IMPS: UTR %q", st.UTR)
	}
	led := e.sb.Ledger().Entries()
	if len(led) != 1 || led[0].Ref != txn || led[0].AmountPaise != 500_50 || led[0].Rail != "IMPS" || led[0].UTR != st.UTR || led[0].Account != "50100012345678" {
		t.Fatalf("ledger %+v", led)
	}
	info, err := e.client.RefundStatus(ctx, ref, "")
	if err != nil || info.AmountPaise != 500_50 || info.TxnRef != txn || info.UpdatedAt.IsZero() {
		t.Fatalf("%+v %v", info, err)
	}
	if _, err := e.ad.RefundStatus(ctx, "RF-UNKNOWN"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("unknown refund: %v", err)
	}
	if code, body := e.control(t, "POST", "/refunds/"+ref+"/status", map[string]string{"Status": "RETURNED"}); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	check("RETURNED", providers.StateReversed, ref)
	if code, _ := e.control(t, "POST", "/refunds/"+ref+"/status", map[string]string{"Status": "FAILED"}); code != 409 {
		t.Fatal("forced FAILED after RETURNED")
	}
}

func TestRefundFailsForRefusingRemitter(t *testing.T) {
	e := newEnv(t, func(s *SandboxConfig, _ *Config) { s.RefundSendFor, s.RefundProcessFor = 0, 0 })
	n := e.mustCreate(t, "RF2")[0]
	e.addCredits(t, CreditRequest{VirtualAccountNo: n, Amount: "300000", RemitterAccount: "11112222" + failingRemitterSuffix, Mode: "RTGS"})
	b, _ := e.ad.FetchCredits(ctx)
	st, err := e.ad.RefundCredit(ctx, providers.Refund{TxnRef: b.Credits[0].TxnRef, AmountPaise: 1000_00, Reason: "wrong payer"})
	if err != nil {
		t.Fatal(err)
	}
	st, err = e.ad.RefundStatus(ctx, st.RefundRef)
	if err != nil || st.State != providers.StateFailed {
		t.Fatalf("%+v %v", st, err)
	}
	if r := e.sb.Refunds(); r[0].Rail != "NEFT" {
		t.Fatalf("₹1000 refund of an RTGS credit goes by NEFT: %+v", r)
	}
}

func TestRefundValidation(t *testing.T) {
	e := newEnv(t)
	for name, tc := range map[string]struct {
		req  refundRequest
		code string
	}{
		"no reason":   {refundRequest{ClientCode: DemoClientCode, ClientName: DemoClientName, TxnRef: "X"}, "001"},
		"long reason": {refundRequest{ClientCode: DemoClientCode, ClientName: DemoClientName, TxnRef: "X", Reason: strings.Repeat("r", 101)}, "001"},
		"no name":     {refundRequest{ClientCode: DemoClientCode, TxnRef: "X", Reason: "r"}, "001"},
		"wrong name":  {refundRequest{ClientCode: DemoClientCode, ClientName: "Someone Else", TxnRef: "X", Reason: "r"}, "003"},
		"wrong code":  {refundRequest{ClientCode: "OTHER", ClientName: DemoClientName, TxnRef: "X", Reason: "r"}, "003"},
		"3 decimals":  {refundRequest{ClientCode: DemoClientCode, ClientName: DemoClientName, TxnRef: "X", Reason: "r", Amount: "1.234"}, "001"},
		"zero amount": {refundRequest{ClientCode: DemoClientCode, ClientName: DemoClientName, TxnRef: "X", Reason: "r", Amount: "0.00"}, "001"},
		"long txnref": {refundRequest{ClientCode: DemoClientCode, ClientName: DemoClientName, TxnRef: strings.Repeat("T", 31), Reason: "r"}, "001"},
		"unknown txn": {refundRequest{ClientCode: DemoClientCode, ClientName: DemoClientName, TxnRef: "T1", Reason: "r"}, "301"},
	} {
		out := e.raw(t, PathRefund, tc.req)
		if !bytes.Contains(out, []byte(`"StatusCd":"`+tc.code+`"`)) {
			t.Errorf("%s: %s", name, out)
		}
	}
	if out := e.raw(t, PathRefundStatus, refundStatusRequest{ClientCode: DemoClientCode}); !bytes.Contains(out, []byte(`"StatusCd":"001"`)) {
		t.Errorf("status without refs: %s", out)
	}
	for name, req := range map[string]ackRequest{
		"no batch":   {ClientCode: DemoClientCode, TxnRefs: []string{"x"}},
		"no refs":    {ClientCode: DemoClientCode, BatchID: "B1"},
		"101 refs":   {ClientCode: DemoClientCode, BatchID: "B1", TxnRefs: make([]string, 101)},
		"wrong code": {ClientCode: "OTHER", BatchID: "B1", TxnRefs: []string{"x"}},
	} {
		out := e.raw(t, PathAck, req)
		if bytes.Contains(out, []byte(`"StatusCd":"000"`)) || bytes.Contains(out, []byte(`"StatusCd":"201"`)) {
			t.Errorf("ack %s: %s", name, out)
		}
	}
}

func TestTokenRefreshAndEncryption(t *testing.T) {
	var bodies [][]byte
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, b)
		r.Body = io.NopCloser(bytes.NewReader(b))
		return http.DefaultTransport.RoundTrip(r)
	})
	e := newEnv(t, func(_ *SandboxConfig, c *Config) {
		c.HTTPClient = &http.Client{Transport: rt, Timeout: 5 * time.Second}
	})
	e.mustCreate(t, "TOK1")
	e.clk.Advance(defaultTokenTTL)
	if _, err := e.ad.FetchCredits(ctx); err != nil {
		t.Fatalf("after the bank expired our token: %v", err)
	}
	if e.sb.Issuer().Issued() != 2 {
		t.Fatalf("issued %d", e.sb.Issuer().Issued())
	}
	for _, b := range bodies {
		if bytes.Contains(b, []byte("ClientCode")) {
			t.Fatalf("plain JSON on the wire: %s", b)
		}
	}
	p := newEnv(t, func(s *SandboxConfig, c *Config) { s.Plaintext, c.Plaintext = true, true })
	p.mustCreate(t, "PLN1")
	if _, err := NewClient(Config{Conn: Conn{BaseURL: "x", ClientID: "a", ClientSecret: "b"}}); err == nil {
		t.Fatal("config without client code accepted")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCodesTable(t *testing.T) {
	for c, info := range codes {
		err := codeError("Op", c, "")
		if (info.Kind == nil) != (err == nil) || (err != nil && !errors.Is(err, info.Kind)) {
			t.Errorf("%s: %v", c, err)
		}
	}
	if err := codeError("Op", "777", ""); !errors.Is(err, providers.ErrOutcomeUnknown) {
		t.Error("unknown code")
	}
	for s, want := range map[string]providers.PayoutState{"INITIATED": providers.StateProcessing, "IN_PROCESS": providers.StateProcessing,
		"PROCESSED": providers.StateProcessed, "FAILED": providers.StateFailed, "RETURNED": providers.StateReversed} {
		if got, ok := RefundState(s); !ok || got != want {
			t.Errorf("%s → %s", s, got)
		}
	}
}

func TestControlLists(t *testing.T) {
	e := newEnv(t)
	e.mustCreate(t, "CL1")
	e.addCredits(t, CreditRequest{Count: 2})
	for _, p := range []string{"/credits", "/accounts", "/refunds", "/ledger", "/faults"} {
		if code, body := e.control(t, "GET", p, nil); code != 200 || len(body) == 0 {
			t.Errorf("%s: %d", p, code)
		}
	}
	if code, _ := e.control(t, "POST", "/tokens/expire", nil); code != 204 {
		t.Fatal(code)
	}
	if _, err := e.ad.FetchCredits(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.control(t, "POST", "/credits", CreditRequest{Count: -1}); code != 422 {
		t.Fatal("negative count")
	}
	empty := newEnv(t)
	if code, _ := empty.control(t, "POST", "/credits", CreditRequest{Count: 5}); code != 422 {
		t.Fatal("random credits without accounts")
	}
}
