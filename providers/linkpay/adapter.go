package linkpay

import (
	"context"
	"errors"

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
// request must fill it: mandatory and without a default the console applies.
func (a *Adapter) Template(ctx context.Context, id string) (providers.Template, error) {
	t, err := a.c.GetTemplateDetails(ctx, id)
	if err != nil {
		return providers.Template{}, err
	}
	out := providers.Template{TemplateSummary: providers.TemplateSummary{ID: t.ID, Name: t.Name}}
	for _, f := range t.Fields {
		out.Fields = append(out.Fields, providers.TemplateField{
			Name: f.Name, Label: f.Label, Default: f.Default,
			Required: f.Mandatory && !(f.UseDefault && f.Default != ""),
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
		DueDate: r.DueDate, Fields: r.Fields,
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
	return providers.Link{ID: res.MerchantTxnID, InvoiceNo: res.InvoiceNo, URL: res.PaymentLink, ProviderCode: res.Code, Message: res.Message}, nil
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
