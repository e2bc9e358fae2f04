package linkpay

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
)

// Invoice states in the sandbox (and in answers' invoiceStatus).
const (
	InvoiceSent      = "SENT"
	InvoicePaid      = "PAID"
	InvoiceCancelled = "CANCELLED"
	InvoiceExpired   = "EXPIRED"
)

// Merchant is one merchant the sandbox knows, with the templates made in its
// console.
type Merchant struct {
	MID             string
	Password        string
	RequestHashKey  string
	ResponseHashKey string
	Active          bool
	Templates       []TemplateWire
	// NotifyURL is the notification URL set in the merchant console: paid
	// and expired invoices are notified there (empty: nowhere).
	NotifyURL string
}

// SandboxConfig tunes the sandbox. Zero values give the demo setup.
type SandboxConfig struct {
	// Now is the sandbox's clock (default time.Now); tests move it to expire
	// invoices.
	Now func() time.Time
	// LinkTTL is how long an invoice without a due date stays payable
	// (default 7 days).
	LinkTTL time.Duration
	// LinkBaseURL prefixes the payment links handed out.
	LinkBaseURL string
	// Merchants replaces the demo merchants (see DemoMerchants).
	Merchants []Merchant
	// NotifyURL is the demo merchant's notification URL (the console
	// setting; PUT /notify-url changes it).
	NotifyURL string
	// NotifyClient delivers notifications (default: a client with
	// notifyTimeout); NotifyBackoff is the first pause between deliveries
	// of one event, doubling (default 1 s).
	NotifyClient  *http.Client
	NotifyBackoff time.Duration
	// ExpireEvery makes the sandbox look for invoices past their expiry
	// this often, so that their notification goes out without anyone
	// calling it (0: only when the sandbox is used).
	ExpireEvery time.Duration
}

// Demo credentials: the sandbox's active merchant, an inactive one (OTS1003)
// and one whose console holds no templates.
const (
	DemoMID             = "317157"
	DemoPassword        = "Test@123"
	DemoRequestHashKey  = "KEY123657234"
	DemoResponseHashKey = "KEYRESP123657234"
	InactiveMID         = "317158"
	EmptyMID            = "317159"
)

// DemoConfig returns a client configuration for the sandbox's demo merchant
// served at baseURL.
func DemoConfig(baseURL string) Config {
	return Config{
		BaseURL: baseURL, MerchantID: DemoMID, Password: DemoPassword,
		RequestHashKey: DemoRequestHashKey, ResponseHashKey: DemoResponseHashKey,
	}
}

// DemoMerchants are the merchants a sandbox starts with. The demo merchant's
// templates cover every template rule: 1001–1003 are usable, 1004 is a
// console draft with no details (OTS1005), 1005 flags a field "use default"
// but never set the default (OTS1007 when the request leaves it out).
func DemoMerchants() []Merchant {
	return []Merchant{
		{
			MID: DemoMID, Password: DemoPassword, RequestHashKey: DemoRequestHashKey,
			ResponseHashKey: DemoResponseHashKey, Active: true,
			Templates: []TemplateWire{
				{TemplateID: "1001", TemplateName: "Standard Invoice", Currency: currencyINR, Fields: []FieldWire{
					{FieldName: "invoiceTitle", FieldLabel: "Invoice title", FieldType: "text", UseDefault: true, DefaultValue: "Tax Invoice", MaxLength: 60},
					{FieldName: "description", FieldLabel: "Description", FieldType: "text", Mandatory: true, MaxLength: 200},
					{FieldName: "gstin", FieldLabel: "Customer GSTIN", FieldType: "text", MaxLength: 15},
					{FieldName: "poNumber", FieldLabel: "PO number", FieldType: "text", MaxLength: 30},
				}},
				{TemplateID: "1002", TemplateName: "School Fee", Currency: currencyINR, MaxAmount: "500000.00", Fields: []FieldWire{
					{FieldName: "studentName", FieldLabel: "Student name", FieldType: "text", Mandatory: true, MaxLength: 80},
					{FieldName: "class", FieldLabel: "Class", FieldType: "text", Mandatory: true, MaxLength: 10},
					{FieldName: "academicYear", FieldLabel: "Academic year", FieldType: "text", Mandatory: true, UseDefault: true, DefaultValue: "2025-26", MaxLength: 7},
					{FieldName: "feeHead", FieldLabel: "Fee head", FieldType: "text", UseDefault: true, DefaultValue: "Tuition", MaxLength: 40},
				}},
				{TemplateID: "1003", TemplateName: "Subscription Renewal", Currency: currencyINR, MinAmount: "100.00", MaxAmount: "100000.00", Fields: []FieldWire{
					{FieldName: "plan", FieldLabel: "Plan", FieldType: "text", Mandatory: true, UseDefault: true, DefaultValue: "Basic", MaxLength: 20},
					{FieldName: "seats", FieldLabel: "Seats", FieldType: "number", UseDefault: true, DefaultValue: "1", MaxLength: 5},
					{FieldName: "renewalDate", FieldLabel: "Renewal date", FieldType: "date"},
					{FieldName: "billingEmail", FieldLabel: "Billing e-mail", FieldType: "email", MaxLength: 100},
				}},
				{TemplateID: "1004", TemplateName: "Draft (no details yet)", Currency: currencyINR},
				{TemplateID: "1005", TemplateName: "Event Ticket", Currency: currencyINR, Fields: []FieldWire{
					{FieldName: "eventName", FieldLabel: "Event", FieldType: "text", Mandatory: true, MaxLength: 80},
					{FieldName: "venue", FieldLabel: "Venue", FieldType: "text", Mandatory: true, UseDefault: true, MaxLength: 80},
				}},
			},
		},
		{MID: InactiveMID, Password: "Inactive@1", RequestHashKey: "KEYINACTIVE1", ResponseHashKey: "KEYRESPINACTIVE1", Active: false},
		{MID: EmptyMID, Password: "Empty@123", RequestHashKey: "KEYEMPTY1", ResponseHashKey: "KEYRESPEMPTY1", Active: true},
	}
}

