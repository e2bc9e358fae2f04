package db

import (
	"context"
	"time"
)

// IST is India Standard Time, the day boundary for every "per day" figure
// (money collected today, charts by day): a treasury team's day, not UTC's.
var IST = time.FixedZone("IST", 5*3600+1800)

// DayAmount is money moved on one IST calendar day.
type DayAmount struct {
	Day   string // YYYY-MM-DD in IST
	Paise int64
	Count int
}

// InflowSource is one channel money is collected through (virtual-account
// credits, paid payment links, gateway transactions). The balances page and
// the home page sum them per day without knowing the channel.
type InflowSource interface {
	// InflowName is the channel as a person reads it ("Virtual account
	// credits").
	InflowName() string
	// InflowsByDay returns what was collected per IST day in [from, to),
	// oldest first, days without money left out, summed in SQL.
	InflowsByDay(ctx context.Context, from, to time.Time) ([]DayAmount, error)
}
