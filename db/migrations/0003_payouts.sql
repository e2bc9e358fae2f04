-- Payouts: money Paydesk sends out through a provider, their timeline, and
-- the batches they were proposed in. See db/payouts.go and db/dispatch.go.
-- (River's own tables, river_job and friends, are created by River's
-- migrator in db/dispatch.go, not here.)

CREATE TABLE payout_batches (
    id          TEXT    PRIMARY KEY,
    maker_id    INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    count       INTEGER NOT NULL CHECK (count > 0),
    total_paise INTEGER NOT NULL CHECK (total_paise > 0)
);

-- One payout. id is Paydesk's id and the provider's idempotency key (Kotak
-- InstRefNo, PayMate OrderID): letters and digits only, at most 20.
-- An approval that expires leaves the payout 'cancelled' (failure_reason says
-- so): there is no separate 'expired' payout state, the provider never saw it.
CREATE TABLE payouts (
    id                  TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 20 AND id NOT GLOB '*[^A-Z0-9]*'),
    batch_id            TEXT    REFERENCES payout_batches(id),
    beneficiary_name    TEXT    NOT NULL,
    account_no          TEXT    NOT NULL,
    ifsc                TEXT    NOT NULL,
    amount_paise        INTEGER NOT NULL CHECK (amount_paise > 0),
    rail                TEXT    NOT NULL CHECK (rail IN ('NEFT', 'RTGS', 'IMPS')),
    source              TEXT    NOT NULL CHECK (source IN ('kotakcms', 'paymate')),
    purpose             TEXT    NOT NULL DEFAULT '',
    value_date          TEXT,   -- YYYY-MM-DD; NULL = the day it is sent
    state               TEXT    NOT NULL DEFAULT 'pending_approval'
                        CHECK (state IN ('pending_approval', 'approved', 'queued', 'processing', 'processed',
                                         'rejected', 'cancelled', 'failed', 'reversed', 'unknown')),
    approval_request_id INTEGER REFERENCES approval_requests(id),
    maker_id            INTEGER NOT NULL REFERENCES users(id),
    provider_code       TEXT    NOT NULL DEFAULT '',
    provider_message    TEXT    NOT NULL DEFAULT '',
    utr                 TEXT    NOT NULL DEFAULT '',
    failure_reason      TEXT    NOT NULL DEFAULT '',
    -- How many times the payout was sent to the provider (1 unless the
    -- provider said it had never received it).
    attempts            INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    -- First time it was handed to the provider: from then on every step of
    -- the dispatcher starts with a status inquiry.
    sent_at             INTEGER,
    final_at            INTEGER
);
CREATE INDEX payouts_list ON payouts(created_at, id);
CREATE INDEX payouts_state ON payouts(state, created_at, id);
CREATE INDEX payouts_maker ON payouts(maker_id, created_at);
CREATE INDEX payouts_stuck ON payouts(state, updated_at);
-- The "possible duplicate" warning: same beneficiary and amount recently.
CREATE INDEX payouts_duplicate ON payouts(account_no, ifsc, amount_paise, created_at);
CREATE INDEX payouts_batch ON payouts(batch_id) WHERE batch_id IS NOT NULL;

-- The payout page's timeline: every step, Paydesk's or the provider's.
CREATE TABLE payout_events (
    id            INTEGER PRIMARY KEY,
    payout_id     TEXT    NOT NULL REFERENCES payouts(id),
    at            INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    provider_code TEXT    NOT NULL DEFAULT '',
    message       TEXT    NOT NULL DEFAULT '',
    utr           TEXT    NOT NULL DEFAULT '',
    actor         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX payout_events_payout ON payout_events(payout_id, id);
