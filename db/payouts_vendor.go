package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"paydesk/providers"
)

// Payouts that settle a vendor's request to be paid.
//
// A vendor raises the request at PayMate (VendorRequestPayment); PayMate
// then holds a payment under the vendor's OrderID, "Awaiting to pay" (200),
// to the bank details PayMate holds for the vendor. Paying it means
// approving that order (ApprovePayment), never booking a second one. In
// Paydesk it is an ordinary payout proposal (same rules, same four eyes)
// whose provider order is the vendor's: the dispatcher asks PayMate about
// that order and approves it while it still waits.

// ProposeFromVendorRequest proposes a payout settling vendor request id as
// maker. The vendor must be a contact whose approved bank details are the
// ones payouts may use (see PayableDetails); the amount is the vendor's.
// The request becomes 'proposed' in the same transaction, so it cannot be
// proposed twice.
func (p *Payouts) ProposeFromVendorRequest(ctx context.Context, maker User, id int64) (Payout, []Warning, error) {
	out, warnings, err := p.proposeVendorTx(ctx, maker, id)
	return out, warnings, p.approvals.recordRefusal(ctx, maker.Actor(), err)
}

func (p *Payouts) proposeVendorTx(ctx context.Context, maker User, id int64) (Payout, []Warning, error) {
	var (
		orderID, contactID, vendor, purpose, state, provider string
		amount                                               int64
	)
	err := p.db.read.QueryRowContext(ctx, `SELECT order_id, coalesce(contact_id, ''), vendor_name, purpose, state, provider, amount_paise
		FROM vendor_requests WHERE id = ?`, id).Scan(&orderID, &contactID, &vendor, &purpose, &state, &provider, &amount)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Payout{}, nil, Errorf(ENOTFOUND, "No such vendor request.")
	case err != nil:
		return Payout{}, nil, fmt.Errorf("db: vendor request: %w", err)
	case state != "open":
		return Payout{}, nil, Errorf(ECONFLICT, "The request from %s is %s, not open: it cannot be proposed for payment.", vendor, state)
	case contactID == "":
		return Payout{}, nil, Errorf(ECONFLICT, "The request from %s does not match any contact in Paydesk, so there are no approved bank details to pay. "+
			"Add the vendor as a contact (a checker approves its bank details), then propose the payment.", vendor)
	}
	rail := "NEFT"
	if amount >= MinRTGSPaise {
		rail = "RTGS"
	}
	draft, err := p.draft(ctx, PayoutInput{ContactID: contactID, Amount: providers.FormatAmount(amount), Rail: rail,
		Source: provider, Purpose: vendorPurpose(purpose, orderID)})
	if err != nil {
		return Payout{}, nil, err
	}
	if err := vendorPaidAsApproved(ctx, p.db.read, contactID); err != nil {
		return Payout{}, nil, err
	}
	draft.VendorRequestID, draft.ProviderOrderID = id, orderID
	return p.proposeTx(ctx, maker, draft)
}

// vendorPaidAsApproved makes sure PayMate would pay the vendor at the
// approved bank details: approving the vendor's order pays whatever details
// PayMate holds for the contact, and only a synced contact is known to hold
// the approved ones there.
func vendorPaidAsApproved(ctx context.Context, q querier, contactID string) error {
	ct, err := getContact(ctx, q, contactID)
	if err != nil {
		return err
	}
	if ct.SyncState != SyncSynced {
		return Errorf(ECONFLICT, "PayMate would pay %s at the bank details it holds for them, and those are not known to be the approved ones (PayMate sync: %s). "+
			"Settle the contact's details at PayMate first; see the contact's page.", ct.Name(), ct.SyncState)
	}
	return nil
}

// vendorPurpose is the payout's purpose: the vendor's remarks, cut to what a
// payout takes, or the vendor's order when there are none.
func vendorPurpose(remarks, orderID string) string {
	clean := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.Join(strings.Fields(remarks), " "))
	if clean == "" {
		clean = "Vendor request " + orderID
	}
	return clipRunes(clean, maxPurposeLen)
}

// linkVendorRequest marks the vendor request proposed for payout inside the
// proposing transaction. Only an open request moves.
func linkVendorRequest(ctx context.Context, tx *sql.Tx, d *DB, maker User, id int64, payoutID string) error {
	res, err := tx.ExecContext(ctx, `UPDATE vendor_requests SET state = 'proposed', payout_id = ?, updated_at = ?
		WHERE id = ? AND state = 'open'`, payoutID, d.nowMS(), id)
	if err != nil {
		return fmt.Errorf("db: link vendor request: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Errorf(ECONFLICT, "This vendor request was proposed or closed by someone else meanwhile.")
	}
	return d.audit(ctx, tx, maker.Actor(), "vendor_request.proposed", "vendor_request", fmt.Sprint(id), map[string]any{
		"payout_id": payoutID, "state": Change{Before: "open", After: "proposed"}})
}

// settleVendorRequest follows a payout's end onto the vendor request it
// settles, in the payout's transaction: paid when the payout is processed;
// open again when the payout ended before reaching the provider (rejected,
// withdrawn, expired), so it can be proposed again. A payout that fails at
// the provider keeps the request 'proposed': the payout page says why, and
// Retry asks PayMate first.
func settleVendorRequest(ctx context.Context, tx *sql.Tx, d *DB, po Payout, state providers.PayoutState) error {
	if po.VendorRequestID == 0 {
		return nil
	}
	var to string
	switch state {
	case providers.StateProcessed:
		to = "paid"
	case providers.StateRejected, providers.StateCancelled:
		if !po.SentAt.IsZero() {
			return nil
		}
		to = "open"
	default:
		return nil
	}
	now := d.nowMS()
	q := `UPDATE vendor_requests SET state = 'paid', updated_at = ?, final_at = ? WHERE id = ? AND state = 'proposed'`
	final := any(now)
	if to == "open" {
		q = `UPDATE vendor_requests SET state = 'open', payout_id = NULL, updated_at = ?, final_at = ? WHERE id = ? AND state = 'proposed'`
		final = nil
	}
	res, err := tx.ExecContext(ctx, q, now, final, po.VendorRequestID)
	if err != nil {
		return fmt.Errorf("db: vendor request of %s: %w", po.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return d.audit(ctx, tx, SystemActor, "vendor_request."+to, "vendor_request", fmt.Sprint(po.VendorRequestID), map[string]any{
		"payout_id": po.ID, "payout_state": state, "state": Change{Before: "proposed", After: to}})
}
