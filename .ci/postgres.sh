#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the store tests (issue 4).
#
#   source .ci/postgres.sh                        # exports AUDITOR_TEST_POSTGRES_URL
#   url="$(bash .ci/postgres.sh)"                 # or: prints only the URL (then export
#   export AUDITOR_TEST_POSTGRES_URL="$url"       #  it: `export X="$(...)"` hides failure)
#   bash .ci/postgres.sh stop                     # stops the server
#
# Installs Debian's `postgresql` package when no server binaries are found (root only),
# then runs a private cluster (not Debian's main one) as the `postgres` user in
# $AUDITOR_PG_DIR (default /tmp/auditor-postgres), listening on 127.0.0.1 only, port
# $AUDITOR_PG_PORT (default 54329). Idempotent: a cluster that exists is reused, a running
# server is left alone, the role and database are created only when missing. The cluster
# trades durability for speed (fsync off): it holds nothing but test data.
# Progress goes to stderr; stdout carries nothing but the URL.

_auditor_pg_main() (
  set -euo pipefail
  local root="${AUDITOR_PG_DIR:-/tmp/auditor-postgres}"
  local port="${AUDITOR_PG_PORT:-54329}"
  local db=auditor_test user=auditor password=auditor-test   # loopback-only test server
  local data="$root/data"
  log() { echo "postgres.sh: $*" >&2; }

  bindir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then echo "$dir"; return; fi
    dir="$(command -v initdb 2>/dev/null || true)"
    [[ -n "$dir" ]] && dirname "$dir"
    return 0
  }

  local bin
  bin="$(bindir)"
  if [[ -z "$bin" ]]; then
    if [[ "$(id -u)" != 0 ]]; then
      log "no PostgreSQL server binaries (initdb) found; install Debian's postgresql package"
      exit 1
    fi
    log "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >/dev/null
    bin="$(bindir)"
    [[ -n "$bin" ]] || { log "postgresql installed but initdb not found"; exit 1; }
  fi

  # initdb and the server refuse to run as root: root runs them as `postgres`.
  local -a as=()
  if [[ "$(id -u)" == 0 ]]; then as=(runuser -u postgres --); fi
  local version
  version="$("$bin/pg_ctl" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')"

  if [[ "${1:-}" == stop ]]; then
    if [[ -f "$data/PG_VERSION" ]]; then
      "${as[@]}" "$bin/pg_ctl" -D "$data" -m fast -w stop >&2 || true
    fi
    return 0
  fi

  mkdir -p "$root"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$root"; fi
  if [[ -f "$data/PG_VERSION" && "$(cat "$data/PG_VERSION")" != "$version" ]]; then
    log "cluster in $data is from PostgreSQL $(cat "$data/PG_VERSION"), not $version: recreating"
    "${as[@]}" "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$data"
  fi
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initdb $data (PostgreSQL $version)"
    "${as[@]}" "$bin/initdb" -D "$data" -U postgres -E UTF8 --no-locale --no-sync \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  fi

  local -a psql=("${as[@]}" "$bin/psql" -h "$root" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  if "$bin/pg_isready" -q -h "$root" -p "$port" -t 3; then
    log "server already running on 127.0.0.1:$port"
  else
    # A server that died (killed, machine restarted) leaves its pid file behind; one that
    # is alive but not answering is stopped first.
    local pid=""
    [[ -f "$data/postmaster.pid" ]] && pid="$(head -n 1 "$data/postmaster.pid")"
    if [[ -n "$pid" ]]; then
      if ! kill -0 "$pid" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
        log "removing the stale pid file of a server that is gone"
        rm -f "$data/postmaster.pid"
      else
        log "stopping an unresponsive server (pid $pid)"
        "${as[@]}" "$bin/pg_ctl" -D "$data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
      fi
    fi
    log "starting the server on 127.0.0.1:$port"
    local try
    for try in 1 2 3 4 5; do
      # Backends orphaned by a killed server exit by themselves within moments; until
      # then the new server refuses their shared memory, hence the retries.
      if "${as[@]}" "$bin/pg_ctl" -D "$data" -l "$root/server.log" -w -t 60 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >/dev/null 2>&1; then
        break
      fi
      if [[ "$try" == 5 ]]; then
        log "the server did not start; its log:"
        tail -n 30 "$root/server.log" >&2
        exit 1
      fi
      sleep 1
    done
  fi

  "${psql[@]}" >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$user') THEN
    CREATE ROLE $user LOGIN;
  END IF;
END \$\$;
ALTER ROLE $user LOGIN PASSWORD '$password';
SQL
  if [[ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
    log "creating database $db owned by $user"
    "${psql[@]}" -c "CREATE DATABASE $db OWNER $user" >/dev/null
  fi
  echo "postgresql+psycopg://$user:$password@127.0.0.1:$port/$db"
)

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  # Sourced: export the URL into the caller's shell and leave its options alone. A plain
  # assignment (not `if`, `&&`, `export x=$(...)`) keeps `set -e` working inside.
  AUDITOR_TEST_POSTGRES_URL="$(_auditor_pg_main "$@")"
  _auditor_pg_rc=$?
  unset -f _auditor_pg_main
  if [[ "$_auditor_pg_rc" == 0 ]]; then
    export AUDITOR_TEST_POSTGRES_URL
  else
    unset AUDITOR_TEST_POSTGRES_URL
  fi
  unset _auditor_pg_rc
else
  _auditor_pg_main "$@"
fi
