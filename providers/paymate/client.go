// Package paymate speaks PayMate's business API (contacts, booked and
// approved payments, Xpress Account balance, payment requests) and provides a
// sandbox that behaves like it.
//
// Every call is a POST of AES-256-CBC encrypted JSON to
// <base>/PMXClients.svc/PMXClients/<Method>, identified by three headers; the
// answer is the same kind of encrypted JSON holding the envelope
// {XpressID, ErrorCode, ErrorDescription, Response}.
package paymate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"paydesk/providers"
)

// Config is what a business gets from PayMate at signup, plus transport
// settings.
type Config struct {
	// BaseURL is the scheme and host (and any prefix) in front of
	// /PMXClients.svc/PMXClients/<Method>.
	BaseURL string
	// BusinessIdentification, TerminalIdentification and XpressID are the
	// three identification keys; UserEmail (optional) selects a sub-user's
	// role, absent means the Admin user.
	BusinessIdentification string
	TerminalIdentification string
	XpressID               string
	UserEmail              string
	// BusinessHeader is the header that carries BusinessIdentification:
	// HeaderBusiness (default) or HeaderMerchant for newer PayMate builds.
	BusinessHeader string
	// Key (32 bytes, AES-256) and IV (16 bytes) encrypt every body. PayMate
	// issues them as text; pass their UTF-8 bytes.
	Key []byte
	IV  []byte
	// EncField is the JSON member that carries the ciphertext (DefaultEncField).
	EncField string
	// HTTPClient defaults to a plain http.Client.
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt (default 30s).
	Timeout time.Duration
	// ReadAttempts bounds how often an idempotent read is tried (default 3).
	ReadAttempts int
	// RetryBackoff is the first pause between read attempts; it doubles,
	// capped at one second (default 100ms).
	RetryBackoff time.Duration
}

// DemoConfig returns a Config that talks to a sandbox built with default
// SandboxConfig credentials at baseURL.
func DemoConfig(baseURL string) Config {
	return Config{
		BaseURL:                baseURL,
		BusinessIdentification: DemoBusinessID,
		TerminalIdentification: DemoTerminalID,
		XpressID:               DemoXpressID,
		Key:                    []byte(DemoKey),
		IV:                     []byte(DemoIV),
	}
}

// Client calls PayMate. It is safe for concurrent use.
type Client struct {
	cfg  Config
	box  cipherBox
	http *http.Client
}

