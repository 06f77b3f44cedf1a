/**
 * The only place (with kafka-*.ts beside it) that imports kafkajs. Stages see the narrow interfaces below.
 */
// must run before kafkajs loads: it replaces kafkajs's read_committed filter (see the module)
import './kafkajs-fix.js';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaClient, SASLOptions, logCreator } from 'kafkajs';
import type { Config } from '../config/index.js';
import type { Logger } from '../observe/logger.js';
import type { TopicState } from '../admin/topic-plan.js';
import type { TopicSpec } from '../admin/topic-spec.js';
import { kafkaErrorType } from './kafka-errors.js';
import { tlsOptions } from './tls.js';

const { Kafka, logLevel: KafkaLogLevel, ConfigResourceTypes, ConfigSource } = kafkajs;

export type { KafkaClient };

/** The last authorization refusal a client's kafkajs logged (see lastAuthorizationRefusal). */
interface RefusalMemo {
  last?: { readonly text: string; readonly at: number };
}

const refusals = new WeakMap<KafkaClient, RefusalMemo>();

/**
 * The authorization refusal kafkajs logged for this client within `withinMs`, if any. kafkajs reports some
 * refusals only in its log: a group the principal may not access makes FindCoordinator fail on every broker,
 * and what is thrown is "Failed to find group coordinator", without the cause.
 */
export function lastAuthorizationRefusal(client: KafkaClient, withinMs: number): string | undefined {
  const last = refusals.get(client)?.last;
  return last !== undefined && Date.now() - last.at <= withinMs ? last.text : undefined;
}

function kafkaLogCreator(logger: Logger | undefined, memo: RefusalMemo): logCreator {
  return () =>
    ({ level, log }) => {
      const error = (log as { error?: unknown }).error;
      if (typeof error === 'string' && /authori[sz]ation failed/i.test(error))
        memo.last = { text: error, at: Date.now() };
      if (logger === undefined) return;
      const { message, ...extra } = log;
      // kafkajs logs expected, retried conditions (coordinator loading, rebalances) at ERROR;
      // we keep them at warn so alerts on error-level logs stay meaningful.
      if (level <= KafkaLogLevel.WARN) logger.warn({ kafkajs: extra }, message);
      else if (level === KafkaLogLevel.INFO) logger.debug({ kafkajs: extra }, message);
    };
}

export function createKafkaClient(cfg: Config['kafka'], logger?: Logger, clientIdSuffix = ''): KafkaClient {
  const sasl: SASLOptions | undefined =
    cfg.sasl === undefined
      ? undefined
      : ({
          mechanism: cfg.sasl.mechanism,
          username: cfg.sasl.username,
          password: cfg.sasl.password,
        } as SASLOptions);
  const memo: RefusalMemo = {};
  const client = new Kafka({
    clientId: cfg.clientId + clientIdSuffix,
    brokers: [...cfg.brokers],
    ssl: typeof cfg.ssl === 'boolean' ? cfg.ssl : tlsOptions('kafka.ssl', cfg.ssl),
    ...(sasl === undefined ? {} : { sasl }),
    connectionTimeout: cfg.connectionTimeoutMs,
    logLevel: logger === undefined ? KafkaLogLevel.NOTHING : KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(logger, memo),
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
  });
  refusals.set(client, memo);
  return client;
}

/** What `topics plan/apply` needs from a cluster. */
export interface TopicAdmin {
  describe(names: readonly string[]): Promise<Map<string, TopicState>>;
  create(spec: TopicSpec): Promise<void>;
  addPartitions(topic: string, count: number): Promise<void>;
  /** Replaces the topic's explicitly set configs with `desired` (declarative). */
  setConfig(topic: string, desired: Readonly<Record<string, string>>): Promise<void>;
  delete(topic: string): Promise<void>;
  /** Of `names` (topics describe() did not list), those the principal may not describe (an ACL is missing). */
  forbidden(names: readonly string[]): Promise<string[]>;
  /** How many brokers the cluster has and the broker-level values of `keys` (one broker's view). */
  brokerFacts(keys: readonly string[]): Promise<{ brokers: number; config: Record<string, string> }>;
  close(): Promise<void>;
}