// Invoice is one invoice the sandbox holds, as the control surface shows it.
type Invoice struct {
	InvoiceNo     string            `json:"invoiceNo"`
	MID           string            `json:"merchId"`
	MerchantTxnID string            `json:"merchantTxnId"`
	TemplateID    string            `json:"templateId"`
	Amount        string            `json:"amount"`
	AmountPaise   int64             `json:"amountPaise"`
	CustomerName  string            `json:"customerName"`
	Email         string            `json:"customerEmail,omitempty"`
	Mobile        string            `json:"customerMobile,omitempty"`
	Fields        map[string]string `json:"fields"`
	PaymentLink   string            `json:"paymentLink"`
	Status        string            `json:"status"`
	Sends         int               `json:"sends"` // link mailed/texted this many times
	CreatedAt     time.Time         `json:"createdAt"`
	ExpiresAt     time.Time         `json:"expiresAt"`
	PaidAt        time.Time         `json:"paidAt,omitzero"`
	CancelledAt   time.Time         `json:"cancelledAt,omitzero"`
	BankRef       string            `json:"bankRef,omitempty"`
	NotifyBy      string            `json:"notifyBy,omitempty"`
}

// Sandbox is an in-memory link-payments provider.
type Sandbox struct {
	sandboxkit.Base // its Ledger records each paid invoice once
	cfg             SandboxConfig
	now             func() time.Time

	mu        sync.Mutex
	merchants map[string]*Merchant
	invoices  map[string]*Invoice // by invoiceNo
	byTxn     map[string]*Invoice // by MID + "\x00" + merchantTxnId
	seq       int64
	// nextExpiry is the earliest expiry of a SENT invoice: the sweep does
	// nothing before it.
	nextExpiry time.Time
	notices    []*Delivery
	noticeSeq  int64
	delivering sync.WaitGroup
}

var _ sandboxkit.Sandbox = (*Sandbox)(nil)

