package kotakva

import (
	"context"
	"errors"

	"paydesk/providers"
)

var (
	_ providers.Provider        = (*Adapter)(nil)
	_ providers.VirtualAccounts = (*Adapter)(nil)
)

// Adapter puts the virtual-account client behind providers.VirtualAccounts.
//
// Credits arrive at least once: a batch repeats until acknowledged, and an
// acknowledgement whose answer is lost leaves the caller unsure whether the
// next fetch repeats it. Callers store credits keyed by TxnRef (the bank's
// unique reference) and acknowledge after storing.
type Adapter struct {
	c *Client
}

// NewAdapter wraps c.
func NewAdapter(c *Client) *Adapter { return &Adapter{c: c} }

// Name is "kotakva".
func (a *Adapter) Name() string { return Name }

// Client returns the underlying client.
func (a *Adapter) Client() *Client { return a.c }

func fromProvider(v providers.VirtualAccount) Account {
	return Account{
		VirtualAccountNo: v.Number, Suffix: v.Suffix, Name: v.Name, Purpose: v.Purpose,
		Email: v.Email, Mobile: v.Mobile, ExpiresOn: v.ExpiresOn,
	}
}

func toVAResults(r AccountsResult) []providers.VAResult {
	out := make([]providers.VAResult, 0, len(r.Results))
	for _, x := range r.Results {
		out = append(out, providers.VAResult{Number: x.VirtualAccountNo, OK: x.OK, Code: x.Code, Reason: x.Reason})
	}
	return out
}

// CreateVirtualAccounts creates accounts; Number comes back in each result.
func (a *Adapter) CreateVirtualAccounts(ctx context.Context, accts []providers.VirtualAccount) ([]providers.VAResult, error) {
	in := make([]Account, 0, len(accts))
	for _, v := range accts {
		in = append(in, fromProvider(v))
	}
	r, err := a.c.CreateVirtualAccounts(ctx, in)
	return toVAResults(r), err
}

// ModifyVirtualAccounts updates accounts named by Number.
func (a *Adapter) ModifyVirtualAccounts(ctx context.Context, accts []providers.VirtualAccount) ([]providers.VAResult, error) {
	in := make([]Account, 0, len(accts))
	for _, v := range accts {
		in = append(in, fromProvider(v))
	}
	r, err := a.c.ModifyVirtualAccounts(ctx, in)
	return toVAResults(r), err
}

// DeleteVirtualAccounts closes accounts by number.
func (a *Adapter) DeleteVirtualAccounts(ctx context.Context, numbers []string) ([]providers.VAResult, error) {
	r, err := a.c.DeleteVirtualAccounts(ctx, numbers)
	return toVAResults(r), err
}

// FetchCredits returns the oldest unacknowledged batch (empty when none).
func (a *Adapter) FetchCredits(ctx context.Context) (providers.CreditBatch, error) {
	b, err := a.c.FetchTransactions(ctx)
	if err != nil {
		return providers.CreditBatch{}, err
	}
	out := providers.CreditBatch{BatchID: b.BatchID, Credits: make([]providers.Credit, 0, len(b.Records))}
	for _, r := range b.Records {
		mode := providers.Rail(r.Mode)
		out.Credits = append(out.Credits, providers.Credit{
			TxnRef: r.TxnRef, UTR: r.UTR, VirtualAccount: r.VirtualAccountNo, AmountPaise: r.AmountPaise,
			RemitterName: r.RemitterName, RemitterAccount: r.RemitterAccount, RemitterIFSC: r.RemitterIFSC,
			Mode: mode, CreditedAt: r.CreditedAt,
		})
	}
	return out, nil
}

// AcknowledgeCredits acknowledges b with exactly its TxnRefs.
func (a *Adapter) AcknowledgeCredits(ctx context.Context, b providers.CreditBatch) error {
	if b.BatchID == "" {
		return nil
	}
	refs := make([]string, 0, len(b.Credits))
	for _, c := range b.Credits {
		refs = append(refs, c.TxnRef)
	}
	return a.c.Acknowledge(ctx, b.BatchID, refs)
}

func toRefundStatus(info RefundInfo) providers.RefundStatus {
	st := providers.RefundStatus{RefundRef: info.RefundRef, ID: info.ID, ProviderCode: info.Status, Message: info.StatusDesc, UTR: info.UTR, State: providers.StateUnknown}
	if s, ok := RefundState(info.Status); ok {
		st.State = s
	}
	return st
}

// RefundCredit starts a refund. After ErrOutcomeUnknown call RefundStatus with
// the refund's ID (or, without one, the credit's TxnRef): only ErrNotFound
// there allows asking again. With ErrDuplicate the returned status names the
// refund that already exists.
func (a *Adapter) RefundCredit(ctx context.Context, r providers.Refund) (providers.RefundStatus, error) {
	info, err := a.c.Refund(ctx, RefundRequest{ID: r.ID, TxnRef: r.TxnRef, AmountPaise: r.AmountPaise, Reason: r.Reason})
	if err != nil && !errors.Is(err, providers.ErrDuplicate) {
		return providers.RefundStatus{State: providers.StateUnknown}, err
	}
	return toRefundStatus(info), err
}

// RefundStatus asks about a refund by its RefundRef; when the bank does not
// know that reference it is tried as the client's refund ID and then as the
// credit's TxnRef, so a refund whose initiation answer was lost can be found
// by the id it was sent with or by the credit it refunds.
func (a *Adapter) RefundStatus(ctx context.Context, ref string) (providers.RefundStatus, error) {
	info, err := a.c.RefundStatus(ctx, ref, "")
	if errors.Is(err, providers.ErrNotFound) {
		info, err = a.c.RefundStatusByID(ctx, ref)
	}
	if errors.Is(err, providers.ErrNotFound) {
		info, err = a.c.RefundStatus(ctx, "", ref)
	}
	if err != nil {
		return providers.RefundStatus{RefundRef: ref, State: providers.StateUnknown}, err
	}
	return toRefundStatus(info), nil
}