// NewClient checks cfg and returns a client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("paymate: BaseURL is required")
	}
	if cfg.BusinessIdentification == "" || cfg.TerminalIdentification == "" || cfg.XpressID == "" {
		return nil, errors.New("paymate: BusinessIdentification, TerminalIdentification and XpressID are required")
	}
	box, err := newCipherBox(cfg.Key, cfg.IV)
	if err != nil {
		return nil, err
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.BusinessHeader == "" {
		cfg.BusinessHeader = HeaderBusiness
	}
	if cfg.EncField == "" {
		cfg.EncField = DefaultEncField
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.ReadAttempts <= 0 {
		cfg.ReadAttempts = 3
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 100 * time.Millisecond
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, box: box, http: hc}, nil
}

// XpressID is the business's own XpressID, which also names its Xpress Account.
func (c *Client) XpressID() string { return c.cfg.XpressID }

// PaymentType picks the rail: Instant is IMPS, Normal is NEFT/RTGS.
type PaymentType string

// Payment types.
const (
	Instant PaymentType = "Instant"
	Normal  PaymentType = "Normal"
)

// PaymentFrom is the source of funds. The booking calls accept only
// XpressAccount.
type PaymentFrom string

// Payment sources the seed names.
const (
	FromXpressAccount PaymentFrom = "XpressAccount"
	FromCreditCard    PaymentFrom = "CreditCard"
	FromDebitCard     PaymentFrom = "DebitCard"
	FromNetBanking    PaymentFrom = "NetBanking"
)

// ApprovalAction is ApprovePayment's verdict.
type ApprovalAction string

// Approval actions.
const (
	ActionApprove ApprovalAction = "Approve"
	ActionReject  ApprovalAction = "Reject"
)

// NewContact is AddContact's request. A vendor comes with AccountNo and
// IFSCode; a customer needs only the email address.
type NewContact struct {
	CompanyName    string
	FirstName      string
	LastName       string
	NickName       string
	EmailID        string
	MobileNo       string
	CompanyAddress string
	ReferenceCode  string
	AccountNo      string
	IFSCode        string
	GSTIN          string
}

// ContactAdded is what PayMate gives a new contact.
type ContactAdded struct {
	ContactXpressID  string
	VirtualAccountNo string
	VANIFSC          string
}

// ContactQuery filters GetContactList; all fields optional.
type ContactQuery struct {
	From, To      time.Time
	CompanyName   string
	ReferenceCode string
}

// ContactRecord is one contact as GetContactList reports it.
type ContactRecord struct {
	NewContact
	ContactXpressID  string
	VirtualAccountNo string
	VANIFSC          string
}

// BookPaymentRequest pays a beneficiary who is not a PayMate contact.
type BookPaymentRequest struct {
	CompanyName     string
	CompanyEmailID  string
	CompanyMobileNo string
	AccountNo       string
	IFSCode         string
	OrderID         string // the idempotency key: Paydesk's payout id
	AmountPaise     int64
	PaymentType     PaymentType
	PaymentFrom     PaymentFrom // default FromXpressAccount
	Remarks         string
	ReturnURL       string
}

// BookByXpressIDRequest pays a registered contact.
type BookByXpressIDRequest struct {
	ClientXpressID string
	OrderID        string
	AmountPaise    int64
	PaymentType    PaymentType
	PaymentFrom    PaymentFrom // default FromXpressAccount
	Remarks        string
	ReturnURL      string
}

// Ref is PayMate's answer to a booking or a payment request.
type Ref struct {
	TransactionRefNo string
	OrderID          string
	// Code is the envelope's ErrorCode: "000", or a status some builds put there.
	Code string
}

// ApprovePaymentRequest approves or rejects one booked payment.
type ApprovePaymentRequest struct {
	OrderID          string
	TransactionRefNo string // optional
	Action           ApprovalAction
	Reason           string
}

// Approval is ApprovePayment's answer.
type Approval struct {
	TransactionStatus  string
	TransactionMessage string
	BankRefNo          string
	IsBankResponse     bool
	TransactionRefNo   string
	OrderID            string
	AmountPaise        int64
	CompanyName        string
	AccountNo          string
	PaymentURL         string
}

// PaymentQuery selects GetPaymentReport rows: one payment by OrderID or
// TransactionRefNo, or (both empty) the payments still pending, optionally
// within a date range.
type PaymentQuery struct {
	OrderID          string
	TransactionRefNo string
	From, To         time.Time
}

// PaymentRecord is one row of GetPaymentReport.
type PaymentRecord struct {
	OrderID           string
	TransactionRefNo  string
	CompanyName       string
	AccountNo         string
	ReceiverIFSC      string
	TransactionType   string
	PaidPaise         int64
	CommissionPaise   int64
	ServiceTaxPaise   int64
	NetPaise          int64
	TransactionDate   time.Time
	TransactionStatus string
	Message           string
	BankRefNo         string
	BankSummary       string
	PaymentType       string
	Remarks           string
}

// VendorPaymentRequest is a registered vendor's request to be paid.
type VendorPaymentRequest struct {
	ClientXpressID string
	OrderID        string
	AmountPaise    int64
	Remarks        string
}

// PaymentRequest asks a customer who is not a contact to pay.
type PaymentRequest struct {
	OrderID     string
	CompanyName string
	CompanyCode string
	SenderName  string
	EmailID     string
	MobileNo    string
	AmountPaise int64
	Remarks     string
}

// PaymentRequestByXpressID asks a registered contact to pay.
type PaymentRequestByXpressID struct {
	ClientXpressID string
	OrderID        string
	AmountPaise    int64
	Remarks        string
}

// RequestQuery selects GetRequestPaymentReport rows; TransactionRefNo or
// OrderID (or a date range) must be given.
type RequestQuery struct {
	TransactionRefNo string
	OrderID          string
	From, To         time.Time
}

// RequestRecord is one row of GetRequestPaymentReport.
type RequestRecord struct {
	TransactionRefNo string
	OrderID          string
	CompanyName      string
	CompanyCode      string
	AmountPaise      int64
	Status           string
	Message          string
	BankRefNo        string
	RequestDate      time.Time
	PaymentDate      time.Time
	Remarks          string
}

// Wire request bodies, with the seed's table names. Where a sample spells a
// member differently from its table (ApprovePayment's "AprovalAction",
// BookPayment's "ReceiverEmailId", RequestPayment's "ContactName",
// GetContactList's "CompanyCode") both spellings are sent: a WCF data contract
// ignores the member it does not know.

type reqAddContact struct {
	CompanyName    string `json:"CompanyName"`
	FirstName      string `json:"FirstName"`
	LastName       string `json:"LastName"`
	NickName       string `json:"NickName,omitempty"`
	EmailID        string `json:"EmailId"`
	MobileNo       string `json:"MobileNo,omitempty"`
	CompanyAddress string `json:"CompanyAddress,omitempty"`
	ReferenceCode  string `json:"ReferenceCode,omitempty"`
	AccountNo      string `json:"AccountNo,omitempty"`
	IFSCode        string `json:"IFSCode,omitempty"`
	GSTIN          string `json:"GSTIN,omitempty"`
}

type reqContactList struct {
	FromDate      string `json:"FromDate"`
	ToDate        string `json:"ToDate"`
	CompanyName   string `json:"CompanyName"`
	ReferenceCode string `json:"ReferenceCode"`
	CompanyCode   string `json:"CompanyCode"`
}

type reqBookPayment struct {
	CompanyName     string `json:"CompanyName"`
	CompanyEmailID  string `json:"CompanyEmailId,omitempty"`
	ReceiverEmailID string `json:"ReceiverEmailId,omitempty"`
	CompanyMobileNo string `json:"CompanyMobileNo,omitempty"`
	AccountNo       string `json:"AccountNo"`
	IFSCode         string `json:"IFSCode"`
	OrderID         string `json:"OrderId"`
	Amount          string `json:"Amount"`
	PaymentType     string `json:"PaymentType"`
	PaymentFrom     string `json:"PaymentFrom"`
	Remarks         string `json:"Remarks,omitempty"`
	ReturnURL       string `json:"ReturnURL,omitempty"`
}

type reqBookByXpressID struct {
	ClientXpressID string `json:"ClientXpressId"`
	OrderID        string `json:"OrderID"`
	Amount         string `json:"Amount"`
	Remarks        string `json:"Remarks,omitempty"`
	PaymentType    string `json:"PaymentType"`
	PaymentFrom    string `json:"PaymentFrom"`
	ReturnURL      string `json:"ReturnURL,omitempty"`
}

type reqApprove struct {
	OrderID          string `json:"OrderId"`
	TransactionRefNo string `json:"TransactionRefNo"`
	ApprovalAction   string `json:"ApprovalAction"`
	AprovalAction    string `json:"AprovalAction"`
	Reason           string `json:"Reason"`
}

type reqPaymentReport struct {
	OrderID          string `json:"OrderId"`
	TransactionRefNo string `json:"TransactionRefNo"`
	FromDate         string `json:"FromDate"`
	ToDate           string `json:"ToDate"`
}

type reqVendorRequest struct {
	ClientXpressID string `json:"ClientXpressId"`
	OrderID        string `json:"OrderID"`
	Amount         string `json:"Amount"`
	Remarks        string `json:"Remarks,omitempty"`
}

type reqRequestPayment struct {
	OrderID     string `json:"OrderID"`
	CompanyName string `json:"CompanyName"`
	CompanyCode string `json:"CompanyCode,omitempty"`
	SenderName  string `json:"SenderName"`
	ContactName string `json:"ContactName"`
	EmailID     string `json:"EmailID"`
	MobileNo    string `json:"MobileNo"`
	Amount      string `json:"Amount"`
	Remarks     string `json:"Remarks,omitempty"`
}

type reqRequestByXpressID struct {
	ClientXpressID string `json:"ClientXpressId"`
	OrderID        string `json:"OrderID"`
	Amount         string `json:"Amount"`
	Remarks        string `json:"Remarks,omitempty"`
}

type reqRequestReport struct {
	TransactionRefNo string `json:"TransactionRefNo"`
	OrderID          string `json:"OrderId"`
	FromDate         string `json:"FromDate"`
	ToDate           string `json:"ToDate"`
}

func (p PaymentFrom) orDefault() string {
	if p == "" {
		return string(FromXpressAccount)
	}
	return string(p)
}

func (t PaymentType) orDefault() string {
	if t == "" {
		return string(Normal)
	}
	return string(t)
}

// AddContact registers a vendor or customer. Not idempotent and never
// retried: after an outcome-unknown error, look the contact up by
// ReferenceCode with GetContactList.
func (c *Client) AddContact(ctx context.Context, n NewContact) (ContactAdded, error) {
	var w wireContactResult
	_, err := c.call(ctx, "AddContact", true, reqAddContact(n), &w)
	if err != nil {
		return ContactAdded{}, err
	}
	return ContactAdded{ContactXpressID: string(w.ContactXpressID), VirtualAccountNo: string(w.VirtualAccountNo), VANIFSC: string(w.VANIFSC)}, nil
}

// GetContactList lists contacts, all or filtered. No contacts is an error
// wrapping providers.ErrNotFound (PayMate's 225).
func (c *Client) GetContactList(ctx context.Context, q ContactQuery) ([]ContactRecord, error) {
	var rows []wireContact
	req := reqContactList{FromDate: filterDate(q.From), ToDate: filterDate(q.To), CompanyName: q.CompanyName, ReferenceCode: q.ReferenceCode, CompanyCode: q.ReferenceCode}
	if _, err := c.call(ctx, "GetContactList", false, req, &rows); err != nil {
		return nil, err
	}
	out := make([]ContactRecord, 0, len(rows))
	for _, r := range rows {
		out = append(out, ContactRecord{
			NewContact: NewContact{
				CompanyName: string(r.CompanyName), FirstName: string(r.FirstName), LastName: string(r.LastName),
				NickName: string(r.NickName), EmailID: string(r.EmailID), MobileNo: string(r.MobileNo),
				CompanyAddress: string(r.CompanyAddress), ReferenceCode: first(r.ReferenceCode, r.CompanyCode),
				AccountNo: string(r.AccountNo), IFSCode: string(r.IFSCode), GSTIN: string(r.GSTIN),
			},
			ContactXpressID: string(r.ContactXpressID), VirtualAccountNo: string(r.VirtualAccountNo), VANIFSC: string(r.VANIFSC),
		})
	}
	return out, nil
}

// BookPayment books a payment to a non-contact; it waits in 199 for
// ApprovePayment. OrderID is the idempotency key: a repeat is refused with
// 227 (providers.ErrDuplicate). Never retried by the client.
func (c *Client) BookPayment(ctx context.Context, r BookPaymentRequest) (Ref, error) {
	req := reqBookPayment{
		CompanyName: r.CompanyName, CompanyEmailID: r.CompanyEmailID, ReceiverEmailID: r.CompanyEmailID,
		CompanyMobileNo: r.CompanyMobileNo, AccountNo: r.AccountNo, IFSCode: r.IFSCode, OrderID: r.OrderID,
		Amount: providers.FormatAmount(r.AmountPaise), PaymentType: r.PaymentType.orDefault(),
		PaymentFrom: r.PaymentFrom.orDefault(), Remarks: r.Remarks, ReturnURL: r.ReturnURL,
	}
	return c.ref(ctx, "BookPayment", req)
}

// BookPaymentsByXpressID books a payment to a registered contact. Same rules
// as BookPayment.
func (c *Client) BookPaymentsByXpressID(ctx context.Context, r BookByXpressIDRequest) (Ref, error) {
	req := reqBookByXpressID{
		ClientXpressID: r.ClientXpressID, OrderID: r.OrderID, Amount: providers.FormatAmount(r.AmountPaise),
		Remarks: r.Remarks, PaymentType: r.PaymentType.orDefault(), PaymentFrom: r.PaymentFrom.orDefault(), ReturnURL: r.ReturnURL,
	}
	return c.ref(ctx, "BookPaymentsByXpressID", req)
}

// ApprovePayment approves (money moves) or rejects one pending payment. A
// payment already past approval answers 224 (providers.ErrDuplicate); it is
// never executed twice. Never retried by the client.
func (c *Client) ApprovePayment(ctx context.Context, r ApprovePaymentRequest) (Approval, error) {
	req := reqApprove{OrderID: r.OrderID, TransactionRefNo: r.TransactionRefNo, ApprovalAction: string(r.Action), AprovalAction: string(r.Action), Reason: r.Reason}
	var w wireApproval
	if _, err := c.call(ctx, "ApprovePayment", true, req, &w); err != nil {
		return Approval{}, err
	}
	return Approval{
		TransactionStatus: string(w.TransactionStatus), TransactionMessage: string(w.TransactionMessage),
		BankRefNo: first(w.StrBankRefNo, w.BankRefNo), IsBankResponse: bool(w.IsBankResponse),
		TransactionRefNo: string(w.TransactionRefNo), OrderID: string(w.OrderID), AmountPaise: int64(w.Amount),
		CompanyName: string(w.CompanyName), AccountNo: string(w.AccountNo), PaymentURL: string(w.PaymentURL),
	}, nil
}

// GetPaymentReport reports payments. No match is an error wrapping
// providers.ErrNotFound (225).
func (c *Client) GetPaymentReport(ctx context.Context, q PaymentQuery) ([]PaymentRecord, error) {
	req := reqPaymentReport{OrderID: q.OrderID, TransactionRefNo: q.TransactionRefNo, FromDate: filterDate(q.From), ToDate: filterDate(q.To)}
	var rows []wirePaymentRow
	if _, err := c.call(ctx, "GetPaymentReport", false, req, &rows); err != nil {
		return nil, err
	}
	out := make([]PaymentRecord, 0, len(rows))
	for _, r := range rows {
		out = append(out, PaymentRecord{
			OrderID: string(r.OrderID), TransactionRefNo: string(r.TransactionRefNo), CompanyName: string(r.CompanyName),
			AccountNo: string(r.AccountNo), ReceiverIFSC: string(r.ReceiverIFSC), TransactionType: string(r.TransactionType),
			PaidPaise: int64(r.PaidAmount), CommissionPaise: int64(r.Commission), ServiceTaxPaise: int64(r.ServiceTax),
			NetPaise: int64(r.NetAmount), TransactionDate: parseWireTime(string(r.TransactionDate)),
			TransactionStatus: first(r.TransactionStatus, r.TrasnsactionStatus, r.TrasnsactioStatus),
			Message:           first(r.TransactionMessage, r.TrasnsactionMessage),
			BankRefNo:         string(r.BankRefNo), BankSummary: string(r.BankSummary),
			PaymentType: string(r.PaymentType), Remarks: string(r.Remarks),
		})
	}
	return out, nil
}

// GetXpressAccountBalance returns the Xpress Account balance in paise.
func (c *Client) GetXpressAccountBalance(ctx context.Context) (int64, error) {
	var w wireBalance
	if _, err := c.call(ctx, "GetXpressAccountBalance", false, struct{}{}, &w); err != nil {
		return 0, err
	}
	return int64(w.XpressBalance), nil
}

// VendorRequestPayment records a registered vendor's request to be paid. It
// appears as a payment "Awaiting to pay" (200) until approved. Never retried.
func (c *Client) VendorRequestPayment(ctx context.Context, r VendorPaymentRequest) (Ref, error) {
	return c.ref(ctx, "VendorRequestPayment", reqVendorRequest{ClientXpressID: r.ClientXpressID, OrderID: r.OrderID, Amount: providers.FormatAmount(r.AmountPaise), Remarks: r.Remarks})
}

// RequestPayment asks a customer who is not a contact to pay. Never retried.
func (c *Client) RequestPayment(ctx context.Context, r PaymentRequest) (Ref, error) {
	req := reqRequestPayment{
		OrderID: r.OrderID, CompanyName: r.CompanyName, CompanyCode: r.CompanyCode, SenderName: r.SenderName, ContactName: r.SenderName,
		EmailID: r.EmailID, MobileNo: r.MobileNo, Amount: providers.FormatAmount(r.AmountPaise), Remarks: r.Remarks,
	}
	return c.ref(ctx, "RequestPayment", req)
}

// RequestPaymentByXpressID asks a registered contact to pay. Never retried.
func (c *Client) RequestPaymentByXpressID(ctx context.Context, r PaymentRequestByXpressID) (Ref, error) {
	return c.ref(ctx, "RequestPaymentByXpressID", reqRequestByXpressID{ClientXpressID: r.ClientXpressID, OrderID: r.OrderID, Amount: providers.FormatAmount(r.AmountPaise), Remarks: r.Remarks})
}

// GetRequestPaymentReport reports payment requests (ours to customers and
// vendors' to us). No match is an error wrapping providers.ErrNotFound.
func (c *Client) GetRequestPaymentReport(ctx context.Context, q RequestQuery) ([]RequestRecord, error) {
	req := reqRequestReport{TransactionRefNo: q.TransactionRefNo, OrderID: q.OrderID, FromDate: filterDate(q.From), ToDate: filterDate(q.To)}
	var rows []wireRequestRow
	if _, err := c.call(ctx, "GetRequestPaymentReport", false, req, &rows); err != nil {
		return nil, err
	}
	out := make([]RequestRecord, 0, len(rows))
	for _, r := range rows {
		out = append(out, RequestRecord{
			TransactionRefNo: string(r.TransactionRefNo), OrderID: string(r.OrderID), CompanyName: string(r.CompanyName),
			CompanyCode: string(r.CompanyCode), AmountPaise: int64(r.Amount),
			Status:    first(r.TrasnsactioStatus, r.TrasnsactionStatus, r.TransactionStatus),
			Message:   first(r.TrasnsactionMessage, r.TrasnsactioMessage, r.TransactionMessage),
			BankRefNo: string(r.BankRefNo), RequestDate: parseWireTime(string(r.RequestDate)),
			PaymentDate: parseWireTime(string(r.PaymentDate)), Remarks: string(r.Remarks),
		})
	}
	return out, nil
}

func (c *Client) ref(ctx context.Context, op string, req any) (Ref, error) {
	var w wireRef
	code, err := c.call(ctx, op, true, req, &w)
	if err != nil {
		return Ref{}, err
	}
	return Ref{TransactionRefNo: string(w.TransactionRefNo), OrderID: string(w.OrderID), Code: code}, nil
}

// call runs one PayMate method. write marks calls that create or move
// something: they are sent once, and any failure after the request may have
// left is reported as providers.ErrOutcomeUnknown. Reads are tried up to
// ReadAttempts times on transient failures.
func (c *Client) call(ctx context.Context, op string, write bool, req, out any) (string, error) {
	plain, err := json.Marshal(req)
	if err != nil {
		return "", &Error{Op: op, Message: "encoding request", Err: err}
	}
	sealed, err := c.box.seal(plain)
	if err != nil {
		return "", &Error{Op: op, Message: "encrypting request", Err: err}
	}
	body, err := json.Marshal(map[string]string{c.cfg.EncField: sealed})
	if err != nil {
		return "", &Error{Op: op, Message: "encoding request", Err: err}
	}
	attempts := c.cfg.ReadAttempts
	if write {
		attempts = 1
	}
	backoff := c.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		code, err := c.once(ctx, op, write, body, out)
		if err == nil || attempt >= attempts || !errors.Is(err, providers.ErrTransient) {
			return code, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return code, err
		case <-t.C:
		}
		backoff = min(backoff*2, time.Second)
	}
}

