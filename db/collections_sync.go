package db

// The collections' steps: sending queued requests for payment to PayMate,
// following each until it is final (GetRequestPaymentReport), and importing
// the requests to be paid that vendors raise at PayMate. River's jobs run
// them (collections_jobs.go); SyncOnce and SendNew do a whole round at once.
//
// The rules are the dispatcher's (dispatch.go). Our request id is PayMate's
// OrderID, so PayMate refuses a second request with it. The intent to send
// is recorded (attempts, sent_at) in its own transaction before the call,
// so a crash mid-call leaves a request that is asked about, never one sent
// blind. Once a request was sent, every round begins with a status inquiry,
// and it is sent again only when PayMate still does not know it well after
// it was sent (NotFoundGrace). An answer that never came is recorded as the
// state unknown and resolved by asking. No provider is called inside a
// database transaction.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// CollectionSyncResult counts what one round did.
type CollectionSyncResult struct {
	Sent             int // requests handed to PayMate (first sends and re-sends)
	Changed          int // state changes recorded from PayMate's answers
	VendorImported   int // new vendor requests
	VendorFinished   int // vendor requests PayMate reports paid, expired or failed
	VendorCandidates int // vendor requests PayMate lists as awaiting payment
}

// maxCollectionsPerRound bounds the requests one round asks about; the
// least recently checked go first, so every request gets its turn.
const maxCollectionsPerRound = 500

