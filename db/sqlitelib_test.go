package db

import (
	"context"
	"testing"
)

// TestEveryConnectionPlansStably: both pools' connections open with the
// planner's stability guarantee on, so a cached statement is not compiled
// again for each new value bound to it.
func TestEveryConnectionPlansStably(t *testing.T) {
	before := stablePlanConnections()
	d, _ := newTestDB(t)
	ctx := context.Background()
	var n int
	if err := d.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := d.write.ExecContext(ctx, `UPDATE audit_head SET last_id = last_id WHERE singleton = 1`); err != nil {
		t.Fatal(err)
	}
	// The writer and at least one reader (opened by the migrations and the
	// query above).
	if got := stablePlanConnections() - before; got < 2 {
		t.Fatalf("%d connections opened with stable plans, want at least 2", got)
	}
}

// TestMallocArenasLimited: on glibc the allocator takes the arena limit
// that keeps SQLite's freed memory from spreading over an arena per thread.
func TestMallocArenasLimited(t *testing.T) {
	if !glibc() {
		t.Skip("the arena limit is a glibc setting")
	}
	if !limitMallocArenas() {
		t.Fatal("glibc refused the malloc arena limit")
	}
}
