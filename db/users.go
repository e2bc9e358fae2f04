package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a user may do. A user may hold several.
type Role string

// Roles.
const (
	RoleMaker   Role = "maker"
	RoleChecker Role = "checker"
	RoleAdmin   Role = "admin"
)

// AllRoles lists the roles in the order pages show them.
var AllRoles = []Role{RoleMaker, RoleChecker, RoleAdmin}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, bool) {
	for _, r := range AllRoles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// User is a person who signs in to Paydesk.
type User struct {
	ID          int64
	Username    string
	DisplayName string
	Roles       []Role
	Disabled    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Filled by ListUsers.
	ActiveSessions int
	LastSeenAt     time.Time
	// LockedUntil is when the last of the user's sign-in locks ends, and
	// LockedFrom the client addresses they hold; zero and "" when none.
	LockedUntil time.Time
	LockedFrom  string
	// SecondFactor: the user has finished enrolling one.
	SecondFactor bool
}

// HasRole reports whether u holds r.
func (u User) HasRole(r Role) bool { return slices.Contains(u.Roles, r) }

// Actor returns u as the author of a change.
func (u User) Actor() Actor { return Actor{ID: u.ID, Username: u.Username} }

// NewUser is the input for creating a user.
type NewUser struct {
	Username    string
	DisplayName string
	Password    string
	Roles       []Role
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)

func validateUsername(f fieldErrors, username string) {
	if !usernamePattern.MatchString(username) {
		f.add("username", "Use 3 to 32 lower-case letters, digits, dots, dashes or underscores, starting with a letter or digit.")
	}
}

func validateRoles(f fieldErrors, roles []Role) {
	if len(roles) == 0 {
		f.add("roles", "Choose at least one role.")
	}
	for _, r := range roles {
		if _, ok := ParseRole(string(r)); !ok {
			f.add("roles", fmt.Sprintf("Unknown role %q.", r))
		}
	}
}

// CreateUser validates and creates a user, audited as actor's change.
func (d *DB) CreateUser(ctx context.Context, h *Hasher, actor Actor, in NewUser) (User, error) {
	in.Username = strings.ToLower(strings.TrimSpace(in.Username))
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	f := fieldErrors{}
	validateUsername(f, in.Username)
	if n := utf8.RuneCountInString(in.DisplayName); n == 0 || n > 80 {
		f.add("display_name", "Enter a name of 1 to 80 characters.")
	}
	if reason := h.CheckPolicy(in.Username, in.Password); reason != "" {
		f.add("password", reason)
	}
	validateRoles(f, in.Roles)
	if err := f.err(); err != nil {
		return User{}, err
	}
	// Hash before the transaction: the writer is never held for 19 MiB of work.
	hash, err := h.Hash(ctx, in.Password)
	if err != nil {
		return User{}, err
	}
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	now := d.nowMS()
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE username = ?`, in.Username).Scan(&exists); err != nil {
		return User{}, err
	}
	if exists > 0 {
		return User{}, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"username": "This username is taken."}}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO users (username, display_name, password_hash, created_at, updated_at, password_changed_at)
		VALUES (?, ?, ?, ?, ?, ?)`, in.Username, in.DisplayName, hash, now, now, now)
	if err != nil {
		return User{}, fmt.Errorf("db: create user: %w", err)
	}
	id, _ := res.LastInsertId()
	if err := setRoles(ctx, tx, id, in.Roles); err != nil {
		return User{}, err
	}
	if err := refreshWaiting(ctx, tx, id); err != nil {
		return User{}, err
	}
	u, err := getUser(ctx, tx, id)
	if err != nil {
		return User{}, err
	}
	if err := d.audit(ctx, tx, actor, "user.created", "user", u.Username, Change{After: userSnapshot(u)}); err != nil {
		return User{}, err
	}
	return u, tx.Commit()
}

func userSnapshot(u User) map[string]any {
	return map[string]any{"username": u.Username, "display_name": u.DisplayName, "roles": u.Roles, "disabled": u.Disabled}
}

