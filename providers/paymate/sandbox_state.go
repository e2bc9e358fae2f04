package paymate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
)

// state is everything the sandbox remembers. It is guarded by Sandbox.mu.
type state struct {
	balance int64

	contacts     []*sbContact
	contactByID  map[string]*sbContact
	contactByRef map[string]*sbContact

	// orders holds every OrderID ever accepted, payments and requests alike:
	// PayMate refuses a repeat with 227 whatever the call.
	orders   map[string]bool
	payments []*sbPayment
	payByOrd map[string]*sbPayment
	payByTxn map[string]*sbPayment
	requests []*sbRequest
	reqByOrd map[string]*sbRequest
	reqByTxn map[string]*sbRequest

	txnSeq, contactSeq, bankSeq, portalSeq int
}

type sbContact struct {
	NewContact
	XpressID         string
	VirtualAccountNo string
	VANIFSC          string
	Created          time.Time
}

// payKind says where a payment came from.
type payKind string

const (
	payBooked payKind = "booked" // BookPayment / BookPaymentsByXpressID
	payPortal payKind = "portal" // made on PayMate's portal (control route)
	payVendor payKind = "vendor" // a vendor's request to be paid
)

type sbPayment struct {
	Kind        payKind
	OrderID     string
	TxnRef      string
	CompanyName string
	Email       string
	Mobile      string
	AccountNo   string
	IFSC        string
	ContactID   string
	AmountPaise int64
	PaymentType PaymentType
	Remarks     string
	Created     time.Time

	// Before approval: 199 (booked/portal) or 200 (vendor request), or 212
	// once rejected. After approval the status follows from ApprovedAt.
	Status     string
	Reason     string
	Approved   bool
	ApprovedAt time.Time
	BankRef    string
	Rail       providers.Rail
	Commission int64
	Tax        int64
	Refunded   bool
}

type sbRequest struct {
	OrderID     string
	TxnRef      string
	CompanyName string
	CompanyCode string
	SenderName  string
	Email       string
	Mobile      string
	ContactID   string
	AmountPaise int64
	Remarks     string
	Created     time.Time
	Status      string // 250 pending, 231 paid, 205 expired (set by control)
	PaidAt      time.Time
	BankRef     string
}

func newState(cfg SandboxConfig) state {
	st := state{
		balance:      cfg.OpeningBalancePaise,
		contactByID:  map[string]*sbContact{},
		contactByRef: map[string]*sbContact{},
		orders:       map[string]bool{},
		payByOrd:     map[string]*sbPayment{},
		payByTxn:     map[string]*sbPayment{},
		reqByOrd:     map[string]*sbRequest{},
		reqByTxn:     map[string]*sbRequest{},
	}
	if cfg.NoSeedContacts {
		return st
	}
	// Contacts "made elsewhere" (on PayMate's portal), from the seed's samples.
	now := cfg.Now()
	for i, c := range []sbContact{
		{NewContact: NewContact{CompanyName: "Nelson Group", FirstName: "Watson", LastName: "Nelson", NickName: "Watson",
			EmailID: "abc@watson.com", MobileNo: "8811224455", CompanyAddress: "Mumbai", ReferenceCode: "200050",
			AccountNo: "PAYMY200AM45", IFSCode: "CITI0100000", GSTIN: "27ATYPR6435K1N0"},
			XpressID: "TEMH000012", VirtualAccountNo: "PAYMYS123456"},
		{NewContact: NewContact{CompanyName: "JSQ Traders", FirstName: "Jaya", LastName: "Sequeira",
			EmailID: "accounts@jsqtraders.in", MobileNo: "9820012345", CompanyAddress: "Pune", ReferenceCode: "JSQ001",
			AccountNo: "50100234567890", IFSCode: "HDFC0001234"},
			XpressID: "JSQA000001", VirtualAccountNo: "PAYMYS123457"},
		{NewContact: NewContact{CompanyName: "Rsma Retail", FirstName: "Ravi", LastName: "Sharma",
			EmailID: "ravi@rsma.co.in", MobileNo: "7700112100", ReferenceCode: "rsma"},
			XpressID: "RSMA000003", VirtualAccountNo: "PAYMYS123458"},
	} {
		c.VANIFSC = cfg.VANIFSC
		c.Created = now.AddDate(0, 0, -30+i)
		st.putContact(&c)
	}
	return st
}

