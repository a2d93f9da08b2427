#!/usr/bin/env bash
# make cluster: a production-shaped Temporal on one machine, without
# containers. PostgreSQL 15 (Debian's), the Temporal schema, a Temporal server
# with every service in one process on PostgreSQL (deploy/cluster/temporal.yaml),
# the Temporal Web UI server with the codec server that decrypts payloads for
# it, the simulated systems, the audit log's witness and anchor, and two
# worker replicas.
# Everything runs in the background; state and logs stay in $BATON_CLUSTER_DIR.
#
#   scripts/cluster.sh up                start everything (make cluster)
#   scripts/cluster.sh up-server         PostgreSQL, schema and server only (the test tier)
#   scripts/cluster.sh up-apps           codec server, Web UI, simulator and workers on a running server
#   scripts/cluster.sh down-apps         stop those, leave the server and PostgreSQL
#   scripts/cluster.sh down              stop everything started here (make cluster-down)
#   scripts/cluster.sh restart-server    stop and start the Temporal server
#   scripts/cluster.sh restart-postgres  stop and start PostgreSQL
#   scripts/cluster.sh status            what runs, and where
#
# The Makefile passes the binaries (TEMPORAL, TEMPORAL_SERVER, TEMPORAL_SQL,
# TEMPORAL_UI) and the schema folder (TEMPORAL_SCHEMA). Ports, each
# overridable; BATON_CLUSTER_PORTS=auto picks free ones (tests):
#   BATON_CLUSTER_PORT          Temporal frontend gRPC        7233
#   BATON_CLUSTER_INTERNAL_PORT first of 9 internal ports     7234 (..7242; below
#                               32760: the server stores membership ports as smallint)
#   BATON_CLUSTER_PG_PORT       PostgreSQL                    5433
#   BATON_CLUSTER_UI_PORT       Web UI                        8233
#   BATON_CLUSTER_SIM_ADDR      simulated systems             localhost:8090
#   BATON_CLUSTER_METRICS_PORT  first worker's /metrics, the second's is +1  9464
#   BATON_CLUSTER_CODEC_ADDR    codec server (for the Web UI)  localhost:8236
#   BATON_CLUSTER_ANCHOR_ADDR   audit log (anchor)            localhost:8237
#   BATON_CLUSTER_WITNESS_ADDR  audit log witness             localhost:8238
# The audit store is a database of the cluster's PostgreSQL with three
# roles: baton_owner (migrations: worker --migrate), baton_writer (the
# workers: append only), baton_reader (the anchor, starter audit). The
# audit keys (writer, anchor, witness) are made on first start in
# $BATON_CLUSTER_DIR/keys.
# Payloads are encrypted with the key make codec-key writes (.dev/codec.keys,
# or BATON_CODEC_KEY_FILE); the UI reaches the codec server with the token in
# .dev/codec.token, in the endpoint's path as make dev does.
# BATON_BIN names the folder of Baton's binaries (default bin, make build);
# BATON_CODEC_SERVER_TOKEN_FILE the codec token (default .dev/codec.token).
# The ports chosen at the first start are kept in $BATON_CLUSTER_DIR/cluster.env
# and reused by every later command on that folder.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DIR=${BATON_CLUSTER_DIR:-.cluster}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
ENVFILE=$DIR/cluster.env

die() {
  echo "cluster: $*" >&2
  case "${STARTING:-}" in
    1) STARTING=0; echo "cluster: stopping what this start began" >&2; stop_all >/dev/null 2>&1 || true ;;
    apps) STARTING=0; echo "cluster: stopping what this start began" >&2; stop_apps >/dev/null 2>&1 || true ;;
  esac
  exit 1
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- settings: from cluster.env once chosen, else the environment --------
if [ -f "$ENVFILE" ]; then
  # shellcheck disable=SC1090
  . "$ENVFILE"
