-- Balances with history, reservations and low-balance thresholds, and KS Pay
-- collections (card/UPI through the payment engine) with their analytics.
-- See db/balances.go and db/gateway.go.

-- ---------------------------------------------------------------- balances

-- Every figure a provider reported, one row per change (not per poll), kept
-- forever. confirmed_at is the last poll that still saw this figure.
CREATE TABLE balance_history (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,
    account         TEXT    NOT NULL,
    available_paise INTEGER NOT NULL,
    as_of           INTEGER NOT NULL,
    fetched_at      INTEGER NOT NULL,
    confirmed_at    INTEGER NOT NULL
);
-- The history of one account in time order (charts, CSV of every change).
CREATE INDEX balance_history_source ON balance_history(source, fetched_at, id);

-- Per IST day and account: the figures of the day's changes, kept in the
-- same transaction as the history row, so a chart over a year reads 365 rows.
CREATE TABLE balance_days (
    source      TEXT    NOT NULL,
    day         TEXT    NOT NULL, -- YYYY-MM-DD, IST
    open_paise  INTEGER NOT NULL, -- the figure in force when the day's first change came
    close_paise INTEGER NOT NULL,
    low_paise   INTEGER NOT NULL,
    high_paise  INTEGER NOT NULL,
    changes     INTEGER NOT NULL,
    PRIMARY KEY (source, day)
) WITHOUT ROWID;

