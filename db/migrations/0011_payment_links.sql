-- Invoice templates and payment links (NTT DATA link-based payments). See
-- db/links.go.

-- The merchant's templates, as Get Template and Get Template Details last
-- said. Made in the provider's console; Paydesk reads and uses them. fields
-- is the fields as JSON (providers.TemplateField); version counts the
-- changes Paydesk saw. A template gone from the console stays, inactive, so
-- old links still name it.
CREATE TABLE link_templates (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    currency      TEXT    NOT NULL DEFAULT 'INR',
    fields        TEXT    NOT NULL DEFAULT '[]',
    min_paise     INTEGER NOT NULL DEFAULT 0,
    max_paise     INTEGER NOT NULL DEFAULT 0,
    -- Why the template cannot be used now (no details at the provider …).
    problem       TEXT    NOT NULL DEFAULT '',
    active        INTEGER NOT NULL DEFAULT 1,
    version       INTEGER NOT NULL DEFAULT 1,
    refreshed_at  INTEGER NOT NULL,
    changed_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- One refresh's outcome, for the page.
CREATE TABLE link_template_refresh (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    attempted_at INTEGER NOT NULL,
    ok_at        INTEGER,
    error        TEXT    NOT NULL DEFAULT ''
);

-- One payment link. id is Paydesk's and the provider's merchantTxnId (its
-- duplicate guard). fields holds the template fields as sent (name, label,
-- value), so a later change of the template leaves the link as it was.
-- action is what Paydesk is doing at the provider for it now (resend,
-- cancel); action_seq numbers the actions, action_sent_at is set just
-- before the call (a crash after it leaves the outcome unknown).
CREATE TABLE payment_links (
    id                TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 35),
    template_id       TEXT    NOT NULL REFERENCES link_templates(id),
    template_name     TEXT    NOT NULL,
    contact_id        TEXT    REFERENCES contacts(id),
    customer_name     TEXT    NOT NULL,
    customer_email    TEXT    NOT NULL DEFAULT '',
    customer_mobile   TEXT    NOT NULL DEFAULT '',
    send_by           TEXT    NOT NULL CHECK (send_by IN ('email', 'sms', 'email_sms', 'none')),
    amount_paise      INTEGER NOT NULL CHECK (amount_paise > 0),
    due_date          TEXT    NOT NULL, -- YYYY-MM-DD, IST: payable until that day ends
    fields            TEXT    NOT NULL DEFAULT '[]',
    state             TEXT    NOT NULL CHECK (state IN ('creating', 'sent', 'resent', 'paid', 'cancelled', 'expired', 'failed')),
    invoice_no        TEXT    UNIQUE,
    url               TEXT    NOT NULL DEFAULT '',
    provider_code     TEXT    NOT NULL DEFAULT '',
    provider_message  TEXT    NOT NULL DEFAULT '',
    action            TEXT    NOT NULL DEFAULT '' CHECK (action IN ('', 'resend', 'cancel')),
    action_seq        INTEGER NOT NULL DEFAULT 0,
    action_sent_at    INTEGER,
    cancel_request_id INTEGER,
    resends           INTEGER NOT NULL DEFAULT 0,
    bank_ref          TEXT    NOT NULL DEFAULT '',
    paid_at           INTEGER,
    final_at          INTEGER,
    last_error        TEXT    NOT NULL DEFAULT '',
    attempts          INTEGER NOT NULL DEFAULT 0,
    sent_at           INTEGER,
    batch_id          TEXT,
    maker_id          INTEGER REFERENCES users(id),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- The list, newest first, and each filter with the keyset order.
CREATE INDEX payment_links_list ON payment_links(created_at, id);
CREATE INDEX payment_links_state ON payment_links(state, created_at, id);
CREATE INDEX payment_links_template ON payment_links(template_id, created_at, id);
CREATE INDEX payment_links_contact ON payment_links(contact_id, created_at, id) WHERE contact_id IS NOT NULL;
-- An amount range lists largest first; a due range soonest first.
CREATE INDEX payment_links_amount ON payment_links(amount_paise, id);
CREATE INDEX payment_links_due ON payment_links(due_date, id);
-- Open links by due date: the expiry sweep and "due this week".
CREATE INDEX payment_links_open_due ON payment_links(due_date, id) WHERE state IN ('sent', 'resent');
-- Exact search by the customer's email, mobile or name.
CREATE INDEX payment_links_email ON payment_links(customer_email) WHERE customer_email <> '';
CREATE INDEX payment_links_mobile ON payment_links(customer_mobile) WHERE customer_mobile <> '';
CREATE INDEX payment_links_customer ON payment_links(customer_name COLLATE NOCASE);
-- Links on their way at the provider: the sweep's work list.
CREATE INDEX payment_links_busy ON payment_links(updated_at) WHERE state = 'creating' OR action <> '';

-- A link's timeline: Paydesk's steps and what the provider said.
CREATE TABLE link_events (
    id            INTEGER PRIMARY KEY,
    link_id       TEXT    NOT NULL REFERENCES payment_links(id),
    at            INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    provider_code TEXT    NOT NULL DEFAULT '',
    message       TEXT    NOT NULL DEFAULT '',
    utr           TEXT    NOT NULL DEFAULT '',
    actor         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX link_events_link ON link_events(link_id, id);

-- Every notification the provider sent that Paydesk accepted, by the
-- provider's id: a second delivery of one changes nothing.
CREATE TABLE link_notifications (
    id           TEXT    PRIMARY KEY,
    link_id      TEXT    NOT NULL REFERENCES payment_links(id),
    status       TEXT    NOT NULL,
    amount_paise INTEGER NOT NULL,
    bank_ref     TEXT    NOT NULL DEFAULT '',
    event_at     INTEGER NOT NULL,
    received_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Per due day, template and state: the list's totals and the home page's
-- "due this week" sum these rows, never the links. Kept by triggers.
CREATE TABLE link_days (
    due_date     TEXT    NOT NULL,
    template_id  TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    links        INTEGER NOT NULL,
    amount_paise INTEGER NOT NULL,
    PRIMARY KEY (due_date, template_id, state)
) WITHOUT ROWID;

-- Per template and state: the totals of the whole list or of a state or
-- template filter, a few dozen rows. Kept by the same triggers.
CREATE TABLE link_totals (
    template_id  TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    links        INTEGER NOT NULL,
    amount_paise INTEGER NOT NULL,
    PRIMARY KEY (template_id, state)
) WITHOUT ROWID;

-- Money collected per IST day of payment (the balances page's inflows and
-- the home page's "paid today").
CREATE TABLE link_paid_days (
    day          TEXT    PRIMARY KEY,
    links        INTEGER NOT NULL,
    amount_paise INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER link_days_insert AFTER INSERT ON payment_links
BEGIN
    INSERT INTO link_days (due_date, template_id, state, links, amount_paise)
    VALUES (new.due_date, new.template_id, new.state, 1, new.amount_paise)
    ON CONFLICT (due_date, template_id, state) DO UPDATE SET links = links + 1, amount_paise = amount_paise + excluded.amount_paise;
    INSERT INTO link_totals (template_id, state, links, amount_paise) VALUES (new.template_id, new.state, 1, new.amount_paise)
    ON CONFLICT (template_id, state) DO UPDATE SET links = links + 1, amount_paise = amount_paise + excluded.amount_paise;
    INSERT INTO link_paid_days (day, links, amount_paise)
    SELECT date(new.paid_at / 1000, 'unixepoch', '+330 minutes'), 1, new.amount_paise
    WHERE new.state = 'paid' AND new.paid_at IS NOT NULL
    ON CONFLICT (day) DO UPDATE SET links = links + 1, amount_paise = amount_paise + excluded.amount_paise;
END;

CREATE TRIGGER link_days_update AFTER UPDATE OF state, paid_at, due_date, template_id, amount_paise ON payment_links
WHEN old.state IS NOT new.state OR old.paid_at IS NOT new.paid_at OR old.due_date IS NOT new.due_date
  OR old.template_id IS NOT new.template_id OR old.amount_paise IS NOT new.amount_paise
BEGIN
    UPDATE link_days SET links = links - 1, amount_paise = amount_paise - old.amount_paise
    WHERE due_date = old.due_date AND template_id = old.template_id AND state = old.state;
    INSERT INTO link_days (due_date, template_id, state, links, amount_paise)
    VALUES (new.due_date, new.template_id, new.state, 1, new.amount_paise)
    ON CONFLICT (due_date, template_id, state) DO UPDATE SET links = links + 1, amount_paise = amount_paise + excluded.amount_paise;
    UPDATE link_totals SET links = links - 1, amount_paise = amount_paise - old.amount_paise
    WHERE template_id = old.template_id AND state = old.state;
    INSERT INTO link_totals (template_id, state, links, amount_paise) VALUES (new.template_id, new.state, 1, new.amount_paise)
    ON CONFLICT (template_id, state) DO UPDATE SET links = links + 1, amount_paise = amount_paise + excluded.amount_paise;
    UPDATE link_paid_days SET links = links - 1, amount_paise = amount_paise - old.amount_paise
    WHERE old.state = 'paid' AND old.paid_at IS NOT NULL AND day = date(old.paid_at / 1000, 'unixepoch', '+330 minutes');
    INSERT INTO link_paid_days (day, links, amount_paise)
    SELECT date(new.paid_at / 1000, 'unixepoch', '+330 minutes'), 1, new.amount_paise
    WHERE new.state = 'paid' AND new.paid_at IS NOT NULL
    ON CONFLICT (day) DO UPDATE SET links = links + 1, amount_paise = amount_paise + excluded.amount_paise;
END;

-- The amount at or above which cancelling a link needs a second person's
-- approval (an admin sets it; with two admins a change is itself approved).
CREATE TABLE link_settings (
    singleton              INTEGER PRIMARY KEY CHECK (singleton = 1),
    cancel_threshold_paise INTEGER NOT NULL CHECK (cancel_threshold_paise > 0),
    set_by                 TEXT    NOT NULL,
    set_at                 INTEGER NOT NULL
);
INSERT INTO link_settings (singleton, cancel_threshold_paise, set_by, set_at)
VALUES (1, 10000000, 'system', CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- Cancelling a large link: one checker confirms. A change of the threshold:
-- one other admin.
INSERT INTO approval_rules (kind, min_paise, max_paise, approvals, role, created_at, updated_at) VALUES
    ('link_cancel', 0, NULL, 1, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('link_cancel_threshold', 0, NULL, 1, 'admin', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
