package kotakcms

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"paydesk/providers/internal/kotak"
	"paydesk/providers/sandboxkit"
)

// SandboxConfig shapes a sandbox bank.
type SandboxConfig struct {
	ClientID     string
	ClientSecret string
	// EncryptionKey as in Config: empty means the client secret.
	EncryptionKey       string
	EncryptionKeyBase64 bool
	Plaintext           bool
	TokenTTL            time.Duration

	ClientCode          string
	DebitAccount        string
	OpeningBalancePaise int64

	// Lifecycle after approval: PS for PendingSendFor, then C for
	// InProcessFor, then U (or CF for a returned beneficiary). Zero
	// durations move on at the next read.
	PendingSendFor time.Duration
	InProcessFor   time.Duration

	// Now is the bank's clock; nil: time.Now.
	Now func() time.Time
}

// DefaultSandboxConfig matches DemoConfig.
func DefaultSandboxConfig() SandboxConfig {
	return SandboxConfig{
		ClientID: DemoClientID, ClientSecret: DemoClientSecret, TokenTTL: defaultTokenTTL,
		ClientCode: DemoClientCode, DebitAccount: DemoDebitAccount, OpeningBalancePaise: demoOpeningPaise,
		PendingSendFor: defaultPendingFor, InProcessFor: defaultInProcess,
	}
}

// Sandbox behaves like Kotak CMS for one client code and debit account.
type Sandbox struct {
	kotak.SandboxBase // Ledger: the executions so far
	cfg               SandboxConfig

	mu      sync.Mutex
	balance int64
	msgIDs  map[string]bool
	insts   map[string]*instrument
	seq     uint64
}

var _ sandboxkit.Sandbox = (*Sandbox)(nil)

// instrument is the bank's record of one payment instruction.
type instrument struct {
	w          wireInstrument
	amount     int64
	messageID  string
	batchRef   string
	source     string // API or PORTAL
	status     string
	remark     string
	utr        string
	createdAt  time.Time
	approvedAt time.Time // zero until approved
}

// NewSandbox builds a sandbox; it panics on an unusable key, which is a
// programming error in the caller's configuration.
func NewSandbox(cfg SandboxConfig) *Sandbox {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sandbox{
		SandboxBase: kotak.NewSandboxBase(Name, kotak.SandboxAuth{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenTTL: cfg.TokenTTL, Now: cfg.Now,
			EncryptionKey: cfg.EncryptionKey, EncryptionKeyBase64: cfg.EncryptionKeyBase64, Plaintext: cfg.Plaintext,
		}),
		cfg:     cfg,
		balance: cfg.OpeningBalancePaise,
		msgIDs:  map[string]bool{},
		insts:   map[string]*instrument{},
	}
	const limit = 4 << 20
	s.Route(PathPay, ContentXML, limit, func(b []byte) ([]byte, error) { return marshalEnvelope(s.pay(b)) })
	s.Route(PathInquiry, ContentXML, limit, func(b []byte) ([]byte, error) { return marshalEnvelope(s.inquiry(b)) })
	s.Route(PathPending, ContentJSON, limit, func(b []byte) ([]byte, error) { return json.Marshal(s.pending(b)) })
	s.Route(PathAuthorize, ContentJSON, limit, func(b []byte) ([]byte, error) { return json.Marshal(s.authorize(b)) })
	s.controlRoutes(s.Mount())
	return s
}

// Balance returns the debit account's balance.
func (s *Sandbox) Balance() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.balance
}

// --- Payment ---

func payAck(msgID, code, rem string, insts []ackInstrument) payResponse {
	r := payResponse{
		XMLName:   xml.Name{Space: NSPayResponse, Local: elemPayment},
		AckHeader: ackHeader{MessageID: msgID, StatusCd: code, StatusRem: rem},
	}
	if len(insts) > 0 {
		r.InstrumentList = &ackInstrumentList{Instruments: insts}
	}
	return r
}

