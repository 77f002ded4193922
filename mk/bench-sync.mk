# make bench-sync: the final-sync engine (blocksync) against nbdcopy on two
# file-backed nbdkit exports of 4 GiB (on /dev/shm when it has room, else
# /tmp): full copy, 5% incremental, peak memory. See the README's performance section.
# Flags go in BENCH_SYNC_FLAGS, e.g. make bench-sync BENCH_SYNC_FLAGS='-size 1073741824 -runs 5'.
BENCH_SYNC_FLAGS ?=

.PHONY: bench-sync
bench-sync:
	@mkdir -p $(or $(BIN),bin)
	$(or $(GO),go) build -o $(or $(BIN),bin)/benchsync ./cmd/benchsync
	$(or $(BIN),bin)/benchsync $(BENCH_SYNC_FLAGS)
