-- A bulk decision's cost is the pages it changes, and the requests of one
-- lie far apart (0018). Of about 13 pages per request that ends, 5 were its
-- approval_waiting rows: the row itself and, for each person it waited on,
-- one entry in each of the newest, kind and amount indexes.
--
-- 1. An ended request's waiting rows now leave with its words, by
--    housekeeping (Approvals.DropEnded). Until then every reader of
--    approval_waiting passes over them (waitingLive in db/approvals.go): a
--    lookup in approval_ended, which holds only what housekeeping has yet to
--    drop. So the list is keyed by the request; the order it ended in was
--    only ever used to take a chunk.
-- 2. payouts_changed is read for the states a payout can stall in, by the
--    dispatch janitor, and for those and failed, by "needs attention"
--    (changedArm in db/payouts.go). It holds those states only: an approval
--    adds an entry there and no longer removes one from among every pending
--    payout's, nor does a payment that succeeds.
CREATE TABLE approval_ended (
    request_id INTEGER PRIMARY KEY REFERENCES approval_requests(id)
);
INSERT OR IGNORE INTO approval_ended (request_id) SELECT request_id FROM approval_words_ended;
DROP TABLE approval_words_ended;

DROP INDEX payouts_changed;
CREATE INDEX payouts_changed ON payouts(state, updated_at, id)
    WHERE state = 'approved' OR state = 'queued' OR state = 'processing' OR state = 'unknown' OR state = 'failed';
