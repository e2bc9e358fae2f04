package db

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The query-plan test runs every list, search, count and export query that
// a page or a background job issues, against tables of planRows rows, and
// fails on a plan that reads a whole big table or sorts for an ORDER BY. It
// measures nothing: a plan is the same on a fast machine and a slow one.
//
// Each area adds one suite: a function that seeds its tables (fast SQL, see
// seedRows) and returns its cases. A case calls the real store method with
// one filter and sort the UI offers; every statement it runs is traced and
// explained, so the test checks the queries the code issues, not copies.

// A plan line that reads a big table (SCAN t, SCAN t USING INDEX i, SCAN t
// USING COVERING INDEX i, or a SEARCH bounded only by a range, as in
// SEARCH t USING INDEX i (created_at<?), which can read most of it) or
// sorts for an ORDER BY is a problem unless the case allows that exact
// line, with the reason. The walk of a list in its
// own order under LIMIT (newest first, unfiltered) is such a line: allowed
// where it is the list's order, and a defect where a filter no index holds
// makes the walk read every row to fill a page.

// planRows is how many rows each list table gets.
const planRows = 20_000

// bigTable is a table this many rows or more: scanning it is a defect.
const bigTable = 1_000

// maxSteps bounds the work of one statement, in SQLite's virtual-machine
// steps (Statement.Steps), which are the same on every machine. A page of
// rows, a count capped at 1,000 or a sort of fewer than searchSortLimit
// matches each take a few thousand; one pass over a table of planRows takes
// more than this. A plan line can look right and still read every row (a
// walk whose filter no index holds, data that correlates with the order),
// so both are checked. A case whose statement must do more (an export, a
// job over its whole work list) allows "steps" with the reason.
const maxSteps = 40_000

// planCase is one thing a page or a job asks of the database.
type planCase struct {
	// Name says which page or job and which filter or sort ("payouts:
	// state=failed, newest").
	Name string
	Run  func(ctx context.Context) error
	// Allow lists plan lines this case may show, each with the reason, for
	// the rare plan that is right although it looks wrong.
	Allow map[string]string
}

// planSuite seeds an area's tables in fx and returns its cases.
type planSuite func(t *testing.T, fx *planFixture) []planCase

// planSuites lists every area's suite. A new list page adds its suite here.
func planSuites() []planSuite {
	return []planSuite{
		queuePlans,
		payoutPlans,
		contactPlans,
		collectionPlans,
		auditPlans,
		sessionPlans,
		bankSidePlans,
		balancesPlans,
		opsPlans,
		securityPlans,
		vaPlans,
		linksPlans,
	}
}

// planFixture is a traced database with big tables and the people who use
// them.
type planFixture struct {
	DB        *DB
	Approvals *Approvals
	Admin     User
	Maker     User
	Checker   User
	Checker2  User

	log StatementLog
}

// record runs run and returns the statements it issued.
func (fx *planFixture) record(ctx context.Context, run func(context.Context) error) ([]Statement, error) {
	fx.log.Start()
	err := run(ctx)
	return fx.log.Stop(), err
}

