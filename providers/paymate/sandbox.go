package paymate

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"paydesk/providers/sandboxkit"
)

// Role is a PayMate sub-user's role, chosen by the UserEmail header.
type Role string

// Roles the sandbox knows. A request without UserEmail acts as Admin.
const (
	RoleAdmin  Role = "admin"  // everything
	RoleMaker  Role = "maker"  // everything but ApprovePayment
	RoleViewer Role = "viewer" // reports, lists and balance only
)

// SandboxConfig shapes a sandbox. Zero fields take the demo defaults, so
// NewSandbox(SandboxConfig{}) answers a client built with DemoConfig.
type SandboxConfig struct {
	// Now is the sandbox's clock (default time.Now). Lifecycles advance
	// lazily against it, so a test can step time by hand.
	Now func() time.Time
	// Step is the time between two lifecycle steps of an approved payment
	// (202 → 211 → 216 → 231), default 2s.
	Step time.Duration
	// RequestTTL is how long a payment request (ours or a vendor's) stays
	// pending before it expires (205), default 7 days.
	RequestTTL time.Duration

	BusinessID string
	TerminalID string
	XpressID   string
	Key, IV    []byte
	// EncField names the ciphertext member (DefaultEncField).
	EncField string
	// AllowedIPs, when set, is PayMate's IP allow-list (addresses or CIDR
	// prefixes); other callers get 192.
	AllowedIPs []string
	// Users maps UserEmail values to roles (default: the demo maker and viewer).
	Users map[string]Role

	// OpeningBalancePaise seeds the Xpress Account (default ₹60,00,070.20).
	OpeningBalancePaise int64
	// CommissionPaise is PayMate's fee per executed payment, plus 18% service
	// tax on it (default ₹10). Negative means no fee.
	CommissionPaise int64
	// VANIFSC is the IFSC of the virtual accounts given to contacts.
	VANIFSC string
	// NoSeedContacts leaves out the contacts "made on the portal".
	NoSeedContacts bool
}

// Sandbox is an in-memory PayMate. It is safe for concurrent use.
type Sandbox struct {
	cfg     SandboxConfig
	box     cipherBox
	allowed []netip.Prefix
	in      *sandboxkit.Injector
	ledger  *sandboxkit.Ledger
	api     http.Handler
	control http.Handler

	mu    sync.Mutex
	state state
}

var _ sandboxkit.Sandbox = (*Sandbox)(nil)

