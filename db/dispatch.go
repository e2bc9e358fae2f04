package db

// The dispatcher sends approved payouts to their provider through River, a
// job queue that keeps its jobs in Paydesk's own SQLite file.
//
// What River on SQLite needs (v0.31, riverdriver/riversqlite):
//   - riversqlite.New takes a *sql.DB; River itself recommends a pool of one
//     connection for SQLite. It runs on Paydesk's single writer pool
//     (DB.Writer) as it is: the producer, the completer and the maintenance
//     services each take the connection only for a statement or a short
//     transaction and never hold it while a job's Work runs, so Work can open
//     Paydesk's own write transactions. No second pool was needed.
//   - There is no LISTEN/NOTIFY: the client polls (FetchPollInterval).
//   - Job insertion joins Paydesk's transaction with InsertTx(ctx, tx, …),
//     which is how approving a payout and creating its job commit together.
//   - River's rescuer of jobs left "running" by a crashed process runs only
//     on the elected leader and only every 30 s, with a RescueStuckJobsAfter
//     of an hour by default, and it cannot tell a dead process from a slow
//     one. The dispatcher recovers orphans itself, for every queue it
//     serves (recoveryRule): a job an earlier process of this node was
//     working is made available when the new process starts, before it
//     fetches anything; a job another node was working, after StuckAfter.
//   - JobSnooze does not use up attempts (River decrements the attempt), so
//     waiting for the bank never makes a job give up; errors do.

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"paydesk/providers"
)

// DispatchQueue is the River queue payouts are dispatched on.
const DispatchQueue = "payouts"

// DispatchArgs is the dispatch job of one payout.
type DispatchArgs struct {
	PayoutID string `json:"payout_id"`
}

// Kind is River's name for the job.
func (DispatchArgs) Kind() string { return "payout_dispatch" }

// InsertOpts makes the job unique per payout while one waits or runs, so the
// janitor, a retry and an approval never put two on the queue. Finished jobs
// do not count: a payout retried later gets a new job. River's own attempt
// limit is set high; the worker gives up itself after MaxAttempts and records
// why on the payout.
func (DispatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       DispatchQueue,
		MaxAttempts: 1000,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		}},
	}
}

