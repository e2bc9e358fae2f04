// Command paydesk is Paydesk's single binary: the web app (default), and the
// operator subcommands `user add`, `audit verify`, `backup`, `restore` and
// `sandbox`.
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
	"net/netip"
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
	"paydesk/providers/kotakva"
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
	case "backup":
		return backupCommand(args, stdout, stderr)
	case "restore":
		return restoreCommand(args, stdout, stderr)
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
  paydesk backup --to FILE [--db PATH]            copy the database while the app runs
  paydesk restore --from FILE [--db PATH]         put a backup in place (the app must be stopped)
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
	fetchEvery      time.Duration
	dispatchWorkers int
	pageCacheTTL    time.Duration // 0: every page rendered
	trustedProxies  []netip.Prefix
	// requireSecondFactor makes checkers and admins enrol a second factor.
	requireSecondFactor bool
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
		// The most the heap keeps live is 20-24 MB (a sign-in's 19 MiB
		// argon2id block; a 10,000-row CSV or bulk decision): 36 MiB leaves
		// the collector room above that, and the bench's process peaked at
		// 78 MB with it, 88 MB at 48. A burst of parallel hashes may go over
		// it: the limit is soft.
		memoryLimit:     36 << 20,
		dispatchWorkers: db.DefaultDispatchWorkers,
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
	for _, d := range []struct {
		dst  *time.Duration
		name string
		def  time.Duration
	}{
		{&c.idleTimeout, "PAYDESK_IDLE_TIMEOUT", 30 * time.Minute},
		{&c.absoluteTimeout, "PAYDESK_ABSOLUTE_TIMEOUT", 12 * time.Hour},
		{&c.sweepInterval, "PAYDESK_SWEEP_INTERVAL", time.Minute},
		{&c.creditEvery, "PAYDESK_SANDBOX_CREDIT_EVERY", 2 * time.Minute},
		{&c.approvalExpiry, "PAYDESK_APPROVAL_EXPIRY", 7 * 24 * time.Hour},
		{&c.inquiryEvery, "PAYDESK_INQUIRY_EVERY", 3 * time.Second},
		{&c.pollEvery, "PAYDESK_POLL_EVERY", 30 * time.Second},
		{&c.fetchEvery, "PAYDESK_CREDIT_FETCH_EVERY", 2 * time.Second},
	} {
		if *d.dst, err = envDuration(d.name, d.def); err != nil {
			return c, err
		}
	}
	if v := os.Getenv("PAYDESK_PAGE_CACHE"); v != "off" {
		if c.pageCacheTTL, err = envDuration("PAYDESK_PAGE_CACHE", time.Second); err != nil {
			return c, fmt.Errorf("%w (or off)", err)
		}
	}
	if c.dispatchWorkers, err = envPositiveInt("PAYDESK_DISPATCH_WORKERS", c.dispatchWorkers); err != nil {
		return c, err
	}
	if v := os.Getenv("PAYDESK_MEMORY_LIMIT"); v != "" {
		var mib int64
		if _, err := fmt.Sscanf(v, "%d", &mib); err != nil || mib < 0 {
			return c, fmt.Errorf("PAYDESK_MEMORY_LIMIT must be a number of MiB (0 for none), not %q", v)
		}
		c.memoryLimit = mib << 20
	}
	if c.hashConcurrency, err = envPositiveInt("PAYDESK_HASH_CONCURRENCY", c.hashConcurrency); err != nil {
		return c, err
	}
	if err := c.logLevel.UnmarshalText([]byte(envOr("PAYDESK_LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("PAYDESK_LOG_LEVEL: %w", err)
	}
	return c, loadSecurityConfig(&c)
}

// loadSecurityConfig reads what guards sign-in and sessions: trusted
// proxies, the second factor, TLS, cookies and the session key.
func loadSecurityConfig(c *config) error {
	var err error
	if c.trustedProxies, err = parseProxies(os.Getenv("PAYDESK_TRUSTED_PROXIES")); err != nil {
		return err
	}
	switch v := os.Getenv("PAYDESK_REQUIRE_SECOND_FACTOR"); v {
	case "":
		c.requireSecondFactor = c.production()
	case "true", "false":
		c.requireSecondFactor = v == "true"
	default:
		return fmt.Errorf("PAYDESK_REQUIRE_SECOND_FACTOR must be true or false, not %q", v)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("set both PAYDESK_TLS_CERT and PAYDESK_TLS_KEY, or neither")
	}
	c.secureCookies = c.production() || c.tlsCert != "" || os.Getenv("PAYDESK_SECURE_COOKIES") == "true"
	if raw := os.Getenv("PAYDESK_SESSION_KEY"); raw != "" {
		if c.sessionKey, err = decodeKey(raw); err != nil {
			return fmt.Errorf("PAYDESK_SESSION_KEY: %w", err)
		}
	}
	return nil
}

// parseProxies reads PAYDESK_TRUSTED_PROXIES: addresses or CIDR prefixes,
// comma-separated.
func parseProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("PAYDESK_TRUSTED_PROXIES: %q is not an address or a prefix like 10.0.0.0/8", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envPositiveInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 1 {
		return 0, fmt.Errorf("%s must be a positive number, not %q", name, v)
	}
	return n, nil
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

	store, closeStore, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	hasher := db.NewHasher(cfg.hashConcurrency)
	banner, err := prepareUsers(ctx, cfg, store, hasher, stdout, log)
	if err != nil {
		return err
	}

	metrics, err := newMetrics(cfg, log)
	if err != nil {
		return err
	}
	bg := newBackground()
	defer bg.stop()
	reg, err := connectProviders(bg, cfg, log, metrics)
	if err != nil {
		return err
	}
	svc := buildServices(cfg, log, store, reg)
	dispatcher, err := startDispatcher(bg, cfg, log, store, svc, metrics)
	if err != nil {
		return err
	}
	defer stopDispatcher(dispatcher, log)
	for _, w := range svc.workers {
		bg.run(w)
	}

	web, err := newWebServer(cfg, log, store, hasher, banner, svc, operations{dispatcher: dispatcher, metrics: metrics})
	if err != nil {
		return err
	}
	return listenUntilDone(ctx, cfg, handlers.NewApp(web), bg, log)
}

// openDatabase takes the running instance's hold on the database (so that
// a restore cannot replace it underneath) and opens it, migrated.
func openDatabase(ctx context.Context, cfg config) (*db.DB, func(), error) {
	lock, err := db.LockDatabase(cfg.dbPath)
	if err != nil {
		return nil, nil, err
	}
	store, err := db.Open(ctx, cfg.dbPath)
	if err != nil {
		lock.Release()
		return nil, nil, err
	}
	return store, func() {
		store.Close()
		lock.Release()
	}, nil
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

// newMetrics sets up /metrics: on unless PAYDESK_METRICS=off; in
// production only with PAYDESK_METRICS_TOKEN, which scrapers then send as a
// bearer token (anywhere else it is required when set). nil: off.
func newMetrics(cfg config, log *slog.Logger) (*handlers.Metrics, error) {
	token := os.Getenv("PAYDESK_METRICS_TOKEN")
	switch mode := envOr("PAYDESK_METRICS", "on"); {
	case mode == "off":
		return nil, nil
	case mode != "on":
		return nil, fmt.Errorf("PAYDESK_METRICS must be on or off, not %q", mode)
	case token != "" && len(token) < 16:
		return nil, errors.New("PAYDESK_METRICS_TOKEN must be at least 16 characters (generate one with `openssl rand -hex 24`)")
	case token == "" && cfg.production():
		log.Info("/metrics is off: production serves it only with PAYDESK_METRICS_TOKEN set")
		return nil, nil
	}
	return handlers.NewMetrics(token), nil
}

// connectProviders starts the in-process sandboxes outside production and
// builds every provider's client from the environment; with metrics, every
// call to a provider is measured.
func connectProviders(bg *background, cfg config, log *slog.Logger, metrics *handlers.Metrics) (*registry.Registry, error) {
	sandboxRoot := ""
	if !cfg.production() {
		set := sandboxes.New(sandboxes.Options{CreditEvery: cfg.creditEvery, LinkNotifyURL: publicURL(cfg) + "/links/notify"})
		var err error
		if sandboxRoot, err = startSandboxes(bg, set, cfg.sandboxAddr, log); err != nil {
			return nil, err
		}
	}
	opts := registry.Options{SandboxRoot: sandboxRoot, Production: cfg.production(), Getenv: os.Getenv}
	if metrics != nil {
		opts.Transport = func(name string) http.RoundTripper { return metrics.ProviderTransport(name, nil) }
	}
	reg, err := registry.Load(opts)
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
	bankSide        *db.BankSide
	contacts        *db.Contacts
	collections     *db.Collections
	balances        *db.Balances
	gateway         *db.Gateway
	virtualAccounts *db.VirtualAccounts
	links           *db.Links
	// inflows are the channels money is collected through, summed on the
	// balances and home pages.
	inflows   []db.InflowSource
	jobQueues []db.JobQueue
	workers   []func(ctx context.Context)
	// secondFactor: TOTP enrolment, codes and step-up.
	secondFactor *db.SecondFactor
}

// buildServices wires each area to its providers. An area adds its store
// here, its River queue to jobQueues and its loops to workers.
func buildServices(cfg config, log *slog.Logger, store *db.DB, reg *registry.Registry) *services {
	s := &services{approvals: db.NewApprovals(store, cfg.approvalExpiry), payoutProviders: map[string]providers.Payouts{}}
	s.addPayouts(cfg, log, store, reg)
	s.addContactsAndCollections(cfg, log, store, reg)
	s.addBalancesAndGateway(cfg, log, store, reg)
	s.addVirtualAccounts(cfg, log, store, reg)
	s.addLinks(cfg, log, store, reg)
	s.addHousekeeping(cfg, log, store)
	s.addSecondFactor(cfg, store)
	return s
}

// addSecondFactor: TOTP codes at sign-in and before big decisions, the
// secrets sealed under keys derived from the session key; enrolment is
// required of checkers and admins when configured (production's default).
func (s *services) addSecondFactor(cfg config, store *db.DB) {
	store.SecondFactorRequired = cfg.requireSecondFactor
	s.secondFactor = db.NewSecondFactor(store, s.approvals, cfg.sessionKey)
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
	s.bankSide = bank
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
	s.jobQueues = append(s.jobQueues, s.collections.JobQueue(cfg.pollEvery))
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

// addVirtualAccounts: Kotak virtual accounts, changed through approvals
// and River jobs; their credits fetched every few seconds (exactly once) and
// summed with the other inflows; refunds of credits.
func (s *services) addVirtualAccounts(cfg config, log *slog.Logger, store *db.DB, reg *registry.Registry) {
	var prov providers.VirtualAccounts
	if p, ok := reg.Get(kotakva.Name); ok {
		prov, _ = p.(providers.VirtualAccounts)
	}
	prefix := os.Getenv("PAYDESK_KOTAKVA_PREFIX")
	if prefix == "" && !cfg.production() {
		prefix = kotakva.DemoPrefix
	}
	if prefix == "" && prov != nil {
		log.Warn("PAYDESK_KOTAKVA_PREFIX is not set: virtual account numbers will lack the bank's prefix")
	}
	s.virtualAccounts = db.NewVirtualAccounts(store, s.approvals, prov, db.VAOptions{Prefix: prefix, InquiryEvery: cfg.inquiryEvery,
		Logger: log.With("component", "virtual-accounts")})
	s.jobQueues = append(s.jobQueues, s.virtualAccounts.JobQueue())
	s.inflows = append(s.inflows, s.virtualAccounts)
	s.workers = append(s.workers, func(ctx context.Context) { s.virtualAccounts.Run(ctx, cfg.fetchEvery) })
	for _, e := range reg.Entries() {
		if e.Provider.Name() == kotakva.Name && e.Sandbox && !cfg.production() {
			// The in-memory bank learns again the accounts Paydesk holds
			// open, so its scheduled credits land on them after a restart.
			control := strings.TrimSuffix(e.BaseURL, "/"+kotakva.Name) + "/_sandbox/" + kotakva.Name
			s.workers = append(s.workers, func(ctx context.Context) { restoreSandboxAccounts(ctx, control, s.virtualAccounts, log) })
		}
	}
}

// restoreSandboxAccounts tells the Kotak VA sandbox about the accounts
// Paydesk holds open (at most 10,000).
func restoreSandboxAccounts(ctx context.Context, control string, v *db.VirtualAccounts, log *slog.Logger) {
	var accts []kotakva.PortalAccount
	for _, st := range []db.VAState{db.VAActive, db.VAClosing} {
		_ = v.Each(ctx, db.VAFilter{State: st}, func(a db.VirtualAccount) error {
			if len(accts) == 10_000 {
				return io.EOF
			}
			accts = append(accts, kotakva.PortalAccount{Suffix: a.Suffix, Name: a.Name, Purpose: a.Purpose})
			return nil
		})
	}
	if err := kotakva.RestoreAccounts(ctx, control, accts); err != nil {
		log.Warn("sandbox accounts", "err", err)
	}
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
// swept; requests nobody decided in time expire; ended requests' rows
// leave the queue's lists and its search index.
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
		}),
		every(cfg.sweepInterval, log, "dropping ended requests' rows", func(ctx context.Context) error {
			_, err := s.approvals.DropEnded(ctx)
			return err
		}))
}

