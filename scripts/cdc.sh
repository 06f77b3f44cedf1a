#!/usr/bin/env bash
# The opt-in CDC source for local tests and the demo, without Docker: a private PostgreSQL with logical
# decoding and a Kafka Connect worker running the Debezium PostgreSQL connector.
#
#   bash scripts/cdc.sh up       # start (or reuse) PostgreSQL and the Connect worker; wait until ready
#   bash scripts/cdc.sh status   # one line per service; exit 0 if all are up, 3 otherwise
#   bash scripts/cdc.sh down     # stop what this script started
#
# (npm run cdc:up / cdc:status / cdc:down)
#
#   postgres  a private PostgreSQL cluster (never the system one on 5432): data in .run/cdc/pg,
#             127.0.0.1:$STREAMSCORE_PG_PORT (default 55432), TCP only, wal_level=logical, trust auth for
#             user streamscore (LOGIN REPLICATION), database bank with the sample schema cdc/schema.sql
#   connect   a distributed Kafka Connect worker (group streamscore-connect) with the Debezium PostgreSQL
#             connector plugin, REST API on http://127.0.0.1:$STREAMSCORE_CONNECT_PORT (default 8083).
#             No connector is registered: POST one built from cdc/connectors/*.json (see cdc/README.md).
#
# Kafka is NOT started here: the worker uses the broker of `bash scripts/services.sh up`
# ($STREAMSCORE_KAFKA_BROKERS, default 127.0.0.1:9092).
#
# Needs: Java 17+, Maven with access to Maven Central for the first run only (jars are resolved into
# .cache/connect-<kafka version>/lib and .cache/debezium-<version>/, from scripts/cdc/pom.xml), and the
# PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin; installed with apt-get when missing and
# running as root). Runtime state is in .run/cdc/, pid files in .run/, logs in .run/logs/. Delete .run/cdc
# after `down` for a clean slate (Connect's own state is in Kafka topics streamscore-connect-*).
# When run as root, PostgreSQL runs as the `postgres` system user (initdb refuses root) and owns .run/cdc/pg.
# Other knobs: STREAMSCORE_CDC_TIMEOUT (seconds to wait per service, default 180), STREAMSCORE_CONNECT_HEAP
# (JVM heap flags), STREAMSCORE_MAVEN_ARGS (extra Maven flags, e.g. -Dmaven.repo.local=/path),
# STREAMSCORE_CDC_AVRO=0 (skip the Apicurio Avro converter plugin).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CDC_DIR="$ROOT/scripts/cdc"
POM="$CDC_DIR/pom.xml"
SERVICES_POM="$ROOT/scripts/services/pom.xml"
SCHEMA_SQL="$ROOT/cdc/schema.sql"
CACHE_DIR="$ROOT/.cache"
RUN_DIR="$ROOT/.run"
LOG_DIR="$RUN_DIR/logs"
CDC_RUN="$RUN_DIR/cdc"

HOST=127.0.0.1
PG_PORT="${STREAMSCORE_PG_PORT:-55432}"
CONNECT_PORT="${STREAMSCORE_CONNECT_PORT:-8083}"
KAFKA_BROKERS="${STREAMSCORE_KAFKA_BROKERS:-127.0.0.1:9092}"
TIMEOUT="${STREAMSCORE_CDC_TIMEOUT:-180}"
CONNECT_HEAP="${STREAMSCORE_CONNECT_HEAP:--Xms128m -Xmx768m}"
WITH_AVRO="${STREAMSCORE_CDC_AVRO:-1}"
PG_USER=streamscore
PG_DB=bank
PG_SUPERUSER=postgres
CONNECT_GROUP=streamscore-connect
DEBEZIUM_CLASS=io.debezium.connector.postgresql.PostgresConnector

