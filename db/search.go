package db

import (
	"context"
	"fmt"
	"strings"
)

// Text search in lists is a prefix match on a normalised key column with an
// index of its own (or an exact match on a code), never LIKE '%…%' over a
// table: a prefix is a range of the index, so a search reads only what it
// finds, whatever the table's size.

// searchKey is how a name is kept for prefix search and how a query is
// normalised to match it: ASCII letters lower-cased (what LIKE ignores, so
// results equal a case-insensitive LIKE 'q%'), runs of white space made one
// space, and the ends trimmed. Other scripts are kept as they are.
func searchKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0':
			space = true
			continue
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// asciiLower folds ASCII letters only, as SQLite's lower() and LIKE do
// (without ICU), so a key made in Go meets an index made in SQL.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// searchSortLimit is where a search stops counting its matches: below it,
// the matches are read through their own indexes and sorted (at most this
// many rows); at or above it they are dense enough that walking the list's
// order index finds a page within about limit × table/searchSortLimit rows.
const searchSortLimit = 1000

// textSearch is a list's text filter: columns (SQL expressions, each with
// an index of its own) that match when they start with the query, as LIKE
// 'q%' would (ASCII letters folded), and columns that match when they equal
// it exactly (each with its own spelling of the query: upper-cased for an
// id, as typed for a reference).
type textSearch struct {
	prefix []string
	exact  []exactColumn
}

type exactColumn struct {
	column string
	value  func(q string) any
}

func asTyped(q string) any { return q }
func upper(q string) any   { return strings.ToUpper(q) }

// match is the condition for q and whether it is dense: whether at least
// searchSortLimit rows of from (FROM … with the aliases the columns use)
// match. A dense search walks the list's own order and stops at a page; a
// sparse one reads its matches through each column's index and sorts them,
// at most searchSortLimit rows. Either way a search reads a bounded number
// of rows.
func (s textSearch) match(ctx context.Context, q querier, from, what, query string) (cond string, args []any, dense bool, err error) {
	lo, hi := prefixRange(asciiLower(query))
	parts := make([]string, 0, len(s.prefix)+len(s.exact))
	for _, col := range s.prefix {
		parts = append(parts, "("+col+" >= ? AND "+col+" < ?)")
		args = append(args, lo, hi)
	}
	for _, e := range s.exact {
		parts = append(parts, e.column+" = ?")
		args = append(args, e.value(query))
	}
	cond = "(" + strings.Join(parts, " OR ") + ")"
	dense, err = atLeast(ctx, q, what, searchSortLimit, "SELECT 1 "+from+" WHERE "+cond, args...)
	return cond, args, dense, err
}

// atLeast reports whether query (SELECT 1 FROM … WHERE …) has at least n
// rows, reading no more than n of them.
func atLeast(ctx context.Context, q querier, what string, n int, query string, args ...any) (bool, error) {
	var got int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM (`+query+` LIMIT ?)`, append(args, n)...).Scan(&got)
	if err != nil {
		return false, fmt.Errorf("db: %s: %w", what, err)
	}
	return got >= n, nil
}

// searchTerms splits text into the words a text filter matches by prefix:
// runs of anything but spaces, tabs and line ends, ASCII letters folded (as
// lower() and LIKE fold them), each word once. The migration that indexed
// requests already waiting splits the same way in SQL.
func searchTerms(text string) []string {
	fields := strings.FieldsFunc(asciiLower(text), func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	out := fields[:0]
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// prefixRange returns the bounds of every key that starts with prefix, for
// `key >= lo AND key < hi` on a BINARY-collated index. hi is prefix followed
// by the byte 0xFF, which no UTF-8 text contains, so it sorts after every
// key that continues prefix.
func prefixRange(prefix string) (lo, hi string) {
	return prefix, prefix + "\xff"
}

// distinctKeys returns the distinct values of expr (the leading column of
// index on table) in [lo, hi), in order, seeking the index once per value
// rather than reading every entry: nil when there are more than max.
func distinctKeys(ctx context.Context, q querier, table, index, expr, lo, hi string, max int) ([]string, error) {
	if max <= 0 {
		return nil, nil
	}
	next := func(cmp string) string {
		return `(SELECT min(` + expr + `) FROM ` + table + ` INDEXED BY ` + index + ` WHERE ` + expr + ` ` + cmp + ` AND ` + expr + ` < ?2)`
	}
	rows, err := q.QueryContext(ctx, `WITH RECURSIVE k(v) AS (SELECT `+next(">= ?1")+
		` UNION ALL SELECT `+next("> k.v")+` FROM k WHERE k.v IS NOT NULL LIMIT ?3) SELECT v FROM k WHERE v IS NOT NULL`,
		lo, hi, max+2)
	if err != nil {
		return nil, fmt.Errorf("db: %s keys: %w", index, err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(keys) > max {
		return nil, nil
	}
	return keys, nil
}
