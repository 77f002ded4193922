# Fuzzing of the API's request decoding and validation (api/fuzz_test.go).
# go test -fuzz takes one target at a time, so each has its own make target;
# `make fuzz` runs them all briefly (FUZZ_TIME each), as CI does.
FUZZ_TIME ?= 20s

.PHONY: fuzz fuzz-failover-request fuzz-mappings fuzz-path-name

fuzz: fuzz-failover-request fuzz-mappings fuzz-path-name

fuzz-failover-request:
	$(or $(GO),go) test -run='^$$' -fuzz='^FuzzDecodeFailoverRequest$$' -fuzztime=$(FUZZ_TIME) ./api/

fuzz-mappings:
	$(or $(GO),go) test -run='^$$' -fuzz='^FuzzDecodeMappings$$' -fuzztime=$(FUZZ_TIME) ./api/

fuzz-path-name:
	$(or $(GO),go) test -run='^$$' -fuzz='^FuzzPathName$$' -fuzztime=$(FUZZ_TIME) ./api/
