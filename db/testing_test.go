package db

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testHasher is the real argon2id hasher; its cost is part of what is tested.
var testHasher = NewHasher(4)

func newTestDB(t testing.TB) (*DB, *clock) {
	t.Helper()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	c := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	d.Now = c.Now
	return d, c
}

func mustCreateUser(t *testing.T, d *DB, username string, roles ...Role) User {
	t.Helper()
	u, err := d.CreateUser(context.Background(), testHasher, SystemActor, NewUser{
		Username: username, DisplayName: "Test " + username, Password: "correct-horse-" + "battery-9", Roles: roles,
	})
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return u
}

const testPassword = "correct-horse-battery-9"
