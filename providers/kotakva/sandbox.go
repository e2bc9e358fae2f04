package kotakva

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
	"paydesk/providers/internal/kotak"
	"paydesk/providers/sandboxkit"
)

// SandboxConfig shapes a sandbox bank for one client and physical account.
type SandboxConfig struct {
	ClientID            string
	ClientSecret        string
	EncryptionKey       string // empty: the client secret
	EncryptionKeyBase64 bool
	Plaintext           bool
	TokenTTL            time.Duration

	ClientCode        string
	ClientName        string
	PhysicalAccountNo string
	Prefix            string // bank-allotted virtual account prefix

	// CreditEvery makes a random credit arrive to a random active virtual
	// account every interval (by the sandbox clock, generated lazily when
	// the API is used). Zero: credits arrive only through the control route.
	CreditEvery time.Duration
	// Refund lifecycle: INITIATED for RefundSendFor, IN_PROCESS for
	// RefundProcessFor, then PROCESSED or FAILED.
	RefundSendFor    time.Duration
	RefundProcessFor time.Duration

	Seed uint64           // random credits
	Now  func() time.Time // nil: time.Now
}

// DefaultSandboxConfig matches DemoConfig; scheduled credits are off.
func DefaultSandboxConfig() SandboxConfig {
	return SandboxConfig{
		ClientID: DemoClientID, ClientSecret: DemoClientSecret, TokenTTL: defaultTokenTTL,
		ClientCode: DemoClientCode, ClientName: DemoClientName, PhysicalAccountNo: DemoPhysicalAcct,
		Prefix: DemoPrefix, RefundSendFor: defaultRefundSend, RefundProcessFor: defaultRefundFinal, Seed: 1,
	}
}

// Sandbox behaves like Kotak's virtual-account services.
type Sandbox struct {
	// The Ledger records refunds: the only money this API sends out.
	kotak.SandboxBase
	cfg SandboxConfig

	mu          sync.Mutex
	rng         *rand.Rand
	accounts    map[string]*vaccount
	credits     []*credit // arrival order, so also in seq order (creditByTxn)
	cursor      int       // credits[:cursor] are acknowledged
	outstanding *batch    // handed out, not yet acknowledged
	acked       map[string]*batch
	refunds     map[string]*refund
	refundByTxn map[string]*refund   // the first refund of each credit
	refundsOf   map[string][]*refund // every refund of each credit
	refundByID  map[string]*refund   // by the client's RefundId
	refusals    map[string]refusal   // control: the next request naming an account fails
	seq         uint64
	lastGen     time.Time
}

var _ sandboxkit.Sandbox = (*Sandbox)(nil)

type vaccount struct {
	w         wireAccount // VirtualAccountNo and Prefix filled in
	expires   time.Time   // zero: never; end of that day IST otherwise
	deleted   bool
	createdAt time.Time
}

// credit is one payment into a virtual account. The sandbox keeps every
// credit it ever made (a refund may name any of them), so it keeps what the
// record is made from, not the record: TxnRef, UTR, Amount and CreditedAt
// are formatted when the record is handed out (record). That halves what
// a credit holds: 50,000 credits held 17.7 MB as records and a map by
// TxnRef, 8.8 MB so.
type credit struct {
	seq             uint64
	paise           int64
	at              time.Time
	va              string
	remitterName    string
	remitterAccount string
	remitterIFSC    string
	mode            string
	batchID         string // the batch it was last handed out in
	ackedBatch      string
	deliveries      int
}

func (c *credit) txnRef() string {
	return fmt.Sprintf("%s%s%08d", txnRefPrefix, c.at.In(kotak.IST).Format(txnRefDate), c.seq)
}

// record is the credit as the bank's API shows it.
func (c *credit) record() wireRecord {
	return wireRecord{
		TxnRef: c.txnRef(), UTR: kotak.UTRFrom(c.remitterIFSC[:4], c.mode, c.at, c.seq),
		VirtualAccountNo: c.va, Amount: providers.FormatAmount(c.paise),
		RemitterName: c.remitterName, RemitterAccount: c.remitterAccount, RemitterIFSC: c.remitterIFSC,
		Mode: c.mode, CreditedAt: c.at.In(kotak.IST).Format(time.RFC3339),
	}
}