pom_property() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$2" | head -n 1; }
KAFKA_VERSION="$(pom_property kafka.version "$SERVICES_POM")"
DEBEZIUM_VERSION="$(pom_property debezium.version "$POM")"
APICURIO_CONVERTER_VERSION="$(pom_property apicurio.converter.version "$POM")"

CONNECT_HOME="$CACHE_DIR/connect-$KAFKA_VERSION"
CONNECT_LIB="$CONNECT_HOME/lib"
# plugin.path lists the top folders; each holds one plugin folder
DEBEZIUM_HOME="$CACHE_DIR/debezium-$DEBEZIUM_VERSION"
DEBEZIUM_PLUGIN="$DEBEZIUM_HOME/debezium-connector-postgres"
APICURIO_HOME="$CACHE_DIR/apicurio-converter-$APICURIO_CONVERTER_VERSION"
APICURIO_PLUGIN="$APICURIO_HOME/apicurio-converter"

PG_DATA="$CDC_RUN/pg"
PG_LOG="$LOG_DIR/cdc-postgres.log"
# As root, PostgreSQL runs as the postgres user, who must be able to enter its data folder. A checkout
# inside a private folder (mktemp -d makes them 0700) is out of its reach: the cluster and its log then
# live in a folder of their own under /var/tmp, named after the checkout (so up, status and down agree).
# (Decided from the folders' modes, so that it holds before the postgres user exists on a fresh machine.)
world_enterable() {
  local dir=$1 mode
  while [[ -n "$dir" && "$dir" != / ]]; do
    mode="$(stat -c %A "$dir" 2>/dev/null)" || return 1
    [[ "${mode:9:1}" == x || "${mode:9:1}" == t ]] || return 1
    dir="$(dirname "$dir")"
  done
}
if [[ "$(id -u)" == 0 ]] && ! world_enterable "$ROOT"; then
  PG_HOME="/var/tmp/streamscore-cdc-$(printf '%s' "$ROOT" | sha256sum | cut -c 1-12)"
  PG_DATA="$PG_HOME/pg"
  PG_LOG="$PG_HOME/postgres.log"
fi
PG_PID_FILE="$RUN_DIR/cdc-postgres.pid"
PG_PORT_FILE="$RUN_DIR/cdc-postgres.port"
CONNECT_RUN="$CDC_RUN/connect"
CONNECT_PROPS="$CONNECT_RUN/worker.properties"
CONNECT_PID_FILE="$RUN_DIR/cdc-connect.pid"
CONNECT_PORT_FILE="$RUN_DIR/cdc-connect.port"
CONNECT_MAIN=org.apache.kafka.connect.cli.ConnectDistributed

# Every JVM we start carries this flag (as in scripts/services.sh): together with the pid file and the main
# class it tells our worker apart from anything else. Our postgres is told apart by its data directory.
OWNER_FLAG="-Dstreamscore.services.root=$ROOT"

SCRIPT_NAME=cdc
# shellcheck source=services/common.sh
source "$ROOT/scripts/services/common.sh"
MAVEN_LOG="$LOG_DIR/cdc-maven.log"

usage() {
  echo "usage: bash scripts/cdc.sh up|down|status" >&2
  exit 2
}

for pair in "STREAMSCORE_PG_PORT=$PG_PORT" "STREAMSCORE_CONNECT_PORT=$CONNECT_PORT" "STREAMSCORE_CDC_TIMEOUT=$TIMEOUT"; do
  [[ "${pair#*=}" =~ ^[0-9]+$ ]] || fail "${pair%%=*} must be a number (got '${pair#*=}')"
done
[[ "$PG_PORT" != 5432 ]] || fail "STREAMSCORE_PG_PORT is 5432, the usual port of a system PostgreSQL; the CDC source runs a private cluster on a port of its own (default 55432)"
[[ -n "$KAFKA_VERSION" ]] || fail "cannot read kafka.version from $(rel "$SERVICES_POM")"
[[ -n "$DEBEZIUM_VERSION" && -n "$APICURIO_CONVERTER_VERSION" ]] ||
  fail "cannot read debezium.version / apicurio.converter.version from $(rel "$POM")"

