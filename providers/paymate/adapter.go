package paymate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// Adapter maps Paydesk's provider interfaces onto PayMate calls.
//
// Payouts: a payout is booked (BookPayment, or BookPaymentsByXpressID when it
// names a contact) with Paydesk's payout id as OrderID, waits at PayMate in
// 199 (StateQueued), and moves money only when approved through Authorise
// (ApprovePayment). A pending item's Ref is its OrderID.
type Adapter struct {
	c   *Client
	now func() time.Time
}

// NewAdapter wraps a client.
func NewAdapter(c *Client) *Adapter { return &Adapter{c: c, now: time.Now} }

var (
	_ providers.Provider    = (*Adapter)(nil)
	_ providers.Payouts     = (*Adapter)(nil)
	_ providers.Balances    = (*Adapter)(nil)
	_ providers.Contacts    = (*Adapter)(nil)
	_ providers.Collections = (*Adapter)(nil)
)

// Name is the provider's name.
func (a *Adapter) Name() string { return Name }

// Client is the underlying PayMate client.
func (a *Adapter) Client() *Client { return a.c }

// paymentTypeFor picks PayMate's PaymentType for a rail: IMPS is Instant,
// everything else Normal (PayMate routes Normal over NEFT or RTGS itself; it
// has no intra-bank choice).
func paymentTypeFor(r providers.Rail) PaymentType {
	if r == providers.RailIMPS {
		return Instant
	}
	return Normal
}

// fitText keeps the characters PayMate's free-text fields allow and cuts to n.
func fitText(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range s {
		if count == n {
			break
		}
		if !isText(string(r)) {
			r = ' '
		}
		b.WriteRune(r)
		count++
	}
	return strings.TrimSpace(b.String())
}

// InitiatePayout books p: by the contact's XpressID when p.ContactRef is set
// and p.ID fits that call's shorter OrderID, else with the beneficiary's
// details written out. On success the payout waits at PayMate for approval
// (199, StateQueued). An error wrapping providers.ErrOutcomeUnknown comes with
// StateUnknown: ask PayoutStatus before anything else.
func (a *Adapter) InitiatePayout(ctx context.Context, p providers.Payout) (providers.PayoutStatus, error) {
	pt := paymentTypeFor(p.Rail)
	var (
		ref Ref
		err error
	)
	if p.ContactRef != "" && len(p.ID) <= bookByXpressIDOrderLen {
		ref, err = a.c.BookPaymentsByXpressID(ctx, BookByXpressIDRequest{
			ClientXpressID: p.ContactRef, OrderID: p.ID, AmountPaise: p.AmountPaise, PaymentType: pt, Remarks: p.Purpose,
		})
	} else {
		ref, err = a.c.BookPayment(ctx, BookPaymentRequest{
			CompanyName: p.BeneficiaryName, CompanyEmailID: p.BeneficiaryEmail, CompanyMobileNo: providers.NormalizeMobile(p.BeneficiaryPhone),
			AccountNo: p.BeneficiaryAcct, IFSCode: strings.ToUpper(p.BeneficiaryIFSC), OrderID: p.ID,
			AmountPaise: p.AmountPaise, PaymentType: pt, Remarks: p.Purpose,
		})
	}
	now := a.now()
	if err != nil {
		st := providers.PayoutStatus{ID: p.ID, CheckedAt: now}
		var pe *Error
		if errors.As(err, &pe) {
			st.ProviderCode, st.Message = pe.Code, pe.Message
		}
		if errors.Is(err, providers.ErrOutcomeUnknown) {
			st.State = providers.StateUnknown
		}
		return st, err
	}
	code := bookedCode
	if ref.Code != codeSuccess && PayoutStateOf(ref.Code) != providers.StateUnknown {
		code = ref.Code // a build that reports the booking's status in ErrorCode
	}
	return providers.PayoutStatus{ID: p.ID, State: PayoutStateOf(code), ProviderCode: code, Message: CodeMessage(code),
		ProviderRef: ref.TransactionRefNo, CheckedAt: now}, nil
}

// PayoutStatus asks GetPaymentReport about one OrderID. PayMate's 225 (no
// record) is providers.ErrNotFound: the payout was never booked.
func (a *Adapter) PayoutStatus(ctx context.Context, id string) (providers.PayoutStatus, error) {
	rows, err := a.c.GetPaymentReport(ctx, PaymentQuery{OrderID: id})
	if err != nil {
		return providers.PayoutStatus{}, err
	}
	for _, r := range rows {
		if !strings.EqualFold(r.OrderID, id) {
			continue
		}
		msg := r.Message
		if msg == "" {
			msg = CodeMessage(r.TransactionStatus)
		}
		return providers.PayoutStatus{ID: id, State: PayoutStateOf(r.TransactionStatus), ProviderCode: r.TransactionStatus,
			Message: msg, UTR: r.BankRefNo, ProviderRef: r.TransactionRefNo, CheckedAt: a.now()}, nil
	}
	return providers.PayoutStatus{}, &Error{Op: "GetPaymentReport", Message: fmt.Sprintf("no row for OrderID %q", id), Kind: providers.ErrNotFound}
}