// A credit's TxnRef: the prefix, its day in IST, then its seq.
const (
	txnRefPrefix = "KVA"
	txnRefDate   = "060102"
)

// creditByTxn finds a credit by its TxnRef. Credits are appended as seq
// grows, so the seq in the TxnRef finds it by binary search; the whole
// TxnRef must then match. Caller holds mu.
func (s *Sandbox) creditByTxn(ref string) (*credit, bool) {
	digits, ok := strings.CutPrefix(ref, txnRefPrefix)
	if !ok || len(digits) <= len(txnRefDate) {
		return nil, false
	}
	seq, err := strconv.ParseUint(digits[len(txnRefDate):], 10, 64)
	if err != nil {
		return nil, false
	}
	i, found := slices.BinarySearchFunc(s.credits, seq, func(c *credit, seq uint64) int { return cmp.Compare(c.seq, seq) })
	if !found || s.credits[i].txnRef() != ref {
		return nil, false
	}
	return s.credits[i], true
}

type batch struct {
	id         string
	start, end int // credits[start:end]
}

// refusal is a failure the control surface arranged for one account.
type refusal struct{ code, reason string }

type refund struct {
	ref, id, txnRef, rail, utr, reason string
	paise                              int64
	remitterAcct, remitterIFSC         string
	status                             string
	createdAt, updatedAt               time.Time
}

// NewSandbox builds a sandbox; it panics on an unusable key.
func NewSandbox(cfg SandboxConfig) *Sandbox {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sandbox{
		SandboxBase: kotak.NewSandboxBase(Name, kotak.SandboxAuth{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenTTL: cfg.TokenTTL, Now: cfg.Now,
			EncryptionKey: cfg.EncryptionKey, EncryptionKeyBase64: cfg.EncryptionKeyBase64, Plaintext: cfg.Plaintext,
		}),
		cfg:         cfg,
		rng:         rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)),
		accounts:    map[string]*vaccount{},
		acked:       map[string]*batch{},
		refunds:     map[string]*refund{},
		refundByTxn: map[string]*refund{},
		refundsOf:   map[string][]*refund{},
		refundByID:  map[string]*refund{},
		refusals:    map[string]refusal{},
		lastGen:     cfg.Now(),
	}
	route := func(path string, answer func([]byte) any) {
		s.Route(path, ContentJSON, 1<<20, func(b []byte) ([]byte, error) { return json.Marshal(answer(b)) })
	}
	route(PathCreate, func(b []byte) any { return s.create(b) })
	route(PathModify, func(b []byte) any { return s.modify(b) })
	route(PathDelete, func(b []byte) any { return s.delete(b) })
	route(PathTransactions, func(b []byte) any { return s.transactions(b) })
	route(PathAck, func(b []byte) any { return s.ack(b) })
	route(PathRefund, func(b []byte) any { return s.refund(b) })
	route(PathRefundStatus, func(b []byte) any { return s.refundStatus(b) })
	s.controlRoutes(s.Mount())
	return s
}

// --- validation ---

var (
	suffixRE = regexp.MustCompile(`^[A-Z0-9]{1,12}$`)
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9 .&'/,()\-]+$`)
	mobileRE = regexp.MustCompile(`^[6-9][0-9]{9}$`)
)