// NewSandbox returns a sandbox with the configured (or demo) merchants.
func NewSandbox(cfg SandboxConfig) *Sandbox {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = defaultLinkTTL
	}
	if cfg.LinkBaseURL == "" {
		cfg.LinkBaseURL = "https://paynetzuat.atomtech.in/paylink"
	}
	if cfg.Merchants == nil {
		cfg.Merchants = DemoMerchants()
	}
	if cfg.NotifyClient == nil {
		cfg.NotifyClient = &http.Client{Timeout: notifyTimeout}
	}
	if cfg.NotifyBackoff <= 0 {
		cfg.NotifyBackoff = notifyBackoff
	}
	s := &Sandbox{
		Base: sandboxkit.NewBase(Name), cfg: cfg, now: cfg.Now,
		merchants: map[string]*Merchant{},
		invoices:  map[string]*Invoice{},
		byTxn:     map[string]*Invoice{},
		seq:       100000000,
	}
	for i := range cfg.Merchants {
		m := cfg.Merchants[i]
		if m.MID == DemoMID && m.NotifyURL == "" {
			m.NotifyURL = cfg.NotifyURL
		}
		s.merchants[m.MID] = &m
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathGetTemplate, s.handleGetTemplate)
	mux.HandleFunc("POST "+PathGetTemplateDetails, s.handleGetTemplateDetails)
	mux.HandleFunc("POST "+PathCreatePaymentLink, s.handleCreate)
	mux.HandleFunc("POST "+PathResendPaymentLink, s.handleResend)
	mux.HandleFunc("POST "+PathCancelPaymentLink, s.handleCancel)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeOTS(w, &Response{StatusCode: CodeActionNotFound}, nil)
	})
	// The control surface: the shared /faults and /ledger, plus
	//
	//	GET  /invoices                    every invoice and its state
	//	POST /invoices/{invoiceNo}/paid   the customer paid (body optional {"bankRef"})
	//	POST /invoices/{invoiceNo}/expire the invoice's time runs out now
	//	PUT  /notify-url                  the console's notification URL {"url"}
	//	GET  /notifications               every notification and its deliveries
	ctl := s.Attach(mux)
	ctl.HandleFunc("GET /invoices", s.handleListInvoices)
	ctl.HandleFunc("POST /invoices/{invoiceNo}/paid", s.handleMarkPaid)
	ctl.HandleFunc("POST /invoices/{invoiceNo}/expire", s.handleExpire)
	ctl.HandleFunc("PUT /notify-url", s.handleNotifyURL)
	ctl.HandleFunc("GET /notifications", s.handleListNotifications)
	if cfg.ExpireEvery > 0 {
		// The sandbox lives as long as the process, as the provider would.
		go func() {
			for range time.Tick(cfg.ExpireEvery) {
				s.ExpireDue()
			}
		}()
	}
	return s
}

// Invoices returns a copy of every invoice, oldest first, states brought up
// to date.
func (s *Sandbox) Invoices() []Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expireDue(now)
	out := make([]Invoice, 0, len(s.invoices))
	for _, inv := range s.invoices {
		s.advance(inv, now)
		c := *inv
		c.Fields = copyMap(inv.Fields)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InvoiceNo < out[j].InvoiceNo })
	return out
}

// MarkPaid records the customer's payment of invoiceNo: the one place money
// moves, so it lands in the ledger exactly once.
func (s *Sandbox) MarkPaid(invoiceNo, bankRef string) (Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[invoiceNo]
	if !ok {
		return Invoice{}, errInvoiceUnknown
	}
	now := s.now()
	s.advance(inv, now)
	if inv.Status != InvoiceSent {
		return *inv, fmt.Errorf("invoice is %s", inv.Status)
	}
	if bankRef == "" {
		bankRef = fmt.Sprintf("ATOM%012d", inv.seqNo())
	}
	inv.Status = InvoicePaid
	inv.PaidAt = now
	inv.BankRef = bankRef
	s.Ledger().Record(sandboxkit.Execution{
		Provider: "linkpay", Ref: inv.MerchantTxnID, AmountPaise: inv.AmountPaise,
		Account: inv.MID, Rail: "LINK", UTR: bankRef, At: now,
	})
	s.notify(inv, now)
	c := *inv
	c.Fields = copyMap(inv.Fields)
	return c, nil
}

var errInvoiceUnknown = errors.New("no such invoice")

// SetTemplate adds or replaces a template of merchant mid, as a change in
// the merchant console would. Invoices already made keep their values.
func (s *Sandbox) SetTemplate(mid string, t TemplateWire) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.merchants[mid]
	if !ok {
		return
	}
	t.Fields = append([]FieldWire(nil), t.Fields...)
	for i := range m.Templates {
		if m.Templates[i].TemplateID == t.TemplateID {
			m.Templates[i] = t
			return
		}
	}
	m.Templates = append(m.Templates, t)
}

func (inv *Invoice) seqNo() int64 {
	n, _ := strconv.ParseInt(strings.TrimPrefix(inv.InvoiceNo, "INV"), 10, 64)
	return n
}

// advance applies the passage of time: a sent invoice past its expiry is
// expired, and the merchant is told. Callers hold s.mu.
func (s *Sandbox) advance(inv *Invoice, now time.Time) {
	if inv.Status == InvoiceSent && !now.Before(inv.ExpiresAt) {
		inv.Status = InvoiceExpired
		s.notify(inv, inv.ExpiresAt)
	}
}

// ExpireDue expires every sent invoice past its expiry now, notifying the
// merchant of each; it returns how many.
func (s *Sandbox) ExpireDue() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expireDue(s.now())
}

// expireDue is ExpireDue with s.mu held. It looks at the invoices only once
// the earliest expiry has passed.
func (s *Sandbox) expireDue(now time.Time) int {
	if s.nextExpiry.IsZero() || now.Before(s.nextExpiry) {
		return 0
	}
	n := 0
	s.nextExpiry = time.Time{}
	for _, inv := range s.invoices {
		if inv.Status != InvoiceSent {
			continue
		}
		s.advance(inv, now)
		if inv.Status == InvoiceExpired {
			n++
		} else if s.nextExpiry.IsZero() || inv.ExpiresAt.Before(s.nextExpiry) {
			s.nextExpiry = inv.ExpiresAt
		}
	}
	return n
}

// Expire ends invoiceNo's payability now, as its due date passing would.
func (s *Sandbox) Expire(invoiceNo string) (Invoice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[invoiceNo]
	if !ok {
		return Invoice{}, errInvoiceUnknown
	}
	now := s.now()
	s.advance(inv, now)
	if inv.Status != InvoiceSent {
		return *inv, fmt.Errorf("invoice is %s", inv.Status)
	}
	inv.ExpiresAt = now
	s.advance(inv, now)
	c := *inv
	c.Fields = copyMap(inv.Fields)
	return c, nil
}

// ---- provider endpoints ----

// authHeader is the part every request shares.
type authHeader struct {
	MerchID   string `json:"merchId"`
	Password  string `json:"password"`
	Signature string `json:"signature"`
}

// readRequest parses the body into dst and authenticates the merchant. It
// writes the refusal itself and returns nil when the request goes no further.
func (s *Sandbox) readRequest(w http.ResponseWriter, r *http.Request, dst any, hdr func() authHeader) *Merchant {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<16))
	if err != nil {
		writeOTS(w, &Response{StatusCode: CodeInvalidJSON}, nil)
		return nil
	}
	if err := parseStrict(body, dst); err != nil {
		writeOTS(w, &Response{StatusCode: CodeInvalidJSON, StatusDesc: Describe(CodeInvalidJSON) + ": " + err.Error()}, nil)
		return nil
	}
	h := hdr()
	if miss := missing("merchId", h.MerchID, "password", h.Password, "signature", h.Signature); miss != "" {
		writeOTS(w, &Response{StatusCode: CodeParamsMissing, StatusDesc: Describe(CodeParamsMissing) + ": " + miss}, nil)
		return nil
	}
	s.mu.Lock()
	m, ok := s.merchants[h.MerchID]
	s.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare([]byte(m.Password), []byte(h.Password)) != 1 {
		writeOTS(w, &Response{StatusCode: CodeInvalidMerchant}, nil)
		return nil
	}
	if !m.Active {
		writeOTS(w, &Response{StatusCode: CodeInactiveMerchant, MerchID: m.MID}, m)
		return nil
	}
	return m
}

// parseStrict decodes one JSON object, refusing unknown keys and trailing
// data, so a misspelt field is reported instead of silently ignored.
func parseStrict(body []byte, dst any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

// missing returns the names (pairs of name, value) whose value is blank.
func missing(pairs ...string) string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			out = append(out, pairs[i])
		}
	}
	return strings.Join(out, ", ")
}

func (s *Sandbox) checkSig(w http.ResponseWriter, m *Merchant, msg, sig string) bool {
	if Verify(m.RequestHashKey, msg, sig) {
		return true
	}
	writeOTS(w, &Response{StatusCode: CodeSignature, MerchID: m.MID}, nil)
	return false
}

func (s *Sandbox) handleGetTemplate(w http.ResponseWriter, r *http.Request) {
	var req TemplateListRequest
	m := s.readRequest(w, r, &req, func() authHeader { return authHeader{req.MerchID, req.Password, req.Signature} })
	if m == nil {
		return
	}
	if !s.checkSig(w, m, templateListSigString(req.MerchID, req.Password), req.Signature) {
		return
	}
	s.mu.Lock()
	templates := append([]TemplateWire(nil), m.Templates...)
	s.mu.Unlock()
	if len(templates) == 0 {
		writeOTS(w, &Response{StatusCode: CodeTemplateNotFound, MerchID: m.MID}, m)
		return
	}
	resp := &Response{StatusCode: CodeOK, MerchID: m.MID}
	for _, t := range templates {
		resp.Templates = append(resp.Templates, TemplateSummaryWire{TemplateID: t.TemplateID, TemplateName: t.TemplateName})
	}
	writeOTS(w, resp, m)
}

