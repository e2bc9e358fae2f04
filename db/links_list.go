package db

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LinkFilter narrows the links list. Zero fields match everything.
type LinkFilter struct {
	State      LinkState
	TemplateID string
	ContactID  string
	MinPaise   int64  // inclusive; 0: none
	MaxPaise   int64  // inclusive; 0: none
	DueFrom    string // YYYY-MM-DD, inclusive
	DueTo      string // YYYY-MM-DD, inclusive
	// Query is an exact Paydesk id, invoice number, customer email or
	// mobile, or the customer's name (any case).
	Query string
	// After is the id of the last row of the previous page.
	After string
	Limit int // default 50, at most 500
}

// LinkOrder is how the list is ordered.
type LinkOrder string

// List orders: newest first; largest first with an amount range (read from
// its index in order); soonest due first with a due range.
const (
	LinkByCreated LinkOrder = "created"
	LinkByAmount  LinkOrder = "amount"
	LinkByDue     LinkOrder = "due"
)

// Order is the order List uses for f.
func (f LinkFilter) Order() LinkOrder {
	switch {
	case f.MinPaise > 0 || f.MaxPaise > 0:
		return LinkByAmount
	case f.DueFrom != "" || f.DueTo != "":
		return LinkByDue
	}
	return LinkByCreated
}

// List returns one page of links in f's order, and whether more follow.
func (l *Links) List(ctx context.Context, f LinkFilter) ([]PaymentLink, bool, error) {
	f.Limit = pageLimit(f.Limit, 500)
	w, order, matches, err := l.listQuery(ctx, f)
	if err != nil || (f.Query != "" && len(matches) == 0) {
		return nil, false, err
	}
	if matches != nil {
		list, err := queryAll(ctx, l.db.read, "payment links", scanLink, `SELECT `+linkColumns+linkFrom+w.where(), w.args...)
		slices.SortFunc(list, func(a, b PaymentLink) int { return b.CreatedAt.Compare(a.CreatedAt) })
		return list, false, err
	}
	return queryPage(ctx, l.db.read, "payment links", f.Limit, scanLink,
		`SELECT `+linkColumns+linkFrom+w.where()+` ORDER BY `+order+` LIMIT ?`, append(w.args, f.Limit+1)...)
}

// Each calls fn for every link matching f (After and Limit aside), in
// List's order, from one read: the CSV export's consistent snapshot.
func (l *Links) Each(ctx context.Context, f LinkFilter, fn func(PaymentLink) error) error {
	f.After = ""
	w, order, matches, err := l.listQuery(ctx, f)
	if err != nil || (f.Query != "" && len(matches) == 0) {
		return err
	}
	q := `SELECT ` + linkColumns + linkFrom + w.where()
	if matches == nil {
		q += ` ORDER BY ` + order
	}
	return eachRow(ctx, l.db.read, "payment links export", scanLink, fn, q, w.args...)
}

func (l *Links) listQuery(ctx context.Context, f LinkFilter) (conditions, string, []string, error) {
	var w conditions
	var matches []string
	if q := strings.TrimSpace(f.Query); q != "" {
		var err error
		if matches, err = l.lookup(ctx, q); err != nil || len(matches) == 0 {
			return w, "", nil, err
		}
		addIn(&w, "k.id", matches)
	}
	if f.State != "" {
		w.add("k.state = ?", string(f.State))
	}
	if f.TemplateID != "" {
		w.add("k.template_id = ?", f.TemplateID)
	}
	if f.ContactID != "" {
		w.add("k.contact_id = ?", f.ContactID)
	}
	if f.MinPaise > 0 {
		w.add("k.amount_paise >= ?", f.MinPaise)
	}
	if f.MaxPaise > 0 {
		w.add("k.amount_paise <= ?", f.MaxPaise)
	}
	if f.DueFrom != "" {
		w.add("k.due_date >= ?", f.DueFrom)
	}
	if f.DueTo != "" {
		w.add("k.due_date <= ?", f.DueTo)
	}
	var order string
	switch f.Order() {
	case LinkByAmount:
		order = "k.amount_paise DESC, k.id DESC"
		if f.After != "" {
			w.add("(k.amount_paise, k.id) < (SELECT amount_paise, id FROM payment_links WHERE id = ?)", f.After)
		}
	case LinkByDue:
		order = "k.due_date, k.id"
		if f.After != "" {
			w.add("(k.due_date, k.id) > (SELECT due_date, id FROM payment_links WHERE id = ?)", f.After)
		}
	default:
		order = "k.created_at DESC, k.id DESC"
		if f.After != "" {
			w.add("(k.created_at, k.id) < (SELECT created_at, id FROM payment_links WHERE id = ?)", f.After)
		}
	}
	return w, order, matches, nil
}

// maxLinkMatches bounds what one search names (a customer with many links).
const maxLinkMatches = 200

