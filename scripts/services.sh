#!/usr/bin/env bash
# Local services for streamscore's integration tests and demo, without Docker:
#
#   bash scripts/services.sh up       # start (or reuse) Kafka, the schema registry and Redis; wait until ready
#   bash scripts/services.sh status   # one line per service; exit 0 if all are up, 3 otherwise
#   bash scripts/services.sh down     # stop what this script started (never a Redis it did not start)
#
# (npm run services:up / services:status / services:down)
#
#   kafka     Apache Kafka, single node KRaft (combined broker + controller)
#             127.0.0.1:$STREAMSCORE_KAFKA_PORT (default 9092), controller on
#             127.0.0.1:$STREAMSCORE_KAFKA_CONTROLLER_PORT (default 9093)
#   registry  Apicurio Registry (Confluent-compatible API at http://127.0.0.1:PORT/apis/ccompat/v7)
#             port $STREAMSCORE_REGISTRY_PORT (default 8081)
#   redis     127.0.0.1:$STREAMSCORE_REDIS_PORT (default 6379); an already running Redis is used as is
#
# Needs: Java 17+ (`java`), and Maven (`mvn`) with access to Maven Central for the first run only.
# Jars are resolved into .cache/ (reused; delete it to re-resolve). Runtime state (Kafka data,
# registry database, pid files) is in .run/, logs are in .run/logs/. Delete .run/ after `down` for a
# clean slate. Other knobs: STREAMSCORE_SERVICES_TIMEOUT (seconds to wait per service, default 120),
# STREAMSCORE_KAFKA_HEAP / STREAMSCORE_REGISTRY_HEAP (JVM heap flags), STREAMSCORE_MAVEN_ARGS (extra
# Maven flags, e.g. -Dmaven.repo.local=/path or -s settings.xml for a mirror).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="$ROOT/scripts/services"
POM="$SERVICES_DIR/pom.xml"
CACHE_DIR="$ROOT/.cache"
RUN_DIR="$ROOT/.run"
LOG_DIR="$RUN_DIR/logs"

HOST=127.0.0.1
KAFKA_PORT="${STREAMSCORE_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${STREAMSCORE_KAFKA_CONTROLLER_PORT:-9093}"
REGISTRY_PORT="${STREAMSCORE_REGISTRY_PORT:-8081}"
REDIS_PORT="${STREAMSCORE_REDIS_PORT:-6379}"
REGISTRY_CCOMPAT_PATH=/apis/ccompat/v7
TIMEOUT="${STREAMSCORE_SERVICES_TIMEOUT:-120}"
KAFKA_HEAP="${STREAMSCORE_KAFKA_HEAP:--Xms256m -Xmx1g}"
REGISTRY_HEAP="${STREAMSCORE_REGISTRY_HEAP:--Xms128m -Xmx512m}"

pom_property() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$POM" | head -n 1; }
KAFKA_VERSION="$(pom_property kafka.version)"
APICURIO_VERSION="$(pom_property apicurio.version)"

KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIB="$KAFKA_HOME/lib"
APICURIO_HOME="$CACHE_DIR/apicurio-$APICURIO_VERSION"
APICURIO_JAR="$APICURIO_HOME/apicurio-registry-app-$APICURIO_VERSION-runner.jar"

KAFKA_RUN="$RUN_DIR/kafka"
KAFKA_DATA="$KAFKA_RUN/data"
KAFKA_PROPS="$KAFKA_RUN/server.properties"
KAFKA_PID_FILE="$RUN_DIR/kafka.pid"
KAFKA_PORTS_FILE="$RUN_DIR/kafka.ports"
REGISTRY_RUN="$RUN_DIR/registry"
REGISTRY_PID_FILE="$RUN_DIR/registry.pid"
REGISTRY_PORT_FILE="$RUN_DIR/registry.port"
REDIS_RUN="$RUN_DIR/redis"
REDIS_PID_FILE="$RUN_DIR/redis.pid"

