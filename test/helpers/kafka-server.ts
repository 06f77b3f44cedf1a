/**
 * A Kafka broker of a test's own (single node KRaft, its own ports and data folder, from the jars
 * scripts/services.sh resolved into .cache/), so the test can kill, restart, pause and resume it without
 * touching the broker other tests use.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createKafkaClient } from '../../src/adapters/kafka.js';
import type { Config } from '../../src/config/index.js';
import { makeTestCertificates, STORE_PASSWORD } from './certs.js';
import { freePort } from './redis-server.js';
import { ensureServices } from './services.js';
import { killChild } from './child.js';

/** What a client needs to reach a secured private broker (SASL_SSL, mutual TLS, SCRAM-SHA-512). */
export interface KafkaSecurity {
  /** PEM files: the test CA, and a client certificate and key it signed. */
  readonly caFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** The super user (User:admin), created when the storage was formatted. */
  readonly admin: { readonly username: string; readonly password: string };
  /** Adds a SCRAM-SHA-512 user through the Admin API (kafka-configs --alter), as the super user. */
  addUser(username: string, password: string): void;
  /** `kafka` config of a client signing in as this SCRAM user, over mutual TLS. */
  clientConfig(
    username: string,
    password: string,
  ): {
    brokers: string[];
    ssl: { caFile: string; certFile: string; keyFile: string };
    sasl: { mechanism: 'scram-sha-512'; username: string; password: string };
  };
}

export interface PrivateKafka {
  readonly brokers: string[];
  /** Set for a broker started with `{ secure: true }`. */
  readonly security?: KafkaSecurity;
  /** SIGKILL, and wait for the process to end. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once it answers. */
  start(): Promise<void>;
  pause(): void;
  resume(): void;
}

/** The Kafka version scripts/services.sh runs (kafka.version in scripts/services/pom.xml). */
export function defaultKafkaVersion(): string {
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(
    readFileSync('scripts/services/pom.xml', 'utf8'),
  );
  if (m === null) throw new Error('no kafka.version in scripts/services/pom.xml');
  return m[1] as string;
}

