-- Reliability and security (issue 15): the sign-in throttle per username and
-- client address. See db/login.go.

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