-- How the last refresh of each source went, so a page can say a figure is
-- stale and why.
CREATE TABLE balance_status (
    source       TEXT    PRIMARY KEY,
    attempted_at INTEGER NOT NULL,
    ok_at        INTEGER,
    error        TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- The low-balance threshold of an account, set by an admin (a rule change:
-- with two admins another one approves it, see db/balances.go).
CREATE TABLE balance_thresholds (
    source          TEXT    PRIMARY KEY,
    threshold_paise INTEGER NOT NULL CHECK (threshold_paise > 0),
    set_by          TEXT    NOT NULL,
    set_at          INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO approval_rules (kind, min_paise, max_paise, approvals, role, created_at, updated_at) VALUES
    ('balance_threshold', 0, NULL, 1, 'admin', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- When the provider first reported a payout as being executed. From then on
-- a balance fetched later already shows the money gone, so the payout no
-- longer counts as reserved against it (PayMate debits at authorisation).
ALTER TABLE payouts ADD COLUMN processing_at INTEGER;

CREATE TRIGGER payouts_processing_at AFTER UPDATE OF state ON payouts
WHEN new.state = 'processing' AND new.processing_at IS NULL
BEGIN
    UPDATE payouts SET processing_at = new.updated_at WHERE id = new.id;
END;

-- Reserved amounts read the in-flight payouts through payouts_state.

-- Money paid out per IST day and source, kept by triggers in the transaction
-- that makes a payout processed (processed is final: it never moves again).
CREATE TABLE payout_outflow_days (
    source TEXT    NOT NULL,
    day    TEXT    NOT NULL,
    paise  INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (source, day)
) WITHOUT ROWID;

CREATE TRIGGER payouts_outflow_update AFTER UPDATE OF state ON payouts
WHEN new.state = 'processed' AND old.state <> 'processed'
BEGIN
    INSERT INTO payout_outflow_days (source, day, paise, count)
    VALUES (new.source, date(coalesce(new.final_at, new.updated_at) / 1000, 'unixepoch', '+330 minutes'), new.amount_paise, 1)
    ON CONFLICT (source, day) DO UPDATE SET paise = paise + excluded.paise, count = count + 1;
END;

CREATE TRIGGER payouts_outflow_insert AFTER INSERT ON payouts
WHEN new.state = 'processed'
BEGIN
    INSERT INTO payout_outflow_days (source, day, paise, count)
    VALUES (new.source, date(coalesce(new.final_at, new.updated_at) / 1000, 'unixepoch', '+330 minutes'), new.amount_paise, 1)
    ON CONFLICT (source, day) DO UPDATE SET paise = paise + excluded.paise, count = count + 1;
END;

-- ------------------------------------------------------------ KS Pay gateway

-- The provider's catalogue, cached and refreshed in the background.
CREATE TABLE gateway_currencies (
    id           TEXT    PRIMARY KEY,
    code         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    active       INTEGER NOT NULL,
    refreshed_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE gateway_methods (
    id           TEXT    NOT NULL,
    currency_id  TEXT    NOT NULL REFERENCES gateway_currencies(id),
    name         TEXT    NOT NULL,
    active       INTEGER NOT NULL,
    refreshed_at INTEGER NOT NULL,
    PRIMARY KEY (currency_id, id)
) WITHOUT ROWID;

-- One transaction: made here (maker_id set) or imported by the sync (made
-- elsewhere, maker_id NULL). reference_number is the provider's duplicate
-- guard: Paydesk's own id for transactions made here; customer_ref is the
-- maker's own reference (an invoice number), free text.
CREATE TABLE gateway_transactions (
    id                  TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 40),
    reference_number    TEXT    NOT NULL UNIQUE,
    customer_ref        TEXT    NOT NULL DEFAULT '',
    provider_txn_id     TEXT    UNIQUE,
    provider_order_id   TEXT    NOT NULL DEFAULT '',
    provider_payment_id TEXT    NOT NULL DEFAULT '',
    provider_status     TEXT    NOT NULL DEFAULT '',
    currency_id         TEXT    NOT NULL,
    currency_code       TEXT    NOT NULL,
    method_id           TEXT    NOT NULL,
    method_name         TEXT    NOT NULL,
    amount_minor        INTEGER NOT NULL CHECK (amount_minor > 0),
    -- initiating: recorded, not yet known at the provider; unknown: sent,
    -- outcome lost (asked about by reference before anything else).
    status              TEXT    NOT NULL CHECK (status IN ('initiating', 'unknown', 'pending', 'paid', 'failed', 'expired', 'refused')),
    origin              TEXT    NOT NULL CHECK (origin IN ('paydesk', 'imported')),
    description         TEXT    NOT NULL DEFAULT '',
    contact_id          TEXT    REFERENCES contacts(id),
    maker_id            INTEGER REFERENCES users(id),
    order_json          TEXT    NOT NULL DEFAULT '',
    last_error          TEXT    NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    sent_at             INTEGER,
    paid_at             INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
-- The list, newest first, and each filter with the keyset order.
CREATE INDEX gateway_txn_list ON gateway_transactions(created_at, id);
CREATE INDEX gateway_txn_status ON gateway_transactions(status, created_at, id);
CREATE INDEX gateway_txn_method ON gateway_transactions(method_id, created_at, id);
CREATE INDEX gateway_txn_currency ON gateway_transactions(currency_code, created_at, id);
-- An amount range lists largest first, walking this index.
CREATE INDEX gateway_txn_amount ON gateway_transactions(amount_minor, id);

-- Exact search by the maker's reference.
CREATE INDEX gateway_txn_customer_ref ON gateway_transactions(customer_ref) WHERE customer_ref <> '';

-- A transaction's timeline: Paydesk's steps and what KS Pay said.
CREATE TABLE gateway_events (
    id            INTEGER PRIMARY KEY,
    txn_id        TEXT    NOT NULL REFERENCES gateway_transactions(id),
    at            INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    provider_code TEXT    NOT NULL DEFAULT '',
    message       TEXT    NOT NULL DEFAULT '',
    utr           TEXT    NOT NULL DEFAULT '',
    actor         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX gateway_events_txn ON gateway_events(txn_id, id);

-- Analytics per IST day of creation, currency, method and status: the
-- analytics page sums these few rows, never the transactions.
CREATE TABLE gateway_days (
    day           TEXT    NOT NULL,
    currency_code TEXT    NOT NULL,
    method_id     TEXT    NOT NULL,
    method_name   TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    txns          INTEGER NOT NULL,
    amount_minor  INTEGER NOT NULL,
    paid_ms       INTEGER NOT NULL, -- sum of (paid_at - created_at) of paid ones
    PRIMARY KEY (day, currency_code, method_id, status)
) WITHOUT ROWID;

-- Money collected per IST day of payment and currency (the balances page's
-- inflows).
CREATE TABLE gateway_paid_days (
    day           TEXT    NOT NULL,
    currency_code TEXT    NOT NULL,
    txns          INTEGER NOT NULL,
    amount_minor  INTEGER NOT NULL,
    PRIMARY KEY (day, currency_code)
) WITHOUT ROWID;

CREATE TRIGGER gateway_days_insert AFTER INSERT ON gateway_transactions
BEGIN
    INSERT INTO gateway_days (day, currency_code, method_id, method_name, status, txns, amount_minor, paid_ms)
    VALUES (date(new.created_at / 1000, 'unixepoch', '+330 minutes'), new.currency_code, new.method_id, new.method_name, new.status,
            1, new.amount_minor, CASE WHEN new.paid_at IS NOT NULL THEN max(new.paid_at - new.created_at, 0) ELSE 0 END)
    ON CONFLICT (day, currency_code, method_id, status) DO UPDATE SET txns = txns + 1,
        amount_minor = amount_minor + excluded.amount_minor, paid_ms = paid_ms + excluded.paid_ms, method_name = excluded.method_name;
    INSERT INTO gateway_paid_days (day, currency_code, txns, amount_minor)
    SELECT date(new.paid_at / 1000, 'unixepoch', '+330 minutes'), new.currency_code, 1, new.amount_minor
    WHERE new.status = 'paid' AND new.paid_at IS NOT NULL
    ON CONFLICT (day, currency_code) DO UPDATE SET txns = txns + 1, amount_minor = amount_minor + excluded.amount_minor;
END;

CREATE TRIGGER gateway_days_update AFTER UPDATE OF status, paid_at, method_id, currency_code, amount_minor, created_at ON gateway_transactions
WHEN old.status IS NOT new.status OR old.paid_at IS NOT new.paid_at OR old.method_id IS NOT new.method_id
  OR old.currency_code IS NOT new.currency_code OR old.amount_minor IS NOT new.amount_minor OR old.created_at IS NOT new.created_at
BEGIN
    UPDATE gateway_days SET txns = txns - 1, amount_minor = amount_minor - old.amount_minor,
        paid_ms = paid_ms - CASE WHEN old.paid_at IS NOT NULL THEN max(old.paid_at - old.created_at, 0) ELSE 0 END
    WHERE day = date(old.created_at / 1000, 'unixepoch', '+330 minutes') AND currency_code = old.currency_code
      AND method_id = old.method_id AND status = old.status;
    INSERT INTO gateway_days (day, currency_code, method_id, method_name, status, txns, amount_minor, paid_ms)
    VALUES (date(new.created_at / 1000, 'unixepoch', '+330 minutes'), new.currency_code, new.method_id, new.method_name, new.status,
            1, new.amount_minor, CASE WHEN new.paid_at IS NOT NULL THEN max(new.paid_at - new.created_at, 0) ELSE 0 END)
    ON CONFLICT (day, currency_code, method_id, status) DO UPDATE SET txns = txns + 1,
        amount_minor = amount_minor + excluded.amount_minor, paid_ms = paid_ms + excluded.paid_ms, method_name = excluded.method_name;
    UPDATE gateway_paid_days SET txns = txns - 1, amount_minor = amount_minor - old.amount_minor
    WHERE old.status = 'paid' AND old.paid_at IS NOT NULL
      AND day = date(old.paid_at / 1000, 'unixepoch', '+330 minutes') AND currency_code = old.currency_code;
    INSERT INTO gateway_paid_days (day, currency_code, txns, amount_minor)
    SELECT date(new.paid_at / 1000, 'unixepoch', '+330 minutes'), new.currency_code, 1, new.amount_minor
    WHERE new.status = 'paid' AND new.paid_at IS NOT NULL
    ON CONFLICT (day, currency_code) DO UPDATE SET txns = txns + 1, amount_minor = amount_minor + excluded.amount_minor;
END;

-- The sync's progress: once one pass has walked every transaction the
-- provider holds, later passes stop at the recent ones.
CREATE TABLE gateway_sync (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    full_at   INTEGER NOT NULL
);
