package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
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

// waits records the slowdown's waits instead of sleeping.
func waits(d *DB) *[]time.Duration {
	var got []time.Duration
	d.Login.Wait = func(_ context.Context, w time.Duration) error {
		got = append(got, w)
		return nil
	}
	return &got
}

func expectAudit(t *testing.T, d *DB, f AuditFilter, want ...string) {
	t.Helper()
	got := auditActions(t, d, f)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("audit = %v, want %v", got, want)
	}
}

// TestThrottleLocksAnAddressWithGrowingLocks: three failures from one
// address are free; each one after locks that address for 30 s, then 1 min,
// and so on; meanwhile the person signs in from their own address.
func TestThrottleLocksAnAddressWithGrowingLocks(t *testing.T) {
	d, c := newTestDB(t)
	mustCreateUser(t, d, "meera", RoleMaker)
	ctx := context.Background()
	attacker := LoginMeta{RemoteAddr: "203.0.113.9"}
	for i := 1; i <= 3; i++ {
		if _, err := d.Authenticate(ctx, testHasher, "meera", "wrong-password-xx", attacker); ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	_, err := d.Authenticate(ctx, testHasher, "meera", "wrong-password-xx", attacker)
	if ErrorCode(err) != ELOCKED || !strings.Contains(ErrorMessage(err), "10:00:30 UTC") {
		t.Fatalf("fourth failure: %v, want locked until 10:00:30", err)
	}
	// The right password is refused from the locked address, unchecked...
	if _, err := d.Authenticate(ctx, testHasher, "meera", testPassword, attacker); ErrorCode(err) != ELOCKED {
		t.Fatalf("right password from the locked address: %v", err)
	}
	// ...and accepted from the person's own.
	if _, err := d.Authenticate(ctx, testHasher, "meera", testPassword, LoginMeta{RemoteAddr: "198.51.100.7"}); err != nil {
		t.Fatalf("right password from another address: %v", err)
	}
	// The lock grows: the next failure after it ends locks for a minute.
	c.Advance(31 * time.Second)
	_, err = d.Authenticate(ctx, testHasher, "meera", "wrong-password-xx", attacker)
	if ErrorCode(err) != ELOCKED || !strings.Contains(ErrorMessage(err), "(in 1 minute)") {
		t.Fatalf("fifth failure: %v, want a lock of one minute", err)
	}
	expectAudit(t, d, AuditFilter{Target: "user:meera", Action: "auth."},
		"auth.failed", "auth.failed", "auth.failed", "auth.failed", "auth.locked", "auth.refused_locked",
		"auth.signed_in", "auth.failed", "auth.locked")
	users, err := d.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Username == "meera" && (u.LockedFrom != "203.0.113.9" || !u.LockedUntil.Equal(c.Now().Add(time.Minute))) {
			t.Fatalf("users page: locked from %q until %v", u.LockedFrom, u.LockedUntil)
		}
	}
}

func TestLockGrowsToItsCeiling(t *testing.T) {
	p := DefaultLoginPolicy
	want := []time.Duration{0, 0, 0, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		15 * time.Minute, 15 * time.Minute}
	for i, w := range want {
		if got := p.lockFor(i + 1); got != w {
			t.Fatalf("failure %d locks for %v, want %v", i+1, got, w)
		}
	}
	if p.lockFor(1000) != 15*time.Minute {
		t.Fatal("no ceiling")
	}
}

