-- Bank-side pending payouts and provider balances. See db/bankside.go and
-- db/balances.go.

-- A payout waiting for approval at the bank itself that Paydesk did not make
-- (keyed in on the bank's portal), mirrored here so that a Paydesk checker
-- decides it through the approval engine (kind 'bank_pending'). Paydesk's own
-- payouts are never imported: the dispatcher authorises those.
--
-- state:
--   pending          its approval request waits in the queue
--   approved         approved in Paydesk; the approval is still to be sent to the bank
--   rejected         rejected in Paydesk; the rejection is still to be sent to the bank
--   authorised       the decision was applied at the bank
--   authorise_failed the bank refused the decision, or Paydesk gave up (last_error says why)
--   gone             it left the bank's pending list before Paydesk's decision reached the bank
--   expired          its approval request expired undecided; nothing was sent to the bank
-- The bank-portal user that makes these requests is created by the poller,
-- not here: a users row in a migration would count as "a user exists" for
-- first-run setup (seeding the demo users, the first-admin hint).
CREATE TABLE bank_pending (
    id                  INTEGER PRIMARY KEY,
    source              TEXT    NOT NULL,              -- kotakcms, paymate
    ref                 TEXT    NOT NULL,              -- the provider's opaque ref, passed back to Authorise
    provider_id         TEXT    NOT NULL,              -- InstRefNo / OrderID
    amount_paise        INTEGER NOT NULL CHECK (amount_paise > 0),
    rail                TEXT    NOT NULL DEFAULT '',
    beneficiary_name    TEXT    NOT NULL DEFAULT '',
    beneficiary_acct    TEXT    NOT NULL DEFAULT '',
    beneficiary_ifsc    TEXT    NOT NULL DEFAULT '',
    purpose             TEXT    NOT NULL DEFAULT '',
    created_at_bank     INTEGER,                       -- unix ms; NULL when the bank did not say
    state               TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'approved', 'rejected', 'gone', 'expired', 'authorised', 'authorise_failed')),
    decision            TEXT    NOT NULL DEFAULT '' CHECK (decision IN ('', 'approve', 'reject')),
    remarks             TEXT    NOT NULL DEFAULT '',   -- sent with the decision (the checker's reason for a rejection)
    approval_request_id INTEGER REFERENCES approval_requests(id),
    -- Authorise calls made for the decision (the intent is recorded before
    -- each call) and the last error of the round trip.
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT    NOT NULL DEFAULT '',
    first_seen_at       INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,              -- last poll that found it pending at the bank
    decided_at          INTEGER,
    final_at            INTEGER,
    updated_at          INTEGER NOT NULL,
    UNIQUE (source, ref)
);
CREATE INDEX bank_pending_state ON bank_pending(state, source, id);
CREATE INDEX bank_pending_request ON bank_pending(approval_request_id);

-- The same bands as payouts start with: up to ₹10,00,000 one checker, above
-- that two. Admins change them on the rules page like any kind's.
INSERT INTO approval_rules (kind, min_paise, max_paise, approvals, role, created_at, updated_at) VALUES
    ('bank_pending', 0,         100000000, 1, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('bank_pending', 100000001, NULL,      2, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- The last balance each provider reported: a cache of the bank's data, not
-- Paydesk state, so it is overwritten in place and not audited.
CREATE TABLE balances (
    source          TEXT    PRIMARY KEY,
    account         TEXT    NOT NULL DEFAULT '',
    available_paise INTEGER NOT NULL,
    as_of           INTEGER NOT NULL,   -- unix ms, the provider's time of the figure
    fetched_at      INTEGER NOT NULL    -- unix ms, when Paydesk fetched it
);