// once is one HTTP exchange.
func (c *Client) once(ctx context.Context, op string, write bool, body []byte, out any) (string, error) {
	// unsure is the kind of failure where the request may have executed.
	unsure := providers.ErrTransient
	if write {
		unsure = providers.ErrOutcomeUnknown
	}
	if err := ctx.Err(); err != nil {
		// Nothing was sent.
		return "", &Error{Op: op, Message: "not sent", Kind: providers.ErrTransient, Err: err}
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.cfg.BaseURL+servicePath+op, bytes.NewReader(body))
	if err != nil {
		return "", &Error{Op: op, Message: "building request", Kind: providers.ErrRejected, Err: err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set(c.cfg.BusinessHeader, c.cfg.BusinessIdentification)
	hreq.Header.Set(HeaderTerminal, c.cfg.TerminalIdentification)
	hreq.Header.Set(HeaderXpressID, c.cfg.XpressID)
	if c.cfg.UserEmail != "" {
		hreq.Header.Set(HeaderUserEmail, c.cfg.UserEmail)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		kind := unsure
		if notSent(err) {
			kind = providers.ErrTransient
		}
		return "", &Error{Op: op, Message: "request failed", Kind: kind, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", &Error{Op: op, Message: "reading answer", Kind: unsure, Err: err}
	}

	env, trusted, derr := decodeBody(raw, c.cfg.EncField, c.box)
	if resp.StatusCode != http.StatusOK {
		if derr == nil && !isAnswer(env.Code) {
			// A plain error envelope on a non-200 status: PayMate's own
			// refusal, which the code table classifies.
			return env.Code, codeError(op, env.Code, env.Description, write)
		}
		kind := unsure
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			kind = providers.ErrTransient
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			kind = providers.ErrAuth
		case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusConflict:
			// May come after the request was passed on: asked about, as
			// for a 5xx, never taken as a refusal.
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			// The service refused the request as such (no such method, bad
			// request); nothing ran.
			kind = providers.ErrRejected
		}
		return "", &Error{Op: op, HTTPStatus: resp.StatusCode, Message: snippet(raw), Kind: kind}
	}
	if derr != nil {
		return "", &Error{Op: op, Message: "unreadable answer", Kind: unsure, Err: derr}
	}
	if !isAnswer(env.Code) {
		return env.Code, codeError(op, env.Code, env.Description, write)
	}
	if !trusted {
		// A success must come encrypted under our key; a plain one proves
		// nothing about what happened.
		return env.Code, &Error{Op: op, Code: env.Code, Message: "success answer was not encrypted", Kind: unsure}
	}
	if err := decodeResponse(env.Response, out); err != nil {
		return env.Code, &Error{Op: op, Code: env.Code, Message: "unreadable Response", Kind: unsure, Err: err}
	}
	return env.Code, nil
}

// notSent reports transport errors that happen before any byte of the request
// can have reached PayMate.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return fmt.Sprintf("%q", s)
}
