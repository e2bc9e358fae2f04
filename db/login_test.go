package db

import (
	"context"
	"testing"
	"time"
)

func auditActions(t *testing.T, d *DB, f AuditFilter) []string {
	t.Helper()
	rows, _, err := d.ListAudit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(rows) - 1; i >= 0; i-- {
		out = append(out, rows[i].Action)
	}
	return out
}

func TestThrottleLocksAfterFiveFailuresInWindow(t *testing.T) {
	d, c := newTestDB(t)
	mustCreateUser(t, d, "meera", RoleMaker)
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		_, err := d.Authenticate(ctx, testHasher, "meera", "wrong-password-xx", LoginMeta{})
		if ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("failure %d: %v", i, err)
		}
		c.Advance(time.Minute)
	}
	_, err := d.Authenticate(ctx, testHasher, "meera", "wrong-password-xx", LoginMeta{})
	if ErrorCode(err) != ELOCKED {
		t.Fatalf("fifth failure: %v, want locked", err)
	}
	// The right password is refused while locked, and the refusal is audited.
	if _, err := d.Authenticate(ctx, testHasher, "meera", testPassword, LoginMeta{}); ErrorCode(err) != ELOCKED {
		t.Fatalf("right password while locked: %v", err)
	}
	c.Advance(15*time.Minute + time.Second)
	if _, err := d.Authenticate(ctx, testHasher, "meera", testPassword, LoginMeta{}); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	got := auditActions(t, d, AuditFilter{Target: "user:meera", Action: "auth."})
	want := []string{"auth.failed", "auth.failed", "auth.failed", "auth.failed", "auth.failed", "auth.locked",
		"auth.refused_locked", "auth.unlocked", "auth.signed_in"}
	if len(got) != len(want) {
		t.Fatalf("audit = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("audit = %v, want %v", got, want)
		}
	}
}

func TestThrottleWindowSlides(t *testing.T) {
	d, c := newTestDB(t)
	mustCreateUser(t, d, "nisha", RoleMaker)
	ctx := context.Background()
	// Four failures, then a pause longer than the window: the count restarts.
	for i := 0; i < 4; i++ {
		d.Authenticate(ctx, testHasher, "nisha", "wrong-password-xx", LoginMeta{})
	}
	c.Advance(15*time.Minute + time.Second)
	for i := 0; i < 4; i++ {
		if _, err := d.Authenticate(ctx, testHasher, "nisha", "wrong-password-xx", LoginMeta{}); ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("failure %d after the window: %v", i, err)
		}
	}
	if _, err := d.Authenticate(ctx, testHasher, "nisha", "wrong-password-xx", LoginMeta{}); ErrorCode(err) != ELOCKED {
		t.Fatalf("fifth failure within the new window: %v", err)
	}
}

func TestThrottleIsPerUsernameEvenUnknown(t *testing.T) {
	d, _ := newTestDB(t)
	mustCreateUser(t, d, "omar", RoleMaker)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		d.Authenticate(ctx, testHasher, "ghost", "wrong-password-xx", LoginMeta{RemoteAddr: "10.0.0.9"})
	}
	if _, err := d.Authenticate(ctx, testHasher, "ghost", "anything-at-all-1", LoginMeta{}); ErrorCode(err) != ELOCKED {
		t.Fatalf("unknown username not locked: %v", err)
	}
	// Another username from the same address is unaffected.
	if _, err := d.Authenticate(ctx, testHasher, "omar", testPassword, LoginMeta{RemoteAddr: "10.0.0.9"}); err != nil {
		t.Fatalf("other user: %v", err)
	}
}

func TestAdminUnlock(t *testing.T) {
	d, _ := newTestDB(t)
	admin := mustCreateUser(t, d, "root", RoleAdmin)
	mustCreateUser(t, d, "priya", RoleChecker)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		d.Authenticate(ctx, testHasher, "priya", "wrong-password-xx", LoginMeta{})
	}
	if err := d.Unlock(ctx, admin.Actor(), "priya"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, testHasher, "priya", testPassword, LoginMeta{}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	if err := d.Unlock(ctx, admin.Actor(), "priya"); ErrorCode(err) != ECONFLICT {
		t.Fatalf("unlock when not locked: %v", err)
	}
}

func TestDisabledUserCannotSignIn(t *testing.T) {
	d, _ := newTestDB(t)
	admin := mustCreateUser(t, d, "root", RoleAdmin)
	u := mustCreateUser(t, d, "ravi", RoleMaker)
	ctx := context.Background()
	if _, err := d.SetDisabled(ctx, admin.Actor(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, testHasher, "ravi", testPassword, LoginMeta{}); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("disabled sign-in: %v", err)
	}
}