# Every JVM we start carries this flag: together with the pid file it tells our processes apart from
# anything else (another checkout's services, a recycled pid).
OWNER_FLAG="-Dstreamscore.services.root=$ROOT"

SCRIPT_NAME=services
# shellcheck source=services/common.sh
source "$ROOT/scripts/services/common.sh"

usage() {
  echo "usage: bash scripts/services.sh up|down|status|kafka-jars <version>" >&2
  exit 2
}

for pair in "STREAMSCORE_KAFKA_PORT=$KAFKA_PORT" "STREAMSCORE_KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT" \
  "STREAMSCORE_REGISTRY_PORT=$REGISTRY_PORT" "STREAMSCORE_REDIS_PORT=$REDIS_PORT" \
  "STREAMSCORE_SERVICES_TIMEOUT=$TIMEOUT"; do
  [[ "${pair#*=}" =~ ^[0-9]+$ ]] || fail "${pair%%=*} must be a number (got '${pair#*=}')"
done
[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] ||
  fail "STREAMSCORE_KAFKA_PORT and STREAMSCORE_KAFKA_CONTROLLER_PORT are both $KAFKA_PORT; they must differ"
[[ -n "$KAFKA_VERSION" && -n "$APICURIO_VERSION" ]] ||
  fail "cannot read kafka.version / apicurio.version from $(rel "$POM")"

# ---------------------------------------------------------------------------------------------------
# processes and ports

# pid_of PIDFILE MARKER: prints the pid in PIDFILE if that process is alive and its command line
# contains MARKER; fails otherwise.
pid_of() {
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(tr -dc '0-9' <"$1")"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  grep -qaF -- "$2" "/proc/$pid/cmdline" 2>/dev/null || return 1
  printf '%s' "$pid"
}
kafka_pid() { pid_of "$KAFKA_PID_FILE" "$OWNER_FLAG"; }
registry_pid() { pid_of "$REGISTRY_PID_FILE" "$OWNER_FLAG"; }
redis_pid() { pid_of "$REDIS_PID_FILE" redis; }


# port_holder PORT: pid of the process listening on PORT (empty if unknown or none)


# port_taken_message PORT ENVVAR: the reason PORT cannot be used, for an error message

# stop_pid NAME PID: SIGTERM, then SIGKILL after 60 s

# rotate_log FILE: keep one previous generation once FILE passes 20 MB (checked at each start)


# ---------------------------------------------------------------------------------------------------
# prerequisites




pom_hash() { sha256sum "$POM" | cut -c 1-64; }

ensure_kafka_jars() {
  local marker="$KAFKA_HOME/.complete" partial="$KAFKA_HOME/lib.partial" started=$SECONDS
  if [[ -f "$marker" && "$(cat "$marker")" == "$(pom_hash)" && -d "$KAFKA_LIB" ]]; then return 0; fi
  need_mvn "Kafka and Apicurio Registry"
  say "resolving Kafka $KAFKA_VERSION jars from Maven Central into $(rel "$KAFKA_LIB") (first run only)"
  rm -rf "$partial"
  mkdir -p "$partial"
  run_mvn "the Kafka $KAFKA_VERSION jars" dependency:copy-dependencies -DincludeScope=runtime \
    -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$partial"
  compgen -G "$partial/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null ||
    fail "Maven finished but $(rel "$partial") has no kafka_2.13-$KAFKA_VERSION.jar (see $(rel "$LOG_DIR/maven.log"))"
  rm -rf "$KAFKA_LIB"
  mv "$partial" "$KAFKA_LIB"
  pom_hash >"$marker"
  say "Kafka jars ready ($(find "$KAFKA_LIB" -name '*.jar' | wc -l) jars, $((SECONDS - started)) s)"
}

