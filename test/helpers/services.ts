import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { connectTopicAdmin, createKafkaClient } from '../../src/adapters/kafka.js';
import type { KafkaClient } from '../../src/adapters/kafka.js';
import { createRedisStore } from '../../src/adapters/redis.js';
import { createRegistryClient } from '../../src/adapters/registry.js';
import { loadEnvironmentSpecs } from '../../src/admin/topic-env.js';
import { applyTopics } from '../../src/admin/topics.js';
import { parseConfig } from '../../src/config/index.js';
import type { Config, ConfigInput } from '../../src/config/index.js';
import { produceSample } from '../../src/sample/index.js';
import { deleteClusterKeys, ensureRedisCluster } from './redis-cluster.js';
import type { ProduceSampleOptions, SampleStream } from '../../src/sample/index.js';

let servicesChecked = false;

/**
 * STREAMSCORE_TEST_REDIS=cluster: the tests that use the shared Redis run against the local Redis Cluster
 * of `scripts/services.sh cluster-up` instead (`npm run test:cluster`).
 */
export function testRedisIsCluster(): boolean {
  return process.env.STREAMSCORE_TEST_REDIS === 'cluster';
}

/** Starts Kafka, the registry and Redis through the project's own script when they are not running. */
export function ensureServices(): void {
  if (servicesChecked) return;
  execFileSync('bash', ['scripts/services.sh', 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  servicesChecked = true;
}

/**
 * Only the variables that say where the services are (ports, URLs): a developer's other STREAMSCORE_*
 * settings (group id, model version…) must not leak into the tests' isolated configs.
 */
export function serviceEnv(): NodeJS.ProcessEnv {
  const keep =
    /^STREAMSCORE_(KAFKA_PORT|KAFKA_CONTROLLER_PORT|REGISTRY_PORT|REDIS_PORT|KAFKA_BROKERS|REGISTRY_URL|REDIS_URL)$/;
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => keep.test(k)));
}

/** A name no other test run uses: topics, groups and key prefixes of each test are its own. */
export function uniqueId(label: string): string {
  return `it-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export interface TestEnv {
  readonly id: string;
  /** Topic prefix, e.g. "it-oracle-xyz." */
  readonly prefix: string;
  readonly config: Readonly<Config>;
  readonly kafka: KafkaClient;
  /** Config for a pipeline of this env, with overrides (e.g. another group or input format). */
  configWith(overrides: ConfigInput): Readonly<Config>;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      b !== null &&
      typeof b === 'object' &&
      !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Creates every topic of topics/ under a unique prefix and a config pointing at them, with its own group
 * and Redis key prefix. Registers cleanup: topics deleted, Redis keys removed.
 */
export async function createTestEnv(
  label: string,
  overrides: ConfigInput = {},
  /** `topicsEnv`: apply the topics with that environment overlay (topics/env/<name>.yaml) and its check. */
  opts: { topicsEnv?: string } = {},
): Promise<TestEnv> {
  ensureServices();
  const id = uniqueId(label);
  const prefix = `${id}.`;
  const base: ConfigInput = {
    pipeline: { name: 'churn' },
    inputs: {
      cdc: [
        {
          topic: `${prefix}cdc.bank.customers`,
          format: 'avro',
          schemaFile: 'schemas/cdc.bank.customers-value.avsc',
        },
      ],
      events: [
        { topic: `${prefix}transactions`, format: 'avro', schemaFile: 'schemas/transactions-value.avsc' },
      ],
    },
    outputs: {
      predictions: `${prefix}predictions`,
      audit: `${prefix}audit`,
      dlq: `${prefix}dlq`,
      quarantine: `${prefix}quarantine`,
      shadow: `${prefix}predictions-shadow`,
    },
    control: { topic: `${prefix}streamscore.control` },
    consumer: { groupId: `${id}-group`, sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000 },
    redis: testRedisIsCluster()
      ? { keyPrefix: `${id}:`, url: ensureRedisCluster().url, cluster: true }
      : { keyPrefix: `${id}:` },
    window: { maxRecords: 200, maxBytes: 1024 * 1024, maxDelayMs: 100 },
    observe: { port: 0, logLevel: 'warn' },
  };
  const configWith = (o: ConfigInput) =>
    parseConfig(
      merge(
        merge(base as Record<string, unknown>, overrides as Record<string, unknown>),
        o as Record<string, unknown>,
      ),
      serviceEnv(),
    );
  const config = configWith({});
  const kafka = createKafkaClient(config.kafka);
  const admin = await connectTopicAdmin(kafka);
  const { specs, require } = loadEnvironmentSpecs('topics', prefix, opts.topicsEnv);
  await applyTopics(admin, specs, { force: false, require });
  after(async () => {
    // STREAMSCORE_TEST_KEEP=1 leaves topics and keys in place for a post-mortem
    if (process.env.STREAMSCORE_TEST_KEEP === '1') return admin.close();
    try {
      for (const s of specs) await admin.delete(s.name).catch(() => undefined);
    } finally {
      await admin.close();
    }
    await deleteRedisKeys(config, `${id}:*`);
  });
  return { id, prefix, config, kafka, configWith };
}

/** The input topics of a test env's config: [CDC, transactions]. */
export function inputTopics(config: Readonly<Config>): [cdc: string, transactions: string] {
  return [config.inputs.cdc[0]?.topic as string, config.inputs.events[0]?.topic as string];
}

/** Produces (part of) a sample stream to the config's input topics; Avro unless `format` says otherwise. */
export async function produceToInputs(
  kafka: KafkaClient,
  config: Readonly<Config>,
  records: Pick<SampleStream, 'cdc' | 'transactions'>,
  opts: Partial<Omit<ProduceSampleOptions, 'cdcTopic' | 'transactionsTopic'>> = {},
): Promise<void> {
  const [cdcTopic, transactionsTopic] = inputTopics(config);
  await produceSample(kafka, createRegistryClient(config.registry), records, {
    format: 'avro',
    ...opts,
    cdcTopic,
    transactionsTopic,
  });
}

export async function deleteRedisKeys(config: Readonly<Config>, pattern: string): Promise<void> {
  if (config.redis.cluster) return deleteClusterKeys(config.redis.url, pattern);
  const { Redis } = await import('ioredis');
  const r = new Redis(config.redis.url, { db: config.redis.db });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    await r.quit();
  }
}

export { createRedisStore };
