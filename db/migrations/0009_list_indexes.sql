-- Indexes for the lists at volume (issue 14). Each one is needed by a query
-- in db/queryplan_test.go, which fails, naming the query, if it is dropped.

-- Contact search (contacts.go search): a person's names by prefix, as
-- SQLite's lower() folds them (the same as LIKE); a company name's prefix is
-- a range of contacts_company itself; a branch's contacts (IFSC, approved or
-- pending) in the list's order.
CREATE INDEX contacts_full_name_key ON contacts(lower(first_name || ' ' || last_name));
CREATE INDEX contacts_last_name_key ON contacts(lower(last_name));
DROP INDEX contacts_ifsc;
CREATE INDEX contacts_ifsc ON contacts(approved_ifsc, company_name COLLATE NOCASE, id);
CREATE INDEX contacts_pending_ifsc ON contacts(pending_ifsc, company_name COLLATE NOCASE, id);

-- The queue's text filter: the words of each waiting request's summary and
-- target (db/search.go searchTerms: split at white space, ASCII letters
-- lower-cased), by word for the matches and by request for the walk that
-- checks a page's rows. Kept only while a request waits.
CREATE TABLE approval_words (
    word       TEXT    NOT NULL,
    request_id INTEGER NOT NULL REFERENCES approval_requests(id),
    PRIMARY KEY (word, request_id)
) WITHOUT ROWID;
CREATE INDEX approval_words_request ON approval_words(request_id, word);

-- Requests already waiting get their words the way searchTerms makes them.
INSERT OR IGNORE INTO approval_words (word, request_id)
WITH RECURSIVE split(request_id, word, rest) AS (
    SELECT id, '', lower(replace(replace(replace(summary || ' ' || target_id, char(9), ' '), char(10), ' '), char(13), ' ')) || ' '
    FROM approval_requests WHERE state = 'pending_approval'
    UNION ALL
    SELECT request_id, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
    FROM split WHERE rest <> ''
)
SELECT word, request_id FROM split WHERE word <> '';

-- What waits on whom: one row for each pending request and each person who
-- may still decide it (holds its required role, is enabled, did not propose
-- it, has not decided it). db/approvals_waiting.go keeps it in the
-- transactions that propose, decide and end requests and that change a
-- person's roles, so the queue, its filters and its count read one person's
-- rows in the order they show them, however many others wait.
-- amount_sort is coalesce(amount_paise, -1): requests without an amount
-- sort below every real amount.
CREATE TABLE approval_waiting (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    request_id  INTEGER NOT NULL REFERENCES approval_requests(id),
    kind        TEXT    NOT NULL,
    amount_sort INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, request_id)
) WITHOUT ROWID;
CREATE INDEX approval_waiting_newest ON approval_waiting(user_id, created_at, request_id);
CREATE INDEX approval_waiting_kind ON approval_waiting(user_id, kind, created_at, request_id);
CREATE INDEX approval_waiting_amount ON approval_waiting(user_id, amount_sort, request_id);
CREATE INDEX approval_waiting_request ON approval_waiting(request_id);
-- The count: one person's requests still within their time.
CREATE INDEX approval_waiting_live ON approval_waiting(user_id, expires_at);

INSERT INTO approval_waiting (user_id, request_id, kind, amount_sort, created_at, expires_at)
SELECT u.id, r.id, r.kind, coalesce(r.amount_paise, -1), r.created_at, r.expires_at
FROM approval_requests r
JOIN user_roles ur ON ur.role = r.required_role
JOIN users u ON u.id = ur.user_id AND u.disabled = 0
WHERE r.state = 'pending_approval' AND r.maker_id <> u.id
  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.request_id = r.id AND d.user_id = u.id);

-- Payouts: each filter of the list in its order (newest first, the id
-- breaking ties); the needs-attention list and the dispatcher's janitor read
-- each state in the order they were last changed.
DROP INDEX payouts_maker;
CREATE INDEX payouts_maker ON payouts(maker_id, created_at, id);
DROP INDEX payouts_batch;
CREATE INDEX payouts_batch ON payouts(batch_id, created_at, id) WHERE batch_id IS NOT NULL;
DROP INDEX payouts_contact;
CREATE INDEX payouts_contact ON payouts(contact_id, created_at, id) WHERE contact_id IS NOT NULL;
DROP INDEX payouts_stuck;
CREATE INDEX payouts_changed ON payouts(state, updated_at, id);

-- Collections and vendor requests: the search's names by prefix, as lower()
-- folds them, and the codes it matches exactly.
CREATE INDEX collection_requests_payer_key ON collection_requests(lower(payer_name));
CREATE INDEX collection_requests_email_key ON collection_requests(lower(payer_email));
CREATE INDEX collection_requests_provider_ref ON collection_requests(provider_ref);
CREATE INDEX collection_requests_utr ON collection_requests(utr);
CREATE INDEX vendor_requests_name_key ON vendor_requests(lower(vendor_name));
CREATE INDEX vendor_requests_order ON vendor_requests(order_id);
CREATE INDEX vendor_requests_provider_ref ON vendor_requests(provider_ref);

-- The audit log: a target named by its id, or by its type alone.
CREATE INDEX audit_target_id ON audit_log(target_id, id);
CREATE INDEX audit_target_type ON audit_log(target_type, id);

-- The sweep: sessions idle too long.
CREATE INDEX sessions_last_seen ON sessions(last_seen_at);

-- Bank-side decisions to send, in the order they were made.
CREATE INDEX bank_pending_decided ON bank_pending(state, decided_at, id);
-- An amount range that few payouts fall in (Payouts.List), alone or within
-- a state.
CREATE INDEX payouts_amount ON payouts(amount_paise);
CREATE INDEX payouts_state_amount ON payouts(state, amount_paise);

-- Contacts: each filter of the list in its order (company, then id).
CREATE INDEX contacts_kind ON contacts(kind, company_name COLLATE NOCASE, id);
CREATE INDEX contacts_without_bank ON contacts(company_name COLLATE NOCASE, id) WHERE approved_account_no IS NULL;
DROP INDEX contacts_sync;
CREATE INDEX contacts_sync ON contacts(sync_state, company_name COLLATE NOCASE, id);

-- The queue reads approval_waiting now; these served its walks of every
-- pending request. approval_requests_maker stays for "my proposals", the
-- expiry index for the sweep.
DROP INDEX approval_requests_queue;
DROP INDEX approval_requests_kind;
DROP INDEX approval_requests_amount;
DROP INDEX approval_requests_amount_sort;
-- Nothing looks these up: a target is found by its id (audit_target_id),
-- and items and vendor requests by their own ids.
DROP INDEX audit_target;
DROP INDEX bank_pending_request;
DROP INDEX vendor_requests_payout;
-- The sweep: sign-in failures past the throttle's window.
CREATE INDEX login_failures_at ON login_failures(at);
