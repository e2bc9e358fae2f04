package db

import (
	"context"
	"fmt"
	"strings"
)

// queryPage runs a keyset-paged query whose SQL asks for limit+1 rows, scans
// each with scan, and reports whether more rows follow the page. limit ≤ 0
// means no paging: every row is returned.
func queryPage[T any](ctx context.Context, q querier, what string, limit int, scan func(scanner) (T, error),
	query string, args ...any) ([]T, bool, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("db: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := limit > 0 && len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// conditions collects the filters of a list query and their arguments, in
// order.
type conditions struct {
	conds []string
	args  []any
}

// add appends one condition and the arguments of its placeholders.
func (c *conditions) add(cond string, args ...any) {
	c.conds = append(c.conds, cond)
	c.args = append(c.args, args...)
}

// addIn appends "column IN (…)" for the given values: the few rows an
// exact search named.
func addIn[T any](c *conditions, column string, values []T) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	c.add(column+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(values)), ",")+")", args...)
}

// where is " WHERE a AND b …", or "" without conditions.
func (c *conditions) where() string {
	if len(c.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.conds, " AND ")
}

// pageLimit is the page size asked for, 50 when none was, at most most.
func pageLimit(asked, most int) int {
	if asked <= 0 {
		return min(50, most)
	}
	return min(asked, most)
}

// queryAll runs query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	out, _, err := queryPage(ctx, q, what, 0, scan, query, args...)
	return out, err
}

// scanValue scans a row of one column.
func scanValue[T any](s scanner) (T, error) {
	var v T
	err := s.Scan(&v)
	return v, err
}

// eachRow runs query and calls fn for every row scanned with scan, from one
// read: an export streams its rows without holding them all.
func eachRow[T any](ctx context.Context, q querier, what string, scan func(scanner) (T, error), fn func(T) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("db: %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// eachOf calls fn for every item of list, stopping at its first error.
func eachOf[T any](list []T, fn func(T) error) error {
	for _, v := range list {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}