// pay parses and executes a payment request; it never panics on input.
func (s *Sandbox) pay(body []byte) payResponse {
	var env envelope[payRequest]
	if err := xml.Unmarshal(body, &env); err != nil {
		return payAck("", "001", ackCodes["001"].Desc+": "+err.Error(), nil)
	}
	req := env.Body.Content
	msgID := req.RequestHeader.MessageID
	if env.XMLName != (xml.Name{Space: NSSOAP, Local: elemEnvelope}) || req.XMLName != (xml.Name{Space: NSPayRequest, Local: elemPayment}) {
		return payAck(msgID, "001", ackCodes["001"].Desc+": expected a SOAP 1.2 Envelope carrying Payment in "+NSPayRequest, nil)
	}
	if f := schemaHeader(req.RequestHeader); f != "" {
		return payAck(msgID, "001", ackCodes["001"].Desc+": "+f, nil)
	}
	list := req.InstrumentList.Instruments
	if len(list) == 0 || len(list) > maxInstruments {
		return payAck(msgID, "001", fmt.Sprintf("%s: 1–%d instruments per request", ackCodes["001"].Desc, maxInstruments), nil)
	}
	seen := make(map[string]bool, len(list))
	for i, in := range list {
		if f := schemaInstrument(in); f != "" {
			return payAck(msgID, "001", fmt.Sprintf("%s: instrument %d: %s", ackCodes["001"].Desc, i+1, f), nil)
		}
		if seen[in.InstRefNo] {
			return payAck(msgID, "004", ackCodes["004"].Desc+" "+in.InstRefNo, nil)
		}
		seen[in.InstRefNo] = true
	}

	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.RequestHeader.ClientCode != s.cfg.ClientCode {
		return payAck(msgID, "003", ackCodes["003"].Desc, nil)
	}
	if s.msgIDs[msgID] {
		return payAck(msgID, "002", ackCodes["002"].Desc, nil)
	}
	s.msgIDs[msgID] = true
	acks := make([]ackInstrument, 0, len(list))
	accepted := 0
	for _, in := range list {
		if prev, ok := s.insts[in.InstRefNo]; ok {
			acks = append(acks, ackInstrument{InstRefNo: in.InstRefNo, InstStatusCd: "006",
				InstStatusRem: fmt.Sprintf("Duplicate InstRefNo: already received with MessageId %s, status %s", prev.messageID, prev.status)})
			continue
		}
		paise, fault := businessInstrument(in, s.cfg.DebitAccount, now)
		if fault != "" {
			acks = append(acks, ackInstrument{InstRefNo: in.InstRefNo, InstStatusCd: "006", InstStatusRem: fault})
			continue
		}
		s.insts[in.InstRefNo] = &instrument{
			w: in, amount: paise, messageID: msgID, batchRef: req.RequestHeader.BatchRefNmbr,
			source: "API", status: "PA", createdAt: now,
		}
		accepted++
		acks = append(acks, ackInstrument{InstRefNo: in.InstRefNo, InstStatusCd: instAccepted, InstStatusRem: "Instrument validated successfully; pending approval"})
	}
	switch accepted {
	case len(list):
		return payAck(msgID, "000", ackCodes["000"].Desc, acks)
	case 0:
		return payAck(msgID, "009", ackCodes["009"].Desc, acks)
	default:
		return payAck(msgID, "005", ackCodes["005"].Desc, acks)
	}
}

// --- Lifecycle ---

// advance moves an approved instrument along by the clock. Caller holds mu.
func (s *Sandbox) advance(in *instrument, now time.Time) {
	if in.approvedAt.IsZero() {
		return
	}
	if in.status == "PS" && !now.Before(in.approvedAt.Add(s.cfg.PendingSendFor)) {
		in.status, in.remark = "C", ""
	}
	if in.status == "C" && !now.Before(in.approvedAt.Add(s.cfg.PendingSendFor+s.cfg.InProcessFor)) {
		if strings.HasSuffix(in.w.BeneAcctNo, returnedAcctSuffix) {
			in.status, in.remark = "CF", "Credit Failed: beneficiary account closed, returned by beneficiary bank"
			s.balance += in.amount
			return
		}
		in.status, in.remark = "U", ""
	}
}

// approve takes the money: the one place a payment executes. Caller holds mu
// and has checked the instrument is in PA.
func (s *Sandbox) approve(in *instrument, now time.Time) {
	in.approvedAt = now
	if s.balance < in.amount {
		in.status, in.remark = "DF", "Debit Failed: insufficient balance in account "+in.w.AccountNo
		return
	}
	s.balance -= in.amount
	s.seq++
	in.utr = kotak.UTR(in.w.PayMode, now, s.seq)
	in.status, in.remark = "PS", ""
	s.Ledger().Record(sandboxkit.Execution{
		Provider: Name, Kind: "payout", Ref: in.w.InstRefNo, AmountPaise: in.amount, Account: in.w.BeneAcctNo,
		IFSC: in.w.RecBrCd, Rail: in.w.PayMode, UTR: in.utr, At: now,
	})
}

