// Package kotakcms speaks Kotak Mahindra Bank's CMS payment services: OAuth2
// client credentials, SOAP 1.2 XML for payment and status inquiry, JSON for
// the pending-approval list and authorisation, every body AES-encrypted. It
// holds the client, an adapter onto Paydesk's providers.Payouts, and a
// sandbox that behaves like the bank.
package kotakcms

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/internal/kotak"
)

// Token is an OAuth2 access token and its expiry.
type Token = kotak.Token

// Conn is how to reach Kotak's API gateway (base URL, e.g.
// https://apigw.kotak.com:8443, OAuth2 client, body encryption, timeouts and
// retries of idempotent calls), shared with the virtual-account API.
type Conn = kotak.ConnOptions

// Config says how to reach and talk to the bank.
type Config struct {
	Conn

	ClientCode   string // CMS client code, 1–10 chars
	MsgSource    string // MsgSource / Msg_Src; empty: the client code
	DebitAccount string // the account payouts are debited from
	ProductCode  string // MyProdCode agreed with the bank

	// Now is the clock for value dates and Date_Post; nil: time.Now.
	Now func() time.Time
}

// Client calls Kotak CMS. Safe for concurrent use.
type Client struct {
	cfg    Config
	api    *kotak.API
	tokens *kotak.TokenSource
}

// New checks cfg and returns a client.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.Conn.Check(Name); err != nil {
		return nil, err
	}
	if cfg.ClientCode == "" || len(cfg.ClientCode) > maxClientCode {
		return nil, fmt.Errorf("%s: ClientCode must be 1–%d characters", Name, maxClientCode)
	}
	if cfg.MsgSource == "" {
		cfg.MsgSource = cfg.ClientCode
	}
	api, ts, err := kotak.Dial(Name, cfg.Conn)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, tokens: ts, api: api}, nil
}

// DemoConfig is a Config for the in-process sandbox at baseURL started with
// DefaultSandboxConfig.
func DemoConfig(baseURL string) Config {
	return Config{
		Conn:         Conn{BaseURL: baseURL, ClientID: DemoClientID, ClientSecret: DemoClientSecret},
		ClientCode:   DemoClientCode,
		MsgSource:    DemoMsgSource,
		DebitAccount: DemoDebitAccount,
		ProductCode:  DemoProductCode,
	}
}

func (c *Client) now() time.Time {
	if c.cfg.Now != nil {
		return c.cfg.Now()
	}
	return time.Now()
}

// Config returns the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// Token returns the current bearer token, fetching or refreshing it as needed.
func (c *Client) Token(ctx context.Context) (Token, error) {
	return c.tokens.Token(ctx)
}

// MessageID derives the MessageId for one attempt of a request about ref:
// "PD" and 18 hex characters of SHA-256(kind|ref|attempt), 20 characters in
// all. Deterministic, so an attempt can be recognised; unique per attempt.
func MessageID(kind, ref string, attempt int) string {
	sum := sha256.Sum256([]byte(kind + "|" + ref + "|" + strconv.Itoa(attempt)))
	return messageIDPrefix + strings.ToUpper(hex.EncodeToString(sum[:]))[:maxMessageID-len(messageIDPrefix)]
}

// Instrument is one payment instruction.
type Instrument struct {
	InstRefNo    string // our idempotency key: the Paydesk payout id
	ProductCode  string // empty: Config.ProductCode
	PayMode      string // NEFT, RTGS, IMPS or IFT
	AmountPaise  int64
	DebitAccount string // empty: Config.DebitAccount
	DebitDesc    string
	PaymentDate  time.Time // zero: today (IST)
	IFSC         string    // RecBrCd
	BeneAccount  string
	BeneName     string
	BeneCode     string
	BeneEmail    string
	BeneMobile   string
	PaymentRef   string
}

// PayRequest is one payment request: a MessageId and its instruments.
type PayRequest struct {
	MessageID   string
	BatchRef    string // optional BatchRefNmbr
	Instruments []Instrument
}

// InstrumentAck is the bank's acknowledgement of one instrument.
type InstrumentAck struct {
	InstRefNo string
	Code      string
	Remark    string
}

