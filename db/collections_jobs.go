package db

// Collections on River, as payouts and the gateway are: each request for
// payment has one job (CollectionStepArgs), inserted in the transaction
// that creates it, that sends it and then follows it, snoozing between
// inquiries, until it is final. A periodic job (CollectionSweepArgs, run by
// River's elected leader) imports vendors' requests to be paid and gives a
// job back to any open request whose job was lost. The rules of each step
// are collections_sync.go's.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// CollectionsQueue is the River queue of the collections' jobs.
const CollectionsQueue = "collections"

// CollectionStepArgs takes one request for payment a step forward.
type CollectionStepArgs struct {
	RequestID string `json:"request_id"`
}

// Kind is River's name for the job.
func (CollectionStepArgs) Kind() string { return "collection_step" }

// InsertOpts keeps one job per request while one waits or runs.
func (CollectionStepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: CollectionsQueue, MaxAttempts: 1000, UniqueOpts: openJobUnique()}
}

// CollectionSweepArgs is the periodic import of vendors' requests and the
// sweep of lost jobs.
type CollectionSweepArgs struct{}

// Kind is River's name for the job.
func (CollectionSweepArgs) Kind() string { return "collection_sweep" }

// InsertOpts: one sweep waits or runs at a time.
func (CollectionSweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: CollectionsQueue, MaxAttempts: 3, UniqueOpts: openJobUnique()}
}

// openJobUnique makes a job unique while it waits or runs; a finished one
// does not count.
func openJobUnique() river.UniqueOpts {
	return river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}
}

// JobQueue is the collections' River queue for the dispatcher: requests are
// asked about every interval, and the sweep runs as often.
func (c *Collections) JobQueue(every time.Duration) JobQueue {
	if every <= 0 {
		every = 30 * time.Second
	}
	c.every = every
	return JobQueue{Queue: CollectionsQueue, MaxWorkers: 4,
		Register: func(w *river.Workers) {
			river.AddWorker(w, &collectionStepWorker{c: c})
			river.AddWorker(w, &collectionSweepWorker{c: c})
		},
		Periodic: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return CollectionSweepArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true})},
	}
}

func (c *Collections) interval() time.Duration {
	if c.every > 0 {
		return c.every
	}
	return 30 * time.Second
}

type collectionStepWorker struct {
	river.WorkerDefaults[CollectionStepArgs]
	c *Collections
}

// Work takes the request one step and comes back after the interval until
// it is final. An error is kept on the request (its page shows it) and the
// job comes back as it would anyway: never a blind re-send (step asks
// PayMate first once a request was sent).
func (w *collectionStepWorker) Work(ctx context.Context, job *river.Job[CollectionStepArgs]) error {
	c := w.c
	if c.prov == nil {
		return river.JobSnooze(c.interval()) // waits, queued, until PayMate is configured
	}
	cr, err := getCollection(ctx, c.db.read, job.Args.RequestID)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if cr.State.Final() {
		return nil
	}
	var res CollectionSyncResult
	if err := c.step(ctx, cr, &res); err != nil && ctx.Err() != nil {
		return err
	}
	if cr, err = getCollection(ctx, c.db.read, cr.ID); err == nil && cr.State.Final() {
		return nil
	}
	return river.JobSnooze(c.interval())
}

type collectionSweepWorker struct {
	river.WorkerDefaults[CollectionSweepArgs]
	c *Collections
}

func (w *collectionSweepWorker) Work(ctx context.Context, _ *river.Job[CollectionSweepArgs]) error {
	_, err := w.c.Sweep(ctx)
	return err
}

// Sweep imports and follows vendors' requests to be paid, and gives a step
// job back to every open request not asked about for ten intervals (its job
// was lost: a request created before the queue existed, a job discarded).
// It returns how many jobs it enqueued.
func (c *Collections) Sweep(ctx context.Context) (int, error) {
	if c.prov == nil {
		return 0, nil
	}
	if c.queueErr != nil {
		return 0, c.queueErr
	}
	var res CollectionSyncResult
	verr := c.syncVendorRequests(ctx, &res)
	horizon := c.db.nowMS() - max(10*c.interval(), 10*time.Second).Milliseconds()
	ids, err := queryAll(ctx, c.db.read, "stale collection requests", scanValue[string],
		`SELECT r.id FROM collection_requests r INDEXED BY collection_requests_open
		WHERE r.state IN ('queued', 'pending', 'unknown') AND coalesce(r.checked_at, 0) < ?
		ORDER BY coalesce(r.checked_at, 0), r.id LIMIT ?`, horizon, maxCollectionsPerRound)
	if err != nil {
		return 0, errors.Join(verr, err)
	}
	n := 0
	for _, id := range ids {
		ins, err := c.queue.Insert(ctx, CollectionStepArgs{RequestID: id}, nil)
		if err != nil {
			return n, errors.Join(verr, fmt.Errorf("db: enqueue collection step of %s: %w", id, err))
		}
		if !ins.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, verr
}
