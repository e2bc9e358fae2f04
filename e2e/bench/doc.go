// Package bench holds Paydesk's load and size measurements (`make bench`):
// the approval queue at 100,000 pending payouts served over real HTTP on
// loopback, bulk approval of 1,000 items, validating a 10,000-row CSV, and
// the process's peak RSS per phase. Everything lives in the _test.go files;
// TestBenchReport runs only with PAYDESK_BENCH=1 so `go test ./...` stays
// fast.
package bench
