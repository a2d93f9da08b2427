#!/usr/bin/env bash
# make dev: the pinned Temporal dev server (SQLite file under .dev/, UI on
# :8233, Baton's search attributes registered), the simulated systems, the
# audit store's witness and anchor (the log outside the database), the
# worker and the web inbox (:8088, development sign-in). Ctrl-C stops
# everything this script started.
#
# Every port it binds can be moved, and all are checked before anything starts:
#   BATON_DEV_PORT          Temporal frontend gRPC            7233
#   BATON_DEV_UI_PORT       Temporal Web UI                   8233
#   BATON_DEV_HTTP_PORT     Temporal HTTP API                 7243
#   BATON_DEV_SIM_ADDR      simulated systems                 localhost:8090
#   BATON_DEV_METRICS_PORT  worker /metrics and /healthz      9464
#   BATON_DEV_PG_PORT       PostgreSQL (audit store)          5433
#   BATON_DEV_CODEC_ADDR    codec server (Web UI, CLI)        localhost:8234
#   BATON_DEV_INBOX_ADDR    web inbox (skipped when busy)     localhost:8088
#   BATON_DEV_ANCHOR_ADDR   audit log (anchor)                localhost:8237
#   BATON_DEV_WITNESS_ADDR  audit log witness                 localhost:8238
# The audit keys (make audit-keys) are in .dev/: the worker's writer key,
# the anchor's checkpoint key and the witness's key, each with its .pub.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL=${TEMPORAL:?the Makefile passes the pinned Temporal CLI}
PORT=${BATON_DEV_PORT:-7233}
UI_PORT=${BATON_DEV_UI_PORT:-8233}
HTTP_PORT=${BATON_DEV_HTTP_PORT:-7243}
SIM_ADDR=${BATON_DEV_SIM_ADDR:-localhost:8090}
PG_PORT=${BATON_DEV_PG_PORT:-5433}
METRICS_PORT=${BATON_DEV_METRICS_PORT:-9464}
CODEC_ADDR=${BATON_DEV_CODEC_ADDR:-localhost:8234}
ANCHOR_ADDR=${BATON_DEV_ANCHOR_ADDR:-localhost:8237}
WITNESS_ADDR=${BATON_DEV_WITNESS_ADDR:-localhost:8238}
for v in PORT UI_PORT HTTP_PORT METRICS_PORT PG_PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "make dev: BATON_DEV_$v=${!v} is not a port number" >&2; exit 2; }
done
mkdir -p .dev

pids=()
cleanup() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo; echo "Stopping the worker, the simulated systems, the dev server, the codec server, the anchor and the witness..."
    # Reverse order: the worker first, so it finishes in-flight work.
    for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
  fi
  if [ -n "${pg_started:-}" ]; then scripts/pg.sh stop .dev/pg || true; fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
busy=0
for pair in "BATON_DEV_PORT=$PORT" "BATON_DEV_UI_PORT=$UI_PORT" "BATON_DEV_HTTP_PORT=$HTTP_PORT" \
            "BATON_DEV_SIM_ADDR=${SIM_ADDR##*:}" "BATON_DEV_METRICS_PORT=$METRICS_PORT" "BATON_DEV_PG_PORT=$PG_PORT" \
            "BATON_DEV_CODEC_ADDR=${CODEC_ADDR##*:}" "BATON_DEV_ANCHOR_ADDR=${ANCHOR_ADDR##*:}" \
            "BATON_DEV_WITNESS_ADDR=${WITNESS_ADDR##*:}"; do
  if port_busy "${pair#*=}"; then
    echo "make dev: port ${pair#*=} is already in use (another 'make dev' or 'make cluster' running?): stop it, or set ${pair%%=*}" >&2
    busy=1
  fi
done
[ $busy = 0 ] || exit 1

echo "Starting PostgreSQL for the audit store on :$PG_PORT (data .dev/pg)..."
scripts/pg.sh start .dev/pg "$PG_PORT"
pg_started=1
# Three roles (scripts/pg.sh): the owner migrates, the worker appends, the
# anchor and people read.
AUDIT_DB="@localhost:$PG_PORT/baton?sslmode=disable"
export BATON_AUDIT_DSN="postgres://baton_writer$AUDIT_DB"
BATON_AUDIT_OWNER_DSN="postgres://baton_owner$AUDIT_DB" BATON_AUDIT_READERS=baton_reader bin/worker --migrate --log-level warn

