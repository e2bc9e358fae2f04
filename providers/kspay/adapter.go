package kspay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"paydesk/providers"
)

// Adapter puts a Client behind providers.Gateway.
type Adapter struct {
	c *Client
}

var _ providers.Gateway = (*Adapter)(nil)
var _ providers.Provider = (*Adapter)(nil)

// NewAdapter wraps c.
func NewAdapter(c *Client) *Adapter { return &Adapter{c: c} }

// Name is the provider's name in Paydesk.
func (a *Adapter) Name() string { return Name }

// Client is the wrapped client, for the calls the interface does not carry
// (process, signatures).
func (a *Adapter) Client() *Client { return a.c }

// Currencies lists the active currencies.
func (a *Adapter) Currencies(ctx context.Context) ([]providers.Currency, error) {
	cs, err := a.c.Currencies(ctx)
	if err != nil {
		return nil, err
	}
	var out []providers.Currency
	for _, c := range cs {
		if c.IsActive {
			out = append(out, providers.Currency{ID: c.ID, Code: c.Code, Name: c.Name})
		}
	}
	return out, nil
}

// PaymentMethods lists the active payment methods of a currency.
func (a *Adapter) PaymentMethods(ctx context.Context, currencyID string) ([]providers.PaymentMethod, error) {
	ms, err := a.c.PaymentMethods(ctx, currencyID)
	if err != nil {
		return nil, err
	}
	var out []providers.PaymentMethod
	for _, m := range ms {
		if m.IsActive {
			out = append(out, providers.PaymentMethod{ID: m.ID, CurrencyID: currencyID, Name: m.Name})
		}
	}
	return out, nil
}

// InitiatePayment starts a transaction with p.ID as the reference number.
// When the answer is lost (ErrOutcomeUnknown) it asks the provider for the
// transaction by reference before giving up, and returns it if it exists: the
// status inquiry, never a re-send. If the provider does not know the
// reference the original error is returned; initiating again is then safe
// (and even a late duplicate would be answered with the same transaction).
func (a *Adapter) InitiatePayment(ctx context.Context, p providers.GatewayPayment) (providers.GatewayTransaction, error) {
	r, err := a.c.InitiateTransaction(ctx, InitiateParams{
		CurrencyID: p.CurrencyID, PaymentMethodID: p.PaymentMethodID, AmountPaise: p.AmountPaise,
		ReferenceNumber: p.ID, RedirectURL: p.RedirectURL,
	})
	if errors.Is(err, providers.ErrOutcomeUnknown) {
		if t, found, lerr := a.TransactionByReference(ctx, p.ID); lerr == nil && found {
			return t, nil
		}
		return providers.GatewayTransaction{}, err
	}
	if err != nil {
		return providers.GatewayTransaction{}, err
	}
	t, err := a.c.TransactionByID(ctx, r.TxnID)
	if err != nil {
		// The transaction exists; report what initiate said.
		return providers.GatewayTransaction{
			ID: r.TxnID, ProviderOrderID: r.ProviderOrderID, Reference: p.ID, CurrencyCode: r.Currency,
			AmountPaise: r.AmountPaise, Status: string(providers.CollectionPending),
		}, nil
	}
	return gatewayTxn(t)
}

// Transaction reads one transaction by the provider's id.
func (a *Adapter) Transaction(ctx context.Context, id string) (providers.GatewayTransaction, error) {
	t, err := a.c.TransactionByID(ctx, id)
	if err != nil {
		return providers.GatewayTransaction{}, err
	}
	return gatewayTxn(t)
}

// TransactionByReference finds the transaction made for Paydesk's reference.
func (a *Adapter) TransactionByReference(ctx context.Context, ref string) (providers.GatewayTransaction, bool, error) {
	page, err := a.c.Transactions(ctx, TxnQuery{ReferenceNumber: ref, Limit: 1})
	if err != nil {
		return providers.GatewayTransaction{}, false, err
	}
	for _, t := range page.Transactions {
		if t.ReferenceNumber == ref {
			g, err := gatewayTxn(t)
			return g, err == nil, err
		}
	}
	return providers.GatewayTransaction{}, false, nil
}