func statusDesc(in *instrument) string {
	d := statusCodes[in.status].Desc
	if in.remark != "" {
		d += ": " + in.remark
	}
	return d
}

// --- Status inquiry ---

func revAnswer(h revHeader, details []RevDetail) revResponse {
	r := revResponse{XMLName: xml.Name{Space: NSRevResponse, Local: elemReversal}, Header: h}
	r.Details.RevDetails = details
	return r
}

func (s *Sandbox) inquiry(body []byte) revResponse {
	var env envelope[revRequest]
	if err := xml.Unmarshal(body, &env); err != nil {
		return revAnswer(revHeader{}, []RevDetail{{StatusCode: "001", StatusDesc: ackCodes["001"].Desc + ": " + err.Error()}})
	}
	req := env.Body.Content
	h := req.Header
	fail := func(code, why string) revResponse {
		desc := ackCodes[code].Desc
		if why != "" {
			desc += ": " + why
		}
		return revAnswer(h, []RevDetail{{MsgID: h.ReqID, StatusCode: code, StatusDesc: desc}})
	}
	if env.XMLName != (xml.Name{Space: NSSOAP, Local: elemEnvelope}) || req.XMLName != (xml.Name{Space: NSRevRequest, Local: elemReversal}) {
		return fail("001", "expected a SOAP 1.2 Envelope carrying Reversal in "+NSRevRequest)
	}
	if f := kotak.FirstFault(
		kotak.FieldLen("Req_Id", h.ReqID, 1, maxReqID),
		kotak.FieldLen("Msg_Src", h.MsgSrc, 1, maxMsgSource),
		kotak.FieldLen("Client_Code", h.ClientCode, 1, maxClientCode),
		kotak.FieldLen("Date_Post", h.DatePost, 0, 10),
	); f != "" {
		return fail("001", f)
	}
	if h.DatePost != "" {
		if _, err := time.Parse(time.DateOnly, h.DatePost); err != nil {
			return fail("001", "Date_Post is not YYYY-MM-DD")
		}
	}
	ids := req.Details.MsgIDs
	if len(ids) == 0 || len(ids) > maxInquiryIDs {
		return fail("001", fmt.Sprintf("1–%d Msg_Id per inquiry", maxInquiryIDs))
	}
	for _, id := range ids {
		if f := kotak.FieldLen("Msg_Id", id, 1, maxInstRefNo); f != "" {
			return fail("001", f)
		}
	}
	if h.ClientCode != s.cfg.ClientCode {
		return fail("003", "")
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RevDetail, 0, len(ids))
	for _, id := range ids {
		in, ok := s.insts[id]
		if !ok {
			out = append(out, RevDetail{MsgID: id, StatusDesc: descNotFound})
			continue
		}
		s.advance(in, now)
		d := RevDetail{MsgID: id, StatusCode: in.status, StatusDesc: statusDesc(in)}
		if in.status == "U" {
			d.UTR = in.utr
		}
		out = append(out, d)
	}
	return revAnswer(h, out)
}

// --- Pending approvals ---

func (s *Sandbox) pending(body []byte) pendingResponse {
	var req pendingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return pendingResponse{StatusCd: "001", StatusRem: "Request validation failed: " + err.Error()}
	}
	if f := kotak.FieldLen("ClientCode", req.ClientCode, 1, maxClientCode); f != "" {
		return pendingResponse{StatusCd: "001", StatusRem: "Request validation failed: " + f}
	}
	if req.ClientCode != s.cfg.ClientCode {
		return pendingResponse{StatusCd: "003", StatusRem: ackCodes["003"].Desc}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*instrument
	for _, in := range s.insts {
		if in.status == "PA" {
			list = append(list, in)
		}
	}
	sortInstruments(list)
	out := pendingResponse{StatusCd: "000", StatusRem: fmt.Sprintf("%d instruments pending approval", len(list)), Instruments: []wirePending{}}
	for _, in := range list {
		out.Instruments = append(out.Instruments, wirePending{
			InstRefNo: in.w.InstRefNo, MessageID: in.messageID, BatchRefNmbr: in.batchRef,
			PayMode: in.w.PayMode, TxnAmnt: in.w.TxnAmnt, AccountNo: in.w.AccountNo, DrDesc: in.w.DrDesc,
			PaymentDt: in.w.PaymentDt, RecBrCd: in.w.RecBrCd, BeneAcctNo: in.w.BeneAcctNo,
			BeneName: in.w.BeneName, BeneCode: in.w.BeneCode, Source: in.source,
			CreatedAt: in.createdAt.In(kotak.IST).Format(time.RFC3339),
		})
	}
	return out
}

