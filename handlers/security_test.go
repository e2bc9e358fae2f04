package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

type fakeRecovery map[string]time.Time

func (f fakeRecovery) AwaitingRecovery(context.Context) (map[string]time.Time, error) { return f, nil }

// TestPayoutsPageShowsWaitingForRecovery: a payout whose sending process
// died is listed apart and marked in the list with when it is checked.
func TestPayoutsPageShowsWaitingForRecovery(t *testing.T) {
	e := newTestEnv(t, false)
	r := e.propose(t, "maker", 5000000)
	e.srv.Recovery = fakeRecovery{r.TargetID: time.Date(2026, 11, 21, 10, 7, 0, 0, time.UTC)}
	c := e.client()
	c.signIn("checker")
	resp, page := c.get("/payouts")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !strings.Contains(page, `id="recovering"`) || strings.Count(page, "waiting for recovery · checked by 10:07:00 UTC") != 2 {
		t.Fatalf("the payout is not shown waiting for recovery (panel and list):\n%s", page)
	}
	e.srv.Recovery = fakeRecovery{}
	if _, page := c.get("/payouts"); strings.Contains(page, "waiting for recovery") {
		t.Fatal("shown waiting for recovery with nothing waiting")
	}
}
