package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestRecordPagesShowReadableAudit: audit details read as fields (old →
// new), never raw JSON, and users and rules have their own timelines.
func TestRecordPagesShowReadableAudit(t *testing.T) {
	e := newTestEnv(t, false)
	admin := e.client()
	admin.signIn("admin")
	u, _ := e.db.UserByUsername(context.Background(), "maker")
	resp, page := admin.get("/admin/users/" + strconv.FormatInt(u.ID, 10))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "user.created") || !strings.Contains(page, `class="fields"`) {
		t.Fatalf("user page: %d\n%s", resp.StatusCode, page)
	}
	if rawJSONInAudit(page) {
		t.Fatal("the user page shows raw JSON")
	}
	_, page = admin.get("/admin/rules")
	if !strings.Contains(page, "Changes to these rules") {
		t.Fatal("the rules page has no timeline")
	}
	_, page = admin.get("/admin/audit")
	if rawJSONInAudit(page) || !strings.Contains(page, `<span class="field-name">`) {
		t.Fatal("the audit log shows raw JSON")
	}
}

// rawJSONInAudit reports a JSON object in a page's audit tables.
func rawJSONInAudit(page string) bool {
	for _, table := range strings.Split(page, `<table class="audit">`)[1:] {
		table, _, _ = strings.Cut(table, "</table>")
		if strings.Contains(table, "{&#34;") || strings.Contains(table, `{"`) {
			return true
		}
	}
	return false
}
