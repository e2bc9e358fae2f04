package db

import (
	"context"
	"fmt"
	"testing"
)

// securityPlans: the second factor's statements at sign-in and step-up,
// with many people's wrong codes and sessions on record.
func securityPlans(t *testing.T, fx *planFixture) []planCase {
	now := fx.DB.nowMS()
	fx.seedRows(t, 2000, `INSERT INTO users (username, display_name, password_hash, created_at, updated_at, password_changed_at)
		SELECT 'sf' || i, 'SF ' || i, 'x', ?, ?, ? FROM n`, now, now, now)
	if _, err := fx.DB.write.Exec(`INSERT INTO second_factors (user_id, secret, confirmed_at, last_step, created_at)
		SELECT id, x'00', ?, 0, ? FROM users WHERE username LIKE 'sf%'`, now, now); err != nil {
		t.Fatal(err)
	}
	fx.seedRows(t, planRows, `INSERT INTO second_factor_failures (user_id, at)
		SELECT (SELECT id FROM users WHERE username = 'sf' || (i % 2000 + 1)), ? - i * 40 FROM n`, now)
	fx.seedRows(t, planRows, `INSERT INTO sessions (id, user_id, csrf_token, created_at, last_seen_at, expires_at, stepped_up_at)
		SELECT printf('SF%030d', i), (SELECT id FROM users WHERE username = 'sf' || (i % 2000 + 1)), 'csrf', ?, ?, ? + 3600000, ? FROM n`,
		now, now, now, now)
	s := NewSecondFactor(fx.DB, fx.Approvals, make([]byte, 32))
	user := func(ctx context.Context, n int) (User, error) {
		return fx.DB.UserByUsername(ctx, fmt.Sprintf("sf%d", n))
	}
	return []planCase{
		{Name: "sign-in: a code checked under the rate limit", Run: func(ctx context.Context) error {
			u, err := user(ctx, 7)
			if err != nil {
				return err
			}
			err = s.SignIn(ctx, u, "000000", LoginMeta{})
			if code := ErrorCode(err); code == EINVALID || code == ELOCKED {
				err = nil
			}
			return err
		}},
		{Name: "approve: the step-up of the session", Run: func(ctx context.Context) error {
			u, err := user(ctx, 8)
			if err != nil {
				return err
			}
			err = fx.DB.requireStepUp(WithSession(ctx, fmt.Sprintf("SF%030d", 7)), fx.DB.read, u)
			if ErrorCode(err) == ESTEPUP {
				err = nil
			}
			return err
		}},
		{Name: "security page: status", Run: func(ctx context.Context) error {
			u, err := user(ctx, 9)
			if err != nil {
				return err
			}
			_, err = s.Status(WithSession(ctx, fmt.Sprintf("SF%030d", 8)), u)
			return err
		}},
	}
}