// ProcessPayment asks for the order the payer's checkout takes. It changes
// nothing that money depends on, so a caller may repeat it after a lost
// answer.
func (a *Adapter) ProcessPayment(ctx context.Context, id string) (providers.GatewayOrder, error) {
	o, err := a.c.ProcessTransaction(ctx, id)
	if err != nil {
		return providers.GatewayOrder{}, err
	}
	// Kept as the checkout takes it: indented, & and < as they are.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(o)
	raw := bytes.TrimSpace(buf.Bytes())
	return providers.GatewayOrder{
		TransactionID: o.TxnID, ProviderOrderID: o.ProviderOrderID, Gateway: o.Gateway, Key: o.Key,
		AmountMinor: o.AmountMinor, Currency: o.Currency, Reference: o.ReferenceNumber,
		CheckoutURL: o.CheckoutURL, UPIIntent: o.UPIIntent, Raw: raw,
	}, nil
}

// TransactionsPage reads one page of the app's transactions, newest first.
func (a *Adapter) TransactionsPage(ctx context.Context, q providers.GatewayQuery) (providers.GatewayPage, error) {
	size := q.PageSize
	if size <= 0 || size > maxPageLimit {
		size = maxPageLimit
	}
	p, err := a.c.Transactions(ctx, TxnQuery{Page: max(q.Page, 1), Limit: size, StartDate: q.From, EndDate: q.To})
	if err != nil {
		return providers.GatewayPage{}, err
	}
	out := providers.GatewayPage{Total: p.Total, Transactions: make([]providers.GatewayTransaction, 0, len(p.Transactions))}
	for _, t := range p.Transactions {
		g, err := gatewayTxn(t)
		if err != nil {
			return providers.GatewayPage{}, err
		}
		out.Transactions = append(out.Transactions, g)
	}
	return out, nil
}

// maxPages bounds Transactions so a provider that keeps reporting more never
// loops us forever.
const maxPages = 1000

// Transactions lists every transaction of the app, newest first.
func (a *Adapter) Transactions(ctx context.Context) ([]providers.GatewayTransaction, error) {
	var out []providers.GatewayTransaction
	for page := 1; page <= maxPages; page++ {
		p, err := a.c.Transactions(ctx, TxnQuery{Page: page, Limit: maxPageLimit})
		if err != nil {
			return nil, err
		}
		for _, t := range p.Transactions {
			g, err := gatewayTxn(t)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		if len(p.Transactions) == 0 || page*maxPageLimit >= p.Total {
			break
		}
	}
	return out, nil
}

// statusMap puts the provider's transaction states onto Paydesk's collection
// states; GatewayTransaction.Status carries the latter.
var statusMap = map[string]providers.CollectionState{
	StatusPending: providers.CollectionPending,
	StatusPaid:    providers.CollectionPaid,
	StatusFailed:  providers.CollectionFailed,
	StatusExpired: providers.CollectionExpired,
}

func gatewayTxn(t Transaction) (providers.GatewayTransaction, error) {
	paise, err := providers.ParseAmount(t.Amount)
	if err != nil {
		return providers.GatewayTransaction{}, &Error{Op: opTxnByID, Marker: MarkerMalformed, Message: fmt.Sprintf("amount %q", t.Amount), kind: providers.ErrTransient, err: err}
	}
	st, ok := statusMap[t.Status]
	if !ok {
		// A state we do not know is not final: keep asking.
		st = providers.CollectionPending
	}
	created, _ := time.Parse(time.RFC3339, t.CreatedAt)
	updated, _ := time.Parse(time.RFC3339, t.UpdatedAt)
	return providers.GatewayTransaction{
		ID: t.ID, ProviderOrderID: t.ProviderOrderID, ProviderPaymentID: t.ProviderPaymentID, Reference: t.ReferenceNumber,
		CurrencyID: t.CurrencyID, CurrencyCode: t.CurrencyCode, PaymentMethodID: t.PaymentMethodID,
		AmountPaise: paise, Status: string(st), ProviderStatus: t.ProviderStatus, Paid: t.IsPaid && st == providers.CollectionPaid,
		CreatedAt: created, UpdatedAt: updated,
	}, nil
}

// Name is the provider's name in Paydesk: its package, URL prefix and env prefix.
const Name = "kspay"
