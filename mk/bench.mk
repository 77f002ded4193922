# Benchmarks of the orchestration and fault tests (issue 9).
# make bench: one run printing orchestration, API and worker-memory figures
#             (flags: BENCH_FLAGS, e.g. BENCH_FLAGS="-cycles 60 -vms 12").
#             Installs wrk (Debian's package) if missing: the API figures
#             are taken with Go's HTTP client and with wrk.
# make chaos: the fault tests (Redis/Postgres restarts, slow and flaky
#             CloudStack, request storms, orphaned jobs).
.PHONY: bench bench-tools chaos

BENCH_FLAGS ?=

bench-tools:
	@if command -v wrk >/dev/null 2>&1; then echo "[bench] wrk present"; else \
	  echo "[bench] installing wrk"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null && \
	  command -v wrk >/dev/null; \
	fi

bench: services bench-tools
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/api ./cmd/worker ./cmd/bench
	$(BIN)/bench -bin $(BIN) $(BENCH_FLAGS)

chaos: services
	$(GO) test -race -run Chaos ./e2e/ -count=1 -timeout 20m
