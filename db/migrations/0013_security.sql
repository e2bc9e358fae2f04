-- Reliability and security (issue 15): the sign-in throttle per username and
-- client address (db/login.go); the second factor, its recovery codes and
-- the step-up of a session (db/secondfactor.go).

-- ------------------------------------------------------------ sign-in throttle

-- A failure remembers the address it came from: the throttle counts per
-- (username, client) to lock, and per username only to slow down. Both
-- counts read login_failures_user_at: a username's failures in the window
-- are few (each address is locked after four).
ALTER TABLE login_failures ADD COLUMN client TEXT NOT NULL DEFAULT '';

-- A lock holds a username for one client address only. The old per-username
-- locks are dropped with their table: they end within 15 minutes anyway.
DROP TABLE login_locks;
CREATE TABLE login_locks (
    username     TEXT    NOT NULL COLLATE NOCASE,
    client       TEXT    NOT NULL,
    locked_at    INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    PRIMARY KEY (username, client)
) WITHOUT ROWID;

-- ------------------------------------------------------------ second factor

-- One TOTP secret per user, sealed (AES-GCM under a key derived from the
-- session key, bound to the user id). confirmed_at is NULL while enrolment
-- waits for its first code. last_step is the last 30-second step whose code
-- was accepted: a code is good once.
CREATE TABLE second_factors (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret       BLOB    NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

-- Single-use recovery codes, as HMAC-SHA-256 under a derived key.
CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

-- Wrong codes, for the per-user rate limit.
CREATE TABLE second_factor_failures (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at      INTEGER NOT NULL
);
CREATE INDEX second_factor_failures_user_at ON second_factor_failures(user_id, at);

-- When this session last typed a code: for StepUpWindow after, it may make
-- decisions that need one.
ALTER TABLE sessions ADD COLUMN stepped_up_at INTEGER;

-- Paydesk-wide settings an admin changes through an approval: deciding a
-- request above step_up_above_paise needs a fresh code (₹10,00,000).
CREATE TABLE security_settings (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    step_up_above_paise INTEGER NOT NULL CHECK (step_up_above_paise >= 0),
    updated_at          INTEGER NOT NULL
);
INSERT INTO security_settings (id, step_up_above_paise, updated_at) VALUES (1, 100000000, 0);

-- The new governance kinds need one other admin, as rule changes do.
INSERT INTO approval_rules (kind, min_paise, max_paise, approvals, role, created_at, updated_at) VALUES
    ('second_factor_reset', 0, NULL, 1, 'admin', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('step_up_band',        0, NULL, 1, 'admin', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
