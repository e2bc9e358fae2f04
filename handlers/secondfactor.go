package handlers

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/views"
)

// The second factor's pages: the sign-in's second step, enrolment and
// recovery codes, the step-up before a big decision, an admin's reset of
// someone's second factor and the step-up band. The checks themselves are
// db's: the approval engine refuses a decision that needs a fresh code
// inside its own transaction; these pages only collect the code.

// Session keys of a sign-in waiting for its code. The session carries no
// user until the code is right.
const (
	sessPendingUser = "pending_user"
	sessPendingAt   = "pending_at"
	sessPendingNext = "pending_next"
)

// pendingFor is how long a password stays good for its code step.
const pendingFor = 5 * time.Minute

func (s *Server) loginMeta(c *fiber.Ctx) db.LoginMeta {
	return db.LoginMeta{RemoteAddr: s.clientAddr(c), UserAgent: truncate(c.Get(fiber.HeaderUserAgent), 200)}
}

// beginCodeStep ends a password sign-in that needs a code: a new session
// id, holding only who is signing in and since when.
func (s *Server) beginCodeStep(c *fiber.Ctx, u db.User, next string) error {
	w := newCookieWriter()
	if err := s.Sessions.RenewWith(netRequest(c, c.UserContext()), w, auth(c).session, map[any]any{
		sessPendingUser: u.ID, sessPendingAt: s.DB.Now().UnixMilli(), sessPendingNext: next,
	}); err != nil {
		return err
	}
	w.copyTo(c)
	return redirect(c, "/login/code")
}

// pendingSignIn is the user whose password was right moments ago in this
// session, if any.
func (s *Server) pendingSignIn(c *fiber.Ctx) (db.User, string, bool, error) {
	v := auth(c).session.Values
	uid, _ := v[sessPendingUser].(int64)
	at, _ := v[sessPendingAt].(int64)
	next, _ := v[sessPendingNext].(string)
	if uid == 0 || s.DB.Now().Sub(time.UnixMilli(at)) > pendingFor {
		return db.User{}, "", false, nil
	}
	u, err := s.DB.User(c.UserContext(), uid)
	if db.ErrorCode(err) == db.ENOTFOUND {
		return db.User{}, "", false, nil
	}
	return u, localPath(next), err == nil, err
}

func qrURI(png []byte) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}

func enrolling(e db.Enrolment) *views.Enrolling {
	return &views.Enrolling{QR: qrURI(e.QRPNG), Secret: e.Secret}
}

// codePage renders the sign-in's second step for u: the code form, or
// enrolment when u must set one up first.
func (s *Server) codePage(c *fiber.Ctx, status int, u db.User, codeErr, alert string) error {
	st, err := s.SecondFactor.Status(c.UserContext(), u)
	if err != nil {
		return err
	}
	p := views.CodePageProps{Assets: s.viewAssets(), CSRF: auth(c).csrf(), Username: u.Username, Banner: s.Config.Banner, Error: alert,
		Form: views.CodeForm{Action: "/login/code", CSRF: auth(c).csrf(), Label: "Sign in", AllowRecovery: true, Error: codeErr}}
	if !st.Enrolled {
		e, err := s.SecondFactor.BeginEnrolment(c.UserContext(), u)
		if err != nil {
			return err
		}
		p.Enrol, p.Form.Label, p.Form.AllowRecovery = enrolling(e), "Set up and sign in", false
	}
	return s.render(c, status, views.CodePage(p), nil)
}

func (s *Server) loginCodePage(c *fiber.Ctx) error {
	u, _, ok, err := s.pendingSignIn(c)
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	return s.codePage(c, fiber.StatusOK, u, "", "")
}

// loginCode completes a sign-in with its code (or enrols, then signs in,
// and shows the new recovery codes once).
func (s *Server) loginCode(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u, next, ok, err := s.pendingSignIn(c)
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	st, err := s.SecondFactor.Status(ctx, u)
	if err != nil {
		return err
	}
	var codes []string
	if st.Enrolled {
		err = s.SecondFactor.SignIn(ctx, u, c.FormValue("code"), s.loginMeta(c))
	} else {
		codes, err = s.SecondFactor.ConfirmEnrolment(ctx, u, c.FormValue("code"), s.loginMeta(c))
	}
	if err != nil {
		if statusOf(err) >= 500 {
			return err
		}
		return s.codePage(c, fiber.StatusUnprocessableEntity, u, db.FieldErrors(err)["code"], fieldlessMessage(err))
	}
	w := newCookieWriter()
	if err := s.Sessions.Renew(netRequest(c, ctx), w, auth(c).session, u.ID); err != nil {
		return err
	}
	w.copyTo(c)
	if len(codes) > 0 {
		return s.render(c, fiber.StatusOK, views.RecoveryCodesPage(s.viewAssets(), "", views.RecoveryCodesProps{Codes: codes, Continue: next}), nil)
	}
	return redirect(c, next)
}

