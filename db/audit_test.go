package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The hash is stored in every row: an entry must hash as it always has, or
// databases written before a change would no longer verify.
func TestAuditHashIsStable(t *testing.T) {
	for _, c := range []struct {
		e    AuditEntry
		want string
	}{
		{AuditEntry{ID: 1, At: time.UnixMilli(1765000000123), ActorID: 7, Actor: "checker1", Action: "approval.approved",
			TargetType: "approval_request", TargetID: "42", Details: `{"a":"₹1,00,000.00"}`, PrevHash: "abc"},
			"9e821c09ad4d275be348dedddcd094757758a71baa909759549eebbe90311e28"},
		{AuditEntry{ID: 123456789, At: time.UnixMilli(0)}, "3b2914230bae2620a266ff11050ee1e2c2a8c3e9708f414d6fe4fcd514194d57"},
		{AuditEntry{ID: -5, At: time.UnixMilli(-1), ActorID: -1, Actor: "x;y:z", Action: "12:ab;", TargetType: "ä", TargetID: "PO123",
			Details: "{}", PrevHash: "ff"}, "3a71f584beb06f5c0ae9fea057da6c0a9566d8358703740673e241fbbd4d1458"},
		{AuditEntry{ID: 9, At: time.UnixMilli(5), Details: strings.Repeat("ab", 400)}, ""},
	} {
		got := c.e.computeHash()
		if c.want == "" {
			// Longer than the stack buffer: the same text, hashed the old way.
			var b strings.Builder
			for _, part := range []string{"", "9", "5", "0", "", "", "", "", c.e.Details} {
				fmt.Fprintf(&b, "%d:%s;", len(part), part)
			}
			sum := sha256.Sum256([]byte(b.String()))
			c.want = hex.EncodeToString(sum[:])
		}
		if got != c.want {
			t.Errorf("entry %d hashes to %s, want %s", c.e.ID, got, c.want)
		}
	}
}

// tamper runs SQL on the file directly, past the append-only triggers, the
// way an attacker with file access would.
func tamper(t *testing.T, d *DB, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	all := append([]string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}, stmts...)
	for _, s := range all {
		if _, err := d.write.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func seedAudit(t *testing.T, d *DB) {
	t.Helper()
	for _, name := range []string{"anil", "bina", "chetan", "deepa", "esha"} {
		mustCreateUser(t, d, name, RoleMaker)
	}
}

func TestAuditChainVerifies(t *testing.T) {
	d, _ := newTestDB(t)
	seedAudit(t, d)
	n, err := d.VerifyAudit(context.Background())
	if err != nil || n != 5 {
		t.Fatalf("verify = %d, %v; want 5 rows, nil", n, err)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	d, _ := newTestDB(t)
	seedAudit(t, d)
	ctx := context.Background()
	if _, err := d.write.ExecContext(ctx, `UPDATE audit_log SET actor = 'x' WHERE id = 1`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update allowed: %v", err)
	}
	if _, err := d.write.ExecContext(ctx, `DELETE FROM audit_log WHERE id = 1`); err == nil {
		t.Fatal("delete allowed")
	}
}

func TestAuditChainCatchesTampering(t *testing.T) {
	cases := []struct {
		name   string
		stmts  []string
		wantID int64
	}{
		{"edited details", []string{`UPDATE audit_log SET details = '{"after":{"roles":["admin"]}}' WHERE id = 3`}, 3},
		{"edited actor", []string{`UPDATE audit_log SET actor = 'mallory' WHERE id = 2`}, 2},
		{"deleted row", []string{`DELETE FROM audit_log WHERE id = 3`}, 4},
		{"swapped rows", []string{
			`UPDATE audit_log SET id = 100 WHERE id = 2`,
			`UPDATE audit_log SET id = 2 WHERE id = 4`,
			`UPDATE audit_log SET id = 4 WHERE id = 100`,
		}, 2},
		{"deleted last row", []string{`DELETE FROM audit_log WHERE id = 5`}, 5},
		{"rehashed edit without its successor", []string{
			// An attacker who recomputes row 3's hash still breaks row 4's link.
			`UPDATE audit_log SET target_id = 'zed' WHERE id = 3`,
		}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := newTestDB(t)
			seedAudit(t, d)
			tamper(t, d, tc.stmts...)
			_, err := d.VerifyAudit(context.Background())
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("verify = %v, want a ChainError", err)
			}
			if ce.ID != tc.wantID {
				t.Fatalf("first bad row = %d (%s), want %d", ce.ID, ce.Reason, tc.wantID)
			}
		})
	}
}

func TestAuditRecomputedHashBreaksNextLink(t *testing.T) {
	d, _ := newTestDB(t)
	seedAudit(t, d)
	ctx := context.Background()
	tamper(t, d, `UPDATE audit_log SET target_id = 'zed' WHERE id = 3`)
	rows, _ := d.read.QueryContext(ctx, `SELECT id, at, coalesce(actor_id,0), actor, action, target_type, target_id, details, prev_hash, hash FROM audit_log WHERE id = 3`)
	rows.Next()
	e, err := scanAudit(rows)
	rows.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.write.ExecContext(ctx, `UPDATE audit_log SET hash = ? WHERE id = 3`, e.computeHash()); err != nil {
		t.Fatal(err)
	}
	_, err = d.VerifyAudit(ctx)
	var ce *ChainError
	if !errors.As(err, &ce) || ce.ID != 4 {
		t.Fatalf("verify = %v, want break at row 4", err)
	}
}

func TestListAuditFiltersAndPages(t *testing.T) {
	d, c := newTestDB(t)
	seedAudit(t, d)
	ctx := context.Background()
	c.Advance(48 * 60 * 60 * 1e9)
	admin := mustCreateUser(t, d, "root", RoleAdmin)
	if _, err := d.SetDisabled(ctx, admin.Actor(), mustUserID(t, d, "anil"), true); err != nil {
		t.Fatal(err)
	}
	page, more, err := d.ListAudit(ctx, AuditFilter{Limit: 3})
	if err != nil || len(page) != 3 || !more || page[0].ID != 7 {
		t.Fatalf("first page: %d rows, more=%v, first=%v, err=%v", len(page), more, page[0].ID, err)
	}
	page2, more2, err := d.ListAudit(ctx, AuditFilter{Limit: 3, Before: page[2].ID})
	if err != nil || len(page2) != 3 || more2 != true || page2[0].ID != 4 {
		t.Fatalf("second page: %+v more=%v err=%v", page2, more2, err)
	}
	byActor, _, _ := d.ListAudit(ctx, AuditFilter{Actor: "root"})
	if len(byActor) != 1 || byActor[0].Action != "user.disabled" {
		t.Fatalf("actor filter: %+v", byActor)
	}
	byPrefix, _, _ := d.ListAudit(ctx, AuditFilter{Action: "user."})
	if len(byPrefix) != 7 {
		t.Fatalf("action prefix filter: %d rows", len(byPrefix))
	}
	byTarget, _, _ := d.ListAudit(ctx, AuditFilter{Target: "user:anil"})
	if len(byTarget) != 2 {
		t.Fatalf("target filter: %d rows", len(byTarget))
	}
	recent, _, _ := d.ListAudit(ctx, AuditFilter{From: c.Now().Add(-60 * 1e9)})
	if len(recent) != 2 {
		t.Fatalf("date filter: %d rows", len(recent))
	}
}

func mustUserID(t *testing.T, d *DB, username string) int64 {
	t.Helper()
	u, err := d.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
