# Deployment checks (deploy/). Included by the root Makefile (include mk/*.mk).
#
#   make deploy-tools   install promtool (Debian's prometheus package) if missing
#   make deploy-check   promtool + the deploy package's Go test (CI runs this)

.PHONY: deploy-tools deploy-check

deploy-tools:
	@if command -v promtool >/dev/null 2>&1; then \
	  echo "[deploy] promtool present: $$(promtool --version 2>&1 | head -n1)"; \
	else \
	  echo "[deploy] installing promtool (Debian package prometheus)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
	    apt-get install -y -qq --no-install-recommends prometheus >/dev/null && \
	  command -v promtool >/dev/null; \
	fi

deploy-check: deploy-tools
	promtool check config deploy/prometheus/prometheus.yml
	promtool check config deploy/prometheus/prometheus-host.yml
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml
	CI=$${CI:-true} $(GO) test -count=1 ./deploy/
