#!/usr/bin/env bash
# setup_services.sh - make sure the local services the MAI test-suite needs are up:
#   1. PostgreSQL on 127.0.0.1:5432 (installed/started if needed)
#   2. Redis on 127.0.0.1:6379 (installed/started if needed)
#   3. the pgvector extension for the running PostgreSQL major version
#      (apt package if one exists, otherwise built from Debian trixie's source package)
#   4. a test database ($MAI_TEST_DB, default mai_test) with `vector` created in it
#
# Idempotent: when everything is already in place it only runs a few cheap checks
# and prints one "ok" line per item.  Designed for Debian (bookworm/trixie), run as
# root (or with password-less sudo), non-interactively (CI, no stdin).
#
# Environment:
#   MAI_TEST_DB      test database name                 (default: mai_test)
#   MAI_SETUP_LOG    log file for apt/make/build output (default: /tmp/mai-setup-services.log)
#   MAI_WAIT_SECS    max seconds to wait for a service  (default: 30)
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
DB_NAME="${MAI_TEST_DB:-mai_test}"
LOG="${MAI_SETUP_LOG:-/tmp/mai-setup-services.log}"
WAIT_SECS="${MAI_WAIT_SECS:-30}"

START_NS=$(date +%s%N)
: >"$LOG"

# --------------------------------------------------------------------------- helpers
say() { printf 'setup: %s\n' "$*"; }

REPORTED=0
die() {
  REPORTED=1
  printf 'setup: ERROR: %s\n' "$*" >&2
  exit 1
}

# Print the tail of the log and die.
die_with_log() {
  REPORTED=1
  printf 'setup: ERROR: %s\n' "$*" >&2
  if [[ -s "$LOG" ]]; then
    printf 'setup: ---- last 40 lines of %s ----\n' "$LOG" >&2
    tail -n 40 "$LOG" >&2
    printf 'setup: ---- end of log ----\n' >&2
  fi
  exit 1
}

# Anything that fails without going through die(): say so, and point at the log.
LAST_CMD=""
BUILD_TMP=""
trap 'LAST_CMD="line $LINENO: $BASH_COMMAND"' ERR
on_exit() {
  local rc=$?
  if [[ $rc -ne 0 && $REPORTED -eq 0 ]]; then
    printf 'setup: ERROR: unexpected failure (exit %s)%s; log: %s\n' "$rc" "${LAST_CMD:+ at $LAST_CMD}" "$LOG" >&2
  fi
  if [[ -n "$BUILD_TMP" ]]; then rm -rf "$BUILD_TMP"; fi
}
trap on_exit EXIT

# Run a noisy command with its output appended to $LOG; on failure show the log tail.
#   run "description" cmd args...
run() {
  local desc=$1
  shift
  printf '\n==== %s\n==== $ %s\n' "$desc" "$*" >>"$LOG"
  if ! "$@" </dev/null >>"$LOG" 2>&1; then
    die_with_log "$desc failed: $*"
  fi
}

elapsed() { # seconds since $1 (ns timestamp), one decimal
  local now
  now=$(date +%s%N)
  awk -v a="$1" -v b="$now" 'BEGIN { printf "%.1fs", (b - a) / 1e9 }'
}

