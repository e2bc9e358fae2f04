-- Collections: requests for payment Paydesk sends through PayMate, their
-- timeline, and the requests to be paid that vendors raise at PayMate. See
-- db/collections.go.

-- One request for payment. id is "CR" and 12 characters of A-Z2-7: Paydesk's
-- id and PayMate's OrderID (alphanumeric, at most 20), so PayMate refuses a
-- second request with it and a lost answer is resolved by asking about it.
--
-- The payer is a contact registered at PayMate (contact_id, contact_ref =
-- its ContactXpressID; RequestPaymentByXpressID) or someone who is not
-- (payer_* only; RequestPayment). For a contact, payer_* are copied from it
-- when the request is made, so the list reads the same after it changes.
--
-- state:
--   queued     saved; not yet accepted by PayMate (sent_at set: the last
--              attempt's answer was lost or refused before executing)
--   pending    PayMate holds it and waits for the payer
--   paid       the payer paid (utr, paid_at)
--   expired    PayMate let it lapse unpaid
--   cancelled  withdrawn or rejected at PayMate
--   failed     PayMate refused it (provider_message says why) or the payment failed
--   unknown    the answer to sending it was lost; PayMate is asked before anything else
CREATE TABLE collection_requests (
    id               TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 20 AND id NOT GLOB '*[^A-Z0-9]*'),
    contact_id       TEXT    REFERENCES contacts(id),
    contact_ref      TEXT    NOT NULL DEFAULT '',
    payer_name       TEXT    NOT NULL,
    payer_email      TEXT    NOT NULL DEFAULT '',
    payer_mobile     TEXT    NOT NULL DEFAULT '',
    amount_paise     INTEGER NOT NULL CHECK (amount_paise > 0),
    purpose          TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'pending', 'paid', 'expired', 'cancelled', 'failed', 'unknown')),
    provider_ref     TEXT    NOT NULL DEFAULT '',   -- PayMate TransactionRefNo
    provider_code    TEXT    NOT NULL DEFAULT '',
    provider_message TEXT    NOT NULL DEFAULT '',
    utr              TEXT    NOT NULL DEFAULT '',
    paid_at          INTEGER,
    -- Times handed to PayMate; the intent is recorded before each call.
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- The last time it was handed to PayMate: from then on every round
    -- starts with a status inquiry, and "not found" within the grace period
    -- after it is never taken as licence to send again.
    sent_at          INTEGER,
    -- The last status inquiry, so the poller asks about the least recently
    -- checked requests first. Not audited (nothing changes).
    checked_at       INTEGER,
    last_error       TEXT    NOT NULL DEFAULT '',
    created_by       INTEGER NOT NULL REFERENCES users(id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    final_at         INTEGER,
    CHECK ((contact_id IS NULL) = (contact_ref = ''))
);
CREATE INDEX collection_requests_list ON collection_requests(created_at, id);
CREATE INDEX collection_requests_state ON collection_requests(state, created_at, id);
CREATE INDEX collection_requests_contact ON collection_requests(contact_id, created_at, id) WHERE contact_id IS NOT NULL;
-- The poller's work list: requests not yet final, least recently checked first.
CREATE INDEX collection_requests_open ON collection_requests(coalesce(checked_at, 0), id)
    WHERE state IN ('queued', 'pending', 'unknown');

-- A collection request's page timeline: every step, Paydesk's or PayMate's.
CREATE TABLE collection_events (
    id            INTEGER PRIMARY KEY,
    request_id    TEXT    NOT NULL REFERENCES collection_requests(id),
    at            INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    provider_code TEXT    NOT NULL DEFAULT '',
    message       TEXT    NOT NULL DEFAULT '',
    utr           TEXT    NOT NULL DEFAULT '',
    actor         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX collection_events_request ON collection_events(request_id, id);

-- A vendor's request to be paid, raised at PayMate (VendorRequestPayment) and
-- listed there as "Awaiting to pay" (200). Imported once per provider and
-- OrderID (PayMate compares OrderIDs without case); a maker may turn one into
-- a payout proposal (payout_id, state 'proposed', set by the payouts side) or
-- dismiss it in Paydesk.
--
-- state:
--   open       waiting for us
--   proposed   a payout was proposed for it (payout_id); the payout tracks it
--   paid       paid, as PayMate reports
--   expired    PayMate let it lapse unpaid
--   failed     PayMate reports it failed, rejected or cancelled
--   dismissed  a person set it aside in Paydesk; nothing was sent to PayMate
CREATE TABLE vendor_requests (
    id               INTEGER PRIMARY KEY,
    provider         TEXT    NOT NULL CHECK (provider IN ('paymate')),
    provider_ref     TEXT    NOT NULL DEFAULT '',   -- PayMate TransactionRefNo
    order_id         TEXT    NOT NULL COLLATE NOCASE,
    contact_id       TEXT    REFERENCES contacts(id),
    contact_ref      TEXT    NOT NULL DEFAULT '',   -- the vendor's ContactXpressID, when PayMate's data names it
    vendor_name      TEXT    NOT NULL,
    amount_paise     INTEGER NOT NULL CHECK (amount_paise > 0),
    purpose          TEXT    NOT NULL DEFAULT '',
    requested_at     INTEGER,                       -- at PayMate; NULL when it did not say
    state            TEXT    NOT NULL DEFAULT 'open'
                     CHECK (state IN ('open', 'proposed', 'paid', 'expired', 'failed', 'dismissed')),
    provider_code    TEXT    NOT NULL DEFAULT '',
    provider_message TEXT    NOT NULL DEFAULT '',
    payout_id        TEXT    REFERENCES payouts(id),
    dismissed_by     INTEGER REFERENCES users(id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    final_at         INTEGER,
    UNIQUE (provider, order_id)
);
CREATE INDEX vendor_requests_state ON vendor_requests(state, id);
CREATE INDEX vendor_requests_contact ON vendor_requests(contact_id, id) WHERE contact_id IS NOT NULL;
CREATE INDEX vendor_requests_payout ON vendor_requests(payout_id) WHERE payout_id IS NOT NULL;
