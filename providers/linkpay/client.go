// Package linkpay speaks NTT DATA Payment Services' (formerly Atom) link-based
// invoice payment API: list and read the invoice templates made in the
// merchant console, create an invoice with a payment link from one, resend it
// and cancel it. Requests are JSON over POST, signed with HMAC-SHA512 under the
// merchant's request hash key; answers are signed under a separate response
// hash key, which the client checks.
//
// The package also holds a sandbox that behaves like the provider (see
// NewSandbox) and an Adapter onto providers.PaymentLinks.
package linkpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"paydesk/providers"
)

// Config is what a Client needs. All four credentials come from the
// provider's onboarding: MID and password, and the two hash keys.
type Config struct {
	// BaseURL is the scheme and host (and optional path prefix) the paths in
	// decisions.go are appended to.
	BaseURL         string
	MerchantID      string
	Password        string
	RequestHashKey  string
	ResponseHashKey string
	// HTTPClient defaults to a plain client; its own Timeout, if any, still
	// applies.
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt (default 30s).
	Timeout time.Duration
	// ReadRetries is how many extra attempts a read (the two template calls)
	// gets after a transient failure (default 2; negative: none).
	ReadRetries int
	// RetryBackoff is the first pause between read attempts; it doubles
	// (default 100ms).
	RetryBackoff time.Duration
}

// Client calls the provider. It is safe for concurrent use.
type Client struct {
	cfg  Config
	hc   *http.Client
	base string
}

// NewClient returns a client for cfg.
func NewClient(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" || cfg.MerchantID == "" || cfg.Password == "" || cfg.RequestHashKey == "" || cfg.ResponseHashKey == "" {
		return nil, errors.New("linkpay: BaseURL, MerchantID, Password and both hash keys are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.ReadRetries == 0 {
		cfg.ReadRetries = 2
	} else if cfg.ReadRetries < 0 {
		cfg.ReadRetries = 0
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 100 * time.Millisecond
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, hc: hc, base: strings.TrimRight(cfg.BaseURL, "/")}, nil
}

// TemplateInfo names one template.
type TemplateInfo struct {
	ID   string
	Name string
}

// TemplateField is one field of a template.
type TemplateField struct {
	Name       string
	Label      string
	Type       string
	Mandatory  bool
	UseDefault bool
	Default    string
	MaxLength  int
}

// TemplateDetails is a template with its fields and amount rules.
type TemplateDetails struct {
	ID       string
	Name     string
	Currency string
	Fields   []TemplateField
	// MinAmountPaise and MaxAmountPaise are the console's amount rules (0:
	// none).
	MinAmountPaise int64
	MaxAmountPaise int64
}

// GetTemplate lists the merchant's invoice templates.
func (c *Client) GetTemplate(ctx context.Context) ([]TemplateInfo, error) {
	req := TemplateListRequest{
		MerchID:   c.cfg.MerchantID,
		Password:  c.cfg.Password,
		Signature: Sign(c.cfg.RequestHashKey, templateListSigString(c.cfg.MerchantID, c.cfg.Password)),
	}
	r, err := c.call(ctx, "GetTemplate", PathGetTemplate, req, true)
	if err != nil {
		return nil, err
	}
	out := make([]TemplateInfo, 0, len(r.Templates))
	for _, t := range r.Templates {
		out = append(out, TemplateInfo{ID: t.TemplateID, Name: t.TemplateName})
	}
	return out, nil
}

