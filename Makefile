# Baton — two commands: `make dev` runs the system, `make test` runs every tier.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TEMPORAL_VERSION := v1.5.1
CACHE            := $(HOME)/.cache/baton
TEMPORAL_DIR     := $(CACHE)/temporal-$(TEMPORAL_VERSION)
TEMPORAL         := $(TEMPORAL_DIR)/temporal
STATICCHECK      := $(CACHE)/bin/staticcheck
STATICCHECK_VERSION := v0.8.2
export BATON_TEMPORAL_BIN := $(TEMPORAL)

GO_PACKAGES := ./...
UNIT_PACKAGES = $(shell go list ./... | grep -v /integration)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(TEMPORAL):
	@echo "Building the pinned Temporal CLI $(TEMPORAL_VERSION) from the Go module proxy (first run only, about 2 minutes)..."
	@mkdir -p $(TEMPORAL_DIR)
	cd $(TEMPORAL_DIR) && GOBIN=$(TEMPORAL_DIR) GOFLAGS=-mod=mod go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

.PHONY: temporal
temporal: $(TEMPORAL) ## build the pinned Temporal CLI into ~/.cache/baton (cached)

$(STATICCHECK):
	@mkdir -p $(CACHE)/bin
	GOBIN=$(CACHE)/bin go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# The browser test drives Debian's chromium; install it when missing (CI and
# developer machines run as root here; elsewhere sudo is used if present).
.PHONY: chromium
chromium: ## install Debian's chromium for the Web UI browser test, if missing
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser test..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@command -v chromium >/dev/null || { echo "chromium could not be installed"; exit 1; }

.PHONY: build
build: ## build worker, starter, simulator and inbox into bin/
	go build -o bin/ ./worker ./starter ./simulator ./inbox

.PHONY: dev
dev: $(TEMPORAL) build ## run dev server + simulated systems + worker + web inbox (Ctrl-C stops all)
	@TEMPORAL=$(TEMPORAL) scripts/dev.sh

.PHONY: lint
lint: $(STATICCHECK) ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet $(GO_PACKAGES)
	$(STATICCHECK) $(GO_PACKAGES)
	@if docker compose version >/dev/null 2>&1; then docker compose config -q && echo "docker-compose.yml: valid"; \
	  else echo "docker compose not installed: docker-compose.yml checked by worker/deploy_test.go only"; fi

.PHONY: test-unit
test-unit: ## unit and replay tests, with the race detector
	go test -race -count=1 $(UNIT_PACKAGES)

.PHONY: test-integration
test-integration: $(TEMPORAL) chromium ## integration tests against a real dev server they start
	go test -count=1 -timeout 10m ./integration/...

.PHONY: test
test: lint test-unit test-integration ## every test tier (what CI runs)
	@echo "make test: all tiers passed"

.PHONY: bench
bench: $(TEMPORAL) chromium ## benchmarks on the real stack: end-to-end throughput and latency, decision latency; the inbox listing 10,000 open tasks
	go test -count=1 -run '^$$' -bench 'EndToEnd|Decide' -benchtime 60x -timeout 20m ./integration/ | grep -v '^{"level'
	BATON_IT_SA_CACHE=production go test -count=1 -run '^$$' -bench InboxList -benchtime 5x -timeout 40m ./integration/ | grep -v '^{"level'

.PHONY: histories
histories: $(TEMPORAL) chromium ## re-record the replay histories in workflows/testdata from real runs
	rm -f workflows/testdata/*.json
	BATON_RECORD_HISTORIES=$(CURDIR)/workflows/testdata go test -count=1 -timeout 10m ./integration/...
	go test -count=1 -run TestReplay ./workflows/

.PHONY: clean
clean: ## remove build output and the dev database
	rm -rf bin .dev