// TestLockoutCannotBeForcedFromOtherAddresses: a hundred failures from
// twenty addresses slow every attempt at the username down, audited once,
// but never lock it: the person signs in from their own address, and the
// attackers' addresses stay locked after they do.
func TestLockoutCannotBeForcedFromOtherAddresses(t *testing.T) {
	d, _ := newTestDB(t)
	mustCreateUser(t, d, "root", RoleAdmin)
	ctx := context.Background()
	waited := waits(d)
	for i := 0; i < 100; i++ {
		meta := LoginMeta{RemoteAddr: fmt.Sprintf("203.0.113.%d", i%20)}
		_, err := d.Authenticate(ctx, testHasher, "root", "wrong-password-xx", meta)
		if code := ErrorCode(err); code != EUNAUTHORIZED && code != ELOCKED {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if len(*waited) == 0 || slices.Max(*waited) != DefaultLoginPolicy.MaxSlow {
		t.Fatalf("waits %v: the slowdown did not reach its ceiling", *waited)
	}
	*waited = nil
	if _, err := d.Authenticate(ctx, testHasher, "root", testPassword, LoginMeta{RemoteAddr: "198.51.100.7"}); err != nil {
		t.Fatalf("the admin from their own address: %v", err)
	}
	if len(*waited) != 1 || (*waited)[0] != DefaultLoginPolicy.MaxSlow {
		t.Fatalf("the admin waited %v, want one wait of %v", *waited, DefaultLoginPolicy.MaxSlow)
	}
	if _, err := d.Authenticate(ctx, testHasher, "root", testPassword, LoginMeta{RemoteAddr: "203.0.113.4"}); ErrorCode(err) != ELOCKED {
		t.Fatalf("an attacker's address after the admin signed in: %v", err)
	}
	if n := len(auditActions(t, d, AuditFilter{Target: "user:root", Action: "auth.slowed"})); n != 1 {
		t.Fatalf("%d auth.slowed entries, want 1", n)
	}
}

// TestThrottleIsPerIPv6Subnet: addresses of one /64 count as one client.
func TestThrottleIsPerIPv6Subnet(t *testing.T) {
	d, _ := newTestDB(t)
	mustCreateUser(t, d, "omar", RoleMaker)
	ctx := context.Background()
	var err error
	for i := 1; i <= 4; i++ {
		_, err = d.Authenticate(ctx, testHasher, "omar", "wrong-password-xx", LoginMeta{RemoteAddr: fmt.Sprintf("2001:db8:1:2::%x", i)})
	}
	if ErrorCode(err) != ELOCKED {
		t.Fatalf("fourth failure from one /64: %v", err)
	}
	if _, err := d.Authenticate(ctx, testHasher, "omar", testPassword, LoginMeta{RemoteAddr: "2001:db8:1:3::1"}); err != nil {
		t.Fatalf("another /64: %v", err)
	}
}

func TestThrottleIsPerUsernameEvenUnknown(t *testing.T) {
	d, _ := newTestDB(t)
	mustCreateUser(t, d, "omar", RoleMaker)
	ctx := context.Background()
	meta := LoginMeta{RemoteAddr: "10.0.0.9"}
	for i := 0; i < 4; i++ {
		d.Authenticate(ctx, testHasher, "ghost", "wrong-password-xx", meta)
	}
	if _, err := d.Authenticate(ctx, testHasher, "ghost", "anything-at-all-1", meta); ErrorCode(err) != ELOCKED {
		t.Fatalf("unknown username not locked: %v", err)
	}
	// Another username from the same address is unaffected.
	if _, err := d.Authenticate(ctx, testHasher, "omar", testPassword, meta); err != nil {
		t.Fatalf("other user: %v", err)
	}
}

func TestAdminUnlock(t *testing.T) {
	d, _ := newTestDB(t)
	admin := mustCreateUser(t, d, "root", RoleAdmin)
	mustCreateUser(t, d, "priya", RoleChecker)
	ctx := context.Background()
	for _, addr := range []string{"10.0.0.1", "10.0.0.2"} {
		for i := 0; i < 4; i++ {
			d.Authenticate(ctx, testHasher, "priya", "wrong-password-xx", LoginMeta{RemoteAddr: addr})
		}
	}
	if err := d.Unlock(ctx, admin.Actor(), "priya"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, testHasher, "priya", testPassword, LoginMeta{RemoteAddr: "10.0.0.2"}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	if err := d.Unlock(ctx, admin.Actor(), "priya"); ErrorCode(err) != ECONFLICT {
		t.Fatalf("unlock when not locked: %v", err)
	}
	if n := len(auditActions(t, d, AuditFilter{Target: "user:priya", Action: "auth.unlocked"})); n != 2 {
		t.Fatalf("%d unlocks audited, want one per address", n)
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

// guessAtOnce sends n wrong passwords for username from one address
// together and counts the answers by error code.
func guessAtOnce(t *testing.T, d *DB, username string, n int, meta LoginMeta) map[string]int {
	t.Helper()
	return signInAtOnce(t, d, username, n, meta, func(i int) string { return fmt.Sprintf("guess-number-%d", i) })
}

// signInAtOnce makes n sign-in attempts at username together, the i-th with
// password(i), and counts their answers by error code ("" for signed in).
func signInAtOnce(t *testing.T, d *DB, username string, n int, meta LoginMeta, password func(i int) string) map[string]int {
	t.Helper()
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.Authenticate(context.Background(), testHasher, username, password(i), meta)
			code := "" // signed in
			if err != nil {
				code = ErrorCode(err)
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return codes
}

func countRows(t *testing.T, d *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Writer().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestThrottleHoldsUnderParallelGuesses: guesses sent together from one
// address are throttled as if sent one after another: three are free, the
// fourth is checked and locks, the rest are refused unchecked. When the
// lock ends, the next burst gets one guess. An unknown username is
// throttled exactly alike.
func TestThrottleHoldsUnderParallelGuesses(t *testing.T) {
	d, c := newTestDB(t)
	mustCreateUser(t, d, "meera", RoleMaker)
	attacker := LoginMeta{RemoteAddr: "203.0.113.9"}
	const n = 24
	for _, username := range []string{"meera", "ghost"} {
		codes := guessAtOnce(t, d, username, n, attacker)
		if codes[EUNAUTHORIZED] != 3 || codes[ELOCKED] != n-3 {
			t.Fatalf("%s, first burst: answers %v, want 3 wrong and %d locked", username, codes, n-3)
		}
		target := AuditFilter{Target: "user:" + username}
		if checked := len(auditActions(t, d, AuditFilter{Target: target.Target, Action: "auth.failed"})); checked != 4 {
			t.Fatalf("%s: %d passwords checked before the lock, want 4", username, checked)
		}
		if refused := len(auditActions(t, d, AuditFilter{Target: target.Target, Action: "auth.refused_locked"})); refused != n-4 {
			t.Fatalf("%s: %d attempts refused as locked, want %d", username, refused, n-4)
		}
		if rows := countRows(t, d, `SELECT count(*) FROM login_failures WHERE username = ?`, username); rows != 4 {
			t.Fatalf("%s: %d failures recorded, want 4", username, rows)
		}
	}
	c.Advance(31 * time.Second)
	for _, username := range []string{"meera", "ghost"} {
		if codes := guessAtOnce(t, d, username, n, attacker); codes[ELOCKED] != n {
			t.Fatalf("%s, burst after the lock: answers %v, want all %d locked", username, codes, n)
		}
		if checked := len(auditActions(t, d, AuditFilter{Target: "user:" + username, Action: "auth.failed"})); checked != 5 {
			t.Fatalf("%s: %d passwords checked after the first lock ended, want 1", username, checked-4)
		}
		until := time.UnixMilli(int64(countRows(t, d, `SELECT locked_until FROM login_locks WHERE username = ?`, username)))
		if !until.Equal(c.Now().Add(time.Minute)) {
			t.Fatalf("%s: second lock until %v, want a minute", username, until)
		}
	}
}

// TestSignInsAtOnceFromOneAddressAllSucceed: a person signing in from
// several tabs at once, or an office behind one address, is not taken for a
// guesser: attempts take turns, and each right password forgives the last.
func TestSignInsAtOnceFromOneAddressAllSucceed(t *testing.T) {
	d, _ := newTestDB(t)
	mustCreateUser(t, d, "meera", RoleMaker)
	office := LoginMeta{RemoteAddr: "203.0.113.9"}
	if codes := signInAtOnce(t, d, "meera", 12, office, func(int) string { return testPassword }); codes[""] != 12 {
		t.Fatalf("12 sign-ins at once with the right password: answers %v, want all signed in", codes)
	}
	if rows := countRows(t, d, `SELECT count(*) FROM login_failures WHERE username = 'meera'`); rows != 0 {
		t.Fatalf("%d failures left behind", rows)
	}
}

// TestRightPasswordAfterThreeFailuresSignsIn: the attempt that would lock
// its address holds the lock while its password is checked; when the
// password is right the lock goes with the failures.
func TestRightPasswordAfterThreeFailuresSignsIn(t *testing.T) {
	d, _ := newTestDB(t)
	mustCreateUser(t, d, "meera", RoleMaker)
	ctx := context.Background()
	meta := LoginMeta{RemoteAddr: "203.0.113.9"}
	for range 3 {
		d.Authenticate(ctx, testHasher, "meera", "wrong-password-xx", meta)
	}
	if _, err := d.Authenticate(ctx, testHasher, "meera", testPassword, meta); err != nil {
		t.Fatalf("right password as the fourth attempt: %v", err)
	}
	if n := countRows(t, d, `SELECT count(*) FROM login_locks`); n != 0 {
		t.Fatalf("%d locks after signing in", n)
	}
	for i := range 3 {
		if _, err := d.Authenticate(ctx, testHasher, "meera", "wrong-password-xx", meta); ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("failure %d after signing in: %v, want it free", i+1, err)
		}
	}
	expectAudit(t, d, AuditFilter{Target: "user:meera", Action: "auth."},
		"auth.failed", "auth.failed", "auth.failed", "auth.signed_in", "auth.failed", "auth.failed", "auth.failed")
}

// TestBusyHasherDoesNotCountAsFailure: an attempt whose password was never
// checked (no hashing slot before the request gave up) is not a failure,
// not even the one that would have locked.
func TestBusyHasherDoesNotCountAsFailure(t *testing.T) {
	d, _ := newTestDB(t)
	mustCreateUser(t, d, "meera", RoleMaker)
	meta := LoginMeta{RemoteAddr: "203.0.113.9"}
	h := NewHasher(1)
	for range 3 {
		d.Authenticate(context.Background(), h, "meera", "wrong-password-xx", meta)
	}
	h.slots <- struct{}{}
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := d.Authenticate(ctx, h, "meera", "wrong-password-xx", meta)
		cancel()
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("busy attempt %d: %v, want ErrBusy", i+1, err)
		}
	}
	<-h.slots
	if n := countRows(t, d, `SELECT count(*) FROM login_failures`); n != 3 {
		t.Fatalf("%d failures recorded, want the 3 checked ones", n)
	}
	if _, err := d.Authenticate(context.Background(), h, "meera", testPassword, meta); err != nil {
		t.Fatalf("right password after busy attempts: %v", err)
	}
}
