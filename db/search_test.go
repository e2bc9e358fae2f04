package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The indexed searches must find exactly what a plain scan finds. These
// tests build a corpus of names in Latin and Indian scripts with the
// punctuation PayMate allows, large enough that common queries take the
// dense path (at least searchSortLimit matches) and rare ones the sparse
// path, and compare every page of the new search with the reference query
// the lists ran before: LIKE 'q%' on each name, = on each code.

var searchCorpusCompanies = []string{"Sharma Traders", "SHARMA Steel", "sharma & sons", "Iyer & Sons", "O'Brien Pvt. Ltd.",
	"D-Mart Suppliers", "Patel Bros.", "Singh @ Co", "शर्मा ट्रेडर्स", "शर्मा स्टील", "அய்யர் அண்ட் சன்ஸ்", "ராவ் லாஜிஸ்டிக்ஸ்",
	"Rao Logistics", "Raol Foods", "Kumar_Textiles", "100% Cotton Mills", "Mehta Foods"}

var searchCorpusPeople = [][2]string{{"Asha", "Menon"}, {"Ravi", "Kumar"}, {"RAVI", "Iyer"}, {"Meera", "O'Brien"}, {"", ""},
	{"प्रिया", "शर्मा"}, {"Arjun", "Rao"}, {"Kavya", ""}}

