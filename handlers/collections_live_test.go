package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"paydesk/db"
)

// TestCollectionsExportAndLivePage: the filtered list exports as CSV; a
// request's page polls itself while it is open and stops once final.
func TestCollectionsExportAndLivePage(t *testing.T) {
	e := newTestEnv(t, false)
	maker := e.client()
	maker.signIn("maker")
	maker.get("/collections/new")
	for _, name := range []string{"Asha Rao", "Ravi Kumar"} {
		resp, _ := maker.post("/collections", url.Values{"_csrf": {maker.csrf}, "payer": {"other"}, "name": {name},
			"email": {"pay@example.in"}, "mobile": {"9876543210"}, "amount": {"1,500"}, "purpose": {"Invoice 7"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("create: %d", resp.StatusCode)
		}
	}
	resp, body := maker.get("/collections.csv?q=asha")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "id,created_at_utc,payer") || !strings.Contains(lines[1], "Asha Rao") ||
		!strings.Contains(lines[1], "1500.00") {
		t.Fatalf("export:\n%s", body)
	}
	_, page := maker.get("/collections?q=asha")
	if !strings.Contains(page, `href="/collections.csv?q=asha"`) {
		t.Fatal("the list does not link its filtered export")
	}
	list, _, _ := e.srv.Collections.List(context.Background(), db.CollectionFilter{Query: "asha"})
	id := list[0].ID
	_, frag := maker.get("/collections/"+id, "HX-Request", "true")
	if strings.Contains(frag, "<html") || !strings.Contains(frag, `hx-trigger="every 3s"`) || !strings.Contains(frag, `hx-get="/collections/`+id+`"`) {
		t.Fatalf("open request fragment:\n%s", frag)
	}
	// PayMate said it lapsed (as the collection job records it).
	if _, err := e.db.Writer().Exec(`UPDATE collection_requests SET state = 'expired', final_at = 1 WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	_, frag = maker.get("/collections/"+id, "HX-Request", "true")
	if strings.Contains(frag, "hx-trigger") || !strings.Contains(frag, "expired") {
		t.Fatalf("final request still polls:\n%s", frag)
	}
}
