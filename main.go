// Command paydesk is Paydesk's single binary: the web app (default), and the
// operator subcommands `user add`, `audit verify` and `sandbox`.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"

	"paydesk/db"
	"paydesk/handlers"
	"paydesk/providers"
	"paydesk/providers/registry"
	"paydesk/providers/sandboxes"
	"paydesk/static"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "paydesk:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stdout, stderr)
	case "user":
		if len(args) == 0 || args[0] != "add" {
			return errors.New("usage: paydesk user add --username NAME --name 'Full Name' --role admin [--role …] (password on stdin)")
		}
		return userAdd(args[1:], stdin, stdout, stderr)
	case "audit":
		if len(args) == 0 || args[0] != "verify" {
			return errors.New("usage: paydesk audit verify [--db PATH]")
		}
		return auditVerify(args[1:], stdout, stderr)
	case "sandbox":
		return sandboxServe(args, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage:
  paydesk [serve] [--addr HOST:PORT] [--db PATH]   run the web app
  paydesk user add --username NAME --name 'Full Name' --role ROLE [--role ROLE]
                                                  create a user (password read from stdin)
  paydesk audit verify [--db PATH]                check the audit log's hash chain
  paydesk sandbox [--addr HOST:PORT]              run the five provider sandboxes standalone`

// config is everything Paydesk reads from its environment. See README.md.
type config struct {
	env             string // "sandbox" or "production"
	addr            string
	dbPath          string
	sessionKey      []byte
	idleTimeout     time.Duration
	absoluteTimeout time.Duration
	tlsCert         string
	tlsKey          string
	secureCookies   bool
	hashConcurrency int
	memoryLimit     int64 // bytes; 0: none
	sweepInterval   time.Duration
	logLevel        slog.Level
	logJSON         bool
	sandboxAddr     string
	creditEvery     time.Duration
	approvalExpiry  time.Duration
	inquiryEvery    time.Duration
	pollEvery       time.Duration
	dispatchWorkers int
}

func (c config) production() bool { return c.env == "production" }

func loadConfig(fs *flag.FlagSet, args []string) (config, error) {
	c := config{
		env:         envOr("PAYDESK_ENV", "sandbox"),
		addr:        envOr("PAYDESK_ADDR", "localhost:8080"),
		dbPath:      envOr("PAYDESK_DB", filepath.Join("data", "paydesk.db")),
		tlsCert:     os.Getenv("PAYDESK_TLS_CERT"),
		tlsKey:      os.Getenv("PAYDESK_TLS_KEY"),
		logJSON:     os.Getenv("PAYDESK_LOG_FORMAT") == "json",
		sandboxAddr: envOr("PAYDESK_SANDBOX_ADDR", "127.0.0.1:0"),
		// argon2id is CPU work: one hash per core at a time, two at least.
		hashConcurrency: min(4, max(2, runtime.GOMAXPROCS(0))),
		memoryLimit:     48 << 20,
		dispatchWorkers: 32,
	}
	fs.StringVar(&c.addr, "addr", c.addr, "listen address (PAYDESK_ADDR)")
	fs.StringVar(&c.dbPath, "db", c.dbPath, "SQLite database file (PAYDESK_DB)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.env != "sandbox" && c.env != "production" {
		return c, fmt.Errorf("PAYDESK_ENV must be sandbox or production, not %q", c.env)
	}
	var err error
	if c.idleTimeout, err = envDuration("PAYDESK_IDLE_TIMEOUT", 30*time.Minute); err != nil {
		return c, err
	}
	if c.absoluteTimeout, err = envDuration("PAYDESK_ABSOLUTE_TIMEOUT", 12*time.Hour); err != nil {
		return c, err
	}
	if c.sweepInterval, err = envDuration("PAYDESK_SWEEP_INTERVAL", time.Minute); err != nil {
		return c, err
	}
	if c.creditEvery, err = envDuration("PAYDESK_SANDBOX_CREDIT_EVERY", 2*time.Minute); err != nil {
		return c, err
	}
	if c.approvalExpiry, err = envDuration("PAYDESK_APPROVAL_EXPIRY", 7*24*time.Hour); err != nil {
		return c, err
	}
	if c.inquiryEvery, err = envDuration("PAYDESK_INQUIRY_EVERY", 3*time.Second); err != nil {
		return c, err
	}
	if c.pollEvery, err = envDuration("PAYDESK_POLL_EVERY", 30*time.Second); err != nil {
		return c, err
	}
	if v := os.Getenv("PAYDESK_DISPATCH_WORKERS"); v != "" {
		if _, err := fmt.Sscanf(v, "%d", &c.dispatchWorkers); err != nil || c.dispatchWorkers < 1 {
			return c, fmt.Errorf("PAYDESK_DISPATCH_WORKERS must be a positive number, not %q", v)
		}
	}
	if v := os.Getenv("PAYDESK_MEMORY_LIMIT"); v != "" {
		var mib int64
		if _, err := fmt.Sscanf(v, "%d", &mib); err != nil || mib < 0 {
			return c, fmt.Errorf("PAYDESK_MEMORY_LIMIT must be a number of MiB (0 for none), not %q", v)
		}
		c.memoryLimit = mib << 20
	}
	if v := os.Getenv("PAYDESK_HASH_CONCURRENCY"); v != "" {
		if _, err := fmt.Sscanf(v, "%d", &c.hashConcurrency); err != nil || c.hashConcurrency < 1 {
			return c, fmt.Errorf("PAYDESK_HASH_CONCURRENCY must be a positive number, not %q", v)
		}
	}
	if err := c.logLevel.UnmarshalText([]byte(envOr("PAYDESK_LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("PAYDESK_LOG_LEVEL: %w", err)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, errors.New("set both PAYDESK_TLS_CERT and PAYDESK_TLS_KEY, or neither")
	}
	c.secureCookies = c.production() || c.tlsCert != "" || os.Getenv("PAYDESK_SECURE_COOKIES") == "true"
	if raw := os.Getenv("PAYDESK_SESSION_KEY"); raw != "" {
		if c.sessionKey, err = decodeKey(raw); err != nil {
			return c, fmt.Errorf("PAYDESK_SESSION_KEY: %w", err)
		}
	}
	return c, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration like 30m, not %q", name, v)
	}
	return d, nil
}

// decodeKey accepts hex or base64 and insists on at least 32 bytes that are
// not all alike.
func decodeKey(raw string) ([]byte, error) {
	key, err := hex.DecodeString(raw)
	if err != nil {
		if key, err = base64.StdEncoding.DecodeString(raw); err != nil {
			return nil, errors.New("must be hex or base64")
		}
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("must be at least 32 bytes, got %d", len(key))
	}
	same := true
	for _, b := range key {
		same = same && b == key[0]
	}
	if same || isKnownDemoKey(raw) {
		return nil, errors.New("is a placeholder, not a secret: generate one with `openssl rand -hex 32`")
	}
	return key, nil
}

// isKnownDemoKey refuses the example keys that documentation shows.
func isKnownDemoKey(raw string) bool {
	switch strings.ToLower(raw) {
	case "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef":
		return true
	}
	return false
}

// sandboxSessionKey keeps a generated key next to the database, so sandbox
// sessions survive a restart without anyone configuring a secret.
func sandboxSessionKey(dbPath string) ([]byte, error) {
	path := filepath.Join(filepath.Dir(dbPath), "session.key")
	if b, err := os.ReadFile(path); err == nil {
		return hex.DecodeString(strings.TrimSpace(string(b)))
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600)
}

// demoUsers are seeded in sandbox mode only. Their passwords are published in
// README.md, which is exactly why production refuses to start with them.
var demoUsers = []db.NewUser{
	{Username: "admin", DisplayName: "Asha Admin", Password: "ledger-lotus-4821", Roles: []db.Role{db.RoleAdmin}},
	{Username: "maker", DisplayName: "Manoj Maker", Password: "rupee-harbor-7305", Roles: []db.Role{db.RoleMaker}},
	{Username: "checker", DisplayName: "Chitra Checker", Password: "audit-monsoon-6194", Roles: []db.Role{db.RoleChecker}},
	{Username: "checker2", DisplayName: "Kiran Checker", Password: "second-signal-2758", Roles: []db.Role{db.RoleChecker}},
}

func newLogger(c config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the web app. Each step is one function below: configuration,
// database, providers, the domain's services, the dispatcher, background
// workers, the web server and shutdown. A new provider area or background
// worker is added in buildServices only.
func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if cfg.memoryLimit > 0 {
		// A soft limit: the collector works harder near it and returns
		// memory to the system, so the process stays small after a burst.
		debug.SetMemoryLimit(cfg.memoryLimit)
	}
	if err := resolveSessionKey(&cfg); err != nil {
		return err
	}

	store, err := db.Open(ctx, cfg.dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	hasher := db.NewHasher(cfg.hashConcurrency)
	banner, err := prepareUsers(ctx, cfg, store, hasher, stdout, log)
	if err != nil {
		return err
	}

	bg := newBackground()
	defer bg.stop()
	reg, err := connectProviders(bg, cfg, log)
	if err != nil {
		return err
	}
	svc := buildServices(cfg, log, store, reg)
	dispatcher, err := startDispatcher(bg, cfg, log, store, svc)
	if err != nil {
		return err
	}
	defer stopDispatcher(dispatcher, log)
	for _, w := range svc.workers {
		bg.run(w)
	}

	web, err := newWebServer(cfg, log, store, hasher, banner, svc)
	if err != nil {
		return err
	}
	return listenUntilDone(ctx, cfg, handlers.NewApp(web), bg, log)
}

// resolveSessionKey insists on a configured key in production and keeps a
// generated one beside the database in sandbox mode.
func resolveSessionKey(cfg *config) error {
	if cfg.sessionKey != nil {
		return nil
	}
	if cfg.production() {
		return errors.New("production mode needs PAYDESK_SESSION_KEY (generate one with `openssl rand -hex 32`)")
	}
	key, err := sandboxSessionKey(cfg.dbPath)
	if err != nil {
		return fmt.Errorf("session key: %w", err)
	}
	cfg.sessionKey = key
	return nil
}

// prepareUsers refuses demo users in production and seeds them in sandbox
// mode; it returns the banner every page shows.
func prepareUsers(ctx context.Context, cfg config, store *db.DB, hasher *db.Hasher, stdout io.Writer, log *slog.Logger) (string, error) {
	if !cfg.production() {
		return "Sandbox mode: providers are simulated and no real money moves.", seedDemoUsers(ctx, store, hasher, stdout)
	}
	if err := refuseDemoUsers(ctx, store, hasher); err != nil {
		return "", err
	}
	if n, err := store.CountUsers(ctx); err == nil && n == 0 {
		log.Warn("no users yet: create the first admin with `paydesk user add --role admin …`")
	}
	return "", nil
}

// background runs work until stop, which waits for all of it: sandboxes,
// polling loops and sweeps end before the database closes.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBackground() *background {
	ctx, cancel := context.WithCancel(context.Background())
	return &background{ctx: ctx, cancel: cancel}
}

func (b *background) run(work func(ctx context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		work(b.ctx)
	}()
}

func (b *background) stop() {
	b.cancel()
	b.wg.Wait()
}

// connectProviders starts the in-process sandboxes outside production and
// builds every provider's client from the environment.
func connectProviders(bg *background, cfg config, log *slog.Logger) (*registry.Registry, error) {
	sandboxRoot := ""
	if !cfg.production() {
		set := sandboxes.New(sandboxes.Options{CreditEvery: cfg.creditEvery, LinkNotifyURL: publicURL(cfg) + "/links/notify"})
		var err error
		if sandboxRoot, err = startSandboxes(bg, set, cfg.sandboxAddr, log); err != nil {
			return nil, err
		}
	}
	reg, err := registry.Load(registry.Options{SandboxRoot: sandboxRoot, Production: cfg.production(), Getenv: os.Getenv})
	if err != nil {
		return nil, fmt.Errorf("providers: %w", err)
	}
	for _, e := range reg.Entries() {
		log.Info("provider", "name", e.Provider.Name(), "url", e.BaseURL, "sandbox", e.Sandbox,
			"capabilities", providers.Capabilities(e.Provider))
	}
	return reg, nil
}

// services is Paydesk's domain over the configured providers: the stores
// the handlers use, the River queues the dispatcher runs beside payouts,
// and the background workers.
type services struct {
	approvals       *db.Approvals
	payouts         *db.Payouts
	payoutProviders map[string]providers.Payouts
	contacts        *db.Contacts
	collections     *db.Collections
	balances        *db.Balances
	gateway         *db.Gateway
	links           *db.Links
	// inflows are the channels money is collected through, summed on the
	// balances and home pages.
	inflows   []db.InflowSource
	jobQueues []db.JobQueue
	workers   []func(ctx context.Context)
}

// buildServices wires each area to its providers. An area adds its store
// here, its River queue to jobQueues and its loops to workers.
func buildServices(cfg config, log *slog.Logger, store *db.DB, reg *registry.Registry) *services {
	s := &services{approvals: db.NewApprovals(store, cfg.approvalExpiry), payoutProviders: map[string]providers.Payouts{}}
	s.addPayouts(cfg, log, store, reg)
	s.addContactsAndCollections(cfg, log, store, reg)
	s.addBalancesAndGateway(cfg, log, store, reg)
	s.addLinks(cfg, log, store, reg)
	s.addHousekeeping(cfg, log, store)
	return s
}

// every runs round at each interval, logging its failures, as a worker.
func every(interval time.Duration, log *slog.Logger, what string, round func(ctx context.Context) error) func(ctx context.Context) {
	return func(ctx context.Context) {
		db.RunEvery(ctx, interval, nil, log, what, func(ctx context.Context, _ bool) error { return round(ctx) })
	}
}

// addPayouts: payouts and their providers, bank-side items (payouts made
// on a bank's own portal) and the providers' balances.
func (s *services) addPayouts(cfg config, log *slog.Logger, store *db.DB, reg *registry.Registry) {
	s.payouts = db.NewPayouts(store, s.approvals)
	for _, name := range []string{db.SourceKotakCMS, db.SourcePayMate} {
		if p, ok := reg.Payouts(name); ok {
			s.payoutProviders[name] = p
		}
	}
	bank := db.NewBankSide(store, s.approvals, s.payoutProviders)
	bank.Logger = log.With("component", "bankside")
	balanceProviders := map[string]providers.Balances{}
	for _, e := range reg.Entries() {
		if b, ok := e.Provider.(providers.Balances); ok {
			balanceProviders[e.Provider.Name()] = b
		}
	}
	watcher := db.NewBalanceWatcher(store, balanceProviders)
	watcher.Logger = log.With("component", "balances")
	s.workers = append(s.workers,
		func(ctx context.Context) { bank.Run(ctx, cfg.pollEvery) },
		func(ctx context.Context) { watcher.Run(ctx, cfg.pollEvery) })
}

// addContactsAndCollections: contacts and requests for payment live at
// PayMate. Without it, contacts are kept here only, and requests are made
// and wait, queued (the pages say so).
func (s *services) addContactsAndCollections(cfg config, log *slog.Logger, store *db.DB, reg *registry.Registry) {
	s.contacts = db.NewContacts(store, s.approvals)
	payMate, _ := reg.Get(db.SourcePayMate)
	if pc, ok := payMate.(providers.Contacts); ok {
		contactSync := db.NewContactSync(store, s.contacts, pc)
		contactSync.Logger = log.With("component", "contact-sync")
		s.workers = append(s.workers, func(ctx context.Context) { contactSync.Run(ctx, cfg.pollEvery) })
	}
	collectionsProvider, _ := payMate.(providers.Collections)
	s.collections = db.NewCollections(store, collectionsProvider)
	s.collections.Logger = log.With("component", "collections")
	s.workers = append(s.workers, func(ctx context.Context) { s.collections.Run(ctx, cfg.pollEvery) })
}

// addBalancesAndGateway: every debit account with its history,
// reservations and threshold; KS Pay (card/UPI) transactions, initiated
// and processed by River jobs and followed by a paged sync.
func (s *services) addBalancesAndGateway(cfg config, log *slog.Logger, store *db.DB, reg *registry.Registry) {
	var specs []db.AccountSpec
	for _, name := range []string{db.SourcePayMate, db.SourceKotakCMS} {
		if _, ok := reg.Payouts(name); ok {
			p, _ := reg.Get(name)
			_, hasBalance := p.(providers.Balances)
			specs = append(specs, db.AccountSpec{Source: name, HasBalance: hasBalance})
		}
	}
	s.balances = db.NewBalances(store, s.approvals, specs)
	var gatewayProvider providers.Gateway
	if p, ok := reg.Get("kspay"); ok {
		gatewayProvider, _ = p.(providers.Gateway)
	}
	s.gateway = db.NewGateway(store, gatewayProvider, db.GatewayOptions{RedirectURL: publicURL(cfg) + "/gateway/return",
		Logger: log.With("component", "gateway")})
	s.jobQueues = append(s.jobQueues, s.gateway.JobQueue())
	s.inflows = append(s.inflows, s.gateway)
	s.workers = append(s.workers, func(ctx context.Context) { s.gateway.Run(ctx, cfg.pollEvery) })
}

// addLinks: invoice templates and payment links at NTT DATA, created,
// resent and cancelled by River jobs; the templates are read every hour,
// overdue links expire, and the provider's notifications arrive at
// /links/notify (publicURL, which the sandbox is given in connectProviders).
func (s *services) addLinks(cfg config, log *slog.Logger, store *db.DB, reg *registry.Registry) {
	var prov providers.PaymentLinks
	if p, ok := reg.Get("linkpay"); ok {
		prov, _ = p.(providers.PaymentLinks)
	}
	s.links = db.NewLinks(store, s.approvals, prov, db.LinksOptions{Logger: log.With("component", "links")})
	s.jobQueues = append(s.jobQueues, s.links.JobQueue())
	s.inflows = append(s.inflows, s.links)
	s.workers = append(s.workers, func(ctx context.Context) { s.links.Run(ctx, cfg.pollEvery) })
}

// publicURL is where the providers reach Paydesk (PAYDESK_PUBLIC_URL).
func publicURL(cfg config) string {
	return strings.TrimSuffix(envOr("PAYDESK_PUBLIC_URL", "http://"+cfg.addr), "/")
}

// addHousekeeping: expired sessions, old sign-in failures and locks are
// swept; requests nobody decided in time expire.
func (s *services) addHousekeeping(cfg config, log *slog.Logger, store *db.DB) {
	s.workers = append(s.workers,
		every(cfg.sweepInterval, log, "sweep failed", func(ctx context.Context) error {
			r, err := store.Sweep(ctx, cfg.idleTimeout)
			if err == nil && r != (db.SweepResult{}) {
				log.Info("swept", "sessions", r.Sessions, "failures", r.Failures, "unlocked", r.Unlocked)
			}
			return err
		}),
		every(cfg.sweepInterval, log, "expiring approvals", func(ctx context.Context) error {
			n, err := s.approvals.ExpireDue(ctx)
			if n > 0 {
				log.Info("approvals expired", "count", n)
			}
			return err
		}))
}

// startDispatcher starts River: payouts and every area's queue on one client.
func startDispatcher(bg *background, cfg config, log *slog.Logger, store *db.DB, svc *services) (*db.Dispatcher, error) {
	dispatcher, err := db.NewDispatcher(store, svc.payouts, svc.payoutProviders, db.DispatchOptions{
		Workers: cfg.dispatchWorkers, PollInterval: 250 * time.Millisecond,
		InquiryEvery: cfg.inquiryEvery, Logger: log.With("component", "dispatch"), Jobs: svc.jobQueues,
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	if err := dispatcher.Start(bg.ctx); err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	return dispatcher, nil
}

// stopDispatcher lets running jobs finish for up to 30 s.
func stopDispatcher(d *db.Dispatcher, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		log.Error("dispatch stop", "err", err)
	}
}

// newWebServer gives the handlers what they use.
func newWebServer(cfg config, log *slog.Logger, store *db.DB, hasher *db.Hasher, banner string, svc *services) (*handlers.Server, error) {
	assets, err := static.Load()
	if err != nil {
		return nil, err
	}
	return &handlers.Server{
		DB:        store,
		Approvals: svc.approvals,
		Payouts:   svc.payouts,
		Contacts:  svc.contacts,
		Hasher:    hasher,
		Sessions: handlers.NewSessionStore(store, handlers.SessionOptions{
			HashKey: cfg.sessionKey, Secure: cfg.secureCookies, Idle: cfg.idleTimeout, Absolute: cfg.absoluteTimeout,
		}),
		Assets: assets,
		Log:    log,
		Config: handlers.Config{Production: cfg.production(), TLS: cfg.tlsCert != "", Banner: banner},

		Collections: svc.collections,
		Balances:    svc.balances,
		Inflows:     svc.inflows,
		Gateway:     svc.gateway,
		Links:       svc.links,
	}, nil
}

// listenUntilDone serves until the listener fails or a signal arrives;
// then it finishes in-flight requests and stops background work.
func listenUntilDone(ctx context.Context, cfg config, app *fiber.App, bg *background, log *slog.Logger) error {
	listenErr := make(chan error, 1)
	go func() {
		log.Info("paydesk listening", "addr", cfg.addr, "env", cfg.env, "db", cfg.dbPath, "tls", cfg.tlsCert != "")
		if cfg.tlsCert != "" {
			listenErr <- app.ListenTLS(cfg.addr, cfg.tlsCert, cfg.tlsKey)
		} else {
			listenErr <- app.Listen(cfg.addr)
		}
	}()
	select {
	case err := <-listenErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	if err := app.ShutdownWithTimeout(30 * time.Second); err != nil {
		log.Error("shutdown", "err", err)
	}
	bg.stop()
	log.Info("stopped")
	return nil
}

// startSandboxes serves the sandbox set on addr over real HTTP, so clients
// speak the same wire as to live providers, until bg stops.
func startSandboxes(bg *background, set *sandboxes.Set, addr string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sandboxes: %w", err)
	}
	hs := &http.Server{Handler: set.Handler(), ReadHeaderTimeout: 10 * time.Second}
	bg.run(func(context.Context) {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("sandboxes stopped", "err", err)
		}
	})
	bg.run(func(ctx context.Context) {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdownCtx)
	})
	root := "http://" + ln.Addr().String()
	log.Info("provider sandboxes running", "url", root, "control", root+"/_sandbox/")
	return root, nil
}

func sandboxServe(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("PAYDESK_SANDBOX_ADDR", "localhost:9090"), "listen address")
	seed := fs.Uint64("seed", 1, "seed for generated data")
	creditEvery := fs.Duration("credit-every", 2*time.Minute, "a customer pays into a virtual account this often (0: on demand only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	bg := newBackground()
	defer bg.stop()
	if _, err := startSandboxes(bg, sandboxes.New(sandboxes.Options{Seed: *seed, CreditEvery: *creditEvery}), *addr, log); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// seedDemoUsers creates the demo sign-ins on an empty database and prints
// them once; later starts find users and print nothing.
func seedDemoUsers(ctx context.Context, store *db.DB, h *db.Hasher, out io.Writer) error {
	n, err := store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	fmt.Fprintln(out, "Demo sign-ins (sandbox only; printed once):")
	for _, u := range demoUsers {
		if _, err := store.CreateUser(ctx, h, db.SystemActor, u); err != nil {
			return fmt.Errorf("seed %s: %w", u.Username, err)
		}
		fmt.Fprintf(out, "  %-9s %-22s roles: %v\n", u.Username, u.Password, u.Roles)
	}
	return nil
}

// refuseDemoUsers stops production from running with a published password.
func refuseDemoUsers(ctx context.Context, store *db.DB, h *db.Hasher) error {
	for _, demo := range demoUsers {
		match, err := store.PasswordMatches(ctx, h, demo.Username, demo.Password)
		if err != nil {
			return err
		}
		if match {
			return fmt.Errorf("production mode refuses to start: demo user %q still has its published password; reset it (paydesk user add creates a real admin)", demo.Username)
		}
	}
	return nil
}

// stringList collects a repeated flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func userAdd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", "login name")
	name := fs.String("name", "", "full name")
	var roles stringList
	fs.Var(&roles, "role", "role: maker, checker or admin (repeatable)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	ctx := context.Background()
	store, err := db.Open(ctx, cfg.dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprint(stderr, "Password (12+ characters), then Enter: ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("reading password: %w", err)
	}
	in := db.NewUser{Username: *username, DisplayName: *name, Password: strings.TrimRight(line, "\r\n")}
	if in.DisplayName == "" {
		in.DisplayName = in.Username
	}
	for _, r := range roles {
		in.Roles = append(in.Roles, db.Role(r))
	}
	u, err := store.CreateUser(ctx, db.NewHasher(1), db.Actor{Username: "cli"}, in)
	if err != nil {
		if fields := db.FieldErrors(err); fields != nil {
			for k, v := range fields {
				fmt.Fprintf(stderr, "  %s: %s\n", k, v)
			}
		}
		return err
	}
	fmt.Fprintf(stdout, "created user %s with roles %v\n", u.Username, u.Roles)
	return nil
}

func auditVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	ctx := context.Background()
	store, err := db.Open(ctx, cfg.dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit chain ok: %d rows verified\n", n)
	return nil
}