# ---------------------------------------------------------------------------------------------------
# processes and ports (as in scripts/services.sh)

# pid_of PIDFILE MARKER...: prints the pid in PIDFILE if that process is alive and its command line
# contains every MARKER; fails otherwise.
pid_of() {
  local file=$1 pid marker
  shift
  [[ -f "$file" ]] || return 1
  pid="$(head -n 1 "$file" | tr -dc '0-9')"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  for marker in "$@"; do
    grep -qaF -- "$marker" "/proc/$pid/cmdline" 2>/dev/null || return 1
  done
  printf '%s' "$pid"
}
connect_pid() { pid_of "$CONNECT_PID_FILE" "$OWNER_FLAG" "$CONNECT_MAIN"; }
# the postmaster of OUR cluster: postmaster.pid's first line, a process started with `-D <our data dir>`
pg_pid() {
  local pid
  pid="$(pid_of "$PG_DATA/postmaster.pid" "$PG_DATA")" || return 1
  [[ -f "$PG_PID_FILE" ]] || return 1
  printf '%s' "$pid"
}





# stop_pid NAME PID: SIGTERM, then SIGKILL after 60 s



http_get() { curl -s -m 5 "http://$HOST:$CONNECT_PORT$1" 2>/dev/null; }
http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$HOST:$CONNECT_PORT$1" 2>/dev/null || true; }

# ---------------------------------------------------------------------------------------------------
# prerequisites


need_curl() {
  have curl || fail "curl is not installed (used to talk to the Kafka Connect REST API); install it (\`apt-get install curl\`)"
}



pom_hash() { cat "$POM" "$SERVICES_POM" | sha256sum | cut -c 1-64; }

# ensure_jars WHAT PROFILE FOLDER CHECK-GLOB: resolves a pom profile's runtime jars into FOLDER once
# (re-resolved when scripts/cdc/pom.xml or the Kafka version changes)
ensure_jars() {
  local what=$1 profile=$2 dir=$3 check=$4 marker="$3/.complete" partial="$3.partial" started=$SECONDS
  if [[ -f "$marker" && "$(cat "$marker")" == "$(pom_hash)" ]]; then return 0; fi
  need_mvn "Kafka Connect and Debezium"
  say "resolving $what from Maven Central into $(rel "$dir") (first run only)"
  rm -rf "$partial"
  mkdir -p "$partial"
  run_mvn "$what" -P"$profile" dependency:copy-dependencies -DincludeScope=runtime \
    -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$partial"
  compgen -G "$partial/$check" >/dev/null ||
    fail "Maven finished but $(rel "$partial") has no $check (see $(rel "$LOG_DIR/cdc-maven.log"))"
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv "$partial" "$dir"
  pom_hash >"$marker"
  say "$what ready ($(find "$dir" -name '*.jar' | wc -l) jars, $(du -sh "$dir" | cut -f 1), $((SECONDS - started)) s)"
}

ensure_all_jars() {
  ensure_jars "the Kafka Connect $KAFKA_VERSION worker jars" worker "$CONNECT_LIB" "connect-runtime-$KAFKA_VERSION.jar"
  ensure_jars "the Debezium $DEBEZIUM_VERSION PostgreSQL connector" debezium "$DEBEZIUM_PLUGIN" \
    "debezium-connector-postgres-$DEBEZIUM_VERSION.jar"
  if [[ "$WITH_AVRO" != 0 ]]; then
    ensure_jars "the Apicurio Registry $APICURIO_CONVERTER_VERSION Avro converter" apicurio "$APICURIO_PLUGIN" \
      "apicurio-registry-utils-converter-$APICURIO_CONVERTER_VERSION.jar"
  fi
}

# ---------------------------------------------------------------------------------------------------
# kafka (not ours: scripts/services.sh starts it)

