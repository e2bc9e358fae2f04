-- A decision ends a request: its rows leave approval_waiting and its words
-- leave approval_words. The requests of a bulk decision lie far apart, so
-- every index entry a decision removes sits on its own page, and those
-- pages, not the statements, are what a decision of 1,000 costs (about 19
-- pages each, written to the log at commit). This migration removes about a
-- third of them; nothing that a list reads changes.
--
-- 1. approval_waiting is keyed by request first. The rows of one request
--    then share a page, and the key serves what approval_waiting_request
--    served (a request's rows, when it ends), so that index goes.
-- 2. approval_waiting_live goes: the badge's count reads the newest index,
--    which carries expires_at since 0017, newest first (CountWaiting).
-- 3. An ended request's words are dropped later, by housekeeping
--    (Approvals.DropEndedWords), from the list below. Until then they are
--    harmless: a search by word reaches requests only through their
--    approval_waiting rows, which the decision removed.
-- 4. The expiry sweep and "my proposals" read pending requests only, so
--    their indexes hold only those: a decision removes an entry from each
--    and no longer adds one for its new state.
CREATE TABLE approval_waiting_new (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    request_id  INTEGER NOT NULL REFERENCES approval_requests(id),
    kind        TEXT    NOT NULL,
    amount_sort INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    words       TEXT    NOT NULL DEFAULT '',
    word_bits   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (request_id, user_id)
) WITHOUT ROWID;
INSERT INTO approval_waiting_new (user_id, request_id, kind, amount_sort, created_at, expires_at, words, word_bits)
SELECT user_id, request_id, kind, amount_sort, created_at, expires_at, words, word_bits
FROM approval_waiting ORDER BY request_id, user_id;
DROP TABLE approval_waiting;
ALTER TABLE approval_waiting_new RENAME TO approval_waiting;
CREATE INDEX approval_waiting_newest ON approval_waiting(user_id, created_at, request_id, expires_at, word_bits, words);
CREATE INDEX approval_waiting_kind ON approval_waiting(user_id, kind, created_at, request_id, expires_at, word_bits, words);
CREATE INDEX approval_waiting_amount ON approval_waiting(user_id, amount_sort, request_id, expires_at, word_bits, words);

-- Requests whose words are still to be dropped, in the order they ended: a
-- decision appends here, which touches one page however far apart the
-- requests of a bulk decision lie.
CREATE TABLE approval_words_ended (
    seq        INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES approval_requests(id)
);

DROP INDEX approval_requests_expiry;
CREATE INDEX approval_requests_expiry ON approval_requests(expires_at) WHERE state = 'pending_approval';
DROP INDEX approval_requests_maker;
CREATE INDEX approval_requests_maker ON approval_requests(maker_id, created_at) WHERE state = 'pending_approval';