/** Partitions, replication, explicitly set configs and emptiness of the topics that exist among `names`. */
async function describeTopics(admin: Admin, names: readonly string[]): Promise<Map<string, TopicState>> {
  const existing = new Set(await admin.listTopics());
  const wanted = names.filter((n) => existing.has(n));
  const out = new Map<string, TopicState>();
  if (wanted.length === 0) return out;
  const meta = await admin.fetchTopicMetadata({ topics: [...wanted] });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: wanted.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  for (const t of meta.topics) {
    const res = configs.resources.find((r) => r.resourceName === t.name);
    const config: Record<string, string> = {};
    for (const e of res?.configEntries ?? []) {
      if (e.configSource === ConfigSource.TOPIC_CONFIG && e.configValue !== null)
        config[e.configName] = e.configValue;
    }
    const offsets = await admin.fetchTopicOffsets(t.name);
    out.set(t.name, {
      partitions: t.partitions.length,
      replicationFactor: t.partitions[0]?.replicas.length ?? 0,
      config,
      empty: offsets.every((o) => o.high === o.low),
    });
  }
  return out;
}

/** Kafka error types a topic created a moment ago may answer with until its leaders are elected. */
const SETTLING = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

/**
 * Runs `fn` again (every 250 ms, for at most 15 s) while the broker answers that a partition has no leader
 * yet: describing topics right after they were created (tests, `topics apply`, a start after it) must not
 * fail on that.
 */
async function whileNewTopicsSettle<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!SETTLING.has(kafkaErrorType(err)) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function connectTopicAdmin(client: KafkaClient): Promise<TopicAdmin> {
  const admin = client.admin();
  await admin.connect();
  return {
    describe(names) {
      return whileNewTopicsSettle(() => describeTopics(admin, names));
    },
    async create(spec) {
      await admin.createTopics({
        // kafkajs's own wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which a busy broker answers while the
        // new topic's metadata propagates; wait here instead, tolerating it
        waitForLeaders: false,
        topics: [
          {
            topic: spec.name,
            numPartitions: spec.partitions,
            replicationFactor: spec.replicationFactor,
            configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
          },
        ],
      });
      await waitForLeaders(admin, spec.name, spec.partitions);
    },
    async addPartitions(topic, count) {
      await admin.createPartitions({ topicPartitions: [{ topic, count }] });
    },
    async setConfig(topic, desired) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topic,
            configEntries: Object.entries(desired).map(([name, value]) => ({ name, value })),
          },
        ],
      });
    },
    async delete(topic) {
      await admin.deleteTopics({ topics: [topic] });
    },
    async forbidden(names) {
      const out: string[] = [];
      for (const topic of names) {
        try {
          await admin.fetchTopicMetadata({ topics: [topic] });
        } catch (err) {
          if (kafkaErrorType(err) === 'TOPIC_AUTHORIZATION_FAILED') out.push(topic);
        }
      }
      return out;
    },
    async brokerFacts(keys) {
      const cluster = await admin.describeCluster();
      const id = cluster.controller ?? cluster.brokers[0]?.nodeId ?? 1;
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.BROKER, name: String(id), configNames: [...keys] }],
      });
      const config: Record<string, string> = {};
      for (const e of res.resources[0]?.configEntries ?? [])
        if (e.configValue !== null) config[e.configName] = e.configValue;
      return { brokers: cluster.brokers.length, config };
    },
    async close() {
      await admin.disconnect();
    },
  };
}

const TRANSIENT_METADATA = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_OR_FOLLOWER',
]);

/** Resolves once every partition of a new topic has a leader (30 s at most). */
async function waitForLeaders(admin: Admin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const parts = meta.topics[0]?.partitions ?? [];
      if (parts.length >= partitions && parts.every((p) => p.leader >= 0)) return;
    } catch (err) {
      if (!TRANSIENT_METADATA.has((err as { type?: string }).type ?? '')) throw err;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic} has no leader for every partition after 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
