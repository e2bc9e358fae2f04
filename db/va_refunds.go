package db

// Refunds of credits: a maker proposes a full or partial refund (approval
// kind va_refund, banded by amount like payouts); a checker approves; a
// River job sends it with our refund id as the bank's RefundId (the
// idempotency key) and follows it to a final state.
//
// The sum of a credit's refunds can never exceed the credit. A proposal
// reserves its amount on the credit (refunded_paise) in its own transaction,
// and the column's CHECK refuses more than the credit; the approving
// transaction checks again that the approved and sent refunds with this one
// fit. A refund rejected, withdrawn, refused or failed gives its amount back.
//
// A refund whose answer was lost is asked about by its id before anything
// else, and sent again only when the bank does not know it well after it
// was sent (NotFoundGrace).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"paydesk/providers"
)

// RefundState is where a refund is in its life.
type RefundState string

// Refund states.
const (
	RefundPending    RefundState = "pending_approval"
	RefundApproved   RefundState = "approved"
	RefundUnknown    RefundState = "unknown"
	RefundProcessing RefundState = "processing"
	RefundProcessed  RefundState = "processed"
	RefundFailed     RefundState = "failed"
	RefundReversed   RefundState = "reversed"
	RefundRejected   RefundState = "rejected"
	RefundCancelled  RefundState = "cancelled"
)

// Final reports whether the refund can no longer change.
func (s RefundState) Final() bool {
	switch s {
	case RefundProcessed, RefundFailed, RefundReversed, RefundRejected, RefundCancelled:
		return true
	}
	return false
}

// takes reports whether the refund holds its amount of the credit.
func (s RefundState) takes() bool {
	switch s {
	case RefundFailed, RefundReversed, RefundRejected, RefundCancelled:
		return false
	}
	return true
}

// VARefund is one refund of a credit.
type VARefund struct {
	ID           string
	CreditID     int64
	AmountPaise  int64
	Reason       string
	State        RefundState
	RefundRef    string
	UTR          string
	ProviderCode string
	Message      string
	Attempts     int
	SentAt       time.Time
	MakerID      int64
	Maker        string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const refundColumns = `r.id, r.credit_id, r.amount_paise, r.reason, r.state, r.refund_ref, r.utr, r.provider_code, r.message, r.attempts,
	coalesce(r.sent_at, 0), r.maker_id, u.username, r.created_at, r.updated_at`

const refundFrom = ` FROM va_refunds r JOIN users u ON u.id = r.maker_id`

func scanRefund(s scanner) (VARefund, error) {
	var r VARefund
	var sent, created, updated int64
	if err := s.Scan(&r.ID, &r.CreditID, &r.AmountPaise, &r.Reason, &r.State, &r.RefundRef, &r.UTR, &r.ProviderCode, &r.Message,
		&r.Attempts, &sent, &r.MakerID, &r.Maker, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, Errorf(ENOTFOUND, "No such refund.")
		}
		return r, fmt.Errorf("db: scan refund: %w", err)
	}
	if sent != 0 {
		r.SentAt = time.UnixMilli(sent)
	}
	r.CreatedAt, r.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return r, nil
}

func getRefund(ctx context.Context, q querier, id string) (VARefund, error) {
	return scanRefund(q.QueryRowContext(ctx, `SELECT `+refundColumns+refundFrom+` WHERE r.id = ?`, id))
}

// Refund returns one refund.
func (v *VirtualAccounts) Refund(ctx context.Context, id string) (VARefund, error) {
	return getRefund(ctx, v.db.read, id)
}

// RefundsOf lists a credit's refunds, oldest first.
func (v *VirtualAccounts) RefundsOf(ctx context.Context, creditID int64) ([]VARefund, error) {
	return queryAll(ctx, v.db.read, "credit refunds", scanRefund,
		`SELECT `+refundColumns+refundFrom+` WHERE r.credit_id = ? ORDER BY r.created_at`, creditID)
}

// RefundsOfAccount lists the refunds of an account's credits, newest first
// (at most 100).
func (v *VirtualAccounts) RefundsOfAccount(ctx context.Context, number string) ([]VARefund, error) {
	return queryAll(ctx, v.db.read, "account refunds", scanRefund, `SELECT `+refundColumns+` FROM (SELECT id FROM va_credits
		WHERE account = ? ORDER BY credited_at DESC LIMIT 1000) k CROSS JOIN va_refunds r ON r.credit_id = k.id
		JOIN users u ON u.id = r.maker_id ORDER BY r.created_at DESC LIMIT 100`, number)
}

