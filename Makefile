# One command to run the gateway, one to test it. Everything installs into ./.venv from
# uv.lock (uv itself is pinned and installed into ./.tools).
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: install serve test lint typecheck schema bench clean chromium graphiql

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

test: lint typecheck chromium  ## ruff, mypy, then pytest against a real MongoDB wire-protocol server
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

graphiql:  ## rebuild gateway/static/graphiql/ from the npm packages pinned in graphiql/package-lock.json
	cd graphiql && npm ci --no-audit --no-fund && npm run build

schema: install  ## rewrite schema.graphql from the code
	$(VENV)/bin/omnigw export-schema

clean:
	rm -rf .venv .tools tests/mongo_server/target