// findTemplate returns a copy of m's template id, or nil.
func (s *Sandbox) findTemplate(m *Merchant, id string) *TemplateWire {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range m.Templates {
		if m.Templates[i].TemplateID == id {
			t := m.Templates[i]
			t.Fields = append([]FieldWire(nil), t.Fields...)
			return &t
		}
	}
	return nil
}

func (s *Sandbox) handleGetTemplateDetails(w http.ResponseWriter, r *http.Request) {
	var req TemplateDetailsRequest
	m := s.readRequest(w, r, &req, func() authHeader { return authHeader{req.MerchID, req.Password, req.Signature} })
	if m == nil {
		return
	}
	if miss := missing("templateId", req.TemplateID); miss != "" {
		writeOTS(w, &Response{StatusCode: CodeParamsMissing, StatusDesc: Describe(CodeParamsMissing) + ": " + miss, MerchID: m.MID}, m)
		return
	}
	if !s.checkSig(w, m, templateDetailsSigString(req.MerchID, req.Password, req.TemplateID), req.Signature) {
		return
	}
	t := s.findTemplate(m, req.TemplateID)
	if t == nil {
		writeOTS(w, &Response{StatusCode: CodeTemplateNotFound, MerchID: m.MID}, m)
		return
	}
	if len(t.Fields) == 0 {
		writeOTS(w, &Response{StatusCode: CodeTemplateDetails, MerchID: m.MID}, m)
		return
	}
	writeOTS(w, &Response{StatusCode: CodeOK, MerchID: m.MID, Template: t}, m)
}

func (s *Sandbox) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req CreateLinkRequest
	m := s.readRequest(w, r, &req, func() authHeader { return authHeader{req.MerchID, req.Password, req.Signature} })
	if m == nil {
		return
	}
	refuse := func(code, detail string) {
		desc := Describe(code)
		if detail != "" {
			desc += ": " + detail
		}
		writeOTS(w, &Response{StatusCode: code, StatusDesc: desc, MerchID: m.MID, MerchantTxnID: req.MerchantTxnID}, m)
	}
	if miss := missing("templateId", req.TemplateID, "merchantTxnId", req.MerchantTxnID, "amount", req.Amount, "customerName", req.CustomerName); miss != "" {
		refuse(CodeParamsMissing, miss)
		return
	}
	switch req.NotifyBy {
	case "":
		if req.CustomerEmail == "" && req.CustomerMobile == "" {
			refuse(CodeParamsMissing, "customerEmail or customerMobile")
			return
		}
	case notifyEmail, notifySMS, notifyEmailSMS, notifyNone:
		if miss := missingFor(req.NotifyBy, req.CustomerEmail, req.CustomerMobile); miss != "" {
			refuse(CodeParamsMissing, miss+" (notifyBy "+req.NotifyBy+")")
			return
		}
	default:
		refuse(CodeBadRequest, "notifyBy must be EMAIL, SMS, EMAIL_SMS or NONE")
		return
	}
	if !s.checkSig(w, m, createSigString(req.MerchID, req.Password, req.Amount, req.MerchantTxnID), req.Signature) {
		return
	}
	// The duplicate guard comes before template checks: a replay must find
	// its invoice even if the console's template changed meanwhile.
	now := s.now()
	s.mu.Lock()
	s.expireDue(now)
	if inv, ok := s.byTxn[m.MID+"\x00"+req.MerchantTxnID]; ok {
		s.advance(inv, now)
		resp := invoiceResponse(codeDuplicateTxn, inv)
		resp.StatusDesc = Describe(codeDuplicateTxn) + ": duplicate merchantTxnId, invoice " + inv.InvoiceNo + " already created"
		s.mu.Unlock()
		writeOTS(w, resp, m)
		return
	}
	s.mu.Unlock()

	paise, detail := validateCreate(&req, now)
	if detail != "" {
		refuse(CodeBadRequest, detail)
		return
	}
	t := s.findTemplate(m, req.TemplateID)
	if t == nil {
		refuse(CodeTemplateNotFound, "")
		return
	}
	if len(t.Fields) == 0 {
		refuse(CodeTemplateDetails, "")
		return
	}
	if detail := checkAmountRules(t, paise); detail != "" {
		refuse(CodeBadRequest, detail)
		return
	}
	fields, code, detail := fillFields(t, req.Fields)
	if code != "" {
		refuse(code, detail)
		return
	}
	expires := now.Add(s.cfg.LinkTTL)
	if req.DueDate != "" {
		d, _ := time.ParseInLocation(dateLayout, req.DueDate, istZone)
		expires = d.AddDate(0, 0, 1)
	}

	s.mu.Lock()
	key := m.MID + "\x00" + req.MerchantTxnID
	if inv, ok := s.byTxn[key]; ok { // lost a race with the same merchantTxnId
		resp := invoiceResponse(codeDuplicateTxn, inv)
		resp.StatusDesc = Describe(codeDuplicateTxn) + ": duplicate merchantTxnId, invoice " + inv.InvoiceNo + " already created"
		s.mu.Unlock()
		writeOTS(w, resp, m)
		return
	}
	s.seq++
	no := fmt.Sprintf("INV%d", s.seq)
	sum := sha256.Sum256([]byte(m.MID + "/" + no))
	inv := &Invoice{
		InvoiceNo: no, MID: m.MID, MerchantTxnID: req.MerchantTxnID, TemplateID: t.TemplateID,
		Amount: req.Amount, AmountPaise: paise, CustomerName: req.CustomerName,
		Email: req.CustomerEmail, Mobile: req.CustomerMobile, Fields: fields,
		PaymentLink: strings.TrimRight(s.cfg.LinkBaseURL, "/") + "/" + hex.EncodeToString(sum[:12]),
		Status:      InvoiceSent, Sends: 1, CreatedAt: now, ExpiresAt: expires, NotifyBy: req.NotifyBy,
	}
	if req.NotifyBy == notifyNone {
		inv.Sends = 0 // the merchant shares the link itself
	}
	s.invoices[no] = inv
	s.byTxn[key] = inv
	if s.nextExpiry.IsZero() || expires.Before(s.nextExpiry) {
		s.nextExpiry = expires
	}
	resp := invoiceResponse(CodeLinkSent, inv)
	s.mu.Unlock()
	writeOTS(w, resp, m)
}