ensure_apicurio() {
  local marker="$APICURIO_HOME/.complete" partial="$APICURIO_HOME.partial" started=$SECONDS tarball
  if [[ -f "$marker" && -f "$APICURIO_JAR" ]]; then return 0; fi
  need_mvn "Kafka and Apicurio Registry"
  say "downloading Apicurio Registry $APICURIO_VERSION (~110 MB) from Maven Central into $(rel "$APICURIO_HOME") (first run only)"
  rm -rf "$partial"
  mkdir -p "$partial/download"
  run_mvn "Apicurio Registry $APICURIO_VERSION" dependency:copy \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$partial/download"
  tarball="$partial/download/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  [[ -f "$tarball" ]] || fail "Maven finished but $(rel "$tarball") is missing (see $(rel "$LOG_DIR/maven.log"))"
  tar -xzf "$tarball" -C "$partial" || fail "cannot unpack $(rel "$tarball")"
  rm -rf "$partial/download"
  [[ -f "$partial/$(basename "$APICURIO_JAR")" ]] ||
    fail "the Apicurio Registry archive has no $(basename "$APICURIO_JAR") (layout changed?)"
  rm -rf "$APICURIO_HOME"
  mv "$partial" "$APICURIO_HOME"
  echo "$APICURIO_VERSION" >"$marker"
  say "Apicurio Registry ready ($((SECONDS - started)) s)"
}

# ---------------------------------------------------------------------------------------------------
# kafka

# the java command line shared by the storage tool and the broker
kafka_java_cmd() {
  local heap=()
  read -r -a heap <<<"$KAFKA_HEAP"
  KAFKA_JAVA=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true "$OWNER_FLAG"
    -Dlog4j2.configurationFile="$SERVICES_DIR/log4j2.yaml" -Dkafka.logs.dir="$LOG_DIR"
    -cp "$KAFKA_LIB/*")
}

write_kafka_props() {
  cat >"$KAFKA_PROPS" <<EOF
# generated by scripts/services.sh on every start; edit the script, not this file
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
# single node: internal topics with one replica and few partitions (fast first start)
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# a 2-core machine shared with the tests
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=67108864
EOF
}

start_kafka() {
  local cluster_id
  mkdir -p "$KAFKA_RUN" "$LOG_DIR"
  kafka_java_cmd
  write_kafka_props
  if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
    rm -rf "$KAFKA_DATA"
    cluster_id="$("${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid 2>>"$LOG_DIR/kafka.out")" ||
      fail "kafka.tools.StorageTool random-uuid failed (see $(rel "$LOG_DIR/kafka.out"))"
    if ! "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_PROPS" >>"$LOG_DIR/kafka.out" 2>&1; then
      show_log_tail "$LOG_DIR/kafka.out"
      fail "formatting the Kafka storage in $(rel "$KAFKA_DATA") failed"
    fi
    say "kafka: formatted storage in $(rel "$KAFKA_DATA") (cluster id $cluster_id)"
  fi
  rotate_log "$LOG_DIR/kafka.out"
  printf '\n===== %s: starting kafka.Kafka\n' "$(date '+%F %T')" >>"$LOG_DIR/kafka.out"
  # setsid: the broker outlives this script in its own session (a Ctrl-C or a kill of the process
  # group of `npm test` does not reach it); 9>&-: it must not inherit the lock of this script
  setsid "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_PROPS" </dev/null >>"$LOG_DIR/kafka.out" 2>&1 9>&- &
  echo $! >"$KAFKA_PID_FILE"
  echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" >"$KAFKA_PORTS_FILE"
  say "kafka: starting on $HOST:$KAFKA_PORT (pid $!, log $(rel "$LOG_DIR/kafka.log"))"
}

