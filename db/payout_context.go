package db

import (
	"context"
	"fmt"
	"strings"
)

// PayoutContext is what a checker needs beside a payout to decide on it.
type PayoutContext struct {
	// Duplicates counts other live payouts to the same account and IFSC for
	// the same amount within DuplicateWindow of this one.
	Duplicates int
	// FirstToBeneficiary is true when no earlier payout went to this account.
	FirstToBeneficiary bool
	// Source is the debit source the payout is paid from.
	Source string
	// ContactBank, for a payout to a contact, says why approving it would be
	// refused now: "held" while a change of the contact's bank details
	// waits for approval, "changed" when the approved details are no longer
	// the payout's. Empty when they still match.
	ContactBank string
}

// Context returns the checker's context for payout p, read fresh.
func (p *Payouts) Context(ctx context.Context, po Payout) (PayoutContext, error) {
	m, err := p.QueueContext(ctx, []string{po.ID})
	if err != nil {
		return PayoutContext{}, err
	}
	pc, ok := m[po.ID]
	if !ok {
		return pc, Errorf(ENOTFOUND, "No such payout.")
	}
	return pc, nil
}

// QueueContext returns the checker's context for many payouts at once, for
// the approval queue.
func (p *Payouts) QueueContext(ctx context.Context, ids []string) (map[string]PayoutContext, error) {
	out := make(map[string]PayoutContext, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{DuplicateWindow.Milliseconds()}
	marks := make([]string, len(ids))
	for i, id := range ids {
		marks[i] = "?"
		args = append(args, id)
	}
	rows, err := p.db.read.QueryContext(ctx, `SELECT q.id, q.source,
		(SELECT count(*) FROM payouts o WHERE o.account_no = q.account_no AND o.ifsc = q.ifsc AND o.amount_paise = q.amount_paise
			AND o.id <> q.id AND o.created_at BETWEEN q.created_at - ?1 AND q.created_at + ?1 AND o.state NOT IN ('rejected', 'cancelled')),
		EXISTS (SELECT 1 FROM payouts o WHERE o.account_no = q.account_no AND o.ifsc = q.ifsc AND o.id <> q.id
			AND o.created_at < q.created_at AND o.state NOT IN ('rejected', 'cancelled')),
		coalesce((SELECT CASE
			WHEN c.pending_account_no IS NOT NULL AND c.allow_old_while_pending = 0 THEN 'held'
			WHEN c.approved_account_no IS NOT q.account_no OR c.approved_ifsc IS NOT q.ifsc THEN 'changed'
			ELSE '' END FROM contacts c WHERE c.id = q.contact_id), '')
		FROM payouts q WHERE q.id IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("db: queue context: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var pc PayoutContext
		var earlier bool
		if err := rows.Scan(&id, &pc.Source, &pc.Duplicates, &earlier, &pc.ContactBank); err != nil {
			return nil, err
		}
		pc.FirstToBeneficiary = !earlier
		out[id] = pc
	}
	return out, rows.Err()
}