// accountFields validates the optional descriptive fields.
func (s *Sandbox) accountFields(a wireAccount, nameRequired bool, now time.Time) (time.Time, string) {
	minName := 0
	if nameRequired {
		minName = 1
	}
	if f := kotak.FirstFault(
		kotak.FieldLen("Name", a.Name, minName, maxName),
		kotak.FieldLen("Purpose", a.Purpose, 0, maxPurpose),
		kotak.FieldLen("Email", a.Email, 0, maxEmail),
	); f != "" {
		return time.Time{}, f
	}
	if a.Name != "" && !nameRE.MatchString(a.Name) {
		return time.Time{}, "Name has characters other than letters, digits, space and .&'/,()-"
	}
	if a.Email != "" && !kotak.EmailPattern.MatchString(a.Email) {
		return time.Time{}, "Email is not an e-mail address"
	}
	if a.Mobile != "" && !mobileRE.MatchString(a.Mobile) {
		return time.Time{}, "Mobile must be 10 digits starting 6-9"
	}
	var exp time.Time
	if a.ExpiresOn != "" {
		d, err := time.ParseInLocation(time.DateOnly, a.ExpiresOn, kotak.IST)
		if err != nil {
			return time.Time{}, "ExpiresOn is not YYYY-MM-DD"
		}
		if d.Before(kotak.Today(now)) {
			return time.Time{}, "ExpiresOn is in the past"
		}
		exp = d.AddDate(0, 0, 1) // valid through that whole day
	}
	return exp, ""
}

// header checks the fields every request carries. Caller holds no lock.
func (s *Sandbox) header(clientCode, physical string, needPhysical bool) (string, string) {
	if f := kotak.FieldLen("ClientCode", clientCode, 1, maxClientCode); f != "" {
		return "001", f
	}
	if needPhysical {
		if f := kotak.FieldLen("PhysicalAccountNo", physical, 1, maxAccountNo); f != "" {
			return "001", f
		}
	}
	if clientCode != s.cfg.ClientCode {
		return "003", codes["003"].Desc
	}
	if needPhysical && physical != s.cfg.PhysicalAccountNo {
		return "004", codes["004"].Desc
	}
	return "", ""
}

func rejected(code, rem string) accountsResponse {
	return accountsResponse{StatusCd: code, StatusRem: rem, Results: []wireResult{}}
}

func (s *Sandbox) parseAccounts(body []byte) (accountsRequest, *accountsResponse) {
	var req accountsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		r := rejected("001", codes["001"].Desc+": "+err.Error())
		return req, &r
	}
	if code, rem := s.header(req.ClientCode, req.PhysicalAccountNo, true); code != "" {
		r := rejected(code, rem)
		return req, &r
	}
	if len(req.Accounts) == 0 || len(req.Accounts) > maxAccounts {
		r := rejected("001", fmt.Sprintf("%s: 1–%d accounts per request", codes["001"].Desc, maxAccounts))
		return req, &r
	}
	return req, nil
}

func summarise(results []wireResult) accountsResponse {
	ok := 0
	for _, r := range results {
		if r.Status == resultSuccess {
			ok++
		}
	}
	code := "005"
	switch ok {
	case len(results):
		code = "000"
	case 0:
		code = "009"
	}
	return accountsResponse{StatusCd: code, StatusRem: fmt.Sprintf("%d of %d accounts processed", ok, len(results)), Results: results}
}

func fail(number, suffix, code, reason string) wireResult {
	return wireResult{VirtualAccountNo: number, Suffix: suffix, Status: resultFailure, Code: code, Reason: reason}
}

// --- create / modify / delete ---