wait_kafka() {
  local pid=$1 deadline=$((SECONDS + TIMEOUT)) started=$SECONDS err="$KAFKA_RUN/ready.err" budget
  local logs=("$LOG_DIR/kafka.out" "$LOG_DIR/kafka.log")
  while ! listening "$KAFKA_PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail "${logs[@]}"
      fail "kafka (pid $pid) exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "${logs[@]}"
      fail "kafka did not open port $KAFKA_PORT within $TIMEOUT s (still running as pid $pid; see $(rel "$LOG_DIR/kafka.log"))"
    fi
    sleep 0.3
  done
  if [[ ! -f "$ROOT/node_modules/kafkajs/package.json" ]] || ! have node; then
    warn "node_modules/kafkajs is missing (run \`npm ci\`); only checked that port $KAFKA_PORT is open"
    return 0
  fi
  while :; do
    budget=$((deadline - SECONDS))
    ((budget > 15)) && budget=15
    ((budget < 2)) && budget=2
    if node "$SERVICES_DIR/kafka-ready.mjs" "$HOST:$KAFKA_PORT" "$((budget * 1000))" 2>"$err"; then
      say "kafka: ready on $HOST:$KAFKA_PORT ($((SECONDS - started)) s)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail "${logs[@]}"
      fail "kafka (pid $pid) exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "${logs[@]}" "$err"
      fail "kafka on $HOST:$KAFKA_PORT not ready within $TIMEOUT s (still running as pid $pid; see $(rel "$LOG_DIR/kafka.log"))"
    fi
  done
}

# ---------------------------------------------------------------------------------------------------
# registry (Apicurio Registry, Confluent-compatible API)
#
# Settings, chosen so that @kafkajs/confluent-schema-registry (and Confluent serdes) behave as
# against a Confluent Schema Registry:
# - apicurio.ccompat.use-canonical-hash=true: registering a schema that is already registered
#   under the subject, but written differently (whitespace, key order), returns the existing
#   id/version instead of creating a new version, as Confluent does (it compares parsed schemas).
#   Without it Apicurio compares the raw text, and a re-registration by a client that serialises the
#   schema differently creates a new version with a new id.
# - apicurio.ccompat.legacy-id-mode.enabled stays false (the default): the ids handed out by the
#   ccompat API (and written into the 5-byte wire header) are Apicurio *content* ids, which, like
#   Confluent schema ids, are the same for the same schema under different subjects and never change.
#   Legacy mode would hand out global ids (one per subject version): registering the same schema
#   under two subjects would give two ids, unlike Confluent. Either mode is self-consistent for
#   register -> encode -> decode (GET /schemas/ids/{id} uses the same kind of id).
# - the database is an H2 file under .run/registry/ instead of the default in-memory one, so schema
#   ids stay valid across `down`/`up` for the records that stay in Kafka's (persistent) topics.
# - small JDBC pool, bound to 127.0.0.1 only; -XX:TieredStopAtLevel=1 (C1 JIT only): on a 2-core
#   machine the registry is ready in ~6 s instead of ~17 s, and a test registry needs no peak speed.

registry_url() { printf 'http://%s:%s%s' "$HOST" "$REGISTRY_PORT" "$REGISTRY_CCOMPAT_PATH"; }

registry_ok() {
  if have curl; then
    [[ "$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$(registry_url)/subjects" 2>/dev/null || true)" == 200 ]]
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(3000) }).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' \
      "$(registry_url)/subjects" 2>/dev/null
  fi
}

start_registry() {
  mkdir -p "$REGISTRY_RUN" "$LOG_DIR"
  rotate_log "$LOG_DIR/registry.log"
  printf '\n===== %s: starting Apicurio Registry %s\n' "$(date '+%F %T')" "$APICURIO_VERSION" >>"$LOG_DIR/registry.log"
  (
    cd "$REGISTRY_RUN"
    # shellcheck disable=SC2086 # REGISTRY_HEAP holds several flags
    exec setsid java $REGISTRY_HEAP -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError "$OWNER_FLAG" \
      -Dquarkus.http.host="$HOST" -Dquarkus.http.port="$REGISTRY_PORT" \
      -Dvertx.cacheDirBase="$REGISTRY_RUN/vertx-cache" \
      -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
      -Dapicurio.datasource.url="jdbc:h2:file:$REGISTRY_RUN/db/registry" \
      -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
      -Dapicurio.datasource.jdbc.max-size=20 \
      -Dapicurio.ccompat.use-canonical-hash=true \
      -Dapicurio.ccompat.legacy-id-mode.enabled=false \
      -jar "$APICURIO_JAR"
  ) </dev/null >>"$LOG_DIR/registry.log" 2>&1 9>&- &
  echo $! >"$REGISTRY_PID_FILE"
  echo "$REGISTRY_PORT" >"$REGISTRY_PORT_FILE"
  say "registry: starting on $(registry_url) (pid $!, log $(rel "$LOG_DIR/registry.log"))"
}

