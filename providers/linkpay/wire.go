package linkpay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// Wire structs. Field names are a decision (the seed names MID, Password,
// amount, merchantTxnId and InvoiceNo only); they are kept here and nowhere
// else.

// TemplateListRequest is the body of Get Template.
type TemplateListRequest struct {
	MerchID   string `json:"merchId"`
	Password  string `json:"password"`
	Signature string `json:"signature"`
}

// TemplateDetailsRequest is the body of Get Template Details.
type TemplateDetailsRequest struct {
	MerchID    string `json:"merchId"`
	Password   string `json:"password"`
	TemplateID string `json:"templateId"`
	Signature  string `json:"signature"`
}

// FieldValue fills one template field of an invoice.
type FieldValue struct {
	Name  string `json:"fieldName"`
	Value string `json:"fieldValue"`
}

// CreateLinkRequest is the body of Create Payment Link.
type CreateLinkRequest struct {
	MerchID        string       `json:"merchId"`
	Password       string       `json:"password"`
	TemplateID     string       `json:"templateId"`
	MerchantTxnID  string       `json:"merchantTxnId"`
	Amount         string       `json:"amount"` // two decimals, exactly as signed
	Currency       string       `json:"currency,omitempty"`
	CustomerName   string       `json:"customerName"`
	CustomerEmail  string       `json:"customerEmail,omitempty"`
	CustomerMobile string       `json:"customerMobile,omitempty"`
	DueDate        string       `json:"dueDate,omitempty"`  // YYYY-MM-DD
	NotifyBy       string       `json:"notifyBy,omitempty"` // EMAIL, SMS, EMAIL_SMS, NONE (decision)
	Fields         []FieldValue `json:"fields,omitempty"`
	Signature      string       `json:"signature"`
}

// InvoiceRequest is the body of Resend and Cancel Payment Link.
type InvoiceRequest struct {
	MerchID   string `json:"merchId"`
	Password  string `json:"password"`
	InvoiceNo string `json:"invoiceNo"`
	Signature string `json:"signature"`
}

// TemplateSummaryWire is one entry of the Get Template answer.
type TemplateSummaryWire struct {
	TemplateID   string `json:"templateId"`
	TemplateName string `json:"templateName"`
}

// FieldWire describes one field of a template as the console defines it.
// UseDefault marks a field the console fills with DefaultValue when the
// request leaves it out; a UseDefault field whose default was never set is
// what OTS1007 "Default Value Missing" reports.
type FieldWire struct {
	FieldName    string `json:"fieldName"`
	FieldLabel   string `json:"fieldLabel"`
	FieldType    string `json:"fieldType"` // text, number, date, email
	Mandatory    bool   `json:"mandatory"`
	UseDefault   bool   `json:"useDefault"`
	DefaultValue string `json:"defaultValue"`
	MaxLength    int    `json:"maxLength,omitempty"`
}

// TemplateWire is the Get Template Details answer's template.
type TemplateWire struct {
	TemplateID   string `json:"templateId"`
	TemplateName string `json:"templateName"`
	Currency     string `json:"currency,omitempty"`
	// MinAmount and MaxAmount are the console's amount rules for invoices
	// made from the template (decision), two decimals; absent: none.
	MinAmount string      `json:"minAmount,omitempty"`
	MaxAmount string      `json:"maxAmount,omitempty"`
	Fields    []FieldWire `json:"fields"`
}

// Response is the one envelope every call answers with.
type Response struct {
	StatusCode    string                `json:"statusCode"`
	StatusDesc    string                `json:"statusDesc"`
	MerchID       string                `json:"merchId,omitempty"`
	Templates     []TemplateSummaryWire `json:"templates,omitempty"`
	Template      *TemplateWire         `json:"template,omitempty"`
	MerchantTxnID string                `json:"merchantTxnId,omitempty"`
	InvoiceNo     string                `json:"invoiceNo,omitempty"`
	Amount        string                `json:"amount,omitempty"`
	PaymentLink   string                `json:"paymentLink,omitempty"`
	InvoiceStatus string                `json:"invoiceStatus,omitempty"`
	ExpiresOn     string                `json:"expiresOn,omitempty"`
	Signature     string                `json:"signature,omitempty"`
}

// Notification is what the provider POSTs to the merchant's notification URL
// when an invoice is paid or expires (decision; see decisions.go).
type Notification struct {
	MerchID        string `json:"merchId"`
	NotificationID string `json:"notificationId"`
	MerchantTxnID  string `json:"merchantTxnId"`
	InvoiceNo      string `json:"invoiceNo"`
	Amount         string `json:"amount"`
	InvoiceStatus  string `json:"invoiceStatus"` // PAID or EXPIRED
	BankRef        string `json:"bankRef,omitempty"`
	EventAt        string `json:"eventAt"` // RFC 3339, IST
	SentAt         string `json:"sentAt"`  // RFC 3339, this delivery
	Signature      string `json:"signature"`
}

// errNoStatus: the body parsed as JSON but is not one of the provider's
// answers (an HTML error page, a proxy's JSON).
var errNoStatus = errors.New("answer carries no statusCode")

// decodeResponse reads a provider answer. It refuses anything that is not a
// single JSON object with a statusCode, so a truncated or foreign body is
// never mistaken for an answer.
func decodeResponse(body []byte) (*Response, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var r Response
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after answer")
	}
	if r.StatusCode == "" {
		return nil, errNoStatus
	}
	return &r, nil
}