// Err is nil when the bank took the instrument (it is now pending approval at
// the bank), else the typed error for its code.
func (a InstrumentAck) Err() error { return ackError("Pay", a.Code, a.Remark) }

// PayAck is the bank's acknowledgement of a payment request.
type PayAck struct {
	MessageID   string
	StatusCd    string
	StatusRem   string
	Instruments []InstrumentAck
}

func (c *Client) toWire(in Instrument) wireInstrument {
	prod := in.ProductCode
	if prod == "" {
		prod = c.cfg.ProductCode
	}
	debit := in.DebitAccount
	if debit == "" {
		debit = c.cfg.DebitAccount
	}
	date := in.PaymentDate
	if date.IsZero() {
		date = c.now()
	}
	return wireInstrument{
		InstRefNo: in.InstRefNo, MyProdCode: prod, PayMode: in.PayMode,
		TxnAmnt: providers.FormatAmount(in.AmountPaise), AccountNo: debit,
		DrDesc: in.DebitDesc, PaymentDt: date.In(kotak.IST).Format(time.DateOnly),
		RecBrCd: in.IFSC, BeneAcctNo: in.BeneAccount, BeneName: in.BeneName,
		BeneCode: in.BeneCode, BeneEmail: in.BeneEmail, BeneMb: in.BeneMobile,
		PaymentRef: in.PaymentRef,
	}
}

// Pay sends a payment request. The instruments it accepts land at the bank
// pending approval (PA). It is never re-sent by the client: an error wrapping
// providers.ErrOutcomeUnknown means "ask StatusInquiry first". The ack is
// returned whenever the bank answered, also with a header-level error; with
// 005 (partially accepted) the error is nil and each InstrumentAck tells.
func (c *Client) Pay(ctx context.Context, r PayRequest) (PayAck, error) {
	req := payRequest{
		XMLName: xml.Name{Space: NSPayRequest, Local: elemPayment},
		RequestHeader: requestHeader{
			MessageID: r.MessageID, MsgSource: c.cfg.MsgSource,
			ClientCode: c.cfg.ClientCode, BatchRefNmbr: r.BatchRef,
		},
	}
	for _, in := range r.Instruments {
		req.InstrumentList.Instruments = append(req.InstrumentList.Instruments, c.toWire(in))
	}
	body, err := marshalEnvelope(req)
	if err != nil {
		return PayAck{}, &Error{Provider: Name, Op: "Pay", Message: "encoding request", Kind: providers.ErrRejected, Err: err}
	}
	var resp payResponse
	err = c.api.Do(ctx, kotak.Call{
		Op: "Pay", Path: PathPay, ContentType: ContentXML, Body: body,
		Decode: func(p []byte) (err error) { resp, err = decodePayResponse(p); return err },
	})
	if err != nil {
		return PayAck{}, err
	}
	ack := PayAck{MessageID: resp.AckHeader.MessageID, StatusCd: strings.TrimSpace(resp.AckHeader.StatusCd), StatusRem: resp.AckHeader.StatusRem}
	if resp.InstrumentList != nil {
		for _, i := range resp.InstrumentList.Instruments {
			ack.Instruments = append(ack.Instruments, InstrumentAck{InstRefNo: i.InstRefNo, Code: strings.TrimSpace(i.InstStatusCd), Remark: i.InstStatusRem})
		}
	}
	if ack.MessageID != "" && ack.MessageID != r.MessageID {
		return ack, &Error{Provider: Name, Op: "Pay", Message: fmt.Sprintf("acknowledgement is for MessageId %q, not %q", ack.MessageID, r.MessageID), Kind: providers.ErrOutcomeUnknown}
	}
	// With a single instrument its own code says more than the header's
	// (a duplicate InstRefNo shows as 006 "Duplicate…" under header 009).
	if ack.StatusCd == "009" && len(ack.Instruments) == 1 {
		if err := ack.Instruments[0].Err(); err != nil {
			return ack, err
		}
	}
	return ack, ackError("Pay", ack.StatusCd, ack.StatusRem)
}