else
  PORT=${BATON_CLUSTER_PORT:-7233}
  INTERNAL=${BATON_CLUSTER_INTERNAL_PORT:-7234}
  PG_PORT=${BATON_CLUSTER_PG_PORT:-5433}
  UI_PORT=${BATON_CLUSTER_UI_PORT:-8233}
  SIM_ADDR=${BATON_CLUSTER_SIM_ADDR:-localhost:8090}
  METRICS_PORT=${BATON_CLUSTER_METRICS_PORT:-9464}
  CODEC_ADDR=${BATON_CLUSTER_CODEC_ADDR:-localhost:8236}
  ANCHOR_ADDR=${BATON_CLUSTER_ANCHOR_ADDR:-localhost:8237}
  WITNESS_ADDR=${BATON_CLUSTER_WITNESS_ADDR:-localhost:8238}
  if [ "${BATON_CLUSTER_PORTS:-}" = auto ] && [[ ${1:-} == up* ]]; then
    # A block of 18 free ports at a random place: frontend, 9 internal,
    # PostgreSQL, UI, simulator, two workers' metrics, codec server,
    # anchor, witness.
    for _ in $(seq 1 50); do
      base=$((20000 + RANDOM % 12000))
      free=1
      for ((p = base; p < base + 18; p++)); do
        if port_busy "$p"; then free=0; break; fi
      done
      [ $free = 1 ] && break
    done
    [ $free = 1 ] || die "no block of 18 free ports found"
    PORT=$base INTERNAL=$((base + 1)) PG_PORT=$((base + 10)) UI_PORT=$((base + 11))
    SIM_ADDR=localhost:$((base + 12)) METRICS_PORT=$((base + 13)) CODEC_ADDR=localhost:$((base + 15))
    ANCHOR_ADDR=localhost:$((base + 16)) WITNESS_ADDR=localhost:$((base + 17))
  fi
fi

pg_bin() {
  local d
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  die "PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL 12 or later (Debian: apt-get install postgresql)"
}

# PostgreSQL refuses to run as root: as root it runs as the postgres user,
# in a folder that user owns; otherwise as the current user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_base() {
  if [ "$(id -u)" != 0 ]; then echo "$DIR/postgres"; return; fi
  id postgres >/dev/null 2>&1 || die "running as root needs the postgres user (Debian's postgresql package creates it)"
  if runuser -u postgres -- test -x "$DIR"; then echo "$DIR/postgres"; return; fi
  # The postgres user cannot reach $DIR (e.g. a clone under /root): keep
  # the database where it can, named after $DIR.
  echo "/var/tmp/baton-cluster-$(echo "$DIR" | md5sum | cut -c1-12)"
}

save_env() {
  cat >"$ENVFILE" <<EOF
PORT=$PORT
INTERNAL=$INTERNAL
PG_PORT=$PG_PORT
UI_PORT=$UI_PORT
SIM_ADDR=$SIM_ADDR
METRICS_PORT=$METRICS_PORT
CODEC_ADDR=$CODEC_ADDR
ANCHOR_ADDR=$ANCHOR_ADDR
WITNESS_ADDR=$WITNESS_ADDR
PG_BASE=$PG_BASE
TEMPORAL_ADDRESS=127.0.0.1:$PORT
EOF
}

# ---- background processes ------------------------------------------------
running() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

spawn() { # name cmd...: start in its own session, log to $DIR/name.log
  local name=$1; shift
  setsid "$@" >>"$DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
}

stop() { # name [signal]
  local name=$1 sig=${2:-TERM} pid
  running "$name" || { rm -f "$DIR/$name.pid"; return 0; }
  pid=$(cat "$DIR/$name.pid")
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$DIR/$name.pid"; return 0; }
    sleep 0.1
  done
  echo "cluster: $name did not stop within 15s of SIG$sig; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$DIR/$name.pid"
}

need() { [ -n "${!1:-}" ] && [ -e "${!1}" ] || die "$1 is not set or missing (${!1:-unset}): run this through make (make cluster)"; }

