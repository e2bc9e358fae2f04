//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOperations: against the running binary, /metrics answers in
// Prometheus's format, `paydesk backup` copies the database while it runs
// and `paydesk restore` refuses to replace it; a user's own page shows their
// timeline.
func TestOperations(t *testing.T) {
	a := startApp(t)
	resp, err := http.Get(a.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "paydesk_payouts{state=") ||
		!strings.Contains(string(body), `paydesk_http_request_duration_seconds_count{code="2xx",method="GET",route="/readyz"}`) {
		t.Fatalf("/metrics: %d\n%.2000s", resp.StatusCode, body)
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	if out, err := exec.Command(a.binPath, "backup", "--to", backup, "--db", a.DBPath).CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "backed up") {
		t.Fatalf("backup while running: %v\n%s", err, out)
	}
	out, err := exec.Command(a.binPath, "restore", "--from", backup, "--db", a.DBPath).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refusing to restore") {
		t.Fatalf("restore under a running instance: %v\n%s", err, out)
	}

	b := browser(t)
	admin := newSession(t, b, a)
	admin.signIn("admin", adminPassword)
	admin.goto_("/admin/users")
	admin.click("a:has-text('Manoj Maker')")
	admin.expectText("h1", "Manoj Maker")
	admin.expectText("table.audit", "user.created")
	admin.expectText("table.audit", "roles")
	admin.screenshot("user-page")
	admin.noCSPErrors()
}
