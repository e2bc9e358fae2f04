//go:build e2e

// Package e2e drives the real paydesk binary in Chromium through
// playwright-go. `make e2e` installs the browser and driver and runs it.
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
)

// app is one running paydesk process with its own database.
type app struct {
	URL string
	// SandboxURL is the root of the in-process provider sandboxes; their
	// control surface (what a provider's portal or a payer would do) is
	// under SandboxURL + "/_sandbox/<provider>/".
	SandboxURL string
	DBPath     string
	cmd        *exec.Cmd
	logs       *strings.Builder
	binPath    string
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startApp builds the binary and runs it in sandbox mode against a fresh
// database, waiting until /readyz answers. env adds NAME=value settings.
func startApp(t *testing.T, env ...string) *app {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "paydesk")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	a := &app{DBPath: filepath.Join(dir, "data", "paydesk.db"), logs: &strings.Builder{}, binPath: bin}
	port := freePort(t)
	a.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	sandboxAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a.SandboxURL = "http://" + sandboxAddr
	a.cmd = exec.Command(bin, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--db", a.DBPath)
	// Background polls (contact sync, payment requests, bank side) every
	// second, so what a person waits for in a test happens within seconds.
	a.cmd.Env = append(os.Environ(), "PAYDESK_ENV=sandbox", "PAYDESK_LOG_LEVEL=warn",
		"PAYDESK_SANDBOX_ADDR="+sandboxAddr, "PAYDESK_POLL_EVERY=1s")
	a.cmd.Env = append(a.cmd.Env, env...)
	stdout, _ := a.cmd.StdoutPipe()
	a.cmd.Stderr = a.cmd.Stdout
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			a.logs.WriteString(sc.Text() + "\n")
		}
	}()
	t.Cleanup(func() {
		_ = a.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = a.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = a.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("server output:\n%s", a.logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(a.URL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return a
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("paydesk did not become ready:\n%s", a.logs.String())
	return nil
}

// browser starts Chromium through the locally installed driver.
func browser(t *testing.T) playwright.Browser {
	t.Helper()
	driver := os.Getenv("PAYDESK_PLAYWRIGHT_DRIVER")
	if driver == "" {
		t.Fatal("PAYDESK_PLAYWRIGHT_DRIVER is not set: run the end-to-end tests with `make e2e`")
	}
	chromium := os.Getenv("PAYDESK_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	pw, err := playwright.Run(&playwright.RunOptions{DriverDirectory: driver, SkipInstallBrowsers: true, Verbose: false,
		Stdout: io.Discard})
	if err != nil {
		t.Fatalf("playwright: %v", err)
	}
	t.Cleanup(func() { _ = pw.Stop() })
	b, err := pw.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
		ExecutablePath: playwright.String(chromium),
		Headless:       playwright.Bool(true),
		Args: []string{"--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
			"--disable-sync", "--no-first-run", "--disable-quic"},
	})
	if err != nil {
		t.Fatalf("launch chromium: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// session is one browser context (one person's browser) with a page.
type session struct {
	t    *testing.T
	app  *app
	ctx  playwright.BrowserContext
	page playwright.Page
	// cspErrors collects Content-Security-Policy violations seen by the page.
	cspErrors *[]string
}

func newSession(t *testing.T, b playwright.Browser, a *app) *session {
	t.Helper()
	return newSessionWithHeaders(t, b, a, nil)
}

// newSessionWithHeaders is newSession whose every request carries headers
// (an X-Forwarded-For a proxy would add, say).
func newSessionWithHeaders(t *testing.T, b playwright.Browser, a *app, headers map[string]string) *session {
	t.Helper()
	ctx, err := b.NewContext(playwright.BrowserNewContextOptions{
		BaseURL:          playwright.String(a.URL),
		Viewport:         &playwright.Size{Width: 1360, Height: 860},
		ExtraHttpHeaders: headers,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ctx.Close() })
	page, err := ctx.NewPage()
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, app: a, ctx: ctx, page: page, cspErrors: new([]string)}
	page.On("console", func(m playwright.ConsoleMessage) {
		if strings.Contains(m.Text(), "Content Security Policy") {
			*s.cspErrors = append(*s.cspErrors, m.Text())
		}
	})
	return s
}

// createUser makes a user from the admin users page, as an admin.
func (s *session) createUser(username, name, password, role string) {
	s.t.Helper()
	s.goto_("/admin/users")
	s.fill("#new-username", username)
	s.fill("#new-display-name", name)
	s.fill("#new-password", password)
	s.click("#new-user input[value=" + role + "]")
	s.click("#new-user button[type=submit]")
	s.expectText("#new-user .alert.ok", "Created "+username)
}

func (s *session) goto_(path string) {
	s.t.Helper()
	if _, err := s.page.Goto(path); err != nil {
		s.t.Fatalf("goto %s: %v", path, err)
	}
}

func (s *session) signIn(username, password string) {
	s.t.Helper()
	s.goto_("/login")
	s.fill("#username", username)
	s.fill("#password", password)
	// Wait for the answer, and when it sends the browser on (HX-Redirect),
	// for the page it sends it to: a next step that navigated meanwhile
	// would be interrupted by that redirect.
	resp, err := s.page.ExpectResponse(regexp.MustCompile(`/login$`), func() error {
		return s.page.Locator("#login-form button[type=submit]").Click()
	})
	if err != nil {
		s.t.Fatalf("sign in as %s: %v", username, err)
	}
	if target := resp.Headers()["hx-redirect"]; target != "" {
		path, _, _ := strings.Cut(target, "?")
		if err := s.page.WaitForURL(func(u string) bool {
			at, err := url.Parse(u)
			return err == nil && at.Path == path
		}); err != nil {
			s.t.Fatalf("sign in as %s: not sent on to %s: %v", username, target, err)
		}
	}
}

func (s *session) fill(selector, value string) {
	s.t.Helper()
	if err := s.page.Locator(selector).Fill(value); err != nil {
		s.t.Fatalf("fill %s: %v", selector, err)
	}
}

func (s *session) click(selector string) {
	s.t.Helper()
	if err := s.page.Locator(selector).First().Click(); err != nil {
		s.t.Fatalf("click %s: %v", selector, err)
	}
}

func (s *session) expectVisible(selector string) {
	s.t.Helper()
	if err := playwright.NewPlaywrightAssertions(5000).Locator(s.page.Locator(selector).First()).ToBeVisible(); err != nil {
		s.failShot()
		s.t.Fatalf("expected %s visible on %s: %v", selector, s.page.URL(), err)
	}
}

func (s *session) expectText(selector, text string) {
	s.t.Helper()
	if err := playwright.NewPlaywrightAssertions(5000).Locator(s.page.Locator(selector).First()).ToContainText(text); err != nil {
		s.failShot()
		s.t.Fatalf("expected %s to contain %q on %s: %v", selector, text, s.page.URL(), err)
	}
}

func (s *session) expectURL(suffix string) {
	s.t.Helper()
	if err := playwright.NewPlaywrightAssertions(5000).Page(s.page).ToHaveURL(regexp.MustCompile("^" + regexp.QuoteMeta(s.app.URL+suffix) + "$")); err != nil {
		s.failShot()
		s.t.Fatalf("expected URL %s, at %s: %v", suffix, s.page.URL(), err)
	}
}

func (s *session) count(selector string) int {
	s.t.Helper()
	n, err := s.page.Locator(selector).Count()
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

// screenshot saves a full-page picture under e2e/screenshots for review,
// and checks the page with axe-core: every page a test looks at must have
// no serious or critical accessibility failure.
func (s *session) screenshot(name string) {
	s.t.Helper()
	s.htmxQuiet(name)
	s.checkAccessibility(name)
	dir := filepath.Join("screenshots")
	_ = os.MkdirAll(dir, 0o755)
	if _, err := s.page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(filepath.Join(dir, name+".png")), FullPage: playwright.Bool(true), Caret: playwright.ScreenshotCaretInitial}); err != nil {
		s.t.Fatalf("screenshot: %v", err)
	}
}

// htmxQuiet waits until no htmx request, swap or settle is under way, so
// that the page is checked and pictured as a person sees it once it is
// done: while a request is in flight its submit button is faded (and fails
// the contrast check), and htmx drops those classes only after its swap
// has settled, a moment after the new content is on the page.
func (s *session) htmxQuiet(name string) {
	s.t.Helper()
	// A locator assertion, not WaitForFunction, whose polling evaluates a
	// string, which the page's CSP refuses.
	busy := s.page.Locator(".htmx-request, .htmx-swapping, .htmx-settling")
	if err := playwright.NewPlaywrightAssertions(5000).Locator(busy).ToHaveCount(0); err != nil {
		s.t.Fatalf("%s: htmx still busy after 5 s: %v", name, err)
	}
}

// failShot keeps a picture of the page a failing check looked at.
func (s *session) failShot() {
	name := "FAIL-" + strings.NewReplacer("/", "_", " ", "_", "'", "").Replace(s.t.Name())
	_, _ = s.page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(filepath.Join("screenshots", name+".png")), FullPage: playwright.Bool(true), Caret: playwright.ScreenshotCaretInitial})
}

