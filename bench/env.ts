/**
 * The benchmark's own corner of the local services: every topic under a run prefix (`bench-<ts>.`), every
 * consumer group and Redis key prefix named after the run and the system that uses it, all removed at the
 * end unless --keep.
 */
import type { Admin } from 'kafkajs';
import { Redis } from 'ioredis';
import { connectTopicAdmin, createKafkaClient } from '../src/adapters/kafka.js';
import type { KafkaClient, TopicAdmin } from '../src/adapters/kafka.js';
import { createRegistryClient } from '../src/adapters/registry.js';
import type { SchemaRegistryClient } from '../src/adapters/registry.js';
import { loadSchemaManifest, registerSchemas } from '../src/admin/schemas.js';
import { loadTopicSpecs } from '../src/admin/topic-spec.js';
import type { TopicSpec } from '../src/admin/topic-spec.js';
import { applyTopics } from '../src/admin/topics.js';
import { parseConfig } from '../src/config/index.js';
import { ProgressLine } from '../src/observe/progress-line.js';
import { EpochStore, epochKey, newEpochId } from '../src/sink/index.js';
import { createRedisStore } from '../src/adapters/redis.js';
import type { Config, ConfigInput } from '../src/config/index.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface BenchTopics {
  readonly cdc: string;
  readonly transactions: string;
  readonly predictions: string;
  readonly audit: string;
  readonly dlq: string;
  readonly quarantine: string;
  /** Where the naive processor writes its predictions. */
  readonly naivePredictions: string;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const nested = (x: unknown) => x !== null && typeof x === 'object' && !Array.isArray(x);
    out[k] = nested(v) && nested(b) ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

export class BenchEnv {
  readonly runId: string;
  readonly prefix: string;
  readonly partitions: number;
  readonly topics: BenchTopics;
  readonly kafka: KafkaClient;
  readonly registry: SchemaRegistryClient;
  readonly #topicAdmin: TopicAdmin;
  readonly #admin: Admin;
  readonly #created: string[] = [];
  readonly #base: ConfigInput;
  readonly redisUrl: string;