func seedSearchCorpus(t *testing.T, d *DB, n int) {
	t.Helper()
	now := d.nowMS()
	for i := range n {
		company := searchCorpusCompanies[i%len(searchCorpusCompanies)]
		if i%3 != 0 {
			company += fmt.Sprintf(" %d", i)
		}
		p := searchCorpusPeople[i%len(searchCorpusPeople)]
		var acct, ifsc any
		if i%5 != 0 {
			acct, ifsc = fmt.Sprintf("%012d", 1000+i), []string{"HDFC0000001", "SBIN0001234", "KKBK0000958"}[i%3]
		}
		var pendingIFSC, pendingAcct any
		if i%97 == 0 {
			pendingAcct, pendingIFSC = fmt.Sprintf("%012d", 900000+i), "UTIB0000042"
		}
		if _, err := d.write.Exec(`INSERT INTO contacts (id, kind, company_name, first_name, last_name, reference_code,
			approved_account_no, approved_ifsc, pending_account_no, pending_ifsc, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			fmt.Sprintf("CT%010d", i), []string{"vendor", "customer"}[i%2], company, p[0], p[1], fmt.Sprintf("REF-%d", i),
			acct, ifsc, pendingAcct, pendingIFSC, now, now); err != nil {
			t.Fatal(err)
		}
	}
}

// referenceContactSearch is the search the contacts list ran before it was
// indexed, over the same filters.
func referenceContactSearch(t *testing.T, d *DB, q string, kind ContactKind) []string {
	t.Helper()
	q = strings.TrimSpace(q)
	like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
	up := strings.ToUpper(q)
	cond := `(company_name LIKE ? ESCAPE '\' OR first_name LIKE ? ESCAPE '\' OR last_name LIKE ? ESCAPE '\'
		OR (first_name || ' ' || last_name) LIKE ? ESCAPE '\' OR id = ? OR reference_code = ?
		OR approved_account_no = ? OR pending_account_no = ? OR approved_ifsc = ? OR pending_ifsc = ?)`
	args := []any{like, like, like, like, up, q, q, q, up, up}
	if kind != "" {
		cond += " AND kind = ?"
		args = append(args, string(kind))
	}
	ids, err := queryAll(context.Background(), d.read, "reference", scanValue[string],
		`SELECT id FROM contacts WHERE `+cond+` ORDER BY company_name COLLATE NOCASE, id`, args...)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestContactSearchEqualsTheScan(t *testing.T) {
	d, _ := newTestDB(t)
	a := NewApprovals(d, 0)
	c := NewContacts(d, a)
	ctx := context.Background()
	seedSearchCorpus(t, d, 5*searchSortLimit)
	queries := []string{
		"sharma", "SHARMA", "Sharma Tr", "sharma & ", "sharma traders 42", "iyer", "Iyer & Sons", "o'brien", "O'", "d-mart",
		"patel bros.", "singh @", "शर्मा", "शर्मा ट्रे", "अ", "அய்யர்", "ராவ்", "rao", "raol", "kumar_", "kumar%", "100%", "100% c",
		"asha", "asha men", "ravi", "RAVI I", "menon", "o'brien", "प्रिया शर्मा", "kavya", "arjun rao",
		"CT0000000042", "ct0000000042", "REF-42", "000000001042", "000000900097", "hdfc0000001", "SBIN0001234", "utib0000042",
		"zzz", " sharma ", "_", "%", `\`,
	}
	for _, q := range queries {
		for _, kind := range []ContactKind{"", ContactCustomer} {
			want := referenceContactSearch(t, d, q, kind)
			var got []string
			f := ContactFilter{Query: q, Kind: kind, Limit: 37}
			for page := 0; ; page++ {
				list, more, err := c.List(ctx, f)
				if err != nil {
					t.Fatalf("%q: %v", q, err)
				}
				for _, ct := range list {
					got = append(got, ct.ID)
				}
				if !more {
					break
				}
				if page > len(want) {
					t.Fatalf("%q: more pages than matches", q)
				}
				f.After = list[len(list)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("search %q (kind %q): %d results, want %d (first difference at %d)", q, kind, len(got), len(want), firstDiff(got, want))
			}
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// referenceQueueSearch: every word of q starts a word of the request's
// summary or target, ASCII letters folded: the rule, written plainly.
func referenceQueueSearch(items []QueueItem, q string) []int64 {
	words := strings.Fields(asciiLower(q))
	var out []int64
	for _, it := range items {
		have := strings.Fields(asciiLower(it.Summary + " " + it.TargetID))
		all := true
		for _, w := range words {
			found := false
			for _, h := range have {
				found = found || strings.HasPrefix(h, w)
			}
			all = all && found
		}
		if all {
			out = append(out, it.ID)
		}
	}
	return out
}

func TestQueueSearchEqualsThePlainRule(t *testing.T) {
	d, _ := newTestDB(t)
	a, _ := newTestApprovals(t, d)
	ctx := context.Background()
	maker := mustCreateUser(t, d, "maker", RoleMaker)
	checker := mustCreateUser(t, d, "checker", RoleChecker)
	names := []string{"Asha Traders", "Ravi Kumar", "Meera Exports", "शर्मा ट्रेडर्स", "O'Brien Pvt. Ltd.", "D-Mart Suppliers", "Asha Menon"}
	// Projects and sites each fill over searchSortLimit requests, so a search
	// of two of them walks the list and tests each row's word bits.
	projects := []string{"Warehouse", "गोदाम"}
	sites := []string{"Mumbai", "Chennai-2"}
	var proposals []Proposal
	for i := range 2*searchSortLimit + 300 {
		amount := int64(100_00 * (1 + i%500))
		proposals = append(proposals, Proposal{Kind: "payout", TargetID: fmt.Sprintf("PO%012d", i), AmountPaise: &amount,
			Summary: fmt.Sprintf("Pay %s to %s for %s %s by NEFT", rupees(amount), names[i%len(names)], projects[(i/7)%2], sites[(i/14)%2])})
	}
	tx, err := d.write.Begin()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := getUser(ctx, tx, maker.ID)
	for _, p := range proposals {
		p, _, payload, err := a.checkProposal(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.insertProposal(ctx, tx, u, p, payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var all []QueueItem
	f := QueueFilter{Limit: 200}
	for {
		items, more, err := a.Queue(ctx, checker, f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, items...)
		if !more {
			break
		}
		f.After = items[len(items)-1].ID
	}
	if len(all) != len(proposals) {
		t.Fatalf("queue holds %d, want %d", len(all), len(proposals))
	}
	for _, q := range []string{"asha", "ASHA TRA", "asha menon", "ravi kum", "शर्मा", "शर्मा ट्रे", "o'brien", "d-mart", "po0000000012",
		"₹1,00", "neft", "pay", "zzz", "traders asha", "  meera   exports ",
		"warehouse mumbai", "गोदाम chen", "ware mum", "wa mu", "chennai-2 गोदाम", "mumbai chennai", "गोदाम mumbai asha"} {
		for _, sort := range []QueueSort{SortNewest, SortAmount} {
			var got []int64
			f := QueueFilter{Query: q, Sort: sort, Limit: 50}
			for {
				items, more, err := a.Queue(ctx, checker, f)
				if err != nil {
					t.Fatalf("%q: %v", q, err)
				}
				for _, it := range items {
					got = append(got, it.ID)
				}
				if !more {
					break
				}
				f.After = items[len(items)-1].ID
			}
			// The reference in the same order: the unfiltered queue's.
			var ordered []QueueItem
			of := QueueFilter{Sort: sort, Limit: 200}
			for {
				items, more, err := a.Queue(ctx, checker, of)
				if err != nil {
					t.Fatal(err)
				}
				ordered = append(ordered, items...)
				if !more {
					break
				}
				of.After = items[len(items)-1].ID
			}
			want := referenceQueueSearch(ordered, q)
			if !slices.Equal(got, want) {
				t.Errorf("queue search %q (%s): %d results, want %d", q, sort, len(got), len(want))
			}
		}
	}
}

// TestWordBitInSQLAndGo keeps the three spellings of a word's bit one: Go's
// (for the filter), wordBitSQL (for new rows) and migration 0017's
// backfill, over words of several scripts, lengths and punctuation.
func TestWordBitInSQLAndGo(t *testing.T) {
	d, _ := newTestDB(t)
	ctx := context.Background()
	for _, w := range []string{"a", "pa", "pay", "payout", "₹1,00,000.00", "o'brien", "d-mart", "शर्मा", "ट्रेडर्स", "ராவ்",
		"গোদাম", "1042", "po000000001234", "é", "日本語", "😀ab"} {
		var got int64
		if err := d.read.QueryRowContext(ctx, `SELECT `+wordBitSQL("?1"), w).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := wordBit(w); got != int64(want) || want > 62 {
			t.Errorf("%q: SQL says bit %d, Go %d", w, got, want)
		}
	}
	mig, err := migrationFiles.ReadFile("migrations/0017_queue_walks_cover_search.sql")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(mig)), " "), strings.Join(strings.Fields(wordBitSQL("aw.word")), " ")) {
		t.Errorf("migration 0017 no longer computes a word's bit as wordBitSQL does:\n%s", wordBitSQL("aw.word"))
	}
}
