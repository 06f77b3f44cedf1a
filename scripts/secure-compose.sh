#!/usr/bin/env bash
# Makes what the `secure` profile of docker-compose.yml mounts at /secure: a private CA and certificates,
# random passwords, the broker's settings, the Redis ACL file and the Kafka users and ACLs to create.
#
#   bash scripts/secure-compose.sh [--out DIR] [--force]
#   docker compose --profile secure up streamscore-secure
#
# The secured services (docker-compose.yml, profile `secure`):
#   kafka-secure   Kafka whose client listeners are all SASL_SSL: SCRAM-SHA-512 over TLS, client
#                  certificates required, the StandardAuthorizer on; User:admin is the only super user
#                  (plus the broker itself on its controller listener, which listens on the container's
#                  loopback only). Host: 127.0.0.1:$STREAMSCORE_SECURE_KAFKA_PORT (default 9094).
#   kafka-secure-init   creates the SCRAM user `streamscore` and grants it exactly `streamscore acls`
#   redis-secure   Redis on TLS only (client certificates required), the default user off, the ACL users of
#                  `streamscore acls --redis` (the pipeline's and a read-only lookup user) and `admin`.
#                  Host: 127.0.0.1:$STREAMSCORE_SECURE_REDIS_PORT (default 6380).
#   streamscore-secure  the pipeline with config/streamscore.secure.yaml, every secret read from a file
#
# Output (DIR, default .secure/, gitignored; delete it or pass --force to make new ones):
#   ca.pem ca.key                      the private CA (keep ca.key away from the services)
#   kafka.pem kafka.key kafka.p12      the broker's certificate (kafka-secure, localhost, 127.0.0.1)
#   truststore.p12                     the CA for Java clients and the broker
#   redis.pem redis.key                Redis's certificate (redis-secure, localhost, 127.0.0.1)
#   client.pem client.key client.p12   the client certificate streamscore and the admin tools present
#   *.password                         one random password per user, and store.password for the .p12 files
#   kafka.properties                   the broker's settings
#   admin.properties                   the Kafka tools' client settings, signed in as admin
#   kafka-init.sh                      the SCRAM user and ACLs (run by kafka-secure-init)
#   redis-users.acl                    Redis's ACL file
#
# The files are readable by every user (the containers run as other users than yours): this is for a
# machine of your own. In production, give each service only its own secrets (docs/security.md).
# Needs: openssl, keytool (a JDK), node with the project built (`npm ci`; this script builds if needed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.secure"
FORCE=0
CONFIG="$ROOT/config/streamscore.secure.yaml"
KAFKA_HOST_PORT="${STREAMSCORE_SECURE_KAFKA_PORT:-9094}"
DAYS="${STREAMSCORE_SECURE_DAYS:-365}"

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "secure-compose: --out needs a folder" >&2; exit 2; }; OUT="$2"; shift 2 ;;
    --force) FORCE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "secure-compose: unknown argument '$1' (expected --out DIR, --force)" >&2; exit 2 ;;
  esac
done
for tool in openssl keytool node; do
  command -v "$tool" > /dev/null || { echo "secure-compose: '$tool' is not installed (needed to make the certificates and settings)" >&2; exit 2; }
done
if [ -e "$OUT/ca.pem" ] && [ "$FORCE" != 1 ]; then
  echo "secure-compose: $OUT already holds certificates; delete it or pass --force to make new ones" >&2
  exit 2