// PendingApprovals lists payments waiting in 199 "Awaiting to approve",
// whether booked by Paydesk or on PayMate's portal.
func (a *Adapter) PendingApprovals(ctx context.Context) ([]providers.PendingPayout, error) {
	rows, err := a.c.GetPaymentReport(ctx, PaymentQuery{})
	if errors.Is(err, providers.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []providers.PendingPayout
	for _, r := range rows {
		if r.TransactionStatus != bookedCode {
			continue
		}
		out = append(out, providers.PendingPayout{Ref: r.OrderID, ID: r.OrderID, AmountPaise: r.PaidPaise,
			Rail: railOf(r.PaymentType, r.PaidPaise), BeneficiaryName: r.CompanyName, BeneficiaryAcct: r.AccountNo,
			BeneficiaryIFSC: r.ReceiverIFSC, Purpose: r.Remarks, CreatedAt: r.TransactionDate})
	}
	return out, nil
}

// railOf guesses the rail from PaymentType when the report carries it.
func railOf(pt string, amount int64) providers.Rail {
	if pt == "" {
		return ""
	}
	return railFor(PaymentType(pt), amount)
}

// Authorise approves or rejects each ref (an OrderID) with one ApprovePayment
// call apiece: PayMate approves a single payment at a time. It goes on past a
// failing ref and returns every failure joined; each keeps its kind, so
// errors.Is(err, providers.ErrOutcomeUnknown) tells that some approval must be
// checked with PayoutStatus, and providers.ErrDuplicate (224) that a payment
// was already past approval. A rejection carries remarks as Reason (cut to 60
// characters); an approval sends no reason.
func (a *Adapter) Authorise(ctx context.Context, refs []string, d providers.Decision, remarks string) error {
	var req ApprovePaymentRequest
	switch d {
	case providers.Approve:
		req.Action = ActionApprove
	case providers.Reject:
		req.Action, req.Reason = ActionReject, fitText(remarks, rejectReasonLen)
	default:
		return fmt.Errorf("paymate: Authorise: unknown decision %q: %w", d, providers.ErrRejected)
	}
	var errs []error
	for _, ref := range refs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("paymate: order %s not sent: %w", ref, errors.Join(err, providers.ErrTransient)))
			continue
		}
		req.OrderID = ref
		if _, err := a.c.ApprovePayment(ctx, req); err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", ref, err))
		}
	}
	return errors.Join(errs...)
}

// Balance is the Xpress Account balance.
func (a *Adapter) Balance(ctx context.Context) (providers.Balance, error) {
	p, err := a.c.GetXpressAccountBalance(ctx)
	if err != nil {
		return providers.Balance{}, err
	}
	return providers.Balance{Account: "Xpress Account " + a.c.XpressID(), AvailablePaise: p, AsOf: a.now()}, nil
}

// AddContact registers c. A vendor must come with account and IFSC, which
// PayMate needs to pay it. Not idempotent: after ErrOutcomeUnknown, look for
// c.ReferenceCode in ListContacts.
func (a *Adapter) AddContact(ctx context.Context, c providers.Contact) (providers.Contact, error) {
	if c.IsVendor && (c.AccountNo == "" || c.IFSC == "") {
		return c, &Error{Op: "AddContact", Message: "a vendor needs AccountNo and IFSC", Kind: providers.ErrRejected}
	}
	res, err := a.c.AddContact(ctx, NewContact{CompanyName: c.CompanyName, FirstName: c.FirstName, LastName: c.LastName,
		EmailID: c.Email, MobileNo: providers.NormalizeMobile(c.Mobile), ReferenceCode: c.ReferenceCode, AccountNo: c.AccountNo,
		IFSCode: strings.ToUpper(c.IFSC), GSTIN: strings.ToUpper(c.GSTIN)})
	if err != nil {
		return c, err
	}
	c.ProviderID, c.VirtualAccountNo, c.VirtualIFSC = res.ContactXpressID, res.VirtualAccountNo, res.VANIFSC
	return c, nil
}

