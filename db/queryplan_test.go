package db

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
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

// planRows is how many rows each list table gets.
const planRows = 20_000

// bigTable is a table this many rows or more: scanning it is a defect.
const bigTable = 1_000

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
		balancesPlans,
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

	mu        sync.Mutex
	recording bool
	stmts     []Statement
}

func (fx *planFixture) trace(s Statement) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	if fx.recording {
		fx.stmts = append(fx.stmts, s)
	}
}

// record runs run and returns the statements it issued.
func (fx *planFixture) record(ctx context.Context, run func(context.Context) error) ([]Statement, error) {
	fx.mu.Lock()
	fx.recording, fx.stmts = true, nil
	fx.mu.Unlock()
	err := run(ctx)
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.recording = false
	return fx.stmts, err
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
	d, err := Open(context.Background(), t.TempDir()+"/plans.db", WithTrace(fx.trace))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	c := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	d.Now = c.Now
	fx.DB = d
	fx.Approvals = NewApprovals(d, 0)
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
	Allow map[string]string
}

// collectPlanStatements seeds every suite, runs every case and returns its
// distinct statements.
func collectPlanStatements(t *testing.T) (*planFixture, []tracedStatement) {
	t.Helper()
	fx := newPlanFixture(t)
	var cases []planCase
	for _, suite := range planSuites() {
		cases = append(cases, suite(t, fx)...)
	}
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
			out = append(out, tracedStatement{Case: c.Name, SQL: s.SQL, Args: s.Args, Allow: c.Allow})
		}
		if n == 0 {
			t.Fatalf("%s ran no query: a case that checks nothing cannot fail", c.Name)
		}
	}
	return fx, out
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

var scanPattern = regexp.MustCompile(`^(?:SCAN|SEARCH) ([a-z_][a-z0-9_]*)(?: AS [a-z_][a-z0-9_]*)?( USING (?:COVERING )?INDEX [a-z0-9_]+| USING INTEGER PRIMARY KEY)?`)
var limitPattern = regexp.MustCompile(`(?i)\bLIMIT\b`)

// planProblems explains s on q (a connection that sees the schema to test)
// and names each line of its plan that reads a big table whole or sorts
// for an ORDER BY.
func planProblems(ctx context.Context, q querier, sizes map[string]int, s tracedStatement) ([]string, []string, error) {
	rows, err := q.QueryContext(ctx, "EXPLAIN QUERY PLAN "+s.SQL, s.Args...)
	if err != nil {
		return nil, nil, fmt.Errorf("explain: %w", err)
	}
	defer rows.Close()
	var plan, problems []string
	names := aliases(s.SQL)
	limited := limitPattern.MatchString(s.SQL)
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, nil, err
		}
		plan = append(plan, detail)
		if _, ok := s.Allow[detail]; ok {
			continue
		}
		if strings.HasPrefix(detail, "USE TEMP B-TREE FOR") && strings.Contains(detail, "ORDER BY") {
			problems = append(problems, detail)
			continue
		}
		m := scanPattern.FindStringSubmatch(detail)
		if m == nil || !strings.HasPrefix(detail, "SCAN ") {
			continue
		}
		table := names[m[1]]
		if table == "" {
			table = m[1]
		}
		if sizes[table] < bigTable {
			continue
		}
		// Walking an index in its order under a LIMIT reads one page of
		// rows (keyset pagination); any other scan reads them all.
		if m[2] != "" && limited {
			continue
		}
		problems = append(problems, detail)
	}
	return plan, problems, rows.Err()
}

// TestQueryPlans fails on any query a page or job runs that scans a big
// table or sorts for its ORDER BY. Plans are checked twice: on a database
// that grew since it was opened (no statistics, as after a busy first
// day) and after Open's PRAGMA optimize has analysed it (after a restart).
func TestQueryPlans(t *testing.T) {
	fx, stmts := collectPlanStatements(t)
	sizes := tableSizes(t, fx.DB)
	ctx := context.Background()
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
	fx, stmts := collectPlanStatements(t)
	sizes := tableSizes(t, fx.DB)
	ctx := context.Background()
	indexes, err := queryAll(ctx, fx.DB.read, "indexes", scanValue[string],
		`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name`)
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
			_, problems, err := planProblems(ctx, tx, sizes, s)
			if err == nil && len(problems) > 0 && !slices.Contains(needed, s.Case) {
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

// queuePlans: the approval queue page (every filter and sort), the count
// badge on every page, and the maker's own proposals.
func queuePlans(t *testing.T, fx *planFixture) []planCase {
	// Pending payout requests from the maker, a few decided ones, and some
	// rule-change requests without an amount.
	fx.seedRows(t, planRows, `INSERT INTO approval_requests
		(kind, target_id, amount_paise, summary, payload, maker_id, state, required_approvals, required_role, created_at, expires_at)
		SELECT CASE WHEN i % 50 = 0 THEN 'rule_change' ELSE 'payout' END, 'T' || i,
			CASE WHEN i % 50 = 0 THEN NULL ELSE (i * 7919) % 250000000 END, 'request ' || i, '{}', ?,
			CASE WHEN i % 10 = 0 THEN 'approved' ELSE 'pending_approval' END, 1, 'checker', ? + i * 1000, ? + i * 1000 + 604800000
		FROM n`, fx.Maker.ID, fx.DB.nowMS()-planRows*1000, fx.DB.nowMS()-planRows*1000)
	lakh := int64(1_00_000_00)
	five := 5 * lakh
	base := QueueFilter{Limit: 50}
	var cases []planCase
	for _, who := range []struct {
		name string
		u    User
	}{{"checker", fx.Checker}, {"maker", fx.Maker}} {
		for _, f := range []struct {
			name string
			f    QueueFilter
		}{
			{"newest", base},
			{"oldest", QueueFilter{Sort: SortOldest}},
			{"largest first", QueueFilter{Sort: SortAmount}},
			{"₹1–5 lakh, largest first", QueueFilter{Sort: SortAmount, MinPaise: &lakh, MaxPaise: &five}},
			{"kind=payout", QueueFilter{Kind: PayoutKind}},
			{"maker", QueueFilter{MakerID: fx.Maker.ID}},
		} {
			cases = append(cases, planCase{Name: fmt.Sprintf("queue (%s): %s", who.name, f.name), Run: func(ctx context.Context) error {
				_, _, err := fx.Approvals.Queue(ctx, who.u, f.f)
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
			}})
	}
	return cases
}

func TestPrefixRangeMatchesHasPrefix(t *testing.T) {
	keys := []string{"", "a", "ab", "abc", "abd", "ac", "b", "ab\U0010ffff", "शर्मा", "शर्मा ट्रेडर्स", "श", "o'brien"}
	for _, p := range []string{"a", "ab", "श", "शर्मा", "o'", ""} {
		lo, hi := prefixRange(p)
		for _, k := range keys {
			in := k >= lo && k < hi
			if in != strings.HasPrefix(k, p) {
				t.Errorf("prefix %q key %q: in range %v, HasPrefix %v", p, k, in, !in)
			}
		}
	}
	if got := searchKey("  Sharma   TRADERS\t& Sons "); got != "sharma traders & sons" {
		t.Errorf("searchKey: %q", got)
	}
}
