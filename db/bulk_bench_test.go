package db

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkApproveMany1000 approves 1,000 payout requests in one bulk
// decision, over a queue of 10,000 pending payouts.
func BenchmarkApproveMany1000(b *testing.B) {
	f := newBulkFixture(b)
	a, p, maker, checker := f.a, f.p, f.maker, f.checker
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		ids := proposePayouts(b, p, maker, 1000)
		b.StartTimer()
		res, err := a.ApproveMany(ctx, checker, ids)
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res[0].Err)
		}
	}
}

// proposePayouts proposes n payouts in one batch as maker and returns their
// approval requests' ids, in order.
func proposePayouts(tb testing.TB, p *Payouts, maker User, n int) []int64 {
	tb.Helper()
	ctx := context.Background()
	rows := make([]PayoutInput, n)
	for i := range rows {
		rows[i] = PayoutInput{BeneficiaryName: "Asha Traders", AccountNo: fmt.Sprintf("%012d", i), IFSC: "HDFC0000001",
			Amount: "5000", Rail: "NEFT", Source: "kotakcms", Purpose: "bulk"}
	}
	batch, err := p.ProposeBatch(ctx, maker, rows)
	if err != nil {
		tb.Fatal(err)
	}
	ids := make([]int64, 0, n)
	for _, id := range batch.PayoutIDs {
		po, _, err := p.Get(ctx, id)
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, po.ApprovalRequestID)
	}
	return ids
}

// bulkFixture is a database with payouts, a maker who proposes them and a
// checker who decides them.
type bulkFixture struct {
	d              *DB
	a              *Approvals
	p              *Payouts
	maker, checker User
}

func newBulkFixture(tb testing.TB) bulkFixture {
	tb.Helper()
	d, _ := newTestDB(tb)
	a := NewApprovals(d, 0)
	f := bulkFixture{d: d, a: a, p: NewPayouts(d, a)}
	for _, u := range []struct {
		dst  *User
		name string
		role Role
	}{{&f.maker, "maker", RoleMaker}, {&f.checker, "checker", RoleChecker}} {
		var err error
		if *u.dst, err = d.CreateUser(context.Background(), NewHasher(1), SystemActor, NewUser{
			Username: u.name, DisplayName: "Bench " + u.name, Password: testPassword, Roles: []Role{u.role}}); err != nil {
			tb.Fatal(err)
		}
	}
	return f
}