func sortInstruments(list []*instrument) {
	sort.Slice(list, func(i, j int) bool {
		if !list[i].createdAt.Equal(list[j].createdAt) {
			return list[i].createdAt.Before(list[j].createdAt)
		}
		return list[i].w.InstRefNo < list[j].w.InstRefNo
	})
}

// --- Authorisation ---

func (s *Sandbox) authorize(body []byte) authorizeResponse {
	var req authorizeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return authorizeResponse{StatusCd: "001", StatusRem: "Request validation failed: " + err.Error()}
	}
	bad := func(f string) authorizeResponse {
		return authorizeResponse{MessageID: req.MessageID, StatusCd: "001", StatusRem: "Request validation failed: " + f}
	}
	if f := kotak.FirstFault(
		kotak.FieldLen("MessageId", req.MessageID, 1, maxMessageID),
		kotak.FieldLen("ClientCode", req.ClientCode, 1, maxClientCode),
		kotak.FieldLen("Remarks", req.Remarks, 0, maxRemarks),
	); f != "" {
		return bad(f)
	}
	if req.Action != ActionApprove && req.Action != ActionReject {
		return bad(fmt.Sprintf("Action %q is not APPROVE or REJECT", req.Action))
	}
	if len(req.InstRefNo) == 0 || len(req.InstRefNo) > maxAuthorize {
		return bad(fmt.Sprintf("1–%d InstRefNo per request", maxAuthorize))
	}
	for _, ref := range req.InstRefNo {
		if f := kotak.FieldLen("InstRefNo", ref, 1, maxInstRefNo); f != "" {
			return bad(f)
		}
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.ClientCode != s.cfg.ClientCode {
		return authorizeResponse{MessageID: req.MessageID, StatusCd: "003", StatusRem: ackCodes["003"].Desc}
	}
	if s.msgIDs[req.MessageID] {
		return authorizeResponse{MessageID: req.MessageID, StatusCd: "002", StatusRem: ackCodes["002"].Desc}
	}
	s.msgIDs[req.MessageID] = true
	results := make([]AuthResult, 0, len(req.InstRefNo))
	done := 0
	for _, ref := range req.InstRefNo {
		res := s.decide(ref, req.Action, req.Remarks, now)
		if res.StatusCd == authDone {
			done++
		}
		results = append(results, res)
	}
	code := "005"
	switch done {
	case len(results):
		code = "000"
	case 0:
		code = "009"
	}
	return authorizeResponse{MessageID: req.MessageID, StatusCd: code, StatusRem: fmt.Sprintf("%d of %d instruments actioned", done, len(results)), Results: results}
}

// decide applies one authoriser decision. Caller holds mu.
func (s *Sandbox) decide(ref, action, remarks string, now time.Time) AuthResult {
	in, ok := s.insts[ref]
	if !ok {
		return AuthResult{InstRefNo: ref, StatusCd: authRefused, StatusRem: descNotFound}
	}
	s.advance(in, now)
	res := AuthResult{InstRefNo: ref}
	approved := !in.approvedAt.IsZero()
	switch {
	case in.status == "PA" && action == ActionApprove:
		s.approve(in, now)
		res.StatusCd, res.StatusRem = authDone, "Approved"
		if in.status == "DF" {
			res.StatusRem = "Approved; " + in.remark
		}
	case in.status == "PA":
		in.status, in.remark = "R", "Rejected by authoriser"
		if remarks != "" {
			in.remark += ": " + remarks
		}
		res.StatusCd, res.StatusRem = authDone, "Rejected"
	case approved && action == ActionApprove:
		res.StatusCd, res.StatusRem = authDone, "Already approved; no action taken"
	case in.status == "R" && action == ActionReject:
		res.StatusCd, res.StatusRem = authDone, "Already rejected; no action taken"
	case approved:
		res.StatusCd, res.StatusRem = authRefused, "Already approved; cannot reject"
	default:
		res.StatusCd, res.StatusRem = authRefused, "Not pending approval (status "+in.status+")"
	}
	res.Status = in.status
	return res
}