// NewSandbox returns a sandbox with cfg's defaults filled in. It panics on key
// material of the wrong size, which is a programming error.
func NewSandbox(cfg SandboxConfig) *Sandbox {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Step <= 0 {
		cfg.Step = defaultStep
	}
	if cfg.RequestTTL <= 0 {
		cfg.RequestTTL = defaultRequestTTL
	}
	if cfg.BusinessID == "" {
		cfg.BusinessID = DemoBusinessID
	}
	if cfg.TerminalID == "" {
		cfg.TerminalID = DemoTerminalID
	}
	if cfg.XpressID == "" {
		cfg.XpressID = DemoXpressID
	}
	if cfg.Key == nil {
		cfg.Key = []byte(DemoKey)
	}
	if cfg.IV == nil {
		cfg.IV = []byte(DemoIV)
	}
	if cfg.EncField == "" {
		cfg.EncField = DefaultEncField
	}
	if cfg.Users == nil {
		cfg.Users = map[string]Role{DemoMakerEmail: RoleMaker, DemoViewerEmail: RoleViewer}
	}
	users := make(map[string]Role, len(cfg.Users))
	for k, v := range cfg.Users {
		users[strings.ToLower(k)] = v
	}
	cfg.Users = users
	if cfg.OpeningBalancePaise == 0 {
		cfg.OpeningBalancePaise = defaultOpeningBalancePaise
	}
	switch {
	case cfg.CommissionPaise == 0:
		cfg.CommissionPaise = defaultCommissionPaise
	case cfg.CommissionPaise < 0:
		cfg.CommissionPaise = 0
	}
	if cfg.VANIFSC == "" {
		cfg.VANIFSC = defaultVANIFSC
	}
	box, err := newCipherBox(cfg.Key, cfg.IV)
	if err != nil {
		panic(err)
	}
	s := &Sandbox{cfg: cfg, box: box, in: sandboxkit.NewInjector(), ledger: sandboxkit.NewLedger()}
	for _, a := range cfg.AllowedIPs {
		if p, err := netip.ParsePrefix(a); err == nil {
			s.allowed = append(s.allowed, p.Masked())
		} else if ip, err := netip.ParseAddr(a); err == nil {
			s.allowed = append(s.allowed, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		} else {
			panic("paymate: bad AllowedIPs entry " + a)
		}
	}
	s.state = newState(cfg)
	mux := http.NewServeMux()
	mux.HandleFunc(servicePath+"{method}", s.serveAPI)
	s.api = s.in.Wrap(mux)
	s.control = s.newControl()
	return s
}

// Name is the provider's name.
func (s *Sandbox) Name() string { return Name }

// ServeHTTP serves PayMate's endpoints, with faults injected.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

// Control serves the sandbox's control routes (see newControl).
func (s *Sandbox) Control() http.Handler { return s.control }

// Ledger is the record of executed payments.
func (s *Sandbox) Ledger() *sandboxkit.Ledger { return s.ledger }

// Injector is the fault injector in front of the endpoints.
func (s *Sandbox) Injector() *sandboxkit.Injector { return s.in }

// outEnvelope is what the sandbox writes: the plain spellings.
type outEnvelope struct {
	XpressID         string `json:"XpressID"`
	ErrorCode        string `json:"ErrorCode"`
	ErrorDescription string `json:"ErrorDescription"`
	Response         any    `json:"Response"`
}

// call is one authenticated, decrypted request.
type call struct {
	f    fields
	role Role
	now  time.Time
}

// apiMethod is one PayMate method.
type apiMethod struct {
	write   bool // creates or moves something: not for viewers
	approve bool // ApprovePayment: admins only
	fn      func(s *Sandbox, c call) (code string, resp any)
}

var apiMethods = map[string]apiMethod{
	"AddContact":               {write: true, fn: (*Sandbox).addContact},
	"GetContactList":           {fn: (*Sandbox).contactList},
	"BookPayment":              {write: true, fn: (*Sandbox).bookPayment},
	"BookPaymentsByXpressID":   {write: true, fn: (*Sandbox).bookByXpressID},
	"ApprovePayment":           {write: true, approve: true, fn: (*Sandbox).approvePayment},
	"GetPaymentReport":         {fn: (*Sandbox).paymentReport},
	"GetXpressAccountBalance":  {fn: (*Sandbox).balance},
	"VendorRequestPayment":     {write: true, fn: (*Sandbox).vendorRequest},
	"RequestPayment":           {write: true, fn: (*Sandbox).requestPayment},
	"RequestPaymentByXpressID": {write: true, fn: (*Sandbox).requestByXpressID},
	"GetRequestPaymentReport":  {fn: (*Sandbox).requestReport},
}

// maxBody bounds a request body; PayMate's largest request is well under it.
const maxBody = 64 << 10

// serveAPI checks a request the way PayMate does, in this order: method,
// source IP, identification headers, user, request type, decryption; then
// runs the method and answers encrypted.
func (s *Sandbox) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.plain(w, http.StatusMethodNotAllowed, "129")
		return
	}
	if !s.ipAllowed(r.RemoteAddr) {
		s.plain(w, http.StatusOK, "192")
		return
	}
	biz := r.Header.Get(HeaderBusiness)
	if biz == "" {
		biz = r.Header.Get(HeaderMerchant)
	}
	term, xid := r.Header.Get(HeaderTerminal), r.Header.Get(HeaderXpressID)
	switch {
	case biz == "" && term == "" && xid == "":
		s.plain(w, http.StatusOK, "120")
		return
	case len(biz) > maxHeaderIDLen || len(term) > maxHeaderIDLen || biz != s.cfg.BusinessID || term != s.cfg.TerminalID:
		s.plain(w, http.StatusOK, "101")
		return
	case xid != s.cfg.XpressID:
		s.plain(w, http.StatusOK, "103")
		return
	}
	role := RoleAdmin
	if email := strings.TrimSpace(r.Header.Get(HeaderUserEmail)); email != "" {
		rl, ok := s.cfg.Users[strings.ToLower(email)]
		if !ok || len(email) > 180 {
			s.plain(w, http.StatusOK, "101")
			return
		}
		role = rl
	}
	m, ok := apiMethods[r.PathValue("method")]
	if !ok || (m.write && role == RoleViewer) || (m.approve && role != RoleAdmin) {
		s.answer(w, "104", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.plain(w, http.StatusOK, "105")
		return
	}
	f, code := s.decrypt(body)
	if code != "" {
		s.plain(w, http.StatusOK, code)
		return
	}
	code, resp := m.fn(s, call{f: f, role: role, now: s.cfg.Now()})
	s.answer(w, code, resp)
}

// decrypt opens {"encData":"…"} into the request's fields, or returns the
// PayMate code for why it cannot: 105 when the ciphertext is visibly cut or
// altered, 102 for everything a wrong key or IV produces.
func (s *Sandbox) decrypt(body []byte) (fields, string) {
	var outer map[string]json.RawMessage
	if json.Unmarshal(body, &outer) != nil {
		return nil, "102"
	}
	var text string
	if raw, ok := outer[s.cfg.EncField]; !ok || json.Unmarshal(raw, &text) != nil {
		return nil, "102"
	}
	plain, err := s.box.open(text)
	if errors.Is(err, errTampered) {
		return nil, "105"
	}
	if err != nil {
		return nil, "102"
	}
	f, err := parseFields(plain)
	if err != nil {
		return nil, "102"
	}
	return f, ""
}

func (s *Sandbox) ipAllowed(remote string) bool {
	if len(s.allowed) == 0 {
		return true
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.allowed {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// plain answers an error without encryption: the caller is not (yet) known to
// hold the key.
func (s *Sandbox) plain(w http.ResponseWriter, status int, code string) {
	sandboxkit.WriteJSON(w, status, outEnvelope{XpressID: s.cfg.XpressID, ErrorCode: code, ErrorDescription: codes[code].Message, Response: ""})
}

// answer writes the encrypted envelope.
func (s *Sandbox) answer(w http.ResponseWriter, code string, resp any) {
	if code != codeSuccess || resp == nil {
		resp = ""
	}
	env, err := json.Marshal(outEnvelope{XpressID: s.cfg.XpressID, ErrorCode: code, ErrorDescription: codes[code].Message, Response: resp})
	if err != nil {
		s.plain(w, http.StatusOK, "999")
		return
	}
	sealed, err := s.box.seal(env)
	if err != nil {
		s.plain(w, http.StatusOK, "999")
		return
	}
	sandboxkit.WriteJSON(w, http.StatusOK, map[string]string{s.cfg.EncField: sealed})
}
