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
import { freePort } from './redis-server.js';
import { ensureServices } from './services.js';
import { killChild } from './child.js';

export interface PrivateKafka {
  readonly brokers: string[];
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
function kafkaLib(version: string): string {
  ensureServices(); // resolves the default version's jars on a fresh machine
  const lib = resolve('.cache', `kafka-${version}`, 'lib');
  if (!existsSync(lib))
    execFileSync('bash', ['scripts/services.sh', 'kafka-jars', version], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  if (!existsSync(lib)) throw new Error(`no Kafka ${version} jars in ${lib}`);
  return lib;
}

async function answers(brokers: string[]): Promise<boolean> {
  const admin = createKafkaClient({
    brokers,
    clientId: 'it-probe',
    ssl: false,
    connectionTimeoutMs: 1000,
    transactionTimeoutMs: 60000,
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

/** A private broker of the services' Kafka version, or of `version` (resolved from Maven Central once). */
export async function startPrivateKafka(version = defaultKafkaVersion()): Promise<PrivateKafka> {
  const lib = kafkaLib(version);
  const [port, controller] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'streamscore-kafka-'));
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=3',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=2',
      // the coordinator looks for timed-out transactions every second (default: every 10 s)
      'transaction.abort.timed.out.transaction.cleanup.interval.ms=1000',
      '',
    ].join('\n'),
  );
  const java = [
    '-Xms128m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${resolve('scripts/services/log4j2.yaml')}`,
    `-Dkafka.logs.dir=${dir}`,
    '-cp',
    `${lib}/*`,
  ];
  const uuid = execFileSync('java', [...java, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop() as string;
  execFileSync('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', uuid, '-c', props], {
    stdio: 'ignore',
  });
  const brokers = [`127.0.0.1:${port}`];
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('java', [...java, 'kafka.Kafka', props], { stdio: 'ignore' });
    child.unref();
    const deadline = Date.now() + 60000;
    while (!(await answers(brokers))) {
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
    kill,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}