// seedRows runs one INSERT … SELECT over the numbers 1..n, available as
// n.i: the fast way to fill a table for plans. The SQL is the area's own,
// so its columns stay next to its schema's owner.
func (fx *planFixture) seedRows(t *testing.T, n int, insertSelect string, args ...any) {
	t.Helper()
	q := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) ` + insertSelect
	if _, err := fx.DB.write.Exec(q, append([]any{n}, args...)...); err != nil {
		t.Fatalf("seed: %v\n%s", err, insertSelect)
	}
}

func newPlanFixture(t *testing.T) *planFixture {
	t.Helper()
	fx := &planFixture{}
	d, err := Open(context.Background(), t.TempDir()+"/plans.db", WithStatementLog(&fx.log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	c := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	d.Now = c.Now
	fx.DB = d
	// plan_check is a kind without hooks, for the cases that decide
	// requests without the payouts behind them.
	fx.Approvals = NewApprovals(d, 0, Kind{Name: "plan_check", Label: "Plan check"})
	fx.Admin = mustCreateUserTB(t, d, "admin", RoleAdmin)
	fx.Maker = mustCreateUserTB(t, d, "maker", RoleMaker)
	fx.Checker = mustCreateUserTB(t, d, "checker", RoleChecker)
	fx.Checker2 = mustCreateUserTB(t, d, "checker2", RoleChecker)
	return fx
}

func mustCreateUserTB(t *testing.T, d *DB, username string, roles ...Role) User {
	t.Helper()
	u, err := d.CreateUser(context.Background(), NewHasher(1), SystemActor, NewUser{
		Username: username, DisplayName: "Plan " + username, Password: testPassword, Roles: roles,
	})
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return u
}

// tracedStatement is one statement of a case.
type tracedStatement struct {
	Case  string
	SQL   string
	Args  []any
	Steps int
	Allow map[string]string
}

// collectPlanStatements seeds every suite, runs every case and returns its
// distinct statements, and the tables' sizes as seeded (cases may delete:
// the sweep does).
func collectPlanStatements(t *testing.T) (*planFixture, []tracedStatement, map[string]int) {
	t.Helper()
	fx := newPlanFixture(t)
	var cases []planCase
	for _, suite := range planSuites() {
		cases = append(cases, suite(t, fx)...)
	}
	sizes := tableSizes(t, fx.DB)
	ctx := context.Background()
	var out []tracedStatement
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.Name] {
			t.Fatalf("two plan cases are named %q", c.Name)
		}
		names[c.Name] = true
		stmts, err := fx.record(ctx, c.Run)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		seen := map[string]bool{}
		n := 0
		for _, s := range stmts {
			if !explainable(s.SQL) || seen[s.SQL] {
				continue
			}
			seen[s.SQL] = true
			n++
			out = append(out, tracedStatement{Case: c.Name, SQL: s.SQL, Args: s.Args, Steps: s.Steps, Allow: c.Allow})
		}
		if n == 0 {
			t.Fatalf("%s ran no query: a case that checks nothing cannot fail", c.Name)
		}
	}
	return fx, out, sizes
}

var explainablePattern = regexp.MustCompile(`(?is)^\s*(SELECT|WITH|UPDATE|DELETE)\b`)

// explainable: the statements whose plans can read a table. Plain INSERTs,
// transactions and pragmas cannot.
func explainable(q string) bool { return explainablePattern.MatchString(q) }

// tableSizes counts the rows of every table.
func tableSizes(t *testing.T, d *DB) map[string]int {
	t.Helper()
	names, err := queryAll(context.Background(), d.read, "tables", scanValue[string],
		`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, n := range names {
		var c int
		if err := d.read.QueryRow(`SELECT count(*) FROM "` + n + `"`).Scan(&c); err != nil {
			continue // virtual tables' shadow tables and the like
		}
		out[n] = c
	}
	return out
}

