# One command to run the gateway, one to test it. Everything installs into ./.venv from
# uv.lock (uv itself is pinned and installed into ./.tools).
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: install serve test lint typecheck schema docs bench abuse soak clean chromium promtool graphiql wrk

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced

serve: install  ## the gateway on http://127.0.0.1:$(PORT)/graphql (embedded store unless MONGODB_URI)
	OMNIGW_DEBUG_DB_STATS=$${OMNIGW_DEBUG_DB_STATS:-true} $(VENV)/bin/omnigw serve --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy gateway resolvers

# The federation tests run Apollo Gateway and a partner subgraph under Node: npm packages
# from tests/federation/package-lock.json (installed once, then offline-safe from npm's cache).
FEDERATION := tests/federation
$(FEDERATION)/node_modules/.installed: $(FEDERATION)/package.json $(FEDERATION)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is not on PATH: the federation tests need Node.js 20+ and npm" >&2; exit 1; }
	cd $(FEDERATION) && npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	touch $@

# The client checks run the reference clients (graphql-ws, Apollo Client, relay-compiler,
# GraphQL Code Generator) from tests/clients/package-lock.json, installed the same way.
CLIENTS := tests/clients
$(CLIENTS)/node_modules/.installed: $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is not on PATH: the client checks need Node.js 20+ and npm" >&2; exit 1; }
	cd $(CLIENTS) && npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	touch $@

test: lint typecheck chromium promtool $(FEDERATION)/node_modules/.installed $(CLIENTS)/node_modules/.installed  ## ruff, mypy, then pytest against a real MongoDB wire-protocol server
	$(VENV)/bin/pytest

# The browser test drives Debian's chromium with Playwright (no browser download). Install it
# when it is missing and we are root (CI is); otherwise say which package the test needs.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing the Debian package chromium (for tests/test_browser.py)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	      || echo "could not install chromium; tests/test_browser.py will fail" >&2; \
	  else \
	    echo "chromium is missing: install the Debian package 'chromium'; tests/test_browser.py fails without it" >&2; \
	  fi; }

# tests/test_metrics.py checks /metrics with promtool, from Debian's prometheus package (no
# service is started: only the promtool binary is used). Installed like chromium.
promtool:
	@command -v promtool >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing the Debian package prometheus (promtool, for tests/test_metrics.py)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends prometheus; } \
	      || echo "could not install prometheus; tests/test_metrics.py will fail" >&2; \
	  else \
	    echo "promtool is missing: install the Debian package 'prometheus'; tests/test_metrics.py fails without it" >&2; \
	  fi; }

graphiql:  ## rebuild gateway/web/static/graphiql/ from the npm packages pinned in graphiql/package-lock.json
	cd graphiql && npm ci --no-audit --no-fund && npm run build

schema: install  ## rewrite schema.graphql from the code
	$(VENV)/bin/omnigw export-schema

docs: install chromium  ## rewrite the settings tables of docs/settings.md and the GraphiQL screenshot
	$(VENV)/bin/omnigw export-settings
	UPDATE_DOCS_SCREENSHOT=1 $(VENV)/bin/pytest -q -p no:cacheprovider tests/test_browser.py -k member_360

clean:
	rm -rf .venv .tools tests/mongo_server/target $(FEDERATION)/node_modules $(CLIENTS)/node_modules

soak: install  ## two workers under mixed load for a fixed time (see docs/performance.md); SOAK_ARGS="--seconds 60"
	$(VENV)/bin/python -m tests.benchmarks.soak $(SOAK_ARGS)

# make bench drives omnigw serve with wrk, from Debian's wrk package. Installed like chromium.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing the Debian package wrk (for make bench)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } \
	      || echo "could not install wrk; the HTTP part of make bench will fail" >&2; \
	  else \
	    echo "wrk is missing: install the Debian package 'wrk'; the HTTP part of make bench needs it" >&2; \
	  fi; }

bench: install wrk  ## a member's past, then member 360 in process and over HTTP (see docs/performance.md); BENCH_ARGS="--scale 170"
	JAVA_TOOL_OPTIONS="$${JAVA_TOOL_OPTIONS:--Xmx8g}" $(VENV)/bin/python -m tests.benchmarks.history_depth
	JAVA_TOOL_OPTIONS="$${JAVA_TOOL_OPTIONS:--Xmx8g}" $(VENV)/bin/python -m tests.benchmarks.member360 $(BENCH_ARGS)

abuse: install  ## hostile traffic against omnigw serve: resident memory and another key's latency (docs/security.md)
	ulimit -n 8192 && $(VENV)/bin/python -m tests.benchmarks.abuse $(ABUSE_ARGS)
