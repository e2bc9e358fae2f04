package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"paydesk/providers"
)

type linkWorker struct {
	river.WorkerDefaults[LinkJobArgs]
	l *Links
}

// Work takes the link forward. Errors are noted on the link and the job
// waits RetryAfter; no call is ever repeated that could do twice what the
// customer sees (see step).
func (w *linkWorker) Work(ctx context.Context, job *river.Job[LinkJobArgs]) error {
	err := w.l.step(ctx, job.Args.LinkID, job.Args.Seq)
	var snooze *river.JobSnoozeError
	if err != nil && !errors.As(err, &snooze) && ctx.Err() == nil {
		w.l.noteError(context.WithoutCancel(ctx), job.Args.LinkID, err)
		return river.JobSnooze(w.l.opts.RetryAfter)
	}
	return err
}

// NextRetry spaces River's own retries (a panic, a snooze limit) as a step's.
func (w *linkWorker) NextRetry(*river.Job[LinkJobArgs]) time.Time {
	return time.Now().Add(w.l.opts.RetryAfter)
}

// Timeout bounds one run well below StuckAfter.
func (w *linkWorker) Timeout(*river.Job[LinkJobArgs]) time.Duration { return w.l.opts.StuckAfter / 2 }

func (l *Links) step(ctx context.Context, id string, seq int) error {
	if l.prov == nil {
		return river.JobSnooze(l.opts.RetryAfter) // waits until the provider is configured
	}
	k, err := getLink(ctx, l.db.read, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if seq == 0 {
		return l.create(ctx, k)
	}
	if k.ActionSeq != seq || k.Action == "" {
		return nil // done, or superseded
	}
	switch k.Action {
	case "resend":
		return l.resend(ctx, k)
	case "cancel":
		return l.cancel(ctx, k)
	}
	return nil
}

// linkChange is one recorded step of a link: the SET clause and its
// arguments, and the timeline event.
type linkChange struct {
	set   string
	args  []any
	kind  string
	state LinkState // the state after; "" keeps it
	code  string
	msg   string
	utr   string
	audit bool // also an audit entry (state changes, the provider's answers)
}

// change applies ch to link id in one transaction with its timeline event
// (and audit entry), unless allow says no for the link as it is now, read
// under the write lock.
func (l *Links) change(ctx context.Context, id string, allow func(PaymentLink) bool, ch linkChange) (bool, error) {
	tx, err := l.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	cur, err := getLink(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if allow != nil && !allow(cur) {
		return false, nil
	}
	ok, err := l.changeIn(ctx, tx, cur, ch)
	if err != nil || !ok {
		return ok, err
	}
	return true, tx.Commit()
}

func (l *Links) changeIn(ctx context.Context, tx *sql.Tx, cur PaymentLink, ch linkChange) (bool, error) {
	now := l.db.nowMS()
	state := ch.state
	if state == "" {
		state = cur.State
	}
	set := ch.set
	if set != "" {
		set += ", "
	}
	args := append(append([]any{}, ch.args...), string(state), now, cur.ID)
	if _, err := tx.ExecContext(ctx, `UPDATE payment_links SET `+set+`state = ?, updated_at = ? WHERE id = ?`, args...); err != nil {
		return false, fmt.Errorf("db: link %s %s: %w", cur.ID, ch.kind, err)
	}
	if err := linkTimeline.add(ctx, tx, now, cur.ID, ch.kind, string(state), ch.code, ch.msg, ch.utr, SystemActor.Username); err != nil {
		return false, err
	}
	if ch.audit || state != cur.State {
		details := map[string]any{"message": ch.msg, "invoice_no": cur.InvoiceNo}
		if ch.code != "" {
			details["provider_code"] = ch.code
		}
		if state != cur.State {
			details["state"] = Change{Before: cur.State, After: state}
		}
		if err := l.db.audit(ctx, tx, SystemActor, "link."+ch.kind, "payment_link", cur.ID, details); err != nil {
			return false, err
		}
	}
	return true, nil
}

// create asks the provider for the invoice. The first call and every
// later one are the same request with the same merchantTxnId: the provider
// makes the invoice once and answers a repeat with the invoice it made, so
// a lost answer is recovered by asking again.
func (l *Links) create(ctx context.Context, k PaymentLink) error {
	if k.State != LinkCreating {
		return nil
	}
	ok, err := l.change(ctx, k.ID, func(cur PaymentLink) bool { return cur.State == LinkCreating && cur.Attempts == k.Attempts },
		linkChange{set: `sent_at = coalesce(sent_at, ?), attempts = attempts + 1`, args: []any{l.db.nowMS()},
			kind: "sending", msg: fmt.Sprintf("asking NTT DATA for the invoice (attempt %d)", k.Attempts+1)})
	if err != nil || !ok {
		return err
	}
	fields := map[string]string{}
	for _, f := range k.Fields {
		fields[f.Name] = f.Value
	}
	due, _ := time.ParseInLocation("2006-01-02", k.DueDate, IST)
	got, err := l.prov.CreateLink(ctx, providers.LinkRequest{ID: k.ID, TemplateID: k.TemplateID, AmountPaise: k.AmountPaise,
		CustomerName: k.CustomerName, CustomerEmail: k.CustomerEmail, CustomerPhone: k.CustomerMobile, SendBy: k.SendBy,
		Fields: fields, DueDate: due})
	code, words := providers.CodeOf(err)
	switch {
	case err == nil:
		how := map[string]string{providers.SendEmail: "sent by email", providers.SendSMS: "sent by SMS",
			providers.SendEmailSMS: "sent by email and SMS", providers.SendNone: "not sent: share the link yourself"}[k.SendBy]
		_, err = l.change(ctx, k.ID, func(cur PaymentLink) bool { return cur.State == LinkCreating },
			linkChange{set: `invoice_no = ?, url = ?, provider_code = ?, provider_message = ?, last_error = ''`,
				args: []any{got.InvoiceNo, got.URL, got.ProviderCode, got.Message}, kind: "sent", state: LinkSent, code: got.ProviderCode,
				msg: fmt.Sprintf("NTT DATA made invoice %s; the link was %s", got.InvoiceNo, how)})
		return err
	case errors.Is(err, providers.ErrDuplicate), errors.Is(err, providers.ErrRejected):
		// Refused for good: a duplicate here means the provider holds this
		// id for another amount, which nothing can mend.
		_, err = l.change(ctx, k.ID, func(cur PaymentLink) bool { return cur.State == LinkCreating },
			linkChange{set: `provider_code = ?, provider_message = ?, final_at = ?, last_error = ''`, args: []any{code, words, l.db.nowMS()},
				kind: "failed", state: LinkFailed, code: code, msg: "NTT DATA refused to create it: " + refusalWords(code, words)})
		return err
	default:
		// Unknown outcome, busy, refused credentials, a cancelled call: the
		// next run asks again with the same merchantTxnId.
		return fmt.Errorf("create link %s: %w", k.ID, err)
	}
}

// refusalWords is a provider refusal as a person reads it: its words, then
// its code.
func refusalWords(code, words string) string {
	switch {
	case code == "":
		return words
	case words == "":
		return code
	}
	return words + " (" + code + ")"
}

// claim marks k's action as being sent now; false when another run got there
// first.
func (l *Links) claim(ctx context.Context, k PaymentLink) (bool, error) {
	res, err := l.db.write.ExecContext(ctx, `UPDATE payment_links SET action_sent_at = ?, updated_at = ?
		WHERE id = ? AND action = ? AND action_seq = ? AND action_sent_at IS NULL`, l.db.nowMS(), l.db.nowMS(), k.ID, k.Action, k.ActionSeq)
	if err != nil {
		return false, fmt.Errorf("db: claim link %s: %w", k.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func sameAction(k PaymentLink) func(PaymentLink) bool {
	return func(cur PaymentLink) bool { return cur.Action == k.Action && cur.ActionSeq == k.ActionSeq }
}

// resend sends the link again. Each call may mail or text the customer and
// the provider cannot be asked whether one went through, so a resend whose
// outcome is unknown (or was interrupted) is recorded as such and never
// repeated on its own: the person decides.
func (l *Links) resend(ctx context.Context, k PaymentLink) error {
	done := `action = '', action_sent_at = NULL, last_error = ''`
	if !k.ActionSentAt.IsZero() {
		_, err := l.change(ctx, k.ID, sameAction(k), linkChange{set: done, kind: "resend_unknown", audit: true,
			msg: "Paydesk was interrupted while resending: the customer may or may not have the link again. It is not resent on its own; resend again if needed."})
		return err
	}
	ok, err := l.claim(ctx, k)
	if err != nil || !ok {
		return err
	}
	err = l.prov.ResendLink(ctx, k.InvoiceNo)
	code, words := providers.CodeOf(err)
	switch {
	case err == nil:
		state := LinkResent
		if !k.State.Open() {
			state = k.State
		}
		_, err = l.change(ctx, k.ID, sameAction(k), linkChange{set: done + `, resends = resends + 1`, kind: "resent", state: state,
			audit: true, msg: "NTT DATA sent the link to the customer again"})
		return err
	case errors.Is(err, providers.ErrTransient):
		// Refused before anything was sent: safe to try again.
		if _, cerr := l.db.write.ExecContext(context.WithoutCancel(ctx), `UPDATE payment_links SET action_sent_at = NULL WHERE id = ?
			AND action_seq = ?`, k.ID, k.ActionSeq); cerr != nil {
			return cerr
		}
		return fmt.Errorf("resend link %s: %w", k.ID, err)
	case code == "OTS1015":
		_, err = l.change(ctx, k.ID, sameAction(k), linkChange{set: done + `, final_at = coalesce(final_at, ?)`, args: []any{l.db.nowMS()},
			kind: "resend_refused", state: LinkCancelled, code: code, audit: true,
			msg: "NTT DATA refused to resend it: the invoice is cancelled, and a cancelled invoice cannot be resent (" + refusalWords(code, words) + ")"})
		return err
	case errors.Is(err, providers.ErrRejected), errors.Is(err, providers.ErrNotFound), errors.Is(err, providers.ErrAuth):
		_, err = l.change(ctx, k.ID, sameAction(k), linkChange{set: done, kind: "resend_refused", code: code, audit: true,
			msg: "NTT DATA refused to resend it: " + refusalWords(code, words)})
		return err
	default:
		_, cerr := l.change(context.WithoutCancel(ctx), k.ID, sameAction(k), linkChange{set: done, kind: "resend_unknown", code: code, audit: true,
			msg: "NTT DATA's answer was lost (" + err.Error() + "): the customer may or may not have the link again. It is not resent on its own; resend again if needed."})
		if cerr != nil {
			return cerr
		}
		return nil
	}
}

// cancel disables the link at the provider. Cancelling is safe to repeat
// (the adapter takes "already cancelled" as done), so a lost answer is
// followed by the same call.
func (l *Links) cancel(ctx context.Context, k PaymentLink) error {
	if k.ActionSentAt.IsZero() {
		if _, err := l.claim(ctx, k); err != nil {
			return err
		}
	}
	err := l.prov.CancelLink(ctx, k.InvoiceNo)
	code, words := providers.CodeOf(err)
	done := `action = '', action_sent_at = NULL, last_error = ''`
	switch {
	case err == nil:
		_, err = l.change(ctx, k.ID, sameAction(k), linkChange{set: done + `, final_at = coalesce(final_at, ?)`, args: []any{l.db.nowMS()},
			kind: "cancelled", state: LinkCancelled, audit: true, msg: "NTT DATA cancelled the invoice: its link no longer takes payment"})
		return err
	case errors.Is(err, providers.ErrRejected), errors.Is(err, providers.ErrNotFound):
		_, err = l.change(ctx, k.ID, sameAction(k), linkChange{set: done, kind: "cancel_refused", code: code, audit: true,
			msg: "NTT DATA did not cancel it: " + refusalWords(code, words)})
		return err
	default:
		return fmt.Errorf("cancel link %s: %w", k.ID, err)
	}
}

func (l *Links) noteError(ctx context.Context, id string, err error) {
	if _, werr := l.db.write.ExecContext(ctx, `UPDATE payment_links SET last_error = ? WHERE id = ?`, err.Error(), id); werr != nil {
		l.opts.Logger.Warn("link note error", "link", id, "err", werr)
	}
}

// ---- knowing it was paid ----

// NotifyResult is what one notification did.
type NotifyResult struct {
	LinkID    string
	Duplicate bool // seen before: nothing changed
	Changed   bool
}

// Notify takes the provider's notification that a link was paid or expired
// (body as received, from the sender's address). The signature is verified
// by the provider's adapter (the response hash key, constant-time); a
// forged, tampered, malformed or replayed notification is refused with
// EUNAUTHORIZED or EINVALID and audited; the same notification twice
// changes nothing.
func (l *Links) Notify(ctx context.Context, body []byte, from string) (NotifyResult, error) {
	if l.prov == nil {
		return NotifyResult{}, Errorf(ENOTFOUND, "Payment links are not configured.")
	}
	sum := sha256.Sum256(body)
	refused := func(code, reason string, ev providers.LinkEvent) (NotifyResult, error) {
		details := map[string]any{"reason": reason, "from": from, "body_sha256": hex.EncodeToString(sum[:])}
		if ev.NotificationID != "" {
			details["notification_id"], details["invoice_no"], details["status"] = ev.NotificationID, ev.InvoiceNo, ev.Status
		}
		target := ev.LinkID
		if err := l.auditAlone(context.WithoutCancel(ctx), "link.notification_refused", "payment_link", target, details); err != nil {
			return NotifyResult{}, err
		}
		return NotifyResult{LinkID: ev.LinkID}, Errorf(code, "Notification refused: %s.", reason)
	}
	ev, err := l.prov.ParseNotification(body)
	switch {
	case errors.Is(err, providers.ErrAuth):
		return refused(EUNAUTHORIZED, "its signature does not verify with the response hash key", providers.LinkEvent{})
	case err != nil:
		return refused(EINVALID, "it is not a notification Paydesk can read ("+err.Error()+")", providers.LinkEvent{})
	}
	now := l.db.Now()
	if age := now.Sub(ev.SentAt); age > l.opts.ReplayWindow || age < -2*time.Minute {
		return refused(EUNAUTHORIZED, fmt.Sprintf("it was signed at %s, outside the %s a delivery is accepted for: a replay",
			ev.SentAt.In(IST).Format(time.RFC3339), l.opts.ReplayWindow), ev)
	}
	tx, err := l.db.beginWrite(ctx)
	if err != nil {
		return NotifyResult{}, err
	}
	defer tx.Rollback()
	var seenLink, seenStatus, seenRef string
	var seenAmount int64
	err = tx.QueryRowContext(ctx, `SELECT link_id, status, amount_paise, bank_ref FROM link_notifications WHERE id = ?`, ev.NotificationID).
		Scan(&seenLink, &seenStatus, &seenAmount, &seenRef)
	switch {
	case err == nil:
		if seenLink != ev.LinkID || seenStatus != ev.Status || seenAmount != ev.AmountPaise || seenRef != ev.BankRef {
			tx.Rollback()
			return refused(EUNAUTHORIZED, "its id was used before for different content", ev)
		}
		return NotifyResult{LinkID: ev.LinkID, Duplicate: true}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return NotifyResult{}, fmt.Errorf("db: link notification: %w", err)
	}
	k, err := getLink(ctx, tx, ev.LinkID)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		tx.Rollback()
		return refused(EINVALID, "it names a link Paydesk does not have", ev)
	case err != nil:
		return NotifyResult{}, err
	case k.InvoiceNo != "" && k.InvoiceNo != ev.InvoiceNo:
		tx.Rollback()
		return refused(EINVALID, "its invoice number is not this link's ("+k.InvoiceNo+")", ev)
	case k.AmountPaise != ev.AmountPaise:
		tx.Rollback()
		return refused(EINVALID, fmt.Sprintf("its amount %s is not this link's %s", rupees(ev.AmountPaise), rupees(k.AmountPaise)), ev)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO link_notifications (id, link_id, status, amount_paise, bank_ref, event_at, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, ev.NotificationID, k.ID, ev.Status, ev.AmountPaise, ev.BankRef, ev.At.UnixMilli(), now.UnixMilli()); err != nil {
		return NotifyResult{}, fmt.Errorf("db: link notification: %w", err)
	}
	var changed bool
	switch {
	case ev.Status == providers.LinkPaid && k.State != LinkPaid:
		changed, err = l.changeIn(ctx, tx, k, linkChange{
			set:  `invoice_no = coalesce(invoice_no, ?), bank_ref = ?, paid_at = ?, final_at = ?, action = '', action_sent_at = NULL, last_error = ''`,
			args: []any{ev.InvoiceNo, ev.BankRef, ev.At.UnixMilli(), ev.At.UnixMilli()}, kind: "paid", state: LinkPaid, utr: ev.BankRef,
			msg: fmt.Sprintf("NTT DATA notified that the customer paid %s (bank reference %s, notification %s)",
				rupees(ev.AmountPaise), ev.BankRef, ev.NotificationID)})
	case ev.Status == providers.LinkExpired && (k.State.Open() || k.State == LinkCreating):
		changed, err = l.changeIn(ctx, tx, k, linkChange{
			set: `invoice_no = coalesce(invoice_no, ?), final_at = ?, action = '', action_sent_at = NULL`, args: []any{ev.InvoiceNo, ev.At.UnixMilli()},
			kind: "expired", state: LinkExpired, msg: "NTT DATA notified that the link expired unpaid (notification " + ev.NotificationID + ")"})
	default:
		err = linkTimeline.add(ctx, tx, now.UnixMilli(), k.ID, "notified", string(k.State), "",
			fmt.Sprintf("NTT DATA notified %s; the link is already %s, so nothing changed (notification %s)", ev.Status, k.State, ev.NotificationID),
			ev.BankRef, SystemActor.Username)
	}
	if err != nil {
		return NotifyResult{}, err
	}
	return NotifyResult{LinkID: k.ID, Changed: changed}, tx.Commit()
}

// auditAlone writes one audit entry in a transaction of its own.
func (l *Links) auditAlone(ctx context.Context, action, targetType, targetID string, details any) error {
	tx, err := l.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := l.db.audit(ctx, tx, SystemActor, action, targetType, targetID, details); err != nil {
		return err
	}
	return tx.Commit()
}

// ---- time passing ----

// ExpireOverdue moves links past their due date with no payment to
// expired (at most 1,000 a pass); it returns how many. The open links' own
// index is named: the state index would read every open link to sort them.
func (l *Links) ExpireOverdue(ctx context.Context) (int, error) {
	today := ISTDay(l.db.Now())
	ids, err := queryAll(ctx, l.db.read, "overdue links", scanValue[string], `SELECT id FROM payment_links INDEXED BY payment_links_open_due
		WHERE state IN ('sent', 'resent') AND due_date < ? ORDER BY due_date, id LIMIT 1000`, today)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		ok, err := l.change(ctx, id, func(cur PaymentLink) bool { return cur.State.Open() && cur.DueDate < today },
			linkChange{set: `final_at = ?, action = '', action_sent_at = NULL`, args: []any{l.db.nowMS()}, kind: "expired", state: LinkExpired,
				msg: "the due date passed without payment"})
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Sweep puts a job back for links on their way but unchanged for StuckAfter
// (lost jobs). Jobs a dead process left running are the dispatcher's to
// recover, as for every queue it runs. It returns how many it enqueued.
func (l *Links) Sweep(ctx context.Context) (int, error) {
	if l.queueErr != nil {
		return 0, l.queueErr
	}
	list, err := l.stuck(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range list {
		args := LinkJobArgs{LinkID: b.id}
		if b.state != LinkCreating {
			args.Seq = b.seq
		}
		res, err := l.queue.Insert(ctx, args, nil)
		if err != nil {
			return n, fmt.Errorf("db: enqueue link %s: %w", b.id, err)
		}
		if !res.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}

// busyLink is a link on its way at the provider.
type busyLink struct {
	id    string
	state LinkState
	seq   int
}

// stuck lists links on their way but unchanged for StuckAfter.
func (l *Links) stuck(ctx context.Context) ([]busyLink, error) {
	return queryAll(ctx, l.db.read, "links on their way", func(s scanner) (busyLink, error) {
		var b busyLink
		return b, s.Scan(&b.id, &b.state, &b.seq)
	}, `SELECT id, state, action_seq FROM payment_links WHERE (state = 'creating' OR action <> '') AND updated_at < ? LIMIT 1000`,
		l.db.nowMS()-l.opts.StuckAfter.Milliseconds())
}

// Run reads the templates (every RefreshEvery and on RefreshSoon), expires
// overdue links and sweeps, every interval, until ctx ends.
func (l *Links) Run(ctx context.Context, every time.Duration) {
	var refreshed time.Time
	RunEvery(ctx, every, l.kick, l.opts.Logger, "payment links", func(ctx context.Context, _ bool) error {
		var errs []error
		asked := false
		select {
		case <-l.refresh:
			asked = true
		default:
		}
		if l.prov != nil && (asked || time.Since(refreshed) > l.opts.RefreshEvery) {
			if err := l.RefreshTemplates(ctx); err != nil {
				errs = append(errs, err)
			} else {
				refreshed = time.Now()
			}
		}
		if _, err := l.ExpireOverdue(ctx); err != nil {
			errs = append(errs, err)
		}
		if _, err := l.Sweep(ctx); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}
