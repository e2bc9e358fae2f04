package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestGroupWriteEachOwnOutcome: writes made at once share commits, yet each
// keeps its own outcome: a failing one leaves nothing behind, the others
// are all there, an audit chain written across them stays whole.
func TestGroupWriteEachOwnOutcome(t *testing.T) {
	d, _ := newTestDB(t)
	ctx := context.Background()
	if _, err := d.write.Exec(`CREATE TABLE gw (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	const writers = 400
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.groupWrite(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO gw (n) VALUES (?)`, i); err != nil {
					return err
				}
				if err := d.audit(ctx, tx, SystemActor, "test.group_write", "gw", fmt.Sprint(i), nil); err != nil {
					return err
				}
				if i%10 == 3 {
					return refused // after writing: its rows must go
				}
				return nil
			})
		}()
	}
	wg.Wait()
	var have int
	for i, err := range errs {
		switch {
		case i%10 == 3 && !errors.Is(err, refused):
			t.Fatalf("write %d: %v, want its own error", i, err)
		case i%10 != 3 && err != nil:
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := d.read.QueryRow(`SELECT count(*) FROM gw`).Scan(&have); err != nil {
		t.Fatal(err)
	}
	if want := writers - writers/10; have != want {
		t.Fatalf("%d rows, want %d", have, want)
	}
	var bad int
	if err := d.read.QueryRow(`SELECT count(*) FROM gw WHERE n % 10 = 3`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d rows of refused writes (%v)", bad, err)
	}
	if _, err := d.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}

// TestGroupWriteCancelledBeforeItsTurn: a caller that has gone away before
// its write ran gets its context's error and writes nothing.
func TestGroupWriteCancelledBeforeItsTurn(t *testing.T) {
	d, _ := newTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := d.groupWrite(ctx, func(context.Context, *sql.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("err %v, ran %v", err, ran)
	}
}