func (s *session) noCSPErrors() {
	s.t.Helper()
	if len(*s.cspErrors) > 0 {
		s.t.Fatalf("CSP violations: %v", *s.cspErrors)
	}
}

// axeSource is axe-core's script, read once (PAYDESK_AXE, which `make e2e`
// sets, or the copy `make axe` installs under .tools).
var axeSource = sync.OnceValues(func() (string, error) {
	path := os.Getenv("PAYDESK_AXE")
	if path == "" {
		matches, _ := filepath.Glob("../.tools/axe-*/node_modules/axe-core/axe.min.js")
		if len(matches) == 0 {
			return "", fmt.Errorf("axe-core not found: run the end-to-end tests with `make e2e` (or `make axe` first)")
		}
		path = matches[len(matches)-1]
	}
	b, err := os.ReadFile(path)
	return string(b), err
})

// axeViolation is what a failing axe rule reports, trimmed for a test log.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeRun runs axe on the page and keeps the serious and critical
// violations. The script goes in through the DevTools protocol, which the
// page's Content-Security-Policy does not govern.
const axeRun = `async () => {
	const r = await axe.run(document, {resultTypes: ["violations"]});
	return r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
		id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " ")),
	}));
}`

// checkAccessibility fails the test for each serious or critical axe
// violation on the current page.
func (s *session) checkAccessibility(name string) {
	s.t.Helper()
	src, err := axeSource()
	if err != nil {
		s.t.Fatal(err)
	}
	if ok, _ := s.page.Evaluate(`() => typeof window.axe !== "undefined"`); ok != true {
		if _, err := s.page.Evaluate(src); err != nil {
			s.t.Fatalf("axe on %s: load: %v", name, err)
		}
	}
	out, err := s.page.Evaluate(axeRun)
	if err != nil {
		s.t.Fatalf("axe on %s: %v", name, err)
	}
	raw, _ := json.Marshal(out)
	var found []axeViolation
	if err := json.Unmarshal(raw, &found); err != nil {
		s.t.Fatalf("axe on %s: %v", name, err)
	}
	for _, v := range found {
		s.t.Errorf("accessibility (%s, %s) on %s [%s]: %s\n  %s", v.Impact, v.ID, name, s.page.URL(), v.Help, strings.Join(v.Nodes, "\n  "))
	}
}

// sandboxPost sends a control request to a provider's sandbox and decodes
// its answer into out (nil: ignored).
func (a *app) sandboxPost(t *testing.T, provider, path, body string, out any) {
	t.Helper()
	resp, err := http.Post(a.SandboxURL+"/_sandbox/"+provider+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("sandbox POST %s%s: %s", provider, path, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}
