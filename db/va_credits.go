package db

// Incoming credits to virtual accounts, exactly once.
//
// The bank hands out credits in batches of up to 100 and repeats a batch
// until it is acknowledged. Paydesk stores every record of a batch, the
// batch itself and the accounts' and days' sums in one transaction, and only
// then acknowledges. A crash between the two brings the same batch back:
// va_credits_txn (a unique index on the bank's reference) makes the second
// store insert nothing, and the sums move only for rows that were inserted.
// A credit to an account Paydesk does not know, or no longer holds open,
// is stored unmatched and waits on the unmatched list for an admin.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"paydesk/providers"
)

// Credit states.
const (
	CreditMatched   = "matched"
	CreditUnmatched = "unmatched"
	CreditAttached  = "attached" // unmatched, then attached by an admin
)

// CreditStates lists the states, for filter menus.
var CreditStates = []string{CreditMatched, CreditUnmatched, CreditAttached}

// Credit is money a payer sent to a virtual account.
type Credit struct {
	ID              int64
	TxnRef          string
	BatchID         string
	UTR             string
	VANumber        string // as the bank sent it
	Account         string // the account it is attributed to; "" unmatched
	AccountName     string
	ContactID       string
	ContactName     string
	State           string
	AmountPaise     int64
	RefundedPaise   int64 // taken by refunds waiting, approved or done
	RemitterName    string
	RemitterAccount string
	RemitterIFSC    string
	Mode            string
	CreditedAt      time.Time
	ReceivedAt      time.Time
}

// RefundablePaise is what may still be refunded.
func (c Credit) RefundablePaise() int64 { return c.AmountPaise - c.RefundedPaise }

// IngestResult counts what one ingest did.
type IngestResult struct {
	Batches int // batches stored and acknowledged
	Records int // records the bank handed out
	New     int // credits stored for the first time
}

// maxIngestBatches bounds one ingest, so the loop sweeps in between.
const maxIngestBatches = 1000

// Ingest fetches, stores and acknowledges batches until the bank has none
// left (or maxIngestBatches). An error leaves the batch unacknowledged: it
// comes back, and storing it again stores nothing twice.
func (v *VirtualAccounts) Ingest(ctx context.Context) (IngestResult, error) {
	var res IngestResult
	if v.prov == nil {
		return res, nil
	}
	// Acknowledged batches are marked so in the next store's transaction:
	// one commit a batch, not two.
	var acked []string
	defer func() {
		if len(acked) > 0 {
			if err := v.markAcked(context.WithoutCancel(ctx), v.db.write, acked); err != nil {
				v.opts.Logger.Warn("marking batches acknowledged", "err", err)
			}
		}
	}()
	for range maxIngestBatches {
		b, err := v.prov.FetchCredits(ctx)
		if err != nil {
			return res, fmt.Errorf("fetch credits: %w", err)
		}
		if b.BatchID == "" || len(b.Credits) == 0 {
			return res, nil
		}
		n, err := v.storeBatch(ctx, b, acked)
		if err != nil {
			return res, err
		}
		acked = nil
		if err := v.prov.AcknowledgeCredits(ctx, b); err != nil {
			return res, fmt.Errorf("acknowledge batch %s: %w", b.BatchID, err)
		}
		acked = append(acked, b.BatchID)
		res.Batches++
		res.Records += len(b.Credits)
		res.New += n
	}
	return res, nil
}

func (v *VirtualAccounts) markAcked(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, ids []string) error {
	for _, id := range ids {
		if _, err := q.ExecContext(ctx, `UPDATE va_credit_batches SET acked_at = ? WHERE batch_id = ? AND acked_at IS NULL`,
			v.db.nowMS(), id); err != nil {
			return fmt.Errorf("db: batch acknowledged: %w", err)
		}
	}
	return nil
}

// StoreBatch stores a batch's credits in one transaction and returns how
// many were new. Storing a batch again stores nothing again.
func (v *VirtualAccounts) StoreBatch(ctx context.Context, b providers.CreditBatch) (int, error) {
	return v.storeBatch(ctx, b, nil)
}