// missingFor names what notifyBy needs and the request lacks.
func missingFor(notifyBy, email, mobile string) string {
	switch notifyBy {
	case notifyEmail:
		return missing("customerEmail", email)
	case notifySMS:
		return missing("customerMobile", mobile)
	case notifyEmailSMS:
		return missing("customerEmail", email, "customerMobile", mobile)
	}
	return ""
}

// checkAmountRules applies the template's amount rules (OTS1009).
func checkAmountRules(t *TemplateWire, paise int64) string {
	if minP, err := providers.ParseAmount(t.MinAmount); err == nil && t.MinAmount != "" && paise < minP {
		return "amount is below the template's minimum " + t.MinAmount
	}
	if maxP, err := providers.ParseAmount(t.MaxAmount); err == nil && t.MaxAmount != "" && paise > maxP {
		return "amount is above the template's maximum " + t.MaxAmount
	}
	return ""
}

// validateCreate checks formats; it returns the amount in paise, or a
// description of what is wrong (OTS1009).
func validateCreate(req *CreateLinkRequest, now time.Time) (int64, string) {
	if !reMerchantTxnID.MatchString(req.MerchantTxnID) {
		return 0, fmt.Sprintf("merchantTxnId must be 1-%d letters, digits, '-' or '_'", maxMerchantTxnID)
	}
	if len(req.TemplateID) > maxTemplateID {
		return 0, "templateId too long"
	}
	if !reAmount.MatchString(req.Amount) {
		return 0, "amount must have exactly two decimals"
	}
	paise, err := providers.ParseAmount(req.Amount)
	if err != nil || paise <= 0 || paise/100 > maxAmountRupees {
		return 0, "amount must be positive and at most 9999999999.99"
	}
	if req.Currency != "" && req.Currency != currencyINR {
		return 0, "currency must be INR"
	}
	if utf8.RuneCountInString(req.CustomerName) > maxCustomerName || !reName.MatchString(req.CustomerName) {
		return 0, "customerName has characters not allowed or is too long"
	}
	if req.CustomerEmail != "" && (len(req.CustomerEmail) > maxEmail || !reEmail.MatchString(req.CustomerEmail)) {
		return 0, "customerEmail is not an e-mail address"
	}
	if req.CustomerMobile != "" && !reMobile.MatchString(req.CustomerMobile) {
		return 0, "customerMobile must be a 10-digit Indian mobile number"
	}
	if req.DueDate != "" {
		d, err := time.ParseInLocation(dateLayout, req.DueDate, istZone)
		if err != nil {
			return 0, "dueDate must be YYYY-MM-DD"
		}
		if !d.AddDate(0, 0, 1).After(now) {
			return 0, "dueDate is in the past"
		}
	}
	return paise, ""
}