// SyncOnce is one full round: every request not yet final is sent or asked
// about, then vendor requests are imported and followed.
func (c *Collections) SyncOnce(ctx context.Context) (CollectionSyncResult, error) {
	var res CollectionSyncResult
	if c.prov == nil {
		return res, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	if err := c.work(ctx, ``, &res); err != nil {
		errs = append(errs, err)
	}
	if ctx.Err() != nil {
		return res, errors.Join(append(errs, ctx.Err())...)
	}
	if err := c.syncVendorRequests(ctx, &res); err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// SendNew sends the requests never yet handed to PayMate, and nothing else.
func (c *Collections) SendNew(ctx context.Context) (CollectionSyncResult, error) {
	var res CollectionSyncResult
	if c.prov == nil {
		return res, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return res, c.work(ctx, ` AND r.state = 'queued' AND r.sent_at IS NULL`, &res)
}

// work steps every request not yet final that also matches more, least
// recently checked first.
func (c *Collections) work(ctx context.Context, more string, res *CollectionSyncResult) error {
	// more is one of the two constant conditions above, never input. The
	// open requests' own index holds them in the order they are worked.
	list, _, err := queryPage(ctx, c.db.read, "collection work list", 0, scanCollection,
		`SELECT `+collectionColumns+` FROM collection_requests r INDEXED BY collection_requests_open JOIN users u ON u.id = r.created_by
		WHERE r.state IN ('queued', 'pending', 'unknown')`+more+`
		ORDER BY coalesce(r.checked_at, 0), r.id LIMIT ?`, maxCollectionsPerRound)
	if err != nil {
		return err
	}
	var errs []error
	for _, cr := range list {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if err := c.step(ctx, cr, res); err != nil {
			errs = append(errs, fmt.Errorf("collection request %s: %w", cr.ID, err))
		}
	}
	return errors.Join(errs...)
}

// step takes one request a step forward: send it if it was never sent,
// otherwise ask PayMate first.
func (c *Collections) step(ctx context.Context, cr CollectionRequest, res *CollectionSyncResult) error {
	if cr.SentAt.IsZero() {
		return c.send(ctx, cr, "sent", res)
	}
	st, err := c.prov.CollectionStatus(ctx, cr.ID)
	switch {
	case errors.Is(err, providers.ErrNotFound):
		if c.db.Now().Sub(cr.SentAt) < c.grace() {
			// PayMate may not list a request it has just accepted.
			return c.note(ctx, cr, "")
		}
		// PayMate still does not know it well after it was sent: it never
		// got it, and sending again is safe (the OrderID is the same, so a
		// request that did arrive meanwhile is refused as a duplicate).
		return c.send(ctx, cr, "resent", res)
	case err != nil:
		return c.noteErr(ctx, cr, fmt.Errorf("status inquiry: %w", err))
	}
	return c.observe(ctx, cr, st, res)
}

// send hands cr to PayMate. The intent is recorded first, in its own
// transaction; what PayMate answered is recorded even when ctx ended
// meanwhile (the call may have gone through).
func (c *Collections) send(ctx context.Context, cr CollectionRequest, kind string, res *CollectionSyncResult) error {
	cr, ok, err := c.record(ctx, cr.ID, collectionChange{kind: kind, state: CollectionQueued, send: true,
		message: fmt.Sprintf("sending to PayMate (attempt %d)", cr.Attempts+1)}, func(cur CollectionRequest) bool {
		return cur.SentAt.Equal(cr.SentAt) && cur.Attempts == cr.Attempts // nobody sent it meanwhile
	})
	if err != nil || !ok {
		return err
	}
	res.Sent++
	st, err := c.prov.RequestPayment(ctx, providers.CollectionRequest{ID: cr.ID, ContactRef: cr.ContactRef, Name: cr.PayerName,
		Email: cr.PayerEmail, Mobile: cr.PayerMobile, AmountPaise: cr.AmountPaise, Purpose: cr.Purpose})
	rctx := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		if st.State == "" {
			st.State = providers.CollectionPending
		}
		return c.observe(rctx, cr, st, res)
	case errors.Is(err, providers.ErrDuplicate):
		// PayMate holds a request with our OrderID already (an earlier
		// attempt did arrive): what it says about it is the truth.
		if ctx.Err() != nil {
			return c.noteErr(rctx, cr, err)
		}
		got, serr := c.prov.CollectionStatus(ctx, cr.ID)
		if serr != nil {
			return c.noteErr(rctx, cr, fmt.Errorf("%w; status inquiry: %w", err, serr))
		}
		return c.observe(rctx, cr, got, res)
	case errors.Is(err, providers.ErrRejected):
		_, changed, rerr := c.record(rctx, cr.ID, collectionChange{kind: "failed", state: CollectionFailed,
			code: st.ProviderCode, message: "refused by PayMate: " + err.Error()}, nil)
		if changed {
			res.Changed++
		}
		return rerr
	case errors.Is(err, providers.ErrTransient), errors.Is(err, providers.ErrAuth):
		// Refused before it executed. It stays queued; the next round asks
		// first anyway, and sends again once PayMate says it does not have it.
		return c.noteErr(rctx, cr, fmt.Errorf("send: %w", err))
	default:
		// ErrOutcomeUnknown, a cancelled call, anything unexpected: it may
		// have gone through. Recorded as unknown; the next round asks.
		_, changed, rerr := c.record(rctx, cr.ID, collectionChange{kind: "unknown", state: CollectionUnknown,
			code: st.ProviderCode, message: "PayMate's answer was lost: " + err.Error() + "; PayMate is asked before anything else"}, nil)
		if changed {
			res.Changed++
		}
		return rerr
	}
}

// collectionStateOf maps what PayMate says onto Paydesk's states.
func collectionStateOf(s providers.CollectionState) (CollectionState, bool) {
	switch s {
	case providers.CollectionPending:
		return CollectionPending, true
	case providers.CollectionPaid:
		return CollectionPaid, true
	case providers.CollectionExpired:
		return CollectionExpired, true
	case providers.CollectionCancelled:
		return CollectionCancelled, true
	case providers.CollectionFailed:
		return CollectionFailed, true
	}
	return "", false
}

// observe records what PayMate says about cr when it says something new,
// and otherwise only that it was asked.
func (c *Collections) observe(ctx context.Context, cr CollectionRequest, st providers.CollectionStatus, res *CollectionSyncResult) error {
	state, ok := collectionStateOf(st.State)
	if !ok {
		return c.note(ctx, cr, fmt.Sprintf("PayMate reported an unknown state %q (%s %s)", st.State, st.ProviderCode, st.Message))
	}
	if state == cr.State && st.ProviderCode == cr.ProviderCode && (st.UTR == "" || st.UTR == cr.UTR) &&
		(st.ProviderRef == "" || st.ProviderRef == cr.ProviderRef) {
		return c.note(ctx, cr, "")
	}
	kind := string(state)
	switch {
	case state == CollectionPending && cr.State != CollectionPending:
		kind = "accepted"
	case state == cr.State:
		kind = "provider_status"
	}
	ch := collectionChange{kind: kind, state: state, code: st.ProviderCode, message: st.Message, utr: st.UTR, ref: st.ProviderRef}
	if state == CollectionPaid {
		ch.paidAt = st.PaidAt
		if ch.paidAt.IsZero() {
			ch.paidAt = c.db.Now()
		}
	}
	_, changed, err := c.record(ctx, cr.ID, ch, nil)
	if changed {
		res.Changed++
	}
	return err
}

// collectionChange is one step the loop records on a request.
type collectionChange struct {
	kind    string          // the event kind; the audit action is "collection.<kind>"
	state   CollectionState // "" keeps the state
	code    string
	message string
	utr     string
	ref     string
	paidAt  time.Time
	send    bool // being handed to PayMate: attempts+1, sent_at now
}

// record applies ch to request id in one transaction with its event and
// audit entry, unless allow says no for the request as it is now (read
// under the write lock). A final request never moves. changed reports
// whether ch was applied.
func (c *Collections) record(ctx context.Context, id string, ch collectionChange, allow func(CollectionRequest) bool) (CollectionRequest, bool, error) {
	tx, err := c.db.beginWrite(ctx)
	if err != nil {
		return CollectionRequest{}, false, err
	}
	defer tx.Rollback()
	cur, err := getCollection(ctx, tx, id)
	if err != nil {
		return cur, false, err
	}
	if cur.State.Final() || (allow != nil && !allow(cur)) {
		return cur, false, nil
	}
	next := cur
	if ch.state != "" {
		next.State = ch.state
	}
	now := c.db.Now()
	if ch.code != "" || ch.message != "" {
		next.ProviderCode, next.ProviderMessage = ch.code, ch.message
	}
	if ch.utr != "" {
		next.UTR = ch.utr
	}
	if ch.ref != "" {
		next.ProviderRef = ch.ref
	}
	if !ch.paidAt.IsZero() {
		next.PaidAt = ch.paidAt
	}
	if ch.send {
		next.Attempts++
		next.SentAt = now
	} else {
		next.CheckedAt = now
	}
	next.LastError = ""
	var final any
	if next.State.Final() {
		final = now.UnixMilli()
	}
	var paid any
	if !next.PaidAt.IsZero() {
		paid = next.PaidAt.UnixMilli()
	}
	var sent, checked any
	if !next.SentAt.IsZero() {
		sent = next.SentAt.UnixMilli()
	}
	if !next.CheckedAt.IsZero() {
		checked = next.CheckedAt.UnixMilli()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE collection_requests SET state = ?, provider_ref = ?, provider_code = ?,
		provider_message = ?, utr = ?, paid_at = ?, attempts = ?, sent_at = ?, checked_at = ?, last_error = '',
		final_at = ?, updated_at = ? WHERE id = ?`,
		string(next.State), next.ProviderRef, next.ProviderCode, next.ProviderMessage, next.UTR, paid, next.Attempts,
		sent, checked, final, now.UnixMilli(), id); err != nil {
		return cur, false, fmt.Errorf("db: collection request %s: %w", ch.kind, err)
	}
	if err := collectionTimeline.add(ctx, tx, now.UnixMilli(), id, ch.kind, string(next.State), ch.code, ch.message, ch.utr,
		SystemActor.Username); err != nil {
		return cur, false, err
	}
	details := map[string]any{"provider_code": ch.code, "message": ch.message, "attempts": next.Attempts}
	if next.State != cur.State {
		details["state"] = Change{Before: cur.State, After: next.State}
	}
	if ch.utr != "" {
		details["utr"] = ch.utr
	}
	if ch.ref != "" && ch.ref != cur.ProviderRef {
		details["provider_ref"] = ch.ref
	}
	if err := c.db.audit(ctx, tx, SystemActor, "collection."+ch.kind, "collection_request", id, details); err != nil {
		return cur, false, err
	}
	out, err := getCollection(ctx, tx, id)
	if err != nil {
		return cur, false, err
	}
	return out, true, tx.Commit()
}

// note records that cr was asked about (checked_at) and the last error of a
// call, "" for none. Not a change of state, so not audited and not on the
// timeline: the next recorded step carries what happened.
func (c *Collections) note(ctx context.Context, cr CollectionRequest, lastError string) error {
	if _, err := c.db.write.ExecContext(context.WithoutCancel(ctx), `UPDATE collection_requests SET checked_at = ?, last_error = ?
		WHERE id = ? AND state = ?`, c.db.nowMS(), lastError, cr.ID, string(cr.State)); err != nil {
		return fmt.Errorf("db: collection note: %w", err)
	}
	return nil
}

// noteErr notes cause on cr and returns it (joined with a failure to store it).
func (c *Collections) noteErr(ctx context.Context, cr CollectionRequest, cause error) error {
	if err := c.note(ctx, cr, cause.Error()); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// --- vendor requests ---

// syncVendorRequests imports the vendor requests PayMate lists as awaiting
// payment, then asks about the open ones it no longer lists. PayMate's list
// holds only requests still awaiting payment (200), so a request missing
// from it may have been paid on PayMate's portal, expired, or been
// rejected; its state is never guessed from its absence: PayMate's request
// report says which, and until it does the request stays open. Requests
// with a payout are left to the payout, which tracks the payment.
func (c *Collections) syncVendorRequests(ctx context.Context, res *CollectionSyncResult) error {
	list, err := c.prov.VendorRequests(ctx)
	if err != nil {
		return fmt.Errorf("PayMate vendor requests: %w", err)
	}
	res.VendorCandidates = len(list)
	var errs []error
	listed := map[string]bool{}
	for _, vr := range list {
		listed[strings.ToUpper(vr.InvoiceNo)] = true
		imported, err := c.importVendorRequest(ctx, vr)
		if err != nil {
			errs = append(errs, fmt.Errorf("vendor request %q: %w", vr.InvoiceNo, err))
		}
		if imported {
			res.VendorImported++
		}
	}
	open, _, err := c.ListVendorRequests(ctx, VendorRequestFilter{State: VendorRequestOpen, Limit: 500})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, v := range open {
		if listed[strings.ToUpper(v.OrderID)] || v.PayoutID != "" || ctx.Err() != nil {
			continue
		}
		// The request report lists vendors' requests to us too, by their
		// OrderID.
		st, err := c.prov.CollectionStatus(ctx, v.OrderID)
		switch {
		case errors.Is(err, providers.ErrNotFound):
			continue // PayMate does not say: it stays open
		case err != nil:
			errs = append(errs, fmt.Errorf("vendor request %s: status inquiry: %w", v.OrderID, err))
			continue
		}
		state := VendorRequestOpen
		switch st.State {
		case providers.CollectionPaid:
			state = VendorRequestPaid
		case providers.CollectionExpired:
			state = VendorRequestExpired
		case providers.CollectionCancelled, providers.CollectionFailed:
			state = VendorRequestFailed
		}
		if state == VendorRequestOpen {
			continue // still pending at PayMate (on its way after approval on the portal, say)
		}
		done, err := c.endVendorRequest(ctx, v, state, st)
		if err != nil {
			errs = append(errs, fmt.Errorf("vendor request %s: %w", v.OrderID, err))
		}
		if done {
			res.VendorFinished++
		}
	}
	return errors.Join(errs...)
}

// importVendorRequest stores vr once, keyed by provider and OrderID, with
// the Paydesk contact whose PayMate id it names. Seen again, it changes
// nothing, except that a contact registered meanwhile is linked.
func (c *Collections) importVendorRequest(ctx context.Context, vr providers.VendorRequest) (bool, error) {
	if vr.InvoiceNo == "" {
		return false, errors.New("PayMate lists it without an OrderID")
	}
	if vr.AmountPaise <= 0 {
		return false, fmt.Errorf("PayMate lists it with amount %d paise", vr.AmountPaise)
	}
	tx, err := c.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var contactID string
	if vr.ContactRef != "" {
		err := tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE provider_id = ?`, vr.ContactRef).Scan(&contactID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("db: vendor request contact: %w", err)
		}
	}
	var id int64
	var linked string
	err = tx.QueryRowContext(ctx, `SELECT id, coalesce(contact_id, '') FROM vendor_requests WHERE provider = ? AND order_id = ?`,
		SourcePayMate, vr.InvoiceNo).Scan(&id, &linked)
	switch {
	case err == nil:
		if linked != "" || contactID == "" {
			return false, nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE vendor_requests SET contact_id = ?, contact_ref = ?, updated_at = ? WHERE id = ?`,
			contactID, vr.ContactRef, c.db.nowMS(), id); err != nil {
			return false, fmt.Errorf("db: link vendor request: %w", err)
		}
		if err := c.db.audit(ctx, tx, SystemActor, "vendor_request.contact_linked", "vendor_request", vendorTarget(id), map[string]any{
			"order_id": vr.InvoiceNo, "contact_id": contactID, "contact_ref": vr.ContactRef}); err != nil {
			return false, err
		}
		return false, tx.Commit()
	case !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("db: vendor request lookup: %w", err)
	}
	name := strings.TrimSpace(vr.VendorName)
	if name == "" {
		name = "(no name given)"
	}
	var requested any
	if !vr.RequestedAt.IsZero() {
		requested = vr.RequestedAt.UnixMilli()
	}
	now := c.db.nowMS()
	r, err := tx.ExecContext(ctx, `INSERT INTO vendor_requests (provider, provider_ref, order_id, contact_id, contact_ref, vendor_name,
		amount_paise, purpose, requested_at, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)`,
		SourcePayMate, vr.ProviderRef, vr.InvoiceNo, nullString(contactID), vr.ContactRef, name, vr.AmountPaise,
		strings.TrimSpace(vr.Purpose), requested, now, now)
	if err != nil {
		return false, fmt.Errorf("db: import vendor request: %w", err)
	}
	id, _ = r.LastInsertId()
	if err := c.db.audit(ctx, tx, SystemActor, "vendor_request.imported", "vendor_request", vendorTarget(id), map[string]any{
		"provider": SourcePayMate, "provider_ref": vr.ProviderRef, "order_id": vr.InvoiceNo, "contact_id": contactID,
		"contact_ref": vr.ContactRef, "vendor_name": name, "amount_paise": vr.AmountPaise, "purpose": vr.Purpose}); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// endVendorRequest records the final state PayMate reports for an open
// vendor request, unless it changed in Paydesk meanwhile (dismissed, or a
// payout proposed for it).
func (c *Collections) endVendorRequest(ctx context.Context, v VendorRequest, state VendorRequestState, st providers.CollectionStatus) (bool, error) {
	tx, err := c.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	now := c.db.nowMS()
	r, err := tx.ExecContext(ctx, `UPDATE vendor_requests SET state = ?, provider_code = ?, provider_message = ?, final_at = ?,
		updated_at = ? WHERE id = ? AND state = 'open' AND payout_id IS NULL`, string(state), st.ProviderCode, st.Message, now, now, v.ID)
	if err != nil {
		return false, fmt.Errorf("db: end vendor request: %w", err)
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return false, nil
	}
	details := map[string]any{"order_id": v.OrderID, "provider_code": st.ProviderCode, "message": st.Message,
		"state": Change{Before: v.State, After: state}}
	if st.UTR != "" {
		details["utr"] = st.UTR
	}
	if err := c.db.audit(ctx, tx, SystemActor, "vendor_request."+string(state), "vendor_request", vendorTarget(v.ID), details); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