// MigrateQueue creates or updates River's tables in d. It is idempotent;
// NewPayouts and NewDispatcher call it.
func MigrateQueue(ctx context.Context, d *DB) error {
	m, err := rivermigrate.New(riversqlite.New(d.Writer()), &rivermigrate.Config{Logger: quietLogger()})
	if err != nil {
		return fmt.Errorf("db: river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("db: river migrate: %w", err)
	}
	return nil
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newInsertClient(d *DB) (*river.Client[*sql.Tx], error) {
	c, err := river.NewClient(riversqlite.New(d.Writer()), &river.Config{Logger: quietLogger()})
	if err != nil {
		return nil, fmt.Errorf("db: river insert client: %w", err)
	}
	return c, nil
}

// DispatchOptions tune the dispatcher. Zero fields take the defaults.
type DispatchOptions struct {
	Workers      int           // jobs worked at once; default 8
	PollInterval time.Duration // how often River looks for jobs; default 1 s
	InquiryEvery time.Duration // status inquiry interval while the bank works; default 30 s
	MaxAttempts  int           // errors in a row before a payout is failed; default 25
	JanitorEvery time.Duration // default 1 min
	StuckAfter   time.Duration // a payout unchanged this long gets a status check; default 10 min
	// RetryBackoff is the first pause after an error, doubled each time up to
	// MaxBackoff; defaults InquiryEvery and 10 min.
	RetryBackoff time.Duration
	MaxBackoff   time.Duration
	// NotFoundGrace: a bank may not yet list a payout it has just accepted,
	// so "not found" sooner than this after sending is asked again later,
	// never taken as licence to re-send; default 2 min.
	NotFoundGrace time.Duration
	// FundsWaitEvery: a payout the provider holds until the account is
	// funded is asked about and approved again this often; default 1 min.
	FundsWaitEvery time.Duration
	// Node names this machine; River client ids are Node/<start>-<random>.
	// One node runs one dispatcher at a time, so a job that an earlier
	// process of the same node left "running" is an orphan the moment a new
	// one starts. Default: the host name. Set it (PAYDESK_NODE) where the
	// host name changes at every start, as in some containers.
	Node   string
	Logger *slog.Logger // nil: River's logs are dropped
	// Jobs are the River queues and workers of other areas (virtual
	// accounts, payment links, the gateway…). They run on this dispatcher's
	// River client: one client per database means one poller and one
	// leader, and every area's jobs stop and start together.
	Jobs []JobQueue
	// JobDone, when set, hears of every job run that ended: its kind, the
	// outcome (completed, failed, snoozed, cancelled, discarded) and how
	// long it ran. It is called from one goroutine and must not block.
	JobDone func(kind, outcome string, ran time.Duration)
}

// JobQueue is one area's River queue and the workers that serve it. The
// area inserts its jobs in its own transactions with an insert-only client
// (newInsertClient), as payouts do.
type JobQueue struct {
	Queue      string
	MaxWorkers int
	// StuckAfter: a job of this queue that another node left running is
	// rescued this long after it was attempted; 0: the dispatcher's. The
	// queue's workers must time out well before it.
	StuckAfter time.Duration
	// Register adds the area's workers (river.AddWorker).
	Register func(*river.Workers)
	// Periodic are the area's jobs River inserts on a schedule (its
	// followers and sweeps), run by the elected leader only.
	Periodic []*river.PeriodicJob
}

// DefaultDispatchWorkers is how many jobs of the payouts queue run at once
// unless configured (PAYDESK_DISPATCH_WORKERS): each mostly waits on its
// bank, and their state changes share commits.
const DefaultDispatchWorkers = 64

func (o DispatchOptions) withDefaults() DispatchOptions {
	o.Workers = cmp.Or(o.Workers, DefaultDispatchWorkers)
	o.PollInterval = cmp.Or(o.PollInterval, time.Second)
	o.InquiryEvery = cmp.Or(o.InquiryEvery, 30*time.Second)
	o.MaxAttempts = cmp.Or(o.MaxAttempts, 25)
	o.JanitorEvery = cmp.Or(o.JanitorEvery, time.Minute)
	o.StuckAfter = cmp.Or(o.StuckAfter, 10*time.Minute)
	o.RetryBackoff = cmp.Or(o.RetryBackoff, o.InquiryEvery)
	o.MaxBackoff = cmp.Or(o.MaxBackoff, 10*time.Minute)
	o.NotFoundGrace = cmp.Or(o.NotFoundGrace, 2*time.Minute)
	o.FundsWaitEvery = cmp.Or(o.FundsWaitEvery, time.Minute)
	if o.Node == "" {
		o.Node, _ = os.Hostname()
	}
	o.Node = cmp.Or(strings.NewReplacer("/", "_", " ", "_").Replace(o.Node), "node")
	if len(o.Node) > 60 {
		o.Node = o.Node[:60]
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	return o
}

// Dispatcher works the dispatch jobs: it sends each approved payout to its
// provider, authorises it there, and follows it to a final state.
type Dispatcher struct {
	db        *DB
	payouts   *Payouts
	providers map[string]providers.Payouts
	opts      DispatchOptions
	client    *river.Client[*sql.Tx]
	recovery  recoveryRule

	mu      sync.Mutex
	cancel  context.CancelFunc
	janitor chan struct{} // closed when the janitor goroutine has ended
	// nextRescue is when the earliest orphan of another node falls due
	// (Unix ns, 0: none); the janitor wakes for it rather than a whole
	// JanitorEvery later.
	nextRescue atomic.Int64
}

// NewDispatcher migrates River's tables and builds a dispatcher over the
// providers by source name (kotakcms, paymate). It does not start it.
func NewDispatcher(d *DB, p *Payouts, provs map[string]providers.Payouts, opts DispatchOptions) (*Dispatcher, error) {
	opts = opts.withDefaults()
	if err := MigrateQueue(context.Background(), d); err != nil {
		return nil, err
	}
	ds := &Dispatcher{db: d, payouts: p, providers: provs, opts: opts}
	ds.recovery = recoveryRule{self: newClientID(opts.Node), node: opts.Node, stuckAfter: opts.StuckAfter,
		queues: map[string]time.Duration{}}
	workers := river.NewWorkers()
	river.AddWorker(workers, &dispatchWorker{d: ds})
	queues := map[string]river.QueueConfig{DispatchQueue: {MaxWorkers: opts.Workers}}
	var periodic []*river.PeriodicJob
	for _, j := range opts.Jobs {
		if _, dup := queues[j.Queue]; dup {
			return nil, fmt.Errorf("db: job queue %q given twice", j.Queue)
		}
		queues[j.Queue] = river.QueueConfig{MaxWorkers: cmp.Or(j.MaxWorkers, 4)}
		if j.StuckAfter > 0 {
			ds.recovery.queues[j.Queue] = j.StuckAfter
		}
		j.Register(workers)
		periodic = append(periodic, j.Periodic...)
	}
	// A freed worker takes the next job within 20 ms: with a hundred
	// milliseconds between fetches, workers sat idle while jobs waited.
	cooldown := min(opts.PollInterval, 20*time.Millisecond)
	// A job's Work is bounded well below StuckAfter, so a job still running
	// is never rescued from under itself.
	jobTimeout := opts.StuckAfter / 2
	c, err := river.NewClient(riversqlite.New(d.Writer()), &river.Config{
		ID:                   ds.recovery.self,
		Queues:               queues,
		Workers:              workers,
		FetchPollInterval:    opts.PollInterval,
		FetchCooldown:        cooldown,
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: opts.StuckAfter,
		RetryPolicy:          &backoffPolicy{base: opts.RetryBackoff, max: opts.MaxBackoff},
		// River's reindexer speaks PostgreSQL's REINDEX; on SQLite it only
		// logs an error every midnight.
		ReindexerSchedule: river.NeverSchedule(),
		PeriodicJobs:      periodic,
		Logger:            opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("db: river client: %w", err)
	}
	ds.client = c
	return ds, nil
}

// backoffPolicy retries after base, 2·base, 4·base… up to max: River's
// default (attempt⁴ seconds) waits far too long for a bank that was busy.
type backoffPolicy struct{ base, max time.Duration }

func (b *backoffPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	n := max(job.Attempt-1, 0)
	wait := b.max
	if n < 30 {
		wait = min(time.Duration(float64(b.base)*math.Pow(2, float64(n))), b.max)
	}
	return time.Now().Add(wait)
}

// Start begins working jobs and the janitor. ctx bounds the whole run:
// cancelling it is a hard stop.
func (ds *Dispatcher) Start(ctx context.Context) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.cancel != nil {
		return errors.New("db: dispatcher already started")
	}
	// Before the first fetch: what an earlier process of this node was
	// working is available again when the producers start.
	if _, err := ds.recoverOrphans(ctx); err != nil {
		return fmt.Errorf("db: start dispatcher: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	if err := ds.client.Start(runCtx); err != nil {
		cancel()
		return fmt.Errorf("db: start dispatcher: %w", err)
	}
	ds.cancel = cancel
	ds.janitor = make(chan struct{})
	go ds.runJanitor(runCtx, ds.janitor)
	if ds.opts.JobDone != nil {
		events, stop := ds.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
			river.EventKindJobSnoozed, river.EventKindJobCancelled)
		go ds.reportJobs(runCtx, events, stop)
	}
	return nil
}

// Started reports whether the dispatcher is working jobs (/readyz).
func (ds *Dispatcher) Started() bool {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.cancel != nil
}

// reportJobs passes River's job events to JobDone until ctx ends.
func (ds *Dispatcher) reportJobs(ctx context.Context, events <-chan *river.Event, stop func()) {
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Job == nil {
				continue
			}
			var ran time.Duration
			if ev.JobStats != nil {
				ran = ev.JobStats.RunDuration
			}
			ds.opts.JobDone(ev.Job.Kind, jobOutcome(ev), ran)
		}
	}
}

// jobOutcome names how a run ended; a failed run River gave up on is
// "discarded".
func jobOutcome(ev *river.Event) string {
	switch ev.Kind {
	case river.EventKindJobCompleted:
		return "completed"
	case river.EventKindJobSnoozed:
		return "snoozed"
	case river.EventKindJobCancelled:
		return "cancelled"
	}
	if ev.Job.State == rivertype.JobStateDiscarded {
		return "discarded"
	}
	return "failed"
}

// Stop ends the dispatcher gracefully: no new jobs are fetched and running
// ones finish, unless ctx ends first, in which case their work is cancelled
// (StopAndCancel) and Stop returns ctx's error. Interrupted payouts are
// safe: their next run starts with a status inquiry.
func (ds *Dispatcher) Stop(ctx context.Context) error {
	ds.mu.Lock()
	cancel, janitor := ds.cancel, ds.janitor
	ds.cancel = nil
	ds.mu.Unlock()
	if cancel == nil {
		return nil
	}
	err := ds.client.Stop(ctx)
	if err != nil {
		hard, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = ds.client.StopAndCancel(hard)
		done()
	}
	cancel()
	<-janitor
	return err
}

// Kill stops the dispatcher hard, as a crash would as far as the providers
// can tell: every job's context is cancelled at once, mid-call, and nothing
// is allowed to finish. It waits only for the goroutines to return.
func (ds *Dispatcher) Kill() {
	ds.mu.Lock()
	cancel, janitor := ds.cancel, ds.janitor
	ds.cancel = nil
	ds.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	hard, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_ = ds.client.StopAndCancel(hard)
	<-janitor
}

// runJanitor re-enqueues a status check for every payout on its way but
// unchanged for StuckAfter (the unique job options make a second one a
// no-op), and recovers jobs left running by a dead process. It runs every
// JanitorEvery, and sooner when another node's orphan falls due.
func (ds *Dispatcher) runJanitor(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTimer(ds.opts.JanitorEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := ds.Sweep(ctx); err != nil && ctx.Err() == nil {
				ds.opts.Logger.Error("payout janitor", "err", err)
			}
			wait := ds.opts.JanitorEvery
			if next := ds.nextRescue.Load(); next != 0 {
				wait = min(wait, max(time.Until(time.Unix(0, next)), 10*time.Millisecond))
			}
			t.Reset(wait)
		}
	}
}