// fieldlessMessage is an error's message when it has no field to sit by.
func fieldlessMessage(err error) string {
	if db.FieldErrors(err) != nil {
		return ""
	}
	return db.ErrorMessage(err)
}

// securityProps is the sign-in security page as u sees it now.
func (s *Server) securityProps(c *fiber.Ctx) (views.SecurityProps, error) {
	ctx := c.UserContext()
	u := *auth(c).user
	st, err := s.SecondFactor.Status(ctx, u)
	if err != nil {
		return views.SecurityProps{}, err
	}
	p := views.SecurityProps{Shell: s.shell(c, "Sign-in security", ""), Enrolled: st.Enrolled, RecoveryLeft: st.RecoveryLeft,
		Required: st.MustEnrol, StepUpAbove: views.INR(st.StepUpAbove),
		Form: views.CodeForm{Action: "/account/security/recovery-codes", CSRF: auth(c).csrf(), Label: "Make new recovery codes"}}
	if st.Enrolled {
		p.EnrolledAt = views.When(st.EnrolledAt)
		if st.SteppedUpNow {
			p.SteppedUpTill = st.SteppedUpAt.Add(db.StepUpWindow).UTC().Format("15:04:05") + " UTC"
		}
	} else if st.Pending {
		e, err := s.SecondFactor.BeginEnrolment(ctx, u) // the one waiting: nothing is written
		if err != nil {
			return p, err
		}
		p.Enrol = enrolling(e)
		p.Form = views.CodeForm{Action: "/account/security/confirm", CSRF: auth(c).csrf(), Label: "Confirm and turn on"}
	}
	if u.HasRole(db.RoleAdmin) {
		p.Band = &views.BandForm{CSRF: auth(c).csrf(), Above: providers.FormatAmount(st.StepUpAbove)}
	}
	return p, nil
}

func (s *Server) securityPage(c *fiber.Ctx) error {
	p, err := s.securityProps(c)
	if err != nil {
		return err
	}
	if c.Query("done") == "band" && p.Band != nil {
		p.Band.Notice = "Saved."
	}
	if r, ok := s.queryRequest(c, "request", db.StepUpBandKind); ok && r.MakerID == auth(c).user.ID {
		p.Notice = "Sent for approval to another admin (request #" + strconv.FormatInt(r.ID, 10) + ")."
	}
	return s.render(c, fiber.StatusOK, views.SecurityPage(p), nil)
}

// securityAnswer re-renders the security page after an action: codeErr
// beside the code field, or alert at the top.
func (s *Server) securityAnswer(c *fiber.Ctx, status int, err error, newCodes []string, notice string) error {
	p, perr := s.securityProps(c)
	if perr != nil {
		return perr
	}
	if err != nil {
		if statusOf(err) >= 500 {
			return err
		}
		p.Form.Error, p.Error = db.FieldErrors(err)["code"], fieldlessMessage(err)
	}
	if len(newCodes) > 0 {
		p.NewCodes = &views.RecoveryCodesProps{Codes: newCodes}
	}
	p.Notice = notice
	return s.render(c, status, views.SecurityPage(p), nil)
}

func (s *Server) beginEnrolment(c *fiber.Ctx) error {
	if _, err := s.SecondFactor.BeginEnrolment(c.UserContext(), *auth(c).user); err != nil {
		return err
	}
	return c.Redirect("/account/security", fiber.StatusSeeOther)
}

func (s *Server) confirmEnrolment(c *fiber.Ctx) error {
	codes, err := s.SecondFactor.ConfirmEnrolment(c.UserContext(), *auth(c).user, c.FormValue("code"), s.loginMeta(c))
	if err != nil {
		return s.securityAnswer(c, fiber.StatusUnprocessableEntity, err, nil, "")
	}
	return s.securityAnswer(c, fiber.StatusOK, nil, codes, "Your second factor is on. Codes are asked at sign-in and before big decisions.")
}

