package handlers

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"paydesk/db"
)

// Metrics is what /metrics serves, in Prometheus's text format: requests
// per route, River's jobs, provider calls, and the figures of Paydesk's own
// state (payouts per state, approvals waiting, the oldest payout on its
// way), read from the database when Prometheus scrapes, never per request.
type Metrics struct {
	// Token, when set, must come as "Authorization: Bearer <Token>".
	Token string
	// Figures reads Paydesk's state at scrape time (db.DB.OpsFigures); nil
	// leaves those figures out.
	Figures func(ctx context.Context) (db.OpsFigures, error)

	reg       *prometheus.Registry
	requests  *prometheus.HistogramVec
	jobs      *prometheus.HistogramVec
	calls     *prometheus.HistogramVec
	now       func() time.Time
	stateDesc struct {
		payouts, approvals, oldest, jobs, ok  *prometheus.Desc
		sqliteMemory, logPages, logLeft, ckpt *prometheus.Desc
	}
}

// NewMetrics builds the registry with Token required (if not empty).
func NewMetrics(token string) *Metrics {
	m := &Metrics{Token: token, reg: prometheus.NewRegistry(), now: time.Now}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "paydesk_http_request_duration_seconds", Help: "HTTP requests by route pattern, method and status class, with their latency.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route", "method", "code"})
	m.jobs = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "paydesk_job_run_duration_seconds", Help: "River job runs by kind and outcome (completed, snoozed, failed, discarded, cancelled), with how long each ran.",
		Buckets: []float64{.005, .025, .1, .25, 1, 2.5, 10, 30, 120},
	}, []string{"kind", "outcome"})
	m.calls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "paydesk_provider_call_duration_seconds", Help: "HTTP calls to providers by provider and outcome (ok, client_error, server_error, timeout, error), with their latency.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"provider", "outcome"})
	m.stateDesc.payouts = prometheus.NewDesc("paydesk_payouts", "Payouts in each state, counted up to 10,000 per state.", []string{"state"}, nil)
	m.stateDesc.approvals = prometheus.NewDesc("paydesk_approvals_waiting", "Approval requests waiting for a decision, by kind, counted up to 10,000 per kind.", []string{"kind"}, nil)
	m.stateDesc.oldest = prometheus.NewDesc("paydesk_oldest_open_payout_age_seconds", "Age of the oldest payout approved but not final (0: none).", nil, nil)
	m.stateDesc.jobs = prometheus.NewDesc("paydesk_jobs", "River jobs not yet finished, by queue and state, counted up to 10,000 each.", []string{"queue", "state"}, nil)
	m.stateDesc.sqliteMemory = prometheus.NewDesc("paydesk_sqlite_memory_bytes", "Memory SQLite has allocated (page caches, statements, schema), outside the Go heap.", nil, nil)
	m.stateDesc.logPages = prometheus.NewDesc("paydesk_wal_pages", "Pages in the write-ahead log at the last background checkpoint.", nil, nil)
	m.stateDesc.logLeft = prometheus.NewDesc("paydesk_wal_pages_not_checkpointed", "Pages the last background checkpoint could not copy back yet (a long read holds them); growing means the log grows.", nil, nil)
	m.stateDesc.ckpt = prometheus.NewDesc("paydesk_wal_checkpoint_age_seconds", "Time since the background checkpoint last copied the whole log back (0: not yet).", nil, nil)
	m.stateDesc.ok = prometheus.NewDesc("paydesk_state_scrape_ok", "1 when the state figures above were read from the database at this scrape, 0 when that failed.", nil, nil)
	m.reg.MustRegister(m.requests, m.jobs, m.calls, stateCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeRequest records one request. The route is Fiber's pattern
// ("/payouts/:id"), so ids never become label values.
func (m *Metrics) observeRequest(c *fiber.Ctx, status int, took time.Duration) {
	// Label values must not alias the request's buffers (Fiber reuses
	// them): the route's own strings, or constants.
	route, method := "unmatched", methodLabel(c.Method())
	if r := c.Route(); r != nil && r.Method != "USE" {
		route, method = r.Path, r.Method
	}
	m.requests.WithLabelValues(route, method, statusClass(status)).Observe(took.Seconds())
}

func methodLabel(m string) string {
	for _, known := range []string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete,
		fiber.MethodPatch, fiber.MethodOptions} {
		if m == known {
			return known
		}
	}
	return "other"
}

