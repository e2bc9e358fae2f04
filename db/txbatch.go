package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river"
)

// txBatch gathers what the changes of one large write transaction (a bulk
// decision) would each write one at a time: audit entries go through one
// prepared statement with the chain's head moved once at the end, and River
// jobs are inserted together, a thousand at a time (settle) and the rest
// before the transaction commits. Both still commit with the changes or not
// at all. Single rows the transaction reads go to its connection directly
// (row).
type txBatch struct {
	conn  *sql.Conn // tx's connection
	tx    *sql.Tx
	audit *auditWriter
	jobs  []batchedJob
}

type batchedJob struct {
	client *river.Client[*sql.Tx]
	args   river.JobArgs
}

type txBatchKey struct{}

// withTxBatch starts batching for tx, begun on conn (beginWriteConn): audit
// entries and jobs written in tx through ctx join the batch. flush must run
// before tx commits.
func (d *DB) withTxBatch(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (context.Context, *txBatch, error) {
	aw, err := d.newAuditWriter(ctx, tx)
	if err != nil {
		return ctx, nil, err
	}
	b := &txBatch{conn: conn, tx: tx, audit: aw}
	return context.WithValue(ctx, txBatchKey{}, b), b, nil
}

// txBatchOf is the batch of tx carried by ctx, or nil.
func txBatchOf(ctx context.Context, tx *sql.Tx) *txBatch {
	if b, ok := ctx.Value(txBatchKey{}).(*txBatch); ok && b.tx == tx {
		return b
	}
	return nil
}

// batchMark is where a batch stood at a savepoint.
type batchMark struct {
	auditID   int64
	auditHash string
	jobs      int
}

func (b *txBatch) mark() batchMark {
	return batchMark{auditID: b.audit.lastID, auditHash: b.audit.lastHash, jobs: len(b.jobs)}
}

// rollbackTo forgets what was added since m, as ROLLBACK TO the savepoint
// taken at m forgets the rows.
func (b *txBatch) rollbackTo(m batchMark) {
	b.audit.lastID, b.audit.lastHash = m.auditID, m.auditHash
	b.jobs = b.jobs[:m.jobs]
}

// flush moves the audit head and inserts the gathered jobs, inside tx.
func (b *txBatch) flush(ctx context.Context) error {
	defer b.audit.close()
	if err := b.audit.flush(ctx); err != nil {
		return err
	}
	return b.insertJobs(ctx)
}

// jobsAtOnce is how many gathered jobs settle inserts together.
const jobsAtOnce = 1000

// settle inserts the gathered jobs once there are jobsAtOnce of them. River
// prepares every job of one insert before it writes any: 10,000 at once
// held 7 MB of the Go heap at the end of a 10,000-request bulk decision.
// Call it only between items, outside any savepoint: a savepoint rolled
// back after it would take earlier items' jobs with it, and the batch
// would not know.
func (b *txBatch) settle(ctx context.Context) error {
	if len(b.jobs) < jobsAtOnce {
		return nil
	}
	return b.insertJobs(ctx)
}

func (b *txBatch) insertJobs(ctx context.Context) error {
	if len(b.jobs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(b.jobs))
	for i, j := range b.jobs {
		params[i] = river.InsertManyParams{Args: j.args}
	}
	// Every insert-only client inserts any job; the first one serves.
	if _, err := b.jobs[0].client.InsertManyFastTx(ctx, b.tx, params); err != nil {
		return fmt.Errorf("db: enqueue %d jobs: %w", len(params), err)
	}
	clear(b.jobs)
	b.jobs = b.jobs[:0]
	return nil
}

// insertJob inserts args with client inside tx, or adds it to tx's batch.
func insertJob(ctx context.Context, tx *sql.Tx, client *river.Client[*sql.Tx], args river.JobArgs) error {
	if b := txBatchOf(ctx, tx); b != nil {
		b.jobs = append(b.jobs, batchedJob{client: client, args: args})
		return nil
	}
	_, err := client.InsertTx(ctx, tx, args, nil)
	return err
}
