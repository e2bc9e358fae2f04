package db

import (
	"context"
	"testing"
)

// opsPlans: what /metrics reads at each scrape. It runs after the suites
// that seed payouts.
func opsPlans(t *testing.T, fx *planFixture) []planCase {
	if err := MigrateQueue(context.Background(), fx.DB); err != nil {
		t.Fatal(err)
	}
	return []planCase{
		// Each count stops at MetricsCountCap rows of one state's index.
		{Name: "metrics: state figures at a scrape", Run: func(ctx context.Context) error {
			_, err := fx.DB.OpsFigures(ctx, fx.Approvals.KindNames())
			return err
		}},
	}
}