// startDispatcher starts River: payouts and every area's queue on one
// client, each job run measured when metrics are on.
func startDispatcher(bg *background, cfg config, log *slog.Logger, store *db.DB, svc *services, metrics *handlers.Metrics) (*db.Dispatcher, error) {
	opts := db.DispatchOptions{
		Workers: cfg.dispatchWorkers, PollInterval: 250 * time.Millisecond,
		InquiryEvery: cfg.inquiryEvery, Logger: log.With("component", "dispatch"), Jobs: svc.jobQueues,
		Node: os.Getenv("PAYDESK_NODE"),
	}
	if metrics != nil {
		opts.JobDone = metrics.JobDone
	}
	dispatcher, err := db.NewDispatcher(store, svc.payouts, svc.payoutProviders, opts)
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

// operations is what the operator-facing routes watch: /readyz the
// dispatcher, /metrics (nil: off) the state figures.
type operations struct {
	dispatcher *db.Dispatcher
	metrics    *handlers.Metrics
}

// newWebServer gives the handlers what they use.
func newWebServer(cfg config, log *slog.Logger, store *db.DB, hasher *db.Hasher, banner string, svc *services, ops operations) (*handlers.Server, error) {
	assets, err := static.Load()
	if err != nil {
		return nil, err
	}
	if ops.metrics != nil {
		ops.metrics.Figures = func(ctx context.Context) (db.OpsFigures, error) {
			return store.OpsFigures(ctx, svc.approvals.KindNames())
		}
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
		Config: handlers.Config{Production: cfg.production(), TLS: cfg.tlsCert != "", Banner: banner,
			TrustedProxies: cfg.trustedProxies},
		Pages: newPageCache(cfg.pageCacheTTL),

		Collections: svc.collections,
		Balances:    svc.balances,
		Inflows:     svc.inflows,
		Gateway:     svc.gateway,
		BankSide:    svc.bankSide,
		Recovery:    ops.dispatcher,

		Dispatcher: ops.dispatcher,
		Metrics:    ops.metrics,

		SecondFactor: svc.secondFactor,

		VirtualAccounts: svc.virtualAccounts,
		Links:           svc.links,
	}, nil
}

// newPageCache keeps up to 8 MiB of compressed pages; nil when off.
func newPageCache(ttl time.Duration) *handlers.PageCache {
	if ttl <= 0 {
		return nil
	}
	return handlers.NewPageCache(ttl, 8<<20)
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

// backupCommand copies the database while the app may be running on it.
func backupCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "the backup file to write (must not exist)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if *to == "" {
		return errors.New("usage: paydesk backup --to FILE [--db PATH]")
	}
	res, err := db.Backup(context.Background(), cfg.dbPath, *to)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes, taken %s)\n", cfg.dbPath, res.Path, res.Bytes, res.TakenAt.UTC().Format(time.RFC3339))
	return nil
}

// restoreCommand puts a backup in place of the database; it refuses while
// an instance runs on it.
func restoreCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the backup file to restore")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if *from == "" {
		return errors.New("usage: paydesk restore --from FILE [--db PATH]")
	}
	res, err := db.Restore(context.Background(), *from, cfg.dbPath)
	if errors.Is(err, db.ErrLocked) {
		return fmt.Errorf("refusing to restore: %w; stop it first", err)
	}
	if err != nil {
		return err
	}
	if res.SetAside != "" {
		fmt.Fprintf(stdout, "the database it replaced is kept as %s\n", res.SetAside)
	}
	fmt.Fprintf(stdout, "restored %s from %s; %d payouts not final will be checked at the bank before anything is sent\n",
		cfg.dbPath, *from, res.Marked)
	return nil
}
