# One command to run the gateway, one to test it. Everything installs into ./.venv from
# uv.lock (uv itself is pinned and installed into ./.tools).
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: install serve test lint typecheck schema bench clean

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

test: lint typecheck $(FEDERATION)/node_modules/.installed  ## ruff, mypy, then pytest against a real MongoDB wire-protocol server
	$(VENV)/bin/pytest

schema: install  ## rewrite schema.graphql from the code
	$(VENV)/bin/omnigw export-schema

clean:
	rm -rf .venv .tools tests/mongo_server/target $(FEDERATION)/node_modules

bench: install  ## member-360 benchmark (see docs/performance.md); BENCH_ARGS="--scale 20"
	JAVA_TOOL_OPTIONS="$${JAVA_TOOL_OPTIONS:--Xmx8g}" $(VENV)/bin/python -m tests.benchmarks.member360 $(BENCH_ARGS)