func (s *Server) renewRecoveryCodes(c *fiber.Ctx) error {
	codes, err := s.SecondFactor.RenewRecoveryCodes(c.UserContext(), *auth(c).user, c.FormValue("code"), s.loginMeta(c))
	if err != nil {
		return s.securityAnswer(c, fiber.StatusUnprocessableEntity, err, nil, "")
	}
	return s.securityAnswer(c, fiber.StatusOK, nil, codes, "New recovery codes made; the old ones no longer work.")
}

// stepUpWith checks a code typed beside a decision, marking the session.
func (s *Server) stepUpWith(c *fiber.Ctx, code string) error {
	return s.SecondFactor.StepUp(c.UserContext(), *auth(c).user, auth(c).session.ID, code, s.loginMeta(c))
}

// stepUpThen sends the person to the step-up page, which brings them back to
// next, a path on this site, once they have typed a fresh code.
func stepUpThen(c *fiber.Ctx, next string) error {
	return redirect(c, "/step-up?next="+url.QueryEscape(next))
}

func (s *Server) stepUpProps(c *fiber.Ctx, next string) views.StepUpProps {
	return views.StepUpProps{Shell: s.shell(c, "Confirm it is you", ""),
		Why:  "Big decisions (above the step-up band, bulk decisions, changes to rules and second factors) need a fresh code from your authenticator app. It counts for 5 minutes.",
		Form: views.CodeForm{Action: "/step-up", CSRF: auth(c).csrf(), Next: next, Label: "Confirm", AllowRecovery: true}}
}

func (s *Server) stepUpPage(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, views.StepUpPage(s.stepUpProps(c, localPath(c.Query("next")))), nil)
}

func (s *Server) stepUp(c *fiber.Ctx) error {
	next := localPath(c.FormValue("next"))
	if err := s.stepUpWith(c, c.FormValue("code")); err != nil {
		if statusOf(err) >= 500 {
			return err
		}
		p := s.stepUpProps(c, next)
		p.Form.Error = db.FieldErrors(err)["code"]
		if p.Form.Error == "" {
			p.Form.Error = db.ErrorMessage(err)
		}
		return s.render(c, fiber.StatusUnprocessableEntity, views.StepUpPage(p), nil)
	}
	return redirect(c, next)
}

// bandChanges is a step-up band request's change for the queue and the
// request page; nil for other kinds.
func bandChanges(r db.ApprovalRequest) []views.FieldChange {
	before, after, ok := db.StepUpBandChangeOf(r)
	if !ok {
		return nil
	}
	return []views.FieldChange{{Label: "Ask for a code above", Old: views.INR(before), New: views.INR(after)}}
}

func (s *Server) resetSecondFactor(c *fiber.Ctx) error {
	return s.userActionSaying(c, func(id int64, _ db.Actor) (string, error) {
		r, applied, err := s.SecondFactor.Reset(c.UserContext(), *auth(c).user, id)
		switch {
		case err != nil:
			return "", err
		case applied:
			return "Second factor reset; they set one up again at their next sign-in or on their security page.", nil
		}
		return "Sent for approval to another admin (request #" + strconv.FormatInt(r.ID, 10) + ").", nil
	})
}

func (s *Server) setStepUpBand(c *fiber.Ctx) error {
	paise, perr := providers.ParseAmount(c.FormValue("above"))
	var r db.ApprovalRequest
	var applied bool
	err := perr
	if perr != nil {
		err = &db.Error{Code: db.EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"above": "Enter rupees, like 10,00,000."}}
	} else {
		r, applied, err = s.SecondFactor.SetStepUpAbove(c.UserContext(), *auth(c).user, paise)
	}
	switch {
	case db.ErrorCode(err) == db.ESTEPUP:
		return stepUpThen(c, "/account/security")
	case err != nil && statusOf(err) < 500:
		p, perr := s.securityProps(c)
		if perr != nil {
			return perr
		}
		p.Band.Above, p.Band.Error = c.FormValue("above"), db.FieldErrors(err)["above"]
		if p.Band.Error == "" {
			p.Band.Error = db.ErrorMessage(err)
		}
		return s.render(c, statusOf(err), views.SecurityPage(p), nil)
	case err != nil:
		return err
	case applied:
		return c.Redirect("/account/security?done=band", fiber.StatusSeeOther)
	}
	return c.Redirect("/account/security?request="+strconv.FormatInt(r.ID, 10), fiber.StatusSeeOther)
}