// decodePayResponse reads a payment acknowledgement. It fails only when the
// document is unreadable or has no StatusCd.
func decodePayResponse(p []byte) (payResponse, error) {
	var env envelope[payResponse]
	if err := xml.Unmarshal(p, &env); err != nil {
		return payResponse{}, err
	}
	if env.XMLName.Local != elemEnvelope {
		return payResponse{}, fmt.Errorf("root element %q", env.XMLName.Local)
	}
	if strings.TrimSpace(env.Body.Content.AckHeader.StatusCd) == "" {
		return payResponse{}, errors.New("no AckHeader/StatusCd in answer")
	}
	return env.Body.Content, nil
}

// StatusInquiry asks for the status of instruments by InstRefNo (sent as
// Msg_Id, see decisions.go). One RevDetail comes back per id; an id the
// bank does not hold has Status_Desc "Data Not Found". The call is a read and
// is retried on failure.
func (c *Client) StatusInquiry(ctx context.Context, ids ...string) ([]RevDetail, error) {
	if len(ids) == 0 || len(ids) > maxInquiryIDs {
		return nil, &Error{Provider: Name, Op: "StatusInquiry", Message: fmt.Sprintf("1–%d ids per inquiry", maxInquiryIDs), Kind: providers.ErrRejected}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	reqID := "RQ" + strings.ToUpper(hex.EncodeToString(rnd[:]))
	req := revRequest{
		XMLName: xml.Name{Space: NSRevRequest, Local: elemReversal},
		Header: revHeader{
			ReqID: reqID, MsgSrc: c.cfg.MsgSource, ClientCode: c.cfg.ClientCode,
			DatePost: c.now().In(kotak.IST).Format(time.DateOnly),
		},
		Details: revDetails{MsgIDs: ids},
	}
	body, err := marshalEnvelope(req)
	if err != nil {
		return nil, &Error{Provider: Name, Op: "StatusInquiry", Message: "encoding request", Kind: providers.ErrRejected, Err: err}
	}
	var resp revResponse
	err = c.api.Do(ctx, kotak.Call{
		Op: "StatusInquiry", Path: PathInquiry, ContentType: ContentXML, Body: body, Idempotent: true,
		Decode: func(p []byte) (err error) { resp, err = decodeRevResponse(p); return err },
	})
	if err != nil {
		return nil, err
	}
	details := resp.Details.RevDetails
	if len(details) == 1 && details[0].MsgID == reqID {
		if err := ackError("StatusInquiry", details[0].StatusCode, details[0].StatusDesc); err != nil {
			return nil, err
		}
	}
	return details, nil
}

// decodeRevResponse reads a status inquiry answer.
func decodeRevResponse(p []byte) (revResponse, error) {
	var env envelope[revResponse]
	if err := xml.Unmarshal(p, &env); err != nil {
		return revResponse{}, err
	}
	if env.XMLName.Local != elemEnvelope || env.Body.Content.XMLName.Local != elemReversal {
		return revResponse{}, fmt.Errorf("not a Reversal answer (%q/%q)", env.XMLName.Local, env.Body.Content.XMLName.Local)
	}
	return env.Body.Content, nil
}

// PendingInstrument is an instrument waiting at the bank for its authoriser,
// whether sent through the API or keyed in on the bank's portal.
type PendingInstrument struct {
	InstRefNo    string
	MessageID    string
	BatchRef     string
	PayMode      string
	AmountPaise  int64
	DebitAccount string
	DebitDesc    string
	PaymentDate  string
	IFSC         string
	BeneAccount  string
	BeneName     string
	BeneCode     string
	Source       string // API or PORTAL
	CreatedAt    time.Time
}

// PendingApprovals lists the client code's instruments in PA. A read; retried.
func (c *Client) PendingApprovals(ctx context.Context) ([]PendingInstrument, error) {
	body, _ := json.Marshal(pendingRequest{ClientCode: c.cfg.ClientCode, MsgSource: c.cfg.MsgSource})
	var resp pendingResponse
	err := c.api.Do(ctx, kotak.Call{
		Op: "PendingApprovals", Path: PathPending, ContentType: ContentJSON, Body: body, Idempotent: true,
		Decode: func(p []byte) (err error) { resp, err = decodePendingResponse(p); return err },
	})
	if err != nil {
		return nil, err
	}
	if err := ackError("PendingApprovals", resp.StatusCd, resp.StatusRem); err != nil {
		return nil, err
	}
	out := make([]PendingInstrument, 0, len(resp.Instruments))
	for _, w := range resp.Instruments {
		paise, _ := providers.ParseAmount(w.TxnAmnt) // checked by the decoder
		created, _ := time.Parse(time.RFC3339, w.CreatedAt)
		out = append(out, PendingInstrument{
			InstRefNo: w.InstRefNo, MessageID: w.MessageID, BatchRef: w.BatchRefNmbr,
			PayMode: w.PayMode, AmountPaise: paise, DebitAccount: w.AccountNo, DebitDesc: w.DrDesc,
			PaymentDate: w.PaymentDt, IFSC: w.RecBrCd, BeneAccount: w.BeneAcctNo, BeneName: w.BeneName,
			BeneCode: w.BeneCode, Source: w.Source, CreatedAt: created,
		})
	}
	return out, nil
}

// decodePendingResponse reads the pending-approval list.
func decodePendingResponse(p []byte) (pendingResponse, error) {
	var r pendingResponse
	if err := json.Unmarshal(p, &r); err != nil {
		return r, err
	}
	if strings.TrimSpace(r.StatusCd) == "" {
		return r, errors.New("no StatusCd in answer")
	}
	for _, w := range r.Instruments {
		if w.InstRefNo == "" {
			return r, errors.New("pending instrument without InstRefNo")
		}
		if _, err := providers.ParseAmount(w.TxnAmnt); err != nil {
			return r, fmt.Errorf("pending instrument %s: TxnAmnt %q: %w", w.InstRefNo, w.TxnAmnt, err)
		}
	}
	return r, nil
}

// AuthorizeRequest approves or rejects instruments pending at the bank.
type AuthorizeRequest struct {
	MessageID  string
	InstRefNos []string
	Action     string // ActionApprove or ActionReject
	Remarks    string
}

// AuthorizeResult is the bank's answer to an authorisation.
type AuthorizeResult struct {
	MessageID string
	StatusCd  string
	StatusRem string
	Results   []AuthResult
}

// Authorize sends an authoriser's decision. Not re-sent by the client. The
// error joins one typed error per refused instrument ("Data Not Found" wraps
// providers.ErrNotFound); approving an instrument that is already approved
// is not an error.
func (c *Client) Authorize(ctx context.Context, r AuthorizeRequest) (AuthorizeResult, error) {
	body, _ := json.Marshal(authorizeRequest{
		MessageID: r.MessageID, ClientCode: c.cfg.ClientCode,
		InstRefNo: r.InstRefNos, Action: r.Action, Remarks: r.Remarks,
	})
	var resp authorizeResponse
	err := c.api.Do(ctx, kotak.Call{
		Op: "Authorize", Path: PathAuthorize, ContentType: ContentJSON, Body: body,
		Decode: func(p []byte) (err error) { resp, err = decodeAuthorizeResponse(p); return err },
	})
	if err != nil {
		return AuthorizeResult{}, err
	}
	res := AuthorizeResult{MessageID: resp.MessageID, StatusCd: strings.TrimSpace(resp.StatusCd), StatusRem: resp.StatusRem, Results: resp.Results}
	switch res.StatusCd {
	case "000", "005", "009":
	default:
		return res, ackError("Authorize", res.StatusCd, res.StatusRem)
	}
	var errs []error
	for _, it := range res.Results {
		if err := authItemError(it); err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

func authItemError(it AuthResult) error {
	if strings.TrimSpace(it.StatusCd) == authDone {
		return nil
	}
	kind := providers.ErrRejected
	if strings.Contains(strings.ToLower(it.StatusRem), strings.ToLower(descNotFound)) {
		kind = providers.ErrNotFound
	}
	return &Error{Provider: Name, Op: "Authorize", Code: it.StatusCd, Message: it.InstRefNo + ": " + it.StatusRem, Kind: kind}
}

// decodeAuthorizeResponse reads an authorisation answer.
func decodeAuthorizeResponse(p []byte) (authorizeResponse, error) {
	var r authorizeResponse
	if err := json.Unmarshal(p, &r); err != nil {
		return r, err
	}
	if strings.TrimSpace(r.StatusCd) == "" {
		return r, errors.New("no StatusCd in answer")
	}
	return r, nil
}