# The audit log outside the database: the keys in .dev/ (make audit-keys),
# the witness first (the anchor publishes only cosigned checkpoints).
for k in audit-writer anchor witness; do
  [ -s ".dev/$k.key" ] || { echo "make dev: .dev/$k.key missing: run make audit-keys" >&2; exit 1; }
done
export BATON_AUDIT_LOG_URL="http://$ANCHOR_ADDR"
echo "Starting the audit log's witness on $WITNESS_ADDR (state .dev/witness, log .dev/witness.log)..."
BATON_WITNESS_LISTEN="$WITNESS_ADDR" bin/witness >.dev/witness.log 2>&1 &
pids+=($!)
echo "Starting the audit anchor on $ANCHOR_ADDR (log in .dev/anchor, its log .dev/anchor.log)..."
BATON_AUDIT_DSN="postgres://baton_reader$AUDIT_DB" BATON_ANCHOR_LISTEN="$ANCHOR_ADDR" \
  BATON_ANCHOR_WITNESS_URL="http://$WITNESS_ADDR" bin/anchor >.dev/anchor.log 2>&1 &
pids+=($!)
for i in $(seq 1 40); do
  if bin/simulator --probe "http://$ANCHOR_ADDR/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[-1]}" 2>/dev/null || ! kill -0 "${pids[-2]}" 2>/dev/null; then
    echo "make dev: the anchor or the witness exited; their logs (.dev/anchor.log, .dev/witness.log):" >&2
    tail -5 .dev/anchor.log .dev/witness.log >&2
    exit 1
  fi
  sleep 0.25
done

# Payload codec (issue 12): key and token in .dev/ (make codec-key). The
# codec server decodes for the Web UI (the token rides in the endpoint path:
# the dev UI has no sign-in to pass one) and the temporal CLI (--codec-auth).
export BATON_CODEC_KEY_FILE=${BATON_CODEC_KEY_FILE:-$PWD/.dev/codec.keys}
# Keys added for rotation (codecserver --new-key) are pending, decrypt-only,
# so that what was running when they were added could still read everything.
# Nothing of this stack runs yet: every process below starts with them.
[ ! -f "$BATON_CODEC_KEY_FILE" ] || bin/codecserver --activate-keys "$BATON_CODEC_KEY_FILE"
CODEC_TOKEN=$(head -n1 .dev/codec.token)
codec_flags=(--ui-codec-endpoint "http://$CODEC_ADDR/t/$CODEC_TOKEN")

# Baton's search attributes and server limits (blob size, signals per
# instance: record.DevServerArgs) as dev server flags.
mapfile -t sa_flags < <(bin/worker --print-search-attributes | tr ' ' '\n')
echo "Starting Temporal dev server on :$PORT (UI :$UI_PORT, database .dev/temporal.db)..."
"$TEMPORAL" server start-dev --port "$PORT" --ui-port "$UI_PORT" --http-port "$HTTP_PORT" \
  --db-filename .dev/temporal.db --log-level warn "${sa_flags[@]}" "${codec_flags[@]}" >.dev/temporal.log 2>&1 &
pids+=($!)

for i in $(seq 1 60); do
  if "$TEMPORAL" operator cluster health --address "localhost:$PORT" >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "make dev: the dev server exited; its log (.dev/temporal.log):" >&2
    tail -20 .dev/temporal.log >&2
    exit 1
  fi
  sleep 0.5
done

echo "Starting codec server on $CODEC_ADDR (log .dev/codec.log)..."
BATON_CODEC_SERVER_LISTEN="$CODEC_ADDR" BATON_CODEC_SERVER_TOKEN_FILE=.dev/codec.token \
  BATON_CODEC_SERVER_UI_ORIGINS="http://localhost:$UI_PORT,http://127.0.0.1:$UI_PORT" \
  bin/codecserver >.dev/codec.log 2>&1 &
pids+=($!)
for i in $(seq 1 40); do
  if bin/simulator --probe "http://$CODEC_ADDR/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[-1]}" 2>/dev/null; then
    echo "make dev: the codec server exited; its log (.dev/codec.log):" >&2
    tail -5 .dev/codec.log >&2
    exit 1
  fi
  sleep 0.25