func setRoles(ctx context.Context, tx *sql.Tx, userID int64, roles []Role) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("db: roles: %w", err)
	}
	for _, r := range roles {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO user_roles (user_id, role) VALUES (?, ?)`, userID, string(r)); err != nil {
			return fmt.Errorf("db: roles: %w", err)
		}
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const userColumns = `u.id, u.username, u.display_name, u.disabled, u.created_at, u.updated_at,
	coalesce((SELECT group_concat(role, ',') FROM (SELECT role FROM user_roles r WHERE r.user_id = u.id ORDER BY role)), '')`

func scanUser(s scanner) (User, error) {
	var u User
	var created, updated int64
	var roles string
	if err := s.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Disabled, &created, &updated, &roles); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return u, Errorf(ENOTFOUND, "No such user.")
		}
		return u, fmt.Errorf("db: scan user: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	for _, r := range strings.Split(roles, ",") {
		if role, ok := ParseRole(r); ok {
			u.Roles = append(u.Roles, role)
		}
	}
	slices.SortFunc(u.Roles, func(a, b Role) int { return slices.Index(AllRoles, a) - slices.Index(AllRoles, b) })
	return u, nil
}

func getUser(ctx context.Context, q querier, id int64) (User, error) {
	return scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id))
}

// User returns the user with id. Every request asks for its user, so the
// answer is kept while nothing is written.
func (d *DB) User(ctx context.Context, id int64) (User, error) {
	version := d.Version()
	if u, ok := d.userMemo.get(version, id); ok {
		u.Roles = slices.Clone(u.Roles)
		return u, nil
	}
	u, err := getUser(ctx, d.read, id)
	if err == nil {
		d.userMemo.put(version, id, u)
		u.Roles = slices.Clone(u.Roles)
	}
	return u, err
}

// UserByUsername returns the user named username.
func (d *DB) UserByUsername(ctx context.Context, username string) (User, error) {
	return scanUser(d.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.username = ?`, strings.TrimSpace(username)))
}

