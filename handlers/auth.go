package handlers

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/views"
)

func (s *Server) loginProps(c *fiber.Ctx) views.LoginProps {
	return views.LoginProps{Assets: s.viewAssets(), CSRF: auth(c).csrf(), Next: localPath(c.Query("next")), Banner: s.Config.Banner}
}

// loginPage shows the sign-in form. A visitor without a session gets an
// anonymous one here (a signed cookie, no row), so the form's CSRF token is
// tied to a cookie too.
func (s *Server) loginPage(c *fiber.Ctx) error {
	a := auth(c)
	if a.user != nil {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	if a.session.ID == "" {
		if err := s.saveSession(c, a.session); err != nil {
			return err
		}
	}
	p := s.loginProps(c)
	if c.Query("signed_out") != "" {
		p.Notice = "You have signed out."
	}
	return s.render(c, fiber.StatusOK, views.LoginPage(p), nil)
}

// login checks the credentials under the throttle; on success the session
// gets a new id before it carries the user.
func (s *Server) login(c *fiber.Ctx) error {
	a := auth(c)
	p := s.loginProps(c)
	p.Username = c.FormValue("username")
	p.Next = localPath(c.FormValue("next"))
	user, err := s.DB.Authenticate(c.UserContext(), s.Hasher, p.Username, c.FormValue("password"), s.loginMeta(c))
	if err != nil {
		status := statusOf(err)
		switch {
		case status == fiber.StatusServiceUnavailable:
			// Busy hashing: the same sign-in will do in a moment.
			c.Set(fiber.HeaderRetryAfter, "1")
		case status >= 500:
			return err
		default:
			status = fiber.StatusUnprocessableEntity
		}
		p.Error = db.ErrorMessage(err)
		return s.render(c, status, views.LoginPage(p), views.LoginForm(p))
	}
	if s.SecondFactor != nil {
		need, err := s.SecondFactor.NeedsCodeAtSignIn(c.UserContext(), user)
		if err != nil {
			return err
		}
		if need {
			return s.beginCodeStep(c, user, p.Next)
		}
	}
	w := newCookieWriter()
	if err := s.Sessions.Renew(netRequest(c, c.UserContext()), w, a.session, user.ID); err != nil {
		return err
	}
	w.copyTo(c)
	return redirect(c, p.Next)
}

// logout deletes the session row, so the old cookie reaches nothing.
func (s *Server) logout(c *fiber.Ctx) error {
	a := auth(c)
	if err := s.DB.SignOut(c.UserContext(), a.user.Actor(), a.session.ID); err != nil {
		return err
	}
	a.session.Options.MaxAge = -1
	a.session.ID = ""
	if err := s.saveSession(c, a.session); err != nil {
		return err
	}
	return redirect(c, "/login?signed_out=1")
}

// clientAddr is the address a request came from, as far as it can be
// trusted: the TCP peer, unless the peer is a trusted proxy. Then
// X-Forwarded-For is read from the right (each proxy appends what it saw),
// past the trusted proxies, and the first address not among them is the
// client; whatever the client wrote further left is ignored.
func (s *Server) clientAddr(c *fiber.Ctx) string {
	peer, err := netip.ParseAddr(c.IP())
	if err != nil {
		return c.IP()
	}
	addr := peer.Unmap()
	if !s.trusted(addr) {
		return addr.String()
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled hop: the last good one is all that is known
		}
		addr = hop.Unmap()
		if !s.trusted(addr) {
			break
		}
	}
	return addr.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.Config.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