// perAccount answers a create, modify or delete request: the bank handles
// each account on its own and reports one result per account, in order.
func (s *Sandbox) perAccount(body []byte, one func(a wireAccount, now time.Time) wireResult) accountsResponse {
	req, refused := s.parseAccounts(body)
	if refused != nil {
		return *refused
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	results := make([]wireResult, 0, len(req.Accounts))
	for _, a := range req.Accounts {
		if r, ok := s.refused(a); ok {
			results = append(results, r)
			continue
		}
		results = append(results, one(a, now))
	}
	return summarise(results)
}

// refused answers an account the control surface arranged to fail, once.
// Caller holds mu.
func (s *Sandbox) refused(a wireAccount) (wireResult, bool) {
	for _, key := range []string{a.VirtualAccountNo, a.Suffix, s.cfg.Prefix + a.Suffix} {
		if key == "" {
			continue
		}
		if r, ok := s.refusals[key]; ok {
			delete(s.refusals, key)
			return fail(a.VirtualAccountNo, a.Suffix, r.code, r.reason), true
		}
	}
	return wireResult{}, false
}

func (s *Sandbox) create(body []byte) accountsResponse {
	return s.perAccount(body, func(a wireAccount, now time.Time) wireResult {
		number := s.cfg.Prefix + a.Suffix
		switch {
		case !suffixRE.MatchString(a.Suffix):
			return fail(a.VirtualAccountNo, a.Suffix, "101", fmt.Sprintf("Suffix must be 1–%d upper-case letters or digits", maxSuffix))
		case a.Prefix != "" && a.Prefix != s.cfg.Prefix:
			return fail(a.VirtualAccountNo, a.Suffix, "101", "Prefix is not the bank-allotted prefix "+s.cfg.Prefix)
		case a.VirtualAccountNo != "" && a.VirtualAccountNo != number:
			return fail(a.VirtualAccountNo, a.Suffix, "101", "VirtualAccountNo must be the prefix followed by the suffix")
		}
		exp, f := s.accountFields(a, true, now)
		if f != "" {
			return fail(number, a.Suffix, "101", f)
		}
		if prev, ok := s.accounts[number]; ok {
			why := codes["102"].Desc
			if prev.deleted {
				why += " (deleted; numbers are not reused)"
			}
			return fail(number, a.Suffix, "102", why)
		}
		a.VirtualAccountNo, a.Prefix = number, s.cfg.Prefix
		s.accounts[number] = &vaccount{w: a, expires: exp, createdAt: now}
		return wireResult{VirtualAccountNo: number, Suffix: a.Suffix, Status: resultSuccess, Code: "000", Reason: "Virtual account created"}
	})
}

func (s *Sandbox) modify(body []byte) accountsResponse {
	return s.perAccount(body, func(a wireAccount, now time.Time) wireResult {
		va, ok := s.accounts[a.VirtualAccountNo]
		switch {
		case a.VirtualAccountNo == "":
			return fail("", a.Suffix, "101", "VirtualAccountNo is required")
		case !ok:
			return fail(a.VirtualAccountNo, a.Suffix, "103", codes["103"].Desc)
		case va.deleted:
			return fail(a.VirtualAccountNo, a.Suffix, "104", codes["104"].Desc)
		case a.Suffix != "" && a.Suffix != va.w.Suffix, a.Prefix != "" && a.Prefix != va.w.Prefix:
			return fail(a.VirtualAccountNo, a.Suffix, "101", "Prefix and Suffix cannot change")
		}
		exp, f := s.accountFields(a, false, now)
		if f != "" {
			return fail(a.VirtualAccountNo, va.w.Suffix, "101", f)
		}
		if a.Name != "" {
			va.w.Name = a.Name
		}
		if a.Purpose != "" {
			va.w.Purpose = a.Purpose
		}
		if a.Email != "" {
			va.w.Email = a.Email
		}
		if a.Mobile != "" {
			va.w.Mobile = a.Mobile
		}
		if a.ExpiresOn != "" {
			va.w.ExpiresOn, va.expires = a.ExpiresOn, exp
		}
		return wireResult{VirtualAccountNo: a.VirtualAccountNo, Suffix: va.w.Suffix, Status: resultSuccess, Code: "000", Reason: "Virtual account modified"}
	})
}

func (s *Sandbox) delete(body []byte) accountsResponse {
	return s.perAccount(body, func(a wireAccount, _ time.Time) wireResult {
		va, ok := s.accounts[a.VirtualAccountNo]
		switch {
		case a.VirtualAccountNo == "":
			return fail("", a.Suffix, "101", "VirtualAccountNo is required")
		case !ok:
			return fail(a.VirtualAccountNo, a.Suffix, "103", codes["103"].Desc)
		case va.deleted:
			return wireResult{VirtualAccountNo: a.VirtualAccountNo, Suffix: va.w.Suffix, Status: resultSuccess, Code: "000", Reason: "Virtual account already deleted"}
		default:
			va.deleted = true
			return wireResult{VirtualAccountNo: a.VirtualAccountNo, Suffix: va.w.Suffix, Status: resultSuccess, Code: "000", Reason: "Virtual account deleted"}
		}
	})
}

// active reports whether a virtual account takes credits at now.
func (va *vaccount) active(now time.Time) bool {
	return !va.deleted && (va.expires.IsZero() || now.Before(va.expires))
}

// --- credits ---

// CreditInput describes one incoming credit for AddCredit; empty remitter
// fields and Mode are made up.
type CreditInput struct {
	VirtualAccountNo string
	AmountPaise      int64
	RemitterName     string
	RemitterAccount  string
	RemitterIFSC     string
	Mode             string // NEFT, RTGS, IMPS, IFT, UPI
}

var remitters = []struct{ name, ifsc string }{
	{"Meera Textiles", "HDFC0001234"}, {"Rao and Sons", "ICIC0000104"}, {"Sharma Agencies", "SBIN0000691"},
	{"Kaveri Foods LLP", "UTIB0000123"}, {"Nair Logistics", "KKBK0000958"}, {"Gupta Hardware", "PUNB0123400"},
}

// addCredit books one credit. Caller holds mu.
func (s *Sandbox) addCredit(in CreditInput, now time.Time) (*credit, error) {
	va, ok := s.accounts[in.VirtualAccountNo]
	if !ok {
		return nil, fmt.Errorf("no virtual account %s", in.VirtualAccountNo)
	}
	if !va.active(now) {
		return nil, fmt.Errorf("virtual account %s is deleted or expired: the bank returns such credits", in.VirtualAccountNo)
	}
	if in.AmountPaise <= 0 {
		in.AmountPaise = 100 + s.rng.Int64N(1_00_000_00)
	}
	if in.RemitterName == "" || in.RemitterIFSC == "" {
		r := remitters[s.rng.IntN(len(remitters))]
		if in.RemitterName == "" {
			in.RemitterName = r.name
		}
		if in.RemitterIFSC == "" {
			in.RemitterIFSC = r.ifsc
		}
	}
	if in.RemitterAccount == "" {
		in.RemitterAccount = fmt.Sprintf("%012d", s.rng.Int64N(1e12))
		if strings.HasSuffix(in.RemitterAccount, failingRemitterSuffix) {
			in.RemitterAccount = in.RemitterAccount[:8] + "1234"
		}
	}
	if in.Mode == "" {
		switch {
		case in.AmountPaise >= 2_00_000_00:
			in.Mode = "RTGS"
		case strings.HasPrefix(in.RemitterIFSC, kotak.BankCode):
			in.Mode = "IFT"
		default:
			in.Mode = []string{"NEFT", "IMPS", "UPI"}[s.rng.IntN(3)]
		}
	}
	if !providers.IsIFSC(in.RemitterIFSC) {
		return nil, fmt.Errorf("RemitterIFSC %q is not an IFSC", in.RemitterIFSC)
	}
	if f := kotak.FirstFault(kotak.FieldLen("RemitterName", in.RemitterName, 1, maxName), kotak.FieldLen("RemitterAccount", in.RemitterAccount, 1, maxAccountNo)); f != "" {
		return nil, fmt.Errorf("%s", f)
	}
	switch in.Mode {
	case "NEFT", "IFT":
	case "RTGS":
		if in.AmountPaise < 2_00_000_00 {
			return nil, fmt.Errorf("RTGS credit below 200000.00")
		}
	case "IMPS", "UPI":
		if in.AmountPaise > 5_00_000_00 {
			return nil, fmt.Errorf("%s credit above 500000.00", in.Mode)
		}
	default:
		return nil, fmt.Errorf("Mode %q is not NEFT, RTGS, IMPS, IFT or UPI", in.Mode)
	}
	s.seq++
	c := &credit{seq: s.seq, paise: in.AmountPaise, at: now, va: in.VirtualAccountNo,
		remitterName: in.RemitterName, remitterAccount: in.RemitterAccount, remitterIFSC: in.RemitterIFSC, mode: in.Mode}
	s.credits = append(s.credits, c)
	return c, nil
}

// activeAccounts lists the numbers taking credits, in a stable order. Caller
// holds mu.
func (s *Sandbox) activeAccounts(now time.Time) []string {
	var out []string
	for n, va := range s.accounts {
		if va.active(now) {
			out = append(out, n)
		}
	}
	// Map order is random; sort for deterministic generation.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// generateDue books the scheduled credits up to now. Caller holds mu.
func (s *Sandbox) generateDue(now time.Time) {
	if s.cfg.CreditEvery <= 0 || now.Before(s.lastGen.Add(s.cfg.CreditEvery)) {
		return
	}
	n := int(now.Sub(s.lastGen) / s.cfg.CreditEvery)
	s.lastGen = s.lastGen.Add(time.Duration(n) * s.cfg.CreditEvery)
	if n > maxScheduledBurst {
		n = maxScheduledBurst
	}
	active := s.activeAccounts(now)
	if len(active) == 0 {
		return
	}
	for range n {
		_, _ = s.addCredit(CreditInput{VirtualAccountNo: active[s.rng.IntN(len(active))]}, now)
	}
}

// --- transactions and acknowledgement ---

func (s *Sandbox) transactions(body []byte) transactionsResponse {
	var req transactionsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return transactionsResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": " + err.Error(), Records: []wireRecord{}}
	}
	if code, rem := s.header(req.ClientCode, req.PhysicalAccountNo, true); code != "" {
		return transactionsResponse{StatusCd: code, StatusRem: rem, Records: []wireRecord{}}
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.generateDue(now)
	if s.outstanding == nil && s.cursor < len(s.credits) {
		end := min(s.cursor+BatchSize, len(s.credits))
		s.seq++
		s.outstanding = &batch{id: fmt.Sprintf("B%s%08d", now.In(kotak.IST).Format("060102"), s.seq), start: s.cursor, end: end}
	}
	out := transactionsResponse{StatusCd: "000", Records: []wireRecord{}}
	if s.outstanding == nil {
		out.StatusRem = "No unacknowledged transactions"
		return out
	}
	b := s.outstanding
	out.BatchID = b.id
	for _, c := range s.credits[b.start:b.end] {
		c.batchID = b.id
		c.deliveries++
		out.Records = append(out.Records, c.record())
	}
	out.StatusRem = fmt.Sprintf("%d transactions; acknowledge BatchId %s to receive the next batch", len(out.Records), b.id)
	return out
}

// sameRefs reports whether refs are exactly the batch's TxnRefs.
func (s *Sandbox) sameRefs(b *batch, refs []string) bool {
	if len(refs) != b.end-b.start {
		return false
	}
	want := make(map[string]bool, len(refs))
	for _, c := range s.credits[b.start:b.end] {
		want[c.txnRef()] = true
	}
	for _, r := range refs {
		if !want[r] {
			return false
		}
		delete(want, r) // a repeated ref leaves another one missing
	}
	return len(want) == 0
}

func (s *Sandbox) ack(body []byte) statusResponse {
	var req ackRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return statusResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": " + err.Error()}
	}
	if code, rem := s.header(req.ClientCode, "", false); code != "" {
		return statusResponse{StatusCd: code, StatusRem: rem}
	}
	if f := kotak.FieldLen("BatchId", req.BatchID, 1, maxBatchID); f != "" {
		return statusResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": " + f}
	}
	if len(req.TxnRefs) == 0 || len(req.TxnRefs) > BatchSize {
		return statusResponse{StatusCd: "001", StatusRem: fmt.Sprintf("%s: 1–%d TxnRefs", codes["001"].Desc, BatchSize)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.outstanding; b != nil && b.id == req.BatchID {
		if !s.sameRefs(b, req.TxnRefs) {
			return statusResponse{StatusCd: "202", StatusRem: fmt.Sprintf("%s: batch %s has %d records", codes["202"].Desc, b.id, b.end-b.start)}
		}
		for _, c := range s.credits[b.start:b.end] {
			c.ackedBatch = b.id
		}
		s.cursor = b.end
		s.acked[b.id] = b
		s.outstanding = nil
		return statusResponse{StatusCd: "000", StatusRem: "Batch " + b.id + " acknowledged"}
	}
	if b, ok := s.acked[req.BatchID]; ok {
		if !s.sameRefs(b, req.TxnRefs) {
			return statusResponse{StatusCd: "202", StatusRem: codes["202"].Desc}
		}
		return statusResponse{StatusCd: "000", StatusRem: "Batch " + b.id + " already acknowledged"}
	}
	return statusResponse{StatusCd: "201", StatusRem: codes["201"].Desc + " " + req.BatchID}
}

// --- refunds ---

// refundRail is the rail a refund of a credit travels on.
func refundRail(mode string, paise int64) string {
	switch mode {
	case "UPI":
		return "IMPS"
	case "RTGS":
		if paise < 2_00_000_00 {
			return "NEFT"
		}
	}
	return mode
}

// advanceRefund moves a refund along by the clock. Caller holds mu.
func (s *Sandbox) advanceRefund(r *refund, now time.Time) {
	if r.status == "INITIATED" && !now.Before(r.createdAt.Add(s.cfg.RefundSendFor)) {
		r.status, r.updatedAt = "IN_PROCESS", r.createdAt.Add(s.cfg.RefundSendFor)
	}
	if r.status == "IN_PROCESS" && !now.Before(r.createdAt.Add(s.cfg.RefundSendFor+s.cfg.RefundProcessFor)) {
		r.updatedAt = r.createdAt.Add(s.cfg.RefundSendFor + s.cfg.RefundProcessFor)
		if strings.HasSuffix(r.remitterAcct, failingRemitterSuffix) {
			r.status = "FAILED"
			return
		}
		r.status = "PROCESSED"
	}
}

func (s *Sandbox) refund(body []byte) refundResponse {
	var req refundRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return refundResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": " + err.Error()}
	}
	if f := kotak.FirstFault(
		kotak.FieldLen("ClientName", req.ClientName, 1, maxClientName),
		kotak.FieldLen("TxnRef", req.TxnRef, 1, maxTxnRef),
		kotak.FieldLen("RefundId", req.RefundID, 0, maxTxnRef),
		kotak.FieldLen("Reason", req.Reason, 1, maxReason),
	); f != "" {
		return refundResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": " + f}
	}
	if code, rem := s.header(req.ClientCode, "", false); code != "" {
		return refundResponse{StatusCd: code, StatusRem: rem}
	}
	if !strings.EqualFold(strings.TrimSpace(req.ClientName), s.cfg.ClientName) {
		return refundResponse{StatusCd: "003", StatusRem: "ClientName does not match the client code"}
	}
	var paise int64
	if req.Amount != "" {
		if !kotak.AmountPattern.MatchString(req.Amount) {
			return refundResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": Amount is not a decimal with at most 2 places"}
		}
		paise, _ = providers.ParseAmount(req.Amount)
		if paise <= 0 {
			return refundResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": Amount must be greater than zero"}
		}
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.creditByTxn(req.TxnRef)
	if !ok {
		return refundResponse{StatusCd: "301", StatusRem: codes["301"].Desc, TxnRef: req.TxnRef}
	}
	// The idempotency key: the client's RefundId when given, else the
	// credit itself (one refund per credit).
	prev, dup := s.refundByTxn[req.TxnRef]
	if req.RefundID != "" {
		prev, dup = s.refundByID[req.RefundID]
	}
	if dup {
		if prev.txnRef != req.TxnRef {
			return refundResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": RefundId " + req.RefundID + " belongs to another transaction"}
		}
		s.advanceRefund(prev, now)
		return refundResponse{StatusCd: "302", StatusRem: codes["302"].Desc + ": " + prev.ref, RefundRef: prev.ref, RefundID: prev.id,
			TxnRef: prev.txnRef, Amount: providers.FormatAmount(prev.paise), Status: prev.status}
	}
	// What earlier refunds took and did not give back.
	var taken int64
	for _, r := range s.refundsOf[req.TxnRef] {
		s.advanceRefund(r, now)
		if r.status != "FAILED" {
			taken += r.paise
		}
	}
	left := c.paise - taken
	if paise == 0 {
		paise = left
	}
	if paise > left || paise <= 0 {
		return refundResponse{StatusCd: "303", StatusRem: fmt.Sprintf("%s (%s; %s left to refund)", codes["303"].Desc, providers.FormatAmount(c.paise),
			providers.FormatAmount(max(left, 0))), TxnRef: req.TxnRef}
	}
	s.seq++
	r := &refund{
		ref: fmt.Sprintf("RF%s%08d", now.In(kotak.IST).Format("060102"), s.seq), id: req.RefundID, txnRef: req.TxnRef,
		rail: refundRail(c.mode, paise), reason: req.Reason, paise: paise,
		remitterAcct: c.remitterAccount, remitterIFSC: c.remitterIFSC,
		status: "INITIATED", createdAt: now, updatedAt: now,
	}
	r.utr = kotak.UTR(r.rail, now, s.seq)
	s.refunds[r.ref] = r
	if _, ok := s.refundByTxn[r.txnRef]; !ok {
		s.refundByTxn[r.txnRef] = r
	}
	s.refundsOf[r.txnRef] = append(s.refundsOf[r.txnRef], r)
	ledgerRef := r.txnRef
	if r.id != "" {
		s.refundByID[r.id] = r
		ledgerRef = r.id
	}
	// The money leaves the collection account now: the one execution.
	s.Ledger().Record(sandboxkit.Execution{
		Provider: Name, Kind: "refund", Ref: ledgerRef, AmountPaise: r.paise, Account: r.remitterAcct,
		IFSC: r.remitterIFSC, Rail: r.rail, UTR: r.utr, At: now,
	})
	return refundResponse{StatusCd: "000", StatusRem: "Refund initiated", RefundRef: r.ref, RefundID: r.id, TxnRef: r.txnRef,
		Amount: providers.FormatAmount(r.paise), Status: r.status}
}