# ---- PostgreSQL ----------------------------------------------------------
pg_start() {
  local bin; bin=$(pg_bin)
  if [ ! -f "$PG_BASE/data/PG_VERSION" ]; then
    echo "Creating the PostgreSQL cluster in $PG_BASE/data..."
    if [ "$(id -u)" = 0 ]; then install -d -o postgres -g postgres -m 700 "$PG_BASE"; else install -d -m 700 "$PG_BASE"; fi
    as_pg "$bin/initdb" -D "$PG_BASE/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
      { cat "$DIR/initdb.log" >&2; die "initdb failed (log $DIR/initdb.log)"; }
  fi
  if as_pg "$bin/pg_ctl" -D "$PG_BASE/data" status >/dev/null 2>&1; then return 0; fi
  port_busy "$PG_PORT" && die "PostgreSQL port $PG_PORT is in use: set BATON_CLUSTER_PG_PORT"
  as_pg "$bin/pg_ctl" -D "$PG_BASE/data" -l "$PG_BASE/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200" start >/dev/null ||
    { tail -20 "$PG_BASE/postgres.log" >&2; die "PostgreSQL did not start (log $PG_BASE/postgres.log)"; }
}

pg_stop() {
  local bin; bin=$(pg_bin)
  [ -f "$PG_BASE/data/PG_VERSION" ] || return 0
  as_pg "$bin/pg_ctl" -D "$PG_BASE/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

schema() {
  [ -f "$DIR/schema.done" ] && return 0
  need TEMPORAL_SQL; need TEMPORAL_SCHEMA
  echo "Creating the Temporal schema (databases temporal, temporal_visibility)..."
  local db sub
  for db in temporal temporal_visibility; do
    sub=temporal; [ $db = temporal_visibility ] && sub=visibility
    sql() { "$TEMPORAL_SQL" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u postgres --db "$db" "$@" >>"$DIR/schema.log" 2>&1; }
    sql create || die "create database $db failed (log $DIR/schema.log)"
    sql setup-schema -v 0.0 || die "setup-schema $db failed (log $DIR/schema.log)"
    sql update-schema -d "$TEMPORAL_SCHEMA/$sub/versioned" || die "update-schema $db failed (log $DIR/schema.log)"
  done
  touch "$DIR/schema.done"
}

# ---- Temporal server -----------------------------------------------------
render() { # template output
  sed -e "s|@FRONTEND_PORT@|$PORT|g" \
      -e "s|@HISTORY_PORT@|$INTERNAL|g" \
      -e "s|@MATCHING_PORT@|$((INTERNAL + 1))|g" \
      -e "s|@WORKER_PORT@|$((INTERNAL + 2))|g" \
      -e "s|@FRONTEND_MEMBERSHIP_PORT@|$((INTERNAL + 3))|g" \
      -e "s|@HISTORY_MEMBERSHIP_PORT@|$((INTERNAL + 4))|g" \
      -e "s|@MATCHING_MEMBERSHIP_PORT@|$((INTERNAL + 5))|g" \
      -e "s|@WORKER_MEMBERSHIP_PORT@|$((INTERNAL + 6))|g" \
      -e "s|@FRONTEND_HTTP_PORT@|$((INTERNAL + 7))|g" \
      -e "s|@METRICS_PORT@|$((INTERNAL + 8))|g" \
      -e "s|@PG_PORT@|$PG_PORT|g" \
      -e "s|@UI_PORT@|$UI_PORT|g" \
      -e "s|@CODEC_ENDPOINT@|${CODEC_ENDPOINT:-}|g" \
      -e "s|@DYNAMIC_CONFIG@|$ROOT/deploy/cluster/dynamicconfig.yaml|g" "$1" >"$2"
}

server_healthy() { "$TEMPORAL" operator cluster health --address "127.0.0.1:$PORT" 2>/dev/null | grep -q SERVING; }

wait_for() { # what seconds process-name check...
  local what=$1 secs=$2 name=$3; shift 3
  for _ in $(seq 1 $((secs * 4))); do
    "$@" && return 0
    if ! running "$name"; then
      tail -20 "$DIR/$name.log" >&2
      die "$what exited (log $DIR/$name.log)"
    fi
    sleep 0.25
  done
  tail -20 "$DIR/$name.log" >&2
  die "$what not ready within ${secs}s (log $DIR/$name.log)"
}

server_start() {
  need TEMPORAL_SERVER; need TEMPORAL
  running server && return 0
  [ $((INTERNAL + 8)) -lt 32768 ] || die "BATON_CLUSTER_INTERNAL_PORT=$INTERNAL: the internal ports must stay below 32768 (the server stores membership ports as smallint)"
  local p
  for p in "$PORT" $(seq "$INTERNAL" $((INTERNAL + 8))); do
    port_busy "$p" && die "port $p is in use: set BATON_CLUSTER_PORT / BATON_CLUSTER_INTERNAL_PORT"
  done
  mkdir -p "$DIR/config"
  render deploy/cluster/temporal.yaml "$DIR/config/cluster.yaml"
  spawn server "$TEMPORAL_SERVER" --root "$DIR" --config config --env cluster --allow-no-auth start
  wait_for "the Temporal server" 60 server server_healthy
}

namespace() { # create the default namespace once; 7 days for starter report --since 7d
  "$TEMPORAL" operator namespace describe --address "127.0.0.1:$PORT" -n default >/dev/null 2>&1 && return 0
  "$TEMPORAL" operator namespace create --address "127.0.0.1:$PORT" -n default --retention 168h >/dev/null ||
    die "could not create the default namespace"
}

# ---- Baton ---------------------------------------------------------------
http_ok() { curl -fsS -o /dev/null "$1" 2>/dev/null; }

# The audit store: a database of its own on the cluster's PostgreSQL with
# an owner, a writer and a reader role, unless BATON_AUDIT_DSN names
# another (then BATON_AUDIT_OWNER_DSN, if set, migrates it, and the anchor
# reads with BATON_AUDIT_DSN). worker --migrate applies the migrations as
# the owner; the workers append as the writer.
AUDIT_DB="@127.0.0.1:$PG_PORT/baton_audit?sslmode=disable"
AUDIT_DSN=${BATON_AUDIT_DSN:-postgres://baton_writer$AUDIT_DB}
AUDIT_OWNER_DSN=${BATON_AUDIT_OWNER_DSN:-}
AUDIT_READER_DSN=$AUDIT_DSN
if [ -z "${BATON_AUDIT_DSN:-}" ]; then
  AUDIT_OWNER_DSN=postgres://baton_owner$AUDIT_DB AUDIT_READER_DSN=postgres://baton_reader$AUDIT_DB
fi
KEYS=$DIR/keys
audit_db() {
  [ -n "${BATON_AUDIT_DSN:-}" ] || [ -f "$DIR/audit.done" ] && return 0
  local psql
  psql=$(dirname "$(readlink -f "$(pg_bin)/pg_ctl")")/psql
  [ -x "$psql" ] || psql=$(command -v psql) || die "psql not found beside pg_ctl or on the PATH"
  as_pg "$psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >>"$DIR/schema.log" 2>&1 <<'SQL' \
    || die "create the audit roles and database baton_audit failed (log $DIR/schema.log)"
DO $$ DECLARE r text; BEGIN
  FOREACH r IN ARRAY ARRAY['baton_owner', 'baton_writer', 'baton_reader'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN EXECUTE format('CREATE ROLE %I LOGIN', r); END IF;
  END LOOP; END $$;
CREATE DATABASE baton_audit OWNER baton_owner;
SQL
  touch "$DIR/audit.done"
}

# The audit log: keys made once in $KEYS, the schema migrated as the
# owner, the witness, then the anchor (it publishes cosigned checkpoints).
audit_log_start() {
  local bin=$1
  mkdir -p "$KEYS"
  "$bin/worker" --new-key "$KEYS/audit-writer.key" >/dev/null && "$bin/anchor" --new-key "$KEYS/anchor.key" >/dev/null &&
    "$bin/witness" --new-key "$KEYS/witness.key" >/dev/null || die "could not write the audit keys into $KEYS"
  if [ -n "$AUDIT_OWNER_DSN" ]; then
    BATON_AUDIT_OWNER_DSN=$AUDIT_OWNER_DSN BATON_AUDIT_DSN=$AUDIT_DSN BATON_AUDIT_READERS=baton_reader \
      "$bin/worker" --migrate --log-level warn >>"$DIR/schema.log" 2>&1 || { tail -5 "$DIR/schema.log" >&2; die "worker --migrate failed (log $DIR/schema.log)"; }
  fi
  BATON_WITNESS_LISTEN=$WITNESS_ADDR BATON_WITNESS_DIR=$DIR/witness BATON_WITNESS_KEY_FILE=$KEYS/witness.key \
    BATON_AUDIT_LOG_PUBLIC_KEY=$KEYS/anchor.key.pub spawn witness "$bin/witness"
  wait_for "the witness" 20 witness http_ok "http://$WITNESS_ADDR/healthz"
  BATON_AUDIT_DSN=$AUDIT_READER_DSN BATON_ANCHOR_LISTEN=$ANCHOR_ADDR BATON_ANCHOR_DIR=$DIR/anchor BATON_ANCHOR_KEY_FILE=$KEYS/anchor.key \
    BATON_ANCHOR_WITNESS_URL=http://$WITNESS_ADDR BATON_AUDIT_WRITER_PUBLIC_KEYS=$KEYS/audit-writer.key.pub \
    BATON_AUDIT_WITNESS_PUBLIC_KEYS=$KEYS/witness.key.pub spawn anchor "$bin/anchor"
  wait_for "the anchor" 20 anchor http_ok "http://$ANCHOR_ADDR/healthz"
}

apps_start() {
  need TEMPORAL_UI
  local p
  for p in "$UI_PORT" "${SIM_ADDR##*:}" "$METRICS_PORT" $((METRICS_PORT + 1)) "${CODEC_ADDR##*:}" "${ANCHOR_ADDR##*:}" "${WITNESS_ADDR##*:}"; do
    port_busy "$p" && die "port $p is in use: set BATON_CLUSTER_UI_PORT / BATON_CLUSTER_SIM_ADDR / BATON_CLUSTER_METRICS_PORT / BATON_CLUSTER_CODEC_ADDR / BATON_CLUSTER_ANCHOR_ADDR / BATON_CLUSTER_WITNESS_ADDR"
  done
  local bin=${BATON_BIN:-bin} token=${BATON_CODEC_SERVER_TOKEN_FILE:-.dev/codec.token}
  [ -x "$bin/worker" ] && [ -x "$bin/simulator" ] && [ -x "$bin/codecserver" ] && [ -x "$bin/anchor" ] && [ -x "$bin/witness" ] ||
    die "$bin/worker, $bin/simulator, $bin/codecserver, $bin/anchor or $bin/witness missing: run make build"
  [ -s "$token" ] || die "$token missing: run make codec-key"
  audit_db
  audit_log_start "$bin"
  CODEC_TOKEN=$(head -n1 "$token")
  # The codec server answers the UI's browser (its origin is the UI's URL).
  BATON_CODEC_SERVER_LISTEN="$CODEC_ADDR" BATON_CODEC_SERVER_TOKEN_FILE="$token" \
    BATON_UI_URL=http://localhost:$UI_PORT spawn codec "$bin/codecserver"
  wait_for "the codec server" 20 codec http_ok "http://$CODEC_ADDR/healthz"
  mkdir -p "$DIR/ui/config"
  CODEC_ENDPOINT=http://$CODEC_ADDR/t/$CODEC_TOKEN render deploy/cluster/ui.yaml "$DIR/ui/config/cluster.yaml"
  spawn ui "$TEMPORAL_UI" --root "$DIR/ui" --config config --env cluster start
  spawn simulator "$bin/simulator" --listen "$SIM_ADDR"
  wait_for "the simulated systems" 20 simulator http_ok "http://$SIM_ADDR/healthz"
  # One replica after the other: the first creates the search attributes
  # in the new namespace, the second finds them.
  local i
  for i in 1 2; do
    TEMPORAL_ADDRESS=127.0.0.1:$PORT BATON_SYSTEMS_URL=http://$SIM_ADDR BATON_UI_URL=http://localhost:$UI_PORT BATON_AUDIT_DSN=$AUDIT_DSN \
      BATON_AUDIT_WRITER_KEY=$KEYS/audit-writer.key \
      BATON_METRICS_ADDRESS=127.0.0.1:$((METRICS_PORT + i - 1)) TEMPORAL_IDENTITY=baton-worker-$i@$(hostname) \
      spawn "worker-$i" "$bin/worker"
    wait_for "worker $i" 90 "worker-$i" http_ok "http://127.0.0.1:$((METRICS_PORT + i - 1))/healthz"
  done
  wait_for "the Web UI" 30 ui http_ok "http://127.0.0.1:$UI_PORT/"
}

banner() {
  cat <<MSG

  Baton is running on a PostgreSQL-backed Temporal cluster (state in $DIR).
    Temporal frontend: 127.0.0.1:$PORT
    Temporal Web UI:   http://localhost:$UI_PORT (payloads decrypted by the codec server at http://$CODEC_ADDR)
    Worker metrics:    http://localhost:$METRICS_PORT/healthz, http://localhost:$((METRICS_PORT + 1))/healthz
    Audit store:       $AUDIT_DSN (append-only writer role)
    Audit log:         http://$ANCHOR_ADDR/checkpoint (signed by $KEYS/anchor.key, cosigned by the witness at http://$WITNESS_ADDR)
    Logs:              $DIR/{server,ui,codec,simulator,anchor,witness,worker-1,worker-2}.log

  In another terminal, try:
    export TEMPORAL_ADDRESS=127.0.0.1:$PORT BATON_UI_URL=http://localhost:$UI_PORT \\
      BATON_AUDIT_DSN='$AUDIT_READER_DSN' BATON_AUDIT_LOG_URL=http://$ANCHOR_ADDR \\
      BATON_AUDIT_LOG_PUBLIC_KEY=$KEYS/anchor.key.pub BATON_AUDIT_WITNESS_PUBLIC_KEYS=$KEYS/witness.key.pub \\
      BATON_AUDIT_WRITER_PUBLIC_KEYS=$KEYS/audit-writer.key.pub
    bin/starter demo                  # every process, some waiting for people
    bin/starter tasks --user ana      # ana's inbox
    bin/starter --help

  make cluster-down stops it all (the database stays in $PG_BASE).

MSG
}

PG_BASE=${PG_BASE:-$(pg_base)}

stop_apps() {
  for n in worker-2 worker-1 simulator ui codec anchor witness; do stop "$n"; done
}

stop_all() {
  stop_apps; stop server
  pg_stop
}

case "${1:-}" in
  up)
    if running server; then
      echo "cluster: already running (make cluster-down stops it)"; banner; exit 0
    fi
    save_env; STARTING=1
    pg_start; schema; server_start; namespace; apps_start; STARTING=0; banner ;;
  up-server)
    save_env; STARTING=1
    pg_start; schema; server_start; STARTING=0
    echo "Temporal server (PostgreSQL on :$PG_PORT) serving at 127.0.0.1:$PORT; state in $DIR" ;;
  up-apps)
    running server || die "the Temporal server is not running: scripts/cluster.sh up-server (or make cluster)"
    STARTING=apps; apps_start; STARTING=0; banner ;;
  down-apps)
    stop_apps; echo "cluster: Baton's processes stopped (the server and PostgreSQL run on)" ;;
  down)
    stop_all
    case $PG_BASE in "$DIR"/*) extra="" ;; *) extra=", and $PG_BASE," ;; esac
    echo "cluster: stopped (state kept in $DIR; rm -rf it$extra to start afresh)" ;;
  restart-server)
    stop server; server_start ;;
  restart-postgres)
    pg_stop; pg_start ;;
  status)
    for n in server ui codec simulator anchor witness worker-1 worker-2; do
      if running "$n"; then echo "$n: running (pid $(cat "$DIR/$n.pid"))"; else echo "$n: stopped"; fi
    done
    if as_pg "$(pg_bin)/pg_ctl" -D "$PG_BASE/data" status >/dev/null 2>&1; then echo "postgres: running on :$PG_PORT"; else echo "postgres: stopped"; fi ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
