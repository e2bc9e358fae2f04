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

	if cfg.production() && cfg.sessionKey == nil {
		return errors.New("production mode needs PAYDESK_SESSION_KEY (generate one with `openssl rand -hex 32`)")
	}
	if cfg.sessionKey == nil {
		if cfg.sessionKey, err = sandboxSessionKey(cfg.dbPath); err != nil {
			return fmt.Errorf("session key: %w", err)
		}
	}

	store, err := db.Open(ctx, cfg.dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	hasher := db.NewHasher(cfg.hashConcurrency)

	banner := ""
	if cfg.production() {
		if err := refuseDemoUsers(ctx, store, hasher); err != nil {
			return err
		}
		if n, err := store.CountUsers(ctx); err == nil && n == 0 {
			log.Warn("no users yet: create the first admin with `paydesk user add --role admin …`")
		}
	} else {
		banner = "Sandbox mode: providers are simulated and no real money moves."
		if err := seedDemoUsers(ctx, store, hasher, stdout); err != nil {
			return err
		}
	}

	sandboxRoot := ""
	var background sync.WaitGroup
	bgCtx, stopBackground := context.WithCancel(context.Background())
	defer func() {
		stopBackground()
		background.Wait()
	}()
	if !cfg.production() {
		set := sandboxes.New(sandboxes.Options{CreditEvery: cfg.creditEvery})
		if sandboxRoot, err = startSandboxes(bgCtx, &background, set, cfg.sandboxAddr, log); err != nil {
			return err
		}
	}
	reg, err := registry.Load(registry.Options{SandboxRoot: sandboxRoot, Production: cfg.production(), Getenv: os.Getenv})
	if err != nil {
		return fmt.Errorf("providers: %w", err)
	}
	for _, e := range reg.Entries() {
		log.Info("provider", "name", e.Provider.Name(), "url", e.BaseURL, "sandbox", e.Sandbox,
			"capabilities", providers.Capabilities(e.Provider))
	}

	assets, err := static.Load()
	if err != nil {
		return err
	}
	approvals := db.NewApprovals(store, cfg.approvalExpiry)
	payouts := db.NewPayouts(store, approvals)
	payoutProviders := map[string]providers.Payouts{}
	for _, name := range []string{db.SourceKotakCMS, db.SourcePayMate} {
		if p, ok := reg.Payouts(name); ok {
			payoutProviders[name] = p
		}
	}
	// Other areas' River queues, run on the dispatcher's client.
	var jobQueues []db.JobQueue

	// Balances and KS Pay collections: every debit account with its
	// history, reservations and threshold; KS Pay (card/UPI) transactions,
	// initiated and processed by River jobs, followed by a paged sync.
	var balanceSpecs []db.AccountSpec
	for _, name := range []string{db.SourcePayMate, db.SourceKotakCMS} {
		if _, ok := reg.Payouts(name); ok {
			p, _ := reg.Get(name)
			_, hasBalance := p.(providers.Balances)
			balanceSpecs = append(balanceSpecs, db.AccountSpec{Source: name, HasBalance: hasBalance})
		}
	}
	balanceAccounts := db.NewBalances(store, approvals, balanceSpecs)
	var gatewayProvider providers.Gateway
	if p, ok := reg.Get("kspay"); ok {
		gatewayProvider, _ = p.(providers.Gateway)
	}
	publicURL := strings.TrimSuffix(envOr("PAYDESK_PUBLIC_URL", "http://"+cfg.addr), "/")
	gateway := db.NewGateway(store, gatewayProvider, db.GatewayOptions{RedirectURL: publicURL + "/gateway/return",
		Logger: log.With("component", "gateway")})
	jobQueues = append(jobQueues, gateway.JobQueue())
	// Money collected, summed on the balances page: KS Pay here; virtual
	// account credits and paid links implement db.InflowSource too.
	inflowSources := []db.InflowSource{gateway}

	dispatcher, err := db.NewDispatcher(store, payouts, payoutProviders, db.DispatchOptions{
		Workers: cfg.dispatchWorkers, PollInterval: 250 * time.Millisecond,
		InquiryEvery: cfg.inquiryEvery, Logger: log.With("component", "dispatch"), Jobs: jobQueues,
	})
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	if err := dispatcher.Start(bgCtx); err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dispatcher.Stop(stopCtx); err != nil {
			log.Error("dispatch stop", "err", err)
		}
	}()
	bank := db.NewBankSide(store, approvals, payoutProviders)
	bank.Logger = log.With("component", "bankside")
	balanceProviders := map[string]providers.Balances{}
	for _, e := range reg.Entries() {
		if b, ok := e.Provider.(providers.Balances); ok {
			balanceProviders[e.Provider.Name()] = b
		}
	}
	// inBackground runs work until bgCtx ends; shutdown waits for it.
	inBackground := func(work func(ctx context.Context)) {
		background.Add(1)
		go func() {
			defer background.Done()
			work(bgCtx)
		}()
	}
	balances := db.NewBalanceWatcher(store, balanceProviders)
	balances.Logger = log.With("component", "balances")
	contacts := db.NewContacts(store, approvals)
	// Contacts and requests for payment live at PayMate. Without it,
	// contacts are kept here only, and requests are made and wait, queued
	// (the pages say so).
	payMate, _ := reg.Get(db.SourcePayMate)
	if pc, ok := payMate.(providers.Contacts); ok {
		contactSync := db.NewContactSync(store, contacts, pc)
		contactSync.Logger = log.With("component", "contact-sync")
		inBackground(func(ctx context.Context) { contactSync.Run(ctx, cfg.pollEvery) })
	}
	collectionsProvider, _ := payMate.(providers.Collections)
	collections := db.NewCollections(store, collectionsProvider)
	collections.Logger = log.With("component", "collections")
	inBackground(func(ctx context.Context) { collections.Run(ctx, cfg.pollEvery) })
	inBackground(func(ctx context.Context) { bank.Run(ctx, cfg.pollEvery) })
	inBackground(func(ctx context.Context) { balances.Run(ctx, cfg.pollEvery) })
	inBackground(func(ctx context.Context) { gateway.Run(ctx, cfg.pollEvery) })

	srv := &handlers.Server{
		DB:        store,
		Approvals: approvals,
		Payouts:   payouts,
		Contacts:  contacts,
		Hasher:    hasher,
		Sessions: handlers.NewSessionStore(store, handlers.SessionOptions{
			HashKey: cfg.sessionKey, Secure: cfg.secureCookies, Idle: cfg.idleTimeout, Absolute: cfg.absoluteTimeout,
		}),
		Assets: assets,
		Log:    log,
		Config: handlers.Config{Production: cfg.production(), TLS: cfg.tlsCert != "", Banner: banner},

		Collections: collections,

		Balances: balanceAccounts,
		Inflows:  inflowSources,
		Gateway:  gateway,
	}
	app := handlers.NewApp(srv)

	inBackground(func(ctx context.Context) {
		db.RunEvery(ctx, cfg.sweepInterval, nil, log, "sweep failed", func(ctx context.Context, _ bool) error {
			r, err := store.Sweep(ctx, cfg.idleTimeout)
			if err == nil && r != (db.SweepResult{}) {
				log.Info("swept", "sessions", r.Sessions, "failures", r.Failures, "unlocked", r.Unlocked)
			}
			return err
		})
	})
	inBackground(func(ctx context.Context) {
		db.RunEvery(ctx, cfg.sweepInterval, nil, log, "expiring approvals", func(ctx context.Context, _ bool) error {
			n, err := approvals.ExpireDue(ctx)
			if n > 0 {
				log.Info("approvals expired", "count", n)
			}
			return err
		})
	})

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
	stopBackground()
	background.Wait()
	log.Info("stopped")
	return nil
}

// startSandboxes serves the sandbox set on addr over real HTTP, so clients
// speak the same wire as to live providers, until ctx ends.
func startSandboxes(ctx context.Context, wg *sync.WaitGroup, set *sandboxes.Set, addr string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sandboxes: %w", err)
	}
	hs := &http.Server{Handler: set.Handler(), ReadHeaderTimeout: 10 * time.Second}
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("sandboxes stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdownCtx)
	}()
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
	var wg sync.WaitGroup
	if _, err := startSandboxes(ctx, &wg, sandboxes.New(sandboxes.Options{Seed: *seed, CreditEvery: *creditEvery}), *addr, log); err != nil {
		return err
	}
	<-ctx.Done()
	wg.Wait()
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