done

export TEMPORAL_ADDRESS="localhost:$PORT"
export BATON_SYSTEMS_URL="http://$SIM_ADDR"
export BATON_UI_URL="http://localhost:$UI_PORT"

if [ -x bin/simulator ]; then
  echo "Starting simulated systems on $SIM_ADDR (log .dev/simulator.log)..."
  bin/simulator --listen "$SIM_ADDR" >.dev/simulator.log 2>&1 &
  pids+=($!)
fi

# The web inbox signs decisions with its own key, which the policy must
# trust: a key kept in .dev/ and a copy of the policy listing it, used by the
# worker and the inbox.
INBOX_ADDR=${BATON_DEV_INBOX_ADDR:-localhost:8088}
if [ -x bin/inbox ]; then
  bin/inbox trust --create-key --key .dev/inbox.key --policy "${BATON_POLICY_FILE:-config/policy.yaml}" --out .dev/policy.yaml
  export BATON_POLICY_FILE=.dev/policy.yaml
fi

echo "Starting worker..."
BATON_METRICS_ADDRESS="localhost:$METRICS_PORT" bin/worker &
pids+=($!)

if [ -x bin/inbox ]; then
  if port_busy "${INBOX_ADDR##*:}"; then
    echo "make dev: port ${INBOX_ADDR##*:} is in use: the web inbox is not started (set BATON_DEV_INBOX_ADDR)." >&2
  else
    echo "Starting the web inbox on http://$INBOX_ADDR with the development sign-in (log .dev/inbox.log)..."
    BATON_INBOX_LISTEN="$INBOX_ADDR" BATON_INBOX_PUBLIC_URL="http://$INBOX_ADDR" \
      BATON_INBOX_SIGNING_KEY=.dev/inbox.key BATON_INBOX_DEV_SIGN_IN=true \
      bin/inbox >.dev/inbox.log 2>&1 &
    pids+=($!)
  fi
fi

# The dev profile (docs/configuration.md, "Profiles"): this stack's address,
# payload key, policy, audit store, Web UI, codec server and pinned temporal
# CLI, with absolute paths, in the user's configuration directory; the
# starter reads it from any directory (starter profile shows it).
write_profile() {
  bin/starter profile save dev --policy "${BATON_POLICY_FILE:-config/policy.yaml}" --temporal-cli "$TEMPORAL" \
    --codec-endpoint "http://$CODEC_ADDR" --codec-auth-file .dev/codec.token
}
PROFILE_MSG=$(write_profile 2>&1) || { echo "make dev: $PROFILE_MSG" >&2; exit 1; }

cat <<MSG

  Baton is running.
    Temporal Web UI:   http://localhost:$UI_PORT
    Worker metrics:    http://localhost:$METRICS_PORT/healthz
    Audit store:       $BATON_AUDIT_DSN (append-only writer role)
    Audit log:         http://$ANCHOR_ADDR/checkpoint (signed by .dev/anchor.key, cosigned by the witness at http://$WITNESS_ADDR)
    Codec server:      http://$CODEC_ADDR (token in .dev/codec.token)
    Web inbox:         http://$INBOX_ADDR  (development sign-in: pick a user)
    temporal CLI:      $TEMPORAL  (pinned; export PATH=$(dirname "$TEMPORAL"):\$PATH)
    Starter profile:   dev, in ${PROFILE_MSG##* to } (starter profile shows it)

  In another terminal (the starter reads the dev profile: after
  \`go install ./cmd/starter\`, \`starter\` works from any directory):
    bin/starter demo                # every process, some waiting for people
    bin/starter tasks --user ana    # ana's inbox
    bin/starter audit --verify --since 1d   # every trail: chain, signatures, the audit log
    bin/starter --help
    eval "\$(bin/starter profile --shell)"    # \`temporal\`: the pinned CLI with this stack's profile
    temporal workflow show --workflow-id <id> --detailed

  Ctrl-C here stops the worker, the simulator, the anchor, the witness, the dev server and PostgreSQL.

MSG
wait -n "${pids[@]}" || true
echo "make dev: a process exited; stopping the rest." >&2