# Root-only operations (apt, starting services) go through $SUDO when not root.
SUDO=()
if [[ $EUID -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  fi
fi
need_root() {
  if [[ $EUID -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
    die "$1 requires root (or password-less sudo)"
  fi
}

APT_UPDATED=0
APT_OPTS=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt_update_once() {
  if [[ $APT_UPDATED -eq 0 ]]; then
    need_root "apt-get update"
    say "apt-get update ..."
    run "apt-get update" "${SUDO[@]}" apt-get -q -o DPkg::Lock::Timeout=300 update
    APT_UPDATED=1
  fi
}
apt_install() {
  need_root "apt-get install $*"
  apt_update_once
  local t0
  t0=$(date +%s%N)
  say "apt-get install $* ..."
  run "apt-get install $*" "${SUDO[@]}" apt-get install "${APT_OPTS[@]}" "$@"
  say "installed $* ($(elapsed "$t0"))"
}
pkg_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}
# True if apt knows an installable candidate for package $1 (call after apt_update_once).
apt_has_candidate() {
  local cand
  cand=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }')
  [[ -n "$cand" && "$cand" != "(none)" ]]
}

# ------------------------------------------------------------------ 1. PostgreSQL
pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1; }

latest_cluster_version() {
  local v=""
  if [[ -d /etc/postgresql ]]; then
    # shellcheck disable=SC2012  # cluster versions are plain numbers
    v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  printf '%s' "$v"
}

ensure_postgres() {
  if command -v pg_isready >/dev/null 2>&1 && pg_ready; then
    say "ok: postgresql accepting connections on $PG_HOST:$PG_PORT"
    return
  fi

  if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1 \
    || [[ -z "$(latest_cluster_version)" ]]; then
    say "postgresql not installed, installing ..."
    apt_install postgresql
    # The package's postinst may already have started the cluster.
    if pg_ready; then
      say "ok: postgresql installed and accepting connections on $PG_HOST:$PG_PORT"
      return
    fi
  fi

  local ver
  ver=$(latest_cluster_version)
  [[ -n "$ver" && -d "/etc/postgresql/$ver/main" ]] \
    || die "no PostgreSQL cluster 'main' found under /etc/postgresql (found: '${ver:-none}'); create one with: pg_createcluster <version> main"

  need_root "starting PostgreSQL"
  say "starting postgresql $ver/main ..."
  local t0
  t0=$(date +%s%N)
  printf '\n==== pg_ctlcluster %s main start\n' "$ver" >>"$LOG"
  if ! "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" main start </dev/null >>"$LOG" 2>&1; then
    # Exit code 2 = "already running"; anything else is a real failure unless it came up anyway.
    if ! pg_ready; then
      printf '\n==== pg_lsclusters\n' >>"$LOG"
      pg_lsclusters >>"$LOG" 2>&1 || true
      tail -n 20 "/var/log/postgresql/postgresql-$ver-main.log" >>"$LOG" 2>/dev/null || true
      if pg_lsclusters 2>/dev/null | awk -v v="$ver" '$1 == v && $2 == "main" && $4 == "online" { f = 1 } END { exit !f }'; then
        die_with_log "cluster $ver/main is running but not accepting connections on $PG_HOST:$PG_PORT (check port/listen_addresses in /etc/postgresql/$ver/main/postgresql.conf)"
      fi
      die_with_log "pg_ctlcluster $ver main start failed"
    fi
  fi

  local i
  for ((i = 0; i < WAIT_SECS * 2; i++)); do
    if pg_ready; then
      say "ok: postgresql $ver/main started ($(elapsed "$t0"))"
      return
    fi
    sleep 0.5
  done
  tail -n 20 "/var/log/postgresql/postgresql-$ver-main.log" >>"$LOG" 2>/dev/null || true
  die_with_log "postgresql $ver/main did not accept connections on $PG_HOST:$PG_PORT within ${WAIT_SECS}s"
}

# ----------------------------------------------------------------------- 2. Redis
redis_ready() {
  [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping </dev/null 2>/dev/null)" == "PONG" ]]
}

ensure_redis() {
  if command -v redis-cli >/dev/null 2>&1 && redis_ready; then
    say "ok: redis answering PONG on $REDIS_HOST:$REDIS_PORT"
    return
  fi

  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    say "redis not installed, installing ..."
    apt_install redis-server
    if redis_ready; then
      say "ok: redis installed and answering PONG on $REDIS_HOST:$REDIS_PORT"
      return
    fi
  fi

  say "starting redis-server ..."
  local t0
  t0=$(date +%s%N)
  run "start redis-server" "${SUDO[@]}" redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no

  local i
  for ((i = 0; i < WAIT_SECS * 2; i++)); do
    if redis_ready; then
      say "ok: redis-server started ($(elapsed "$t0"))"
      return
    fi
    sleep 0.5
  done
  printf '\n==== redis-cli ping\n' >>"$LOG"
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping </dev/null >>"$LOG" 2>&1 || true
  die_with_log "redis did not answer PONG on $REDIS_HOST:$REDIS_PORT within ${WAIT_SECS}s"
}

# ------------------------------------------------------------------- psql access
# Prefer TCP as postgres (trust auth); fall back to the unix socket as the postgres
# OS user (peer auth, e.g. right after a fresh `apt-get install postgresql`).
PSQL=()
pick_psql() {
  local tcp=(psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres)
  if PGCONNECT_TIMEOUT=5 "${tcp[@]}" -d postgres -c 'SELECT 1' </dev/null >/dev/null 2>>"$LOG"; then
    PSQL=("${tcp[@]}")
    return
  fi
  local sock=(psql -X -q -t -A -v ON_ERROR_STOP=1 -p "$PG_PORT")
  if [[ $EUID -eq 0 ]] && command -v runuser >/dev/null 2>&1; then
    sock=(runuser -u postgres -- "${sock[@]}")
  elif [[ $EUID -ne 0 && ${#SUDO[@]} -gt 0 ]]; then
    sock=("${SUDO[@]}" -u postgres "${sock[@]}")
  else
    die_with_log "cannot connect to PostgreSQL as user postgres on $PG_HOST:$PG_PORT (no password-less auth?)"
  fi
  if "${sock[@]}" -d postgres -c 'SELECT 1' </dev/null >/dev/null 2>>"$LOG"; then
    PSQL=("${sock[@]}")
    return
  fi
  die_with_log "cannot connect to PostgreSQL as user postgres (tried $PG_HOST:$PG_PORT and the unix socket)"
}

# q DB SQL  -> prints result rows (unaligned, tuples only)
q() {
  local db=$1 sql=$2
  PGCONNECT_TIMEOUT=5 "${PSQL[@]}" -d "$db" -c "$sql" </dev/null 2>>"$LOG"
}

# -------------------------------------------------------------------- 3. pgvector
vector_available() {
  [[ "$(q postgres "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")" == "1" ]]
}

# Mirror used for bookworm in the system apt config (deb822 first, then one-line format).
debian_mirror() {
  local uri=""
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    uri=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" || $1 == "deb-src" {
                 for (i = 2; i <= NF; i++) {
                   if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; continue }
                   if ($i !~ /security/) print $i
                   break
                 }
               }' /etc/apt/sources.list | head -n 1)
  fi
  uri=${uri%/}
  printf '%s' "${uri:-http://deb.debian.org/debian}"
}

build_pgvector_from_trixie_source() {
  local n=$1 t0 tmp mirror keyring pg_config
  need_root "building pgvector"
  t0=$(date +%s%N)
  pg_config="/usr/lib/postgresql/$n/bin/pg_config"

  command -v dpkg-source >/dev/null 2>&1 || apt_install dpkg-dev
  local build_deps=() p
  for p in "postgresql-server-dev-$n" build-essential; do
    pkg_installed "$p" || build_deps+=("$p")
  done
  [[ ${#build_deps[@]} -eq 0 ]] || apt_install "${build_deps[@]}"
  [[ -x "$pg_config" ]] || die "pg_config for PostgreSQL $n not found at $pg_config"

  tmp=$(mktemp -d /tmp/mai-pgvector.XXXXXX)
  BUILD_TMP=$tmp
  mirror=$(debian_mirror)
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$tmp/lists/partial" "$tmp/empty" "$tmp/src"
  if [[ -f "$keyring" ]]; then
    printf 'deb-src [signed-by=%s] %s trixie main\n' "$keyring" "$mirror" >"$tmp/sources.list"
  else
    printf 'deb-src %s trixie main\n' "$mirror" >"$tmp/sources.list"
  fi
  # Private apt state: nothing under /etc/apt or /var/lib/apt is touched, and the
  # binary caches are disabled so /var/cache/apt/*.bin are not rewritten either.
  local aopt=(
    -o "Dir::Etc::SourceList=$tmp/sources.list"
    -o "Dir::Etc::SourceParts=$tmp/empty"
    -o "Dir::State::Lists=$tmp/lists"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    -o "APT::Sandbox::User=root"
  )
  say "fetching pgvector source from $mirror (trixie) ..."
  run "apt-get update (private trixie deb-src list)" apt-get -q "${aopt[@]}" update
  cd "$tmp/src"
  run "apt-get source pgvector" apt-get -q "${aopt[@]}" source --download-only pgvector
  cd - >/dev/null

  local dscs=("$tmp"/src/pgvector_*.dsc) dsc
  dsc=${dscs[0]}
  [[ -f "$dsc" ]] || die_with_log "apt-get source did not produce a pgvector .dsc in $tmp/src"
  run "dpkg-source -x $dsc" dpkg-source -x "$dsc" "$tmp/src/pgvector"

  say "building $(basename "$dsc" .dsc) for PostgreSQL $n ..."
  run "make pgvector" make -C "$tmp/src/pgvector" -j"$(nproc 2>/dev/null || echo 2)" PG_CONFIG="$pg_config" OPTFLAGS=""
  run "make install pgvector" make -C "$tmp/src/pgvector" PG_CONFIG="$pg_config" OPTFLAGS="" install

  rm -rf "$tmp"
  BUILD_TMP=""
  say "built and installed pgvector from source ($(elapsed "$t0"))"
}

ensure_pgvector() {
  local num n
  num=$(q postgres 'SHOW server_version_num') || die_with_log "could not query server_version_num"
  [[ "$num" =~ ^[0-9]+$ ]] || die "unexpected server_version_num: '$num'"
  n=$((num / 10000))

  if vector_available; then
    say "ok: pgvector available for PostgreSQL $n"
    return
  fi

  say "pgvector not available for PostgreSQL $n, installing ..."
  local pkg="postgresql-$n-pgvector"
  apt_update_once
  if apt_has_candidate "$pkg"; then
    apt_install "$pkg"
  else
    say "no apt package $pkg, building from Debian trixie source"
    build_pgvector_from_trixie_source "$n"
  fi

  vector_available || die_with_log "pgvector was installed but 'vector' is still not in pg_available_extensions for PostgreSQL $n"
  say "ok: pgvector available for PostgreSQL $n"
}

# ------------------------------------------------------------------ 4. test database
ensure_test_db() {
  local db_lit ident
  db_lit=${DB_NAME//\'/\'\'}         # SQL string literal escaping
  ident=\"${DB_NAME//\"/\"\"}\"      # SQL identifier quoting

  if [[ "$(q postgres "SELECT 1 FROM pg_database WHERE datname = '$db_lit'")" == "1" ]]; then
    say "ok: database $DB_NAME exists"
  else
    q postgres "CREATE DATABASE $ident OWNER postgres" >/dev/null \
      || die_with_log "could not create database $DB_NAME"
    say "ok: database $DB_NAME created"
  fi

  if [[ "$(q "$DB_NAME" "SELECT 1 FROM pg_extension WHERE extname = 'vector'")" == "1" ]]; then
    say "ok: extension vector present in $DB_NAME"
  else
    q "$DB_NAME" "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null \
      || die_with_log "could not create extension vector in $DB_NAME"
    say "ok: extension vector created in $DB_NAME"
  fi
}

# -------------------------------------------------------------------------- main
ensure_postgres
ensure_redis
pick_psql
ensure_pgvector
ensure_test_db
say "done ($(elapsed "$START_NS"))"