func (st *state) putContact(c *sbContact) {
	st.contacts = append(st.contacts, c)
	st.contactByID[c.XpressID] = c
	if c.ReferenceCode != "" {
		st.contactByRef[strings.ToLower(c.ReferenceCode)] = c
	}
}

// nextTxnRef is PayMate's 12-digit TransactionRefNo.
func (st *state) nextTxnRef() string {
	st.txnSeq++
	return fmt.Sprintf("8166%08d", st.txnSeq)
}

// nextBankRef is the bank's reference for an executed payment: a 12-digit
// RRN for IMPS, a 16-character UTR for NEFT, a 22-character one for RTGS.
func (st *state) nextBankRef(rail providers.Rail, bank string, now time.Time) string {
	st.bankSeq++
	t := now.In(ist)
	switch rail {
	case providers.RailIMPS:
		return fmt.Sprintf("%d%03d%02d%06d", t.Year()%10, t.YearDay(), t.Hour(), st.bankSeq%1_000_000)
	case providers.RailRTGS:
		return fmt.Sprintf("%sRC%s%08d", bank, t.Format("20060102"), st.bankSeq)
	default:
		return fmt.Sprintf("%sN%02d%03d%06d", bank, t.Year()%100, t.YearDay(), st.bankSeq%1_000_000)
	}
}

// railFor: Instant is IMPS; Normal goes NEFT, or RTGS from ₹2,00,000.
func railFor(t PaymentType, amount int64) providers.Rail {
	switch {
	case strings.EqualFold(string(t), string(Instant)):
		return providers.RailIMPS
	case amount >= 2_00_000_00:
		return providers.RailRTGS
	}
	return providers.RailNEFT
}

// fee is PayMate's commission and the service tax on it.
func (s *Sandbox) fee() (commission, tax int64) {
	c := s.cfg.CommissionPaise
	return c, c * serviceTaxPercent / 100
}

// payStatus is a payment's status at now. Approved payments walk their
// lifecycle one step per Step, lazily.
func (s *Sandbox) payStatus(p *sbPayment, now time.Time) string {
	if !p.Approved {
		if p.Status == vendorRequestCode && !now.Before(p.Created.Add(s.cfg.RequestTTL)) {
			return "205"
		}
		return p.Status
	}
	seq := lifecycle(p.AccountNo)
	i := int(now.Sub(p.ApprovedAt) / s.cfg.Step)
	return seq[max(0, min(i, len(seq)-1))]
}

// lifecycle is the walk of an approved payment, one status per Step; the
// magic accounts of decisions.go take other paths.
func lifecycle(account string) []string {
	switch account {
	case SandboxFailAccount:
		return []string{"202", "211", "204"}
	case SandboxReturnAccount:
		return []string{"202", "211", "216", "231", "214"}
	case SandboxScheduledAccount:
		return []string{"202", "215", "211", "216", "231"}
	}
	return []string{"202", "211", "216", "231"}
}

func (s *Sandbox) reqStatus(r *sbRequest, now time.Time) string {
	if r.Status == requestPendingCode && !now.Before(r.Created.Add(s.cfg.RequestTTL)) {
		return "205"
	}
	return r.Status
}

// settle applies what time has done to money: a payment that failed or came
// back is refunded to the Xpress Account, once. Called under mu before every
// answer, so balances read the same whenever they are asked.
func (s *Sandbox) settle(now time.Time) {
	for _, p := range s.state.payments {
		if !p.Approved || p.Refunded {
			continue
		}
		if st := s.payStatus(p, now); st == "204" || st == "214" {
			p.Refunded = true
			s.state.balance += p.AmountPaise + p.Commission + p.Tax
		}
	}
}

// ---- methods ----

