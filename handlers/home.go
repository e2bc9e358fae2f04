package handlers

import (
	"context"
	"time"

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
	p := views.HomeProps{Shell: s.shell(c, "Overview", "/"), Sessions: sessions, Activity: auditRows(entries),
		Low: s.lowBalances(c.UserContext())}
	if p.Cards, err = s.overviewCards(c, *u); err != nil {
		return err
	}
	p.Roles = p.Shell.Roles
	for _, n := range p.Shell.Nav {
		// The first row's cards carry these sections' figures already.
		switch n.Href {
		case "/", "/queue", "/payouts", "/credits", "/links":
			continue
		}
		card, err := s.sectionCard(c.UserContext(), n, len(p.Low))
		if err != nil {
			return err
		}
		p.Sections = append(p.Sections, card)
	}
	return s.render(c, fiber.StatusOK, views.HomePage(p), nil)
}

// sectionCard is a section's tile on the overview, with the figure that
// says whether it needs a look (each a capped, indexed count).
func (s *Server) sectionCard(ctx context.Context, n views.NavItem, lowBalances int) (views.Card, error) {
	card := views.Card{Label: n.Label, Href: n.Href}
	figure := func(count int, one, many string) {
		card.Value, card.Hint = views.CountLabel(count), views.Plural(count, one, many)
	}
	switch n.Href {
	case "/contacts":
		waiting, err := s.DB.PendingRequests(ctx, db.ContactBankKind, db.MaxWaitingCount)
		if err != nil {
			return card, err
		}
		figure(waiting, "contact change waiting on a checker", "contact changes waiting on a checker")
	case "/collections":
		if s.Collections == nil {
			break
		}
		open, err := s.Collections.CountOpen(ctx)
		if err != nil {
			return card, err
		}
		figure(open, "payment request open", "payment requests open")
		if n.Count > 0 {
			card.Hint += " · " + views.CountOf(n.Count, "vendor asking to be paid", "vendors asking to be paid")
		}
	case "/balances":
		figure(lowBalances, "account below its threshold", "accounts below their threshold")
	case "/admin/users":
		users, err := s.DB.ListUsers(ctx) // an office's tens of people
		if err != nil {
			return card, err
		}
		active := 0
		for _, u := range users {
			if !u.Disabled && u.Username != db.BankPortalUsername {
				active++
			}
		}
		figure(active, "active user", "active users")
	case "/admin/rules":
		figure(len(s.Approvals.Kinds()), "kind of request with rules", "kinds of request with rules")
	case "/gateway":
		if s.Gateway == nil {
			break
		}
		open, err := s.Gateway.CountAwaitingPayer(ctx)
		if err != nil {
			return card, err
		}
		figure(open, "payment waiting for its payer", "payments waiting for their payers")
	case "/virtual-accounts":
		if s.VirtualAccounts == nil {
			break
		}
		review, err := s.VirtualAccounts.CountToReview(ctx)
		if err != nil {
			return card, err
		}
		figure(review, "account waiting for a checker or refused by the bank", "accounts waiting for a checker or refused by the bank")
	case "/admin/audit":
		now := s.DB.Now().In(db.IST)
		today, err := s.DB.CountAuditSince(ctx, time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, db.IST))
		if err != nil {
			return card, err
		}
		figure(today, "entry written today", "entries written today")
	}
	if card.Value == "" {
		card.Value, card.Hint = "Open", "Open "+n.Label+" for the details"
	}
	return card, nil
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
	if s.VirtualAccounts != nil {
		vc, err := s.creditCards(ctx)
		if err != nil {
			return nil, err
		}
		cards = append(cards, vc...)
	}
	lc, err := s.linkCards(c)
	if err != nil {
		return nil, err
	}
	cards = append(cards, lc...)
	if s.Balances != nil {
		bc, err := s.balanceCards(ctx)
		return append(cards, bc...), err
	}
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

// balanceCards are the balances' figures, each with a 30-day sparkline:
// every account's available balance (or, without a balance call, what is
// committed), and the money collected.
func (s *Server) balanceCards(ctx context.Context) ([]views.Card, error) {
	now := s.DB.Now()
	to := db.ISTDay(now.AddDate(0, 0, 1))
	from := db.ISTDay(now.AddDate(0, 0, -29))
	accounts, err := s.Balances.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var cards []views.Card
	for _, a := range accounts {
		days, err := s.Balances.Days(ctx, a.Source, from, to)
		if err != nil {
			return nil, err
		}
		name := sourceLabel(a.Source)
		var line []int64
		for _, d := range days {
			switch {
			case a.HasBalance && d.Known && len(line) == 0:
				line = append(line, d.Open, d.Close)
			case a.HasBalance && d.Known:
				line = append(line, d.Close)
			case !a.HasBalance:
				line = append(line, d.OutflowPaise)
			}
		}
		if a.HasBalance {
			hint := "no figure yet"
			if a.Known {
				hint = "after " + views.INR(a.ReservedPaise) + " reserved · as of " + views.When(a.Last.FetchedAt)
			}
			if a.Below() {
				hint = "below its threshold · " + hint
			}
			cards = append(cards, views.Card{Label: name + " available", Value: views.INR(a.AvailableAfterPaise()), Hint: hint,
				Href: "/balances#account-" + a.Source, Spark: views.Sparkline(line, name+" balance, last 30 days")})
			continue
		}
		cards = append(cards, views.Card{Label: name + " committed", Value: views.INR(a.InFlightPaise),
			Hint: "in flight; bank balance not available by API", Href: "/balances#account-" + a.Source,
			Spark: views.Sparkline(line, name+" paid per day, last 30 days")})
	}
	byDay, _, total, err := s.inflowDays(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var line []int64
	for _, d := range db.DaysBetween(from, to) {
		line = append(line, byDay[d].Paise)
	}
	today := byDay[db.ISTDay(now)]
	cards = append(cards, views.Card{Label: "Collected today", Value: views.INR(today.Paise),
		Hint: views.INR(total.Paise) + " in 30 days", Href: "/balances", Spark: views.Sparkline(line, "Money collected per day, last 30 days")})
	return cards, nil
}
