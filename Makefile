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

# The production-shaped cluster (make cluster, make test-cluster): the
# Temporal server and its schema tool, the Web UI server, all pinned and
# built once into ~/.cache/baton like the CLI. The PostgreSQL schema comes
# from the server's module in the Go module cache.
SERVER_VERSION := v1.29.1
SERVER_DIR     := $(CACHE)/temporal-server-$(SERVER_VERSION)
TEMPORAL_SERVER := $(SERVER_DIR)/server
TEMPORAL_SQL   := $(SERVER_DIR)/sql
UI_VERSION     := v2.42.1
UI_DIR         := $(CACHE)/temporal-ui-$(UI_VERSION)
TEMPORAL_UI    := $(UI_DIR)/server
TEMPORAL_SCHEMA = $(shell go env GOMODCACHE)/go.temporal.io/server@$(SERVER_VERSION)/schema/postgresql/v12
CLUSTER_ENV     = TEMPORAL=$(TEMPORAL) TEMPORAL_SERVER=$(TEMPORAL_SERVER) TEMPORAL_SQL=$(TEMPORAL_SQL) \
                  TEMPORAL_UI=$(TEMPORAL_UI) TEMPORAL_SCHEMA=$(TEMPORAL_SCHEMA)
# The cluster tier's state, ports picked free on each run.
TEST_CLUSTER_DIR := $(CURDIR)/.cluster/test
# The integration tests the cluster tier runs on it: every kind of process,
# the governance and report paths, the worker's fresh-namespace handling,
# and the cluster fault test. The dev server tier runs them all.
CLUSTER_TESTS := TestClusterSurvivesRestartsAndAKilledReplica|TestMakeClusterStack|TestReplicasStartedWithANewNamespace|TestWorkerIsHealthyAndAnswersPing|TestSearchAttributesRegistered|TestEnsureSearchAttributesCreatesMissingOnes|TestLoanEndToEnd|TestOrderEndToEnd|TestExpenseEndToEnd|TestGovernedDecisionsEndToEnd|TestReportMatchesAKnownMix|TestStatusAuditAndListOutput|TestDemoPopulatesTheInbox|TestStartTwiceIsRefused

# Debian's chromium drives the browser test; BATON_CHROMIUM names another.
BATON_CHROMIUM ?=
export BATON_CHROMIUM

GO_PACKAGES := ./...
UNIT_PACKAGES = $(shell go list ./... | grep -v /integration)
# A team's own process in its own Go module, on Baton's public packages:
# linted and tested with the rest (its integration test is in integration/).
EXAMPLE := examples/purchase

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

$(TEMPORAL_SERVER) $(TEMPORAL_SQL) &:
	@echo "Building the Temporal server $(SERVER_VERSION) and its schema tool from the Go module proxy (first run only, 5-20 minutes on two cores)..."
	@mkdir -p $(SERVER_DIR)
	cd $(SERVER_DIR) && GOBIN=$(SERVER_DIR) GOFLAGS=-mod=mod go install go.temporal.io/server/cmd/server@$(SERVER_VERSION) go.temporal.io/server/cmd/tools/sql@$(SERVER_VERSION)

$(TEMPORAL_UI):
	@echo "Building the Temporal Web UI server $(UI_VERSION) (first run only, about a minute)..."
	@mkdir -p $(UI_DIR)
	cd $(UI_DIR) && GOBIN=$(UI_DIR) GOFLAGS=-mod=mod go install github.com/temporalio/ui-server/v2/cmd/server@$(UI_VERSION)

.PHONY: cluster-bins
cluster-bins: $(TEMPORAL) $(TEMPORAL_SERVER) $(TEMPORAL_SQL) $(TEMPORAL_UI) postgresql ## build the cluster's pinned binaries into ~/.cache/baton (cached)
	@test -d $(TEMPORAL_SCHEMA) || (cd $(SERVER_DIR) && GOFLAGS=-mod=mod go mod download go.temporal.io/server@$(SERVER_VERSION))
	@test -d $(TEMPORAL_SCHEMA) || { echo "the Temporal schema is missing: $(TEMPORAL_SCHEMA)"; exit 1; }

# The cluster runs Debian's PostgreSQL server; install it only when no
# initdb/pg_ctl is on the PATH or in /usr/lib/postgresql/*/bin.
.PHONY: postgresql
postgresql: ## install Debian's PostgreSQL server for the cluster and the audit store, if missing
	@if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  echo "Installing Debian's PostgreSQL server for the cluster..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-upgrade postgresql >/dev/null; \
	  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { echo "PostgreSQL could not be installed"; exit 1; }; \
	fi

