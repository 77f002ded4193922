# DR drills: the drill report test renders the HTML report in headless
# Chromium (Debian's chromium package). `make drill-tools` installs it when
# missing; CI runs it before the tests (with CI=true the test fails rather
# than skips when chromium is absent).
.PHONY: drill-tools

drill-tools:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium)"; \
	else \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update && $$SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi
