-- Virtual accounts (Kotak e-collect): the accounts, every change to them
-- (each row of an approval request), the credits they receive, the batches
-- those credits came in, refunds of credits, and the timeline of all of it.
-- See db/virtual_accounts.go, db/va_credits.go and db/va_refunds.go.

-- One virtual account: the bank's prefix and our suffix. A row is made when
-- its creation is proposed (pending_approval); it becomes active only when
-- the bank says so. Closed numbers stay: the bank never reuses them.
CREATE TABLE virtual_accounts (
    number         TEXT    PRIMARY KEY,
    suffix         TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    purpose        TEXT    NOT NULL DEFAULT '',
    email          TEXT    NOT NULL DEFAULT '',
    mobile         TEXT    NOT NULL DEFAULT '',
    contact_id     TEXT    REFERENCES contacts(id),
    expires_on     TEXT    NOT NULL DEFAULT '',   -- YYYY-MM-DD (IST), '' for never
    state          TEXT    NOT NULL CHECK (state IN ('pending_approval', 'creating', 'active', 'closing', 'closed', 'failed', 'rejected')),
    reason         TEXT    NOT NULL DEFAULT '',   -- the bank's words when it refused the account
    credits        INTEGER NOT NULL DEFAULT 0,
    credits_paise  INTEGER NOT NULL DEFAULT 0,
    last_credit_at INTEGER,
    created_by     INTEGER REFERENCES users(id),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) WITHOUT ROWID;
-- The list, newest first, and each filter in the list's order.
CREATE INDEX va_list ON virtual_accounts(created_at, number);
CREATE INDEX va_state ON virtual_accounts(state, created_at, number);
CREATE INDEX va_contact ON virtual_accounts(contact_id, created_at, number);
CREATE INDEX va_with_credits ON virtual_accounts(created_at, number) WHERE credits > 0;
CREATE INDEX va_without_credits ON virtual_accounts(created_at, number) WHERE credits = 0;
-- Search: a name or purpose that starts with the words typed, a suffix.
CREATE INDEX va_name ON virtual_accounts(name COLLATE NOCASE);
CREATE INDEX va_purpose ON virtual_accounts(purpose COLLATE NOCASE);
CREATE INDEX va_suffix ON virtual_accounts(suffix);

