package kotakcms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"paydesk/providers"
)

var (
	_ providers.Provider = (*Adapter)(nil)
	_ providers.Payouts  = (*Adapter)(nil)
)

// Adapter puts the CMS client behind providers.Payouts.
//
// Kotak lands every instrument the API sends in PA, waiting for the bank-side
// authoriser. Paydesk's worker therefore calls InitiatePayout (state queued),
// then Authorise with the payout id, then polls PayoutStatus. The payout id
// is the InstRefNo, so the bank itself refuses a second payment of the same
// payout.
type Adapter struct {
	c *Client

	mu       sync.Mutex
	attempts map[string]int // MessageId attempts per request key, while an outcome is open
}

// NewAdapter wraps c.
func NewAdapter(c *Client) *Adapter {
	return &Adapter{c: c, attempts: map[string]int{}}
}

// Name is "kotakcms".
func (a *Adapter) Name() string { return Name }

// Client returns the underlying client.
func (a *Adapter) Client() *Client { return a.c }

func (a *Adapter) nextAttempt(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.attempts[key]++
	return a.attempts[key]
}

// settle forgets the attempt count once the bank gave a definite answer: a
// later request under the same key starts again at 1 and skips used
// MessageIds through 002.
func (a *Adapter) settle(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.attempts, key)
}

// maxDrDesc characters of the purpose go into the debit narration; it is
// only a narration, so it is cut rather than failing the payout.
func narration(s string) string {
	if utf8.RuneCountInString(s) <= maxDrDesc {
		return s
	}
	r := []rune(s)
	return string(r[:maxDrDesc])
}

// InitiatePayout sends p as a single-instrument payment request. On success
// the payout is queued at the bank (PA). On ErrOutcomeUnknown or ErrTransient
// call PayoutStatus: only "not found" (ErrNotFound) allows sending again.
// ErrDuplicate means the bank already holds this payout id.
func (a *Adapter) InitiatePayout(ctx context.Context, p providers.Payout) (providers.PayoutStatus, error) {
	st := providers.PayoutStatus{ID: p.ID, ProviderRef: p.ID, State: providers.StateUnknown}
	if p.ID == "" || p.AmountPaise <= 0 {
		return st, &Error{Provider: Name, Op: "InitiatePayout", Message: "payout needs an id and a positive amount", Kind: providers.ErrRejected}
	}
	mode := string(p.Rail)
	if mode == "" {
		mode = string(providers.RailNEFT)
	}
	in := Instrument{
		InstRefNo: p.ID, PayMode: mode, AmountPaise: p.AmountPaise,
		DebitDesc: narration(p.Purpose), PaymentDate: p.ValueDate, IFSC: p.BeneficiaryIFSC,
		BeneAccount: p.BeneficiaryAcct, BeneName: p.BeneficiaryName, BeneCode: p.ContactRef,
		BeneEmail: p.BeneficiaryEmail, BeneMobile: p.BeneficiaryPhone, PaymentRef: p.ID,
	}
	key := "pay|" + p.ID
	for {
		attempt := a.nextAttempt(key)
		ack, err := a.c.Pay(ctx, PayRequest{MessageID: MessageID("pay", p.ID, attempt), BatchRef: p.ID, Instruments: []Instrument{in}})
		st.CheckedAt = a.c.now()
		var ke *Error
		if errors.As(err, &ke) && ke.Code == "002" && attempt < maxMessageIDAttempts {
			continue // that MessageId was used before; nothing was taken
		}
		if err != nil {
			if errors.As(err, &ke) {
				st.ProviderCode, st.Message = ke.Code, ke.Message
			}
			if errors.Is(err, providers.ErrRejected) {
				a.settle(key)
				st.State = providers.StateRejected
			}
			if errors.Is(err, providers.ErrDuplicate) {
				a.settle(key)
			}
			return st, err
		}
		a.settle(key)
		for _, ia := range ack.Instruments {
			if ia.InstRefNo != p.ID {
				continue
			}
			if err := ia.Err(); err != nil {
				st.ProviderCode, st.Message = ia.Code, ia.Remark
				if errors.Is(err, providers.ErrRejected) {
					st.State = providers.StateRejected
				}
				return st, err
			}
			st.State, st.ProviderCode, st.Message = providers.StateQueued, "PA", ia.Remark
			return st, nil
		}
		// Accepted header but our instrument is not in the answer: we cannot
		// tell what happened to it.
		return st, &Error{Provider: Name, Op: "InitiatePayout", Code: ack.StatusCd, Message: "acknowledgement does not mention " + p.ID, Kind: providers.ErrOutcomeUnknown}
	}
}