func (s *Sandbox) addContact(c call) (string, any) {
	v, code := c.f.apply(rulesAddContact)
	if code != "" {
		return code, nil
	}
	switch {
	case v["AccountNo"] != "" && v["IFSCode"] == "":
		return "166", nil
	case v["IFSCode"] != "" && v["AccountNo"] == "":
		return "233", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ref := v["ReferenceCode"]; ref != "" && s.state.contactByRef[strings.ToLower(ref)] != nil {
		return duplicateContactCode, nil
	}
	s.state.contactSeq++
	ct := &sbContact{
		NewContact: NewContact{CompanyName: v["CompanyName"], FirstName: v["FirstName"], LastName: v["LastName"], NickName: v["NickName"],
			EmailID: v["EmailId"], MobileNo: v["MobileNo"], CompanyAddress: v["CompanyAddress"], ReferenceCode: v["ReferenceCode"],
			AccountNo: v["AccountNo"], IFSCode: strings.ToUpper(v["IFSCode"]), GSTIN: v["GSTIN"]},
		XpressID:         fmt.Sprintf("PDSK%06d", s.state.contactSeq),
		VirtualAccountNo: fmt.Sprintf("PAYMYS%06d", 200000+s.state.contactSeq),
		VANIFSC:          s.cfg.VANIFSC,
		Created:          c.now,
	}
	s.state.putContact(ct)
	return codeSuccess, outContactAdded{VirtualAccountNo: ct.VirtualAccountNo, VANIFSC: ct.VANIFSC, ContactXpressID: ct.XpressID}
}

type outContactAdded struct {
	VirtualAccountNo string `json:"VirtualAccountNo"`
	VANIFSC          string `json:"VANIFSC"`
	ContactXpressID  string `json:"ContactXpressID"`
}

type outContact struct {
	CompanyName      string `json:"CompanyName"`
	FirstName        string `json:"FirstName"`
	LastName         string `json:"LastName"`
	NickName         string `json:"NickName"`
	EmailID          string `json:"EmailId"`
	MobileNo         string `json:"MobileNo"`
	CompanyAddress   string `json:"CompanyAddress"`
	ReferenceCode    string `json:"ReferenceCode"`
	AccountNo        string `json:"AccountNo"`
	IFSCode          string `json:"IFSCode"`
	GSTIN            string `json:"GSTIN"`
	VirtualAccountNo string `json:"VirtualAccountNo"`
	VANIFSC          string `json:"VANIFSC"`
	ContactXpressID  string `json:"ContactXpressID"`
}

func (s *Sandbox) contactList(c call) (string, any) {
	v, code := c.f.apply(rulesContactList)
	if code != "" {
		return code, nil
	}
	from, to, code := dateRange(v)
	if code != "" {
		return code, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []outContact
	for _, ct := range s.state.contacts {
		if !inRange(ct.Created, from, to) ||
			(v["CompanyName"] != "" && !strings.EqualFold(v["CompanyName"], ct.CompanyName)) ||
			(v["ReferenceCode"] != "" && !strings.EqualFold(v["ReferenceCode"], ct.ReferenceCode)) {
			continue
		}
		out = append(out, outContact{ct.CompanyName, ct.FirstName, ct.LastName, ct.NickName, ct.EmailID, ct.MobileNo,
			ct.CompanyAddress, ct.ReferenceCode, ct.AccountNo, ct.IFSCode, ct.GSTIN, ct.VirtualAccountNo, ct.VANIFSC, ct.XpressID})
	}
	if len(out) == 0 {
		return "225", nil
	}
	return codeSuccess, out
}

type outRef struct {
	TransactionRefNo string `json:"TransactionRefNo"`
	OrderID          string `json:"OrderID"`
}

// paymentType normalises a validated PaymentType's case.
func paymentType(s string) PaymentType {
	if strings.EqualFold(s, string(Instant)) {
		return Instant
	}
	return Normal
}

func (s *Sandbox) bookPayment(c call) (string, any) {
	v, code := c.f.apply(rulesBookPayment)
	if code != "" {
		return code, nil
	}
	p := &sbPayment{Kind: payBooked, OrderID: v["OrderId"], CompanyName: v["CompanyName"], Email: v["CompanyEmailId"],
		Mobile: v["CompanyMobileNo"], AccountNo: v["AccountNo"], IFSC: v["IFSCode"], PaymentType: paymentType(v["PaymentType"]),
		Remarks: v["Remarks"], Status: bookedCode, Created: c.now}
	p.AmountPaise, _ = parseWireAmount(v["Amount"])
	if p.PaymentType == Instant && p.AmountPaise > instantLimitPaise {
		return "180", nil
	}
	return s.addPayment(p)
}

func (s *Sandbox) bookByXpressID(c call) (string, any) {
	v, code := c.f.apply(rulesBookByXpressID)
	if code != "" {
		return code, nil
	}
	amount, _ := parseWireAmount(v["Amount"])
	pt := paymentType(v["PaymentType"])
	if pt == Instant && amount > instantLimitPaise {
		return "180", nil
	}
	s.mu.Lock()
	ct := s.state.contactByID[v["ClientXpressId"]]
	s.mu.Unlock()
	if ct == nil {
		return "226", nil
	}
	if ct.AccountNo == "" || ct.IFSCode == "" {
		return "233", nil
	}
	return s.addPayment(&sbPayment{Kind: payBooked, OrderID: v["OrderID"], CompanyName: ct.CompanyName, Email: ct.EmailID,
		Mobile: ct.MobileNo, AccountNo: ct.AccountNo, IFSC: ct.IFSCode, ContactID: ct.XpressID, AmountPaise: amount,
		PaymentType: pt, Remarks: v["Remarks"], Status: bookedCode, Created: c.now})
}

func (s *Sandbox) vendorRequest(c call) (string, any) {
	v, code := c.f.apply(rulesVendorRequest)
	if code != "" {
		return code, nil
	}
	amount, _ := parseWireAmount(v["Amount"])
	s.mu.Lock()
	ct := s.state.contactByID[v["ClientXpressID"]]
	s.mu.Unlock()
	if ct == nil {
		return "226", nil
	}
	if ct.AccountNo == "" || ct.IFSCode == "" {
		return "233", nil
	}
	return s.addPayment(&sbPayment{Kind: payVendor, OrderID: v["OrderID"], CompanyName: ct.CompanyName, Email: ct.EmailID,
		Mobile: ct.MobileNo, AccountNo: ct.AccountNo, IFSC: ct.IFSCode, ContactID: ct.XpressID, AmountPaise: amount,
		PaymentType: Normal, Remarks: v["Remarks"], Status: vendorRequestCode, Created: c.now})
}

// addPayment stores a new payment unless its OrderID is taken (227).
func (s *Sandbox) addPayment(p *sbPayment) (string, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.orders[strings.ToUpper(p.OrderID)] {
		return "227", nil
	}
	s.state.orders[strings.ToUpper(p.OrderID)] = true
	p.TxnRef = s.state.nextTxnRef()
	p.Commission, p.Tax = s.fee()
	s.state.payments = append(s.state.payments, p)
	s.state.payByOrd[strings.ToUpper(p.OrderID)] = p
	s.state.payByTxn[p.TxnRef] = p
	return codeSuccess, outRef{TransactionRefNo: p.TxnRef, OrderID: p.OrderID}
}

type outApproval struct {
	TransactionStatus  string `json:"TransactionStatus"`
	TransactionMessage string `json:"TransactionMessage"`
	StrBankRefNo       string `json:"strBankRefNo"`
	IsBankResponse     bool   `json:"IsBankResponse"`
	TransactionRefNo   string `json:"TransactionRefNo"`
	OrderID            string `json:"OrderID"`
	Amount             string `json:"Amount"`
	CompanyName        string `json:"CompanyName"`
	AccountNo          string `json:"AccountNo"`
	PaymentURL         string `json:"PaymentURL"`
}

// approvePayment is where money moves. Under one lock: a payment is executed
// only from 199 (booked) or 200 (a vendor's request), so an approval that is
// repeated, raced or replayed after a lost answer finds it already past
// approval and answers 224 without paying again.
func (s *Sandbox) approvePayment(c call) (string, any) {
	v, code := c.f.apply(rulesApprove)
	if code != "" {
		return code, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(c.now)
	p := s.state.payByOrd[strings.ToUpper(v["OrderId"])]
	if p == nil {
		return "225", nil
	}
	if ref := v["TransactionRefNo"]; ref != "" && ref != p.TxnRef {
		return "177", nil
	}
	status := s.payStatus(p, c.now)
	reject := strings.EqualFold(v["ApprovalAction"], string(ActionReject))
	if status != bookedCode && status != vendorRequestCode {
		if reject && (status == "212" || status == "205") {
			return "224", nil
		}
		if reject {
			return "179", nil
		}
		return "224", nil
	}
	if reject {
		p.Status, p.Reason = "212", v["Reason"]
		return codeSuccess, outApproval{TransactionStatus: "212", TransactionMessage: codes["212"].Message,
			TransactionRefNo: p.TxnRef, OrderID: p.OrderID, Amount: providers.FormatAmount(p.AmountPaise),
			CompanyName: p.CompanyName, AccountNo: p.AccountNo}
	}
	net := p.AmountPaise + p.Commission + p.Tax
	if s.state.balance < net {
		return insufficientBalanceCode, nil
	}
	s.state.balance -= net
	p.Approved, p.ApprovedAt = true, c.now
	p.Rail = railFor(p.PaymentType, p.AmountPaise)
	p.BankRef = s.state.nextBankRef(p.Rail, s.cfg.VANIFSC[:4], c.now)
	s.ledger.Record(sandboxkit.Execution{Provider: "paymate", Ref: p.OrderID, AmountPaise: p.AmountPaise,
		Account: p.AccountNo, IFSC: p.IFSC, Rail: string(p.Rail), UTR: p.BankRef, At: c.now})
	return codeSuccess, outApproval{TransactionStatus: "202", TransactionMessage: codes["202"].Message, StrBankRefNo: p.BankRef,
		IsBankResponse: true, TransactionRefNo: p.TxnRef, OrderID: p.OrderID, Amount: providers.FormatAmount(p.AmountPaise),
		CompanyName: p.CompanyName, AccountNo: p.AccountNo}
}

// jsonAmount writes paise as a JSON number with two decimals, as the
// reports do (1000000.00).
type jsonAmount int64

func (a jsonAmount) MarshalJSON() ([]byte, error) {
	return []byte(providers.FormatAmount(int64(a))), nil
}

// UnmarshalJSON lets users of the control surface read rows back.
func (a *jsonAmount) UnmarshalJSON(b []byte) error {
	var w wireAmount
	err := w.UnmarshalJSON(b)
	*a = jsonAmount(w)
	return err
}

type outPaymentRow struct {
	OrderID             string     `json:"OrderId"`
	TransactionRefNo    string     `json:"TransactionRefNo"`
	CompanyName         string     `json:"CompanyName"`
	AccountNo           string     `json:"AccountNo"`
	ReceiverIFSC        string     `json:"ReceiverIFSC"`
	TransactionType     string     `json:"TransactionType"`
	PaidAmount          jsonAmount `json:"PaidAmount"`
	Commission          jsonAmount `json:"Commission"`
	ServiceTax          jsonAmount `json:"ServiceTax"`
	NetAmount           jsonAmount `json:"NetAmount"`
	TransactionDate     string     `json:"transactionDate"`
	TransactionStatus   string     `json:"TransactionStatus"`
	TrasnsactionMessage string     `json:"TrasnsactionMessage"`
	BankRefNo           *string    `json:"BankRefNo"`
	BankSummary         string     `json:"BankSummary"`
	PaymentType         string     `json:"PaymentType"`
	Remarks             string     `json:"Remarks"`
}

var bankSummaries = map[string]string{
	"202": "SENT_TO_BANK", "211": "PROCESSING", "215": "SCHEDULED", "216": "SENT_TO_BENEFICIARY",
	"231": "CREDITED_TO_BENEFICIARY", "204": "FAILED", "214": "RETURNED_BY_BENEFICIARY_BANK",
}

func (s *Sandbox) paymentRow(p *sbPayment, now time.Time) outPaymentRow {
	st := s.payStatus(p, now)
	row := outPaymentRow{OrderID: p.OrderID, TransactionRefNo: p.TxnRef, CompanyName: p.CompanyName, AccountNo: p.AccountNo,
		ReceiverIFSC: p.IFSC, TransactionType: "Xpress Account", PaidAmount: jsonAmount(p.AmountPaise),
		Commission: jsonAmount(p.Commission), ServiceTax: jsonAmount(p.Tax), NetAmount: jsonAmount(p.AmountPaise + p.Commission + p.Tax),
		TransactionDate: p.Created.In(ist).Format(layoutPaymentDate), TransactionStatus: st, TrasnsactionMessage: codes[st].Message,
		BankSummary: bankSummaries[st], PaymentType: string(p.PaymentType), Remarks: p.Remarks}
	if p.BankRef != "" {
		row.BankRefNo = &p.BankRef
	}
	return row
}

// pendingPayment: the statuses GetPaymentReport lists when no payment is named.
func pendingPayment(status string) bool {
	return status == "198" || status == bookedCode || status == vendorRequestCode || status == "201"
}

func (s *Sandbox) paymentReport(c call) (string, any) {
	v, code := c.f.apply(rulesPaymentReport)
	if code != "" {
		return code, nil
	}
	from, to, code := dateRange(v)
	if code != "" {
		return code, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(c.now)
	var out []outPaymentRow
	if ord, txn := v["OrderId"], v["TransactionRefNo"]; ord != "" || txn != "" {
		p := s.state.payByOrd[strings.ToUpper(ord)]
		if ord == "" {
			p = s.state.payByTxn[txn]
		}
		if p != nil && (txn == "" || txn == p.TxnRef) {
			out = append(out, s.paymentRow(p, c.now))
		}
	} else {
		for _, p := range s.state.payments {
			if inRange(p.Created, from, to) && pendingPayment(s.payStatus(p, c.now)) {
				out = append(out, s.paymentRow(p, c.now))
			}
		}
	}
	if len(out) == 0 {
		return "225", nil
	}
	return codeSuccess, out
}

type outBalance struct {
	XpressBalance string `json:"XpressBalance"`
}

func (s *Sandbox) balance(c call) (string, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(c.now)
	return codeSuccess, outBalance{XpressBalance: providers.FormatAmount(s.state.balance)}
}

func (s *Sandbox) requestPayment(c call) (string, any) {
	v, code := c.f.apply(rulesRequestPayment)
	if code != "" {
		return code, nil
	}
	r := &sbRequest{OrderID: v["OrderID"], CompanyName: v["CompanyName"], CompanyCode: v["CompanyCode"], SenderName: v["SenderName"],
		Email: v["EmailID"], Mobile: v["MobileNo"], Remarks: v["Remarks"], Created: c.now, Status: requestPendingCode}
	r.AmountPaise, _ = parseWireAmount(v["Amount"])
	return s.addRequest(r)
}

func (s *Sandbox) requestByXpressID(c call) (string, any) {
	v, code := c.f.apply(rulesRequestByXpressID)
	if code != "" {
		return code, nil
	}
	s.mu.Lock()
	ct := s.state.contactByID[v["ClientXpressId"]]
	s.mu.Unlock()
	if ct == nil {
		return "226", nil
	}
	r := &sbRequest{OrderID: v["OrderID"], CompanyName: ct.CompanyName, CompanyCode: ct.ReferenceCode,
		SenderName: strings.TrimSpace(ct.FirstName + " " + ct.LastName), Email: ct.EmailID, Mobile: ct.MobileNo,
		ContactID: ct.XpressID, Remarks: v["Remarks"], Created: c.now, Status: requestPendingCode}
	r.AmountPaise, _ = parseWireAmount(v["Amount"])
	return s.addRequest(r)
}

func (s *Sandbox) addRequest(r *sbRequest) (string, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.orders[strings.ToUpper(r.OrderID)] {
		return "227", nil
	}
	s.state.orders[strings.ToUpper(r.OrderID)] = true
	r.TxnRef = s.state.nextTxnRef()
	s.state.requests = append(s.state.requests, r)
	s.state.reqByOrd[strings.ToUpper(r.OrderID)] = r
	s.state.reqByTxn[r.TxnRef] = r
	return codeSuccess, outRef{TransactionRefNo: r.TxnRef, OrderID: r.OrderID}
}

type outRequestRow struct {
	TransactionRefNo    string     `json:"TransactionRefNo"`
	CompanyName         string     `json:"CompanyName"`
	CompanyCode         string     `json:"CompanyCode"`
	Amount              jsonAmount `json:"Amount"`
	TrasnsactioStatus   string     `json:"TrasnsactioStatus"`
	TrasnsactionMessage string     `json:"TrasnsactionMessage"`
	BankRefNo           *string    `json:"BankRefNo"`
	RequestDate         string     `json:"RequestDate"`
	PaymentDate         *string    `json:"PaymentDate"`
	OrderID             string     `json:"OrderId"`
	Remarks             string     `json:"Remarks"`
}

func (s *Sandbox) requestRow(r *sbRequest, now time.Time) outRequestRow {
	st := s.reqStatus(r, now)
	msg := codes[st].Message
	row := outRequestRow{TransactionRefNo: r.TxnRef, CompanyName: r.CompanyName, CompanyCode: r.CompanyCode,
		Amount: jsonAmount(r.AmountPaise), TrasnsactioStatus: st, TrasnsactionMessage: msg,
		RequestDate: r.Created.In(ist).Format(layoutRequestDate), OrderID: r.OrderID, Remarks: r.Remarks}
	if r.BankRef != "" {
		row.BankRefNo = &r.BankRef
	}
	if !r.PaidAt.IsZero() {
		d := r.PaidAt.In(ist).Format(layoutRequestDate)
		row.PaymentDate = &d
	}
	return row
}

// vendorRow shows a vendor's request to be paid in the request report.
func (s *Sandbox) vendorRow(p *sbPayment, now time.Time) outRequestRow {
	st := s.payStatus(p, now)
	code := ""
	if ct := s.state.contactByID[p.ContactID]; ct != nil {
		code = ct.ReferenceCode
	}
	row := outRequestRow{TransactionRefNo: p.TxnRef, CompanyName: p.CompanyName, CompanyCode: code,
		Amount: jsonAmount(p.AmountPaise), TrasnsactioStatus: st, TrasnsactionMessage: codes[st].Message,
		RequestDate: p.Created.In(ist).Format(layoutRequestDate), OrderID: p.OrderID, Remarks: p.Remarks}
	if p.BankRef != "" {
		row.BankRefNo = &p.BankRef
	}
	if st == "231" {
		at := p.ApprovedAt.Add(time.Duration(slices.Index(lifecycle(p.AccountNo), "231")) * s.cfg.Step)
		d := at.In(ist).Format(layoutRequestDate)
		row.PaymentDate = &d
	}
	return row
}

// requestReport lists payment requests: ours to customers and vendors' to us.
// The seed's note wants TransactionRefNo or OrderID; its description also
// allows a date range, so either is accepted, and nothing at all is 178.
func (s *Sandbox) requestReport(c call) (string, any) {
	v, code := c.f.apply(rulesRequestReport)
	if code != "" {
		return code, nil
	}
	from, to, code := dateRange(v)
	if code != "" {
		return code, nil
	}
	ord, txn := v["OrderID"], v["TransactionRefNo"]
	if ord == "" && txn == "" && from.IsZero() && to.IsZero() {
		return "178", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(c.now)
	var out []outRequestRow
	match := func(o, t string, created time.Time) bool {
		return (ord == "" || strings.EqualFold(o, ord)) && (txn == "" || t == txn) && inRange(created, from, to)
	}
	for _, r := range s.state.requests {
		if match(r.OrderID, r.TxnRef, r.Created) {
			out = append(out, s.requestRow(r, c.now))
		}
	}
	for _, p := range s.state.payments {
		if p.Kind == payVendor && match(p.OrderID, p.TxnRef, p.Created) {
			out = append(out, s.vendorRow(p, c.now))
		}
	}
	if len(out) == 0 {
		return "225", nil
	}
	slices.SortStableFunc(out, func(a, b outRequestRow) int { return strings.Compare(a.TransactionRefNo, b.TransactionRefNo) })
	return codeSuccess, out
}
