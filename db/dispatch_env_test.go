package db

import (
	"context"
	"testing"
	"time"
)

// dispatchEnv is a database on the real clock with payouts, a maker and a
// checker, over the chaos sandboxes (no faults unless a test sets them).
type dispatchEnv struct {
	*chaosEnv
	d              *DB
	p              *Payouts
	a              *Approvals
	maker, checker User
}

func newDispatchEnv(t *testing.T) *dispatchEnv {
	t.Helper()
	d, _ := newTestDB(t)
	d.Now = time.Now
	p, a := newTestPayouts(t, d)
	return &dispatchEnv{chaosEnv: newChaosEnv(t), d: d, p: p, a: a,
		maker: mustCreateUser(t, d, "maker", RoleMaker), checker: mustCreateUser(t, d, "checker", RoleChecker)}
}

// startDispatcher runs a dispatcher over d's payouts and the sandboxes
// until the test ends.
func (e *dispatchEnv) startDispatcher(t *testing.T, d *DB, p *Payouts, opts DispatchOptions) *Dispatcher {
	t.Helper()
	ds, err := NewDispatcher(d, p, e.provs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Stop(context.Background()) })
	return ds
}