/** The jars of a Kafka version: the services' own (resolved by `up`), or another one (`kafka-jars <v>`). */
export function kafkaLib(version: string): string {
  ensureServices(); // resolves the default version's jars on a fresh machine
  const lib = resolve('.cache', `kafka-${version}`, 'lib');
  if (!existsSync(lib))
    execFileSync('bash', ['scripts/services.sh', 'kafka-jars', version], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  if (!existsSync(lib)) throw new Error(`no Kafka ${version} jars in ${lib}`);
  return lib;
}

export async function answers(
  brokers: string[],
  security?: Pick<Config['kafka'], 'ssl' | 'sasl'>,
): Promise<boolean> {
  const admin = createKafkaClient({
    brokers,
    clientId: 'it-probe',
    ssl: false,
    connectionTimeoutMs: 1000,
    transactionTimeoutMs: 60000,
    ...security,
  }).admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    return c.brokers.length > 0 && c.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const ADMIN = { username: 'admin', password: 'admin-secret' };

/** The java arguments that run a class of Kafka `lib` with its logs in `dir` (a test broker's JVM). */
export function kafkaJava(lib: string, dir: string): string[] {
  return [
    '-Xms128m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${resolve('scripts/services/log4j2.yaml')}`,
    `-Dkafka.logs.dir=${dir}`,
    '-cp',
    `${lib}/*`,
  ];
}

/** Settings every test broker shares: quick group joins, few threads, prompt aborts of timed-out transactions. */
export const TEST_BROKER_TUNING: readonly string[] = [
  'group.initial.rebalance.delay.ms=0',
  'num.network.threads=2',
  'num.io.threads=2',
  // the coordinator looks for timed-out transactions every second (default: every 10 s)
  'transaction.abort.timed.out.transaction.cleanup.interval.ms=1000',
];

/** A new KRaft cluster id (kafka-storage random-uuid). */
export function newClusterId(java: readonly string[]): string {
  return execFileSync('java', [...java, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop() as string;
}

/** Formats a node's storage for cluster `clusterId` (kafka-storage format), with any extra arguments. */
export function formatStorage(
  java: readonly string[],
  clusterId: string,
  props: string,
  extra: readonly string[] = [],
): void {
  execFileSync(
    'java',
    [...java, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, ...extra],
    {
      stdio: 'ignore',
    },
  );
}

/**
 * A private broker of the services' Kafka version, or of `version` (resolved from Maven Central once).
 * `secure`: its only client listener is SASL_SSL (SCRAM-SHA-512, client certificates required, the broker
 * certificate naming 127.0.0.1), with the StandardAuthorizer on: User:admin is the super user and every
 * other principal needs ACLs.
 */
export async function startPrivateKafka(
  version = defaultKafkaVersion(),
  opts: { secure?: boolean } = {},
): Promise<PrivateKafka> {
  const lib = kafkaLib(version);
  const [port, controller] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'streamscore-kafka-'));
  const props = join(dir, 'server.properties');
  const certs = opts.secure === true ? makeTestCertificates(dir) : undefined;
  const listener = certs === undefined ? 'PLAINTEXT' : 'SASL_SSL';
  const scram = `org.apache.kafka.common.security.scram.ScramLoginModule required username="${ADMIN.username}" password="${ADMIN.password}";`;
  const secured =
    certs === undefined
      ? []
      : [
          'sasl.enabled.mechanisms=SCRAM-SHA-512',
          'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
          `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scram}`,
          `ssl.keystore.location=${certs.keystore}`,
          'ssl.keystore.type=PKCS12',
          `ssl.keystore.password=${STORE_PASSWORD}`,
          `ssl.key.password=${STORE_PASSWORD}`,
          `ssl.truststore.location=${certs.truststore}`,
          'ssl.truststore.type=PKCS12',
          `ssl.truststore.password=${STORE_PASSWORD}`,
          'ssl.client.auth=required',
          // SASL_SSL listeners ask for client certificates only when told so per listener (KIP-684)
          'listener.name.sasl_ssl.ssl.client.auth=required',
          'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
          // the controller listener is plaintext and reachable from this host only
          `super.users=User:${ADMIN.username};User:ANONYMOUS`,
        ];
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controller}`,
      `listeners=${listener}://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=${listener}://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      `listener.security.protocol.map=${listener}:${listener},CONTROLLER:PLAINTEXT`,
      `inter.broker.listener.name=${listener}`,
      ...secured,
      `log.dirs=${join(dir, 'data')}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=3',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      ...TEST_BROKER_TUNING,
      '',
    ].join('\n'),
  );
  const java = kafkaJava(lib, dir);
  const addAdmin =
    certs === undefined
      ? []
      : ['--add-scram', `SCRAM-SHA-512=[name=${ADMIN.username},password=${ADMIN.password}]`];
  formatStorage(java, newClusterId(java), props, addAdmin);
  const brokers = [`127.0.0.1:${port}`];
  const clientConfig = (username: string, password: string) => ({
    brokers,
    ssl: { caFile: certs?.ca as string, certFile: certs?.cert as string, keyFile: certs?.key as string },
    sasl: { mechanism: 'scram-sha-512' as const, username, password },
  });
  const probe =
    certs === undefined
      ? undefined
      : (() => {
          const c = clientConfig(ADMIN.username, ADMIN.password);
          return {
            ssl: { ...c.ssl, verifyHostname: true },
            sasl: { ...c.sasl, allowPlainWithoutTls: false },
          };
        })();
  const security: KafkaSecurity | undefined =
    certs === undefined
      ? undefined
      : {
          caFile: certs.ca,
          clientCertFile: certs.cert,
          clientKeyFile: certs.key,
          admin: ADMIN,
          clientConfig,
          addUser(username, password) {
            const commandConfig = join(dir, 'admin-client.properties');
            writeFileSync(
              commandConfig,
              [
                'security.protocol=SASL_SSL',
                'sasl.mechanism=SCRAM-SHA-512',
                `sasl.jaas.config=${scram}`,
                `ssl.truststore.location=${certs.truststore}`,
                'ssl.truststore.type=PKCS12',
                `ssl.truststore.password=${STORE_PASSWORD}`,
                `ssl.keystore.location=${certs.keystore}`,
                'ssl.keystore.type=PKCS12',
                `ssl.keystore.password=${STORE_PASSWORD}`,
                `ssl.key.password=${STORE_PASSWORD}`,
                '',
              ].join('\n'),
            );
            execFileSync(
              'java',
              [
                ...java,
                'kafka.admin.ConfigCommand',
                '--bootstrap-server',
                brokers[0] as string,
                '--command-config',
                commandConfig,
                '--alter',
                '--add-config',
                `SCRAM-SHA-512=[iterations=8192,password=${password}]`,
                '--entity-type',
                'users',
                '--entity-name',
                username,
              ],
              { stdio: 'pipe' },
            );
          },
        };
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('java', [...java, 'kafka.Kafka', props], { stdio: 'ignore' });
    child.unref();
    const deadline = Date.now() + 60000;
    while (!(await answers(brokers, probe))) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the private Kafka broker on port ${port} did not start (logs in ${dir})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const kill = () => killChild(child);
  await start();
  process.once('exit', () => {
    child?.kill('SIGCONT');
    child?.kill('SIGKILL');
  });
  return {
    brokers,
    ...(security === undefined ? {} : { security }),
    kill,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}
