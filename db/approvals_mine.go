package db

import (
	"context"
	"fmt"
)

// Proposed lists the requests user made that are still waiting, newest
// first: the maker's side of the queue, where they can see progress and
// withdraw.
func (a *Approvals) Proposed(ctx context.Context, user User, limit int) ([]QueueItem, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := a.db.read.QueryContext(ctx, `SELECT `+requestColumns+requestFrom+`
		WHERE r.maker_id = ? AND r.state = 'pending_approval' AND r.expires_at > ?
		ORDER BY r.created_at DESC, r.id DESC LIMIT ?`, user.ID, a.db.nowMS(), limit)
	if err != nil {
		return nil, fmt.Errorf("db: proposed: %w", err)
	}
	defer rows.Close()
	var out []QueueItem
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, QueueItem{ApprovalRequest: r, Remaining: max(r.RequiredApprovals-r.Approvals, 0)})
	}
	return out, rows.Err()
}