func statusClass(status int) string {
	switch {
	case status >= 500:
		return "5xx"
	case status >= 400:
		return "4xx"
	case status >= 300:
		return "3xx"
	}
	return "2xx"
}

// JobDone records one River job run (db.DispatchOptions.JobDone).
func (m *Metrics) JobDone(kind, outcome string, ran time.Duration) {
	m.jobs.WithLabelValues(kind, outcome).Observe(ran.Seconds())
}

// ProviderTransport measures every HTTP call a provider's client makes
// through next (registry.Options.Transport).
func (m *Metrics) ProviderTransport(provider string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(r)
		m.calls.WithLabelValues(provider, callOutcome(resp, err)).Observe(time.Since(start).Seconds())
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func callOutcome(resp *http.Response, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case err != nil:
		return "error"
	case resp.StatusCode >= 500:
		return "server_error"
	case resp.StatusCode >= 400:
		return "client_error"
	}
	return "ok"
}

// stateCollector reads Paydesk's state figures at scrape time.
type stateCollector struct{ m *Metrics }

func (s stateCollector) Describe(ch chan<- *prometheus.Desc) {
	d := s.m.stateDesc
	for _, desc := range []*prometheus.Desc{d.payouts, d.approvals, d.oldest, d.jobs, d.ok, d.sqliteMemory, d.logPages, d.logLeft, d.ckpt} {
		ch <- desc
	}
}

func (s stateCollector) Collect(ch chan<- prometheus.Metric) {
	d := s.m.stateDesc
	if s.m.Figures == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := s.m.Figures(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(d.ok, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(d.ok, prometheus.GaugeValue, 1)
	for st, n := range f.Payouts {
		ch <- prometheus.MustNewConstMetric(d.payouts, prometheus.GaugeValue, float64(n), string(st))
	}
	for kind, n := range f.ApprovalsWaiting {
		ch <- prometheus.MustNewConstMetric(d.approvals, prometheus.GaugeValue, float64(n), kind)
	}
	age := 0.0
	if !f.OldestOpenPayout.IsZero() {
		age = max(0, s.m.now().Sub(f.OldestOpenPayout).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(d.oldest, prometheus.GaugeValue, age)
	for _, j := range f.Jobs {
		ch <- prometheus.MustNewConstMetric(d.jobs, prometheus.GaugeValue, float64(j.Count), j.Queue, j.State)
	}
	st := f.Storage
	ch <- prometheus.MustNewConstMetric(d.sqliteMemory, prometheus.GaugeValue, float64(st.SQLiteMemory))
	ch <- prometheus.MustNewConstMetric(d.logPages, prometheus.GaugeValue, float64(st.LogPages))
	ch <- prometheus.MustNewConstMetric(d.logLeft, prometheus.GaugeValue, float64(st.LogPagesLeft))
	ckptAge := 0.0
	if !st.LastCheckpoint.IsZero() {
		ckptAge = max(0, s.m.now().Sub(st.LastCheckpoint).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(d.ckpt, prometheus.GaugeValue, ckptAge)
}

// metrics serves /metrics: not found when metrics are off, 401 without the
// configured bearer token.
func (s *Server) metrics(c *fiber.Ctx) error {
	m := s.Metrics
	if m == nil {
		return s.notFound(c)
	}
	if m.Token != "" {
		got, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(m.Token)) != 1 {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="paydesk metrics"`)
			return c.Status(fiber.StatusUnauthorized).SendString("a bearer token is required\n")
		}
	}
	families, err := m.reg.Gather()
	if err != nil {
		s.Log.Warn("metrics gather", "err", err)
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	c.Set(fiber.HeaderContentType, string(format))
	enc := expfmt.NewEncoder(c.Response().BodyWriter(), format)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}
