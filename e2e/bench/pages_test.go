package bench

import "testing"

// benchPage is one list page the report measures at volume: closed-loop
// req/s, open-loop latency, and every statement the page runs with its time
// and plan. A new list page adds itself to benchPages.
type benchPage struct {
	// Name is the page as the report names it ("payouts").
	Name string
	// Seed gives the page's tables n rows, through the store or through
	// fast SQL on fx.DB.Writer(); nil when an earlier page's rows serve
	// (the queue reads the fixture's pending payouts).
	Seed func(tb testing.TB, fx *fixture, n int)
	// First is the first page; Filtered is one filtered (and, where the
	// page offers it, sorted) page.
	First, Filtered string
	// As is the username whose session loads it ("checker1", "maker",
	// "admin").
	As string
}

// benchPages lists every list page the report measures, in report order.
func benchPages() []benchPage {
	return []benchPage{
		{Name: "queue", First: "/queue", Filtered: "/queue?min=100000&max=500000&sort=amount", As: "checker1"},
		// Balances over a year of history; KS Pay over 100,000 transactions.
		{Name: "balances", Seed: seedBalanceHistory, First: "/balances?days=90", Filtered: "/balances?days=7", As: "admin"},
		{Name: "kspay", Seed: seedGateway, First: "/gateway", Filtered: "/gateway?status=paid&method=pm_5LR93Agwv", As: "admin"},
		{Name: "kspay analytics", Seed: seedGateway, First: "/gateway/analytics?days=90", Filtered: "/gateway/analytics?days=7&currency=USD", As: "admin"},
	}
}
