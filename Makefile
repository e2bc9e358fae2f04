# Paydesk: `make run` starts the app in sandbox mode; `make test` installs what
# is missing and runs every test, end-to-end ones included.

GO            ?= go
TOOLS         := $(CURDIR)/.tools
TEMPL_VERSION := $(shell $(GO) list -m -f '{{.Version}}' github.com/a-h/templ)
TEMPL         := $(TOOLS)/bin/templ-$(TEMPL_VERSION)
# playwright-go pins the driver version (playwrightCliVersion in its run.go).
PW_VERSION    := 1.52.0
PW_DRIVER     := $(TOOLS)/playwright-driver-$(PW_VERSION)
CHROMIUM      ?= /usr/bin/chromium
# axe-core checks every page the end-to-end tests screenshot for serious
# and critical accessibility failures; npm, beside playwright-core.
AXE_VERSION   := 4.14.1
AXE           := $(TOOLS)/axe-$(AXE_VERSION)/node_modules/axe-core/axe.min.js

.PHONY: run build test vet unit e2e generate check-generated tools chromium playwright-driver axe bench fuzz clean

run: build
	./bin/paydesk

build:
	$(GO) build -o bin/paydesk .

test: tools check-generated vet unit e2e

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go') | grep -v '_templ.go$$')" || { echo "gofmt would change:"; gofmt -l .; exit 1; }

unit:
	$(GO) test -race -count=1 ./...

e2e: tools
	PAYDESK_PLAYWRIGHT_DRIVER=$(PW_DRIVER) PAYDESK_CHROMIUM=$(CHROMIUM) PAYDESK_AXE=$(AXE) \
		$(GO) test -tags e2e -count=1 -timeout 15m ./e2e/

generate: $(TEMPL)
	$(TEMPL) generate

# Generated templ code is committed; fail when it is stale.
check-generated: $(TEMPL)
	@$(TEMPL) generate >/dev/null
	@git diff --exit-code -- '*_templ.go' >/dev/null 2>&1 || { echo "templ generate changed files: run 'make generate' and commit them"; git diff --stat -- '*_templ.go'; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- '*_templ.go')" || { echo "untracked generated files:"; git ls-files --others --exclude-standard -- '*_templ.go'; exit 1; }

tools: $(TEMPL) chromium playwright-driver axe

$(TEMPL):
	GOBIN=$(TOOLS)/bin $(GO) install github.com/a-h/templ/cmd/templ@$(TEMPL_VERSION)
	mv $(TOOLS)/bin/templ $@

chromium:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
		echo "installing Debian chromium"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The driver is Node plus playwright-core at the version playwright-go pins,
# laid out as playwright-go expects: package/ and node side by side.
playwright-driver: $(PW_DRIVER)/package/cli.js

$(PW_DRIVER)/package/cli.js:
	@command -v node >/dev/null 2>&1 || { echo "node is required for the Playwright driver"; exit 1; }
	mkdir -p $(TOOLS)/npm-$(PW_VERSION) $(PW_DRIVER)
	npm install --prefix $(TOOLS)/npm-$(PW_VERSION) --no-audit --no-fund --silent playwright-core@$(PW_VERSION)
	ln -sfn $(TOOLS)/npm-$(PW_VERSION)/node_modules/playwright-core $(PW_DRIVER)/package
	ln -sfn $$(command -v node) $(PW_DRIVER)/node
	$(PW_DRIVER)/node $(PW_DRIVER)/package/cli.js --version

axe: $(AXE)

$(AXE):
	@command -v npm >/dev/null 2>&1 || { echo "npm is required for axe-core"; exit 1; }
	mkdir -p $(TOOLS)/axe-$(AXE_VERSION)
	npm install --prefix $(TOOLS)/axe-$(AXE_VERSION) --no-audit --no-fund --silent axe-core@$(AXE_VERSION)
	test -s $@

# Go benchmarks (bulk decisions, CSV checks, ingest…), then the load report:
# 100,000 rows behind every list page, each page's statements with their
# plans and SQLite steps, CPU per request, closed-loop req/s against a static
# page, open-loop latency at 1,000 req/s, search, bulk decisions, dispatch to
# the in-process sandboxes, the real binary's cold start and its memory after
# a burst of sign-ins, and every figure against its goal. About 8 minutes on
# 2 cores; PAYDESK_BENCH_ONLY / PAYDESK_BENCH_PAGES run a part of it.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./handlers/ ./db/ ./views/
	PAYDESK_BENCH=1 $(GO) test -count=1 -v -run '^TestBenchReport$$' -timeout 20m ./e2e/bench/

fuzz:
	@for pkg in $$($(GO) list ./providers/...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 10s $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin
