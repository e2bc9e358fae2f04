package linkpay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
)

// merchantEndpoint is the merchant's notification URL: it answers 500 to
// the first failures deliveries, then 200, and keeps every body.
type merchantEndpoint struct {
	mu       sync.Mutex
	failures int
	bodies   [][]byte
}

func (m *merchantEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bodies = append(m.bodies, b)
	if m.failures > 0 {
		m.failures--
		http.Error(w, "busy", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// TestNotificationsDeliveredAndSigned: paying an invoice (control surface)
// and its expiry each POST a notification signed under the response key to
// the console's URL, delivered again after failures with the same id and a
// new signature; the adapter verifies them and refuses a tampered one.
func TestNotificationsDeliveredAndSigned(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	m := &merchantEndpoint{failures: 2}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	e.sb.cfg.NotifyBackoff = 5 * time.Millisecond
	e.sb.SetNotifyURL(DemoMID, srv.URL)

	l, err := e.adapter.CreateLink(ctx, providers.LinkRequest{ID: "PAY-1", TemplateID: "1001", AmountPaise: 500000,
		CustomerName: "Asha Rao", CustomerEmail: "asha@example.in", SendBy: providers.SendEmail,
		Fields: map[string]string{"description": "Retainer"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sb.MarkPaid(l.InvoiceNo, "ATOM42"); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitNotifications()
	ds := e.sb.Notifications()
	if len(ds) != 1 || !ds[0].Delivered || ds[0].Attempts != 3 {
		t.Fatalf("deliveries %+v", ds)
	}
	if len(m.bodies) != 3 {
		t.Fatalf("%d deliveries", len(m.bodies))
	}
	var ids []string
	for _, b := range m.bodies {
		ev, err := e.adapter.ParseNotification(b)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Status != providers.LinkPaid || ev.LinkID != "PAY-1" || ev.InvoiceNo != l.InvoiceNo || ev.AmountPaise != 500000 || ev.BankRef != "ATOM42" {
			t.Fatalf("%+v", ev)
		}
		ids = append(ids, ev.NotificationID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("retries carry different ids: %v", ids)
	}
	// Tampered after signing: the amount.
	tampered := []byte(strings.Replace(string(m.bodies[2]), `"amount":"5000.00"`, `"amount":"50.00"`, 1))
	if _, err := e.adapter.ParseNotification(tampered); !errors.Is(err, providers.ErrAuth) {
		t.Fatalf("tampered: %v", err)
	}
	// Signed by someone without the response key.
	forged := SignNotification("not-the-key", Notification{MerchID: DemoMID, NotificationID: "X", MerchantTxnID: "PAY-1",
		InvoiceNo: l.InvoiceNo, Amount: "5000.00", InvoiceStatus: InvoicePaid, EventAt: "2025-03-10T10:00:00+05:30",
		SentAt: "2025-03-10T10:00:00+05:30"})
	raw, _ := json.Marshal(forged)
	if _, err := e.client.ParseNotification(raw); !errors.Is(err, providers.ErrAuth) {
		t.Fatalf("forged: %v", err)
	}

	// Expiry, noticed by the sweep once the clock passes it.
	l2, err := e.adapter.CreateLink(ctx, providers.LinkRequest{ID: "PAY-2", TemplateID: "1001", AmountPaise: 10000,
		CustomerName: "Ravi", CustomerPhone: "9876543210", SendBy: providers.SendNone, Fields: map[string]string{"description": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if inv := e.sb.Invoices()[1]; inv.Sends != 0 {
		t.Fatalf("NONE sent it %d times", inv.Sends)
	}
	e.clock.Advance(8 * 24 * time.Hour)
	if n := e.sb.ExpireDue(); n != 1 {
		t.Fatalf("expired %d", n)
	}
	e.sb.WaitNotifications()
	ev, err := e.adapter.ParseNotification(m.bodies[len(m.bodies)-1])
	if err != nil || ev.Status != providers.LinkExpired || ev.InvoiceNo != l2.InvoiceNo {
		t.Fatalf("%+v %v", ev, err)
	}
}