wait_registry() {
  local pid=$1 deadline=$((SECONDS + TIMEOUT)) started=$SECONDS
  until registry_ok; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail "$LOG_DIR/registry.log"
      fail "the registry (pid $pid) exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$LOG_DIR/registry.log"
      fail "the registry did not answer HTTP 200 on $(registry_url)/subjects within $TIMEOUT s (still running as pid $pid)"
    fi
    sleep 0.5
  done
  say "registry: ready on $(registry_url) ($((SECONDS - started)) s)"
}

# ---------------------------------------------------------------------------------------------------
# redis

# redis_reply: the answer to PING on the Redis port (PONG, an error such as NOAUTH, or nothing)
redis_reply() {
  if have redis-cli; then
    redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null | head -n 1 || true
  else
    (
      exec 3<>"/dev/tcp/$HOST/$REDIS_PORT" || exit 0
      printf 'PING\r\n' >&3
      IFS= read -r -t 2 line <&3 || true
      line="${line%$'\r'}"
      printf '%s' "${line#+}"
    ) 2>/dev/null || true
  fi
}

install_redis() {
  if [[ "$(id -u)" == 0 ]] && have apt-get; then
    say "redis: redis-server is not installed; installing it with apt-get (log $(rel "$LOG_DIR/apt.log"))"
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server; } \
      >>"$LOG_DIR/apt.log" 2>&1; then
      show_log_tail "$LOG_DIR/apt.log"
      fail "apt-get install redis-server failed; install Redis 7 by hand, or start one on port $REDIS_PORT (or set STREAMSCORE_REDIS_PORT)"
    fi
  else
    fail "no Redis answers on $HOST:$REDIS_PORT and redis-server is not installed. Install Redis 7 (\`sudo apt-get install redis-server\` on Debian/Ubuntu, \`brew install redis\` on macOS), or start a Redis on port $REDIS_PORT, or set STREAMSCORE_REDIS_PORT to the port of a running one."
  fi
}

ensure_redis() {
  local reply i
  reply="$(redis_reply)"
  if [[ "$reply" == PONG ]]; then
    if redis_pid >/dev/null; then
      say "redis: already running on $HOST:$REDIS_PORT (started by streamscore)"
    else
      say "redis: using the Redis already running on $HOST:$REDIS_PORT (not started by streamscore; \`down\` leaves it alone)"
    fi
    return 0
  fi
  if listening "$REDIS_PORT"; then
    if [[ -n "$reply" ]]; then
      fail "a Redis on port $REDIS_PORT answers PING with '$reply' (password protected?); streamscore's tests need one without auth: $(port_taken_message "$REDIS_PORT" STREAMSCORE_REDIS_PORT)"
    fi
    fail "$(port_taken_message "$REDIS_PORT" STREAMSCORE_REDIS_PORT) (it does not answer the Redis PING)"
  fi
  have redis-server || install_redis
  # a package install may have started a system Redis on this port
  [[ "$(redis_reply)" == PONG ]] && {
    say "redis: using the Redis that the redis-server package started on $HOST:$REDIS_PORT"
    return 0
  }
  mkdir -p "$REDIS_RUN" "$LOG_DIR"
  redis-server --daemonize yes --port "$REDIS_PORT" --bind "$HOST" --save "" --appendonly no \
    --dir "$REDIS_RUN" --pidfile "$REDIS_PID_FILE" --logfile "$LOG_DIR/redis.log" 9>&- ||
    fail "redis-server failed to start (see $(rel "$LOG_DIR/redis.log"))"
  for ((i = 0; i < 100; i++)); do
    if [[ "$(redis_reply)" == PONG ]]; then
      say "redis: started on $HOST:$REDIS_PORT (pid $(redis_pid || echo '?'), log $(rel "$LOG_DIR/redis.log"))"
      return 0
    fi
    sleep 0.1
  done
  show_log_tail "$LOG_DIR/redis.log"
  fail "redis-server on port $REDIS_PORT did not answer PING within 10 s"
}

