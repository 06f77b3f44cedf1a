/**
 * What the latency phase watches, from outside the pipeline:
 * - Redis: keyspace notifications (`notify-keyspace-events Kh`, set for the run and restored after) on the
 *   prediction hashes of sampled entities; on each HSET the prediction's `as_of` is read back (field `json`). A prediction with
 *   `as_of = A` holds every event of that entity with event time ≤ A.
 * - Kafka: a read_committed consumer of the predictions topic; a prediction event carries `as_of` the same way.
 * Latency of an event = the first instant an observation of its entity has as_of ≥ its event time, minus
 * its event time (the instant the open-loop producer was due to send it).
 */
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { Redis } from 'ioredis';
import type { Consumer } from 'kafkajs';
import type { BenchEnv } from './env.js';
import type { Percentiles } from './types.js';
import { parseStoredPrediction } from '../src/sink/index.js';

/** Observations (entity id, as_of, seen at) in arrival order. */
export class Observations {
  entity: number[] = [];
  asOf: number[] = [];
  at: number[] = [];
  /** Last digits of the entity ids observed, e.g. "05". */
  digits = '0123456789';

  push(entity: number, asOf: number, at: number): void {
    this.entity.push(entity);
    this.asOf.push(asOf);
    this.at.push(at);
  }

  sampled(entity: number): boolean {
    return this.digits.includes(String(entity % 10));
  }

  reset(digits: string): void {
    this.entity = [];
    this.asOf = [];
    this.at = [];
    this.digits = digits;
  }
}

/** The last digits to sample so that about `maxPerSecond` events per second are observed. */
export function sampleDigits(rate: number, maxPerSecond: number): string {
  const n = Math.max(1, Math.min(10, Math.round((10 * maxPerSecond) / Math.max(1, rate))));
  return '0123456789'.slice(0, n);
}

export function percentiles(values: number[], missing: number): Percentiles {
  const v = Float64Array.from(values).sort();
  const at = (q: number) =>
    v.length === 0 ? null : (v[Math.min(v.length - 1, Math.floor(q * v.length))] as number);
  return { count: v.length, missing, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: at(1) };
}

/**
 * Latencies of the produced events (pairs of entity id, event time) whose event time is in [from, to) and
 * whose entity is sampled.
 */
export function match(
  events: Float64Array,
  obs: Observations,
  from: number,
  to: number,
): { values: number[]; missing: number } {
  const byEntity = new Map<number, number[]>();
  for (let i = 0; i < obs.entity.length; i++) {
    const e = obs.entity[i] as number;
    let list = byEntity.get(e);
    if (list === undefined) byEntity.set(e, (list = []));
    list.push(i);
  }
  // per entity: observations in time order with the running maximum of as_of (monotone, so searchable)
  const index = new Map<number, { at: Float64Array; maxAsOf: Float64Array }>();
  for (const [e, idx] of byEntity) {
    idx.sort((a, b) => (obs.at[a] as number) - (obs.at[b] as number));
    const at = new Float64Array(idx.length);
    const maxAsOf = new Float64Array(idx.length);
    let m = -Infinity;
    idx.forEach((i, k) => {
      m = Math.max(m, obs.asOf[i] as number);
      at[k] = obs.at[i] as number;
      maxAsOf[k] = m;
    });
    index.set(e, { at, maxAsOf });
  }
  const values: number[] = [];
  let missing = 0;
  for (let i = 0; i + 1 < events.length; i += 2) {
    const e = events[i] as number;
    const t = events[i + 1] as number;
    if (t < from || t >= to || !obs.sampled(e)) continue;
    const ix = index.get(e);
    if (ix === undefined) {
      missing++;
      continue;
    }
    let lo = 0;
    let hi = ix.maxAsOf.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ix.maxAsOf[mid] as number) >= t) hi = mid;
      else lo = mid + 1;
    }
    if (lo === ix.maxAsOf.length) missing++;
    else values.push(Math.max(0, (ix.at[lo] as number) - t));
  }
  return { values, missing };
}

