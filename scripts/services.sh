#!/usr/bin/env bash
# Local services for streamscore's integration tests and demo, without Docker:
#
#   bash scripts/services.sh up       # start (or reuse) Kafka, the schema registry and Redis; wait until ready
#   bash scripts/services.sh status   # one line per service; exit 0 if all are up, 3 otherwise
#   bash scripts/services.sh down     # stop what this script started (never a Redis it did not start)
#
#   bash scripts/services.sh cluster-up      # start (or reuse) a 6-node Redis Cluster; wait until it is ok
#   bash scripts/services.sh cluster-status  # one line per cluster node; exit 0 if the cluster is ok, 3 otherwise
#   bash scripts/services.sh cluster-down    # stop the cluster's nodes and delete their state (`down` does too)
#
# (npm run services:up / services:status / services:down / services:cluster-up / services:cluster-down)
#
#   kafka     Apache Kafka, single node KRaft (combined broker + controller)
#             127.0.0.1:$STREAMSCORE_KAFKA_PORT (default 9092), controller on
#             127.0.0.1:$STREAMSCORE_KAFKA_CONTROLLER_PORT (default 9093)
#   registry  Apicurio Registry (Confluent-compatible API at http://127.0.0.1:PORT/apis/ccompat/v7)
#             port $STREAMSCORE_REGISTRY_PORT (default 8081)
#   redis     127.0.0.1:$STREAMSCORE_REDIS_PORT (default 6379); an already running Redis is used as is
#   redis-cluster  only with cluster-up (up does not start it): a Redis Cluster of 3 masters + 3 replicas
#             on 127.0.0.1:$STREAMSCORE_REDIS_CLUSTER_PORT .. +5 (default 7100-7105; cluster bus ports
#             +10000), no persistence; state (nodes.conf, pid file) in .run/redis-cluster/<port>/, logs in
#             .run/logs/redis-cluster-<port>.log. Seed URL redis://127.0.0.1:7100. Tests reshard it,
#             fail it over and flush its nodes (test/helpers/redis-cluster.ts); cluster-down + cluster-up
#             gives a fresh, empty one.
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
REDIS_CLUSTER_PORT="${STREAMSCORE_REDIS_CLUSTER_PORT:-7100}"
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
REDIS_CLUSTER_RUN="$RUN_DIR/redis-cluster"
REDIS_CLUSTER_NODES=6 # 3 masters + 3 replicas (--cluster-replicas 1)

# Every JVM we start carries this flag: together with the pid file it tells our processes apart from
# anything else (another checkout's services, a recycled pid).
OWNER_FLAG="-Dstreamscore.services.root=$ROOT"

SCRIPT_NAME=services
# shellcheck source=services/common.sh
source "$ROOT/scripts/services/common.sh"

usage() {
  echo "usage: bash scripts/services.sh up|down|status|cluster-up|cluster-down|cluster-status|kafka-jars <version>" >&2
  exit 2
}

for pair in "STREAMSCORE_KAFKA_PORT=$KAFKA_PORT" "STREAMSCORE_KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT" \
  "STREAMSCORE_REGISTRY_PORT=$REGISTRY_PORT" "STREAMSCORE_REDIS_PORT=$REDIS_PORT" \
  "STREAMSCORE_REDIS_CLUSTER_PORT=$REDIS_CLUSTER_PORT" "STREAMSCORE_SERVICES_TIMEOUT=$TIMEOUT"; do
  [[ "${pair#*=}" =~ ^[0-9]+$ ]] || fail "${pair%%=*} must be a number (got '${pair#*=}')"
