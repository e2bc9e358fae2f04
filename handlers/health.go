package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// healthz: the process is alive.
func (s *Server) healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// readyz: the database answers and every migration is applied.
func (s *Server) readyz(c *fiber.Ctx) error {
	if err := s.DB.Ready(c.UserContext()); err != nil {
		s.Log.Warn("not ready", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).SendString("not ready: " + err.Error())
	}
	return c.SendString("ready")
}