func (s *Sandbox) refundStatus(body []byte) refundStatusResponse {
	var req refundStatusRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return refundStatusResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": " + err.Error()}
	}
	if code, rem := s.header(req.ClientCode, "", false); code != "" {
		return refundStatusResponse{StatusCd: code, StatusRem: rem}
	}
	if req.RefundRef == "" && req.TxnRef == "" && req.RefundID == "" {
		return refundStatusResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": RefundRef, RefundId or TxnRef is required"}
	}
	if f := kotak.FirstFault(kotak.FieldLen("RefundRef", req.RefundRef, 0, maxTxnRef), kotak.FieldLen("RefundId", req.RefundID, 0, maxTxnRef),
		kotak.FieldLen("TxnRef", req.TxnRef, 0, maxTxnRef)); f != "" {
		return refundStatusResponse{StatusCd: "001", StatusRem: codes["001"].Desc + ": " + f}
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refunds[req.RefundRef]
	switch {
	case ok || req.RefundRef != "":
	case req.RefundID != "":
		r, ok = s.refundByID[req.RefundID]
	default:
		r, ok = s.refundByTxn[req.TxnRef]
	}
	if !ok {
		return refundStatusResponse{StatusCd: "304", StatusRem: codes["304"].Desc, RefundRef: req.RefundRef, TxnRef: req.TxnRef}
	}
	s.advanceRefund(r, now)
	out := refundStatusResponse{
		StatusCd: "000", StatusRem: "Success", RefundRef: r.ref, RefundID: r.id, TxnRef: r.txnRef, Amount: providers.FormatAmount(r.paise),
		Status: r.status, StatusDesc: refundStatuses[r.status].Desc, UpdatedAt: r.updatedAt.In(kotak.IST).Format(time.RFC3339),
	}
	if r.status == "PROCESSED" || r.status == "RETURNED" {
		out.UTR = r.utr
	}
	return out
}
