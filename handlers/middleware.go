package handlers

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/sessions"

	"paydesk/db"
)

type ctxKey int

const requestIDKey ctxKey = iota

// authState is what loadSession learns about a request. It lives in
// c.Locals for this request only.
type authState struct {
	session *sessions.Session
	user    *db.User
	// ended: the request carried our cookie of a session that has ended
	// (signed out, expired, ended by an admin).
	ended bool
}

const authLocal = "paydesk.auth"

func auth(c *fiber.Ctx) *authState {
	if a, ok := c.Locals(authLocal).(*authState); ok {
		return a
	}
	return &authState{}
}

func (a *authState) csrf() string {
	if a.session == nil {
		return ""
	}
	tok, _ := a.session.Values[sessCSRF].(string)
	return tok
}

func (s *Server) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.Log.Error("panic", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fiber.ErrInternalServerError
		}
	}()
	return c.Next()
}

// requestLog gives each request an id (kept from X-Request-ID when sane) and
// logs it with its outcome.
func (s *Server) requestLog(c *fiber.Ctx) error {
	id := c.Get("X-Request-ID")
	if id == "" || len(id) > 64 || strings.ContainsAny(id, " \t\r\n\"") {
		id = randomToken(9)
	}
	c.Set("X-Request-ID", id)
	c.SetUserContext(context.WithValue(c.UserContext(), requestIDKey, id))
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	if s.Metrics != nil {
		s.Metrics.observeRequest(c, status, time.Since(start))
	}
	level := slog.LevelInfo
	if strings.HasPrefix(c.Path(), "/static/") || c.Path() == "/healthz" || c.Path() == "/readyz" {
		level = slog.LevelDebug
	}
	attrs := []any{"request_id", id, "method", c.Method(), "path", c.Path(), "status", status,
		"duration_ms", time.Since(start).Milliseconds()}
	if a := auth(c); a.user != nil {
		attrs = append(attrs, "user", a.user.Username)
	}
	s.Log.Log(c.UserContext(), level, "request", attrs...)
	return nil
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.UserContext().Value(requestIDKey).(string)
	return id
}

// contentSecurityPolicy allows only our own files: no inline script or style,
// no eval, no plugins, no framing, no <base> tricks.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

func (s *Server) securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if s.Config.Production || s.Config.TLS {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	// Pages carry payment data: never cache them. Static files override this.
	h.Set("Cache-Control", "no-store")
	return c.Next()
}

// loadSession reads the session cookie and the signed-in user. A session
// whose user is gone or disabled is ended on the spot.
func (s *Server) loadSession(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sess, ended, err := s.Sessions.load(netRequest(c, ctx), s.Sessions.CookieName())
	if err != nil {
		return err
	}
	a := &authState{session: sess, ended: ended}
	if uid, _ := sess.Values[sessUserID].(int64); uid != 0 {
		u, err := s.DB.User(ctx, uid)
		switch {
		case err == nil && !u.Disabled:
			a.user = &u
		case err == nil || db.ErrorCode(err) == db.ENOTFOUND:
			if err := s.DB.DeleteSession(ctx, sess.ID); err != nil {
				return err
			}
			if err == nil {
				// A disabled person's live session, used: on the record.
				if err := s.DB.AuditRefusal(ctx, u.Actor(), "auth.refused_disabled", s.refusalDetails(c, fiber.StatusUnauthorized,
					"This account is disabled; its session was ended.")); err != nil {
					return err
				}
			}
			a.ended = true
			a.session = sessions.NewSession(s.Sessions, s.Sessions.CookieName())
			a.session.Options = s.Sessions.options()
		default:
			return err
		}
	}
	c.Locals(authLocal, a)
	// The approval engine reads this session's step-up in its own
	// transaction.
	c.SetUserContext(db.WithSession(ctx, a.session.ID))
	return c.Next()
}

// saveSession writes the session and copies its cookie onto the response.
func (s *Server) saveSession(c *fiber.Ctx, sess *sessions.Session) error {
	w := newCookieWriter()
	if err := s.Sessions.Save(netRequest(c, c.UserContext()), w, sess); err != nil {
		return err
	}
	w.copyTo(c)
	return nil
}

func isSafeMethod(m string) bool {
	return m == fiber.MethodGet || m == fiber.MethodHead || m == fiber.MethodOptions
}

// checkCSRF refuses any state-changing request whose token does not match the
// session's. htmx sends it as X-CSRF-Token (hx-headers on <body>); plain forms
// as the _csrf field.
func (s *Server) checkCSRF(c *fiber.Ctx) error {
	if isSafeMethod(c.Method()) {
		return c.Next()
	}
	want := auth(c).csrf()
	got := c.Get("X-CSRF-Token")
	if got == "" {
		got = c.FormValue("_csrf")
	}
	// A browser says when a request comes from another site's page; no
	// form of ours ever does.
	if c.Get("Sec-Fetch-Site") == "cross-site" {
		s.Log.Warn("cross-site request refused", "request_id", requestID(c), "path", c.Path())
		return fiber.NewError(fiber.StatusForbidden, "A request from another site was refused. Use Paydesk's own pages.")
	}
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		s.Log.Warn("csrf refused", "request_id", requestID(c), "path", c.Path(), "has_session", want != "", "has_token", got != "")
		return fiber.NewError(fiber.StatusForbidden, "The form has expired or did not come from Paydesk. Reload the page and try again.")
	}
	return c.Next()
}

// auditRefusals puts on the record every state-changing request that was
// refused (4xx) and every read that was forbidden (403), when it came from
// a signed-in person or with the cookie of a session that has ended: the
// shapes an attack takes. The domain's own refusals (approval.refused and
// such) say why; this entry says what was asked. Anonymous refusals are
// only logged: anyone could fill the log with them.
func (s *Server) auditRefusals(c *fiber.Ctx) error {
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		status = statusOf(err)
	}
	if status < 400 || status >= 500 || (isSafeMethod(c.Method()) && status != fiber.StatusForbidden) {
		return err
	}
	a := auth(c)
	var actor db.Actor
	switch {
	case a.user != nil:
		actor = a.user.Actor()
	case a.ended:
		actor = db.Actor{Username: "(ended session)"}
	default:
		return err
	}
	reason := "refused"
	if err != nil {
		reason = messageOf(err, status)
	} else if status == fiber.StatusUnprocessableEntity {
		reason = "the input was refused (see the form's messages)"
	}
	if aerr := s.DB.AuditRefusal(c.UserContext(), actor, "request.refused", s.refusalDetails(c, status, reason)); aerr != nil {
		s.Log.Error("audit refusal", "request_id", requestID(c), "err", aerr)
	}
	return err
}

func (s *Server) refusalDetails(c *fiber.Ctx, status int, reason string) map[string]any {
	return map[string]any{"method": c.Method(), "path": c.Path(), "status": status, "reason": reason,
		"client": s.clientAddr(c), "request_id": requestID(c)}
}

// requireUser sends anonymous requests to the sign-in page.
func (s *Server) requireUser(c *fiber.Ctx) error {
	if auth(c).user != nil {
		return c.Next()
	}
	target := "/login"
	if c.Method() == fiber.MethodGet && c.Path() != "/" {
		target += "?next=" + urlQueryEscape(string(c.Request().RequestURI()))
	}
	if c.Get("HX-Request") == "true" {
		c.Set("HX-Redirect", target)
		return c.SendStatus(fiber.StatusUnauthorized)
	}
	if !isSafeMethod(c.Method()) {
		return fiber.NewError(fiber.StatusUnauthorized, "Your session has ended; please sign in again.")
	}
	return c.Redirect(target, fiber.StatusSeeOther)
}

// requireRole refuses users without any of roles.
func (s *Server) requireRole(roles ...db.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := auth(c).user
		for _, r := range roles {
			if u != nil && u.HasRole(r) {
				return c.Next()
			}
		}
		return fiber.NewError(fiber.StatusForbidden, "Your role does not allow this. Ask an admin if you need access.")
	}
}
