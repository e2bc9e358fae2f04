package handlers

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/views"
)

// blankBands is how many empty rows the rules form offers for new bands.
const blankBands = 2

func bandRows(bands []db.RuleBand) []views.BandRow {
	out := make([]views.BandRow, len(bands))
	for i, b := range bands {
		out[i] = views.BandRow{Min: providers.FormatAmount(b.MinPaise), Approvals: strconv.Itoa(b.Approvals), Role: string(b.Role)}
		if b.MaxPaise != nil {
			out[i].Max = providers.FormatAmount(*b.MaxPaise)
		}
	}
	return out
}

func (s *Server) ruleKind(c *fiber.Ctx, k db.Kind) (views.RuleKind, error) {
	rules, err := s.Approvals.Rules(c.UserContext(), k.Name)
	if err != nil {
		return views.RuleKind{}, err
	}
	bands := make([]db.RuleBand, len(rules))
	for i, r := range rules {
		bands[i] = r.RuleBand
	}
	rk := views.RuleKind{Kind: k.Name, Label: k.Label, Bands: bandRows(bands), Roles: []string{"checker", "admin"}, CSRF: auth(c).csrf()}
	entries, _, err := s.DB.ListAudit(c.UserContext(), db.AuditFilter{Target: db.RuleChangeKind + ":" + k.Name, Limit: 20})
	if err != nil {
		return views.RuleKind{}, err
	}
	rk.Audit = auditRows(entries)
	rk.Form = append(append([]views.BandRow{}, rk.Bands...), make([]views.BandRow, blankBands)...)
	for i := len(rk.Bands); i < len(rk.Form); i++ {
		rk.Form[i].Role = "checker"
	}
	return rk, nil
}

func (s *Server) rulesPage(c *fiber.Ctx) error {
	p := views.RulesProps{Shell: s.shell(c, "Approval rules", "/admin/rules")}
	again := c.Query("again")
	for _, k := range s.Approvals.Kinds() {
		rk, err := s.ruleKind(c, k)
		if err != nil {
			return err
		}
		if k.Name == again {
			// Back from the step-up a change asked for (changeRules): the
			// bands as typed go back into this kind's form, to be sent again.
			q := c.Context().QueryArgs()
			rk.Form = typedBands(q.PeekMulti("min"), q.PeekMulti("max"), q.PeekMulti("approvals"), q.PeekMulti("role"))
			rk.Unsaved = "The rules for " + k.Label + " are not changed yet: what you typed is in the form below; press Save rules to send it."
		}
		p.Kinds = append(p.Kinds, rk)
	}
	return s.render(c, fiber.StatusOK, views.RulesPage(p), nil)
}

// typedBands is the bands form as typed, blank rows dropped, with room for
// new bands after them.
func typedBands(mins, maxes, approvals, roles [][]byte) []views.BandRow {
	var form []views.BandRow
	for i := range mins {
		row := views.BandRow{Min: string(mins[i])}
		if i < len(maxes) {
			row.Max = string(maxes[i])
		}
		if i < len(approvals) {
			row.Approvals = string(approvals[i])
		}
		if i < len(roles) {
			row.Role = string(roles[i])
		}
		if strings.TrimSpace(row.Min) == "" && strings.TrimSpace(row.Max) == "" {
			continue
		}
		form = append(form, row)
	}
	for range blankBands {
		form = append(form, views.BandRow{Role: "checker"})
	}
	return form
}

// changeRules reads the bands as typed; a blank row is dropped, a bad amount
// is reported on its row, and the engine validates the whole set.
func (s *Server) changeRules(c *fiber.Ctx) error {
	kind, ok := s.Approvals.Kind(c.FormValue("kind"))
	if !ok {
		return fiber.NewError(fiber.StatusNotFound, "No such kind of request.")
	}
	args := c.Request().PostArgs()
	mins, maxes, approvals, roles := args.PeekMulti("min"), args.PeekMulti("max"), args.PeekMulti("approvals"), args.PeekMulti("role")
	rk, err := s.ruleKind(c, kind)
	if err != nil {
		return err
	}
	rk.Form = typedBands(mins, maxes, approvals, roles)
	typed := len(rk.Form) - blankBands
	var change db.RuleChange
	change.Kind = kind.Name
	bad := false
	for i := range typed {
		row := &rk.Form[i]
		band := db.RuleBand{Role: db.Role(row.Role)}
		var perr error
		if band.MinPaise, perr = providers.ParseAmount(row.Min); perr != nil {
			row.Error = "“From” is not an amount."
		}
		if strings.TrimSpace(row.Max) != "" {
			m, err := providers.ParseAmount(row.Max)
			if err != nil {
				row.Error = "“Up to” is not an amount."
			}
			band.MaxPaise = &m
		}
		if n, err := strconv.Atoi(row.Approvals); err != nil {
			row.Error = "Approvals must be a number from 1 to 5."
		} else {
			band.Approvals = n
		}
		bad = bad || row.Error != ""
		change.Bands = append(change.Bands, band)
	}
	status := fiber.StatusOK
	switch {
	case bad:
		status = fiber.StatusUnprocessableEntity
		rk.Error = "Correct the marked rows; nothing was changed."
	default:
		req, applied, err := s.Approvals.ProposeRuleChange(c.UserContext(), *auth(c).user, change)
		switch {
		case db.ErrorCode(err) == db.ESTEPUP:
			// As for the other changes only admins make: a code first, then
			// back to this kind's form, which the query fills as typed.
			back := url.Values{"again": {kind.Name}}
			for _, b := range rk.Form[:typed] {
				back.Add("min", b.Min)
				back.Add("max", b.Max)
				back.Add("approvals", b.Approvals)
				back.Add("role", b.Role)
			}
			return stepUpThen(c, "/admin/rules?"+back.Encode()+"#"+views.RuleFormID(kind.Name))
		case err != nil && statusOf(err) >= 500:
			return err
		case err != nil:
			status = statusOf(err)
			rk.Error = db.ErrorMessage(err)
			for key, msg := range db.FieldErrors(err) {
				var n int
				if _, scanErr := fmt.Sscanf(key, "bands.%d.", &n); scanErr == nil && n >= 0 && n < typed {
					rk.Form[n].Error = msg
				} else {
					rk.Error += " " + msg
				}
			}
		case applied:
			fresh, err := s.ruleKind(c, kind)
			if err != nil {
				return err
			}
			rk = fresh
			rk.Notice = "Rules changed."
		default:
			rk.Notice = fmt.Sprintf("Sent for approval to another admin as request #%d; the current rules apply until then.", req.ID)
		}
	}
	if !isFragmentRequest(c) {
		if status == fiber.StatusOK {
			return c.Redirect("/admin/rules", fiber.StatusSeeOther)
		}
		return fiber.NewError(status, rk.Error)
	}
	return s.render(c, status, nil, views.RuleKindPanel(rk))
}
