package handlers

import (
	"net/url"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/views"
)

func roleNames() []string {
	out := make([]string, len(db.AllRoles))
	for i, r := range db.AllRoles {
		out[i] = string(r)
	}
	return out
}

// formRoles reads the checked roles of a form, as given.
func formRoles(c *fiber.Ctx) []db.Role {
	var out []db.Role
	for _, v := range c.Request().PostArgs().PeekMulti("roles") {
		out = append(out, db.Role(v))
	}
	return out
}

func roleSet(roles []db.Role) map[string]bool {
	m := map[string]bool{}
	for _, r := range roles {
		m[string(r)] = true
	}
	return m
}

func (s *Server) userRow(c *fiber.Ctx, u db.User) views.UserRow {
	row := views.UserRow{
		ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Roles: roleSet(u.Roles),
		Disabled: u.Disabled, ActiveSessions: u.ActiveSessions, LastSeen: views.When(u.LastSeenAt),
		IsMe: auth(c).user.ID == u.ID, CSRF: auth(c).csrf(), SecondFactor: u.SecondFactor,
	}
	if !u.LockedUntil.IsZero() {
		row.LockedUntil = u.LockedUntil.UTC().Format("15:04:05 UTC")
		row.LockedFrom = u.LockedFrom
	}
	return row
}

func (s *Server) usersPage(c *fiber.Ctx) error {
	users, err := s.DB.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	p := views.UsersProps{Shell: s.shell(c, "Users", "/admin/users"), Roles: roleNames(),
		Form: views.NewUserForm{CSRF: auth(c).csrf(), Roles: map[string]bool{}}}
	// Only a user who exists is named, never the link's text.
	if name := c.Query("created"); slices.ContainsFunc(users, func(u db.User) bool { return u.Username == name }) {
		p.Form.Notice = "Created " + name + "."
	}
	for _, u := range users {
		if u.Username == db.BankPortalUsername {
			continue // the bank portal's stand-in maker: it never signs in
		}
		p.Users = append(p.Users, s.userRow(c, u))
	}
	return s.render(c, fiber.StatusOK, views.UsersPage(p), nil)
}

func (s *Server) createUser(c *fiber.Ctx) error {
	in := db.NewUser{Username: c.FormValue("username"), DisplayName: c.FormValue("display_name"),
		Password: c.FormValue("password"), Roles: formRoles(c)}
	form := views.NewUserForm{Username: in.Username, DisplayName: in.DisplayName, Roles: roleSet(in.Roles), CSRF: auth(c).csrf()}
	u, err := s.DB.CreateUser(c.UserContext(), s.Hasher, auth(c).user.Actor(), in)
	if err != nil {
		if db.ErrorCode(err) != db.EINVALID {
			return err
		}
		form.Errors = db.FieldErrors(err)
		if !isFragmentRequest(c) {
			return s.renderUsersWithForm(c, form)
		}
		return s.render(c, fiber.StatusUnprocessableEntity, nil, views.NewUserPanel(form, roleNames()))
	}
	if !isFragmentRequest(c) {
		return c.Redirect("/admin/users?created="+u.Username, fiber.StatusSeeOther)
	}
	fresh := views.NewUserForm{CSRF: auth(c).csrf(), Roles: map[string]bool{}, Notice: "Created " + u.Username + "."}
	u.ActiveSessions = 0
	return s.render(c, fiber.StatusOK, nil, views.UserCreated(fresh, roleNames(), s.userRow(c, u)))
}

// renderUsersWithForm re-renders the whole page keeping what was typed, for
// browsers without htmx.
func (s *Server) renderUsersWithForm(c *fiber.Ctx, form views.NewUserForm) error {
	users, err := s.DB.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	p := views.UsersProps{Shell: s.shell(c, "Users", "/admin/users"), Roles: roleNames(), Form: form}
	for _, u := range users {
		p.Users = append(p.Users, s.userRow(c, u))
	}
	return s.render(c, fiber.StatusUnprocessableEntity, views.UsersPage(p), nil)
}