kafka_reachable() {
  local broker host port brokers=()
  IFS=',' read -r -a brokers <<<"$KAFKA_BROKERS"
  for broker in "${brokers[@]}"; do
    broker="${broker// /}"
    host="${broker%:*}"
    port="${broker##*:}"
    [[ -n "$host" && "$port" =~ ^[0-9]+$ ]] || continue
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
  done
  return 1
}

need_kafka() {
  kafka_reachable || fail "Kafka is not reachable at $KAFKA_BROKERS (STREAMSCORE_KAFKA_BROKERS). The CDC source does not start Kafka: run \`bash scripts/services.sh up\` (npm run services:up) first, or point STREAMSCORE_KAFKA_BROKERS at a running broker."
}

# ---------------------------------------------------------------------------------------------------
# postgres

PG_BIN=''
find_pg_bin() {
  local dir best='' best_major=0 major
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" && -x "$dir/psql" ]] || continue
    major="$(basename "$(dirname "$dir")")"
    [[ "$major" =~ ^[0-9]+$ ]] || continue
    if ((major > best_major)); then
      best="$dir"
      best_major=$major
    fi
  done
  PG_BIN="$best"
  [[ -n "$PG_BIN" ]]
}

install_postgres() {
  if [[ "$(id -u)" == 0 ]] && have apt-get; then
    say "postgres: the PostgreSQL server binaries are not installed; installing Debian's postgresql package with apt-get (log $(rel "$LOG_DIR/apt.log"))"
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; } \
      >>"$LOG_DIR/apt.log" 2>&1; then
      show_log_tail "$LOG_DIR/apt.log"
      fail "apt-get install postgresql failed; install the PostgreSQL server (initdb, pg_ctl, postgres, psql under /usr/lib/postgresql/<version>/bin) by hand"
    fi
  else
    fail "the PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin/initdb, pg_ctl, postgres) are not installed. Install them (\`sudo apt-get install postgresql\` on Debian/Ubuntu), or run this script as root to have it install them."
  fi
  find_pg_bin || fail "apt-get installed postgresql but no /usr/lib/postgresql/<version>/bin/initdb was found"
}

# as_pg CMD...: runs a PostgreSQL server tool as the cluster's owner: the postgres system user when we are
# root (initdb and postgres refuse to run as root), else the current user
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# psql_admin / psql_app [ARGS...]: psql over TCP to our cluster as the bootstrap superuser / as streamscore
psql_admin() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" "$@"; }
psql_app() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" -U "$PG_USER" "$@"; }

pg_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -d postgres -U "$PG_SUPERUSER" -t 2 2>/dev/null; }

prepare_pg_dirs() {
  mkdir -p "$CDC_RUN" "$LOG_DIR" "$(dirname "$PG_DATA")" "$(dirname "$PG_LOG")"
  touch "$PG_LOG"
  if [[ "$(id -u)" == 0 ]]; then
    [[ "$(dirname "$PG_DATA")" == "$CDC_RUN" ]] || chmod 755 "$(dirname "$PG_DATA")"
    getent passwd postgres >/dev/null ||
      fail "running as root, but there is no \`postgres\` system user to run PostgreSQL as (initdb refuses root). Install Debian's postgresql package (it creates the user), or run this script as a normal user."
    # the postgres user must reach the data dir and write its log
    local home
    home="$(dirname "$PG_DATA")"
    if ! runuser -u postgres -- test -x "$home"; then
      fail "the postgres system user cannot enter $home (a parent folder is not world-executable: $(namei -m "$home" 2>/dev/null | awk 'NR>1 && $1 !~ /x$/ {print $2}' | tr '\n' ' ')); make those folders a+x, or run this script as a normal user"
    fi
    chown postgres "$PG_LOG"
  fi
}

