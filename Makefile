# Tandem's two everyday commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
UV := $(shell command -v uv 2>/dev/null)
PORT ?= 8000

.PHONY: run test lint deps system-deps node-deps bundle check-bundle bench bench-deps clean cluster-up cluster-down cluster-figures

run: deps
	$(VENV)/bin/tandem serve --port $(PORT)

test: deps system-deps node-deps lint check-bundle
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: deps
	$(VENV)/bin/ruff check crdt server tests
	$(VENV)/bin/ruff format --check crdt server tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

deps: $(VENV)/.synced

# Python dependencies, exactly as uv.lock pins them.
$(VENV)/.synced: pyproject.toml uv.lock
	@if [ -z "$(UV)" ]; then python3 -m pip install -q --disable-pip-version-check uv; fi
	uv sync --frozen --extra dev --python python3
	@touch $@

# Services and browser the tests drive for real (Debian packages; needs root or sudo).
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server redis-tools"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
	  sudo_cmd=""; [ "$$(id -u)" = 0 ] || sudo_cmd=sudo; \
	  $$sudo_cmd apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo_cmd apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Stock Yjs clients for interop tests and benchmarks, exactly as the lockfile pins them.
node-deps: tests/js/node_modules/.package-lock.json client_js/node_modules/.package-lock.json

tests/js/node_modules/.package-lock.json: tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund

# The browser side's build tools and libraries, exactly as its lockfile pins them.
client_js/node_modules/.package-lock.json: client_js/package-lock.json
	npm ci --prefix client_js --no-audit --no-fund

# Rebuild the committed browser bundles in server/http/static/ from client_js/.
bundle: client_js/node_modules/.package-lock.json
	node client_js/build.mjs

# The committed bundles must be what a clean build from the lockfile produces, byte for byte.
check-bundle: client_js/node_modules/.package-lock.json
	@out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	node client_js/build.mjs --outdir "$$out" >/dev/null && \
	if diff -r "$$out" server/http/static >/dev/null; then echo "server/http/static is fresh"; \
	else diff -r "$$out" server/http/static | head -5; \
	  echo "server/http/static is stale: run 'make bundle' and commit it"; exit 1; fi

# Benchmarks (on demand, never in CI): Tandem against the Node reference server and
# pycrdt-websocket, real Yjs clients under Node. BENCH_ARGS="--quick" for a smoke run.
bench: deps system-deps bench-deps
	$(VENV)/bin/python -m tests.bench.run $(BENCH_ARGS)

bench-deps: tests/bench/node_modules/.package-lock.json .bench-venv/.installed

tests/bench/node_modules/.package-lock.json: tests/bench/package-lock.json
	npm ci --prefix tests/bench --no-audit --no-fund

# The peers run in their own venv so their pins never touch ours.
.bench-venv/.installed:
	uv venv -q .bench-venv --python python3
	uv pip install -q --python .bench-venv/bin/python "pycrdt-websocket==0.16.5" "uvicorn[standard]"
	@touch $@

# A real local cluster on loopback: redis-server + 3 hubs + nginx (see deploy/local-cluster.sh).
cluster-up: deps system-deps
	deploy/local-cluster.sh start --hubs 3

cluster-down:
	deploy/local-cluster.sh stop

# Convergence across hubs, recovery after a hub kill and after a Redis restart, and what
# document-affine routing saves (crossing share and p99, round-robin against affine), printed.
cluster-figures: deps system-deps node-deps tests/bench/node_modules/.package-lock.json
	$(VENV)/bin/python -m tests.bench.cluster_figures

clean:
	rm -rf $(VENV) .bench-venv tests/js/node_modules tests/bench/node_modules client_js/node_modules .pytest_cache .mypy_cache .ruff_cache
