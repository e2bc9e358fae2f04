package db

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestCreateUserValidation(t *testing.T) {
	d, _ := newTestDB(t)
	ctx := context.Background()
	cases := []struct {
		in    NewUser
		field string
	}{
		{NewUser{Username: "A", DisplayName: "x", Password: testPassword, Roles: []Role{RoleMaker}}, "username"},
		{NewUser{Username: "bad name", DisplayName: "x", Password: testPassword, Roles: []Role{RoleMaker}}, "username"},
		{NewUser{Username: "okname", DisplayName: "", Password: testPassword, Roles: []Role{RoleMaker}}, "display_name"},
		{NewUser{Username: "okname", DisplayName: "x", Password: "elevenchars", Roles: []Role{RoleMaker}}, "password"},
		{NewUser{Username: "okname", DisplayName: "x", Password: strings.Repeat("a1", 65), Roles: []Role{RoleMaker}}, "password"},
		{NewUser{Username: "okname", DisplayName: "x", Password: "Password@1234", Roles: []Role{RoleMaker}}, "password"},
		{NewUser{Username: "okname", DisplayName: "x", Password: "okname-and-more", Roles: []Role{RoleMaker}}, "password"},
		{NewUser{Username: "okname", DisplayName: "x", Password: testPassword}, "roles"},
		{NewUser{Username: "okname", DisplayName: "x", Password: testPassword, Roles: []Role{"root"}}, "roles"},
	}
	for _, tc := range cases {
		_, err := d.CreateUser(ctx, testHasher, SystemActor, tc.in)
		if ErrorCode(err) != EINVALID || FieldErrors(err)[tc.field] == "" {
			t.Errorf("%+v: err = %v, want a message on %s", tc.in, err, tc.field)
		}
	}
	// 64 characters is accepted.
	if _, err := d.CreateUser(ctx, testHasher, SystemActor, NewUser{Username: "longpass", DisplayName: "L",
		Password: strings.Repeat("x7", 32), Roles: []Role{RoleMaker}}); err != nil {
		t.Fatalf("64-char password: %v", err)
	}
	mustCreateUser(t, d, "taken", RoleMaker)
	_, err := d.CreateUser(ctx, testHasher, SystemActor, NewUser{Username: "TAKEN", DisplayName: "x", Password: testPassword, Roles: []Role{RoleMaker}})
	if FieldErrors(err)["username"] == "" {
		t.Fatalf("duplicate username (case-insensitive): %v", err)
	}
	// Nothing half-written: only the two good users and their audit rows.
	if n, _ := d.CountUsers(ctx); n != 2 {
		t.Fatalf("users = %d", n)
	}
	if n, err := d.VerifyAudit(ctx); n != 2 || err != nil {
		t.Fatalf("audit rows = %d, %v", n, err)
	}
}

func newSessionFor(t *testing.T, d *DB, userID int64, id string) {
	t.Helper()
	now := d.Now()
	if err := d.CreateSession(context.Background(), Session{ID: id, UserID: userID, CSRFToken: "t", CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

func TestRoleChangeAndDisableEndSessions(t *testing.T) {
	d, _ := newTestDB(t)
	ctx := context.Background()
	admin := mustCreateUser(t, d, "root", RoleAdmin)
	u := mustCreateUser(t, d, "sunil", RoleMaker)
	newSessionFor(t, d, u.ID, "s1")
	newSessionFor(t, d, u.ID, "s2")
	newSessionFor(t, d, admin.ID, "a1")
	if _, err := d.SetRoles(ctx, admin.Actor(), u.ID, []Role{RoleMaker, RoleChecker}); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.CountUserSessions(ctx, u.ID); n != 0 {
		t.Fatalf("sessions after role change = %d", n)
	}
	if n, _ := d.CountUserSessions(ctx, admin.ID); n != 1 {
		t.Fatalf("admin's session was ended too")
	}
	newSessionFor(t, d, u.ID, "s3")
	if _, err := d.SetDisabled(ctx, admin.Actor(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Session(ctx, "s3"); err != ErrNoSession {
		t.Fatalf("session after disable: %v", err)
	}
	newSessionFor(t, d, u.ID, "s4")
	if n, err := d.EndSessions(ctx, admin.Actor(), u.ID); n != 1 || err != nil {
		t.Fatalf("end sessions = %d, %v", n, err)
	}
}

func TestLastAdminIsProtected(t *testing.T) {
	d, _ := newTestDB(t)
	ctx := context.Background()
	admin := mustCreateUser(t, d, "root", RoleAdmin)
	if _, err := d.SetRoles(ctx, admin.Actor(), admin.ID, []Role{RoleMaker}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("removing the last admin role: %v", err)
	}
	if _, err := d.SetDisabled(ctx, admin.Actor(), admin.ID, true); ErrorCode(err) != ECONFLICT {
		t.Fatalf("disabling yourself: %v", err)
	}
	other := mustCreateUser(t, d, "root2", RoleAdmin)
	if _, err := d.SetRoles(ctx, other.Actor(), admin.ID, []Role{RoleMaker}); err != nil {
		t.Fatalf("with a second admin: %v", err)
	}
}

func TestResetPassword(t *testing.T) {
	d, _ := newTestDB(t)
	ctx := context.Background()
	admin := mustCreateUser(t, d, "root", RoleAdmin)
	u := mustCreateUser(t, d, "tara", RoleChecker)
	if _, err := d.ResetPassword(ctx, testHasher, admin.Actor(), u.ID, "short"); FieldErrors(err)["password"] == "" {
		t.Fatalf("weak reset: %v", err)
	}
	if _, err := d.ResetPassword(ctx, testHasher, admin.Actor(), u.ID, "a-new-long-secret-7"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, testHasher, "tara", testPassword, LoginMeta{}); ErrorCode(err) != EUNAUTHORIZED {
		t.Fatalf("old password still works: %v", err)
	}
	if _, err := d.Authenticate(ctx, testHasher, "tara", "a-new-long-secret-7", LoginMeta{}); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

func TestHasherCapsConcurrency(t *testing.T) {
	h := NewHasher(1)
	h.slots <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "whatever-password"); err != ErrBusy {
		t.Fatalf("hash with no free slot = %v, want ErrBusy", err)
	}
	<-h.slots
	hash, err := h.Hash(context.Background(), "whatever-password")
	if err != nil || !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash = %q, %v", hash, err)
	}
	if ok, _ := h.Verify(context.Background(), hash, "whatever-password"); !ok {
		t.Fatal("verify failed")
	}
	if ok, _ := h.Verify(context.Background(), hash, "whatever-passwore"); ok {
		t.Fatal("verify accepted a wrong password")
	}
}

func TestSweep(t *testing.T) {
	d, c := newTestDB(t)
	ctx := context.Background()
	u := mustCreateUser(t, d, "uma", RoleMaker)
	newSessionFor(t, d, u.ID, "old")
	c.Advance(20 * time.Minute)
	newSessionFor(t, d, u.ID, "fresh")
	for i := 0; i < 5; i++ {
		d.Authenticate(ctx, testHasher, "uma", "wrong-password-xx", LoginMeta{})
	}
	c.Advance(16 * time.Minute)
	r, err := d.Sweep(ctx, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sessions != 1 || r.Unlocked != 1 {
		t.Fatalf("sweep = %+v, want 1 session and 1 unlock", r)
	}
	if _, err := d.Session(ctx, "fresh"); err != nil {
		t.Fatalf("fresh session swept: %v", err)
	}
}
