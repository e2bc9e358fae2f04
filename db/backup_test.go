package db

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

// TestBackupDuringDispatchRestoreNoDoublePay: a backup is taken while the
// dispatcher pays; the live instance goes on and pays everything (including
// payouts approved after the backup). The backup is then restored and the
// restored instance started: every payout it did not know was paid is asked
// about at the bank first, so nothing is sent twice, each payout was
// executed once by its bank, and the restored instance ends with the bank's
// truth (processed, the same UTR).
func TestBackupDuringDispatchRestoreNoDoublePay(t *testing.T) {
	env := newDispatchEnv(t)
	d, p, a, maker, checker := env.d, env.p, env.a, env.maker, env.checker
	ctx := context.Background()

	var approved, later []string
	for i := range 12 {
		in := goodInput()
		in.BeneficiaryName, in.AccountNo = "Restore Vendor", fmt.Sprintf("5010%08d", i)
		in.Source = []string{SourceKotakCMS, SourcePayMate}[i%2]
		po, _, err := p.Propose(ctx, maker, in)
		if err != nil {
			t.Fatal(err)
		}
		if i >= 8 {
			later = append(later, po.ID) // approved only after the backup
			continue
		}
		if _, err := a.Approve(ctx, checker, po.ApprovalRequestID); err != nil {
			t.Fatal(err)
		}
		approved = append(approved, po.ID)
	}
	all := append(append([]string(nil), approved...), later...)
	ds := env.startDispatcher(t, d, p, fastDispatch())
	// Back up mid-dispatch: once the first payout was handed to its bank.
	deadline := time.Now().Add(10 * time.Second)
	for {
		po, _, _ := p.Get(ctx, approved[0])
		if !po.SentAt.IsZero() || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	res, err := Backup(ctx, d.Path(), backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Backup(ctx, d.Path(), backup); err == nil {
		t.Fatal("a backup overwrote an existing file")
	}
	for _, id := range later {
		po, _, _ := p.Get(ctx, id)
		if _, err := a.Approve(ctx, checker, po.ApprovalRequestID); err != nil {
			t.Fatal(err)
		}
	}
	waitFinal(t, p, all, 30*time.Second)
	if err := ds.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	paid := map[string]Payout{}
	for _, id := range all {
		po, _, _ := p.Get(ctx, id)
		if po.State != providers.StateProcessed {
			t.Fatalf("live %s: %s", id, po.State)
		}
		paid[id] = po
	}
	d.Close()

	// Restore refuses while an instance holds the database.
	lock, err := LockDatabase(d.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, backup, d.Path()); !errors.Is(err, ErrLocked) {
		t.Fatalf("restore under a running instance: %v", err)
	}
	lock.Release()
	rres, err := Restore(ctx, backup, d.Path())
	if err != nil {
		t.Fatal(err)
	}
	if rres.SetAside == "" || rres.Marked == 0 || rres.TakenAt.Sub(res.TakenAt).Abs() > time.Second {
		t.Fatalf("restore = %+v (backup taken %v)", rres, res.TakenAt)
	}

	d2, err := Open(ctx, d.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d2.Close() })
	d2.Now = time.Now
	p2, a2 := newTestPayouts(t, d2)
	env.startDispatcher(t, d2, p2, fastDispatch())
	// What the backup shows waiting for approval is approved again.
	for _, id := range later {
		po, _, _ := p2.Get(ctx, id)
		if po.State != providers.StatePendingApproval {
			t.Fatalf("restored %s: %s, want pending_approval", id, po.State)
		}
		if _, err := a2.Approve(ctx, checker, po.ApprovalRequestID); err != nil {
			t.Fatal(err)
		}
	}
	waitFinal(t, p2, all, 30*time.Second)
	for _, id := range all {
		po, evs, _ := p2.Get(ctx, id)
		if n := env.ledgers[po.Source].Executions(id); n != 1 {
			t.Errorf("%s (%s) executed %d times", id, po.Source, n)
		}
		if po.State != providers.StateProcessed || po.UTR != paid[id].UTR {
			t.Errorf("restored %s: %s UTR %q, the bank paid it with UTR %q", id, po.State, po.UTR, paid[id].UTR)
		}
		kinds := eventKinds(evs)
		restored := strings.Join(kinds, " ")
		if i := strings.LastIndex(restored, "restored"); i >= 0 {
			after := restored[i:]
			if strings.Contains(after, " sent") || strings.Contains(after, "resent") {
				t.Errorf("%s was sent again after the restore: %v", id, kinds)
			}
		}
	}
	for src, l := range env.ledgers {
		if dups := l.Duplicates(); len(dups) != 0 {
			t.Fatalf("%s paid twice: %v", src, dups)
		}
	}
	verifyAudit(t, d2)
}
