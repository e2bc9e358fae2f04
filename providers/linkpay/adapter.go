package linkpay

import (
	"context"
	"errors"
	"time"

	"paydesk/providers"
)

// Adapter puts a Client behind providers.PaymentLinks.
type Adapter struct {
	c *Client
}

var _ providers.PaymentLinks = (*Adapter)(nil)
var _ providers.Provider = (*Adapter)(nil)

// NewAdapter wraps c.
func NewAdapter(c *Client) *Adapter { return &Adapter{c: c} }

// Name is the provider's name in Paydesk.
func (a *Adapter) Name() string { return Name }

// Templates lists the invoice templates of the merchant console. A console
// with no templates answers OTS1004; that is an empty list, not an error.
func (a *Adapter) Templates(ctx context.Context) ([]providers.TemplateSummary, error) {
	ts, err := a.c.GetTemplate(ctx)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeTemplateNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]providers.TemplateSummary, 0, len(ts))
	for _, t := range ts {
		out = append(out, providers.TemplateSummary{ID: t.ID, Name: t.Name})
	}
	return out, nil
}

// Template reads one template with its fields. A field is Required when the
// request must fill it: mandatory and without a default the console applies,
// or flagged "use default" with no default set (left empty, OTS1007).
func (a *Adapter) Template(ctx context.Context, id string) (providers.Template, error) {
	t, err := a.c.GetTemplateDetails(ctx, id)
	if err != nil {
		return providers.Template{}, err
	}
	out := providers.Template{TemplateSummary: providers.TemplateSummary{ID: t.ID, Name: t.Name}, Currency: t.Currency,
		MinAmountPaise: t.MinAmountPaise, MaxAmountPaise: t.MaxAmountPaise}
	for _, f := range t.Fields {
		limit := f.MaxLength
		if limit <= 0 {
			limit = maxFieldValue
		}
		typ := f.Type
		switch typ {
		case providers.FieldNumber, providers.FieldDate, providers.FieldEmail:
		default:
			typ = providers.FieldText
		}
		out.Fields = append(out.Fields, providers.TemplateField{
			Name: f.Name, Label: f.Label, Type: typ, Default: f.Default, UseDefault: f.UseDefault && f.Default != "",
			MaxLength: limit, Required: (f.Mandatory || f.UseDefault) && !(f.UseDefault && f.Default != ""),
		})
	}
	return out, nil
}

// CreateLink creates the invoice and its link. It is idempotent by r.ID: the
// provider refuses a second create with the same merchantTxnId and names the
// invoice it already made, which is returned when it is for the same amount.
// So after an ErrOutcomeUnknown the caller may simply call CreateLink again.
func (a *Adapter) CreateLink(ctx context.Context, r providers.LinkRequest) (providers.Link, error) {
	res, err := a.c.CreatePaymentLink(ctx, CreateLinkParams{
		MerchantTxnID: r.ID, TemplateID: r.TemplateID, AmountPaise: r.AmountPaise,
		CustomerName: r.CustomerName, CustomerEmail: r.CustomerEmail, CustomerMobile: providers.NormalizeMobile(r.CustomerPhone),
		DueDate: r.DueDate, Fields: r.Fields, NotifyBy: notifyByOf(r.SendBy),
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) && errors.Is(err, providers.ErrDuplicate) && e.Existing != nil &&
			e.Existing.AmountPaise == r.AmountPaise {
			res = *e.Existing
		} else {
			return providers.Link{}, err
		}
	}
	return providers.Link{ID: res.MerchantTxnID, InvoiceNo: res.InvoiceNo, URL: res.PaymentLink, AmountPaise: res.AmountPaise,
		ProviderCode: res.Code, Message: res.Message}, nil
}

func notifyByOf(sendBy string) string {
	switch sendBy {
	case providers.SendEmail:
		return notifyEmail
	case providers.SendSMS:
		return notifySMS
	case providers.SendEmailSMS:
		return notifyEmailSMS
	case providers.SendNone:
		return notifyNone
	}
	return ""
}

// ParseNotification verifies and reads the provider's notification that an
// invoice was paid or expired.
func (a *Adapter) ParseNotification(body []byte) (providers.LinkEvent, error) {
	n, err := a.c.ParseNotification(body)
	if err != nil {
		return providers.LinkEvent{}, err
	}
	bad := func(msg string) (providers.LinkEvent, error) {
		return providers.LinkEvent{}, &Error{Op: "Notification", Code: CodeMalformed, Message: msg, kind: providers.ErrRejected}
	}
	ev := providers.LinkEvent{NotificationID: n.NotificationID, LinkID: n.MerchantTxnID, InvoiceNo: n.InvoiceNo, BankRef: n.BankRef}
	switch n.InvoiceStatus {
	case InvoicePaid:
		ev.Status = providers.LinkPaid
	case InvoiceExpired:
		ev.Status = providers.LinkExpired
	default:
		return bad("unknown invoiceStatus " + n.InvoiceStatus)
	}
	if ev.AmountPaise, err = providers.ParseAmount(n.Amount); err != nil || ev.AmountPaise <= 0 {
		return bad("amount " + n.Amount + " is not an amount")
	}
	if ev.At, err = time.Parse(time.RFC3339, n.EventAt); err != nil {
		return bad("eventAt is not RFC 3339")
	}
	if ev.SentAt, err = time.Parse(time.RFC3339, n.SentAt); err != nil {
		return bad("sentAt is not RFC 3339")
	}
	if ev.NotificationID == "" || ev.LinkID == "" || ev.InvoiceNo == "" {
		return bad("notificationId, merchantTxnId and invoiceNo are required")
	}
	return ev, nil
}

// ResendLink mails/texts the link again.
func (a *Adapter) ResendLink(ctx context.Context, invoiceNo string) error {
	_, err := a.c.ResendPaymentLink(ctx, invoiceNo)
	return err
}

// CancelLink disables the link. Cancelling an invoice the provider already
// reports cancelled (OTS1015) succeeds, so a cancel whose answer was lost can
// be repeated.
func (a *Adapter) CancelLink(ctx context.Context, invoiceNo string) error {
	_, err := a.c.CancelPaymentLink(ctx, invoiceNo)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeCancelledInvoice {
		return nil
	}
	return err
}

// Name is the provider's name in Paydesk: its package, URL prefix and env prefix.
const Name = "linkpay"
