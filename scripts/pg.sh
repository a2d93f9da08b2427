#!/usr/bin/env bash
# A local PostgreSQL for Baton's audit store (make dev).
#   scripts/pg.sh start DIR PORT   initialise DIR once, start on 127.0.0.1:PORT,
#                                  create the audit roles (baton_owner, baton_writer,
#                                  baton_reader) and the database "baton" owned by
#                                  baton_owner; nothing to do if running
#   scripts/pg.sh stop DIR         stop it; nothing to do if stopped
# initdb refuses root: as root the cluster belongs to the `postgres` user.
# Trust authentication on loopback only: a development database.
set -euo pipefail

usage() { echo "usage: scripts/pg.sh start DIR PORT | stop DIR" >&2; exit 2; }

pgbin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  echo "scripts/pg.sh: PostgreSQL binaries (initdb, pg_ctl) not found: run 'make postgresql'" >&2
  exit 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || usage
BIN=$(pgbin)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"

case "$cmd" in
start)
  port=${3:-}
  [ -n "$port" ] || usage
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    runuser -u postgres -- test -w "$dir" || {
      echo "scripts/pg.sh: the postgres user cannot reach $dir (a parent folder is private)" >&2; exit 1; }
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    echo "Initialising PostgreSQL in $data..."
    as_owner "$BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2; exit 1; }
    as_owner mkdir -p "$dir/sock"
  fi
  if as_owner "$BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    echo "PostgreSQL already running in $data"
  else
    as_owner "$BIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1" start >/dev/null || {
      echo "scripts/pg.sh: PostgreSQL did not start; its log ($dir/postgres.log):" >&2
      tail -20 "$dir/postgres.log" >&2; exit 1; }
  fi
  psql_as() { as_owner "$BIN/psql" -h "$dir/sock" -p "$port" -U postgres -v ON_ERROR_STOP=1 "$@"; }
  # The audit store's roles: baton_owner owns the tables and runs the
  # migrations (worker --migrate), baton_writer appends (the worker),
  # baton_reader reads (the anchor, starter audit).
  psql_as -d postgres -qc "DO \$\$ DECLARE r text; BEGIN
    FOREACH r IN ARRAY ARRAY['baton_owner', 'baton_writer', 'baton_reader'] LOOP
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN EXECUTE format('CREATE ROLE %I LOGIN', r); END IF;
    END LOOP; END \$\$"
  if ! psql_as -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'baton'" | grep -q 1; then
    psql_as -d postgres -qc "CREATE DATABASE baton OWNER baton_owner"
  fi
  # A database made before the roles existed: hand it and its audit
  # tables and functions to the owner role.
  psql_as -d baton -qc "ALTER DATABASE baton OWNER TO baton_owner; DO \$\$ DECLARE r record; BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner <> 'baton_owner' AND tablename LIKE 'audit\_%' LOOP
      EXECUTE format('ALTER TABLE %I OWNER TO baton_owner', r.tablename); END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND p.proname LIKE 'audit\_%' AND pg_get_userbyid(p.proowner) <> 'baton_owner' LOOP
      EXECUTE format('ALTER FUNCTION %s OWNER TO baton_owner', r.f); END LOOP; END \$\$"
  echo "PostgreSQL on 127.0.0.1:$port (database baton owned by baton_owner; the worker writes as baton_writer; log $dir/postgres.log)"
  ;;
stop)
  if [ -f "$data/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    echo "PostgreSQL in $data stopped"
  fi
  ;;
*) usage ;;
esac