# The browser test drives Debian's chromium (or BATON_CHROMIUM); install it
# only when neither is there (as root, or through sudo). It never upgrades
# an installed chromium.
.PHONY: chromium
chromium: ## install Debian's chromium for the Web UI browser test, if missing
	@if [ -n "$(BATON_CHROMIUM)" ]; then \
	  [ -x "$(BATON_CHROMIUM)" ] || { echo "BATON_CHROMIUM=$(BATON_CHROMIUM) is not an executable"; exit 1; }; \
	elif ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser test (once; set BATON_CHROMIUM to use another)..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-upgrade chromium >/dev/null; \
	  command -v chromium >/dev/null || { echo "chromium could not be installed"; exit 1; }; \
	fi

.PHONY: build
build: ## build worker, starter, simulator, codecserver, inbox, anchor and witness into bin/
	go build -o bin/ ./cmd/...

# Development payload key and codec server token, in git-ignored .dev/;
# never in the repository. Each is written only when missing: an existing
# key or token is never changed, so a running stack keeps reading its data.
# Rotate with: bin/codecserver --new-key .dev/codec.keys (added pending;
# the next make dev activates it). DEV_DIR moves them (the tests do).
DEV_DIR := .dev
.PHONY: codec-key
codec-key: ## write a development encryption key and codec token into .dev/ when missing (never changes existing ones)
	@mkdir -p $(DEV_DIR)
	@test -s $(DEV_DIR)/codec.keys || go run ./cmd/codecserver --new-key $(DEV_DIR)/codec.keys
	@go run ./cmd/codecserver --new-token $(DEV_DIR)/codec.token >/dev/null

# The audit log's development keys, in git-ignored .dev/: the worker's
# writer key (attests every entry), the anchor's checkpoint key and the
# witness's cosigning key, each with its public key in .pub. In
# production each lives only where its process runs.
.PHONY: audit-keys
audit-keys: build ## write the audit writer, anchor and witness keys into .dev/ (if missing)
	@mkdir -p .dev
	@bin/worker --new-key .dev/audit-writer.key >/dev/null
	@bin/anchor --new-key .dev/anchor.key >/dev/null
	@bin/witness --new-key .dev/witness.key >/dev/null

.PHONY: dev
dev: $(TEMPORAL) postgresql build codec-key audit-keys ## run dev server + simulated systems + codec server + audit anchor and witness + worker + web inbox (Ctrl-C stops all)
	@TEMPORAL=$(TEMPORAL) scripts/dev.sh

.PHONY: cluster
cluster: cluster-bins build codec-key ## PostgreSQL + Temporal server + Web UI + simulator + two workers, in the background (state in .cluster/)
	@$(CLUSTER_ENV) scripts/cluster.sh up

.PHONY: cluster-down
cluster-down: ## stop what make cluster started (the database stays in .cluster/)
	@$(CLUSTER_ENV) scripts/cluster.sh down

.PHONY: lint
lint: $(STATICCHECK) ## gofmt, go vet, staticcheck, docker-compose.yml validated with compose-go
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet $(GO_PACKAGES)
	$(STATICCHECK) $(GO_PACKAGES)
	cd $(EXAMPLE) && go vet ./... && $(STATICCHECK) ./...
	cd deploy/composecheck && go vet . && BATON_CODEC_KEYS=lint BATON_CODEC_TOKEN=lint go test -count=1 .   # docker-compose.yml, as docker compose config reads it (the codec key and token must be set)

.PHONY: test-unit
test-unit: postgresql ## unit, replay and layering tests (and the example module's), with the race detector
	go test -race -count=1 $(UNIT_PACKAGES)
	cd $(EXAMPLE) && go test -race -count=1 ./...

.PHONY: test-integration
test-integration: $(TEMPORAL) chromium postgresql ## integration tests against a real dev server they start, with the race detector
	go test -race -count=1 -timeout 20m ./integration/...

# One cluster for the tier, on free ports, in a fresh state folder; the
# tests run in a namespace of their own and restart its server and database.
.PHONY: test-cluster
test-cluster: cluster-bins ## the cluster tier: integration tests and the cluster fault test on PostgreSQL-backed Temporal
	@$(CLUSTER_ENV) BATON_CLUSTER_DIR=$(TEST_CLUSTER_DIR) scripts/cluster.sh down >/dev/null 2>&1 || true
	@rm -rf $(TEST_CLUSTER_DIR)
	@start=$$(date +%s); \
	  export $(CLUSTER_ENV) BATON_CLUSTER_DIR=$(TEST_CLUSTER_DIR) BATON_CLUSTER_PORTS=auto; \
	  scripts/cluster.sh up-server || { scripts/cluster.sh down; exit 1; }; \
	  echo "cluster up in $$(( $$(date +%s) - start ))s"; \
	  . $(TEST_CLUSTER_DIR)/cluster.env; \
	  BATON_TEST_TEMPORAL_ADDRESS=$$TEMPORAL_ADDRESS BATON_TEST_CLUSTER_DIR=$(TEST_CLUSTER_DIR) \
	    go test -race -count=1 -timeout 15m -run '^($(CLUSTER_TESTS))$$' ./integration/; rc=$$?; \
	  scripts/cluster.sh down >/dev/null; \
	  echo "cluster tier: $$(( $$(date +%s) - start ))s"; \
	  if [ $$rc = 0 ]; then rm -rf $(TEST_CLUSTER_DIR) $$PG_BASE; fi; exit $$rc

