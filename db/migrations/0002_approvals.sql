-- The maker-checker approval engine: rules, requests and decisions.
-- See db/approvals.go and db/approval_rules.go.

-- How many distinct approvers of which role a request of a kind needs, per
-- amount band. The bands of one kind cover 0 upward without gaps or overlaps
-- (checked in Go when an admin changes them; the unique index is the floor).
CREATE TABLE approval_rules (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    min_paise  INTEGER NOT NULL DEFAULT 0 CHECK (min_paise >= 0),
    -- Inclusive upper bound; NULL = no upper limit.
    max_paise  INTEGER CHECK (max_paise IS NULL OR max_paise >= min_paise),
    approvals  INTEGER NOT NULL CHECK (approvals BETWEEN 1 AND 5),
    role       TEXT    NOT NULL CHECK (role IN ('checker', 'admin')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX approval_rules_kind_min ON approval_rules(kind, min_paise);

-- Defaults: a payout up to ₹10,00,000 needs one checker, above that two; a
-- change of these rules needs one other admin.
INSERT INTO approval_rules (kind, min_paise, max_paise, approvals, role, created_at, updated_at) VALUES
    ('payout',        0,         100000000, 1, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('payout',        100000001, NULL,      2, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('approval_rule', 0,         NULL,      1, 'admin',   CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- One request for a change of some kind to some target. The rule in force at
-- proposal time is snapshotted (required_approvals, required_role), so a later
-- rule change never moves the goal posts of a request already waiting; rule_id
-- is informational and deliberately not a foreign key, because changing the
-- rules replaces their rows.
CREATE TABLE approval_requests (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT    NOT NULL,
    target_id          TEXT    NOT NULL,
    amount_paise       INTEGER CHECK (amount_paise IS NULL OR amount_paise >= 0),
    summary            TEXT    NOT NULL,
    payload            TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    maker_id           INTEGER NOT NULL REFERENCES users(id),
    state              TEXT    NOT NULL DEFAULT 'pending_approval'
                       CHECK (state IN ('pending_approval', 'approved', 'rejected', 'expired', 'cancelled')),
    rule_id            INTEGER,
    required_approvals INTEGER NOT NULL CHECK (required_approvals BETWEEN 1 AND 5),
    required_role      TEXT    NOT NULL CHECK (required_role IN ('checker', 'admin')),
    approvals          INTEGER NOT NULL DEFAULT 0 CHECK (approvals >= 0),
    reason             TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    decided_at         INTEGER,
    expires_at         INTEGER NOT NULL
);
-- The approval queue: pending requests newest/oldest first, by kind, by amount.
CREATE INDEX approval_requests_queue ON approval_requests(state, created_at, id);
CREATE INDEX approval_requests_kind ON approval_requests(state, kind, created_at, id);
CREATE INDEX approval_requests_amount ON approval_requests(state, amount_paise, id);
-- The expiry sweep and "my requests".
CREATE INDEX approval_requests_expiry ON approval_requests(state, expires_at);
CREATE INDEX approval_requests_maker ON approval_requests(maker_id, state, created_at);
-- A target has at most one request waiting per kind.
CREATE UNIQUE INDEX approval_requests_one_pending ON approval_requests(kind, target_id)
    WHERE state = 'pending_approval';

-- Who decided what. The primary key makes "an approver counts once" a fact of
-- the database, not only of the Go code.
CREATE TABLE approval_decisions (
    request_id INTEGER NOT NULL REFERENCES approval_requests(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    decision   TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason     TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL,
    PRIMARY KEY (request_id, user_id)
) WITHOUT ROWID;