init_pg() {
  local started=$SECONDS
  say "postgres: creating a private cluster in $(rel "$PG_DATA") ($("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL)/PostgreSQL/'))"
  rm -rf "$PG_DATA"
  mkdir -p "$PG_DATA"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$PG_DATA"; fi
  chmod 700 "$PG_DATA"
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" -E UTF8 --no-locale \
    --auth-local=trust --auth-host=trust --no-instructions >>"$PG_LOG" 2>&1; then
    show_log_tail "$PG_LOG"
    rm -rf "$PG_DATA"
    fail "initdb failed (see $(rel "$PG_LOG"))"
  fi
  # trust over TCP from 127.0.0.1 only (the server listens nowhere else, and has no Unix socket)
  cat >"$PG_DATA/pg_hba.conf" <<EOF
# generated by scripts/cdc.sh: a private test cluster, trust on 127.0.0.1 only
# TYPE  DATABASE     USER  ADDRESS        METHOD
host    all          all   127.0.0.1/32   trust
host    replication  all   127.0.0.1/32   trust
EOF
  echo "include = 'streamscore.conf'" >>"$PG_DATA/postgresql.conf"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$PG_DATA/pg_hba.conf" "$PG_DATA/postgresql.conf"; fi
  say "postgres: cluster created ($((SECONDS - started)) s)"
}

write_pg_conf() {
  cat >"$PG_DATA/streamscore.conf" <<EOF
# generated by scripts/cdc.sh on every start; edit the script, not this file
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = ''
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
# a test dropping its connector but not its slot must not fill the disk with retained WAL
max_slot_wal_keep_size = 1GB
max_connections = 100
shared_buffers = 64MB
# a disposable test cluster on a small machine: no fsync, quick checkpoints are not needed
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_connections = off
log_line_prefix = '%m [%p] %q%u@%d '
timezone = 'UTC'
EOF
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$PG_DATA/streamscore.conf"; fi
}

start_pg() {
  prepare_pg_dirs
  [[ -f "$PG_DATA/PG_VERSION" ]] || init_pg
  if [[ "$(id -u)" == 0 && "$(stat -c %U "$PG_DATA")" != postgres ]]; then
    fail "$(rel "$PG_DATA") is owned by $(stat -c %U "$PG_DATA"), but as root PostgreSQL runs as the postgres user; delete $(rel "$PG_DATA") (after \`bash scripts/cdc.sh down\`) or chown -R postgres: it"
  fi
  local data_major bin_major
  data_major="$(cat "$PG_DATA/PG_VERSION")"
  bin_major="$(basename "$(dirname "$PG_BIN")")"
  [[ "$data_major" == "$bin_major" ]] ||
    fail "$(rel "$PG_DATA") was created by PostgreSQL $data_major, but the binaries found are version $bin_major ($PG_BIN); delete $(rel "$PG_DATA") for a new cluster (its data is test data)"
  write_pg_conf
  rotate_log "$PG_LOG"
  # pg_ctl start returns once the postmaster is running; wait_pg waits until it accepts connections
  if ! as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -W -s </dev/null >>"$PG_LOG" 2>&1 9>&-; then
    show_log_tail "$PG_LOG"
    fail "pg_ctl start failed (see $(rel "$PG_LOG"))"
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s "$PG_DATA/postmaster.pid" ]] && break
    sleep 0.1
  done
  head -n 1 "$PG_DATA/postmaster.pid" >"$PG_PID_FILE" 2>/dev/null || fail "postgres did not write $(rel "$PG_DATA/postmaster.pid")"
  echo "$PG_PORT" >"$PG_PORT_FILE"
  say "postgres: starting on $HOST:$PG_PORT (pid $(cat "$PG_PID_FILE"), log $(rel "$PG_LOG"))"
}

