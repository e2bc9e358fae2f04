package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"

	"paydesk/db"
	"paydesk/providers"
	"paydesk/providers/kotakcms"
)

// scrape reads /metrics and parses it with Prometheus's own text parser.
func scrape(t *testing.T, e *testEnv, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	// Prometheus's own parser, with the legacy (strictest) name rules.
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// metricValue is the gauge's value, or the histogram's count, of the
// family's series whose labels include want; -1 when there is none.
func metricValue(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf := families[name]
	if mf == nil {
		return -1
	}
	total, found := 0.0, false
next:
	for _, m := range mf.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		case m.Counter != nil:
			total += m.Counter.GetValue()
		}
	}
	if !found {
		return -1
	}
	return total
}

// TestMetricsScrapeMovesWithAPayout: /metrics is scraped and parsed; the
// payouts per state, approvals waiting, the oldest payout on its way,
// River's queue and job outcomes, provider calls and request latency per
// route are all there, and move when a payout is approved and paid.
func TestMetricsScrapeMovesWithAPayout(t *testing.T) {
	e := newTestEnv(t, false)
	e.db.Now = time.Now
	m := NewMetrics("metrics-token-0123456789")
	m.Figures = func(ctx context.Context) (db.OpsFigures, error) {
		return e.db.OpsFigures(ctx, e.srv.Approvals.KindNames())
	}
	e.srv.Metrics = m

	// Kotak's sandbox with an instant lifecycle, called through the
	// measuring transport as the registry wires it.
	scfg := kotakcms.DefaultSandboxConfig()
	scfg.PendingSendFor, scfg.InProcessFor = 0, 0
	bank := httptest.NewServer(kotakcms.NewSandbox(scfg))
	t.Cleanup(bank.Close)
	ccfg := kotakcms.DemoConfig(bank.URL)
	ccfg.HTTPClient = &http.Client{Transport: m.ProviderTransport(kotakcms.Name, nil), Timeout: 5 * time.Second}
	cc, err := kotakcms.NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := db.NewDispatcher(e.db, e.srv.Payouts, map[string]providers.Payouts{db.SourceKotakCMS: kotakcms.NewAdapter(cc)},
		db.DispatchOptions{Workers: 2, PollInterval: 20 * time.Millisecond, InquiryEvery: 50 * time.Millisecond, JobDone: m.JobDone})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Dispatcher = ds

	// Off the bearer token: refused.
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if resp, _ := e.app.Test(req, -1); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token: %d", resp.StatusCode)
	}
	if resp, _ := e.app.Test(httptest.NewRequest(http.MethodGet, "/readyz", nil), -1); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz before the dispatcher started: %d", resp.StatusCode)
	}
	if err := ds.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Stop(context.Background()) })
	if resp, _ := e.app.Test(httptest.NewRequest(http.MethodGet, "/readyz", nil), -1); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz with the dispatcher started: %d", resp.StatusCode)
	}

	maker := e.client()
	maker.signIn("maker")
	maker.get("/payouts/new")
	resp, _ := maker.post("/payouts", url.Values{"_csrf": {maker.csrf}, "beneficiary_name": {"Acme Traders"},
		"account_no": {"50100012345678"}, "ifsc": {"HDFC0001234"}, "amount": {"50,000"}, "rail": {"NEFT"}, "source": {"kotakcms"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("propose: %d", resp.StatusCode)
	}
	f := scrape(t, e, m.Token)
	if v := metricValue(f, "paydesk_payouts", map[string]string{"state": "pending_approval"}); v != 1 {
		t.Fatalf("pending payouts = %v", v)
	}
	if v := metricValue(f, "paydesk_approvals_waiting", map[string]string{"kind": db.PayoutKind}); v != 1 {
		t.Fatalf("approvals waiting = %v", v)
	}
	if v := metricValue(f, "paydesk_http_request_duration_seconds", map[string]string{"route": "/payouts", "method": "POST", "code": "3xx"}); v != 1 {
		t.Fatalf("POST /payouts requests = %v", v)
	}
	if metricValue(f, "paydesk_oldest_open_payout_age_seconds", nil) != 0 || metricValue(f, "paydesk_state_scrape_ok", nil) != 1 {
		t.Fatal("state figures missing")
	}

	list, _, _ := e.srv.Payouts.List(context.Background(), db.PayoutFilter{})
	checker, _ := e.db.UserByUsername(context.Background(), "checker")
	if _, err := e.srv.Approvals.Approve(context.Background(), checker, list[0].ApprovalRequestID); err != nil {
		t.Fatal(err)
	}
	f = scrape(t, e, m.Token)
	if v := metricValue(f, "paydesk_approvals_waiting", map[string]string{"kind": db.PayoutKind}); v != 0 {
		t.Fatalf("approvals waiting after approval = %v", v)
	}
	if metricValue(f, "paydesk_jobs", map[string]string{"queue": db.DispatchQueue}) < 0 {
		t.Fatal("no River queue depth")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		po, _, _ := e.srv.Payouts.Get(context.Background(), list[0].ID)
		if po.State.Final() {
			if po.State != providers.StateProcessed {
				t.Fatalf("payout %s", po.State)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("payout not paid: %s", po.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The job's completion reaches the metrics once River has recorded it.
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		f = scrape(t, e, m.Token)
		done := map[string]string{"kind": db.DispatchArgs{}.Kind(), "outcome": "completed"}
		if metricValue(f, "paydesk_job_run_duration_seconds", done) >= 1 || time.Now().After(end) {
			break
		}
	}
	if v := metricValue(f, "paydesk_payouts", map[string]string{"state": "processed"}); v != 1 {
		t.Fatalf("processed payouts = %v", v)
	}
	if v := metricValue(f, "paydesk_payouts", map[string]string{"state": "pending_approval"}); v != 0 {
		t.Fatalf("pending payouts after payment = %v", v)
	}
	if v := metricValue(f, "paydesk_oldest_open_payout_age_seconds", nil); v != 0 {
		t.Fatalf("oldest open payout = %v with none open", v)
	}
	if v := metricValue(f, "paydesk_provider_call_duration_seconds", map[string]string{"provider": kotakcms.Name, "outcome": "ok"}); v < 2 {
		t.Fatalf("kotak calls = %v, want the send, the approval and an inquiry", v)
	}
	if v := metricValue(f, "paydesk_job_run_duration_seconds", map[string]string{"kind": db.DispatchArgs{}.Kind(), "outcome": "completed"}); v < 1 {
		t.Fatalf("completed dispatch jobs = %v", v)
	}
	if v := metricValue(f, "paydesk_sqlite_memory_bytes", nil); v <= 0 {
		t.Fatalf("SQLite memory = %v", v)
	}
	// The background checkpoint has seen these writes in the log.
	for end := time.Now().Add(5 * time.Second); metricValue(f, "paydesk_wal_pages", nil) <= 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("log pages = %v after the writes", metricValue(f, "paydesk_wal_pages", nil))
		}
		f = scrape(t, e, m.Token)
	}
	if metricValue(f, "paydesk_wal_pages_not_checkpointed", nil) < 0 || metricValue(f, "paydesk_wal_checkpoint_age_seconds", nil) < 0 {
		t.Fatal("checkpoint figures missing")
	}
}

// TestReadyzWhileMigrating: a database with a migration still to apply is
// not ready.
func TestReadyzWhileMigrating(t *testing.T) {
	e := newTestEnv(t, false)
	if resp, _ := e.app.Test(httptest.NewRequest(http.MethodGet, "/readyz", nil), -1); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d", resp.StatusCode)
	}
	// As while a new version migrates: the newest migration not yet there.
	if _, err := e.db.Writer().Exec(`DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	resp, _ := e.app.Test(httptest.NewRequest(http.MethodGet, "/readyz", nil), -1)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with a migration pending: %d", resp.StatusCode)
	}
}

// TestMetricsOff: without metrics /metrics is not found.
func TestMetricsOff(t *testing.T) {
	e := newTestEnv(t, false)
	if resp, _ := e.app.Test(httptest.NewRequest(http.MethodGet, "/metrics", nil), -1); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics off: %d", resp.StatusCode)
	}
}

// BenchmarkObserveRequest is what /metrics adds to every request: the
// route's labels looked up and one histogram observation.
func BenchmarkObserveRequest(b *testing.B) {
	m := NewMetrics("")
	app := fiber.New()
	c := app.AcquireCtx(&fasthttp.RequestCtx{})
	defer app.ReleaseCtx(c)
	c.Request().Header.SetMethod(fiber.MethodGet)
	b.ReportAllocs()
	for b.Loop() {
		m.observeRequest(c, http.StatusOK, 3*time.Millisecond)
	}
}