var aliasPattern = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|UPDATE|INTO)\s+([a-z_][a-z0-9_]*)(?:\s+(?:AS\s+)?([a-z_][a-z0-9_]*))?`)

// aliases maps each name a statement gives a table (its alias, or itself)
// to the table.
func aliases(q string) map[string]string {
	out := map[string]string{}
	keywords := map[string]bool{"where": true, "join": true, "on": true, "left": true, "inner": true, "order": true,
		"group": true, "limit": true, "set": true, "using": true, "natural": true, "cross": true, "union": true, "values": true}
	for _, m := range aliasPattern.FindAllStringSubmatch(q, -1) {
		table := strings.ToLower(m[1])
		out[table] = table
		if a := strings.ToLower(m[2]); a != "" && !keywords[a] {
			out[a] = table
		}
	}
	return out
}

var (
	scanPattern   = regexp.MustCompile(`^SCAN ([a-z_][a-z0-9_]*)`)
	searchPattern = regexp.MustCompile(`^SEARCH ([a-z_][a-z0-9_]*)(?: AS [a-z_][a-z0-9_]*)? USING .*\((.*)\)$`)
)

// rangeOnly reports whether a SEARCH's terms ("a=? AND b>?") hold no
// equality: the search is bounded by a range alone.
func rangeOnly(terms string) bool {
	for _, t := range strings.Split(strings.ReplaceAll(terms, "<expr>", "expr"), " AND ") {
		if i := strings.Index(t, "=?"); i > 0 && t[i-1] != '<' && t[i-1] != '>' {
			return false
		}
	}
	return true
}

// planProblems explains s on q (a connection that sees the schema to test)
// and names each line of its plan that reads a big table whole or sorts
// for an ORDER BY.
func planProblems(ctx context.Context, q querier, sizes map[string]int, s tracedStatement) ([]string, []string, error) {
	plan, err := explainQueryPlan(ctx, q, Statement{SQL: s.SQL, Args: s.Args})
	if err != nil {
		return nil, nil, err
	}
	var problems []string
	names := aliases(s.SQL)
	for _, detail := range plan {
		if _, ok := s.Allow[detail]; ok {
			continue
		}
		if strings.HasPrefix(detail, "USE TEMP B-TREE FOR") && strings.Contains(detail, "ORDER BY") {
			problems = append(problems, detail)
			continue
		}
		m := scanPattern.FindStringSubmatch(detail)
		if m == nil {
			if m = searchPattern.FindStringSubmatch(detail); m == nil || !rangeOnly(m[2]) {
				continue
			}
		}
		table := names[m[1]]
		if table == "" {
			table = m[1]
		}
		if sizes[table] >= bigTable {
			problems = append(problems, detail)
		}
	}
	return plan, problems, nil
}

// TestQueryPlans fails on any query a page or job runs that scans a big
// table or sorts for its ORDER BY. Plans are checked twice: on a database
// that grew since it was opened (no statistics, as after a busy first
// day) and after Open's PRAGMA optimize has analysed it (after a restart).
func TestQueryPlans(t *testing.T) {
	fx, stmts, sizes := collectPlanStatements(t)
	ctx := context.Background()
	// The work each statement did when the cases ran (no statistics yet).
	for _, s := range stmts {
		if _, ok := s.Allow["steps"]; !ok && s.Steps > maxSteps {
			t.Errorf("%s: %d steps, more than %d (a pass over a table)\n  query: %s", s.Case, s.Steps, maxSteps, oneLine(s.SQL))
		}
	}
	check := func(when string) {
		for _, s := range stmts {
			plan, problems, err := planProblems(ctx, fx.DB.read, sizes, s)
			if err != nil {
				t.Errorf("%s (%s): %v\n%s", s.Case, when, err, s.SQL)
				continue
			}
			if len(problems) > 0 {
				t.Errorf("%s (%s): %s\n  query: %s\n  plan:\n    %s", s.Case, when, strings.Join(problems, "; "),
					oneLine(s.SQL), strings.Join(plan, "\n    "))
			}
		}
	}
	check("no statistics")
	if _, err := fx.DB.write.Exec(`PRAGMA optimize=0x10002`); err != nil {
		t.Fatal(err)
	}
	check("after PRAGMA optimize")
	t.Logf("%d statements from %d tables checked", len(stmts), len(sizes))
}

// TestQueryPlansNeedEveryIndex drops each index in turn (inside a
// transaction that is rolled back) and expects some query to need it: an
// index no query needs is dead weight on every write, and an index whose
// query is missing from the suites is a query nobody checks.
func TestQueryPlansNeedEveryIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("explains every statement once per index")
	}
	fx, stmts, sizes := collectPlanStatements(t)
	ctx := context.Background()
	indexes, err := queryAll(ctx, fx.DB.read, "indexes", scanValue[string],
		`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'
			AND tbl_name NOT LIKE 'river%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range indexes {
		if reason, ok := indexesNoListNeeds[idx]; ok {
			if reason == "" {
				t.Errorf("index %s is excused without a reason", idx)
			}
			continue
		}
		tx, err := fx.DB.write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+idx+`"`); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		var needed []string
		for _, s := range stmts {
			// A query that names the index (INDEXED BY) fails without it.
			_, problems, err := planProblems(ctx, tx, sizes, s)
			if (err != nil || len(problems) > 0) && !slices.Contains(needed, s.Case) {
				needed = append(needed, s.Case)
			}
		}
		tx.Rollback()
		if len(needed) == 0 {
			t.Errorf("index %s: no checked query needs it (drop it, or add the query that does to a plan suite)", idx)
		} else {
			t.Logf("index %s is needed by: %s", idx, strings.Join(needed, "; "))
		}
	}
}

// indexesNoListNeeds excuses indexes that serve something other than a
// list, search, count or export query, each with why.
var indexesNoListNeeds = map[string]string{}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