# ---------------------------------------------------------------------------------------------------
# commands


cmd_up() {
  local started=$SECONDS kpid='' rpid='' ports
  lock

  # 1. what already runs, and is every port either ours or free?
  if kpid="$(kafka_pid)"; then
    ports="$(cat "$KAFKA_PORTS_FILE" 2>/dev/null || true)"
    [[ -z "$ports" || "$ports" == "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" ]] ||
      fail "kafka is already running (pid $kpid) with ports '$ports' (broker controller), not $KAFKA_PORT $KAFKA_CONTROLLER_PORT; run \`bash scripts/services.sh down\` first"
  else
    kpid=''
    listening "$KAFKA_PORT" && fail "cannot start kafka: $(port_taken_message "$KAFKA_PORT" STREAMSCORE_KAFKA_PORT)"
    listening "$KAFKA_CONTROLLER_PORT" &&
      fail "cannot start kafka: $(port_taken_message "$KAFKA_CONTROLLER_PORT" STREAMSCORE_KAFKA_CONTROLLER_PORT)"
  fi
  if rpid="$(registry_pid)"; then
    ports="$(cat "$REGISTRY_PORT_FILE" 2>/dev/null || true)"
    [[ -z "$ports" || "$ports" == "$REGISTRY_PORT" ]] ||
      fail "the registry is already running (pid $rpid) on port $ports, not $REGISTRY_PORT; run \`bash scripts/services.sh down\` first"
  else
    rpid=''
    listening "$REGISTRY_PORT" && fail "cannot start the registry: $(port_taken_message "$REGISTRY_PORT" STREAMSCORE_REGISTRY_PORT)"
  fi

  # 2. start what is missing: Kafka first, so that it boots while Apicurio is fetched / starts
  if [[ -z "$kpid" || -z "$rpid" ]]; then need_java "Kafka $KAFKA_VERSION and Apicurio Registry $APICURIO_VERSION"; fi
  if [[ -z "$kpid" ]]; then
    ensure_kafka_jars
    start_kafka
    kpid="$(cat "$KAFKA_PID_FILE")"
  else
    say "kafka: already running (pid $kpid)"
  fi
  if [[ -z "$rpid" ]]; then
    ensure_apicurio
    start_registry
    rpid="$(cat "$REGISTRY_PID_FILE")"
  else
    say "registry: already running (pid $rpid)"
  fi
  ensure_redis

  # 3. wait until both JVMs are usable (they boot concurrently)
  wait_registry "$rpid"
  wait_kafka "$kpid"
  say "all services up ($((SECONDS - started)) s): kafka $HOST:$KAFKA_PORT, registry $(registry_url), redis redis://$HOST:$REDIS_PORT"
}

cmd_down() {
  local kpid rpid dpid
  lock
  kpid="$(kafka_pid || true)"
  rpid="$(registry_pid || true)"
  dpid="$(redis_pid || true)"
  # signal both JVMs at once; each takes a few seconds to shut down cleanly
  [[ -n "$kpid" ]] && { stop_pid kafka "$kpid" & }
  [[ -n "$rpid" ]] && { stop_pid registry "$rpid" & }
  [[ -n "$dpid" ]] && { stop_pid redis "$dpid" & }
  wait
  if [[ -n "$kpid" ]]; then say "kafka: stopped (pid $kpid; data kept in $(rel "$KAFKA_DATA"))"; else say "kafka: was not running"; fi
  if [[ -n "$rpid" ]]; then say "registry: stopped (pid $rpid)"; else say "registry: was not running"; fi
  if [[ -n "$dpid" ]]; then
    say "redis: stopped (pid $dpid)"
  elif [[ "$(redis_reply)" == PONG ]]; then
    say "redis: left running on $HOST:$REDIS_PORT (not started by streamscore)"
  else
    say "redis: was not running"
  fi
  rm -f "$KAFKA_PID_FILE" "$KAFKA_PORTS_FILE" "$REGISTRY_PID_FILE" "$REGISTRY_PORT_FILE"
  [[ -z "$dpid" ]] || rm -f "$REDIS_PID_FILE"
}

