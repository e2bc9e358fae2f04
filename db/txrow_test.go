package db

import (
	"context"
	"database/sql"
	"reflect"
	"testing"
)

// A transaction that carries a batch reads single rows from its connection
// directly (txBatch.row). It must read inside the transaction, and scan
// what database/sql's Row would.
func TestBatchRowsScanAsDatabaseSQL(t *testing.T) {
	f := newBulkFixture(t)
	ctx := context.Background()
	reqIDs := proposePayouts(t, f.p, f.maker, 3)
	if _, err := f.d.write.ExecContext(ctx, `UPDATE approval_requests SET amount_paise = NULL WHERE id = ?`, reqIDs[2]); err != nil {
		t.Fatal(err)
	}
	conn, tx, err := f.d.beginWriteConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer tx.Rollback()
	bctx, batch, err := f.d.withTxBatch(ctx, conn, tx)
	if err != nil {
		t.Fatal(err)
	}
	defer batch.audit.close()
	if _, ok := queryRow(bctx, tx, `SELECT 1`).(*driverRow); !ok {
		t.Fatal("a batch's transaction reads through database/sql")
	}
	// Written in the transaction, not committed: only a read inside it sees it.
	if _, err := tx.ExecContext(ctx, `UPDATE approval_requests SET summary = 'changed in tx' WHERE id = ?`, reqIDs[0]); err != nil {
		t.Fatal(err)
	}
	for _, id := range reqIDs {
		want, err := getRequest(ctx, tx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := getRequest(bctx, tx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("request %d:\n got %+v\nwant %+v", id, got, want)
		}
		if id == reqIDs[0] && got.Summary != "changed in tx" {
			t.Errorf("request %d reads %q, not the transaction's own write", id, got.Summary)
		}
		if id == reqIDs[2] && got.AmountPaise != nil {
			t.Errorf("request %d: NULL amount read as %d", id, *got.AmountPaise)
		}
		wantPo, err := getPayout(ctx, tx, got.TargetID)
		if err != nil {
			t.Fatal(err)
		}
		gotPo, err := getPayout(bctx, tx, got.TargetID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotPo, wantPo) {
			t.Errorf("payout %s:\n got %+v\nwant %+v", got.TargetID, gotPo, wantPo)
		}
	}
	if _, err := getRequest(bctx, tx, 999_999); ErrorCode(err) != ENOTFOUND {
		t.Errorf("missing request: %v, want %s", err, ENOTFOUND)
	}

	// Every kind of value into the destinations both ways, and the same
	// refusals.
	type dests struct {
		n       int
		s       string
		null    sql.NullString
		f       float64
		b       []byte
		ok      bool
		big     int64
		numText string
		textNum int
		state   ApprovalState
		anyV    any
	}
	const values = `SELECT 7, 'text', NULL, 2.5, x'00ff', 1, 9223372036854775807, 42, '17', 'pending_approval', 'x'`
	scan := func(r scanner) (dests, error) {
		var d dests
		err := r.Scan(&d.n, &d.s, &d.null, &d.f, &d.b, &d.ok, &d.big, &d.numText, &d.textNum, &d.state, &d.anyV)
		return d, err
	}
	want, err := scan(tx.QueryRowContext(ctx, values))
	if err != nil {
		t.Fatal(err)
	}
	got, err := scan(queryRow(bctx, tx, values))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values:\n got %+v\nwant %+v", got, want)
	}
	for _, c := range []struct {
		query string
		dest  any
	}{
		{`SELECT NULL`, new(string)},
		{`SELECT 300`, new(int8)},
		{`SELECT 'abc'`, new(int)},
		{`SELECT 2.5`, new(string)},
	} {
		werr := tx.QueryRowContext(ctx, c.query).Scan(c.dest)
		gerr := queryRow(bctx, tx, c.query).Scan(c.dest)
		if (werr == nil) != (gerr == nil) {
			t.Errorf("%s into %T: database/sql says %v, the batch %v", c.query, c.dest, werr, gerr)
		}
	}
}
