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
	p.Roles = p.Shell.Roles
	for _, n := range p.Shell.Nav {
		if n.Href != "/" {
			p.Sections = append(p.Sections, n)
		}
	}
	return s.render(c, fiber.StatusOK, views.HomePage(p), nil)
}
