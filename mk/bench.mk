# Benchmarks of the orchestration and fault tests (issue 9).
# make bench: one run printing orchestration, API and worker-memory figures
#             (flags: BENCH_FLAGS, e.g. BENCH_FLAGS="-cycles 60 -vms 12").
# make chaos: the fault tests (Redis/Postgres restarts, slow and flaky
#             CloudStack, request storms, orphaned jobs).
.PHONY: bench chaos

BENCH_FLAGS ?=

bench: services
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/api ./cmd/worker ./cmd/bench
	$(BIN)/bench -bin $(BIN) $(BENCH_FLAGS)

chaos: services
	$(GO) test -race -run Chaos ./e2e/ -count=1 -timeout 20m
