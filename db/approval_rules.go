package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// RuleChangeKind is the built-in kind of a change to the approval rules: with
// two or more admins, a rule change is itself a request another admin
// approves.
const RuleChangeKind = "approval_rule"

// RuleBand is one amount band of a kind's rules: requests whose amount lies
// in [MinPaise, MaxPaise] need Approvals distinct people holding Role.
type RuleBand struct {
	MinPaise  int64  `json:"min_paise"`
	MaxPaise  *int64 `json:"max_paise"` // inclusive; nil = no upper limit
	Approvals int    `json:"approvals"`
	Role      Role   `json:"role"`
}

func (b RuleBand) equal(o RuleBand) bool {
	sameMax := (b.MaxPaise == nil) == (o.MaxPaise == nil) && (b.MaxPaise == nil || *b.MaxPaise == *o.MaxPaise)
	return b.MinPaise == o.MinPaise && sameMax && b.Approvals == o.Approvals && b.Role == o.Role
}

// ApprovalRule is one stored band of one kind.
type ApprovalRule struct {
	ID   int64
	Kind string
	RuleBand
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RuleChange replaces every band of one kind. The bands, in ascending order,
// must cover 0 upward without gaps or overlaps, the last one open-ended.
type RuleChange struct {
	Kind  string     `json:"kind"`
	Bands []RuleBand `json:"bands"`
}

// ruleChangePayload is what a RuleChangeKind request carries: the whole new
// band set, so that applying it is a replace, and the set it replaces, for
// the approver to compare.
type ruleChangePayload struct {
	Kind   string     `json:"kind"`
	Bands  []RuleBand `json:"bands"`
	Before []RuleBand `json:"before"`
}

const ruleColumns = `id, kind, min_paise, max_paise, approvals, role, created_at, updated_at`

func scanRule(s scanner) (ApprovalRule, error) {
	var r ApprovalRule
	var maxPaise sql.NullInt64
	var created, updated int64
	if err := s.Scan(&r.ID, &r.Kind, &r.MinPaise, &maxPaise, &r.Approvals, &r.Role, &created, &updated); err != nil {
		return r, err
	}
	if maxPaise.Valid {
		r.MaxPaise = &maxPaise.Int64
	}
	r.CreatedAt, r.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return r, nil
}

// ruleFor returns the band of kind that covers amount; a request without an
// amount takes the band starting at 0.
func ruleFor(ctx context.Context, tx *sql.Tx, kind string, amount *int64) (ApprovalRule, error) {
	var v int64
	if amount != nil {
		v = *amount
	}
	r, err := scanRule(tx.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM approval_rules
		WHERE kind = ? AND min_paise <= ? AND (max_paise IS NULL OR max_paise >= ?)
		ORDER BY min_paise DESC LIMIT 1`, kind, v, v))
	if errors.Is(err, sql.ErrNoRows) {
		return r, &Error{Code: EINVALID, Message: "No approval rule covers this; an admin must add one first.",
			Fields: map[string]string{"amount": fmt.Sprintf("No approval rule for %s covers %s.", kind, rupees(v))}}
	}
	if err != nil {
		return r, fmt.Errorf("db: approval rule: %w", err)
	}
	return r, nil
}

func rulesOf(ctx context.Context, q querier, kind string) ([]ApprovalRule, error) {
	query := `SELECT ` + ruleColumns + ` FROM approval_rules`
	var args []any
	if kind != "" {
		query += ` WHERE kind = ?`
		args = append(args, kind)
	}
	return queryAll(ctx, q, "approval rules", scanRule, query+` ORDER BY kind, min_paise`, args...)
}

// Rules returns the bands of kind in ascending order, or of every kind when
// kind is "".
func (a *Approvals) Rules(ctx context.Context, kind string) ([]ApprovalRule, error) {
	return rulesOf(ctx, a.db.read, kind)
}

func bandsOf(rules []ApprovalRule) []RuleBand {
	out := make([]RuleBand, len(rules))
	for i, r := range rules {
		out[i] = r.RuleBand
	}
	return out
}

// validateRuleChange checks the band set as given: the order the admin sees
// is the order the messages refer to, so it is not sorted behind their back.
func (a *Approvals) validateRuleChange(c RuleChange) error {
	f := fieldErrors{}
	k, ok := a.Kind(c.Kind)
	if !ok {
		f.add("kind", fmt.Sprintf("Unknown kind %q.", c.Kind))
	}
	if len(c.Bands) == 0 || len(c.Bands) > 20 {
		f.add("bands", "Give 1 to 20 amount bands.")
	}
	var next int64 // where the next band must start
	for i, b := range c.Bands {
		field := func(name string) string { return "bands." + strconv.Itoa(i) + "." + name }
		last := i == len(c.Bands)-1
		switch {
		case b.MinPaise != next && i == 0:
			f.add(field("min_paise"), "The first band must start at ₹0.")
		case b.MinPaise != next:
			f.add(field("min_paise"), fmt.Sprintf("Must start at %s, right after the band before it ends (no gaps, no overlaps).", rupees(next)))
		}
		switch {
		case b.MaxPaise == nil && !last:
			f.add(field("max_paise"), "Only the last band may be open-ended.")
		case b.MaxPaise != nil && last:
			f.add(field("max_paise"), "The last band must be open-ended, so that every amount is covered.")
		case b.MaxPaise != nil && *b.MaxPaise < b.MinPaise:
			f.add(field("max_paise"), "Must not be below the band's start.")
		case b.MaxPaise != nil && *b.MaxPaise == math.MaxInt64:
			f.add(field("max_paise"), "Too large.")
		}
		if b.Approvals < 1 || b.Approvals > 5 {
			f.add(field("approvals"), "Between 1 and 5 approvals.")
		}
		switch {
		case b.Role != RoleChecker && b.Role != RoleAdmin:
			f.add(field("role"), "Approvers are checkers or admins.")
		case c.Kind == RuleChangeKind && b.Role != RoleAdmin:
			// Otherwise checkers could approve changes to their own rules.
			f.add(field("role"), "Rule changes are approved by admins.")
		case k.governs() && b.Role != RoleAdmin:
			// The same for what governs checkers: the step-up band, second
			// factors, the thresholds.
			f.add(field("role"), fmt.Sprintf("%s changes govern how Paydesk is run, so admins approve them.", k.Label))
		}
		if b.MaxPaise != nil && *b.MaxPaise < math.MaxInt64 {
			next = *b.MaxPaise + 1
		}
	}
	return f.err()
}

// ProposeRuleChange replaces the bands of c.Kind, by admin. With two or more
// enabled admins it opens a RuleChangeKind request another admin must approve
// (applied is false); with one, the change applies at once (applied is true,
// and the request is the zero value).
func (a *Approvals) ProposeRuleChange(ctx context.Context, admin User, c RuleChange) (req ApprovalRequest, applied bool, err error) {
	if err := a.validateRuleChange(c); err != nil {
		return ApprovalRequest{}, false, err
	}
	req, applied, err = a.ruleChangeTx(ctx, admin, c)
	return req, applied, a.recordRefusal(ctx, admin.Actor(), err)
}

func (a *Approvals) ruleChangeTx(ctx context.Context, admin User, c RuleChange) (ApprovalRequest, bool, error) {
	tx, err := a.db.beginWrite(ctx)
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	defer tx.Rollback()
	u, err := enabledAdmin(ctx, tx, admin, refuse("change_rules", ApprovalRequest{Kind: RuleChangeKind, TargetID: c.Kind},
		"Changing approval rules needs the admin role."))
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	current, err := rulesOf(ctx, tx, c.Kind)
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	before := bandsOf(current)
	if slices.EqualFunc(before, c.Bands, RuleBand.equal) {
		return ApprovalRequest{}, false, Errorf(EINVALID, "These are already the rules in force.")
	}
	k, _ := a.Kind(c.Kind)
	r, applied, err := a.adminChange(ctx, tx, u, Proposal{
		Kind: RuleChangeKind, TargetID: c.Kind, Summary: "Change the approval rules for " + k.Label,
		Payload: ruleChangePayload{Kind: c.Kind, Bands: c.Bands, Before: before},
	}, "A change to these rules is already waiting for approval (#%d).", func(extra map[string]any) error {
		return a.applyRules(ctx, tx, u.Actor(), c.Kind, c.Bands, before, extra)
	})
	if err != nil {
		return ApprovalRequest{}, false, err
	}
	return r, applied, tx.Commit()
}

// enabledAdmin reads admin again inside tx (roles as the database holds
// them now) and returns refusal unless they are an enabled admin.
func enabledAdmin(ctx context.Context, tx *sql.Tx, admin User, refusal *refusal) (User, error) {
	u, err := getUser(ctx, tx, admin.ID)
	if err != nil {
		return u, err
	}
	if u.Disabled || !u.HasRole(RoleAdmin) {
		return u, refusal
	}
	return u, nil
}

// adminChange is how admins change the way Paydesk is governed (approval
// rules, low-balance thresholds), inside tx, once the caller has checked u
// is an admin: with two or more enabled admins the change becomes request p,
// which another admin approves (its kind's OnApproved applies it); with one,
// nobody else could approve it, so apply runs at once, given the admin count
// for its audit entry. busy is the refusal while a change to the same target
// waits, with the request's number.
func (a *Approvals) adminChange(ctx context.Context, tx *sql.Tx, u User, p Proposal, busy string,
	apply func(extra map[string]any) error) (ApprovalRequest, bool, error) {
	if err := a.db.requireStepUp(ctx, tx, u); err != nil {
		return ApprovalRequest{}, false, stepUpRefusal("propose", ApprovalRequest{Kind: p.Kind, TargetID: p.TargetID}, err)
	}
	// Checked before the single-admin path too: applying directly while a
	// request waits would let that request, approved later, undo this change.
	pending, ok, err := pendingRequestID(ctx, tx, p.Kind, p.TargetID)
	switch {
	case err != nil:
		return ApprovalRequest{}, false, err
	case ok:
		return ApprovalRequest{}, false, Errorf(ECONFLICT, busy, pending)
	}
	var admins int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users u JOIN user_roles r ON r.user_id = u.id
		WHERE r.role = 'admin' AND u.disabled = 0`).Scan(&admins); err != nil {
		return ApprovalRequest{}, false, fmt.Errorf("db: count admins: %w", err)
	}
	if admins < 2 {
		// Nobody else could approve it; requiring one would lock it.
		return ApprovalRequest{}, true, apply(map[string]any{"admins": admins})
	}
	r, err := a.propose(ctx, tx, u, p)
	return r, false, err
}

// applyRules replaces the bands of kind inside tx and audits the change.
func (a *Approvals) applyRules(ctx context.Context, tx *sql.Tx, actor Actor, kind string, bands, before []RuleBand, extra map[string]any) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM approval_rules WHERE kind = ?`, kind); err != nil {
		return fmt.Errorf("db: replace rules: %w", err)
	}
	now := a.db.nowMS()
	for _, b := range bands {
		var maxPaise any
		if b.MaxPaise != nil {
			maxPaise = *b.MaxPaise
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO approval_rules (kind, min_paise, max_paise, approvals, role, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, kind, b.MinPaise, maxPaise, b.Approvals, string(b.Role), now, now); err != nil {
			return fmt.Errorf("db: replace rules: %w", err)
		}
	}
	details := map[string]any{"before": before, "after": bands}
	for k, v := range extra {
		details[k] = v
	}
	return a.db.audit(ctx, tx, actor, "approval_rule.changed", "approval_rule", kind, details)
}

// ruleChangeKind is the built-in kind whose approval applies a rule change.
func (a *Approvals) ruleChangeKind() Kind {
	return Kind{
		Name: RuleChangeKind, Label: "Approval rule change", MakerRoles: []Role{RoleAdmin},
		OnApproved: func(ctx context.Context, tx *sql.Tx, r ApprovalRequest) error {
			var p ruleChangePayload
			if err := json.Unmarshal(r.Payload, &p); err != nil {
				return fmt.Errorf("db: rule change payload: %w", err)
			}
			// Checked again: the payload is data, and Propose is public.
			c := RuleChange{Kind: p.Kind, Bands: p.Bands}
			if err := a.validateRuleChange(c); err != nil {
				return err
			}
			if c.Kind != r.TargetID {
				return fmt.Errorf("db: rule change %d: payload kind %q does not match target %q", r.ID, c.Kind, r.TargetID)
			}
			current, err := rulesOf(ctx, tx, c.Kind)
			if err != nil {
				return err
			}
			// Attributed to the admin who made the change; the approvers are in
			// the approval entries just before this one.
			return a.applyRules(ctx, tx, Actor{ID: r.MakerID, Username: r.Maker}, c.Kind, c.Bands, bandsOf(current),
				map[string]any{"request_id": r.ID})
		},
	}
}

// rupees formats paise the Indian way: ₹10,00,000.00.
func rupees(paise int64) string {
	sign := ""
	if paise < 0 {
		sign, paise = "-", -paise
	}
	whole := strconv.FormatInt(paise/100, 10)
	if len(whole) > 3 {
		head, tail := whole[:len(whole)-3], whole[len(whole)-3:]
		var groups []string
		for len(head) > 2 {
			groups = append([]string{head[len(head)-2:]}, groups...)
			head = head[:len(head)-2]
		}
		groups = append([]string{head}, groups...)
		whole = ""
		for _, g := range groups {
			whole += g + ","
		}
		whole += tail
	}
	return fmt.Sprintf("%s₹%s.%02d", sign, whole, paise%100)
}
