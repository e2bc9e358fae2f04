package linkpay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The sandbox's side of notifications: when an invoice is paid or expires it
// POSTs a signed Notification to the merchant's notification URL, and
// delivers it again until the merchant acknowledges it with a 2xx, as the
// provider would (see decisions.go).

// Delivery is one notification and how its delivery went, as the control
// surface shows it.
type Delivery struct {
	NotificationID string    `json:"notificationId"`
	InvoiceNo      string    `json:"invoiceNo"`
	Status         string    `json:"invoiceStatus"`
	URL            string    `json:"url"`
	Attempts       int       `json:"attempts"`
	Delivered      bool      `json:"delivered"`
	GaveUp         bool      `json:"gaveUp"`
	LastError      string    `json:"lastError,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
}

// SetNotifyURL sets merchant mid's notification URL (the console setting).
func (s *Sandbox) SetNotifyURL(mid, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.merchants[mid]; ok {
		m.NotifyURL = url
	}
}

// Notifications returns every notification made so far, oldest first.
func (s *Sandbox) Notifications() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.notices))
	for i, d := range s.notices {
		out[i] = *d
	}
	return out
}

// WaitNotifications waits until every delivery under way has been
// acknowledged or given up.
func (s *Sandbox) WaitNotifications() { s.delivering.Wait() }

// notify starts delivering inv's new state (paid or expired at at) to its
// merchant's notification URL. Callers hold s.mu.
func (s *Sandbox) notify(inv *Invoice, at time.Time) {
	m := s.merchants[inv.MID]
	if m == nil || m.NotifyURL == "" {
		return
	}
	s.noticeSeq++
	d := &Delivery{NotificationID: fmt.Sprintf("NTF%010d", s.noticeSeq), InvoiceNo: inv.InvoiceNo, Status: inv.Status,
		URL: m.NotifyURL, CreatedAt: s.now()}
	s.notices = append(s.notices, d)
	n := Notification{MerchID: m.MID, NotificationID: d.NotificationID, MerchantTxnID: inv.MerchantTxnID, InvoiceNo: inv.InvoiceNo,
		Amount: inv.Amount, InvoiceStatus: inv.Status, BankRef: inv.BankRef, EventAt: at.In(istZone).Format(time.RFC3339)}
	key := m.ResponseHashKey
	s.delivering.Add(1)
	go func() {
		defer s.delivering.Done()
		pause := s.cfg.NotifyBackoff
		for attempt := 1; attempt <= notifyAttempts; attempt++ {
			err := s.deliverOnce(d.URL, key, n)
			s.mu.Lock()
			d.Attempts = attempt
			if err == nil {
				d.Delivered, d.LastError = true, ""
				s.mu.Unlock()
				return
			}
			d.LastError = err.Error()
			s.mu.Unlock()
			if attempt < notifyAttempts {
				time.Sleep(pause)
				pause *= 2
			}
		}
		s.mu.Lock()
		d.GaveUp = true
		s.mu.Unlock()
	}()
}

// deliverOnce signs n afresh (a new sentAt) and POSTs it to url.
func (s *Sandbox) deliverOnce(url, key string, n Notification) error {
	n.SentAt = s.now().In(istZone).Format(time.RFC3339)
	n.Signature = Sign(key, notificationSigString(&n))
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.cfg.NotifyClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return nil
}

// SignNotification signs n under key as the provider does, for tests that
// play the provider.
func SignNotification(key string, n Notification) Notification {
	n.Signature = Sign(key, notificationSigString(&n))
	return n
}
