package bench

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"paydesk/db"
)

// whatIf times variants of the queue's queries on the fixture, to point at
// fixes; it runs last because ANALYZE changes the database.
func (r *report) whatIf(t *testing.T, fx *fixture, c *client, workers int, dur time.Duration) {
	rd := openReader(t, fx)
	now, id := time.Now().UnixMilli(), fx.Checker1.ID
	waitArgs := []any{now, id, id, id, id}
	from := ` FROM approval_requests r JOIN users m ON m.id = r.maker_id`
	noExpiryIndex := strings.Replace(planWaiting, "r.expires_at > ?", "+r.expires_at > ?", 1)
	variants := []struct {
		name string
		sql  string
		args []any
	}{
		{"first page as is", `SELECT ` + planColumns + from + planWaiting + ` ORDER BY r.created_at DESC, r.id DESC LIMIT ?`,
			append(slices.Clone(waitArgs), 51)},
		{"first page, `+r.expires_at > ?` (expiry term kept off the index)", `SELECT ` + planColumns + from + noExpiryIndex +
			` ORDER BY r.created_at DESC, r.id DESC LIMIT ?`, append(slices.Clone(waitArgs), 51)},
		{"filtered as is (ORDER BY coalesce(amount,-1) DESC)", `SELECT ` + planColumns + from + planWaiting +
			` AND r.amount_paise >= ? AND r.amount_paise <= ? ORDER BY coalesce(r.amount_paise, -1) DESC, r.id DESC LIMIT ?`,
			append(slices.Clone(waitArgs), 1_00_000_00, 5_00_000_00, 51)},
		{"filtered, ORDER BY r.amount_paise DESC (no coalesce when min/max given)", `SELECT ` + planColumns + from + planWaiting +
			` AND r.amount_paise >= ? AND r.amount_paise <= ? ORDER BY r.amount_paise DESC, r.id DESC LIMIT ?`,
			append(slices.Clone(waitArgs), 1_00_000_00, 5_00_000_00, 51)},
		{"CountWaiting as is", `SELECT count(*) FROM approval_requests r` + planWaiting, waitArgs},
		{"CountWaiting capped at 1,000 (badge shows 999+)", `SELECT count(*) FROM (SELECT 1 FROM approval_requests r` + planWaiting + ` LIMIT 1000)`, waitArgs},
	}
	run := func(title string) {
		r.printf("%s\n", title)
		tw := tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', 0)
		for _, v := range variants {
			d, plan, err := timeQuery(rd, v.sql, v.args)
			if err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.name, ms(d), plan)
		}
		tw.Flush()
	}
	r.printf("\n== What if (query variants on the same data, median of 5, plan's main table access)\n")
	run("without sqlite_stat1 (as shipped: the app never runs ANALYZE):")

	w, err := sql.Open("sqlite3", "file:"+fx.DB.Path()+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	t0 := time.Now()
	if _, err := w.Exec("ANALYZE"); err != nil {
		t.Fatal(err)
	}
	r.printf("ANALYZE took %s\n", time.Since(t0).Round(time.Millisecond))
	rd.Close()
	rd = openReader(t, fx)
	run("after ANALYZE:")

	ctx := context.Background()
	lo, hi := int64(1_00_000_00), int64(5_00_000_00)
	first, _ := median(func() error {
		_, _, err := fx.Srv.Approvals.Queue(ctx, fx.Checker1, db.QueueFilter{Limit: 50})
		return err
	})
	filtered, _ := median(func() error {
		_, _, err := fx.Srv.Approvals.Queue(ctx, fx.Checker1, db.QueueFilter{MinPaise: &lo, MaxPaise: &hi, Sort: db.SortAmount, Limit: 50})
		return err
	})
	r.printf("the app's own Approvals.Queue after ANALYZE: first page %s, filtered %s\n", ms(first), ms(filtered))
	tw := tabwriter.NewWriter(&r.b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "closed loop after ANALYZE (%d workers, %s)\treq/s\tservice p50\tservice p99\t\n", workers, dur)
	for _, p := range []struct{ name, path string }{{"first page", firstPage}, {"filtered page", filteredPage}} {
		closedLoop(c, p.path, workers, min(2*time.Second, dur))
		cr := closedLoop(c, p.path, workers, dur)
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t\n", p.name, cr.RPS, ms(cr.P50), ms(cr.P99))
	}
	tw.Flush()
}

// timeQuery runs q (median of 5, rows read to the end) and returns the
// first line of its plan that reads approval_requests.
func timeQuery(rd *sql.DB, q string, args []any) (time.Duration, string, error) {
	plan := ""
	rows, err := rd.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		return 0, "", err
	}
	var lines []string
	for rows.Next() {
		var a, b, c int
		var detail string
		if err := rows.Scan(&a, &b, &c, &detail); err != nil {
			rows.Close()
			return 0, "", err
		}
		lines = append(lines, detail)
		if plan == "" && strings.Contains(detail, " r ") {
			plan = detail
		}
	}
	rows.Close()
	for _, l := range lines {
		if strings.Contains(l, "TEMP B-TREE") {
			plan += "; " + l
		}
	}
	d, err := median(func() error {
		qr, err := rd.Query(q, args...)
		if err != nil {
			return err
		}
		for qr.Next() {
		}
		qr.Close()
		return qr.Err()
	})
	return d, plan, err
}