// userAction runs one change on the user named in the path and answers with
// the user's row (htmx) or a redirect back to the list.
func (s *Server) userAction(c *fiber.Ctx, notice string, change func(id int64, actor db.Actor) error) error {
	return s.userActionSaying(c, func(id int64, actor db.Actor) (string, error) { return notice, change(id, actor) })
}

// userActionSaying is userAction whose change says what happened.
func (s *Server) userActionSaying(c *fiber.Ctx, change func(id int64, actor db.Actor) (string, error)) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.NewError(fiber.StatusNotFound, "No such user.")
	}
	notice, changeErr := change(id, auth(c).user.Actor())
	if db.ErrorCode(changeErr) == db.ESTEPUP {
		return stepUpThen(c, "/admin/users")
	}
	if changeErr != nil && statusOf(changeErr) >= 500 {
		return changeErr
	}
	if !isFragmentRequest(c) {
		if changeErr != nil {
			return changeErr
		}
		return c.Redirect("/admin/users", fiber.StatusSeeOther)
	}
	users, err := s.DB.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.ID != id {
			continue
		}
		row := s.userRow(c, u)
		status := fiber.StatusOK
		if changeErr != nil {
			status = fiber.StatusUnprocessableEntity
			row.FieldErrors = db.FieldErrors(changeErr)
			if row.FieldErrors == nil {
				row.Error = db.ErrorMessage(changeErr)
			}
		} else {
			row.Notice = notice
		}
		return s.render(c, status, nil, views.UserTableRow(row, roleNames()))
	}
	return fiber.NewError(fiber.StatusNotFound, "No such user.")
}

func (s *Server) setUserRoles(c *fiber.Ctx) error {
	return s.userAction(c, "Roles saved; the user was signed out.", func(id int64, actor db.Actor) error {
		_, err := s.DB.SetRoles(c.UserContext(), actor, id, formRoles(c))
		return err
	})
}

func (s *Server) disableUser(c *fiber.Ctx) error {
	return s.userAction(c, "Disabled; their sessions have ended.", func(id int64, actor db.Actor) error {
		_, err := s.DB.SetDisabled(c.UserContext(), actor, id, true)
		return err
	})
}

func (s *Server) enableUser(c *fiber.Ctx) error {
	return s.userAction(c, "Enabled.", func(id int64, actor db.Actor) error {
		_, err := s.DB.SetDisabled(c.UserContext(), actor, id, false)
		return err
	})
}

func (s *Server) resetUserPassword(c *fiber.Ctx) error {
	return s.userAction(c, "Password set; the user was signed out.", func(id int64, actor db.Actor) error {
		_, err := s.DB.ResetPassword(c.UserContext(), s.Hasher, actor, id, c.FormValue("password"))
		return err
	})
}

func (s *Server) endUserSessions(c *fiber.Ctx) error {
	return s.userAction(c, "All sessions ended.", func(id int64, actor db.Actor) error {
		_, err := s.DB.EndSessions(c.UserContext(), actor, id)
		return err
	})
}

func (s *Server) unlockUser(c *fiber.Ctx) error {
	return s.userAction(c, "Unlocked.", func(id int64, actor db.Actor) error {
		u, err := s.DB.User(c.UserContext(), id)
		if err != nil {
			return err
		}
		return s.DB.Unlock(c.UserContext(), actor, u.Username)
	})
}

// userPage is one user's record with the audit entries about them.
func (s *Server) userPage(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil || id <= 0 {
		return fiber.ErrNotFound
	}
	ctx := c.UserContext()
	u, err := s.DB.User(ctx, int64(id))
	if err != nil {
		return err
	}
	entries, _, err := s.DB.ListAudit(ctx, db.AuditFilter{Target: "user:" + u.Username, Limit: 100})
	if err != nil {
		return err
	}
	row := s.userRow(c, u)
	for _, r := range u.Roles {
		row.RoleList = append(row.RoleList, string(r))
	}
	return s.render(c, fiber.StatusOK, views.UserPage(views.UserPageProps{Shell: s.shell(c, u.DisplayName, "/admin/users"),
		User: row, Audit: auditRows(entries), ActorURL: "/admin/audit?actor=" + url.QueryEscape(u.Username)}), nil)
}