wait_pg() {
  local deadline=$((SECONDS + TIMEOUT)) started=$SECONDS
  until pg_ready; do
    if ! pg_pid >/dev/null; then
      show_log_tail "$PG_LOG"
      fail "postgres exited during startup (see $(rel "$PG_LOG"))"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$PG_LOG"
      fail "postgres did not accept connections on $HOST:$PG_PORT within $TIMEOUT s"
    fi
    sleep 0.2
  done
  say "postgres: ready on $HOST:$PG_PORT ($((SECONDS - started)) s)"
}

# the role, the database and the sample schema; creates only what is missing
setup_db() {
  local out
  if ! out="$(psql_admin -d postgres 2>&1 <<EOF
SELECT 'CREATE ROLE $PG_USER LOGIN REPLICATION' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER')
\\gexec
ALTER ROLE $PG_USER LOGIN REPLICATION;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PG_DB')
\\gexec
EOF
  )"; then
    printf '%s\n' "$out" >&2
    fail "cannot create the role $PG_USER / database $PG_DB in the private cluster"
  fi
  if ! out="$(PGOPTIONS='-c client_min_messages=warning' psql_app -d "$PG_DB" -f "$SCHEMA_SQL" 2>&1)"; then
    printf '%s\n' "$out" >&2
    fail "cannot create the sample schema $(rel "$SCHEMA_SQL") in database $PG_DB"
  fi
}

stop_pg() {
  local pid=$1
  if ! as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -t 60 -s >>"$PG_LOG" 2>&1; then
    warn "pg_ctl stop failed; sending SIGTERM to postgres (pid $pid)"
    stop_pid postgres "$pid"
  fi
}

# ---------------------------------------------------------------------------------------------------
# kafka connect (distributed worker)

plugin_path() {
  local path="$DEBEZIUM_HOME"
  if [[ "$WITH_AVRO" != 0 ]]; then path="$path,$APICURIO_HOME"; fi
  printf '%s' "$path"
}

write_connect_props() {
  cat >"$CONNECT_PROPS" <<EOF
# generated by scripts/cdc.sh on every start; edit the script, not this file
bootstrap.servers=$KAFKA_BROKERS
group.id=$CONNECT_GROUP
config.storage.topic=$CONNECT_GROUP-configs
offset.storage.topic=$CONNECT_GROUP-offsets
status.storage.topic=$CONNECT_GROUP-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=5
status.storage.partitions=1
# each connector config sets its own converters; these are only the defaults
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
listeners=http://$HOST:$CONNECT_PORT
rest.advertised.host.name=$HOST
rest.advertised.port=$CONNECT_PORT
rest.advertised.listener=http
plugin.path=$(plugin_path)
# connectors may override their clients' settings (producer.override.*)
connector.client.config.override.policy=All
topic.creation.enable=true
# source offsets (Debezium's LSN) are committed every second (Connect's default: a minute): a crashed worker
# re-sends what came after the last commit, and one killed before its initial snapshot's completion was
# committed takes the whole snapshot again (so a long interval makes the tests re-snapshot, not re-send)
offset.flush.interval.ms=1000
# a single worker: after a restart its connectors are reassigned at once, not after the default 5 minutes
scheduled.rebalance.max.delay.ms=0
task.shutdown.graceful.timeout.ms=5000
EOF
}

start_connect() {
  local heap=()
  mkdir -p "$CONNECT_RUN" "$LOG_DIR"
  read -r -a heap <<<"$CONNECT_HEAP"
  write_connect_props
  rotate_log "$LOG_DIR/connect.out"
  printf '\n===== %s: starting Kafka Connect %s (Debezium %s)\n' "$(date '+%F %T')" "$KAFKA_VERSION" "$DEBEZIUM_VERSION" >>"$LOG_DIR/connect.out"
  (
    cd "$CONNECT_RUN"
    exec setsid java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -XX:TieredStopAtLevel=1 -Djava.awt.headless=true "$OWNER_FLAG" \
      -Dlog4j2.configurationFile="$CDC_DIR/log4j2.properties" -Dkafka.logs.dir="$LOG_DIR" \
      -cp "$CONNECT_LIB/*" "$CONNECT_MAIN" "$CONNECT_PROPS"
  ) </dev/null >>"$LOG_DIR/connect.out" 2>&1 9>&- &
  echo $! >"$CONNECT_PID_FILE"
  echo "$CONNECT_PORT" >"$CONNECT_PORT_FILE"
  say "connect: starting on http://$HOST:$CONNECT_PORT (pid $!, log $(rel "$LOG_DIR/connect.log"))"
}

