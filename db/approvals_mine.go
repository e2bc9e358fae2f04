package db

import "context"

// Proposed lists the requests user made that are still waiting, newest
// first: the maker's side of the queue, where they can see progress and
// withdraw.
func (a *Approvals) Proposed(ctx context.Context, user User, limit int) ([]QueueItem, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	// The unary + keeps SQLite off the expiry index, which would read every
	// pending request and sort them; the maker index holds one person's
	// requests in created order.
	out, _, err := queryPage(ctx, a.db.read, "proposed", 0, scanQueueItem, `SELECT `+requestColumns+requestFrom+`
		WHERE r.maker_id = ? AND r.state = 'pending_approval' AND +r.expires_at > ?
		ORDER BY r.created_at DESC, r.id DESC LIMIT ?`, user.ID, a.db.nowMS(), limit)
	return out, err
}