// lookup finds the links q names exactly, each kind in its own index.
func (l *Links) lookup(ctx context.Context, q string) ([]string, error) {
	var out []string
	for _, query := range []string{
		`SELECT id FROM payment_links WHERE id = ?`,
		`SELECT id FROM payment_links WHERE invoice_no = ?`,
		`SELECT id FROM payment_links WHERE customer_email = ? AND customer_email <> '' LIMIT ` + strconv.Itoa(maxLinkMatches),
		`SELECT id FROM payment_links WHERE customer_mobile = ? AND customer_mobile <> '' LIMIT ` + strconv.Itoa(maxLinkMatches),
		`SELECT id FROM payment_links WHERE customer_name = ? COLLATE NOCASE LIMIT ` + strconv.Itoa(maxLinkMatches),
	} {
		ids, err := queryAll(ctx, l.db.read, "link search", scanValue[string], query, q)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// LinkTotals are the counts and sums of a filtered set, by state.
type LinkTotals struct {
	Links       int
	AmountPaise int64
	ByState     map[LinkState]DayAmount // Day unused
	// Capped: more than maxTotalRows links match a filter the summaries
	// cannot answer; the figures cover the first maxTotalRows.
	Capped bool
}

// Outstanding is what open links (sent, resent) still ask for.
func (t LinkTotals) Outstanding() DayAmount {
	a, b := t.ByState[LinkSent], t.ByState[LinkResent]
	return DayAmount{Paise: a.Paise + b.Paise, Count: a.Count + b.Count}
}

// maxTotalRows bounds the totals of a filter the summaries cannot answer.
const maxTotalRows = 10_000

// Totals returns the totals of every link matching f (After and Limit
// aside). State, template and due filters are answered from the per-day
// and per-template summaries; an amount range, a contact or a search sum
// the matching links, at most maxTotalRows of them.
func (l *Links) Totals(ctx context.Context, f LinkFilter) (LinkTotals, error) {
	t := LinkTotals{ByState: map[LinkState]DayAmount{}}
	var rows []struct {
		state string
		n     int
		paise int64
	}
	scan := func(s scanner) (struct {
		state string
		n     int
		paise int64
	}, error) {
		var r struct {
			state string
			n     int
			paise int64
		}
		return r, s.Scan(&r.state, &r.n, &r.paise)
	}
	var err error
	switch {
	case f.Query != "" || f.ContactID != "" || f.MinPaise > 0 || f.MaxPaise > 0:
		f.After = ""
		w, _, matches, qerr := l.listQuery(ctx, f)
		if qerr != nil {
			return t, qerr
		}
		if f.Query != "" && len(matches) == 0 {
			return t, nil
		}
		rows, err = queryAll(ctx, l.db.read, "link totals", scan, `SELECT state, count(*), coalesce(sum(amount_paise), 0) FROM
			(SELECT k.state, k.amount_paise FROM payment_links k`+w.where()+` LIMIT `+strconv.Itoa(maxTotalRows+1)+`) GROUP BY state`, w.args...)
	case f.DueFrom != "" || f.DueTo != "":
		var w conditions
		if f.DueFrom != "" {
			w.add("due_date >= ?", f.DueFrom)
		}
		if f.DueTo != "" {
			w.add("due_date <= ?", f.DueTo)
		}
		if f.State != "" {
			w.add("state = ?", string(f.State))
		}
		if f.TemplateID != "" {
			w.add("template_id = ?", f.TemplateID)
		}
		rows, err = queryAll(ctx, l.db.read, "link totals", scan, `SELECT state, sum(links), sum(amount_paise) FROM link_days`+w.where()+
			` GROUP BY state`, w.args...)
	default:
		var w conditions
		if f.State != "" {
			w.add("state = ?", string(f.State))
		}
		if f.TemplateID != "" {
			w.add("template_id = ?", f.TemplateID)
		}
		rows, err = queryAll(ctx, l.db.read, "link totals", scan, `SELECT state, sum(links), sum(amount_paise) FROM link_totals`+w.where()+
			` GROUP BY state`, w.args...)
	}
	if err != nil {
		return t, err
	}
	for _, r := range rows {
		if r.n == 0 {
			continue
		}
		t.Links += r.n
		t.AmountPaise += r.paise
		t.ByState[LinkState(r.state)] = DayAmount{Count: r.n, Paise: r.paise}
	}
	t.Capped = t.Links > maxTotalRows
	return t, nil
}

// PaidOn returns the links paid on IST day (YYYY-MM-DD).
func (l *Links) PaidOn(ctx context.Context, day string) (DayAmount, error) {
	list, err := l.InflowsByDay(ctx, dayStart(day), dayStart(day).AddDate(0, 0, 1))
	if err != nil || len(list) == 0 {
		return DayAmount{Day: day}, err
	}
	return list[0], nil
}

func dayStart(day string) time.Time {
	t, _ := time.ParseInLocation("2006-01-02", day, IST)
	return t
}

// DueBetween returns the open links (sent, resent) due in [from, to], both
// IST days.
func (l *Links) DueBetween(ctx context.Context, from, to string) (DayAmount, error) {
	var d DayAmount
	err := l.db.read.QueryRowContext(ctx, `SELECT coalesce(sum(links), 0), coalesce(sum(amount_paise), 0) FROM link_days
		WHERE due_date >= ? AND due_date <= ? AND state IN ('sent', 'resent')`, from, to).Scan(&d.Count, &d.Paise)
	return d, err
}

// ---- money collected (InflowSource) ----

// InflowName is the channel as a person reads it.
func (l *Links) InflowName() string { return "Payment links" }

// InflowsByDay returns what paid links brought per IST day of payment in
// [from, to), from the per-day summary.
func (l *Links) InflowsByDay(ctx context.Context, from, to time.Time) ([]DayAmount, error) {
	return queryAll(ctx, l.db.read, "link inflows", func(s scanner) (DayAmount, error) {
		var d DayAmount
		return d, s.Scan(&d.Day, &d.Paise, &d.Count)
	}, `SELECT day, amount_paise, links FROM link_paid_days WHERE day >= ? AND day < ? AND links > 0 ORDER BY day`, ISTDay(from), ISTDay(to))
}

var _ InflowSource = (*Links)(nil)