# ready: the REST API lists the Debezium connector plugin and the herder has joined the group
connect_ready() {
  http_get /connector-plugins | grep -qF "\"$DEBEZIUM_CLASS\"" && [[ "$(http_code /connectors)" == 200 ]]
}

wait_connect() {
  local pid=$1 deadline=$((SECONDS + TIMEOUT)) started=$SECONDS
  local logs=("$LOG_DIR/connect.out" "$LOG_DIR/connect.log")
  until connect_ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail "${logs[@]}"
      fail "the Connect worker (pid $pid) exited during startup (see $(rel "$LOG_DIR/connect.log"))"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "${logs[@]}"
      if [[ "$(http_code /connector-plugins)" == 200 ]]; then
        fail "the Connect worker answers on port $CONNECT_PORT but does not list $DEBEZIUM_CLASS (or GET /connectors fails) after $TIMEOUT s; check plugin.path in $(rel "$CONNECT_PROPS") and $(rel "$DEBEZIUM_PLUGIN")"
      fi
      fail "the Connect worker did not become ready on port $CONNECT_PORT within $TIMEOUT s (still running as pid $pid; is Kafka at $KAFKA_BROKERS healthy?)"
    fi
    sleep 0.5
  done
  say "connect: ready on http://$HOST:$CONNECT_PORT ($((SECONDS - started)) s)"
}

# ---------------------------------------------------------------------------------------------------
# commands


cmd_up() {
  local started=$SECONDS ppid='' cpid='' ports
  lock
  need_curl

  # 1. what already runs, and is every port either ours or free?
  if ppid="$(pg_pid)"; then
    ports="$(cat "$PG_PORT_FILE" 2>/dev/null || true)"
    [[ -z "$ports" || "$ports" == "$PG_PORT" ]] ||
      fail "postgres is already running (pid $ppid) on port $ports, not $PG_PORT; run \`bash scripts/cdc.sh down\` first"
  else
    ppid=''
    listening "$PG_PORT" && fail "cannot start postgres: $(port_taken_message "$PG_PORT" STREAMSCORE_PG_PORT)"
  fi
  if cpid="$(connect_pid)"; then
    ports="$(cat "$CONNECT_PORT_FILE" 2>/dev/null || true)"
    [[ -z "$ports" || "$ports" == "$CONNECT_PORT" ]] ||
      fail "the Connect worker is already running (pid $cpid) on port $ports, not $CONNECT_PORT; run \`bash scripts/cdc.sh down\` first"
  else
    cpid=''
    listening "$CONNECT_PORT" && fail "cannot start the Connect worker: $(port_taken_message "$CONNECT_PORT" STREAMSCORE_CONNECT_PORT)"
  fi
  need_kafka
  find_pg_bin || install_postgres

  # 2. start what is missing: postgres first (the worker does not need it to start, connectors do)
  if [[ -z "$ppid" ]]; then
    start_pg
  else
    say "postgres: already running (pid $ppid)"
  fi
  if [[ -z "$cpid" ]]; then
    need_java "Kafka Connect $KAFKA_VERSION and Debezium $DEBEZIUM_VERSION"
    ensure_all_jars
    start_connect
    cpid="$(cat "$CONNECT_PID_FILE")"
  else
    say "connect: already running (pid $cpid)"
  fi

  # 3. wait until both are usable
  wait_pg
  setup_db
  say "postgres: database $PG_DB, user $PG_USER (trust), sample schema $(rel "$SCHEMA_SQL") in place"
  wait_connect "$cpid"
  say "cdc up ($((SECONDS - started)) s): postgres postgresql://$PG_USER@$HOST:$PG_PORT/$PG_DB, connect http://$HOST:$CONNECT_PORT (kafka $KAFKA_BROKERS)"
}

