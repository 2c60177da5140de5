# Banners: the two commands are `make run` and `make test`.
GO       ?= go
export GOFLAGS ?= -buildvcs=false
# go.mod names the toolchain (a patched Go 1.26); fetch it through the module
# proxy even where the machine defaults to its local Go.
export GOTOOLCHAIN = auto
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20
export CDK_DISABLE_VERSION_CHECK ?= 1
LAMBDA_FLAGS = -tags lambda.norpc -trimpath -ldflags='-s -w'
PKGS_DIRS = $$($(GO) list -f '{{.Dir}}' ./...)

.PHONY: run test deps chromium moto build synth lint audit fuzz soak bench load coldstart scale clean

## run: serve the site, the API and the images on http://127.0.0.1:8080 (built-in sample data)
run:
	$(GO) run ./functions/api/local

## test: install what the tests need, then lint, audit, every test (DynamoDB servers, Lambda emulator, browser included) and an offline cdk synth
# Every test runs under the race detector but the CDK app's: its synth code
# is single-threaded, and its race build is the run's longest compile.
test: deps lint audit
	$(GO) test -race -count=1 -timeout 30m $$($(GO) list ./... | grep -v '^banners/cdk$$')
	$(GO) test -count=1 -timeout 10m ./cdk/
	$(MAKE) synth

## deps: what the tests need beyond Go: npm packages (dynalite, the CDK CLI), Chromium, moto
deps: node_modules chromium moto

# Chromium for the browser test: Debian's package, installed when missing
# and the package manager can be used (root, or sudo without a password).
chromium:
	@command -v chromium >/dev/null && exit 0; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; \
	else echo "make test needs Chromium: install the package 'chromium' (Debian/Ubuntu: apt-get install chromium)" >&2; exit 1; fi; \
	echo "installing Debian's chromium package for the browser test"; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# moto_server, the second DynamoDB-compatible server of the tests.
moto:
	@python3 -c 'import moto.server' 2>/dev/null || { echo "make test needs moto for Python 3: pip install 'moto[server]'" >&2; exit 1; }

## build: both Lambdas for linux/arm64, and the placeholder images, into build/
build:
	mkdir -p build/api build/ingest
	$(GO) run ./functions/api/local -write-placeholders build/images
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o build/api/bootstrap ./functions/api
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o build/ingest/bootstrap ./functions/ingest

## synth: synthesize the CDK app offline into cdk.out
synth: node_modules
	npx cdk synth --quiet --no-notices

node_modules: package-lock.json
	npm ci --no-audit --no-fund
	touch node_modules

STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK = golang.org/x/vuln/cmd/govulncheck@v1.9.0
# The Go vulnerability database, as the module golang.org/x/vulndb serves it
# through the module proxy (the database's own web host is not reachable here).
VULNDB_VERSION = v0.0.0-20261105234957-e22db6528018
FUZZTIME ?= 60s

## lint: gofmt, go vet and staticcheck must be clean
lint:
	@out=$$(gofmt -l $(PKGS_DIRS)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## audit: govulncheck against a pinned copy of the Go vulnerability database
audit: build/vulndb/index/db.json
	$(GO) run $(GOVULNCHECK) -db file://$(CURDIR)/build/vulndb ./...

build/vulndb/index/db.json:
	$(GO) mod download golang.org/x/vulndb@$(VULNDB_VERSION)
	rm -rf build/vulndb
	$(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) \
		-vulns $$($(GO) env GOMODCACHE)/golang.org/x/vulndb@$(VULNDB_VERSION)/data/osv -out build/vulndb

## soak: the local server on DynamoDB (dynalite) at 10x the assignment's rate for SOAK (a short run is in `make test`)
SOAK ?= 5m
soak:
	SOAK_DURATION=$(SOAK) SOAK_REPORT=$(CURDIR)/build/soak.txt $(GO) test -count=1 -run '^TestSoak$$' -v -timeout 30m ./loadtest/

## fuzz: run each fuzz target for FUZZTIME (the seed corpora run in every `make test`)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./internal/csvload/
	$(GO) test -run '^$$' -fuzz '^FuzzServeHTTP$$' -fuzztime $(FUZZTIME) ./internal/httpapi/
	$(GO) test -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime $(FUZZTIME) ./internal/funcurl/

## bench: the Go benchmarks, each next to the code it measures
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./functions/...

## load: the stress test against an in-process local server (with and without its access log), every answer checked
load:
	$(GO) run ./loadtest -self

## coldstart: COLDSTARTS alternating cold starts of the API function and the floor function under the Lambda emulator (table on dynalite): INIT, first answer, warm invoke and size with ratios to the floor (bench/README.md)
COLDSTARTS ?= 7
coldstart: node_modules
	$(GO) run ./bench/coldstart -n $(COLDSTARTS)

## scale: the cache model's table, then the simulation of 4 API instances over dynalite across a quarter boundary, without and with pre-warm (bench/README.md)
scale: node_modules
	$(GO) run ./bench/scale -model
	$(GO) run ./bench/scale

clean:
	rm -rf build cdk.out loadtest/out
