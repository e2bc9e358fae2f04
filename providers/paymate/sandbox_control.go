package paymate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/sandboxkit"
)

// newControl adds PayMate's own control routes to the shared ones
// (GET/PUT /faults, GET /ledger):
//
//	POST /payments               a payment made on PayMate's portal, waiting in 199
//	GET  /payments               every payment with its current status
//	POST /vendor-requests        a registered vendor asks to be paid (200)
//	GET  /requests               every payment request with its current status
//	POST /requests/{id}/paid     the customer paid a payment request (231)
//	POST /requests/{id}/expire   a payment request expires now (205)
//	GET  /balance, PUT /balance  the Xpress Account balance in paise
//
// {id} is a request's OrderID or TransactionRefNo. Bodies are plain JSON;
// refusals carry PayMate's code.
func (s *Sandbox) newControl() http.Handler {
	mux := sandboxkit.NewControl(s.in, s.ledger)
	mux.HandleFunc("POST /payments", s.ctlPortalPayment)
	mux.HandleFunc("GET /payments", s.ctlPayments)
	mux.HandleFunc("POST /vendor-requests", s.ctlVendorRequest)
	mux.HandleFunc("GET /requests", s.ctlRequests)
	mux.HandleFunc("POST /requests/{id}/paid", s.ctlRequestPaid)
	mux.HandleFunc("POST /requests/{id}/expire", s.ctlRequestExpire)
	mux.HandleFunc("GET /balance", s.ctlBalance)
	mux.HandleFunc("PUT /balance", s.ctlSetBalance)
	return mux
}

// PortalPayment is the body of POST /payments.
type PortalPayment struct {
	OrderID     string `json:"order_id"` // default: generated
	CompanyName string `json:"company_name"`
	AccountNo   string `json:"account_no"`
	IFSC        string `json:"ifsc"`
	AmountPaise int64  `json:"amount_paise"`
	PaymentType string `json:"payment_type"` // Instant or Normal (default)
	Remarks     string `json:"remarks"`
}

// VendorRequestInput is the body of POST /vendor-requests.
type VendorRequestInput struct {
	ContactXpressID string `json:"contact_xpress_id"`
	OrderID         string `json:"order_id"` // default: generated
	AmountPaise     int64  `json:"amount_paise"`
	Remarks         string `json:"remarks"`
}

type ctlError struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

func ctlFail(w http.ResponseWriter, status int, code, msg string) {
	if msg == "" {
		msg = codes[code].Message
	}
	sandboxkit.WriteJSON(w, status, ctlError{Error: msg, Code: code})
}

func readCtl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		ctlFail(w, http.StatusBadRequest, "", "paymate: bad control body: "+err.Error())
		return false
	}
	return true
}

// asFields turns control input into request fields so the seed's field rules
// check portal payments exactly like API ones.
func asFields(m map[string]string) fields {
	f := fields{}
	for k, v := range m {
		b, _ := json.Marshal(v)
		f[strings.ToLower(k)] = b
	}
	return f
}

func (s *Sandbox) ctlPortalPayment(w http.ResponseWriter, r *http.Request) {
	var in PortalPayment
	if !readCtl(w, r, &in) {
		return
	}
	if in.OrderID == "" {
		s.mu.Lock()
		s.state.portalSeq++
		in.OrderID = fmt.Sprintf("PORTAL%06d", s.state.portalSeq)
		s.mu.Unlock()
	}
	if in.PaymentType == "" {
		in.PaymentType = string(Normal)
	}
	amount := ""
	if in.AmountPaise > 0 {
		amount = providers.FormatAmount(in.AmountPaise)
	}
	f := asFields(map[string]string{"CompanyName": in.CompanyName, "AccountNo": in.AccountNo, "IFSCode": in.IFSC,
		"OrderId": in.OrderID, "Amount": amount, "PaymentType": in.PaymentType, "PaymentFrom": string(FromXpressAccount), "Remarks": in.Remarks})
	code, _ := s.bookPayment(call{f: f, role: RoleAdmin, now: s.cfg.Now()})
	if code != codeSuccess {
		ctlFail(w, http.StatusUnprocessableEntity, code, "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.state.payByOrd[strings.ToUpper(in.OrderID)]
	p.Kind = payPortal
	sandboxkit.WriteJSON(w, http.StatusCreated, s.paymentRow(p, s.cfg.Now()))
}

func (s *Sandbox) ctlVendorRequest(w http.ResponseWriter, r *http.Request) {
	var in VendorRequestInput
	if !readCtl(w, r, &in) {
		return
	}
	if in.OrderID == "" {
		s.mu.Lock()
		s.state.portalSeq++
		in.OrderID = fmt.Sprintf("VREQ%06d", s.state.portalSeq)
		s.mu.Unlock()
	}
	amount := ""
	if in.AmountPaise > 0 {
		amount = providers.FormatAmount(in.AmountPaise)
	}
	f := asFields(map[string]string{"ClientXpressID": in.ContactXpressID, "OrderID": in.OrderID, "Amount": amount, "Remarks": in.Remarks})
	code, _ := s.vendorRequest(call{f: f, role: RoleAdmin, now: s.cfg.Now()})
	if code != codeSuccess {
		ctlFail(w, http.StatusUnprocessableEntity, code, "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sandboxkit.WriteJSON(w, http.StatusCreated, s.vendorRow(s.state.payByOrd[strings.ToUpper(in.OrderID)], s.cfg.Now()))
}

// ctlPaymentRow is a payment as the control surface lists it.
type ctlPaymentRow struct {
	Kind string `json:"kind"`
	outPaymentRow
}

func (s *Sandbox) ctlPayments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	s.settle(now)
	out := make([]ctlPaymentRow, 0, len(s.state.payments))
	for _, p := range s.state.payments {
		out = append(out, ctlPaymentRow{Kind: string(p.Kind), outPaymentRow: s.paymentRow(p, now)})
	}
	sandboxkit.WriteJSON(w, http.StatusOK, out)
}

func (s *Sandbox) ctlRequests(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	out := make([]outRequestRow, 0, len(s.state.requests))
	for _, rq := range s.state.requests {
		out = append(out, s.requestRow(rq, now))
	}
	sandboxkit.WriteJSON(w, http.StatusOK, out)
}

// findRequest looks a request up by OrderID or TransactionRefNo; mu held.
func (s *Sandbox) findRequest(id string) *sbRequest {
	if rq := s.state.reqByOrd[strings.ToUpper(id)]; rq != nil {
		return rq
	}
	return s.state.reqByTxn[id]
}

// PaidInput is the optional body of POST /requests/{id}/paid.
type PaidInput struct {
	BankRefNo string `json:"bank_ref_no"`
}

func (s *Sandbox) ctlRequestPaid(w http.ResponseWriter, r *http.Request) {
	var in PaidInput
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		ctlFail(w, http.StatusBadRequest, "", "paymate: bad control body: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	rq := s.findRequest(r.PathValue("id"))
	if rq == nil {
		ctlFail(w, http.StatusNotFound, "225", "")
		return
	}
	if st := s.reqStatus(rq, now); st != requestPendingCode {
		ctlFail(w, http.StatusConflict, "224", "paymate: request is "+st+" "+codes[st].Message)
		return
	}
	rq.Status, rq.PaidAt = "231", now
	rq.BankRef = in.BankRefNo
	if rq.BankRef == "" {
		rq.BankRef = s.state.nextBankRef(providers.RailIMPS, "", now)
	}
	sandboxkit.WriteJSON(w, http.StatusOK, s.requestRow(rq, now))
}

func (s *Sandbox) ctlRequestExpire(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	id := r.PathValue("id")
	if rq := s.findRequest(id); rq != nil {
		if st := s.reqStatus(rq, now); st != requestPendingCode {
			ctlFail(w, http.StatusConflict, "224", "paymate: request is "+st+" "+codes[st].Message)
			return
		}
		rq.Status = "205"
		sandboxkit.WriteJSON(w, http.StatusOK, s.requestRow(rq, now))
		return
	}
	// A vendor's request to be paid can expire too while still unpaid.
	p := s.state.payByOrd[strings.ToUpper(id)]
	if p == nil {
		p = s.state.payByTxn[id]
	}
	if p == nil || p.Kind != payVendor {
		ctlFail(w, http.StatusNotFound, "225", "")
		return
	}
	if st := s.payStatus(p, now); st != vendorRequestCode {
		ctlFail(w, http.StatusConflict, "224", "paymate: request is "+st+" "+codes[st].Message)
		return
	}
	p.Status = "205"
	sandboxkit.WriteJSON(w, http.StatusOK, s.vendorRow(p, now))
}

// BalanceBody is the body of GET/PUT /balance.
type BalanceBody struct {
	Paise int64     `json:"paise"`
	AsOf  time.Time `json:"as_of"`
}

func (s *Sandbox) ctlBalance(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	s.settle(now)
	sandboxkit.WriteJSON(w, http.StatusOK, BalanceBody{Paise: s.state.balance, AsOf: now})
}

func (s *Sandbox) ctlSetBalance(w http.ResponseWriter, r *http.Request) {
	var in BalanceBody
	if !readCtl(w, r, &in) {
		return
	}
	if in.Paise < 0 {
		ctlFail(w, http.StatusBadRequest, "", "paymate: balance cannot be negative")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	s.settle(now)
	s.state.balance = in.Paise
	sandboxkit.WriteJSON(w, http.StatusOK, BalanceBody{Paise: s.state.balance, AsOf: now})
}
