-- sent_at is when a payout was first handed to its provider. A payout that
-- the provider said it did not know, well after that, is sent again; "not
-- found" sooner than the grace after that later send must be asked about
-- again, not taken as licence for one more. last_sent_at is when the last
-- send began (NULL: only the first, which is sent_at).
ALTER TABLE payouts ADD COLUMN last_sent_at INTEGER;