cmd_down() {
  local ppid cpid
  lock
  cpid="$(connect_pid || true)"
  ppid="$(pg_pid || true)"
  # the worker first: its connectors close their replication connections cleanly
  if [[ -n "$cpid" ]]; then
    stop_pid connect "$cpid"
    say "connect: stopped (pid $cpid; connectors and offsets kept in Kafka topics $CONNECT_GROUP-*)"
  else
    say "connect: was not running"
  fi
  if [[ -n "$ppid" ]]; then
    find_pg_bin || fail "postgres (pid $ppid) runs but its binaries are gone; stop it with kill $ppid"
    stop_pg "$ppid"
    say "postgres: stopped (pid $ppid; data kept in $(rel "$PG_DATA"))"
  else
    say "postgres: was not running"
  fi
  rm -f "$CONNECT_PID_FILE" "$CONNECT_PORT_FILE" "$PG_PID_FILE" "$PG_PORT_FILE"
}

status_line() { printf '%-9s %-8s pid %-8s %-40s %s\n' "$1" "$2" "${3:--}" "$4" "$5"; }

cmd_status() {
  local all=0 pid recorded connectors
  if pg_pid >/dev/null; then
    recorded="$(cat "$PG_PORT_FILE" 2>/dev/null || true)"
    if [[ "$recorded" =~ ^[0-9]+$ ]]; then PG_PORT="$recorded"; fi
  fi
  if connect_pid >/dev/null; then
    recorded="$(cat "$CONNECT_PORT_FILE" 2>/dev/null || true)"
    if [[ "$recorded" =~ ^[0-9]+$ ]]; then CONNECT_PORT="$recorded"; fi
  fi

  if kafka_reachable; then
    status_line kafka running "" "$KAFKA_BROKERS" "not started by cdc.sh (scripts/services.sh)"
  else
    status_line kafka stopped "" "$KAFKA_BROKERS" "not reachable: run \`bash scripts/services.sh up\`"
    all=3
  fi

  if pid="$(pg_pid)"; then
    if find_pg_bin && pg_ready; then
      status_line postgres running "$pid" "postgresql://$PG_USER@$HOST:$PG_PORT/$PG_DB" "started by streamscore ($(rel "$PG_DATA"))"
    else
      status_line postgres starting "$pid" "$HOST:$PG_PORT" "started by streamscore; not accepting connections yet"
      all=3
    fi
  else
    if listening "$PG_PORT"; then
      status_line postgres foreign "$(port_holder "$PG_PORT")" "$HOST:$PG_PORT" "port held by a process streamscore did not start"
    else
      status_line postgres stopped "" "$HOST:$PG_PORT" "-"
    fi
    all=3
  fi

  if pid="$(connect_pid)"; then
    if connect_ready; then
      connectors="$(http_get /connectors | tr -d '[]"' | tr ',' ' ')"
      status_line connect running "$pid" "http://$HOST:$CONNECT_PORT" "started by streamscore; connectors: ${connectors:-none}"
    else
      status_line connect starting "$pid" "http://$HOST:$CONNECT_PORT" "started by streamscore; not ready yet"
      all=3
    fi
  else
    if listening "$CONNECT_PORT"; then
      status_line connect foreign "$(port_holder "$CONNECT_PORT")" "http://$HOST:$CONNECT_PORT" "port held by a process streamscore did not start"
    else
      status_line connect stopped "" "http://$HOST:$CONNECT_PORT" "-"
    fi
    all=3
  fi
  return "$all"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) usage ;;
esac