// fillFields applies the request's field values to the template: unknown
// fields are OTS1009, a mandatory field with neither value nor default is
// OTS1006, a use-default field whose default was never set is OTS1007.
func fillFields(t *TemplateWire, given []FieldValue) (map[string]string, string, string) {
	byName := map[string]*FieldWire{}
	for i := range t.Fields {
		byName[t.Fields[i].FieldName] = &t.Fields[i]
	}
	out := map[string]string{}
	for _, fv := range given {
		f, ok := byName[fv.Name]
		if !ok {
			return nil, CodeBadRequest, "field " + strconv.Quote(fv.Name) + " is not in template " + t.TemplateID
		}
		if _, dup := out[fv.Name]; dup {
			return nil, CodeBadRequest, "field " + strconv.Quote(fv.Name) + " given twice"
		}
		if msg := checkFieldValue(f, fv.Value); msg != "" {
			return nil, CodeBadRequest, msg
		}
		out[fv.Name] = fv.Value
	}
	var noValue, noDefault []string
	for _, f := range t.Fields {
		if v := out[f.FieldName]; strings.TrimSpace(v) != "" {
			continue
		}
		switch {
		case f.UseDefault && f.DefaultValue == "":
			noDefault = append(noDefault, f.FieldName)
		case f.UseDefault:
			out[f.FieldName] = f.DefaultValue
		case f.Mandatory:
			noValue = append(noValue, f.FieldName)
		}
	}
	if len(noValue) > 0 {
		return nil, CodeFieldsMissing, strings.Join(noValue, ", ")
	}
	if len(noDefault) > 0 {
		return nil, CodeDefaultMissing, strings.Join(noDefault, ", ")
	}
	return out, "", ""
}

func checkFieldValue(f *FieldWire, v string) string {
	limit := f.MaxLength
	if limit <= 0 {
		limit = maxFieldValue
	}
	if utf8.RuneCountInString(v) > limit || !utf8.ValidString(v) {
		return fmt.Sprintf("field %q longer than %d", f.FieldName, limit)
	}
	if v == "" {
		return ""
	}
	switch f.FieldType {
	case "number":
		if _, err := strconv.ParseUint(v, 10, 63); err != nil {
			return fmt.Sprintf("field %q must be a whole number", f.FieldName)
		}
	case "date":
		if _, err := time.Parse(dateLayout, v); err != nil {
			return fmt.Sprintf("field %q must be YYYY-MM-DD", f.FieldName)
		}
	case "email":
		if !reEmail.MatchString(v) {
			return fmt.Sprintf("field %q must be an e-mail address", f.FieldName)
		}
	}
	return ""
}

func invoiceResponse(code string, inv *Invoice) *Response {
	return &Response{
		StatusCode: code, MerchID: inv.MID, MerchantTxnID: inv.MerchantTxnID,
		InvoiceNo: inv.InvoiceNo, Amount: inv.Amount, PaymentLink: inv.PaymentLink,
		InvoiceStatus: inv.Status, ExpiresOn: inv.ExpiresAt.In(istZone).Format(time.RFC3339),
	}
}

func (s *Sandbox) handleResend(w http.ResponseWriter, r *http.Request) {
	s.invoiceAction(w, r, func(inv *Invoice) string {
		switch inv.Status {
		case InvoiceCancelled:
			return CodeCancelledInvoice
		case InvoiceSent:
			if inv.Email == "" && inv.Mobile == "" {
				return CodeParamsMissing // nowhere to send it
			}
			inv.Sends++
			return CodeLinkSent
		}
		return CodeRequestFailed // paid or expired: nothing to resend
	})
}

func (s *Sandbox) handleCancel(w http.ResponseWriter, r *http.Request) {
	s.invoiceAction(w, r, func(inv *Invoice) string {
		switch inv.Status {
		case InvoiceCancelled:
			return CodeCancelledInvoice
		case InvoiceSent:
			inv.Status = InvoiceCancelled
			inv.CancelledAt = s.now()
			return CodeLinkCancelled
		}
		return CodeRequestFailed // paid or expired: cannot be cancelled
	})
}

