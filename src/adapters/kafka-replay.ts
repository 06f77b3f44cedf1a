/**
 * Reading the input log from its beginning up to fixed end offsets, outside the pipeline's consumer group
 * (the rebuild of a Redis that lost its data). kafkajs has no group-less consumer: a consumer of a
 * throwaway group reads every partition, commits nothing, and the group is deleted afterwards.
 */
import type { RawRecord } from '../decode/types.js';
import { kafkaError } from './kafka-errors.js';
import { rawRecord } from './kafka-io.js';
import type { TopicPartition } from './kafka-io.js';
import type { KafkaClient } from './kafka.js';

export interface LogBatch extends TopicPartition {
  readonly records: readonly RawRecord[];
}

const tpKey = (topic: string, partition: number) => `${topic}/${partition}`;

/** Per partition (`topic/partition`): the next offset the log will write (high watermark) and its first. */
export async function logEnds(
  client: KafkaClient,
  topics: readonly string[],
): Promise<Map<string, { low: bigint; high: bigint }>> {
  const admin = client.admin();
  await admin.connect();
  try {
    const out = new Map<string, { low: bigint; high: bigint }>();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic))
        out.set(tpKey(topic, p.partition), { low: BigInt(p.low), high: BigInt(p.high) });
    }
    return out;
  } catch (cause) {
    throw kafkaError(cause, `reading the end offsets of ${topics.join(', ')}`);
  } finally {
    await admin.disconnect();
  }
}

/** Per partition (`topic/partition`): the group's committed offset (the next to read); absent when none. */
export async function groupOffsets(
  client: KafkaClient,
  groupId: string,
  topics: readonly string[],
): Promise<Map<string, bigint>> {
  const admin = client.admin();
  await admin.connect();
  try {
    const out = new Map<string, bigint>();
    for (const t of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
      for (const p of t.partitions)
        if (Number(p.offset) >= 0) out.set(tpKey(t.topic, p.partition), BigInt(p.offset));
    }
    return out;
  } catch (cause) {
    throw kafkaError(cause, `reading the committed offsets of group ${groupId}`);
  } finally {
    await admin.disconnect();
  }
}

export interface ReplayOptions {
  readonly topics: readonly string[];
  /** Per partition: read offsets below `high`, from the log's start (partitions not listed are not read). */
  readonly ends: ReadonlyMap<string, { low: bigint; high: bigint }>;
  /** The throwaway group's id (deleted at the end). */
  readonly groupId: string;
  /** Largest fetch, bytes (per partition: a quarter of it). */
  readonly fetchMaxBytes: number;
  readonly onBatch: (batch: LogBatch) => Promise<void>;
  /** Called between batches; throw from it to stop the replay. */
  readonly check?: () => void;
  /** Per partition (`topic/partition`): start here instead of the log's start. */
  readonly from?: ReadonlyMap<string, bigint>;
  /** After each batch: offsets passed so far and in all (records, aborted records and markers alike). */
  readonly onProgress?: (passed: bigint, total: bigint) => void;
}

/** Reads every listed partition from its start up to its end offset, batch by batch, in offset order. */
export async function replayLog(client: KafkaClient, opts: ReplayOptions): Promise<void> {
  const pending = new Map<string, bigint>();
  let total = 0n;
  const startOf = (k: string, low: bigint) => {
    const f = opts.from?.get(k);
    return f !== undefined && f > low ? f : low;
  };
  for (const [k, e] of opts.ends) {
    const low = startOf(k, e.low);
    if (e.high <= low) continue;
    pending.set(k, e.high);
    total += e.high - low;
  }
  if (pending.size === 0) return;
  const passedAt = new Map<string, bigint>();
  let passed = 0n;
  const consumer = client.consumer({
    groupId: opts.groupId,
    sessionTimeout: 30000,
    heartbeatInterval: 3000,
    maxBytes: opts.fetchMaxBytes,
    maxBytesPerPartition: Math.max(1 << 20, Math.floor(opts.fetchMaxBytes / 4)),
    maxWaitTimeInMs: 250,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  let failed: unknown;
  let settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    settle = {
      resolve,
      reject: (e) => {
        failed ??= e;
        reject(e);
      },
    };
  });
  finished.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
  const progressed = (topic: string, partition: number, lastOffset: string) => {
    const k = tpKey(topic, partition);
    const end = pending.get(k);
    if (end === undefined) return;
    const range = opts.ends.get(k);
    if (opts.onProgress !== undefined && range !== undefined) {
      const at = BigInt(lastOffset) + 1n < end ? BigInt(lastOffset) + 1n : end;
      const before = passedAt.get(k) ?? startOf(k, range.low);
      if (at > before) {
        passed += at - before;
        passedAt.set(k, at);
        opts.onProgress(passed, total);
      }
    }
    if (BigInt(lastOffset) < end - 1n) return;
    pending.delete(k);
    consumer.pause([{ topic, partitions: [partition] }]);
    if (pending.size === 0) settle?.resolve();
  };
  // after every batch, also those kafkajs does not hand over (only transaction markers or aborted records)
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    progressed(e.payload.topic, e.payload.partition, e.payload.lastOffset);
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) settle?.reject(e.payload.error);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...opts.topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const end = pending.get(tpKey(batch.topic, batch.partition));
        if (end === undefined || failed !== undefined) return;
        const records: RawRecord[] = [];
        const start = opts.from?.get(tpKey(batch.topic, batch.partition));
        for (const m of batch.messages) {
          if (start !== undefined && BigInt(m.offset) < start) continue;
          if (BigInt(m.offset) >= end) break;
          records.push(rawRecord(batch.topic, batch.partition, m));
        }
        // a failure stops the replay (it is not kafkajs's to retry): the caller decides what happens next
        try {
          opts.check?.();
          if (records.length > 0)
            await opts.onBatch({ topic: batch.topic, partition: batch.partition, records });
        } catch (err) {
          settle?.reject(err);
        }
      },
    });
    // kafkajs seeks only once the consumer runs; batches fetched before it are cut above
    for (const [k, offset] of opts.from ?? []) {
      if (!pending.has(k)) continue;
      const at = k.lastIndexOf('/');
      consumer.seek({ topic: k.slice(0, at), partition: Number(k.slice(at + 1)), offset: offset.toString() });
    }
    await finished;
  } catch (err) {
    throw err instanceof Error && 'code' in err ? err : kafkaError(err, 'replaying the input log');
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = client.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([opts.groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }
}

export interface TopicLog {
  /** In offset order within each partition. */
  readonly records: readonly RawRecord[];
  /** Per partition: the offset after the last record read (where a follower picks up). */
  readonly ends: ReadonlyMap<number, bigint>;
}

/** Every committed record of a topic up to its end when the read started (control, DLQ, audit topics). */
export async function readToEnd(
  client: KafkaClient,
  topic: string,
  groupId: string,
  opts: { readonly fetchMaxBytes?: number; readonly onProgress?: ReplayOptions['onProgress'] } = {},
): Promise<TopicLog> {
  const ranges = await logEnds(client, [topic]);
  const records: RawRecord[] = [];
  await replayLog(client, {
    topics: [topic],
    ends: ranges,
    groupId,
    fetchMaxBytes: opts.fetchMaxBytes ?? 16 << 20,
    onBatch: async (b) => {
      records.push(...b.records);
    },
    ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
  });
  const ends = new Map<number, bigint>();
  for (const [k, e] of ranges) ends.set(Number(k.slice(k.lastIndexOf('/') + 1)), e.high);
  return { records, ends };
}
