package views

import (
	"reflect"
	"testing"
)

func TestAuditFields(t *testing.T) {
	got := AuditFields(`{"approval_request_id":7,"state":{"before":"queued","after":"processed"},` +
		`"payload":{"amount_paise":5000000,"ifsc":"HDFC0001234"},"roles":["maker","checker"],"note":"","ok":true,` +
		`"expires_at":1795255200000,"rule":{"after":{"min_paise":0}}}`)
	want := []AuditField{
		{Name: "state", Old: "queued", New: "processed", Changed: true},
		{Name: "approval request id", New: "7"},
		{Name: "expires at", New: "2026-11-21 10:00:00 UTC"},
		{Name: "note", New: "—"},
		{Name: "ok", New: "yes"},
		{Name: "payload · amount", New: "₹50,000.00"},
		{Name: "payload · ifsc", New: "HDFC0001234"},
		{Name: "roles", New: "maker, checker"},
		{Name: "rule · min", Old: "—", New: "₹0.00", Changed: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AuditFields:\n got %+v\nwant %+v", got, want)
	}
	// A record made: its values; a record changed: field by field.
	made := AuditFields(`{"after":{"username":"asha","roles":["maker"]}}`)
	if !reflect.DeepEqual(made, []AuditField{{Name: "roles", New: "maker"}, {Name: "username", New: "asha"}}) {
		t.Fatalf("record made: %+v", made)
	}
	changed := AuditFields(`{"before":{"roles":["maker"],"username":"asha"},"after":{"roles":["maker","checker"],"username":"asha"}}`)
	if !reflect.DeepEqual(changed, []AuditField{{Name: "roles", Old: "maker", New: "maker, checker", Changed: true}}) {
		t.Fatalf("record changed: %+v", changed)
	}
	if got := AuditFields("{}"); got != nil {
		t.Fatalf("empty details: %+v", got)
	}
	if got := AuditFields("not json"); len(got) != 1 || got[0].New != "not json" {
		t.Fatalf("non-JSON details: %+v", got)
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 approvals", 1: "1 approval", 2: "2 approvals", 1500: "1,500 approvals"} {
		if got := CountOf(n, "approval", "approvals"); got != want {
			t.Errorf("CountOf(%d) = %q, want %q", n, got, want)
		}
	}
}