// CountUsers returns how many users exist.
func (d *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := d.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// UserOption is a person as a filter menu names them.
type UserOption struct {
	ID          int64
	DisplayName string
}

// UserOptions lists everyone by name, for filter menus: one small query,
// not ListUsers' sessions and locks.
func (d *DB) UserOptions(ctx context.Context) ([]UserOption, error) {
	return queryAll(ctx, d.read, "user options", func(s scanner) (UserOption, error) {
		var o UserOption
		return o, s.Scan(&o.ID, &o.DisplayName)
	}, `SELECT id, display_name FROM users ORDER BY display_name, id`)
}

// ListUsers returns every user with their open sessions and lock state.
func (d *DB) ListUsers(ctx context.Context) ([]User, error) {
	now := d.nowMS()
	rows, err := d.read.QueryContext(ctx, `SELECT `+userColumns+`,
		(SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ?),
		coalesce((SELECT max(last_seen_at) FROM sessions s WHERE s.user_id = u.id), 0),
		coalesce((SELECT max(locked_until) FROM login_locks l WHERE l.username = u.username AND l.locked_until > ?), 0),
		coalesce((SELECT group_concat(client, ', ') FROM login_locks l WHERE l.username = u.username AND l.locked_until > ?), ''),
		EXISTS (SELECT 1 FROM second_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL)
		FROM users u ORDER BY u.username`, now, now, now)
	if err != nil {
		return nil, fmt.Errorf("db: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var created, updated, lastSeen, lockedUntil int64
		var roles string
		if err := rows.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Disabled, &created, &updated, &roles, &u.ActiveSessions, &lastSeen, &lockedUntil, &u.LockedFrom, &u.SecondFactor); err != nil {
			return nil, err
		}
		u.CreatedAt, u.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
		for _, r := range strings.Split(roles, ",") {
			if role, ok := ParseRole(r); ok {
				u.Roles = append(u.Roles, role)
			}
		}
		if lastSeen > 0 {
			u.LastSeenAt = time.UnixMilli(lastSeen)
		}
		if lockedUntil > 0 {
			u.LockedUntil = time.UnixMilli(lockedUntil)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// updateUser runs change on the user inside one transaction, audits it with
// before/after, and ends the user's sessions when endSessions says so.
func (d *DB) updateUser(ctx context.Context, actor Actor, id int64, action string, endSessions bool,
	change func(tx *sql.Tx, before User) (map[string]any, error)) (User, error) {
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	before, err := getUser(ctx, tx, id)
	if err != nil {
		return User{}, err
	}
	extra, err := change(tx, before)
	if err != nil {
		return User{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET updated_at = ? WHERE id = ?`, d.nowMS(), id); err != nil {
		return User{}, err
	}
	after, err := getUser(ctx, tx, id)
	if err != nil {
		return User{}, err
	}
	details := map[string]any{"before": userSnapshot(before), "after": userSnapshot(after)}
	for k, v := range extra {
		details[k] = v
	}
	if endSessions {
		n, err := deleteUserSessions(ctx, tx, id)
		if err != nil {
			return User{}, err
		}
		details["sessions_ended"] = n
	}
	if err := d.audit(ctx, tx, actor, action, "user", after.Username, details); err != nil {
		return User{}, err
	}
	return after, tx.Commit()
}

// requireAnotherAdmin refuses a change that would leave no enabled admin.
func requireAnotherAdmin(ctx context.Context, tx *sql.Tx, userID int64) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users u JOIN user_roles r ON r.user_id = u.id
		WHERE r.role = 'admin' AND u.disabled = 0 AND u.id <> ?`, userID).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return Errorf(ECONFLICT, "This is the last enabled admin; make someone else an admin first.")
	}
	return nil
}

// SetRoles replaces a user's roles and ends their sessions, so the new roles
// apply from the next sign-in.
func (d *DB) SetRoles(ctx context.Context, actor Actor, id int64, roles []Role) (User, error) {
	f := fieldErrors{}
	validateRoles(f, roles)
	if err := f.err(); err != nil {
		return User{}, err
	}
	return d.updateUser(ctx, actor, id, "user.roles_changed", true, func(tx *sql.Tx, before User) (map[string]any, error) {
		// A role change needs a fresh code from an admin who has a second
		// factor, as a rule change does.
		admin, err := getUser(ctx, tx, actor.ID)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
		if err == nil {
			if err := d.requireStepUp(ctx, tx, admin); err != nil {
				return nil, err
			}
		}
		if before.HasRole(RoleAdmin) && !slices.Contains(roles, RoleAdmin) {
			if err := requireAnotherAdmin(ctx, tx, id); err != nil {
				return nil, err
			}
		}
		if err := setRoles(ctx, tx, id, roles); err != nil {
			return nil, err
		}
		return nil, refreshWaiting(ctx, tx, id)
	})
}

// SetDisabled disables or enables a user. Disabling ends their sessions.
func (d *DB) SetDisabled(ctx context.Context, actor Actor, id int64, disabled bool) (User, error) {
	action := "user.enabled"
	if disabled {
		action = "user.disabled"
	}
	return d.updateUser(ctx, actor, id, action, disabled, func(tx *sql.Tx, before User) (map[string]any, error) {
		if disabled && before.ID == actor.ID {
			return nil, Errorf(ECONFLICT, "You cannot disable your own account.")
		}
		if disabled && before.HasRole(RoleAdmin) {
			if err := requireAnotherAdmin(ctx, tx, id); err != nil {
				return nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, disabled, id); err != nil {
			return nil, err
		}
		return nil, refreshWaiting(ctx, tx, id)
	})
}

// ResetPassword sets a new password and ends the user's sessions.
func (d *DB) ResetPassword(ctx context.Context, h *Hasher, actor Actor, id int64, password string) (User, error) {
	u, err := d.User(ctx, id)
	if err != nil {
		return User{}, err
	}
	if reason := h.CheckPolicy(u.Username, password); reason != "" {
		return User{}, &Error{Code: EINVALID, Message: "Please correct the highlighted fields.", Fields: map[string]string{"password": reason}}
	}
	hash, err := h.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	return d.updateUser(ctx, actor, id, "user.password_reset", true, func(tx *sql.Tx, _ User) (map[string]any, error) {
		_, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?`, hash, d.nowMS(), id)
		return nil, err
	})
}

// EndSessions signs a user out everywhere.
func (d *DB) EndSessions(ctx context.Context, actor Actor, id int64) (int64, error) {
	tx, err := d.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	u, err := getUser(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	n, err := deleteUserSessions(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	if err := d.audit(ctx, tx, actor, "user.sessions_ended", "user", u.Username, map[string]any{"sessions_ended": n}); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}