// storeBatch is StoreBatch, also marking the batches acked as acknowledged.
func (v *VirtualAccounts) storeBatch(ctx context.Context, b providers.CreditBatch, acked []string) (int, error) {
	tx, err := v.db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := v.markAcked(ctx, tx, acked); err != nil {
		return 0, err
	}
	now := v.db.nowMS()
	type sum struct {
		count int
		paise int64
		last  int64
	}
	type sumKey struct{ day, mode, state string }
	type row struct {
		c     providers.Credit
		state string
		va    string
		at    int64
	}
	rows := make(map[string]row, len(b.Credits))
	known := map[string]VirtualAccount{}
	// One statement for the batch: the rows a delivery before stored are
	// skipped by the unique index, and RETURNING names those inserted now.
	var q strings.Builder
	q.WriteString(`INSERT INTO va_credits (txn_ref, batch_id, utr, va_number, account, contact_id, state,
		amount_paise, remitter_name, remitter_account, remitter_ifsc, mode, credited_at, received_at) VALUES `)
	args := make([]any, 0, 14*len(b.Credits))
	for i, c := range b.Credits {
		a, ok := known[c.VirtualAccount]
		if !ok {
			a, err = getVA(ctx, tx, c.VirtualAccount)
			if err != nil && ErrorCode(err) != ENOTFOUND {
				return 0, err
			}
			known[c.VirtualAccount] = a
		}
		state, account, contact := CreditUnmatched, any(nil), any(nil)
		if a.Number != "" && a.State.takesCredits() {
			state, account, contact = CreditMatched, a.Number, nullString(a.ContactID)
		}
		at := c.CreditedAt
		if at.IsZero() {
			at = v.db.Now()
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, c.TxnRef, b.BatchID, c.UTR, c.VirtualAccount, account, contact, state, c.AmountPaise,
			c.RemitterName, c.RemitterAccount, c.RemitterIFSC, string(c.Mode), at.UnixMilli(), now)
		rows[c.TxnRef] = row{c: c, state: state, va: a.Number, at: at.UnixMilli()}
	}
	q.WriteString(" ON CONFLICT (txn_ref) DO NOTHING RETURNING txn_ref")
	inserted, err := queryAll(ctx, tx, "store credits", scanValue[string], q.String(), args...)
	if err != nil {
		return 0, fmt.Errorf("db: store batch %s: %w", b.BatchID, err)
	}
	accounts := map[string]*sum{}
	days := map[sumKey]*sum{}
	fresh, unmatched := len(inserted), 0
	for _, ref := range inserted {
		r := rows[ref]
		if r.state == CreditMatched {
			s := accounts[r.va]
			if s == nil {
				s = &sum{}
				accounts[r.va] = s
			}
			s.count++
			s.paise += r.c.AmountPaise
			s.last = max(s.last, r.at)
		} else {
			unmatched++
		}
		key := sumKey{ISTDay(time.UnixMilli(r.at)), string(r.c.Mode), r.state}
		d := days[key]
		if d == nil {
			d = &sum{}
			days[key] = d
		}
		d.count++
		d.paise += r.c.AmountPaise
	}
	for number, s := range accounts {
		if err := addToAccount(ctx, tx, number, s.count, s.paise, s.last); err != nil {
			return 0, err
		}
	}
	for k, s := range days {
		if err := addToSums(ctx, tx, k.day, k.mode, k.state, s.count, s.paise); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO va_credit_batches (batch_id, records, new_records, stored_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (batch_id) DO UPDATE SET new_records = new_records + excluded.new_records`, b.BatchID, len(b.Credits), fresh, now); err != nil {
		return 0, fmt.Errorf("db: credit batch: %w", err)
	}
	if fresh > 0 {
		if err := v.db.audit(ctx, tx, SystemActor, "va.credits_stored", "va_credit_batch", b.BatchID, map[string]any{
			"records": len(b.Credits), "new": fresh, "unmatched": unmatched}); err != nil {
			return 0, err
		}
	}
	return fresh, tx.Commit()
}

// addToSums adds credits (or, negative, takes them away) to a day's sums.
func addToSums(ctx context.Context, tx *sql.Tx, day, mode, state string, count int, paise int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO va_credit_sums (day, mode, state, paise, count) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (day, mode, state) DO UPDATE SET paise = paise + excluded.paise, count = count + excluded.count`,
		day, mode, state, paise, count); err != nil {
		return fmt.Errorf("db: credit sums: %w", err)
	}
	return nil
}

// addToAccount adds credits to an account's sums.
func addToAccount(ctx context.Context, tx *sql.Tx, number string, count int, paise, last int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE virtual_accounts SET credits = credits + ?, credits_paise = credits_paise + ?,
		last_credit_at = max(coalesce(last_credit_at, 0), ?) WHERE number = ?`, count, paise, last, number); err != nil {
		return fmt.Errorf("db: account sums: %w", err)
	}
	return nil
}

// ---- reading ----

const creditColumns = `k.id, k.txn_ref, k.batch_id, k.utr, k.va_number, coalesce(k.account, ''), coalesce(a.name, ''),
	coalesce(k.contact_id, ''), coalesce(c.company_name, ''), k.state, k.amount_paise, k.refunded_paise, k.remitter_name,
	k.remitter_account, k.remitter_ifsc, k.mode, k.credited_at, k.received_at`

const creditFrom = ` FROM va_credits k LEFT JOIN virtual_accounts a ON a.number = k.account LEFT JOIN contacts c ON c.id = k.contact_id`

func scanCredit(s scanner) (Credit, error) {
	var k Credit
	var credited, received int64
	if err := s.Scan(&k.ID, &k.TxnRef, &k.BatchID, &k.UTR, &k.VANumber, &k.Account, &k.AccountName, &k.ContactID, &k.ContactName,
		&k.State, &k.AmountPaise, &k.RefundedPaise, &k.RemitterName, &k.RemitterAccount, &k.RemitterIFSC, &k.Mode,
		&credited, &received); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return k, Errorf(ENOTFOUND, "No such credit.")
		}
		return k, fmt.Errorf("db: scan credit: %w", err)
	}
	k.CreditedAt, k.ReceivedAt = time.UnixMilli(credited), time.UnixMilli(received)
	return k, nil
}

func getCredit(ctx context.Context, q querier, id int64) (Credit, error) {
	return scanCredit(q.QueryRowContext(ctx, `SELECT `+creditColumns+creditFrom+` WHERE k.id = ?`, id))
}

// Credit returns one credit.
func (v *VirtualAccounts) Credit(ctx context.Context, id int64) (Credit, error) {
	return getCredit(ctx, v.db.read, id)
}

// CreditTimeline returns a credit's events (attached, refunds), oldest first.
func (v *VirtualAccounts) CreditTimeline(ctx context.Context, id int64) ([]Event, error) {
	return vaTimeline.list(ctx, v.db.read, creditSubject(id))
}

// CreditFilter narrows the credits list. Zero fields match everything.
type CreditFilter struct {
	// Query: a UTR, the bank's reference or a virtual account number
	// exactly, or a remitter name that starts with it; at most
	// MaxVASearch matches on one page.
	Query     string
	Account   string
	State     string
	Mode      string
	ContactID string
	From, To  time.Time // credited
	After     int64     // the id of the last credit of the previous page
	Limit     int       // default 50, at most 500
}

// Credits returns one page of credits, newest first, and whether more follow.
func (v *VirtualAccounts) Credits(ctx context.Context, f CreditFilter) ([]Credit, bool, error) {
	f.Limit = pageLimit(f.Limit, 500)
	w, matches, err := v.creditQuery(ctx, f)
	if err != nil || (strings.TrimSpace(f.Query) != "" && len(matches) == 0) {
		return nil, false, err
	}
	if matches != nil {
		list, err := queryAll(ctx, v.db.read, "credits", scanCredit, `SELECT `+creditColumns+creditFrom+w.where(), w.args...)
		sortCredits(list)
		return list, false, err
	}
	return queryPage(ctx, v.db.read, "credits", f.Limit, scanCredit,
		`SELECT `+creditColumns+creditFrom+w.where()+` ORDER BY k.credited_at DESC, k.id DESC LIMIT ?`, append(w.args, f.Limit+1)...)
}

func sortCredits(list []Credit) {
	slices.SortFunc(list, func(a, b Credit) int {
		if c := b.CreditedAt.Compare(a.CreditedAt); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
}

// EachCredit calls fn for every credit matching f (After and Limit aside),
// in Credits' order: the CSV export.
func (v *VirtualAccounts) EachCredit(ctx context.Context, f CreditFilter, fn func(Credit) error) error {
	f.After = 0
	w, matches, err := v.creditQuery(ctx, f)
	if err != nil || (strings.TrimSpace(f.Query) != "" && len(matches) == 0) {
		return err
	}
	q := `SELECT ` + creditColumns + creditFrom + w.where()
	if matches != nil {
		list, err := queryAll(ctx, v.db.read, "credits", scanCredit, q, w.args...)
		if err != nil {
			return err
		}
		sortCredits(list)
		return eachOf(list, fn)
	}
	return eachRow(ctx, v.db.read, "credits export", scanCredit, fn, q+` ORDER BY k.credited_at DESC, k.id DESC`, w.args...)
}

// CreditTotals is the count and sum of a filtered set.
type CreditTotals struct {
	Count int
	Paise int64
}

// CreditTotals sums the credits matching f. Filters of days (whole IST
// days, as the page's dates are), mode and state read the per-day sums; an
// account alone, the account's own; anything else, the matching rows.
func (v *VirtualAccounts) CreditTotals(ctx context.Context, f CreditFilter) (CreditTotals, error) {
	var t CreditTotals
	switch {
	case f.Query == "" && f.Account == "" && f.ContactID == "":
		var w conditions
		if !f.From.IsZero() {
			w.add("day >= ?", ISTDay(f.From))
		}
		if !f.To.IsZero() {
			w.add("day < ?", ISTDay(f.To))
		}
		if f.Mode != "" {
			w.add("mode = ?", f.Mode)
		}
		if f.State != "" {
			w.add("state = ?", f.State)
		}
		err := v.db.read.QueryRowContext(ctx, `SELECT coalesce(sum(count), 0), coalesce(sum(paise), 0) FROM va_credit_sums`+w.where(),
			w.args...).Scan(&t.Count, &t.Paise)
		if err != nil {
			return t, fmt.Errorf("db: credit totals: %w", err)
		}
		return t, nil
	case f.Account != "" && f.Query == "" && f.State == "" && f.Mode == "" && f.ContactID == "" && f.From.IsZero() && f.To.IsZero():
		a, err := getVA(ctx, v.db.read, f.Account)
		if ErrorCode(err) == ENOTFOUND {
			return t, nil
		}
		return CreditTotals{Count: a.Credits, Paise: a.CreditsPaise}, err
	}
	w, matches, err := v.creditQuery(ctx, f)
	if err != nil || (strings.TrimSpace(f.Query) != "" && len(matches) == 0) {
		return t, err
	}
	if err := v.db.read.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(k.amount_paise), 0) FROM va_credits k`+w.where(),
		w.args...).Scan(&t.Count, &t.Paise); err != nil {
		return t, fmt.Errorf("db: credit totals: %w", err)
	}
	return t, nil
}

