-- Operations (issue 16): waiting for funds, one-time bulk submits,
-- bank-side retries, backups.

-- Set while a payout waits for funds at its provider: PayMate refuses the
-- approval with 180 and keeps the payment at 199 until the Xpress Account
-- holds enough. The dispatcher keeps following it and approves it again; it
-- is cleared by the payout's next change.
ALTER TABLE payouts ADD COLUMN funds_wait_since INTEGER;