// Sweep is one janitor pass; it returns how many jobs it enqueued.
func (ds *Dispatcher) Sweep(ctx context.Context) (int, error) {
	if _, err := ds.recoverOrphans(ctx); err != nil {
		return 0, err
	}
	horizon := ds.db.nowMS() - ds.opts.StuckAfter.Milliseconds()
	// One arm per state in (updated_at, id) order from one index, merged.
	ids, err := queryAll(ctx, ds.db.read, "stuck payouts", func(s scanner) (string, error) {
		var id string
		var at int64
		return id, s.Scan(&id, &at)
	}, changedArm(providers.StateApproved, true)+` UNION ALL `+changedArm(providers.StateQueued, true)+
		` UNION ALL `+changedArm(providers.StateProcessing, true)+` UNION ALL `+changedArm(providers.StateUnknown, true)+
		` ORDER BY 2, 1 LIMIT 1000`, horizon)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		res, err := ds.client.Insert(ctx, DispatchArgs{PayoutID: id}, nil)
		if err != nil {
			return n, fmt.Errorf("db: enqueue status check of %s: %w", id, err)
		}
		if !res.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}

// recoveryRule decides which "running" jobs are orphans, the same way for
// every River queue the dispatcher serves.
type recoveryRule struct {
	self       string // this process's River client id
	node       string // this node's name, the prefix of its client ids
	stuckAfter time.Duration
	queues     map[string]time.Duration // StuckAfter by queue, where it differs
}