func (v *VirtualAccounts) creditQuery(ctx context.Context, f CreditFilter) (conditions, []int64, error) {
	var w conditions
	var matches []int64
	if q := strings.TrimSpace(f.Query); q != "" {
		var err error
		if matches, err = v.searchCredits(ctx, q); err != nil || len(matches) == 0 {
			return w, nil, err
		}
		addIn(&w, "k.id", matches)
	}
	if f.Account != "" {
		w.add("k.account = ?", f.Account)
	}
	if f.State != "" {
		w.add("k.state = ?", f.State)
	}
	if f.Mode != "" {
		w.add("k.mode = ?", f.Mode)
	}
	if f.ContactID != "" {
		w.add("k.contact_id = ?", f.ContactID)
	}
	if !f.From.IsZero() {
		w.add("k.credited_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		w.add("k.credited_at < ?", f.To.UnixMilli())
	}
	if f.After != 0 && matches == nil {
		var at int64
		err := v.db.read.QueryRowContext(ctx, `SELECT credited_at FROM va_credits WHERE id = ?`, f.After).Scan(&at)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return w, nil, Errorf(ENOTFOUND, "The page to continue from is gone; start again from the first page.")
		case err != nil:
			return w, nil, fmt.Errorf("db: credits cursor: %w", err)
		}
		w.add("k.credited_at <= ? AND (k.credited_at < ? OR k.id < ?)", at, at, f.After)
	}
	return w, matches, nil
}

