package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"paydesk/db"
)

// Reserved session value keys, mirrored into the sessions table's columns.
const (
	sessUserID = "user_id"
	sessCSRF   = "csrf"
)

// anonPrefix starts the cookie value of a session with no row; a row's id is
// base64url and never holds a dot.
const anonPrefix = "anon."

// touchEvery bounds how often a request writes last_seen_at: the idle timeout
// is honoured to within this much, and reads stay reads.
const touchEvery = time.Minute

// SessionStore is a gorilla/sessions Store backed by the sessions table. The
// cookie carries only a signed random id of 256 bits; the row holds the rest.
//
// A visitor who has not signed in has no row: their cookie carries the
// sign-in form's CSRF token itself, signed (anonPrefix). Showing the
// sign-in page then writes nothing, so anonymous visits cannot queue on
// the single writer that approvals and payouts wait for.
type SessionStore struct {
	db       *db.DB
	codecs   []securecookie.Codec
	name     string
	secure   bool
	idle     time.Duration
	absolute time.Duration
}

var _ sessions.Store = (*SessionStore)(nil)

// SessionOptions configure a SessionStore.
type SessionOptions struct {
	// HashKey signs the cookie (32 or 64 random bytes).
	HashKey []byte
	// Secure sets the Secure flag and the __Host- name prefix.
	Secure   bool
	Idle     time.Duration
	Absolute time.Duration
}

// NewSessionStore returns a store over d.
func NewSessionStore(d *db.DB, o SessionOptions) *SessionStore {
	name := "paydesk_session"
	if o.Secure {
		name = "__Host-paydesk_session"
	}
	codec := securecookie.New(o.HashKey, nil)
	codec.MaxAge(int(o.Absolute / time.Second))
	codec.SetSerializer(securecookie.NopEncoder{})
	return &SessionStore{db: d, codecs: []securecookie.Codec{codec}, name: name, secure: o.Secure, idle: o.Idle, absolute: o.Absolute}
}

// CookieName is the session cookie's name.
func (s *SessionStore) CookieName() string { return s.name }

