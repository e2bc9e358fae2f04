package db

import (
	"context"
	"testing"
)

// opsPlans: what /metrics reads at each scrape, and a bulk upload's contact
// references and one-time token. It runs after the suites that seed
// payouts and contacts.
func opsPlans(t *testing.T, fx *planFixture) []planCase {
	// The payouts suite registered the payout kind already.
	p := &Payouts{db: fx.DB, approvals: fx.Approvals}
	if err := MigrateQueue(context.Background(), fx.DB); err != nil {
		t.Fatal(err)
	}
	return []planCase{
		// Each count stops at MetricsCountCap rows of one state's index.
		{Name: "metrics: state figures at a scrape", Run: func(ctx context.Context) error {
			_, err := fx.DB.OpsFigures(ctx, fx.Approvals.KindNames())
			return err
		}},
		{Name: "bulk upload: a row's contact reference", Run: func(ctx context.Context) error {
			_, _, err := p.CheckRow(ctx, PayoutInput{ContactRef: "NOSUCHREF", Amount: "1", Rail: "NEFT", Source: SourceKotakCMS}, fx.DB.Now())
			return err
		}},
		{Name: "bulk upload: the one-time token", Run: func(ctx context.Context) error {
			tx, err := fx.DB.beginWrite(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			_, _, err = batchByToken(ctx, tx, "no-such-token")
			return err
		}},
	}
}
