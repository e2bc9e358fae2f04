-- Contacts: the vendors and customers Paydesk pays and collects from. See
-- db/contacts.go and db/contact_sync.go.
--
-- Bank details come in two pairs. approved_* are the only ones payouts may
-- use; they are written by the 'contact_bank' approval kind's OnApproved hook
-- and by nothing else. pending_* hold a proposed change while its approval
-- request waits (at most one per contact: the engine's unique index on
-- pending requests per kind and target).
--
-- id is "CT" and 10 characters of A-Z2-7: alphanumeric and 12 long, so it is
-- a valid PayMate ReferenceCode as it stands. reference_code is the contact's
-- ReferenceCode at PayMate: the id for contacts made in Paydesk, PayMate's own
-- (possibly none) for contacts imported from it. It is the dedupe key of the
-- sync, compared without case as PayMate does.
CREATE TABLE contacts (
    id                      TEXT    PRIMARY KEY,
    kind                    TEXT    NOT NULL CHECK (kind IN ('vendor', 'customer')),
    company_name            TEXT    NOT NULL,
    first_name              TEXT    NOT NULL DEFAULT '',
    last_name               TEXT    NOT NULL DEFAULT '',
    email                   TEXT    NOT NULL DEFAULT '',
    mobile                  TEXT    NOT NULL DEFAULT '',
    gstin                   TEXT    NOT NULL DEFAULT '',
    reference_code          TEXT    COLLATE NOCASE,
    approved_account_no     TEXT,
    approved_ifsc           TEXT,
    pending_account_no      TEXT,
    pending_ifsc            TEXT,
    allow_old_while_pending INTEGER NOT NULL DEFAULT 0 CHECK (allow_old_while_pending IN (0, 1)),
    sync_state              TEXT    NOT NULL DEFAULT 'unsynced' CHECK (sync_state IN ('unsynced', 'synced', 'failed')),
    sync_error              TEXT    NOT NULL DEFAULT '',
    provider_id             TEXT,
    virtual_account_no      TEXT    NOT NULL DEFAULT '',
    virtual_ifsc            TEXT    NOT NULL DEFAULT '',
    created_by              INTEGER REFERENCES users(id),   -- NULL: imported by Paydesk itself
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    CHECK ((approved_account_no IS NULL) = (approved_ifsc IS NULL)),
    CHECK ((pending_account_no IS NULL) = (pending_ifsc IS NULL))
);
-- The list, sorted by company then id, and its search.
CREATE INDEX contacts_company ON contacts(company_name COLLATE NOCASE, id);
CREATE INDEX contacts_account ON contacts(approved_account_no);
CREATE INDEX contacts_pending_account ON contacts(pending_account_no);
CREATE INDEX contacts_ifsc ON contacts(approved_ifsc);
CREATE UNIQUE INDEX contacts_reference ON contacts(reference_code) WHERE reference_code IS NOT NULL;
CREATE UNIQUE INDEX contacts_provider ON contacts(provider_id) WHERE provider_id IS NOT NULL;
-- The sync's work list.
CREATE INDEX contacts_sync ON contacts(sync_state, id);

-- A change of a contact's bank details needs one checker. It has no amount,
-- so its one band starts at 0.
INSERT INTO approval_rules (kind, min_paise, max_paise, approvals, role, created_at, updated_at) VALUES
    ('contact_bank', 0, NULL, 1, 'checker', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