// GetTemplateDetails reads one template and its fields.
func (c *Client) GetTemplateDetails(ctx context.Context, templateID string) (TemplateDetails, error) {
	req := TemplateDetailsRequest{
		MerchID:    c.cfg.MerchantID,
		Password:   c.cfg.Password,
		TemplateID: templateID,
		Signature:  Sign(c.cfg.RequestHashKey, templateDetailsSigString(c.cfg.MerchantID, c.cfg.Password, templateID)),
	}
	const op = "GetTemplateDetails"
	r, err := c.call(ctx, op, PathGetTemplateDetails, req, true)
	if err != nil {
		return TemplateDetails{}, err
	}
	if r.Template == nil || r.Template.TemplateID != templateID {
		return TemplateDetails{}, &Error{Op: op, Code: CodeMalformed, Message: "answer is about another template", kind: providers.ErrTransient}
	}
	t := TemplateDetails{ID: r.Template.TemplateID, Name: r.Template.TemplateName, Currency: r.Template.Currency}
	for _, b := range []struct {
		text string
		dst  *int64
	}{{r.Template.MinAmount, &t.MinAmountPaise}, {r.Template.MaxAmount, &t.MaxAmountPaise}} {
		if b.text == "" {
			continue
		}
		v, err := providers.ParseAmount(b.text)
		if err != nil || v < 0 {
			return TemplateDetails{}, &Error{Op: op, Code: CodeMalformed, Message: "amount rule " + b.text + " is not an amount", kind: providers.ErrTransient}
		}
		*b.dst = v
	}
	for _, f := range r.Template.Fields {
		t.Fields = append(t.Fields, TemplateField{
			Name: f.FieldName, Label: f.FieldLabel, Type: f.FieldType, Mandatory: f.Mandatory,
			UseDefault: f.UseDefault, Default: f.DefaultValue, MaxLength: f.MaxLength,
		})
	}
	return t, nil
}

// CreateLinkParams is an invoice to create from a template.
type CreateLinkParams struct {
	// MerchantTxnID is the caller's id for the invoice and the provider's
	// duplicate guard.
	MerchantTxnID  string
	TemplateID     string
	AmountPaise    int64
	CustomerName   string
	CustomerEmail  string
	CustomerMobile string
	DueDate        time.Time // zero: the provider's default validity
	// NotifyBy is how the provider sends the link: "EMAIL", "SMS",
	// "EMAIL_SMS" or "NONE" (empty: every channel given).
	NotifyBy string
	Fields   map[string]string
}

// LinkResult is an invoice the provider made (or already had).
type LinkResult struct {
	MerchantTxnID string
	InvoiceNo     string
	AmountPaise   int64
	PaymentLink   string
	Status        string
	ExpiresOn     string
	Code          string
	Message       string
}

// CreatePaymentLink creates an invoice and sends its payment link. It is never
// retried by the client. A refusal because MerchantTxnID was used before is an
// *Error wrapping providers.ErrDuplicate whose Existing holds that invoice.
func (c *Client) CreatePaymentLink(ctx context.Context, p CreateLinkParams) (LinkResult, error) {
	const op = "CreatePaymentLink"
	if p.AmountPaise <= 0 {
		return LinkResult{}, &Error{Op: op, Code: CodeBadRequest, Message: "amount must be positive", kind: providers.ErrRejected}
	}
	amount := providers.FormatAmount(p.AmountPaise)
	req := CreateLinkRequest{
		MerchID:        c.cfg.MerchantID,
		Password:       c.cfg.Password,
		TemplateID:     p.TemplateID,
		MerchantTxnID:  p.MerchantTxnID,
		Amount:         amount,
		Currency:       currencyINR,
		CustomerName:   p.CustomerName,
		CustomerEmail:  p.CustomerEmail,
		CustomerMobile: p.CustomerMobile,
		NotifyBy:       p.NotifyBy,
		Fields:         sortedFields(p.Fields),
		Signature:      Sign(c.cfg.RequestHashKey, createSigString(c.cfg.MerchantID, c.cfg.Password, amount, p.MerchantTxnID)),
	}
	if !p.DueDate.IsZero() {
		req.DueDate = p.DueDate.In(istZone).Format(dateLayout)
	}
	r, err := c.call(ctx, op, PathCreatePaymentLink, req, false)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == codeDuplicateTxn && e.Existing != nil {
			if e.Existing.MerchantTxnID != p.MerchantTxnID {
				// Signed, but about another invoice: nobody can say what
				// happened to ours.
				return LinkResult{}, &Error{Op: op, Code: CodeMalformed, Message: "duplicate answer names another merchantTxnId", kind: providers.ErrOutcomeUnknown}
			}
			e.kind = providers.ErrDuplicate
		}
		return LinkResult{}, err
	}
	if r.MerchantTxnID != p.MerchantTxnID || r.InvoiceNo == "" {
		return LinkResult{}, &Error{Op: op, Code: CodeMalformed, Message: "success answer without our invoice", kind: providers.ErrOutcomeUnknown}
	}
	return linkResult(r), nil
}

