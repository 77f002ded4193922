# Unified Failover. `make demo` and `make test` are the two set-up commands
# for a fresh Debian machine (see README.md).
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN := bin
TEST_TIMEOUT ?= 30m

.PHONY: all help services build check cli-cgo-free staticcheck tidy-check test test-short test-tools vet demo clean

-include mk/*.mk

all: build

services: ## install and start PostgreSQL, Redis, libnbd, nbdkit (Debian packages)
	@scripts/services.sh

build: ## build every command into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

STATICCHECK_VERSION ?= v0.8.2

check: services vet tidy-check staticcheck cli-cgo-free ## gofmt, go vet, staticcheck, a tidy go.mod and a cgo-free failoverctl (installs what cgo needs first)

# The client and failoverctl speak only the wire types (api/apiv1): they
# build without cgo and pull in none of the server's packages.
CLIENT_FORBIDDEN := cloudstack|govmomi|pgx|asynq|/nbd|ossea/unifiedfailover/(errs|store|failover|drill)

cli-cgo-free: ## failoverctl builds with CGO_ENABLED=0, and package client imports only api/apiv1 and the standard library
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/failoverctl
	@bad="$$($(GO) list -deps ./client | grep -E '$(CLIENT_FORBIDDEN)')"; \
	  test -z "$$bad" || { echo "package client depends on:"; echo "$$bad"; exit 1; }

tidy-check: ## go.mod and go.sum are what go mod tidy makes
	$(GO) mod tidy -diff

staticcheck: ## staticcheck (honnef.co/go/tools, pinned)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

vet: ## gofmt and go vet
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# Tools some tests drive (promtool, headless Chromium); with CI=true a test
# whose tool is missing fails instead of skipping.
test-tools: deploy-tools observability-tools drill-tools virtio-tools

# The e2e suite runs twice: against a cloud whose kvm.snapshot.enabled is
# false (CloudStack's default), then true.
test: services test-tools vet ## every test with the race detector (the e2e suite twice: kvm.snapshot.enabled false, then true)
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	E2E_KVM_SNAPSHOT_ENABLED=true $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./e2e/

test-short: services ## the fast loop: every test but the e2e, chaos, bench and real-tool ones, without -race
	$(GO) test -short -count=1 -timeout 5m ./...

demo: services build ## run the demo end to end
	$(BIN)/demo

clean:
	rm -rf $(BIN)