func (s *SessionStore) options() *sessions.Options {
	return &sessions.Options{Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
}

// Get returns the session named name, via the request's registry.
func (s *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session the request's cookie names, or returns a new one when
// there is none, its signature is wrong, or it has expired (idle or absolute).
func (s *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess, _, err := s.load(r, name)
	return sess, err
}

// load is New, also saying whether the cookie was one of ours (its
// signature good) for a session that has ended: a cookie kept past
// sign-out, replayed.
func (s *SessionStore) load(r *http.Request, name string) (sess *sessions.Session, ended bool, err error) {
	sess = sessions.NewSession(s, name)
	sess.Options = s.options()
	sess.IsNew = true
	cookie, err := r.Cookie(name)
	if err != nil {
		return sess, false, nil
	}
	var id []byte
	if err := securecookie.DecodeMulti(name, cookie.Value, &id, s.codecs...); err != nil {
		return sess, false, nil
	}
	if token, ok := bytes.CutPrefix(id, []byte(anonPrefix)); ok {
		sess.IsNew = false
		sess.Values[sessCSRF] = string(token)
		return sess, false, nil
	}
	ctx := r.Context()
	row, err := s.db.Session(ctx, string(id))
	if err != nil {
		if err == db.ErrNoSession {
			return sess, true, nil
		}
		return sess, false, err
	}
	now := s.db.Now()
	if !now.Before(row.ExpiresAt) || now.Sub(row.LastSeenAt) >= s.idle {
		return sess, true, s.db.DeleteSession(ctx, row.ID)
	}
	if len(row.Data) > 0 {
		if err := gob.NewDecoder(bytes.NewReader(row.Data)).Decode(&sess.Values); err != nil {
			return sess, false, fmt.Errorf("session data: %w", err)
		}
	}
	sess.ID = row.ID
	sess.IsNew = false
	sess.Values[sessUserID] = row.UserID
	sess.Values[sessCSRF] = row.CSRFToken
	if now.Sub(row.LastSeenAt) >= touchEvery {
		if err := s.db.TouchSession(ctx, row.ID, now); err != nil {
			return sess, false, err
		}
	}
	return sess, false, nil
}

// Save writes the session row (creating it with a fresh id and CSRF token when
// new) and sets the cookie. MaxAge < 0 deletes both.
func (s *SessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	ctx := r.Context()
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.db.DeleteSession(ctx, sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	userID, _ := sess.Values[sessUserID].(int64)
	extra := make(map[any]any, len(sess.Values))
	for k, v := range sess.Values {
		if k != sessUserID && k != sessCSRF {
			extra[k] = v
		}
	}
	var data bytes.Buffer
	if len(extra) > 0 {
		if err := gob.NewEncoder(&data).Encode(extra); err != nil {
			return fmt.Errorf("session data: %w", err)
		}
	}
	if sess.ID == "" && userID == 0 && len(extra) == 0 {
		return s.saveAnonymous(w, sess)
	}
	now := s.db.Now()
	if sess.ID == "" {
		sess.ID = randomToken(32)
		csrf := randomToken(32)
		sess.Values[sessCSRF] = csrf
		if err := s.db.CreateSession(ctx, db.Session{
			ID: sess.ID, UserID: userID, CSRFToken: csrf, Data: data.Bytes(),
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.absolute),
			UserAgent: truncate(r.UserAgent(), 200), RemoteAddr: r.RemoteAddr,
		}); err != nil {
			return err
		}
	} else if err := s.db.SaveSessionData(ctx, sess.ID, data.Bytes(), now); err != nil {
		return err
	}
	encoded, err := securecookie.EncodeMulti(sess.Name(), []byte(sess.ID), s.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}

// saveAnonymous sets the cookie of a session that holds nothing but its
// CSRF token, keeping the token it has.
func (s *SessionStore) saveAnonymous(w http.ResponseWriter, sess *sessions.Session) error {
	token, _ := sess.Values[sessCSRF].(string)
	if token == "" {
		token = randomToken(32)
		sess.Values[sessCSRF] = token
	}
	encoded, err := securecookie.EncodeMulti(sess.Name(), []byte(anonPrefix+token), s.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}

// Renew gives the session a new id and CSRF token for userID, removing the
// old row: called at sign-in so an id planted before it is worthless after.
func (s *SessionStore) Renew(r *http.Request, w http.ResponseWriter, sess *sessions.Session, userID int64) error {
	return s.RenewWith(r, w, sess, map[any]any{sessUserID: userID})
}

// RenewWith gives the session a new id and CSRF token holding values only:
// the password step of a sign-in that still needs its code keeps who is
// signing in, but no user.
func (s *SessionStore) RenewWith(r *http.Request, w http.ResponseWriter, sess *sessions.Session, values map[any]any) error {
	if sess.ID != "" {
		if err := s.db.DeleteSession(r.Context(), sess.ID); err != nil {
			return err
		}
	}
	sess.ID = ""
	sess.IsNew = true
	sess.Values = values
	return s.Save(r, w, sess)
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// The adapters below let gorilla/sessions, which speaks net/http, work on a
// Fiber request without keeping the *fiber.Ctx beyond the handler.

// netRequest builds the minimal *http.Request gorilla needs: the Cookie header,
// the User-Agent, the remote address and a context.
func netRequest(c *fiber.Ctx, ctx context.Context) *http.Request {
	r := (&http.Request{Method: c.Method(), Header: http.Header{}}).WithContext(ctx)
	if cookie := c.Get(fiber.HeaderCookie); cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	r.Header.Set("User-Agent", c.Get(fiber.HeaderUserAgent))
	r.RemoteAddr = c.IP()
	return r
}

// cookieWriter collects the Set-Cookie headers gorilla writes.
type cookieWriter struct{ header http.Header }

func newCookieWriter() *cookieWriter { return &cookieWriter{header: http.Header{}} }

func (w *cookieWriter) Header() http.Header         { return w.header }
func (w *cookieWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *cookieWriter) WriteHeader(int)             {}

// copyTo moves the collected cookies onto the Fiber response.
func (w *cookieWriter) copyTo(c *fiber.Ctx) {
	for _, v := range w.header.Values("Set-Cookie") {
		c.Response().Header.Add(fiber.HeaderSetCookie, v)
	}
}