fi
if [ ! -f "$ROOT/dist/src/cli/main.js" ]; then (cd "$ROOT" && npm run --silent build); fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
umask 022
cd "$OUT"
rm -f ./*.pem ./*.key ./*.p12 ./*.csr ./*.ext ./*.srl ./*.password ./*.properties ./*.acl kafka-init.sh

secret() { openssl rand -hex 24 > "$1.password"; cat "$1.password"; }
STORE="$(secret store)"
KAFKA_ADMIN="$(secret kafka-admin)"
secret kafka-streamscore > /dev/null
REDIS_ADMIN="$(secret redis-admin)"
REDIS_PIPELINE="$(secret redis-streamscore)"
REDIS_LOOKUP="$(secret redis-lookup)"

# the CA, and certificates it signs
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days "$DAYS" \
  -subj "/CN=streamscore local CA" 2> /dev/null
sign() { # name subject extensions
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2> /dev/null
  printf '%b' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$DAYS" \
    -out "$1.pem" -extfile "$1.ext" 2> /dev/null
  rm -f "$1.csr" "$1.ext"
}
# the broker's certificate also serves as its client certificate between listeners (clientAuth)
sign kafka "/CN=kafka-secure" 'subjectAltName=DNS:kafka-secure,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n'
sign redis "/CN=redis-secure" 'subjectAltName=DNS:redis-secure,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
sign client "/CN=streamscore" 'extendedKeyUsage=clientAuth\n'
rm -f ca.srl
openssl pkcs12 -export -in kafka.pem -inkey kafka.key -certfile ca.pem -name kafka -out kafka.p12 -passout "pass:$STORE"
openssl pkcs12 -export -in client.pem -inkey client.key -certfile ca.pem -name client -out client.p12 -passout "pass:$STORE"
keytool -importcert -noprompt -alias ca -file ca.pem -keystore truststore.p12 -storetype PKCS12 \
  -storepass "$STORE" > /dev/null 2>&1

SCRAM_ADMIN="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$KAFKA_ADMIN\";"
cat > kafka.properties << EOF
# Broker settings of kafka-secure (made by scripts/secure-compose.sh). Container paths: /secure is this
# folder, /var/lib/kafka/data the broker's volume.
process.roles=broker,controller
node.id=1
# INTERNAL for containers on the compose network, EXTERNAL for clients on the host; the controller
# listener is plaintext on the container's loopback, so only this broker reaches it
listeners=INTERNAL://0.0.0.0:19093,EXTERNAL://0.0.0.0:9093,CONTROLLER://localhost:9095
advertised.listeners=INTERNAL://kafka-secure:19093,EXTERNAL://127.0.0.1:$KAFKA_HOST_PORT
controller.quorum.voters=1@localhost:9095
controller.listener.names=CONTROLLER
listener.security.protocol.map=INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=INTERNAL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
# every SASL listener needs a login entry; the internal one also signs the broker in to itself as admin
listener.name.internal.scram-sha-512.sasl.jaas.config=$SCRAM_ADMIN
listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
# client certificates required on both client listeners (a SASL_SSL listener asks only when told, KIP-684)
listener.name.internal.ssl.client.auth=required
listener.name.external.ssl.client.auth=required
ssl.client.auth=required
ssl.keystore.location=/secure/kafka.p12
ssl.keystore.type=PKCS12
ssl.keystore.password=$STORE
ssl.key.password=$STORE
ssl.truststore.location=/secure/truststore.p12
ssl.truststore.type=PKCS12
ssl.truststore.password=$STORE
ssl.endpoint.identification.algorithm=https
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# ANONYMOUS is the broker itself on the loopback controller listener
super.users=User:admin;User:ANONYMOUS
# durability for exactly-once on the single broker of a local setup (topics/env/production.yaml for more)
unclean.leader.election.enable=false
log.dirs=/var/lib/kafka/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF

cat > admin.properties << EOF
# Kafka tools (kafka-acls.sh, kafka-configs.sh) signed in as admin, with the client certificate
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$SCRAM_ADMIN
ssl.truststore.location=/secure/truststore.p12
ssl.truststore.type=PKCS12
ssl.truststore.password=$STORE
ssl.keystore.location=/secure/client.p12
ssl.keystore.type=PKCS12
ssl.keystore.password=$STORE
ssl.key.password=$STORE
EOF

# the CLI reads the secure config as streamscore-secure does, passwords from the files made above
streamscore() {
  STREAMSCORE_KAFKA_SASL_PASSWORD_FILE="$OUT/kafka-streamscore.password" \
    STREAMSCORE_REDIS_PASSWORD_FILE="$OUT/redis-streamscore.password" node "$ROOT/bin/streamscore.js" "$@"
}
{
  echo '#!/usr/bin/env bash'
  echo '# Run once by kafka-secure-init (made by scripts/secure-compose.sh): the SCRAM user streamscore, then'
  echo '# exactly the ACLs `streamscore acls --config config/streamscore.secure.yaml` lists. Idempotent.'
  echo 'set -euo pipefail'
  echo '/opt/kafka/bin/kafka-configs.sh --bootstrap-server kafka-secure:19093 --command-config /secure/admin.properties --alter --add-config "SCRAM-SHA-512=[iterations=8192,password=$(cat /secure/kafka-streamscore.password)]" --entity-type users --entity-name streamscore'
  streamscore acls --config "$CONFIG" --principal User:streamscore |
    sed -e 's#^kafka-acls\.sh #/opt/kafka/bin/kafka-acls.sh #' \
      -e 's#--command-config admin\.properties#--command-config /secure/admin.properties#'
  echo 'echo "kafka-secure-init: user streamscore and its ACLs are in place"'
} > kafka-init.sh
chmod 755 kafka-init.sh

# Redis: the rules of `streamscore acls --redis`, as aclfile lines with the generated passwords
{
  echo 'user default off'
  echo "user admin on >$REDIS_ADMIN ~* &* +@all"
  streamscore acls --redis --config "$CONFIG" | grep '^ACL SETUSER' |
    sed -e 's/^ACL SETUSER /user /' |
    awk -v p="$REDIS_PIPELINE" -v l="$REDIS_LOOKUP" '{ sub(/><password>/, ">" ($2 == "streamscore-lookup" ? l : p)); print }'
} > redis-users.acl

chmod 644 ./*
chmod 755 kafka-init.sh
echo "secure-compose: made $OUT (CA, certificates, passwords, kafka.properties, kafka-init.sh, redis-users.acl)"
echo "next: docker compose --profile secure up streamscore-secure"