// searchCredits finds the credits q names: UTR, bank reference or account
// number exactly, or a remitter whose name starts with q.
func (v *VirtualAccounts) searchCredits(ctx context.Context, q string) ([]int64, error) {
	lo, hi := prefixRange(asciiLower(q))
	up := strings.ToUpper(q)
	lim := strconv.Itoa(MaxVASearch)
	var out []int64
	seen := map[int64]bool{}
	for _, s := range []struct {
		query string
		args  []any
	}{
		{`SELECT id FROM va_credits WHERE txn_ref = ?`, []any{up}},
		{`SELECT id FROM va_credits WHERE utr = ? LIMIT ` + lim, []any{up}},
		{`SELECT id FROM va_credits WHERE va_number = ? ORDER BY id DESC LIMIT ` + lim, []any{up}},
		{`SELECT id FROM va_credits WHERE remitter_name >= ? COLLATE NOCASE AND remitter_name < ? COLLATE NOCASE LIMIT ` + lim, []any{lo, hi}},
	} {
		ids, err := queryAll(ctx, v.db.read, "credit search", scanValue[int64], s.query, s.args...)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !seen[id] && len(out) < MaxVASearch {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// CreditModes lists the rails credits arrive by, for the filter menu.
var CreditModes = []string{"NEFT", "RTGS", "IMPS", "UPI", "IFT"}

// CountUnmatched counts the credits waiting on the unmatched list, up to
// MaxWaitingCount.
func (v *VirtualAccounts) CountUnmatched(ctx context.Context) (int, error) {
	var n int
	if err := v.db.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM va_credits WHERE state = 'unmatched' LIMIT ?)`,
		MaxWaitingCount).Scan(&n); err != nil {
		return 0, fmt.Errorf("db: count unmatched: %w", err)
	}
	return n, nil
}

// CreditsOn returns the count and sum credited on the IST day of t.
func (v *VirtualAccounts) CreditsOn(ctx context.Context, t time.Time) (CreditTotals, error) {
	var c CreditTotals
	err := v.db.read.QueryRowContext(ctx, `SELECT coalesce(sum(count), 0), coalesce(sum(paise), 0) FROM va_credit_sums WHERE day = ?`,
		ISTDay(t)).Scan(&c.Count, &c.Paise)
	if err != nil {
		return c, fmt.Errorf("db: credits today: %w", err)
	}
	return c, nil
}

// ---- attaching an unmatched credit ----

// Attach attributes an unmatched credit to an account (number) or, without
// one, to a contact, as admin; audited. An account given must be one
// Paydesk holds; its contact goes with it.
func (v *VirtualAccounts) Attach(ctx context.Context, admin User, creditID int64, number, contact string) (Credit, error) {
	k, err := v.attachTx(ctx, admin, creditID, strings.ToUpper(strings.TrimSpace(number)), strings.TrimSpace(contact))
	return k, v.approvals.recordRefusal(ctx, admin.Actor(), err)
}

func (v *VirtualAccounts) attachTx(ctx context.Context, admin User, creditID int64, number, contact string) (Credit, error) {
	tx, err := v.db.beginWrite(ctx)
	if err != nil {
		return Credit{}, err
	}
	defer tx.Rollback()
	u, err := getUser(ctx, tx, admin.ID)
	if err != nil {
		return Credit{}, err
	}
	if u.Disabled || !u.HasRole(RoleAdmin) {
		return Credit{}, refuse("attach_credit", ApprovalRequest{Kind: "va_credit", TargetID: strconv.FormatInt(creditID, 10)},
			"Attaching a credit needs the admin role.")
	}
	k, err := getCredit(ctx, tx, creditID)
	if err != nil {
		return Credit{}, err
	}
	if k.State != CreditUnmatched {
		return Credit{}, Errorf(ECONFLICT, "This credit is already %s.", k.State)
	}
	f := fieldErrors{}
	var account any
	contactID := ""
	if number != "" {
		a, err := getVA(ctx, tx, number)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			f.add("number", "No virtual account "+number+" here.")
		case err != nil:
			return Credit{}, err
		default:
			account, contactID = a.Number, a.ContactID
		}
	}
	if contact != "" {
		id, err := contactByIDOrReference(ctx, tx, contact)
		if err != nil {
			return Credit{}, err
		}
		if id == "" {
			f.add("contact", "No contact with this id or reference code.")
		}
		contactID = id
	}
	if number == "" && contact == "" {
		f.add("number", "Give the virtual account or the contact this credit belongs to.")
	}
	if err := f.err(); err != nil {
		return Credit{}, err
	}
	now := v.db.nowMS()
	if _, err := tx.ExecContext(ctx, `UPDATE va_credits SET state = 'attached', account = ?, contact_id = ? WHERE id = ? AND state = 'unmatched'`,
		account, nullString(contactID), creditID); err != nil {
		return Credit{}, fmt.Errorf("db: attach credit: %w", err)
	}
	day := ISTDay(k.CreditedAt)
	if err := addToSums(ctx, tx, day, k.Mode, CreditUnmatched, -1, -k.AmountPaise); err != nil {
		return Credit{}, err
	}
	if err := addToSums(ctx, tx, day, k.Mode, CreditAttached, 1, k.AmountPaise); err != nil {
		return Credit{}, err
	}
	if account != nil {
		if err := addToAccount(ctx, tx, number, 1, k.AmountPaise, k.CreditedAt.UnixMilli()); err != nil {
			return Credit{}, err
		}
		if err := vaTimeline.add(ctx, tx, now, vaSubject(number), "credit_attached", "", "",
			fmt.Sprintf("credit %s of %s (paid to %s) attached by %s", k.TxnRef, rupees(k.AmountPaise), k.VANumber, u.Username), k.UTR, u.Username); err != nil {
			return Credit{}, err
		}
	}
	after, err := getCredit(ctx, tx, creditID)
	if err != nil {
		return Credit{}, err
	}
	msg := "attached to"
	if after.Account != "" {
		msg += " account " + after.Account
	}
	if after.ContactID != "" {
		msg += " contact " + after.ContactID
	}
	if err := vaTimeline.add(ctx, tx, now, creditSubject(creditID), "attached", CreditAttached, "", msg, k.UTR, u.Username); err != nil {
		return Credit{}, err
	}
	if err := v.db.audit(ctx, tx, u.Actor(), "va.credit_attached", "va_credit", strconv.FormatInt(creditID, 10), map[string]any{
		"txn_ref": k.TxnRef, "paid_to": k.VANumber, "amount_paise": k.AmountPaise,
		"change": Change{Before: map[string]any{"state": k.State}, After: map[string]any{"state": after.State, "account": after.Account, "contact_id": after.ContactID}},
	}); err != nil {
		return Credit{}, err
	}
	return after, tx.Commit()
}

// ---- money collected (InflowSource) ----

// InflowName is the channel as a person reads it.
func (v *VirtualAccounts) InflowName() string { return "Virtual account credits" }

// InflowsByDay returns what was credited per IST day in [from, to), from
// the per-day sums.
func (v *VirtualAccounts) InflowsByDay(ctx context.Context, from, to time.Time) ([]DayAmount, error) {
	return queryAll(ctx, v.db.read, "va inflows", func(s scanner) (DayAmount, error) {
		var d DayAmount
		return d, s.Scan(&d.Day, &d.Paise, &d.Count)
	}, `SELECT day, sum(paise), sum(count) FROM va_credit_sums WHERE day >= ? AND day < ? GROUP BY day HAVING sum(count) > 0 ORDER BY day`,
		ISTDay(from), ISTDay(to))
}

var _ InflowSource = (*VirtualAccounts)(nil)
