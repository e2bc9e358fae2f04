package db

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

// waitCollection waits until request id is in state, or fails.
func waitCollection(t *testing.T, c *Collections, id string, state CollectionState, within time.Duration) CollectionRequest {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		cr, _, err := c.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cr.State == state {
			return cr
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s is %s after %v, want %s", id, cr.State, within, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCollectionsFollowedByRiverJobs: a request's own River job, inserted
// with it, sends it to PayMate's sandbox and follows it until the payer
// pays; nothing else runs a loop.
func TestCollectionsFollowedByRiverJobs(t *testing.T) {
	env := newDispatchEnv(t)
	d := env.d
	ctx := context.Background()
	col := NewCollections(d, env.provs[SourcePayMate].(providers.Collections))
	cr, err := col.Create(ctx, env.maker, CollectionInput{Name: "Asha Rao", Email: "asha@example.in", Mobile: "9876543210",
		Amount: "1,500", Purpose: "Invoice 7"})
	if err != nil {
		t.Fatal(err)
	}
	opts := fastDispatch()
	opts.Jobs = []JobQueue{col.JobQueue(100 * time.Millisecond)}
	env.startDispatcher(t, d, env.p, opts)
	waitCollection(t, col, cr.ID, CollectionPending, 10*time.Second)
	resp, err := http.Post(env.srv.URL+"/_sandbox/paymate/requests/"+cr.ID+"/paid", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("sandbox paid: %d", resp.StatusCode)
	}
	cr = waitCollection(t, col, cr.ID, CollectionPaid, 10*time.Second)
	_, evs, _ := col.Get(ctx, cr.ID)
	if kinds := eventKinds(evs); strings.Count(strings.Join(kinds, " "), "sent") != 1 || cr.UTR == "" {
		t.Fatalf("paid request %+v, timeline %v", cr, kinds)
	}
	// The request's job ends with the request: none is left open.
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var open int
		if err := d.read.QueryRow(`SELECT count(*) FROM river_job WHERE kind = ?
			AND state NOT IN ('completed', 'discarded', 'cancelled')`, CollectionStepArgs{}.Kind()).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d collection step jobs still open", open)
		}
	}
	verifyAudit(t, d)
}