// queuePlans: the approval queue page (every filter and sort, the text
// filter), the count badge on every page, the maker's own proposals, "all
// matching" of a bulk decision, and the expiry sweep.
func queuePlans(t *testing.T, fx *planFixture) []planCase {
	// Pending payout requests from the maker, a few decided ones, some
	// rule-change requests without an amount, listed for both checkers; and
	// a user with both approving roles.
	both := mustCreateUserTB(t, fx.DB, "both", RoleChecker, RoleAdmin)
	now := fx.DB.nowMS()
	fx.seedRows(t, planRows, `INSERT INTO approval_requests
		(kind, target_id, amount_paise, summary, payload, maker_id, state, required_approvals, required_role, created_at, expires_at)
		SELECT CASE WHEN i % 50 = 0 THEN 'approval_rule' WHEN i % 7 = 0 THEN 'plan_check' ELSE 'payout' END, printf('PO%012d', i),
			CASE WHEN i % 50 = 0 THEN NULL ELSE (i * 2654435761) % 250000000 END,
			'Pay ₹' || i || '.00 to ' || json_extract('["Asha Traders","Ravi Kumar","Meera Exports","शर्मा ट्रेडर्स"]', '$[' || (i % 4) || ']')
				|| CASE WHEN i % 1000 = 0 THEN ' Rare' ELSE '' END || ' by NEFT', '{}', ?,
			CASE WHEN i % 10 = 0 THEN 'approved' ELSE 'pending_approval' END, 1,
			CASE WHEN i % 50 = 0 THEN 'admin' ELSE 'checker' END, ? + i * 1000, ? + i * 1000 + 604800000
		FROM n`, fx.Maker.ID, now-planRows*1000, now-planRows*1000)
	// The approved ones were approved by the checker: approval_decisions is
	// a big table too.
	if _, err := fx.DB.write.Exec(`INSERT INTO approval_decisions (request_id, user_id, decision, at)
		SELECT id, ?, 'approve', created_at FROM approval_requests WHERE state = 'approved'`, fx.Checker.ID); err != nil {
		t.Fatal(err)
	}
	// The migration's own backfill lists and indexes what waits.
	for _, q := range []string{
		`INSERT INTO approval_waiting (user_id, request_id, kind, amount_sort, created_at, expires_at)
		 SELECT u.id, r.id, r.kind, coalesce(r.amount_paise, -1), r.created_at, r.expires_at FROM approval_requests r
		 JOIN user_roles ur ON ur.role = r.required_role JOIN users u ON u.id = ur.user_id AND u.disabled = 0
		 WHERE r.state = 'pending_approval' AND r.maker_id <> u.id`,
		`INSERT OR IGNORE INTO approval_words (word, request_id) WITH RECURSIVE split(request_id, word, rest) AS (
		   SELECT id, '', lower(summary || ' ' || target_id) || ' ' FROM approval_requests WHERE state = 'pending_approval'
		   UNION ALL SELECT request_id, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1) FROM split WHERE rest <> '')
		 SELECT word, request_id FROM split WHERE word <> ''`,
		`UPDATE approval_waiting SET words = ` + waitingWordsOf("approval_waiting.request_id") +
			`, word_bits = ` + waitingWordBitsOf("approval_waiting.request_id"),
	} {
		if _, err := fx.DB.write.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	lakh := int64(1_00_000_00)
	five := 5 * lakh
	var cases []planCase
	for _, who := range []struct {
		name string
		u    User
	}{{"checker", fx.Checker}, {"maker", fx.Maker}, {"checker and admin", both}} {
		for _, f := range []struct {
			name string
			f    QueueFilter
		}{
			{"newest", QueueFilter{}},
			{"oldest", QueueFilter{Sort: SortOldest}},
			{"largest first", QueueFilter{Sort: SortAmount}},
			{"₹1–5 lakh, largest first", QueueFilter{Sort: SortAmount, MinPaise: &lakh, MaxPaise: &five}},
			{"₹1–5 lakh, newest", QueueFilter{MinPaise: &lakh, MaxPaise: &five}},
			{"kind=payout", QueueFilter{Kind: PayoutKind}},
			{"kind=approval_rule, oldest", QueueFilter{Kind: RuleChangeKind, Sort: SortOldest}},
			{"maker", QueueFilter{MakerID: fx.Maker.ID}},
			{"older than a day", QueueFilter{CreatedBefore: time.UnixMilli(now).Add(-24 * time.Hour)}},
			{"search a common name", QueueFilter{Query: "asha"}},
			{"search a rare word", QueueFilter{Query: "rare"}},
			{"search two words", QueueFilter{Query: "ravi kum"}},
			{"search Indian script", QueueFilter{Query: "शर्मा"}},
			{"search a payout id", QueueFilter{Query: "PO000000001234"}},
			{"search, largest first", QueueFilter{Query: "meera", Sort: SortAmount}},
		} {
			allowed := map[string]string{}
			if f.f.Query != "" {
				allowed = allow(sortsFewMatches, walk("SEARCH approval_words USING PRIMARY KEY (word>? AND word<?)", fewMatches))
			}
			if f.f.MinPaise != nil && f.f.Sort != SortAmount {
				allowed = allow(allowed, sortsFewMatches)
			}
			cases = append(cases, planCase{Name: fmt.Sprintf("queue (%s): %s", who.name, f.name), Allow: allowed, Run: func(ctx context.Context) error {
				f.f.Limit = 50
				items, _, err := fx.Approvals.Queue(ctx, who.u, f.f)
				if err != nil || len(items) == 0 {
					return err
				}
				f.f.After = items[len(items)-1].ID
				_, _, err = fx.Approvals.Queue(ctx, who.u, f.f)
				return err
			}})
		}
		cases = append(cases,
			planCase{Name: fmt.Sprintf("queue badge (%s): count waiting", who.name), Run: func(ctx context.Context) error {
				_, err := fx.Approvals.CountWaiting(ctx, who.u)
				return err
			}},
			planCase{Name: fmt.Sprintf("queue (%s): my proposals", who.name), Run: func(ctx context.Context) error {
				_, err := fx.Approvals.Proposed(ctx, who.u, 50)
				return err
			}},
			planCase{Name: fmt.Sprintf("queue (%s): all matching ₹1–5 lakh", who.name), Allow: allow(sortsFewMatches, map[string]string{
				"steps": "a bulk decision reads the ids of every match, up to MaxBulkDecisions",
			}), Run: func(ctx context.Context) error {
				// Bounded by when the page was drawn, as the handler does.
				_, err := fx.Approvals.WaitingIDs(ctx, who.u, QueueFilter{MinPaise: &lakh, MaxPaise: &five, CreatedBefore: time.UnixMilli(now + 1)}, MaxBulkDecisions)
				return err
			}})
	}
	// Deciding from the queue: one request, then a page of them at once.
	pick := func(ctx context.Context, n int) ([]int64, error) {
		return fx.Approvals.WaitingIDs(ctx, fx.Checker, QueueFilter{Kind: "plan_check"}, n)
	}
	cases = append(cases, planCase{Name: "queue: approve one request", Run: func(ctx context.Context) error {
		ids, err := pick(ctx, 1)
		if err != nil || len(ids) == 0 {
			return fmt.Errorf("nothing to approve: %v", err)
		}
		_, err = fx.Approvals.Approve(ctx, fx.Checker, ids[0])
		return err
	}}, planCase{Name: "queue: approve a request needing two, both votes", Run: func(ctx context.Context) error {
		// The votes of a request needing more than one approver are
		// counted again at each (standingApprovals).
		ids, err := pick(ctx, 1)
		if err != nil || len(ids) == 0 {
			return fmt.Errorf("nothing to approve: %v", err)
		}
		if _, err := fx.DB.write.ExecContext(ctx, `UPDATE approval_requests SET required_approvals = 2 WHERE id = ?`, ids[0]); err != nil {
			return err
		}
		var r ApprovalRequest
		for _, u := range []User{fx.Checker, fx.Checker2} {
			if r, err = fx.Approvals.Approve(ctx, u, ids[0]); err != nil {
				return err
			}
		}
		if r.State != ApprovalApproved {
			return fmt.Errorf("after both votes: %s", r.State)
		}
		return nil
	}}, planCase{Name: "queue: reject fifty at once", Run: func(ctx context.Context) error {
		ids, err := pick(ctx, 50)
		if err != nil {
			return err
		}
		_, err = fx.Approvals.RejectMany(ctx, fx.Checker, ids, "not this month")
		return err
	}}, planCase{Name: "housekeeping: drop ended requests' rows and words", Run: func(ctx context.Context) error {
		ids, err := pick(ctx, 5)
		if err != nil {
			return err
		}
		if _, err := fx.Approvals.RejectMany(ctx, fx.Checker, ids, "not this month"); err != nil {
			return err
		}
		n, err := fx.Approvals.DropEnded(ctx)
		if err == nil && n < len(ids) {
			err = fmt.Errorf("dropped the rows of %d requests, want at least %d", n, len(ids))
		}
		return err
	}})
	cases = append(cases, planCase{Name: "expiry sweep: requests past their time", Allow: map[string]string{
		"SEARCH approval_requests USING COVERING INDEX approval_requests_expiry (expires_at<?)": "the index holds pending requests only, so the range reads just those past their time",
	}, Run: func(ctx context.Context) error {
		_, err := fx.Approvals.ExpireDue(ctx)
		return err
	}}, planCase{Name: "users: a role change lists what now waits on the person", Run: func(ctx context.Context) error {
		_, err := fx.DB.SetRoles(ctx, fx.Admin.Actor(), fx.Checker2.ID, []Role{RoleChecker, RoleAdmin})
		return err
	}})
	return cases
}