// RefundTimeline returns a refund's events, oldest first.
func (v *VirtualAccounts) RefundTimeline(ctx context.Context, id string) ([]Event, error) {
	return vaTimeline.list(ctx, v.db.read, refundSubject(id))
}

// RefundInput is a maker's refund as typed.
type RefundInput struct {
	Amount string // rupees, exact; empty: all that is left
	Reason string
}

// maxRefundReason is the bank's limit on the reason.
const maxRefundReason = 100

// ProposeRefund stores a refund of credit creditID and its approval request
// in one transaction, as maker. An amount above what is left of the credit
// (after refunds waiting, approved or done) is refused beside the field.
func (v *VirtualAccounts) ProposeRefund(ctx context.Context, maker User, creditID int64, in RefundInput) (VARefund, ApprovalRequest, error) {
	r, req, err := v.proposeRefundTx(ctx, maker, creditID, in)
	return r, req, v.approvals.recordRefusal(ctx, maker.Actor(), err)
}

func (v *VirtualAccounts) proposeRefundTx(ctx context.Context, maker User, creditID int64, in RefundInput) (VARefund, ApprovalRequest, error) {
	if v.queueErr != nil {
		return VARefund{}, ApprovalRequest{}, fmt.Errorf("db: virtual-account queue unavailable: %w", v.queueErr)
	}
	f := fieldErrors{}
	in.Reason = strings.Join(strings.Fields(in.Reason), " ")
	if n := utf8.RuneCountInString(in.Reason); n == 0 || n > maxRefundReason {
		f.add("reason", "Say why (up to 100 characters); the bank sends it with the refund.")
	}
	var amount int64
	if text := strings.TrimSpace(in.Amount); text != "" {
		p, err := providers.ParseAmount(text)
		switch {
		case errors.Is(err, providers.ErrAmountPrecision):
			f.add("amount", "At most two decimals (paise).")
		case err != nil || p <= 0:
			f.add("amount", "Enter a positive amount in rupees, like 1500 or 1,500.50.")
		}
		amount = p
	}
	tx, err := v.db.beginWrite(ctx)
	if err != nil {
		return VARefund{}, ApprovalRequest{}, err
	}
	defer tx.Rollback()
	k, err := getCredit(ctx, tx, creditID)
	if err != nil {
		return VARefund{}, ApprovalRequest{}, err
	}
	left := k.RefundablePaise()
	if strings.TrimSpace(in.Amount) == "" {
		amount = left
	}
	if _, bad := f["amount"]; !bad && amount > left {
		msg := fmt.Sprintf("At most %s can be refunded: %s of this %s credit is refunded or waiting for approval.",
			rupees(max(left, 0)), rupees(k.RefundedPaise), rupees(k.AmountPaise))
		if left <= 0 {
			msg = fmt.Sprintf("Nothing is left to refund: all %s of this credit is refunded or waiting for approval.", rupees(k.AmountPaise))
		}
		f.add("amount", msg)
	}
	if err := f.err(); err != nil {
		return VARefund{}, ApprovalRequest{}, err
	}
	// The reservation: the CHECK on refunded_paise is the floor under the
	// condition.
	res, err := tx.ExecContext(ctx, `UPDATE va_credits SET refunded_paise = refunded_paise + ? WHERE id = ? AND refunded_paise + ? <= amount_paise`,
		amount, creditID, amount)
	if err != nil {
		return VARefund{}, ApprovalRequest{}, fmt.Errorf("db: reserve refund: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return VARefund{}, ApprovalRequest{}, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"amount": "Another refund of this credit was proposed meanwhile; less is left now. Reload and try again."}}
	}
	id := "VR" + randomBase32(12)
	who := k.RemitterName
	if who == "" {
		who = k.VANumber
	}
	part := "Refund"
	if amount < k.AmountPaise {
		part = "Partial refund"
	}
	req, err := v.approvals.propose(ctx, tx, maker, Proposal{Kind: VARefundKind, TargetID: id, AmountPaise: &amount,
		Summary: clipRunes(fmt.Sprintf("%s of %s to %s (credit %s of %s)", part, rupees(amount), who, k.TxnRef, rupees(k.AmountPaise)), maxSummaryLen),
		Payload: map[string]any{"refund_id": id, "credit_txn_ref": k.TxnRef, "credit_amount_paise": k.AmountPaise, "utr": k.UTR,
			"paid_to": k.VANumber, "remitter": k.RemitterName, "remitter_account": k.RemitterAccount, "remitter_ifsc": k.RemitterIFSC,
			"amount_paise": amount, "reason": in.Reason, "already_refunded_or_waiting_paise": k.RefundedPaise}})
	if err != nil {
		return VARefund{}, ApprovalRequest{}, err
	}
	now := v.db.nowMS()
	if _, err := tx.ExecContext(ctx, `INSERT INTO va_refunds (id, credit_id, amount_paise, reason, state, maker_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'pending_approval', ?, ?, ?)`, id, creditID, amount, in.Reason, req.MakerID, now, now); err != nil {
		return VARefund{}, ApprovalRequest{}, fmt.Errorf("db: insert refund: %w", err)
	}
	msg := fmt.Sprintf("refund %s of %s proposed (request #%d): %s", id, rupees(amount), req.ID, in.Reason)
	for _, subj := range []string{refundSubject(id), creditSubject(creditID)} {
		if err := vaTimeline.add(ctx, tx, now, subj, "refund_proposed", string(RefundPending), "", msg, "", req.Maker); err != nil {
			return VARefund{}, ApprovalRequest{}, err
		}
	}
	if err := v.db.audit(ctx, tx, Actor{ID: req.MakerID, Username: req.Maker}, "va.refund_proposed", "va_refund", id, map[string]any{
		"credit_id": creditID, "txn_ref": k.TxnRef, "amount_paise": amount, "reason": in.Reason, "request_id": req.ID}); err != nil {
		return VARefund{}, ApprovalRequest{}, err
	}
	r, err := getRefund(ctx, tx, id)
	if err != nil {
		return VARefund{}, ApprovalRequest{}, err
	}
	return r, req, tx.Commit()
}

// onRefundApproved checks, in the approving transaction, that the refunds
// approved or sent and this one fit in the credit, and queues the send.
func (v *VirtualAccounts) onRefundApproved(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
	ref, err := getRefund(ctx, tx, r.TargetID)
	if err != nil {
		return err
	}
	k, err := getCredit(ctx, tx, ref.CreditID)
	if err != nil {
		return err
	}
	var taken int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(amount_paise), 0) FROM va_refunds
		WHERE credit_id = ? AND id <> ? AND state IN ('approved', 'unknown', 'processing', 'processed')`, ref.CreditID, ref.ID).Scan(&taken); err != nil {
		return fmt.Errorf("db: refunds of credit: %w", err)
	}
	if taken+ref.AmountPaise > k.AmountPaise {
		return Errorf(ECONFLICT, "Approving this would refund more than the credit: %s of its %s is already approved or refunded.",
			rupees(taken), rupees(k.AmountPaise))
	}
	if ref.State != RefundPending {
		return Errorf(ECONFLICT, "This refund is already %s.", ref.State)
	}
	if err := v.moveRefund(ctx, tx, ref, RefundApproved, "approved", "", "approved; sent to the bank next", "", "", r.DecidedBy.Username); err != nil {
		return err
	}
	return insertJob(ctx, tx, v.queue, VARefundArgs{RefundID: ref.ID})
}

func (v *VirtualAccounts) onRefundEnded(state RefundState, how string) ApprovalHook {
	return func(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
		ref, err := getRefund(ctx, tx, r.TargetID)
		if err != nil {
			return err
		}
		return v.moveRefund(ctx, tx, ref, state, how, "", "request "+how, "", "", r.DecidedBy.Username)
	}
}

// moveRefund changes a refund's state inside tx with its timeline entries
// and audit; leaving the states that take the credit's money gives it back.
func (v *VirtualAccounts) moveRefund(ctx context.Context, tx *sql.Tx, ref VARefund, state RefundState, kind, code, msg, utr, refundRef, actor string) error {
	now := v.db.nowMS()
	if _, err := tx.ExecContext(ctx, `UPDATE va_refunds SET state = ?, provider_code = CASE WHEN ? = '' THEN provider_code ELSE ? END,
		message = ?, utr = CASE WHEN ? = '' THEN utr ELSE ? END, refund_ref = CASE WHEN ? = '' THEN refund_ref ELSE ? END, updated_at = ?
		WHERE id = ?`, string(state), code, code, msg, utr, utr, refundRef, refundRef, now, ref.ID); err != nil {
		return fmt.Errorf("db: refund %s: %w", kind, err)
	}
	if ref.State.takes() && !state.takes() {
		if _, err := tx.ExecContext(ctx, `UPDATE va_credits SET refunded_paise = refunded_paise - ? WHERE id = ?`, ref.AmountPaise, ref.CreditID); err != nil {
			return fmt.Errorf("db: release refund: %w", err)
		}
	}
	if actor == "" {
		actor = SystemActor.Username
	}
	for _, subj := range []string{refundSubject(ref.ID), creditSubject(ref.CreditID)} {
		m := msg
		if subj != refundSubject(ref.ID) {
			m = "refund " + ref.ID + ": " + msg
		}
		if err := vaTimeline.add(ctx, tx, now, subj, kind, string(state), code, m, utr, actor); err != nil {
			return err
		}
	}
	details := map[string]any{"message": msg, "credit_id": ref.CreditID}
	if state != ref.State {
		details["state"] = Change{Before: ref.State, After: state}
	}
	if refundRef != "" {
		details["refund_ref"] = refundRef
	}
	return v.db.audit(ctx, tx, SystemActor, "va.refund_"+kind, "va_refund", ref.ID, details)
}

// refundChange applies a move in a transaction of its own, unless allow
// says no for the refund as it is now.
func (v *VirtualAccounts) refundChange(ctx context.Context, id string, allow func(VARefund) bool, set func(ctx context.Context, tx *sql.Tx, cur VARefund) error) (bool, error) {
	tx, err := v.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	cur, err := getRefund(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if allow != nil && !allow(cur) {
		return false, nil
	}
	if err := set(ctx, tx, cur); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// VARefundArgs is the job that sends one approved refund and follows it.
type VARefundArgs struct {
	RefundID string `json:"refund_id"`
}

// Kind is River's name for the job.
func (VARefundArgs) Kind() string { return "va_refund" }

// InsertOpts keeps one job per refund while one waits or runs.
func (VARefundArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: VAQueue, MaxAttempts: 1000, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: liveJobStates}}
}

type vaRefundWorker struct {
	river.WorkerDefaults[VARefundArgs]
	v *VirtualAccounts
}

// Work takes the refund forward; errors are retried after RetryAfter and
// never lead to a second send without asking first (refundStep).
func (w *vaRefundWorker) Work(ctx context.Context, job *river.Job[VARefundArgs]) error {
	err := w.v.refundStep(ctx, job.Args.RefundID)
	var snooze *river.JobSnoozeError
	if err != nil && !errors.As(err, &snooze) && ctx.Err() == nil {
		w.v.opts.Logger.Warn("refund step failed; retrying", "refund", job.Args.RefundID, "err", err)
		return river.JobSnooze(w.v.opts.RetryAfter)
	}
	return err
}

// Timeout bounds one run well below StuckAfter.
func (w *vaRefundWorker) Timeout(*river.Job[VARefundArgs]) time.Duration {
	return w.v.opts.StuckAfter / 2
}

const maxRefundSteps = 6

// refundStep drives refund id: send it once; after that, every step asks
// the bank first (by our id), and sends again only when the bank does not
// know it well after it was sent.
func (v *VirtualAccounts) refundStep(ctx context.Context, id string) error {
	if v.prov == nil {
		return river.JobSnooze(v.opts.RetryAfter)
	}
	for range maxRefundSteps {
		r, err := getRefund(ctx, v.db.read, id)
		if err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil
			}
			return err
		}
		if r.State.Final() || r.State == RefundPending {
			return nil
		}
		if r.SentAt.IsZero() {
			if err := v.sendRefund(ctx, r); err != nil {
				return err
			}
			continue
		}
		ask := r.ID
		if r.RefundRef != "" {
			ask = r.RefundRef
		}
		st, err := v.prov.RefundStatus(ctx, ask)
		if err == nil && st.ID != "" && st.ID != r.ID {
			// The bank answered about another refund (found by the credit's
			// reference): for this one it knows nothing.
			err = fmt.Errorf("%w: refund %s", providers.ErrNotFound, r.ID)
		}
		switch {
		case errors.Is(err, providers.ErrNotFound):
			if wait := v.opts.NotFoundGrace - v.db.Now().Sub(r.SentAt); wait > 0 {
				return river.JobSnooze(wait)
			}
			if err := v.sendRefund(ctx, r); err != nil {
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("status of refund %s: %w", id, err)
		}
		r, err = v.observeRefund(ctx, r, st)
		if err != nil {
			return err
		}
		if r.State.Final() {
			return nil
		}
		return river.JobSnooze(v.opts.InquiryEvery)
	}
	return river.JobSnooze(v.opts.InquiryEvery)
}

// sendRefund records the intent (sent_at, attempts) and then asks the bank.
func (v *VirtualAccounts) sendRefund(ctx context.Context, r VARefund) error {
	k, err := getCredit(ctx, v.db.read, r.CreditID)
	if err != nil {
		return err
	}
	kind := "sent"
	if !r.SentAt.IsZero() {
		kind = "resent"
	}
	ok, err := v.refundChange(ctx, r.ID, func(cur VARefund) bool {
		return cur.SentAt.Equal(r.SentAt) && cur.Attempts == r.Attempts && !cur.State.Final()
	}, func(ctx context.Context, tx *sql.Tx, cur VARefund) error {
		if _, err := tx.ExecContext(ctx, `UPDATE va_refunds SET sent_at = ?, attempts = attempts + 1 WHERE id = ?`, v.db.nowMS(), r.ID); err != nil {
			return fmt.Errorf("db: refund intent: %w", err)
		}
		return v.moveRefund(ctx, tx, cur, cur.State, kind, "", fmt.Sprintf("sending to the bank (attempt %d)", cur.Attempts+1), "", "", "")
	})
	if err != nil || !ok {
		return err
	}
	st, err := v.prov.RefundCredit(ctx, providers.Refund{ID: r.ID, TxnRef: k.TxnRef, AmountPaise: r.AmountPaise, Reason: r.Reason})
	switch {
	case err == nil:
		_, err = v.observeRefund(ctx, r, st)
		return err
	case errors.Is(err, providers.ErrDuplicate):
		return nil // the bank holds it already: the next step asks
	case errors.Is(err, providers.ErrRejected):
		why := "the bank refused it: " + err.Error()
		_, err = v.refundChange(ctx, r.ID, func(cur VARefund) bool { return !cur.State.Final() }, func(ctx context.Context, tx *sql.Tx, cur VARefund) error {
			return v.moveRefund(ctx, tx, cur, RefundFailed, "refused", st.ProviderCode, why, "", "", "")
		})
		return err
	case errors.Is(err, providers.ErrTransient):
		return fmt.Errorf("send refund %s: %w", r.ID, err)
	default:
		// It may have gone through: unknown, and the next step asks.
		_, cerr := v.refundChange(context.WithoutCancel(ctx), r.ID, func(cur VARefund) bool { return !cur.State.Final() },
			func(ctx context.Context, tx *sql.Tx, cur VARefund) error {
				return v.moveRefund(ctx, tx, cur, RefundUnknown, "unknown", "", "answer lost; the bank is asked before anything else: "+err.Error(), "", "", "")
			})
		if cerr != nil {
			return cerr
		}
		return fmt.Errorf("send refund %s: %w", r.ID, err)
	}
}

// refundStateOf maps the bank's answer onto a refund state.
func refundStateOf(s providers.PayoutState) (RefundState, bool) {
	switch s {
	case providers.StateProcessing, providers.StateQueued, providers.StateApproved:
		return RefundProcessing, true
	case providers.StateProcessed:
		return RefundProcessed, true
	case providers.StateFailed, providers.StateRejected, providers.StateCancelled:
		return RefundFailed, true
	case providers.StateReversed:
		return RefundReversed, true
	}
	return "", false
}

// observeRefund records what the bank says, when it says something new.
func (v *VirtualAccounts) observeRefund(ctx context.Context, r VARefund, st providers.RefundStatus) (VARefund, error) {
	state, ok := refundStateOf(st.State)
	if !ok {
		return r, nil
	}
	if state == r.State && st.ProviderCode == r.ProviderCode && (st.UTR == "" || st.UTR == r.UTR) && (st.RefundRef == "" || st.RefundRef == r.RefundRef) {
		return r, nil
	}
	msg := strings.TrimSpace(st.ProviderCode + " " + st.Message)
	if msg == "" {
		msg = "the bank says " + string(state)
	}
	_, err := v.refundChange(ctx, r.ID, func(cur VARefund) bool {
		return !cur.State.Final() || (cur.State == RefundProcessed && state == RefundReversed)
	},
		func(ctx context.Context, tx *sql.Tx, cur VARefund) error {
			return v.moveRefund(ctx, tx, cur, state, "bank_status", st.ProviderCode, msg, st.UTR, st.RefundRef, "")
		})
	if err != nil {
		return r, err
	}
	return getRefund(ctx, v.db.read, r.ID)
}

// RefundLabel names a refund state for people.
func RefundLabel(s RefundState) string {
	switch s {
	case RefundPending:
		return "waiting for approval"
	case RefundApproved:
		return "approved, sending"
	case RefundUnknown:
		return "answer lost, asking the bank"
	}
	return string(s)
}
