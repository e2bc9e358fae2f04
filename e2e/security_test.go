//go:build e2e

package e2e

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// auditLog reads the app's audit log straight from its database.
type auditLog struct {
	t  *testing.T
	db *sql.DB
}

func openAudit(t *testing.T, a *app) *auditLog {
	t.Helper()
	d, err := sql.Open("sqlite3", "file:"+a.DBPath+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &auditLog{t: t, db: d}
}

// last is the newest entry's id: what an attack's entries come after.
func (l *auditLog) last() int64 {
	l.t.Helper()
	var id int64
	if err := l.db.QueryRow(`SELECT coalesce(max(id), 0) FROM audit_log`).Scan(&id); err != nil {
		l.t.Fatal(err)
	}
	return id
}

// expect finds an entry after id with action, whose actor and details
// contain each of want; it waits a moment for a write in flight.
func (l *auditLog) expect(after int64, action string, want ...string) {
	l.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	var seen []string
	for {
		rows, err := l.db.Query(`SELECT actor, target_type || ':' || target_id, details FROM audit_log WHERE id > ? AND action = ? ORDER BY id`, after, action)
		if err != nil {
			l.t.Fatal(err)
		}
		seen = seen[:0]
		for rows.Next() {
			var actor, target, details string
			if err := rows.Scan(&actor, &target, &details); err != nil {
				l.t.Fatal(err)
			}
			text := actor + " " + target + " " + details
			seen = append(seen, text)
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(text, w)
			}
			if ok {
				rows.Close()
				return
			}
		}
		rows.Close()
		if time.Now().After(deadline) {
			l.t.Fatalf("no %s entry with %q after #%d; saw %v", action, want, after, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLockoutCannotBeForcedFromAnotherAddress: behind a trusted proxy,
// wrong passwords from one address lock the username for that address
// only; the person signs in from theirs, and the users page shows the
// lock with where it holds.
func TestLockoutCannotBeForcedFromAnotherAddress(t *testing.T) {
	a := startApp(t, "PAYDESK_TRUSTED_PROXIES=127.0.0.1")
	b := browser(t)
	log := openAudit(t, a)
	from := func(addr string) *session {
		return newSessionWithHeaders(t, b, a, map[string]string{"X-Forwarded-For": addr})
	}
	mark := log.last()
	for i, addr := range []string{"203.0.113.9", "203.0.113.10", "203.0.113.11"} {
		attacker := from(addr)
		for j := 0; j < 6; j++ {
			attacker.signIn("admin", "guessing-"+addr+string(rune('a'+j)))
		}
		attacker.expectText("#login-error", "locked here until")
		// The right password from a locked address is refused too.
		attacker.signIn("admin", adminPassword)
		attacker.expectText("#login-error", "locked")
		log.expect(mark, "auth.locked", addr)
		if i == 0 {
			attacker.screenshot("lockout-attacker")
		}
	}
	// A forged X-Forwarded-For on the left is not believed: the proxy's
	// hop on the right is the address.
	forged := from("198.51.100.7, 203.0.113.9")
	forged.signIn("admin", adminPassword)
	forged.expectText("#login-error", "locked")

	owner := from("198.51.100.7")
	owner.signIn("admin", adminPassword)
	owner.expectURL("/")
	owner.goto_("/admin/users")
	row := "#user-rows tr:has-text('Asha Admin')"
	owner.expectText(row, "locked until")
	owner.expectText(row, "203.0.113.9")
	owner.screenshot("users-locked-elsewhere")
	log.expect(mark, "auth.signed_in", "198.51.100.7")
	owner.click(row + " form[action$='/unlock'] button")
	owner.expectText(row, "Unlocked.")
	log.expect(mark, "auth.unlocked", "by admin", "203.0.113.10")
	owner.noCSPErrors()
}
