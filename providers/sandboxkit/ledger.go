package sandboxkit

import (
	"sync"
	"time"
)

// Execution is one payment a sandbox actually made: money left the debit
// account. Tests read these to prove nothing was paid twice.
type Execution struct {
	Provider string `json:"provider"`
	// Kind tells money out ("payout", "refund") from money in ("collection").
	Kind        string    `json:"kind,omitempty"`
	Ref         string    `json:"ref"` // the payer's idempotency key (InstRefNo, OrderID, …)
	AmountPaise int64     `json:"amount_paise"`
	Account     string    `json:"account"`
	IFSC        string    `json:"ifsc"`
	Rail        string    `json:"rail"`
	UTR         string    `json:"utr"`
	At          time.Time `json:"at"`
}

// Ledger is a sandbox's record of executions, safe for concurrent use.
type Ledger struct {
	mu      sync.Mutex
	entries []Execution
	byRef   map[string]int
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{byRef: map[string]int{}} }

// Record appends an execution.
func (l *Ledger) Record(e Execution) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
	l.byRef[e.Ref]++
}

// Entries returns a copy of all executions in order.
func (l *Ledger) Entries() []Execution {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Execution(nil), l.entries...)
}

// Executions returns how many times ref was executed.
func (l *Ledger) Executions(ref string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byRef[ref]
}

// Duplicates returns every ref executed more than once.
func (l *Ledger) Duplicates() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for ref, n := range l.byRef {
		if n > 1 {
			out = append(out, ref)
		}
	}
	return out
}
