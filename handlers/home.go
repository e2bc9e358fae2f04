package handlers

import (
	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/views"
)

func (s *Server) home(c *fiber.Ctx) error {
	u := auth(c).user
	entries, _, err := s.DB.ListAudit(c.UserContext(), db.AuditFilter{Actor: u.Username, Limit: 10})
	if err != nil {
		return err
	}
	sessions, err := s.DB.CountUserSessions(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	p := views.HomeProps{Shell: s.shell(c, "Overview", "/"), Sessions: sessions, Activity: auditRows(entries)}
	if p.Cards, err = s.overviewCards(c, *u); err != nil {
		return err
	}
	p.Roles = p.Shell.Roles
	for _, n := range p.Shell.Nav {
		if n.Href != "/" && n.Href != "/queue" && n.Href != "/payouts" {
			p.Sections = append(p.Sections, n)
		}
	}
	return s.render(c, fiber.StatusOK, views.HomePage(p), nil)
}

// overviewCards are the figures a treasury user checks first: what waits on
// them, what needs attention, and what the banks last said about balances.
func (s *Server) overviewCards(c *fiber.Ctx, u db.User) ([]views.Card, error) {
	ctx := c.UserContext()
	waiting, err := s.waiting(c, u)
	if err != nil {
		return nil, err
	}
	cards := []views.Card{{Label: "Waiting on you", Value: views.CountLabel(waiting), Hint: "requests to approve or reject", Href: "/queue"}}
	_, attention, err := s.Payouts.NeedsAttention(ctx, attentionAfter, 1)
	if err != nil {
		return nil, err
	}
	cards = append(cards, views.Card{Label: "Needs attention", Value: views.CountLabel(attention),
		Hint: "payouts unknown, failed or stuck", Href: "/payouts"})
	balances, err := s.DB.Balances(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range balances {
		name := sourceLabels[b.Source]
		if name == "" {
			name = b.Source
		}
		cards = append(cards, views.Card{Label: name + " balance", Value: views.INR(b.AvailablePaise),
			Hint: "as of " + views.When(b.FetchedAt), Href: "/payouts?source=" + b.Source})
	}
	return cards, nil
}