done
((REDIS_CLUSTER_PORT >= 1 && REDIS_CLUSTER_PORT + REDIS_CLUSTER_NODES - 1 + 10000 <= 65535)) ||
  fail "STREAMSCORE_REDIS_CLUSTER_PORT=$REDIS_CLUSTER_PORT: the cluster needs ports up to +$((REDIS_CLUSTER_NODES - 1)) and their bus ports (+10000) below 65536"
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
# redis cluster (cluster-up / cluster-down / cluster-status; `up` does not start it)
#
# Six redis-server processes of this script's own (never the Redis of `up`), joined once by
# `redis-cli --cluster create ... --cluster-replicas 1` (which port ends up master or replica is
# redis-cli's choice; tests read CLUSTER NODES). No persistence: a node that is restarted comes back
# empty but keeps its place (nodes.conf); cluster-down deletes nodes.conf too, so the next cluster-up
# forms a fresh, empty cluster. "ok" means, on every node: cluster_state:ok, cluster_slots_ok:16384,
# all six nodes known and none flagged fail/pfail/handshake, no open slot (MIGRATING/IMPORTING, e.g. left by
# a test that died mid-resharding; cluster-up closes them with `redis-cli --cluster fix`) and, on a
# replica, master_link_status:up.

CLUSTER_PORTS=()
# cluster_set_ports BASE: CLUSTER_PORTS=(BASE .. BASE+5)
cluster_set_ports() {
  local i
  CLUSTER_PORTS=()
  for ((i = 0; i < REDIS_CLUSTER_NODES; i++)); do CLUSTER_PORTS+=("$(($1 + i))"); done
}
cluster_set_ports "$REDIS_CLUSTER_PORT"

# the base port the running cluster was started with (empty if none recorded)
cluster_recorded_base() { tr -dc '0-9' 2>/dev/null <"$REDIS_CLUSTER_RUN/base" || true; }

cluster_range() { printf '%s:%s-%s' "$HOST" "${CLUSTER_PORTS[0]}" "${CLUSTER_PORTS[-1]}"; }

# the redis-server title ("redis-server 127.0.0.1:PORT [cluster]") names its address
cluster_node_pid() { pid_of "$REDIS_CLUSTER_RUN/$1/redis.pid" "$HOST:$1"; }

# cluster_cli PORT ARGS...: redis-cli against one node, never hanging on a stuck one; CRs stripped
cluster_cli() {
  local port=$1
  shift
  if have timeout; then
    timeout 10 redis-cli -h "$HOST" -p "$port" "$@" 2>/dev/null | tr -d '\r'
  else
    redis-cli -h "$HOST" -p "$port" "$@" 2>/dev/null | tr -d '\r'
  fi
}

# cluster_field TEXT NAME: the value of NAME:value in an INFO / CLUSTER INFO reply
cluster_field() { sed -n "s/^$2:\(.*\)$/\1/p" <<<"$1" | head -n 1; }

# cluster_node_check PORT: whether this node sees an ok cluster; CLUSTER_WHY says why not
CLUSTER_WHY=''
CLUSTER_ALLOW_OPEN='' # set: open slots do not count
cluster_node_check() {
  local port=$1 info nodes repl bad state open
  info="$(cluster_cli "$port" cluster info || true)"
  if [[ -z "$info" ]]; then
    CLUSTER_WHY="$HOST:$port does not answer CLUSTER INFO"
    return 1
  fi
  state="cluster_state:$(cluster_field "$info" cluster_state) cluster_slots_ok:$(cluster_field "$info" cluster_slots_ok) cluster_known_nodes:$(cluster_field "$info" cluster_known_nodes)"
  if [[ "$state" != "cluster_state:ok cluster_slots_ok:16384 cluster_known_nodes:$REDIS_CLUSTER_NODES" ]]; then
    CLUSTER_WHY="$HOST:$port reports $state"
    return 1
  fi
  nodes="$(cluster_cli "$port" cluster nodes || true)"
  bad="$(awk '$3 ~ /fail|handshake|noaddr/ { printf "%s(%s) ", $2, $3 }' <<<"$nodes")"
  if [[ -n "$bad" ]]; then
    CLUSTER_WHY="$HOST:$port flags ${bad% }"
    return 1
  fi
  # the node's own line lists its open slots as [slot->-id] (migrating) / [slot-<-id] (importing)
  open="$(awk '$3 ~ /myself/ { for (i = 9; i <= NF; i++) if ($i ~ /^\[/) printf "%s ", $i }' <<<"$nodes")"
  if [[ -n "$open" && -z "$CLUSTER_ALLOW_OPEN" ]]; then
    CLUSTER_WHY="$HOST:$port has open slot(s) ${open% }"
    return 1
  fi
  repl="$(cluster_cli "$port" info replication || true)"
  if [[ "$(cluster_field "$repl" role)" == slave && "$(cluster_field "$repl" master_link_status)" != up ]]; then
    CLUSTER_WHY="replica $HOST:$port: master_link_status:$(cluster_field "$repl" master_link_status)"
    return 1
  fi
  return 0
}