// PayoutStatus asks the bank about payout id (its InstRefNo).
func (a *Adapter) PayoutStatus(ctx context.Context, id string) (providers.PayoutStatus, error) {
	st := providers.PayoutStatus{ID: id, ProviderRef: id, State: providers.StateUnknown}
	details, err := a.c.StatusInquiry(ctx, id)
	st.CheckedAt = a.c.now()
	if err != nil {
		return st, err
	}
	for _, d := range details {
		if d.MsgID != id {
			continue
		}
		st.ProviderCode, st.Message, st.UTR = d.StatusCode, d.StatusDesc, d.UTR
		if isNotFound(d.StatusCode, d.StatusDesc) {
			return st, &Error{Provider: Name, Op: "PayoutStatus", Code: descNotFound, Message: id, Kind: providers.ErrNotFound}
		}
		state, ok := StateOf(d.StatusCode, d.StatusDesc)
		if !ok {
			return st, &Error{Provider: Name, Op: "PayoutStatus", Code: d.StatusCode, Message: "unknown status: " + d.StatusDesc, Kind: providers.ErrTransient}
		}
		st.State = state
		return st, nil
	}
	return st, &Error{Provider: Name, Op: "PayoutStatus", Message: "answer does not mention " + id, Kind: providers.ErrTransient}
}

// PendingApprovals lists instruments waiting for the bank-side authoriser,
// including those keyed in on the bank's portal. Ref is the InstRefNo.
func (a *Adapter) PendingApprovals(ctx context.Context) ([]providers.PendingPayout, error) {
	list, err := a.c.PendingApprovals(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]providers.PendingPayout, 0, len(list))
	for _, p := range list {
		out = append(out, providers.PendingPayout{
			Ref: p.InstRefNo, ID: p.InstRefNo, AmountPaise: p.AmountPaise, Rail: providers.Rail(p.PayMode),
			BeneficiaryName: p.BeneName, BeneficiaryAcct: p.BeneAccount, BeneficiaryIFSC: p.IFSC,
			Purpose: p.DebitDesc, CreatedAt: p.CreatedAt,
		})
	}
	return out, nil
}

// Authorise approves or rejects instruments pending at the bank. Approving
// one already approved is a no-op at the bank, so after ErrOutcomeUnknown it
// is safe to check PayoutStatus and authorise again if still queued (PA).
func (a *Adapter) Authorise(ctx context.Context, refs []string, d providers.Decision, remarks string) error {
	var action string
	switch d {
	case providers.Approve:
		action = ActionApprove
	case providers.Reject:
		action = ActionReject
	default:
		return &Error{Provider: Name, Op: "Authorise", Message: fmt.Sprintf("unknown decision %q", d), Kind: providers.ErrRejected}
	}
	if len(refs) == 0 {
		return nil
	}
	sorted := slices.Clone(refs)
	slices.Sort(sorted)
	ref := action + "|" + strings.Join(sorted, ",")
	key := "auth|" + ref
	for {
		attempt := a.nextAttempt(key)
		_, err := a.c.Authorize(ctx, AuthorizeRequest{MessageID: MessageID("auth", ref, attempt), InstRefNos: refs, Action: action, Remarks: remarks})
		var ke *Error
		if errors.As(err, &ke) && ke.Code == "002" && attempt < maxMessageIDAttempts {
			continue
		}
		if err == nil || !errors.Is(err, providers.ErrOutcomeUnknown) && !errors.Is(err, providers.ErrTransient) {
			a.settle(key)
		}
		return err
	}
}
