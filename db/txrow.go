package db

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
)

// queryRow reads one row through q. Inside a transaction that carries a
// batch, the row comes from the connection directly (txBatch.row).
func queryRow(ctx context.Context, q querier, query string, args ...any) scanner {
	if tx, ok := q.(*sql.Tx); ok {
		if b := txBatchOf(ctx, tx); b != nil {
			return b.row(ctx, query, args)
		}
	}
	return q.QueryRowContext(ctx, query, args...)
}

// row reads one row on the batch's connection, inside its transaction.
// database/sql starts a goroutine for every query run in a transaction, to
// close the rows should the transaction end first; a bulk decision reads
// two rows per request, and waking threads for those goroutines was about
// a tenth of its CPU. Here the rows are closed before row returns, so there
// is nothing to watch.
func (b *txBatch) row(ctx context.Context, query string, args []any) scanner {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return &driverRow{err: fmt.Errorf("db: argument %d: %w", i+1, err)}
		}
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	r := &driverRow{}
	r.err = b.conn.Raw(func(dc any) (err error) {
		// Not cancelled midway: the transaction's context still ends the
		// transaction, between statements.
		rows, err := dc.(driver.QueryerContext).QueryContext(context.WithoutCancel(ctx), query, named)
		if err != nil {
			return err
		}
		defer func() {
			// As Row.Scan: an error closing the rows is the read's error.
			if cerr := rows.Close(); err == nil {
				err = cerr
			}
		}()
		r.vals = make([]driver.Value, len(rows.Columns()))
		if err := rows.Next(r.vals); err != nil {
			if errors.Is(err, io.EOF) {
				return sql.ErrNoRows
			}
			return err
		}
		return nil
	})
	return r
}

// driverRow is a row as the driver returned it. Scan stores its values as
// database/sql's Row.Scan does for the destinations Paydesk reads into:
// sql.Scanner, integers, strings, booleans, floats, byte slices and any.
type driverRow struct {
	vals []driver.Value
	err  error
}

func (r *driverRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if len(dest) != len(r.vals) {
		return fmt.Errorf("db: scan: %d columns into %d destinations", len(r.vals), len(dest))
	}
	for i, d := range dest {
		if err := assignValue(d, r.vals[i]); err != nil {
			return fmt.Errorf("db: scan column %d: %w", i+1, err)
		}
	}
	return nil
}

func assignValue(dest any, v driver.Value) error {
	if s, ok := dest.(sql.Scanner); ok {
		return s.Scan(v)
	}
	p := reflect.ValueOf(dest)
	if p.Kind() != reflect.Pointer || p.IsNil() {
		return fmt.Errorf("destination %T is not a pointer", dest)
	}
	d := p.Elem()
	if d.Kind() == reflect.Interface {
		if v == nil {
			d.SetZero()
		} else {
			d.Set(reflect.ValueOf(v))
		}
		return nil
	}
	if d.Kind() == reflect.String {
		switch x := v.(type) {
		case string:
			d.SetString(x)
		case []byte:
			d.SetString(string(x))
		case int64:
			d.SetString(strconv.FormatInt(x, 10))
		case float64:
			d.SetString(strconv.FormatFloat(x, 'g', -1, 64))
		case bool:
			d.SetString(strconv.FormatBool(x))
		default:
			return fmt.Errorf("cannot store %T in %s", v, d.Type())
		}
		return nil
	}
	switch x := v.(type) {
	case int64:
		switch d.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if d.OverflowInt(x) {
				return fmt.Errorf("%d overflows %s", x, d.Type())
			}
			d.SetInt(x)
			return nil
		case reflect.Bool:
			d.SetBool(x != 0)
			return nil
		case reflect.Float32, reflect.Float64:
			d.SetFloat(float64(x))
			return nil
		}
	case float64:
		if d.Kind() == reflect.Float32 || d.Kind() == reflect.Float64 {
			d.SetFloat(x)
			return nil
		}
	case bool:
		if d.Kind() == reflect.Bool {
			d.SetBool(x)
			return nil
		}
	case string:
		switch {
		case d.CanInt():
			n, err := strconv.ParseInt(x, 10, d.Type().Bits())
			if err != nil {
				return fmt.Errorf("cannot store %q in %s: %w", x, d.Type(), err)
			}
			d.SetInt(n)
			return nil
		case d.Kind() == reflect.Slice && d.Type().Elem().Kind() == reflect.Uint8:
			d.SetBytes([]byte(x))
			return nil
		}
	case []byte:
		if d.Kind() == reflect.Slice && d.Type().Elem().Kind() == reflect.Uint8 {
			d.SetBytes(bytes.Clone(x))
			return nil
		}
	}
	return fmt.Errorf("cannot store %T in %s", v, d.Type())
}
