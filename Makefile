# avenir — every task of the repository. `make help` lists them.
# Module-wide targets loop over the modules listed in go.work, so adding a
# module needs no edit here.

SHELL       := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
MODULES   := $(shell awk '/^[[:space:]]*\.\//{print $$1}' go.work)
PKGS      := $(addsuffix /...,$(MODULES))
BENCH     ?= .
LEARNERS  ?= 4500
SEED      ?= 1
DAYS      ?= 365
BIN       := bin/avenir
BUF       := cd proto && GOWORK=off $(GO) tool -modfile=tools/go.mod buf
TEST_FLAGS ?= -race -count=1 -timeout 20m
BREAKING_AGAINST ?= $(shell scripts/breaking-ref.sh)

##@ Everyday

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: build ## Start the whole system on this machine (embedded NATS, data in ./data)
	./$(BIN) server --dev

.PHONY: test-cluster
test-cluster: ## Microservices mode on a 3-node JetStream cluster (R3), a stream leader shut down halfway
	$(GO) test $(TEST_FLAGS) -tags cluster -run TestCluster ./services/e2e/

.PHONY: demo
demo: build ## Simulate a year of #Avenir on an embedded server: LEARNERS=4500 SEED=1 DAYS=365
	$(BIN) demo --embedded --learners $(LEARNERS) --seed $(SEED) --days $(DAYS)

.PHONY: test
test: ## Run every test of every module (race detector on)
	$(GO) test $(TEST_FLAGS) $(PKGS)

.PHONY: test-fast
test-fast: ## Unit and component tests (-short: no e2e journeys, no race detector), the quick loop
	$(GO) test -short -count=1 -timeout 10m $(PKGS)

.PHONY: build
.PHONY: screenshots
screenshots: ## The console's main pages as PNG in docs/screenshots (headless Chromium)
	AVENIR_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'TestBrowserJourney|TestBrowserReferentPages|TestOperatorHome|TestBrowserReportHours|TestBrowserFeesAndGroupHours|TestBrowserStatements|TestBrowserProgrammes' ./services/console/

build: ## Build the avenir binary into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./services/avenir

##@ Code generation and checks

.PHONY: generate
generate: ## Regenerate Go code from the .proto files (buf, offline)
	$(BUF) generate

.PHONY: check-generated
check-generated: generate ## Fail when the committed generated code is stale
	@if [ -n "$$(git status --porcelain -- proto/gen)" ]; then \
	  git status --porcelain -- proto/gen; \
	  echo "proto/gen is stale: run 'make generate' and commit the result" >&2; exit 1; fi

.PHONY: docs
docs: ## Regenerate docs/api.md, docs/configuration.md and the README's first ten minutes; check the links
	$(GO) run ./services/avenir/docgen -root .

.PHONY: lint
lint: ## buf lint, gofmt and go vet
	$(BUF) lint
	@unformatted=$$(gofmt -l $(MODULES) | grep -v '/gen/' || true); \
	  if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags cluster ./services/e2e/

.PHONY: breaking
breaking: ## buf breaking (FILE) against every earlier contract (last 20 proto commits)
	@if [ -z "$(BREAKING_AGAINST)" ]; then echo "buf breaking: no earlier contract to compare with, skipped"; fi
	@for ref in $(BREAKING_AGAINST); do \
	  if ! git show "$$ref:proto/avenir/common/v1/common.proto" | grep '^message Month ' >/dev/null; then \
	    echo "buf breaking against $$ref (before common.v1.Month: docs/adr/0050-one-month-message.md)"; \
	    ($(BUF) breaking --against "../.git#ref=$$ref,subdir=proto" --config "$$(cat breaking-before-month.yaml)") || exit 1; \
	  elif git show "$$ref:proto/avenir/pathway/v1/pathway.proto" | grep -E 'int32 (new_)?beneficiaries = ' >/dev/null; then \
	    echo "buf breaking against $$ref (before Count in ProgrammeProgress: docs/adr/0061-counts-under-five.md)"; \
	    ($(BUF) breaking --against "../.git#ref=$$ref,subdir=proto" --config "$$(cat breaking-before-counts.yaml)") || exit 1; \
	  else \
	    echo "buf breaking against $$ref"; \
	    ($(BUF) breaking --against "../.git#ref=$$ref,subdir=proto") || exit 1; \
	  fi; done

.PHONY: tidy
tidy: ## go mod tidy in every module
	@for m in $(MODULES); do echo "tidy $$m"; (cd $$m && $(GO) mod tidy); done

.PHONY: check
check: check-generated lint breaking ## Everything CI checks besides tests

.PHONY: bench
bench: ## Run the benchmarks (no tests); BENCH=<regexp> picks some, e.g. BENCH=ReportTraineeHours
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime 2s $(PKGS)

.PHONY: ci
ci: ## What CI runs: .ci/run (ensures Redis, then test, test-cluster and check)
	bash .ci/run

.PHONY: clean
clean: ## Remove build output and the dev data dir
	rm -rf bin data

##@ Deployment

IMAGE ?= avenir:dev

.PHONY: image
image: ## Build the container image (deploy/Dockerfile, runs `make build`'s command): IMAGE=avenir:dev
	docker build -f deploy/Dockerfile -t $(IMAGE) .

.PHONY: chart-test
chart-test: ## Render the Helm chart strictly, check the NATS cluster config and compose (offline)
	$(GO) test $(TEST_FLAGS) ./deploy/test/...
