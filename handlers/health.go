package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"
)

// healthz: the process is alive.
func (s *Server) healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// readyz: the database answers, every migration is applied, and the
// dispatcher works jobs.
func (s *Server) readyz(c *fiber.Ctx) error {
	err := s.DB.Ready(c.UserContext())
	if err == nil && s.Dispatcher != nil && !s.Dispatcher.Started() {
		err = errors.New("the dispatcher is not running")
	}
	if err != nil {
		s.Log.Warn("not ready", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).SendString("not ready: " + err.Error())
	}
	return c.SendString("ready")
}