// InvoiceResult is the provider's answer to a resend or cancel.
type InvoiceResult struct {
	InvoiceNo string
	Status    string
	Code      string
	Message   string
}

// ResendPaymentLink sends the invoice's link to the customer again. Not
// retried: every attempt may mail the customer.
func (c *Client) ResendPaymentLink(ctx context.Context, invoiceNo string) (InvoiceResult, error) {
	return c.invoiceAction(ctx, "ResendPaymentLink", PathResendPaymentLink, invoiceNo)
}

// CancelPaymentLink disables the invoice's payment link. A second cancel
// answers OTS1015 "Cancelled Invoice".
func (c *Client) CancelPaymentLink(ctx context.Context, invoiceNo string) (InvoiceResult, error) {
	return c.invoiceAction(ctx, "CancelPaymentLink", PathCancelPaymentLink, invoiceNo)
}

func (c *Client) invoiceAction(ctx context.Context, op, path, invoiceNo string) (InvoiceResult, error) {
	req := InvoiceRequest{
		MerchID:   c.cfg.MerchantID,
		Password:  c.cfg.Password,
		InvoiceNo: invoiceNo,
		Signature: Sign(c.cfg.RequestHashKey, invoiceSigString(c.cfg.MerchantID, c.cfg.Password, invoiceNo)),
	}
	r, err := c.call(ctx, op, path, req, false)
	if err != nil {
		return InvoiceResult{}, err
	}
	if r.InvoiceNo != invoiceNo {
		return InvoiceResult{}, &Error{Op: op, Code: CodeMalformed, Message: "answer is about another invoice", kind: providers.ErrOutcomeUnknown}
	}
	return InvoiceResult{InvoiceNo: r.InvoiceNo, Status: r.InvoiceStatus, Code: r.StatusCode, Message: r.StatusDesc}, nil
}

// ParseNotification verifies a notification the provider sent to the
// merchant's URL and returns it. A notification that is not signed by the
// response hash key for this merchant is an *Error wrapping
// providers.ErrAuth; one that does not parse wraps providers.ErrRejected.
func (c *Client) ParseNotification(body []byte) (Notification, error) {
	const op = "Notification"
	var n Notification
	if err := parseStrict(body, &n); err != nil {
		return n, &Error{Op: op, Code: CodeMalformed, Message: "not a notification", kind: providers.ErrRejected, err: err}
	}
	if n.MerchID != c.cfg.MerchantID || !Verify(c.cfg.ResponseHashKey, notificationSigString(&n), n.Signature) {
		return n, &Error{Op: op, Code: CodeBadSignature, Message: "notification signature missing or mismatched", kind: providers.ErrAuth}
	}
	return n, nil
}

func linkResult(r *Response) LinkResult {
	paise, _ := providers.ParseAmount(r.Amount)
	return LinkResult{
		MerchantTxnID: r.MerchantTxnID,
		InvoiceNo:     r.InvoiceNo,
		AmountPaise:   paise,
		PaymentLink:   r.PaymentLink,
		Status:        r.InvoiceStatus,
		ExpiresOn:     r.ExpiresOn,
		Code:          r.StatusCode,
		Message:       r.StatusDesc,
	}
}