-- One account's part of a va_create, va_modify or va_delete request: what
-- is asked (new values; old ones for a modify) and what the bank answered.
-- A bulk upload is one request with many rows. At most one change per
-- account is open at a time (the partial unique index).
CREATE TABLE va_changes (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES approval_requests(id),
    op          TEXT    NOT NULL CHECK (op IN ('create', 'modify', 'delete')),
    line        INTEGER NOT NULL DEFAULT 0,   -- the CSV line; 0 from the form
    number      TEXT    NOT NULL REFERENCES virtual_accounts(number),
    name        TEXT    NOT NULL DEFAULT '',
    purpose     TEXT    NOT NULL DEFAULT '',
    email       TEXT    NOT NULL DEFAULT '',
    mobile      TEXT    NOT NULL DEFAULT '',
    expires_on  TEXT    NOT NULL DEFAULT '',
    contact_id  TEXT,
    old_json    TEXT    NOT NULL DEFAULT '{}',
    state       TEXT    NOT NULL CHECK (state IN ('pending_approval', 'approved', 'sending', 'done', 'failed', 'rejected')),
    code        TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX va_changes_request ON va_changes(request_id, id);
CREATE INDEX va_changes_number ON va_changes(number, id);
CREATE UNIQUE INDEX va_changes_open ON va_changes(number) WHERE state IN ('pending_approval', 'approved', 'sending');
-- The job's work list: rows approved or on their way.
CREATE INDEX va_changes_work ON va_changes(state, request_id, id) WHERE state IN ('approved', 'sending');

-- Every credit the bank reported, once: txn_ref is the bank's unique
-- reference and the unique index is what makes a batch delivered twice
-- (a crash between storing and acknowledging) store nothing the second time.
CREATE TABLE va_credits (
    id              INTEGER PRIMARY KEY,
    txn_ref         TEXT    NOT NULL,
    batch_id        TEXT    NOT NULL,
    utr             TEXT    NOT NULL DEFAULT '',
    va_number       TEXT    NOT NULL,            -- as the bank sent it
    account         TEXT    REFERENCES virtual_accounts(number), -- the account it is attributed to; NULL: unmatched
    contact_id      TEXT    REFERENCES contacts(id),
    state           TEXT    NOT NULL CHECK (state IN ('matched', 'unmatched', 'attached')),
    amount_paise    INTEGER NOT NULL CHECK (amount_paise > 0),
    refunded_paise  INTEGER NOT NULL DEFAULT 0 CHECK (refunded_paise >= 0 AND refunded_paise <= amount_paise),
    remitter_name    TEXT   NOT NULL DEFAULT '',
    remitter_account TEXT   NOT NULL DEFAULT '',
    remitter_ifsc    TEXT   NOT NULL DEFAULT '',
    mode            TEXT    NOT NULL DEFAULT '',
    credited_at     INTEGER NOT NULL,
    received_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX va_credits_txn ON va_credits(txn_ref);
CREATE INDEX va_credits_list ON va_credits(credited_at, id);
CREATE INDEX va_credits_account ON va_credits(account, credited_at, id);
CREATE INDEX va_credits_state ON va_credits(state, credited_at, id);
CREATE INDEX va_credits_mode ON va_credits(mode, credited_at, id);
CREATE INDEX va_credits_contact ON va_credits(contact_id, credited_at, id);
CREATE INDEX va_credits_utr ON va_credits(utr);
CREATE INDEX va_credits_va ON va_credits(va_number);
CREATE INDEX va_credits_remitter ON va_credits(remitter_name COLLATE NOCASE);

-- Money credited per IST day, rail and state, kept in the transaction that
-- stores (or attaches) credits: the home page, the balances page and the
-- credits list's totals of any day, mode and state filter read it.
CREATE TABLE va_credit_sums (
    day    TEXT    NOT NULL,
    mode   TEXT    NOT NULL,
    state  TEXT    NOT NULL,
    paise  INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (day, mode, state)
) WITHOUT ROWID;

-- Each batch the bank handed out and Paydesk stored, and when it was
-- acknowledged. A batch stored but not acknowledged (a crash) comes back;
-- its credits are already here.
CREATE TABLE va_credit_batches (
    batch_id    TEXT    PRIMARY KEY,
    records     INTEGER NOT NULL,
    new_records INTEGER NOT NULL,
    stored_at   INTEGER NOT NULL,
    acked_at    INTEGER
) WITHOUT ROWID;

-- A refund of (part of) a credit. id is the bank's RefundId: the
-- idempotency key. A credit's refunded_paise holds what its refunds not
-- refused, rejected or failed take, and its CHECK keeps it within the
-- credit, in the same transaction that proposes or approves one.
CREATE TABLE va_refunds (
    id            TEXT    PRIMARY KEY,
    credit_id     INTEGER NOT NULL REFERENCES va_credits(id),
    amount_paise  INTEGER NOT NULL CHECK (amount_paise > 0),
    reason        TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending_approval', 'approved', 'unknown', 'processing', 'processed',
                                                    'failed', 'reversed', 'rejected', 'cancelled')),
    refund_ref    TEXT    NOT NULL DEFAULT '',
    utr           TEXT    NOT NULL DEFAULT '',
    provider_code TEXT    NOT NULL DEFAULT '',
    message       TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    sent_at       INTEGER,
    maker_id      INTEGER NOT NULL REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX va_refunds_credit ON va_refunds(credit_id, created_at);
CREATE INDEX va_refunds_open ON va_refunds(state, updated_at) WHERE state IN ('approved', 'unknown', 'processing');

-- The timeline of accounts, credits and refunds: subject is "va:<number>",
-- "credit:<id>" or "refund:<id>".
CREATE TABLE va_events (
    id            INTEGER PRIMARY KEY,
    subject       TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    state         TEXT    NOT NULL DEFAULT '',
    provider_code TEXT    NOT NULL DEFAULT '',
    message       TEXT    NOT NULL DEFAULT '',
    utr           TEXT    NOT NULL DEFAULT '',
    actor         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX va_events_subject ON va_events(subject, id);

-- Creating, changing and closing an account needs one checker; a refund is
-- money out, banded like payouts.
INSERT INTO approval_rules (kind, min_paise, max_paise, approvals, role, created_at, updated_at) VALUES
    ('va_create', 0,         NULL,      1, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('va_modify', 0,         NULL,      1, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('va_delete', 0,         NULL,      1, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('va_refund', 0,         100000000, 1, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('va_refund', 100000001, NULL,      2, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