// ListContacts lists every contact, including those made on PayMate's portal.
func (a *Adapter) ListContacts(ctx context.Context) ([]providers.Contact, error) {
	rows, err := a.c.GetContactList(ctx, ContactQuery{})
	if errors.Is(err, providers.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]providers.Contact, 0, len(rows))
	for _, r := range rows {
		out = append(out, providers.Contact{ReferenceCode: r.ReferenceCode, CompanyName: r.CompanyName, FirstName: r.FirstName,
			LastName: r.LastName, Email: r.EmailID, Mobile: r.MobileNo, AccountNo: r.AccountNo, IFSC: r.IFSCode, GSTIN: r.GSTIN,
			IsVendor: r.AccountNo != "", ProviderID: r.ContactXpressID, VirtualAccountNo: r.VirtualAccountNo, VirtualIFSC: r.VANIFSC})
	}
	return out, nil
}

// RequestPayment asks a contact (RequestPaymentByXpressID) or anyone
// (RequestPayment) to pay. r.DueDate has no PayMate field and is not sent.
// The payer's name is both CompanyName and SenderName (cut to 30).
func (a *Adapter) RequestPayment(ctx context.Context, r providers.CollectionRequest) (providers.CollectionStatus, error) {
	var (
		ref Ref
		err error
	)
	if r.ContactRef != "" {
		ref, err = a.c.RequestPaymentByXpressID(ctx, PaymentRequestByXpressID{ClientXpressID: r.ContactRef, OrderID: r.ID,
			AmountPaise: r.AmountPaise, Remarks: r.Purpose})
	} else {
		ref, err = a.c.RequestPayment(ctx, PaymentRequest{OrderID: r.ID, CompanyName: r.Name,
			SenderName: strings.TrimSpace(string([]rune(r.Name)[:min(len([]rune(r.Name)), requestSenderNameLen)])),
			EmailID:    r.Email, MobileNo: providers.NormalizeMobile(r.Mobile), AmountPaise: r.AmountPaise, Remarks: r.Purpose})
	}
	if err != nil {
		return providers.CollectionStatus{ID: r.ID}, err
	}
	return providers.CollectionStatus{ID: r.ID, ProviderRef: ref.TransactionRefNo, State: providers.CollectionPending,
		ProviderCode: ref.Code, Message: CodeMessage(ref.Code)}, nil
}

// CollectionStatus asks GetRequestPaymentReport about one request.
func (a *Adapter) CollectionStatus(ctx context.Context, id string) (providers.CollectionStatus, error) {
	rows, err := a.c.GetRequestPaymentReport(ctx, RequestQuery{OrderID: id})
	if err != nil {
		return providers.CollectionStatus{}, err
	}
	for _, r := range rows {
		if !strings.EqualFold(r.OrderID, id) {
			continue
		}
		state, ok := CollectionStateOf(r.Status)
		if !ok {
			state = providers.CollectionPending // unknown status: keep asking
		}
		msg := r.Message
		if msg == "" {
			msg = CodeMessage(r.Status)
		}
		return providers.CollectionStatus{ID: id, ProviderRef: r.TransactionRefNo, State: state, ProviderCode: r.Status,
			Message: msg, PaidAt: r.PaymentDate, UTR: r.BankRefNo}, nil
	}
	return providers.CollectionStatus{}, &Error{Op: "GetRequestPaymentReport", Message: fmt.Sprintf("no row for OrderID %q", id), Kind: providers.ErrNotFound}
}

// VendorRequests lists vendors' requests to be paid that wait for us: the
// payments "Awaiting to pay" (200) in GetPaymentReport. Pay one with
// Authorise(InvoiceNo, Approve); InvoiceNo is its OrderID. The report does not
// name the contact, so ContactRef is filled in by matching account and IFSC
// against the contact list, when that list can be read.
func (a *Adapter) VendorRequests(ctx context.Context) ([]providers.VendorRequest, error) {
	rows, err := a.c.GetPaymentReport(ctx, PaymentQuery{})
	if errors.Is(err, providers.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var (
		out  []providers.VendorRequest
		accs []string // account|IFSC of each, to find the contact
	)
	for _, r := range rows {
		if r.TransactionStatus != vendorRequestCode {
			continue
		}
		out = append(out, providers.VendorRequest{ProviderRef: r.TransactionRefNo, VendorName: r.CompanyName,
			AmountPaise: r.PaidPaise, Purpose: r.Remarks, InvoiceNo: r.OrderID, RequestedAt: r.TransactionDate})
		accs = append(accs, r.AccountNo+"|"+strings.ToUpper(r.ReceiverIFSC))
	}
	if len(out) == 0 {
		return nil, nil
	}
	byAcct := map[string]string{}
	if contacts, err := a.c.GetContactList(ctx, ContactQuery{}); err == nil {
		for _, c := range contacts {
			if c.AccountNo != "" {
				byAcct[c.AccountNo+"|"+strings.ToUpper(c.IFSCode)] = c.ContactXpressID
			}
		}
	}
	for i := range out {
		out[i].ContactRef = byAcct[accs[i]]
	}
	return out, nil
}

// Name is the provider's name in Paydesk: its package, URL prefix and env prefix.
const Name = "paymate"