func sortedFields(m map[string]string) []FieldValue {
	if len(m) == 0 {
		return nil
	}
	out := make([]FieldValue, 0, len(m))
	for k, v := range m {
		out = append(out, FieldValue{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// call sends req and returns a verified success answer. Reads (idempotent) are
// retried on transient failures with doubling backoff; writes never.
func (c *Client) call(ctx context.Context, op, path string, req any, idempotent bool) (*Response, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, &Error{Op: op, Code: CodeBadRequest, kind: providers.ErrRejected, err: err}
	}
	attempts := 1
	if idempotent {
		attempts += c.cfg.ReadRetries
	}
	pause := c.cfg.RetryBackoff
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, lastErr
			case <-t.C:
			}
			pause *= 2
		}
		r, err := c.once(ctx, op, path, payload, idempotent)
		if err == nil {
			return r, nil
		}
		lastErr = err
		if !idempotent || !errors.Is(err, providers.ErrTransient) || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// once is one HTTP exchange. For a write, anything that leaves us without a
// trustworthy answer after the request may have reached the provider is
// ErrOutcomeUnknown; only a failure to connect at all is ErrTransient.
func (c *Client) once(ctx context.Context, op, path string, payload []byte, idempotent bool) (*Response, error) {
	unknown := providers.ErrOutcomeUnknown
	if idempotent {
		unknown = providers.ErrTransient
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return nil, &Error{Op: op, Code: CodeTransport, kind: providers.ErrRejected, err: err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	res, err := c.hc.Do(hreq)
	if err != nil {
		kind := unknown
		if notSent(err) {
			kind = providers.ErrTransient
		}
		return nil, &Error{Op: op, Code: CodeTransport, kind: kind, err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, &Error{Op: op, Code: CodeTransport, HTTPStatus: res.StatusCode, kind: unknown, err: err}
	}
	r, derr := decodeResponse(body)
	if derr != nil {
		kind := unknown
		code := CodeMalformed
		if res.StatusCode >= 300 {
			code = CodeHTTP
		}
		// 503 and 429 come from the provider's front door, which refuses
		// before the application sees the request.
		if res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusTooManyRequests {
			kind = providers.ErrTransient
		}
		return nil, &Error{Op: op, Code: code, HTTPStatus: res.StatusCode, Message: http.StatusText(res.StatusCode), kind: kind, err: derr}
	}
	if err := c.verify(op, r, unknown); err != nil {
		return nil, err
	}
	if IsSuccess(r.StatusCode) {
		return r, nil
	}
	e := &Error{Op: op, Code: r.StatusCode, Message: r.StatusDesc, HTTPStatus: res.StatusCode, kind: classify(r.StatusCode, idempotent)}
	if e.Message == "" {
		e.Message = Describe(r.StatusCode)
	}
	if r.StatusCode == codeDuplicateTxn && r.InvoiceNo != "" {
		lr := linkResult(r)
		e.Existing = &lr
	}
	return nil, e
}

// verify checks the response signature. Successes and answers that name an
// invoice must be signed by the response hash key; plain refusals may come
// unsigned (the provider could not tell whose key to use).
func (c *Client) verify(op string, r *Response, unknown error) error {
	mustSign := IsSuccess(r.StatusCode) || r.InvoiceNo != "" || r.Template != nil || len(r.Templates) > 0
	if r.Signature == "" && !mustSign {
		return nil
	}
	if r.MerchID == c.cfg.MerchantID && Verify(c.cfg.ResponseHashKey, responseSigString(r), r.Signature) {
		return nil
	}
	kind := unknown
	if unknown == providers.ErrTransient {
		// A read whose answer fails verification was tampered with or
		// signed under another key; asking again will not help.
		kind = providers.ErrAuth
	}
	return &Error{Op: op, Code: CodeBadSignature, Message: "response signature missing or mismatched", kind: kind}
}

// notSent reports whether err happened before the request left: the
// connection could not be made at all.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
