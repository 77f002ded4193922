# Observability checks (e2e/obs_*_test.go). Included by the root Makefile
# (include mk/*.mk).
#
#   make observability-tools   install Chromium (headless screenshot of
#                              asynqmon) and promtool (Debian's prometheus
#                              package) if missing
#   make observability-test    the end-to-end observability tests (CI=true:
#                              a missing tool fails instead of skipping);
#                              the screenshot goes to $(ARTIFACTS_DIR)

.PHONY: observability-tools observability-test

ARTIFACTS_DIR ?= $(CURDIR)/bin/artifacts

observability-tools:
	@missing=; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	if [ -z "$$missing" ]; then \
	  echo "[observability] chromium and promtool present"; \
	else \
	  echo "[observability] installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
	    apt-get install -y -qq --no-install-recommends $$missing fonts-liberation >/dev/null && \
	  command -v chromium >/dev/null && command -v promtool >/dev/null; \
	fi

observability-test: observability-tools
	mkdir -p $(ARTIFACTS_DIR)
	CI=$${CI:-true} ARTIFACTS_DIR=$(ARTIFACTS_DIR) $(GO) test -count=1 -run 'TestObs' -timeout 15m ./e2e/
