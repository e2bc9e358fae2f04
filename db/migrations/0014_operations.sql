-- Operations (issue 16): waiting for funds, one-time bulk submits,
-- bank-side retries, backups.

-- Set while a payout waits for funds at its provider: PayMate refuses the
-- approval with 180 and keeps the payment at 199 until the Xpress Account
-- holds enough. The dispatcher keeps following it and approves it again; it
-- is cleared by the payout's next change.
ALTER TABLE payouts ADD COLUMN funds_wait_since INTEGER;

-- A bank-side item whose decision failed to reach the bank can be retried
-- by an approval holder: the attempts made before that retry no longer count
-- towards giving up (attempts itself keeps counting every call, which tells
-- a sent decision from one never sent).
ALTER TABLE bank_pending ADD COLUMN retry_base INTEGER NOT NULL DEFAULT 0;

-- The bulk upload's preview carries a one-time token; the batch it creates
-- keeps it, so the same preview submitted twice (a double click, a second
-- tab) finds the batch already made instead of making another.
ALTER TABLE payout_batches ADD COLUMN submit_token TEXT;
CREATE UNIQUE INDEX payout_batches_submit_token ON payout_batches(submit_token) WHERE submit_token IS NOT NULL;

-- When a backup was taken, written into the copy itself by `paydesk
-- backup` (db/backup.go); a live database has no rows. A restore reads it to
-- tell the payouts it marks when their last known state dates from.
CREATE TABLE backup_marks (
    taken_at INTEGER NOT NULL
);
