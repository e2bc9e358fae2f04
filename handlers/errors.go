package handlers

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/views"
)

// statusOf maps a domain error code to its HTTP status: the one place where
// db's codes meet HTTP.
func statusOf(err error) int {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	switch db.ErrorCode(err) {
	case db.EINVALID:
		return http.StatusUnprocessableEntity
	case db.ENOTFOUND:
		return http.StatusNotFound
	case db.ECONFLICT:
		return http.StatusConflict
	case db.EFORBIDDEN, db.ESTEPUP:
		return http.StatusForbidden
	case db.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case db.ELOCKED:
		return http.StatusLocked
	case db.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// auditOversized records a body too large to be read, refused before any
// handler ran, when its cookie is a signed-in person's.
func (s *Server) auditOversized(c *fiber.Ctx) {
	ctx := c.UserContext()
	sess, err := s.Sessions.New(netRequest(c, ctx), s.Sessions.CookieName())
	uid, _ := sess.Values[sessUserID].(int64)
	if err != nil || uid == 0 {
		return
	}
	u, err := s.DB.User(ctx, uid)
	if err != nil {
		return
	}
	if err := s.DB.AuditRefusal(ctx, u.Actor(), "request.refused", s.refusalDetails(c, http.StatusRequestEntityTooLarge,
		"The request is larger than Paydesk accepts.")); err != nil {
		s.Log.Error("audit refusal", "request_id", requestID(c), "err", err)
	}
}

func messageOf(err error, status int) string {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if status == http.StatusNotFound && fe.Message == "Cannot "+"GET" {
			return "There is nothing at this address."
		}
		if status >= 500 {
			return db.ErrorMessage(nil)
		}
		return fe.Message
	}
	if status >= 500 && db.ErrorCode(err) != db.EUNAVAILABLE {
		return db.ErrorMessage(nil)
	}
	return db.ErrorMessage(err)
}

var statusTitles = map[int]string{
	http.StatusBadRequest:            "Bad request",
	http.StatusUnauthorized:          "Please sign in",
	http.StatusForbidden:             "Not allowed",
	http.StatusNotFound:              "Page not found",
	http.StatusConflict:              "Cannot do that now",
	http.StatusLocked:                "Locked",
	http.StatusUnprocessableEntity:   "Please check your input",
	http.StatusRequestEntityTooLarge: "Too large",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusServiceUnavailable:    "Busy, try again",
}

// handleError is Fiber's one error handler: 5xx are logged as errors, 4xx as
// warnings, and the person gets an error page or, for htmx, a fragment.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status := statusOf(err)
	attrs := []any{"request_id", requestID(c), "method", c.Method(), "path", c.Path(), "status", status, "err", err.Error()}
	if status >= 500 {
		s.Log.Error("request failed", attrs...)
	} else {
		s.Log.Warn("request refused", attrs...)
	}
	if status == http.StatusRequestEntityTooLarge && c.Locals(authLocal) == nil {
		s.auditOversized(c)
	}
	title := statusTitles[status]
	if title == "" {
		title = "Something went wrong"
	}
	p := views.ErrorProps{Status: status, Title: title, Message: messageOf(err, status), RequestID: requestID(c)}
	c.Response().ResetBody()
	// An export fails after its headers are set: the error page must show,
	// not be saved as the .csv (render sets the HTML content type).
	c.Response().Header.Del(fiber.HeaderContentDisposition)
	frame := views.Bare(title, s.viewAssets(), auth(c).csrf())
	if auth(c).user != nil {
		frame = views.Layout(s.shell(c, title, ""))
	}
	return s.render(c, status, withChildren(frame, views.ErrorPage(p)), views.ErrorContent(p))
}

func (s *Server) notFound(c *fiber.Ctx) error {
	return fiber.NewError(fiber.StatusNotFound, "There is nothing at this address.")
}