/** Keyspace notifications of prediction hashes → Observations. */
export class RedisObserver {
  readonly obs = new Observations();
  readonly #sub: Redis;
  readonly #reader: Redis;
  readonly #channelPrefix: string;
  #previousFlags: string | null = null;
  #pattern: string | undefined;
  readonly #keyPrefix: string;
  readonly #pipeline: string;

  constructor(url: string, db: number, keyPrefix: string, pipeline: string) {
    this.#sub = new Redis(url, { db });
    this.#reader = new Redis(url, { db, enableAutoPipelining: true });
    this.#channelPrefix = `__keyspace@${db}__:`;
    this.#keyPrefix = keyPrefix;
    this.#pipeline = pipeline;
    this.#sub.on('pmessage', (_pattern: string, channel: string, message: string) => {
      if (message !== 'hset') return;
      const at = Date.now();
      const key = channel.slice(this.#channelPrefix.length);
      const entity = Number(key.slice(key.lastIndexOf(':') + 1, -1));
      if (key.endsWith(':s')) return; // the entity's state, not its prediction
      void this.#reader.hget(key, 'json').then(
        (v) => {
          const p = parseStoredPrediction(v);
          if (p !== null) this.obs.push(entity, p.as_of, at);
        },
        () => undefined,
      );
    });
  }

  /** Turns keyspace notifications for hashes on (keeping any flags already set). */
  async enable(): Promise<void> {
    const current = ((await this.#reader.config('GET', 'notify-keyspace-events')) as string[])[1] ?? '';
    this.#previousFlags = current;
    const flags = new Set([...current, 'K', 'h']);
    if (flags.has('A')) flags.delete('h');
    await this.#reader.config('SET', 'notify-keyspace-events', [...flags].join(''));
  }

  /** Watches the entities whose id ends in one of `digits` (none: stops watching). */
  async watch(digits: string): Promise<void> {
    if (this.#pattern !== undefined) await this.#sub.punsubscribe(this.#pattern);
    this.#pattern = undefined;
    this.obs.reset(digits);
    if (digits === '') return;
    this.#pattern = `${this.#channelPrefix}${this.#keyPrefix}{${this.#pipeline}:*[${digits}]}`;
    await this.#sub.psubscribe(this.#pattern);
  }

  async close(): Promise<void> {
    try {
      if (this.#previousFlags !== null)
        await this.#reader.config('SET', 'notify-keyspace-events', this.#previousFlags);
    } finally {
      this.#sub.disconnect();
      this.#reader.disconnect();
    }
  }
}

/** A read_committed consumer of the predictions topic → Observations (sampled entities only). */
export class KafkaObserver {
  readonly obs = new Observations();
  readonly #consumer: Consumer;
  readonly #type: avro.Type;

  constructor(env: BenchEnv, label: string) {
    this.#type = avro.Type.forSchema(
      JSON.parse(
        readFileSync(new URL('../../schemas/predictions-value.avsc', import.meta.url), 'utf8'),
      ) as avro.Schema,
    );
    this.#consumer = env.kafka.consumer({
      groupId: `${env.runId}-observer-${label}`,
      readUncommitted: false,
      maxWaitTimeInMs: 50,
      minBytes: 1,
    });
  }

  /** Subscribes from the end of the topic; resolves once the consumer has joined and started fetching. */
  async start(topic: string): Promise<void> {
    let joined: () => void = () => undefined;
    const join = new Promise<void>((r) => (joined = r));
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, () => joined());
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [topic], fromBeginning: false });
    await this.#consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const at = Date.now();
        for (const m of batch.messages) {
          if (m.key === null || m.value === null) continue;
          const entity = Number(m.key.toString());
          if (!this.obs.sampled(entity)) continue;
          const event = this.#type.fromBuffer(m.value.subarray(5)) as { as_of: number };
          this.obs.push(entity, event.as_of, at);
        }
      },
    });
    await join;
  }

  async close(): Promise<void> {
    await this.#consumer.disconnect();
  }
}