.PHONY: test
test: lint test-unit test-integration test-cluster ## every test tier (what CI runs)
	@echo "make test: all tiers passed"

BENCH_CLUSTER_DIR := $(CURDIR)/.cluster/bench
.PHONY: bench
bench: $(TEMPORAL) chromium cluster-bins ## benchmarks on the real stack: the inbox listing 10,000 open tasks from visibility and 100,000 from the task read model, automated-loan throughput (dev server and PostgreSQL cluster), discovery and conformance over 100,000 stored instances
	@mkdir -p .cluster
	go test -count=1 -run '^$$' -bench . -skip InboxList -benchtime 60x -timeout 20m ./integration/ | grep -v '^{"level' | tee $(CURDIR)/.cluster/bench-dev.txt
	BATON_IT_SA_CACHE=production go test -count=1 -run '^$$' -bench InboxList -benchtime 5x -timeout 40m ./integration/ | grep -v '^{"level'
	go test -count=1 -run '^$$' -bench . ./codec/ ./internal/auditlog/
	@echo "The task read model with 100,000 open tasks (goals: first page under 50 ms, counts under 100 ms, one role's 10,000 tasks paged through under 500 ms):"
	go test -count=1 -run '^$$' -bench Inbox100k -benchtime 1x -timeout 20m ./internal/taskinbox/ | grep -v '^{"level'
	@echo "Discovery and conformance over 100,000 ended instances in the audit store (goal: under 5 s each):"
	go test -count=1 -run '^$$' -bench Insight100k -benchtime 1x -timeout 20m ./internal/insight/ | grep -v '^{"level' 
	@rm -rf $(BENCH_CLUSTER_DIR); export $(CLUSTER_ENV) BATON_CLUSTER_DIR=$(BENCH_CLUSTER_DIR) BATON_CLUSTER_PORTS=auto; \
	  scripts/cluster.sh up-server >/dev/null || { scripts/cluster.sh down; exit 1; }; \
	  . $(BENCH_CLUSTER_DIR)/cluster.env; \
	  BATON_TEST_TEMPORAL_ADDRESS=$$TEMPORAL_ADDRESS go test -count=1 -run '^$$' -bench AutomatedLoan -benchtime 60x -timeout 20m ./integration/ \
	    | grep -v '^{"level' >$(CURDIR)/.cluster/bench-cluster.txt; rc=$$?; \
	  echo "The inbox on the cluster (visibility on PostgreSQL):"; \
	  BATON_TEST_TEMPORAL_ADDRESS=$$TEMPORAL_ADDRESS go test -count=1 -run '^$$' -bench InboxList -benchtime 5x -timeout 40m ./integration/ \
	    | grep -v '^{"level' || rc=1; \
	  scripts/cluster.sh down >/dev/null; rm -rf $(BENCH_CLUSTER_DIR) $$PG_BASE; \
	  echo; echo "Automated loans end to end, 8 at a time, 60 instances:"; \
	  for f in dev:$(CURDIR)/.cluster/bench-dev.txt cluster:$(CURDIR)/.cluster/bench-cluster.txt; do \
	    awk -v who=$${f%%:*} 'BEGIN { name = (who == "dev" ? "dev server (in memory)" : "cluster (server on PostgreSQL)") } \
	      /^BenchmarkAutomatedLoanEndToEnd/ { seen = 1; for (i = 1; i < NF; i++) m[$$(i+1)] = $$i; \
	      printf "  %-34s %6.1f instances/s   p50 %6.0f ms   p99 %6.0f ms   (payload codec on; off: %.1f/s)\n", name, m["codec-instances/s"], m["codec-p50-ms"], m["codec-p99-ms"], m["plaintext-instances/s"] } \
	      END { if (!seen) printf "  %-34s no figure: BenchmarkAutomatedLoanEndToEnd did not report (see its output above)\n", name }' $${f#*:}; \
	  done; \
	  echo; echo "The audit log's anchoring beside them (anchor and witness running vs stopped, dev server):"; \
	  grep -ho 'automated loans.*anchoring costs.*' $(CURDIR)/.cluster/bench-dev.txt | sed 's/^/  /'; \
	  rm -f $(CURDIR)/.cluster/bench-*.txt; exit $$rc

# Histories are recorded on the committed test-only key and stay encrypted
# (docs/testing.md: "Replay histories"); RUN='TestX|TestY' limits the tests that run.
.PHONY: histories
histories: $(TEMPORAL) chromium postgresql ## re-record the replay histories in workflows/testdata (encrypted, test key) from real runs
	@RUN='$(RUN)' scripts/histories.sh

.PHONY: clean
clean: ## remove build output, the dev database and the cluster's state (stop it first: make cluster-down)
	rm -rf bin .dev .cluster
