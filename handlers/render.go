package handlers

import (
	"context"
	"io"
	"net/url"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/bytebufferpool"

	"paydesk/db"
	"paydesk/views"
)

// isFragmentRequest: htmx asked for a part of a page. Boosted navigation and
// history restores need the whole page.
func isFragmentRequest(c *fiber.Ctx) bool {
	return c.Get("HX-Request") == "true" && c.Get("HX-Boosted") != "true" && c.Get("HX-History-Restore-Request") != "true"
}

// render writes page, or fragment when htmx asked for one (and fragment is
// not nil). Vary tells caches the two differ. The component is rendered
// into a pooled buffer first, so that a render error leaves no half page
// behind it (the error handler answers instead) and the body is set in one
// write.
func (s *Server) render(c *fiber.Ctx, status int, page, fragment templ.Component) error {
	c.Vary("HX-Request")
	comp := page
	if fragment != nil && isFragmentRequest(c) {
		comp = fragment
	}
	buf := bytebufferpool.Get()
	defer bytebufferpool.Put(buf)
	if err := comp.Render(c.UserContext(), buf); err != nil {
		return err
	}
	c.Status(status)
	c.Type("html", "utf-8")
	c.Locals(cacheableLocal, status == fiber.StatusOK)
	// SetBody copies: the buffer goes back to the pool when render
	// returns, while fasthttp sends the body later. (c.Send would keep the
	// pooled slice, and another request's page would overwrite it.)
	c.Response().SetBody(buf.B)
	return nil
}

// withChildren renders parent with child as its { children... }.
func withChildren(parent, child templ.Component) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return parent.Render(templ.WithChildren(ctx, child), w)
	})
}

// section is one navigation entry and the roles that see it.
type section struct {
	label, href string
	roles       []db.Role // any of
}

// sections lists only what exists; a section appears when its page does.
var sections = []section{
	{"Overview", "/", nil},
	{"Approval queue", "/queue", nil},
	{"Payouts", "/payouts", nil},
	{"Contacts", "/contacts", nil},
	{"Collections", "/collections", nil},
	{"Balances", "/balances", nil},
	{"KS Pay", "/gateway", nil},
	{"Virtual accounts", "/virtual-accounts", []db.Role{db.RoleAdmin, db.RoleChecker}},
	{"Credits", "/credits", []db.Role{db.RoleAdmin, db.RoleMaker, db.RoleChecker}},
	{"Payment links", "/links", []db.Role{db.RoleAdmin, db.RoleMaker}},
	{"Users", "/admin/users", []db.Role{db.RoleAdmin}},
	{"Approval rules", "/admin/rules", []db.Role{db.RoleAdmin}},
	{"Audit log", "/admin/audit", []db.Role{db.RoleAdmin}},
}

func visibleSections(u *db.User, active string) []views.NavItem {
	var out []views.NavItem
	for _, sec := range sections {
		ok := len(sec.roles) == 0
		for _, r := range sec.roles {
			ok = ok || (u != nil && u.HasRole(r))
		}
		if ok {
			out = append(out, views.NavItem{Label: sec.label, Href: sec.href, Active: sec.href == active})
		}
	}
	return out
}

// shell builds the layout props for the signed-in user.
func (s *Server) shell(c *fiber.Ctx, title, active string) views.Shell {
	a := auth(c)
	sh := views.Shell{Title: title, Assets: s.viewAssets(), CSRF: a.csrf(), Banner: s.Config.Banner}
	if a.user != nil {
		sh.Nav = visibleSections(a.user, active)
		if n, err := s.waiting(c, *a.user); err == nil {
			for i := range sh.Nav {
				if sh.Nav[i].Href == "/queue" {
					sh.Nav[i].Count = n
				}
			}
		} else {
			s.Log.Warn("queue count", "err", err)
		}
		// Vendors waiting to be paid need a maker's decision.
		if s.Collections != nil {
			if n, err := s.Collections.CountOpenVendorRequests(c.UserContext()); err == nil {
				for i := range sh.Nav {
					if sh.Nav[i].Href == "/collections" {
						sh.Nav[i].Count = n
					}
				}
			} else {
				s.Log.Warn("vendor request count", "err", err)
			}
		}
		sh.Username = a.user.Username
		sh.DisplayName = a.user.DisplayName
		for _, r := range a.user.Roles {
			sh.Roles = append(sh.Roles, string(r))
		}
	}
	return sh
}

// waiting counts what waits on u once per request: the navigation badge,
// the queue's heading and the home page's card show the same figure.
func (s *Server) waiting(c *fiber.Ctx, u db.User) (int, error) {
	if n, ok := c.Locals(localWaiting).(int); ok {
		return n, nil
	}
	n, err := s.Approvals.CountWaiting(c.UserContext(), u)
	if err == nil {
		c.Locals(localWaiting, n)
	}
	return n, err
}

// localWaiting is the request-scoped key of waiting's count.
const localWaiting = "paydesk.waiting"

// onePage turns one page of a list into its rows, and, when more follow,
// the address of the next page: the same filters (q), after the last
// item's cursor.
func onePage[T, R any](q url.Values, path string, list []T, more bool, row func(T) R, cursor func(T) string) ([]R, string) {
	rows := make([]R, len(list))
	for i, it := range list {
		rows[i] = row(it)
	}
	if !more || len(list) == 0 {
		return rows, ""
	}
	q.Set("after", cursor(list[len(list)-1]))
	return rows, path + "?" + q.Encode()
}

// redirect sends the browser to target: HX-Redirect for htmx, 303 otherwise.
func redirect(c *fiber.Ctx, target string) error {
	if c.Get("HX-Request") == "true" {
		c.Set("HX-Redirect", target)
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(target, fiber.StatusSeeOther)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// localPath keeps only same-site paths, so ?next= cannot send a person away
// nor add to the answer's headers. Any control character or backslash is
// refused outright: browsers drop tabs and newlines from a URL ("/\t/evil"
// becomes "//evil", another site) and read a backslash as a slash, and a
// CR or LF would be written into the Location header as they are.
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(next, "//") {
		return "/"
	}
	return next
}
