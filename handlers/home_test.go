package handlers

import (
	"strings"
	"testing"
)

// TestHomeTilesCarryFigures: each section's tile on the overview carries
// its figure, in words with the right number.
func TestHomeTilesCarryFigures(t *testing.T) {
	e := newTestEnv(t, false)
	admin := e.client()
	admin.signIn("admin")
	_, page := admin.get("/")
	for _, want := range []string{"contact changes waiting on a checker", "payment requests open", "active users", "written today"} {
		if !strings.Contains(page, want) {
			t.Errorf("home lacks the figure %q", want)
		}
	}
	if strings.Contains(page, "(s)") {
		t.Error("home says (s)")
	}
}
