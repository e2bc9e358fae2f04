-- Users, roles, sessions, login throttling and the audit log.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT    NOT NULL CHECK (role IN ('maker', 'checker', 'admin')),
    PRIMARY KEY (user_id, role)
) WITHOUT ROWID;

-- One row per signed-in browser. The cookie carries only the signed id.
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    data         BLOB,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    user_agent   TEXT    NOT NULL DEFAULT '',
    remote_addr  TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- Login throttling is per username (known or not), never per address.
CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY,
    username TEXT    NOT NULL COLLATE NOCASE,
    at       INTEGER NOT NULL
);
CREATE INDEX login_failures_user_at ON login_failures(username, at);

CREATE TABLE login_locks (
    username     TEXT    PRIMARY KEY COLLATE NOCASE,
    locked_at    INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
) WITHOUT ROWID;

-- Append-only, hash-chained audit log. hash = SHA-256 over prev_hash and the
-- row's content (see db/audit.go).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL DEFAULT '',
    target_id   TEXT    NOT NULL DEFAULT '',
    details     TEXT    NOT NULL DEFAULT '{}',
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_actor ON audit_log(actor, id);
CREATE INDEX audit_action ON audit_log(action, id);
CREATE INDEX audit_target ON audit_log(target_type, target_id, id);
CREATE INDEX audit_at ON audit_log(at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- The chain's head, moved in the same transaction as each append, so that a
-- removed last row is caught too.
CREATE TABLE audit_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id   INTEGER NOT NULL,
    last_hash TEXT    NOT NULL
);
INSERT INTO audit_head (singleton, last_id, last_hash) VALUES (1, 0, '');
