// Package handlers is Paydesk's web layer: thin Fiber handlers, one file per
// resource, that parse input, call db, and render views. Routes lists them all.
package handlers

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/static"
	"paydesk/views"
)

// Config is the web layer's share of Paydesk's configuration.
type Config struct {
	// Production turns on HSTS and refuses anything demo-like.
	Production bool
	// TLS is true when Paydesk itself terminates TLS.
	TLS bool
	// Banner is shown on every page (sandbox mode says so).
	Banner string
	// TrustedProxies are the peers whose X-Forwarded-For is believed
	// (clientAddr); none by default, so the client is the TCP peer.
	TrustedProxies []netip.Prefix
}

// Server holds what the handlers need. main.go builds it explicitly.
type Server struct {
	DB        *db.DB
	Approvals *db.Approvals
	Payouts   *db.Payouts
	Contacts  *db.Contacts
	Hasher    *db.Hasher
	Sessions  *SessionStore
	Assets    *static.Assets
	Log       *slog.Logger
	Config    Config
	// Pages keeps rendered pages while the database is unchanged; nil
	// renders every page.
	Pages *PageCache

	// Collections: requests for payment and vendors' requests to be paid.
	Collections *db.Collections

	// Balances and KS Pay: every account's figure, history and threshold;
	// the channels money is collected through (summed on the balances
	// page); KS Pay collections.
	Balances *db.Balances
	Inflows  []db.InflowSource
	Gateway  *db.Gateway

	// Operations: /metrics (nil: off) and what /readyz waits for besides
	// the database (the dispatcher); bank-side payouts, for the retry of a
	// decision that failed to reach the bank.
	Metrics    *Metrics
	Dispatcher interface{ Started() bool }
	BankSide   *db.BankSide

	// Recovery tells which payouts wait for recovery after a crash (the
	// dispatcher); nil: none are shown.
	Recovery RecoveryStatus

	// SecondFactor: TOTP enrolment, codes at sign-in and step-up.
	SecondFactor *db.SecondFactor

	// VirtualAccounts: accounts, their credits and refunds.
	VirtualAccounts *db.VirtualAccounts

	// Links: invoice templates and payment links (NTT DATA).
	Links *db.Links
}

// RecoveryStatus is what the payouts page asks the dispatcher.
type RecoveryStatus interface {
	AwaitingRecovery(ctx context.Context) (map[string]time.Time, error)
}

// NewApp returns a Fiber app with Paydesk's error handler and every route.
func NewApp(s *Server) *fiber.App {
	app := fiber.New(s.AppConfig())
	Routes(app, s)
	return app
}

// AppConfig is the Fiber configuration NewApp uses.
func (s *Server) AppConfig() fiber.Config {
	return fiber.Config{
		AppName:               "paydesk",
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           2 * time.Minute,
		BodyLimit:             32 << 20,
		// Paydesk does its own request-id and logging.
		EnableTrustedProxyCheck: false,
	}
}

func (s *Server) viewAssets() views.Assets {
	return views.Assets{
		CSS:     s.Assets.URL("app.css"),
		HTMX:    s.Assets.URL("htmx-2.0.11.min.js"),
		App:     s.Assets.URL("app.js"),
		Favicon: s.Assets.URL("favicon.svg"),
	}
}