cluster_ok() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do cluster_node_check "$port" || return 1; done
}

# whether any node has slots assigned, i.e. `redis-cli --cluster create` ran (nodes.conf keeps it)
cluster_formed() {
  local port assigned
  for port in "${CLUSTER_PORTS[@]}"; do
    assigned="$(cluster_field "$(cluster_cli "$port" cluster info || true)" cluster_slots_assigned)"
    [[ -n "$assigned" && "$assigned" != 0 ]] && return 0
  done
  return 1
}

# need_redis7 BINARY: fail unless BINARY --version is Redis 7 or newer
need_redis7() {
  local version major
  version="$("$1" --version 2>/dev/null | grep -o '[0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*' | head -n 1 || true)"
  major="${version%%.*}"
  [[ "$major" =~ ^[0-9]+$ ]] || fail "cannot tell the version of $1 ('$("$1" --version 2>&1 | head -n 1)'); the Redis Cluster needs Redis 7"
  ((major >= 7)) || fail "$1 is Redis $version; the Redis Cluster of cluster-up needs Redis 7 or newer (install redis-server 7, e.g. from packages.redis.io)"
}

start_cluster_node() {
  local port=$1 dir="$REDIS_CLUSTER_RUN/$1" log="$LOG_DIR/redis-cluster-$1.log"
  mkdir -p "$dir"
  rotate_log "$log"
  if ! redis-server --daemonize yes --port "$port" --bind "$HOST" --cluster-enabled yes \
    --cluster-config-file nodes.conf --cluster-node-timeout 3000 --save "" --appendonly no \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$log" 9>&-; then
    show_log_tail "$log"
    fail "redis-server (cluster node $HOST:$port) failed to start (see $(rel "$log"))"
  fi
}

# wait_cluster_node PORT: until it answers PING (10 s)
wait_cluster_node() {
  local port=$1 i
  for ((i = 0; i < 100; i++)); do
    [[ "$(cluster_cli "$port" ping || true)" == PONG ]] && return 0
    sleep 0.1
  done
  show_log_tail "$LOG_DIR/redis-cluster-$port.log"
  fail "redis cluster node $HOST:$port did not answer PING within 10 s"
}

wait_cluster() {
  local deadline=$((SECONDS + TIMEOUT)) port
  until cluster_ok; do
    for port in "${CLUSTER_PORTS[@]}"; do
      cluster_node_pid "$port" >/dev/null && continue
      show_log_tail "$LOG_DIR/redis-cluster-$port.log"
      fail "redis cluster node $HOST:$port exited (see $(rel "$LOG_DIR/redis-cluster-$port.log"))"
    done
    if ((SECONDS >= deadline)); then
      show_log_tail "$LOG_DIR/redis-cluster-create.log"
      fail "the Redis Cluster on $(cluster_range) is not ok within $TIMEOUT s: $CLUSTER_WHY. \`bash scripts/services.sh cluster-down\` then \`cluster-up\` starts a fresh one."
    fi
    sleep 0.3
  done
}