// newClientID is a River client id unique to this process and start, that
// names its node: node/<start time>-<random>.
func newClientID(node string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%s-%x", node, time.Now().UTC().Format("20060102T150405.000000"), b)
}

// runningJob is a job River holds as "running", as recovery reads it.
type runningJob struct {
	id          int64
	kind, queue string
	args        string
	attemptedBy []string
	attemptedAt time.Time // when it was last fetched (created, if never)
}

// due says when running job j is an orphan, and false while this process
// works it (River's JobTimeout bounds that). An earlier process of this
// node is dead, since a node runs one dispatcher at a time: its jobs are
// due at once. Whether another node is alive cannot be known from here:
// its jobs fall due StuckAfter after they were attempted, by when their
// JobTimeout has long passed.
func (r recoveryRule) due(j runningJob) (time.Time, bool) {
	last := ""
	if len(j.attemptedBy) > 0 {
		last = j.attemptedBy[len(j.attemptedBy)-1]
	}
	switch {
	case last == r.self:
		return time.Time{}, false
	case strings.HasPrefix(last, r.node+"/"):
		return j.attemptedAt, true
	}
	return j.attemptedAt.Add(cmp.Or(r.queues[j.queue], r.stuckAfter)), true
}

// orphan is a job left running by a process that is gone, and when it is
// (or was) due for recovery.
type orphan struct {
	job runningJob
	due time.Time
}

