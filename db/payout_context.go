package db

import (
	"context"
	"fmt"
)

// PayoutContext is what a checker needs beside a payout to decide on it.
type PayoutContext struct {
	// Duplicates counts other live payouts to the same account and IFSC for
	// the same amount within DuplicateWindow of this one.
	Duplicates int
	// FirstToBeneficiary is true when no earlier payout went to this account.
	FirstToBeneficiary bool
}

// Context returns the checker's context for payout p, read fresh.
func (p *Payouts) Context(ctx context.Context, po Payout) (PayoutContext, error) {
	var pc PayoutContext
	created := po.CreatedAt.UnixMilli()
	window := DuplicateWindow.Milliseconds()
	var earlier int
	err := p.db.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM payouts WHERE account_no = ?1 AND ifsc = ?2 AND amount_paise = ?3 AND id <> ?4
			AND created_at BETWEEN ?5 - ?6 AND ?5 + ?6 AND state NOT IN ('rejected', 'cancelled')),
		(SELECT count(*) FROM payouts WHERE account_no = ?1 AND ifsc = ?2 AND id <> ?4 AND created_at < ?5
			AND state NOT IN ('rejected', 'cancelled'))`,
		po.AccountNo, po.IFSC, po.AmountPaise, po.ID, created, window).Scan(&pc.Duplicates, &earlier)
	if err != nil {
		return pc, fmt.Errorf("db: payout context: %w", err)
	}
	pc.FirstToBeneficiary = earlier == 0
	return pc, nil
}