  private constructor(runId: string, partitions: number, topicAdmin: TopicAdmin, admin: Admin, base: Config) {
    this.runId = runId;
    this.prefix = `${runId}.`;
    this.partitions = partitions;
    const p = this.prefix;
    this.topics = {
      cdc: `${p}cdc.bank.customers`,
      transactions: `${p}transactions`,
      predictions: `${p}predictions`,
      audit: `${p}audit`,
      dlq: `${p}dlq`,
      quarantine: `${p}quarantine`,
      naivePredictions: `${p}naive.predictions`,
    };
    this.kafka = createKafkaClient(base.kafka);
    this.registry = createRegistryClient(base.registry);
    this.redisUrl = base.redis.url;
    this.#topicAdmin = topicAdmin;
    this.#admin = admin;
    this.#base = {
      inputs: {
        cdc: [
          { topic: this.topics.cdc, format: 'avro', schemaFile: 'schemas/cdc.bank.customers-value.avsc' },
        ],
        events: [
          { topic: this.topics.transactions, format: 'avro', schemaFile: 'schemas/transactions-value.avsc' },
        ],
      },
      outputs: {
        predictions: this.topics.predictions,
        audit: this.topics.audit,
        dlq: this.topics.dlq,
        quarantine: this.topics.quarantine,
      },
      observe: { port: 0, logLevel: 'info' },
    };
  }

  /** Creates the run's topics (input, output and the naive processor's output) and registers its schemas. */
  static async create(runId: string, partitions: number): Promise<BenchEnv> {
    const defaults = parseConfig({}, process.env);
    const kafka = createKafkaClient(defaults.kafka);
    const topicAdmin = await connectTopicAdmin(kafka);
    const admin = kafka.admin();
    await admin.connect();
    const env = new BenchEnv(runId, partitions, topicAdmin, admin, defaults);
    const resized = (s: TopicSpec): TopicSpec =>
      [env.topics.cdc, env.topics.transactions, env.topics.predictions].includes(s.name)
        ? { ...s, partitions }
        : s;
    const specs = loadTopicSpecs('topics', env.prefix)
      .flatMap((f) => f.topics)
      .map(resized);
    const predictions = specs.find((s) => s.name === env.topics.predictions) as TopicSpec;
    specs.push({ ...predictions, name: env.topics.naivePredictions });
    env.#created.push(...specs.map((s) => s.name));
    await applyTopics(topicAdmin, specs, { force: false });
    await registerSchemas(env.registry, loadSchemaManifest('schemas/schemas.yaml', env.prefix));
    return env;
  }

  /**
   * streamscore's default configuration on the run's topics; only names differ per label (group
   * `<run>-<label>`, Redis keys `<run>:<label>:…`), plus `over`.
   */
  config(label: string, over: ConfigInput = {}): Readonly<Config> {
    return parseConfig(this.configInput(label, over), process.env);
  }

  /**
   * What `config` parses, before the defaults: the file given to a streamscore process, so each build (this
   * one or an older one compared with it) applies its own defaults, and an option one build lacks is not
   * forced on the other.
   */
  configInput(label: string, over: ConfigInput = {}): ConfigInput {
    const named: ConfigInput = {
      consumer: { groupId: this.group(label) },
      redis: { keyPrefix: this.keyPrefix(label) },
      // the challenger's shadow topic is the run's own (only named when a challenger is configured: an
      // older build's strict config does not know the option)
      ...(over.model?.challenger === undefined
        ? {}
        : { outputs: { shadow: `${this.prefix}predictions-shadow` } }),
    };
    return merge(
      merge(this.#base as Record<string, unknown>, named as Record<string, unknown>),
      over as Record<string, unknown>,
    ) as ConfigInput;
  }

  group(label: string): string {
    return `${this.runId}-${label}`;
  }

  keyPrefix(label: string): string {
    return `${this.runId}:${label}:`;
  }

  /** Records per partition (high watermark − low watermark) of each topic. */
  async topicSize(topic: string): Promise<number> {
    const offs = await this.#admin.fetchTopicOffsets(topic);
    return offs.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  }

  /** Commits the end of `topic` for `group` (no member may be running), so the group reads none of it. */
  async commitEnd(group: string, topic: string): Promise<void> {
    const ends = await this.#admin.fetchTopicOffsets(topic);
    await this.#admin.setOffsets({
      groupId: group,
      topic,
      partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })),
    });
  }

  /** Marks the config's Redis key prefix as holding the pipeline's state (what a new deployment does). */
  async openEpoch(config: Readonly<Config>): Promise<void> {
    // through the product's own epoch store: on a Redis Cluster (a side run with redis.cluster) it also
    // writes the per-slot copies the writes check
    const store = createRedisStore(config.redis, 'streamscore-bench');
    try {
      await new EpochStore(store, epochKey(config.redis.keyPrefix, config.pipeline.name)).create(
        newEpochId(),
      );
    } finally {
      await store.close();
    }
  }

  /** Records of `topics` the group has not committed yet. */
  async lag(group: string, topics: readonly string[]): Promise<number> {
    let behind = 0;
    for (const topic of topics) {
      const [ends, committed] = await Promise.all([
        this.#admin.fetchTopicOffsets(topic),
        this.#admin.fetchOffsets({ groupId: group, topics: [topic] }),
      ]);
      for (const e of ends) {
        const c = committed[0]?.partitions.find((p) => p.partition === e.partition);
        behind += Number(e.high) - Math.max(Number(c?.offset ?? -1), Number(e.low));
      }
    }
    return behind;
  }

  /**
   * Polls until the group has committed everything of `topics`; returns the instant it saw zero lag. Fails
   * when the consumer is gone or nothing was committed for `stallMs` (a pipeline stuck retrying a window).
   */
  async waitCaughtUp(
    group: string,
    topics: readonly string[],
    opts: {
      timeoutMs: number;
      pollMs?: number;
      stallMs?: number;
      alive?: () => boolean;
      stopAt?: (committed: number) => boolean;
      /** Shows committed / total on the bench's output while waiting (a line every 10 s). */
      progress?: string;
    },
  ): Promise<number> {
    const deadline = Date.now() + opts.timeoutMs;
    let total = 0;
    for (const t of topics) total += await this.topicSize(t);
    const shown =
      opts.progress === undefined
        ? undefined
        : new ProgressLine(opts.progress, total, { out: process.stdout, logEveryMs: 10_000 });
    let lastBehind = -1;
    let progressAt = Date.now();
    while (Date.now() < deadline) {
      const behind = await this.lag(group, topics);
      if (behind === 0 || opts.stopAt?.(total - behind) === true) {
        shown?.finish(total - behind);
        return Date.now();
      }
      shown?.update(total - behind);
      if (opts.alive !== undefined && !opts.alive()) throw new Error(`group ${group}: the consumer exited`);
      if (behind !== lastBehind) {
        lastBehind = behind;
        progressAt = Date.now();
      } else if (Date.now() - progressAt > (opts.stallMs ?? 120_000)) {
        throw new Error(
          `group ${group}: nothing committed for ${Math.round((Date.now() - progressAt) / 1000)} s (${behind} records behind)`,
        );
      }
      await sleep(opts.pollMs ?? 100);
    }
    throw new Error(`group ${group} did not catch up within ${opts.timeoutMs} ms`);
  }

  /** Removes the Redis keys of one label (e.g. after a sweep run) or of the whole run. */
  async deleteKeys(label?: string): Promise<number> {
    const r = new Redis(this.redisUrl);
    let n = 0;
    try {
      let cursor = '0';
      const pattern = label === undefined ? `${this.runId}:*` : `${this.keyPrefix(label)}*`;
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
        cursor = next;
        if (keys.length > 0) n += await r.unlink(...keys);
      } while (cursor !== '0');
    } finally {
      r.disconnect();
    }
    return n;
  }

  /** Deletes the run's topics, consumer groups and Redis keys (unless `keep`), and closes the admin clients. */
  async close(keep: boolean): Promise<void> {
    try {
      if (!keep) {
        // Groups first: once the topics are gone this admin's metadata refresh fails (it still tracks them).
        // Every group of the run is `<runId>-<label>[.<stage>]`, empty once the run's processes stopped;
        // one at a time, so a group whose last member has not timed out yet fails alone.
        const groups = (await this.#admin.listGroups().catch(() => ({ groups: [] }))).groups
          .map((g) => g.groupId)
          .filter((g) => g.startsWith(`${this.runId}-`));
        for (const g of groups) await this.#admin.deleteGroups([g]).catch(() => undefined);
        for (const t of this.#created) await this.#topicAdmin.delete(t).catch(() => undefined);
        await this.deleteKeys();
      }
    } finally {
      await this.#topicAdmin.close().catch(() => undefined);
      await this.#admin.disconnect().catch(() => undefined);
    }
  }
}

/** Deletes what interrupted runs left behind: every `bench-<14 digits>.` topic and `bench-<14 digits>:` key. */
export async function cleanupRuns(): Promise<{ topics: number; keys: number }> {
  const defaults = parseConfig({}, process.env);
  const admin = createKafkaClient(defaults.kafka).admin();
  await admin.connect();
  let topics: string[] = [];
  try {
    topics = (await admin.listTopics()).filter((t) => /^bench-\d{14}\./.test(t));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
  const r = new Redis(defaults.redis.url);
  let keys = 0;
  try {
    let cursor = '0';
    do {
      const [next, found] = await r.scan(cursor, 'MATCH', 'bench-[0-9]*:*', 'COUNT', 5000);
      cursor = next;
      const ours = found.filter((k) => /^bench-\d{14}:/.test(k));
      if (ours.length > 0) keys += await r.unlink(...ours);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return { topics: topics.length, keys };
}