// orphans lists the running jobs of every queue that this process does not
// work, with when each falls due. It reads through the reader pool (River's
// JobList would take the one writer connection, for every payouts page).
func (ds *Dispatcher) orphans(ctx context.Context) ([]orphan, error) {
	jobs, err := queryAll(ctx, ds.db.read, "running jobs", func(s scanner) (runningJob, error) {
		var j runningJob
		var by string
		var attempted sql.NullTime
		var created time.Time
		if err := s.Scan(&j.id, &j.kind, &j.queue, &j.args, &by, &attempted, &created); err != nil {
			return j, err
		}
		if err := json.Unmarshal([]byte(by), &j.attemptedBy); err != nil {
			return j, fmt.Errorf("db: job %d attempted_by: %w", j.id, err)
		}
		j.attemptedAt = created
		if attempted.Valid {
			j.attemptedAt = attempted.Time
		}
		return j, nil
	}, `SELECT id, kind, queue, cast(args AS text), coalesce(cast(attempted_by AS text), '[]'), attempted_at, created_at
		FROM river_job WHERE state = 'running' LIMIT 10000`)
	if err != nil {
		return nil, err
	}
	var out []orphan
	for _, j := range jobs {
		if due, ok := ds.recovery.due(j); ok {
			out = append(out, orphan{job: j, due: due})
		}
	}
	return out, nil
}