# status_line NAME STATE PID ENDPOINT WHO
status_line() { printf '%-9s %-8s pid %-8s %-40s %s\n' "$1" "$2" "${3:--}" "$4" "$5"; }

cmd_status() {
  local all=0 pid holder recorded
  # a running service reports the ports it was started with, even if the environment now asks for others
  if kafka_pid >/dev/null; then
    recorded="$(cat "$KAFKA_PORTS_FILE" 2>/dev/null || true)"
    if [[ "$recorded" =~ ^([0-9]+)\ ([0-9]+)$ ]]; then
      KAFKA_PORT="${BASH_REMATCH[1]}"
      KAFKA_CONTROLLER_PORT="${BASH_REMATCH[2]}"
    fi
  fi
  if registry_pid >/dev/null; then
    recorded="$(cat "$REGISTRY_PORT_FILE" 2>/dev/null || true)"
    if [[ "$recorded" =~ ^[0-9]+$ ]]; then REGISTRY_PORT="$recorded"; fi
  fi

  if pid="$(kafka_pid)"; then
    if listening "$KAFKA_PORT"; then
      status_line kafka running "$pid" "$HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)" "started by streamscore ($(rel "$KAFKA_PID_FILE"))"
    else
      status_line kafka starting "$pid" "$HOST:$KAFKA_PORT" "started by streamscore; port not open yet"
      all=3
    fi
  else
    holder="$(port_holder "$KAFKA_PORT")"
    if listening "$KAFKA_PORT"; then
      status_line kafka foreign "$holder" "$HOST:$KAFKA_PORT" "port held by a process streamscore did not start"
    else
      status_line kafka stopped "" "$HOST:$KAFKA_PORT" "-"
    fi
    all=3
  fi

  if pid="$(registry_pid)"; then
    if registry_ok; then
      status_line registry running "$pid" "$(registry_url)" "started by streamscore ($(rel "$REGISTRY_PID_FILE"))"
    else
      status_line registry starting "$pid" "$(registry_url)" "started by streamscore; not answering yet"
      all=3
    fi
  else
    if listening "$REGISTRY_PORT"; then
      status_line registry foreign "$(port_holder "$REGISTRY_PORT")" "$(registry_url)" "port held by a process streamscore did not start"
    else
      status_line registry stopped "" "$(registry_url)" "-"
    fi
    all=3
  fi

  if [[ "$(redis_reply)" == PONG ]]; then
    if pid="$(redis_pid)"; then
      status_line redis running "$pid" "redis://$HOST:$REDIS_PORT" "started by streamscore ($(rel "$REDIS_PID_FILE"))"
    else
      status_line redis running "$(port_holder "$REDIS_PORT")" "redis://$HOST:$REDIS_PORT" "external (not started by streamscore; down leaves it alone)"
    fi
  else
    if listening "$REDIS_PORT"; then
      status_line redis foreign "$(port_holder "$REDIS_PORT")" "redis://$HOST:$REDIS_PORT" "port held by something that does not answer PING"
    else
      status_line redis stopped "" "redis://$HOST:$REDIS_PORT" "-"
    fi
    all=3
  fi
  return "$all"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  # the jars of another Kafka version into .cache/kafka-<version>/lib (the compatibility smoke test runs a
  # private broker of it); prints the lib folder
  kafka-jars)
    [[ -n "${2:-}" ]] || usage
    KAFKA_VERSION=$2
    KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
    KAFKA_LIB="$KAFKA_HOME/lib"
    ensure_kafka_jars
    echo "$KAFKA_LIB"
    ;;
  *) usage ;;
esac