// invoiceAction is resend and cancel: same body, same signature, same checks.
func (s *Sandbox) invoiceAction(w http.ResponseWriter, r *http.Request, act func(*Invoice) string) {
	var req InvoiceRequest
	m := s.readRequest(w, r, &req, func() authHeader { return authHeader{req.MerchID, req.Password, req.Signature} })
	if m == nil {
		return
	}
	if miss := missing("invoiceNo", req.InvoiceNo); miss != "" {
		writeOTS(w, &Response{StatusCode: CodeParamsMissing, StatusDesc: Describe(CodeParamsMissing) + ": " + miss, MerchID: m.MID}, m)
		return
	}
	if !s.checkSig(w, m, invoiceSigString(req.MerchID, req.Password, req.InvoiceNo), req.Signature) {
		return
	}
	s.mu.Lock()
	s.expireDue(s.now())
	inv, ok := s.invoices[req.InvoiceNo]
	if !ok || inv.MID != m.MID || len(req.InvoiceNo) > maxInvoiceNo {
		s.mu.Unlock()
		writeOTS(w, &Response{StatusCode: CodeInvoiceNotFound, MerchID: m.MID, InvoiceNo: req.InvoiceNo}, m)
		return
	}
	s.advance(inv, s.now())
	code := act(inv)
	resp := invoiceResponse(code, inv)
	switch code {
	case CodeRequestFailed:
		resp.StatusDesc = Describe(code) + ": invoice is " + inv.Status
	case CodeParamsMissing:
		resp.StatusDesc = Describe(code) + ": the invoice has no customerEmail or customerMobile to send to"
	}
	s.mu.Unlock()
	writeOTS(w, resp, m)
}

// writeOTS answers with the provider's envelope, signed under m's response
// key when the merchant was authenticated. Business answers are HTTP 200 like
// the provider's; only OTS1010 (500) and OTS1013 (404) say it in HTTP too.
func writeOTS(w http.ResponseWriter, resp *Response, m *Merchant) {
	if resp.StatusDesc == "" {
		resp.StatusDesc = Describe(resp.StatusCode)
	}
	if m != nil {
		resp.MerchID = m.MID
		resp.Signature = Sign(m.ResponseHashKey, responseSigString(resp))
	}
	status := http.StatusOK
	switch resp.StatusCode {
	case CodeWentWrong:
		status = http.StatusInternalServerError
	case CodeActionNotFound:
		status = http.StatusNotFound
	}
	sandboxkit.WriteJSON(w, status, resp)
}

// ---- control surface ----

func (s *Sandbox) handleListInvoices(w http.ResponseWriter, r *http.Request) {
	sandboxkit.WriteJSON(w, http.StatusOK, s.Invoices())
}

func (s *Sandbox) handleMarkPaid(w http.ResponseWriter, r *http.Request) {
	var body struct {
		BankRef string `json:"bankRef"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&body); err != nil && err != io.EOF {
			sandboxkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
	}
	inv, err := s.MarkPaid(r.PathValue("invoiceNo"), body.BankRef)
	writeInvoiceOutcome(w, inv, err)
}

func (s *Sandbox) handleExpire(w http.ResponseWriter, r *http.Request) {
	inv, err := s.Expire(r.PathValue("invoiceNo"))
	writeInvoiceOutcome(w, inv, err)
}

// writeInvoiceOutcome answers a control action on an invoice: 404 unknown,
// 409 not in a state that allows it, else the invoice.
func writeInvoiceOutcome(w http.ResponseWriter, inv Invoice, err error) {
	switch {
	case errors.Is(err, errInvoiceUnknown):
		sandboxkit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		sandboxkit.WriteJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "invoice": inv})
	default:
		sandboxkit.WriteJSON(w, http.StatusOK, inv)
	}
}

func (s *Sandbox) handleNotifyURL(w http.ResponseWriter, r *http.Request) {
	var body struct {
		URL string `json:"url"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&body); err != nil {
		sandboxkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.SetNotifyURL(DemoMID, body.URL)
	sandboxkit.WriteJSON(w, http.StatusOK, map[string]string{"url": body.URL})
}

func (s *Sandbox) handleListNotifications(w http.ResponseWriter, r *http.Request) {
	sandboxkit.WriteJSON(w, http.StatusOK, s.Notifications())
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