# stop_cluster: stops every node under .run/redis-cluster/ (whatever base port it was started with)
# and deletes their state; CLUSTER_STOPPED is how many were running
CLUSTER_STOPPED=0
stop_cluster() {
  local pidfile port pid
  CLUSTER_STOPPED=0
  [[ -d "$REDIS_CLUSTER_RUN" ]] || return 0
  for pidfile in "$REDIS_CLUSTER_RUN"/*/redis.pid; do
    [[ -f "$pidfile" ]] || continue
    port="$(basename "$(dirname "$pidfile")")"
    pid="$(pid_of "$pidfile" "$HOST:$port")" || continue
    stop_pid "redis cluster node $port" "$pid" &
    CLUSTER_STOPPED=$((CLUSTER_STOPPED + 1))
  done
  wait
  rm -rf "$REDIS_CLUSTER_RUN"
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
  # the Redis Cluster of cluster-up too, if it runs (nothing is left behind after a CI run)
  stop_cluster
  ((CLUSTER_STOPPED == 0)) || say "redis-cluster: stopped $CLUSTER_STOPPED node(s); deleted $(rel "$REDIS_CLUSTER_RUN")"
}

cmd_cluster_up() {
  local started=$SECONDS port pid recorded missing=() addrs=() known keys
  lock
  if ! have redis-server || ! have redis-cli; then install_redis; fi
  need_redis7 redis-server
  need_redis7 redis-cli

  # 1. a cluster of another base port still running? every port (and bus port) ours or free?
  recorded="$(cluster_recorded_base)"
  if [[ -n "$recorded" && "$recorded" != "$REDIS_CLUSTER_PORT" ]]; then
    cluster_set_ports "$recorded"
    for port in "${CLUSTER_PORTS[@]}"; do
      pid="$(cluster_node_pid "$port")" &&
        fail "a Redis Cluster of this checkout is running on $(cluster_range), not on base port $REDIS_CLUSTER_PORT; run \`bash scripts/services.sh cluster-down\` first"
    done
    rm -rf "$REDIS_CLUSTER_RUN"
    cluster_set_ports "$REDIS_CLUSTER_PORT"
  fi
  for port in "${CLUSTER_PORTS[@]}"; do
    cluster_node_pid "$port" >/dev/null && continue
    listening "$port" &&
      fail "cannot start the Redis Cluster on $(cluster_range): $(port_taken_message "$port" STREAMSCORE_REDIS_CLUSTER_PORT)"
    listening "$((port + 10000))" &&
      fail "cannot start the Redis Cluster on $(cluster_range): cluster bus $(port_taken_message "$((port + 10000))" STREAMSCORE_REDIS_CLUSTER_PORT)"
    missing+=("$port")
  done

  # 2. already running and ok: nothing to do
  if ((${#missing[@]} == 0)) && cluster_ok; then
    say "redis-cluster: already running and ok on $(cluster_range) (seed redis://$HOST:${CLUSTER_PORTS[0]})"
    return 0
  fi

  # 3. start the missing nodes (a node that has a nodes.conf rejoins its cluster, empty)
  mkdir -p "$REDIS_CLUSTER_RUN" "$LOG_DIR"
  echo "$REDIS_CLUSTER_PORT" >"$REDIS_CLUSTER_RUN/base"
  for port in ${missing[@]+"${missing[@]}"}; do start_cluster_node "$port"; done
  for port in ${missing[@]+"${missing[@]}"}; do wait_cluster_node "$port"; done
  ((${#missing[@]} == 0)) ||
    say "redis-cluster: started ${#missing[@]} node(s) on $HOST:${missing[*]} (logs $(rel "$LOG_DIR")/redis-cluster-<port>.log)"

  # 4. not formed yet (no slot assigned anywhere): join the six
  if ! cluster_formed; then
    for port in "${CLUSTER_PORTS[@]}"; do
      addrs+=("$HOST:$port")
      # a create that was interrupted after CLUSTER MEET: back to a blank node
      known="$(cluster_field "$(cluster_cli "$port" cluster info || true)" cluster_known_nodes)"
      keys="$(cluster_cli "$port" dbsize || true)"
      if [[ "$known" != 1 || "$keys" != 0 ]]; then
        cluster_cli "$port" flushall >/dev/null || true
        [[ "$(cluster_cli "$port" cluster reset hard || true)" == OK ]] ||
          fail "cannot reset the half-formed cluster node $HOST:$port; run \`bash scripts/services.sh cluster-down\` and try again"
      fi
    done
    printf '\n===== %s: redis-cli --cluster create %s --cluster-replicas 1\n' "$(date '+%F %T')" "${addrs[*]}" \
      >>"$LOG_DIR/redis-cluster-create.log"
    if ! redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
      </dev/null >>"$LOG_DIR/redis-cluster-create.log" 2>&1 9>&-; then
      show_log_tail "$LOG_DIR/redis-cluster-create.log"
      fail "redis-cli --cluster create failed (see $(rel "$LOG_DIR/redis-cluster-create.log"))"
    fi
    say "redis-cluster: created (3 masters + 3 replicas; log $(rel "$LOG_DIR/redis-cluster-create.log"))"
  fi

  # 5. until every node sees all slots served and every replica is in sync; then close the slots that a
  # resharding which died midway left open (MIGRATING/IMPORTING)
  CLUSTER_ALLOW_OPEN=1 wait_cluster
  if ! cluster_ok; then
    say "redis-cluster: $CLUSTER_WHY; closing open slots with redis-cli --cluster fix (log $(rel "$LOG_DIR/redis-cluster-create.log"))"
    printf '\n===== %s: redis-cli --cluster fix %s:%s\n' "$(date '+%F %T')" "$HOST" "${CLUSTER_PORTS[0]}" \
      >>"$LOG_DIR/redis-cluster-create.log"
    if ! redis-cli --cluster fix "$HOST:${CLUSTER_PORTS[0]}" --cluster-yes \
      </dev/null >>"$LOG_DIR/redis-cluster-create.log" 2>&1 9>&-; then
      show_log_tail "$LOG_DIR/redis-cluster-create.log"
      fail "redis-cli --cluster fix failed; \`bash scripts/services.sh cluster-down\` then \`cluster-up\` starts a fresh cluster"
    fi
    wait_cluster
  fi
  say "redis-cluster: ok on $(cluster_range) ($((SECONDS - started)) s; seed redis://$HOST:${CLUSTER_PORTS[0]})"
}

cmd_cluster_down() {
  lock
  stop_cluster
  if ((CLUSTER_STOPPED > 0)); then
    say "redis-cluster: stopped $CLUSTER_STOPPED node(s); deleted $(rel "$REDIS_CLUSTER_RUN")"
  else
    say "redis-cluster: was not running"
  fi
}

# cluster_status_line PORT STATE PID DETAIL
cluster_status_line() { printf 'redis-cluster %-5s %-8s pid %-8s %s\n' "$1" "$2" "${3:--}" "$4"; }

cmd_cluster_status() {
  local all=0 port pid recorded nodes myself role detail master
  # a running cluster reports the ports it was started with, even if the environment now asks for others
  recorded="$(cluster_recorded_base)"
  if [[ -n "$recorded" ]]; then
    cluster_set_ports "$recorded"
    for port in "${CLUSTER_PORTS[@]}"; do cluster_node_pid "$port" >/dev/null && break; done ||
      cluster_set_ports "$REDIS_CLUSTER_PORT"
  fi
  for port in "${CLUSTER_PORTS[@]}"; do
    if pid="$(cluster_node_pid "$port")"; then
      nodes="$(cluster_cli "$port" cluster nodes || true)"
      myself="$(awk '$3 ~ /myself/' <<<"$nodes")"
      case "$(awk '{ print $3 }' <<<"$myself")" in
        *master*)
          role=master
          detail="$(awk '{ n = 0; for (i = 9; i <= NF; i++) if ($i !~ /^\[/) { split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n " slots" }' <<<"$myself")"
          ;;
        *slave*)
          role=replica
          master="$(awk -v id="$(awk '{ print $4 }' <<<"$myself")" '$1 == id { split($2, a, "@"); print a[1] }' <<<"$nodes")"
          detail="replica of ${master:-?}, link $(cluster_field "$(cluster_cli "$port" info replication || true)" master_link_status)"
          ;;
        *)
          role=unknown
          detail="does not answer CLUSTER NODES"
          ;;
      esac
      if cluster_node_check "$port"; then
        detail="$detail; cluster ok"
      else
        detail="$detail; not ok: $CLUSTER_WHY"
        all=3
      fi
      cluster_status_line "$port" "$role" "$pid" "$detail"
    elif listening "$port"; then
      cluster_status_line "$port" foreign "$(port_holder "$port")" "port held by a process streamscore did not start"
      all=3
    else
      cluster_status_line "$port" stopped "" "-"
      all=3
    fi
  done
  return "$all"
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
  cluster-up) cmd_cluster_up ;;
  cluster-down) cmd_cluster_down ;;
  cluster-status) cmd_cluster_status ;;
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