// recoverOrphans makes every orphan that is due available again, at once
// (scheduled_at = attempted_at, in River's own format), and notes when the
// next one falls due. It returns how many it recovered. Running a job twice
// would be safe too: every run starts by asking the provider.
func (ds *Dispatcher) recoverOrphans(ctx context.Context) (int, error) {
	list, err := ds.orphans(ctx)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	var next time.Time
	n := 0
	for _, o := range list {
		if o.due.After(now) {
			if next.IsZero() || o.due.Before(next) {
				next = o.due
			}
			continue
		}
		res, err := ds.db.write.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = coalesce(attempted_at, created_at)
			WHERE id = ? AND state = 'running'`, o.job.id)
		if err != nil {
			return n, fmt.Errorf("db: recover job %d: %w", o.job.id, err)
		}
		if k, _ := res.RowsAffected(); k == 1 {
			n++
		}
	}
	if next.IsZero() {
		ds.nextRescue.Store(0)
	} else {
		ds.nextRescue.Store(next.UnixNano())
	}
	if n > 0 {
		ds.opts.Logger.Info("recovered jobs left running by a stopped process", "jobs", n)
	}
	return n, nil
}

// AwaitingRecovery returns the payouts whose dispatch job was left running
// by a process that is gone, with the time each will be checked with its
// provider. Once recovered, a payout leaves the list.
func (ds *Dispatcher) AwaitingRecovery(ctx context.Context) (map[string]time.Time, error) {
	list, err := ds.orphans(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := map[string]time.Time{}
	for _, o := range list {
		if o.job.kind != (DispatchArgs{}).Kind() {
			continue
		}
		var args DispatchArgs
		if err := json.Unmarshal([]byte(o.job.args), &args); err != nil || args.PayoutID == "" {
			continue
		}
		// Due already: the janitor's next pass takes it.
		out[args.PayoutID] = o.due
		if o.due.Before(now) {
			out[args.PayoutID] = now
		}
	}
	return out, nil
}

type dispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	d *Dispatcher
}

// Work takes the payout one or more steps forward. Every error is River's
// to retry with backoff until the job has failed MaxAttempts runs (River
// counts the runs that ended in an error; a snooze does not count). Then a
// payout never sent is failed with the reason, for a person to Retry. One
// that was sent is not: the provider may have paid it, and only its answer
// may end it. It keeps its state, the reason goes on its timeline, and the
// job ends; the janitor starts a new one StuckAfter later, which asks again.
func (w *dispatchWorker) Work(ctx context.Context, job *river.Job[DispatchArgs]) error {
	err := w.d.step(ctx, job.Args.PayoutID)
	var snooze *river.JobSnoozeError
	if err == nil || errors.As(err, &snooze) || ctx.Err() != nil {
		return err
	}
	if job.Attempt < w.d.opts.MaxAttempts {
		return err
	}
	ch := change{kind: "gave_up", state: providers.StateFailed,
		reason: fmt.Sprintf("gave up after %d attempts: %v; the provider is asked first on Retry", job.Attempt, err)}
	sent := func(cur Payout) bool { return !cur.SentAt.IsZero() }
	if po, perr := getPayout(ctx, w.d.db.read, job.Args.PayoutID); perr == nil && sent(po) {
		ch = change{kind: "still_asking", fundsWait: !po.WaitingForFundsSince.IsZero(), note: fmt.Sprintf("%d attempts failed, the last with: %v. The provider is asked again in %s; the payout is not sent again before it answers.",
			job.Attempt, err, inWords(w.d.opts.StuckAfter))}
	}
	// Checked again under the write lock: a send may have begun meanwhile.
	_, _, rerr := w.d.payouts.record(context.WithoutCancel(ctx), job.Args.PayoutID, ch, func(cur Payout) bool {
		return sent(cur) == (ch.kind == "still_asking")
	})
	return rerr
}

// maxStepsPerRun bounds one run; a payout that needs more is snoozed.
const maxStepsPerRun = 8

// step drives payout id. The rules: our payout id is the idempotency key;
// once a payout was handed to the provider, every step begins with a status
// inquiry, and it is sent again only when the provider says it does not know
// it (ErrNotFound); an unknown outcome is recorded as the state unknown,
// never followed by a blind re-send.
func (ds *Dispatcher) step(ctx context.Context, id string) error {
	for range maxStepsPerRun {
		po, err := getPayout(ctx, ds.db.read, id)
		if err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil // nothing to do for a payout that does not exist
			}
			return err
		}
		if po.State.Final() || po.State == providers.StatePendingApproval {
			return nil
		}
		prov, ok := ds.providers[po.Source]
		if !ok {
			// Configuration, not the payout: fail it so a person sees it.
			_, _, err := ds.payouts.record(ctx, id, change{kind: "failed", state: providers.StateFailed,
				reason: fmt.Sprintf("no provider %q is configured", po.Source)}, nil)
			return err
		}
		if po.SentAt.IsZero() {
			done, err := ds.send(ctx, prov, po, "sent")
			if err != nil || done {
				return err
			}
			// Sent: the job goes back behind the payouts approved before
			// it was, whose first sends then come before this one's
			// follow-up. Its next run begins with an inquiry, as every run
			// after a send does.
			return river.JobSnooze(time.Millisecond)
		}
		st, err := prov.PayoutStatus(ctx, po.OrderID())
		switch {
		case errors.Is(err, providers.ErrNotFound):
			// From the latest send: after a re-send whose outcome is unknown,
			// the provider may not list that one yet either.
			if wait := ds.opts.NotFoundGrace - ds.db.Now().Sub(po.LastSentAt); wait > 0 {
				return river.JobSnooze(wait)
			}
			// The provider still does not know it well after we sent it: it
			// never got it, and sending again is safe.
			done, err := ds.send(ctx, prov, po, "resent")
			if err != nil || done {
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("status of %s: %w", id, err)
		}
		po, err = ds.observe(ctx, po, st)
		if err != nil {
			return err
		}
		switch {
		case po.State.Final():
			return nil
		case st.State == providers.StateQueued:
			if err := ds.authorise(ctx, prov, po); err != nil {
				return err
			}
			continue
		default:
			return river.JobSnooze(ds.opts.InquiryEvery)
		}
	}
	return river.JobSnooze(ds.opts.InquiryEvery)
}

// send hands po to the provider. The intent is recorded first (sent_at,
// attempts), so that a crash mid-call leaves a payout that is inquired
// about, never one that is sent blind. done reports a final state.
func (ds *Dispatcher) send(ctx context.Context, prov providers.Payouts, po Payout, kind string) (done bool, err error) {
	msg := fmt.Sprintf("sending to %s (attempt %d)", po.Source, po.Attempts+1)
	if po.VendorRequestID != 0 {
		msg = fmt.Sprintf("settling the vendor's order %s at %s (nothing new is booked)", po.OrderID(), po.Source)
	}
	po, ok, err := ds.payouts.record(ctx, po.ID, change{kind: kind, send: true, message: msg}, func(cur Payout) bool {
		return cur.SentAt.Equal(po.SentAt) && cur.Attempts == po.Attempts // nobody sent it meanwhile
	})
	if err != nil || !ok {
		return false, err
	}
	if po.VendorRequestID != 0 {
		// The vendor's payment already waits at the provider under its
		// OrderID: there is nothing to book. The next step asks about it
		// and approves it there while it still waits.
		return false, nil
	}
	var vd time.Time
	if po.ValueDate != "" {
		vd, _ = time.ParseInLocation("2006-01-02", po.ValueDate, time.Local)
	}
	contactRef, err := ds.contactRef(ctx, po)
	if err != nil {
		return false, err
	}
	st, err := prov.InitiatePayout(ctx, providers.Payout{ID: po.ID, AmountPaise: po.AmountPaise, Rail: po.Rail,
		BeneficiaryName: po.BeneficiaryName, BeneficiaryAcct: po.AccountNo, BeneficiaryIFSC: po.IFSC,
		ContactRef: contactRef, Purpose: po.Purpose, ValueDate: vd})
	switch {
	case err == nil:
		po, err = ds.observe(ctx, po, st)
		if err != nil {
			return false, err
		}
		return po.State.Final(), nil
	case errors.Is(err, providers.ErrDuplicate):
		return false, nil // it holds it already: the next step asks about it
	case errors.Is(err, providers.ErrRejected):
		_, _, rerr := ds.payouts.record(ctx, po.ID, change{kind: "failed", state: providers.StateFailed,
			code: st.ProviderCode, message: st.Message, reason: "refused by the provider: " + err.Error()}, nil)
		return true, rerr
	case errors.Is(err, providers.ErrTransient):
		// Refused before executing; the next run asks first anyway.
		return false, fmt.Errorf("send %s: %w", po.ID, err)
	default:
		// ErrOutcomeUnknown, a cancelled call, anything unexpected: it may
		// have gone through. Record it as unknown; the next step asks.
		_, _, rerr := ds.payouts.record(context.WithoutCancel(ctx), po.ID, change{kind: "unknown", state: providers.StateUnknown,
			code: st.ProviderCode, message: err.Error()}, nil)
		if rerr != nil {
			return false, rerr
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, nil
	}
}

// contactRef is PayMate's ContactXpressID for a payout to a synced contact,
// so that PayMate pays the contact it holds (BookPaymentsByXpressID). It is
// used only while PayMate's contact carries exactly the payout's bank
// details (the approved ones, which the sync pushed); otherwise the payout
// is booked with its own account and IFSC, which are what was approved.
func (ds *Dispatcher) contactRef(ctx context.Context, po Payout) (string, error) {
	if po.ContactID == "" || po.Source != SourcePayMate {
		return "", nil
	}
	ct, err := getContact(ctx, ds.db.read, po.ContactID)
	if err != nil {
		return "", err
	}
	if ct.SyncState != SyncSynced || ct.ProviderID == "" || ct.ApprovedAccountNo != po.AccountNo || ct.ApprovedIFSC != po.IFSC {
		return "", nil
	}
	return ct.ProviderID, nil
}

// authorise approves po at the provider (its own maker-checker step). It is
// safe to repeat: approving an approved payout is a no-op at Kotak and a
// 224 (ErrDuplicate) at PayMate, and it is only called after an inquiry said
// the payout still waits.
func (ds *Dispatcher) authorise(ctx context.Context, prov providers.Payouts, po Payout) error {
	err := prov.Authorise(ctx, []string{po.OrderID()}, providers.Approve, "Approved in Paydesk")
	switch {
	case err == nil || errors.Is(err, providers.ErrDuplicate):
		_, _, rerr := ds.payouts.record(ctx, po.ID, change{kind: "authorised", message: "approved at the provider"}, nil)
		return rerr
	case errors.Is(err, providers.ErrInsufficientFunds):
		// The provider keeps it waiting until the account is funded: it is
		// not failed. Recorded once; the job asks and approves again every
		// FundsWaitEvery until the approval goes through or the payout ends.
		_, _, rerr := ds.payouts.record(ctx, po.ID, change{kind: "waiting_funds", fundsWait: true,
			message: fmt.Sprintf("waiting for funds at %s: %v; Paydesk keeps following it and approves it again once the account is funded",
				providerLabel(po.Source), err)}, func(cur Payout) bool { return cur.WaitingForFundsSince.IsZero() })
		if rerr != nil {
			return rerr
		}
		return river.JobSnooze(ds.opts.FundsWaitEvery)
	case errors.Is(err, providers.ErrRejected):
		// The provider refused the approval for good; a person decides.
		// Retry asks first and authorises again if it still waits.
		_, _, rerr := ds.payouts.record(ctx, po.ID, change{kind: "failed", state: providers.StateFailed,
			reason: "the provider refused the approval: " + err.Error()}, nil)
		return rerr
	case errors.Is(err, providers.ErrOutcomeUnknown):
		_, _, rerr := ds.payouts.record(context.WithoutCancel(ctx), po.ID, change{kind: "unknown", message: "approval outcome unknown: " + err.Error()}, nil)
		if rerr != nil {
			return rerr
		}
		return fmt.Errorf("authorise %s: %w", po.ID, err)
	default:
		return fmt.Errorf("authorise %s: %w", po.ID, err)
	}
}

// providerLabel is how people know a payout source.
func providerLabel(source string) string {
	switch source {
	case SourcePayMate:
		return "PayMate"
	case SourceKotakCMS:
		return "Kotak"
	}
	return source
}

// observe records what the provider says about po, when it says something
// new.
func (ds *Dispatcher) observe(ctx context.Context, po Payout, st providers.PayoutStatus) (Payout, error) {
	state := st.State
	if state == "" || state == providers.StateUnknown {
		return po, nil
	}
	if !po.WaitingForFundsSince.IsZero() && state == providers.StateQueued && state == po.State {
		return po, nil // still held for funds, as recorded
	}
	if state == po.State && st.ProviderCode == po.ProviderCode && (st.UTR == "" || st.UTR == po.UTR) {
		return po, nil
	}
	ch := change{kind: "provider_status", state: state, code: st.ProviderCode, message: st.Message, utr: st.UTR}
	if state == providers.StateFailed || state == providers.StateRejected || state == providers.StateReversed || state == providers.StateCancelled {
		ch.reason = fmt.Sprintf("%s %s", st.ProviderCode, st.Message)
	}
	out, _, err := ds.payouts.record(ctx, po.ID, ch, nil)
	return out, err
}
