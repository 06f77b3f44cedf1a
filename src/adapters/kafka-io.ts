/**
 * kafkajs consumer and transactional producers behind the narrow interfaces the pipeline uses.
 */
import type { Admin, Consumer, KafkaMessage, Producer, Transaction } from 'kafkajs';
import type { RawRecord } from '../decode/types.js';
import type { OutMessage } from '../emit/types.js';
import { StreamscoreError } from '../errors/index.js';
import { kafkaError, withRefusal } from './kafka-errors.js';
import { connectTopicAdmin, lastAuthorizationRefusal } from './kafka.js';
import type { KafkaClient } from './kafka.js';
import { runsOf } from '../util/runs.js';

export interface InputBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly RawRecord[];
  readonly highWatermark: string;
  heartbeat(): Promise<void>;
  /** True once a rebalance made this batch's partition assignment stale: do not commit it. */
  isStale(): boolean;
  isRunning(): boolean;
  /** Marks `offset` processed so the consumer's next fetch of the partition starts after it. */
  resolveOffset(offset: string): void;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface InputConsumer {
  start(handler: (batch: InputBatch) => Promise<void>): Promise<void>;
  pause(): void;
  resume(): void;
  /** Called on every join of the group (also after kafkajs restarted a crashed consumer). */
  onAssignment(cb: (assigned: TopicPartition[]) => void): void;
  /** Called when this member learns that the group is rebalancing: it owns nothing until it joins again. */
  onRebalancing(cb: () => void): void;
  /**
   * Called when the consumer crashed and left the group. With `willRestart` kafkajs starts it again (a
   * new member joins, see onAssignment); without, nothing consumes any more.
   */
  onCrash(cb: (err: Error, willRestart: boolean) => void): void;
  /** How many group heartbeats succeeded so far (each one proves membership in the current generation). */
  heartbeats(): number;
  /**
   * Per partition (`topic/partition`), the offset after the last record or marker kafkajs handed over,
   * including batches read_committed left empty.
   */
  fetchedTo(): ReadonlyMap<string, bigint>;
  /** The group's committed offset of one partition, asked of the broker (null when none). */
  committedOffset(tp: TopicPartition): Promise<bigint | null>;
  close(): Promise<void>;
}

export interface OutputTransaction {
  /**
   * Sends every topic's messages, in as few produce requests as the topics' limits allow (usually one per
   * window): request i carries chunk i of every topic.
   */
  sendAll(outputs: ReadonlyArray<{ topic: string; messages: readonly OutMessage[] }>): Promise<void>;
  sendOffsets(groupId: string, tp: TopicPartition, nextOffset: string): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TransactionalProducer {
  readonly transactionalId: string;
  begin(): Promise<OutputTransaction>;
  close(): Promise<void>;
}

/** Bytes of keys, values and headers per produce call, well under the broker's default message.max.bytes. */
const SEND_CHUNK_BYTES = 512 * 1024;

/**
 * How many bytes one produce call may carry for a topic: half its max.message.bytes (record batch framing
 * and per-record overhead stay well inside the other half), at most SEND_CHUNK_BYTES.
 */
export function maxSendBytes(maxMessageBytes: number | undefined): number {
  if (maxMessageBytes === undefined || !Number.isFinite(maxMessageBytes)) return SEND_CHUNK_BYTES;
  return Math.max(1024, Math.min(SEND_CHUNK_BYTES, Math.floor(maxMessageBytes / 2)));
}

function sizeOf(m: OutMessage): number {
  let n = 64 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [k, v] of Object.entries(m.headers ?? {})) n += k.length + v.length + 8;
  return n;
}

/** Splits messages, in order, into runs of at most maxBytes each (a single larger message runs alone). */
export function chunksOf(messages: readonly OutMessage[], maxBytes: number): OutMessage[][] {
  return runsOf(messages, sizeOf, maxBytes);
}

/** A fetched kafkajs message as the decode stage reads it. */
export function rawRecord(topic: string, partition: number, m: KafkaMessage): RawRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    timestamp: m.timestamp,
    key: m.key,
    value: m.value,
    headers: (m.headers ?? {}) as Record<string, Buffer | string | undefined>,
  };
}

/** What the input consumer is told; the pipeline derives it from its config. */
export interface InputConsumerOptions {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Where a group without committed offsets starts. */
  readonly fromBeginning: boolean;
  /** How many partitions' batches are handled at once. */
  readonly partitionsConcurrently: number;
  /** The broker answers a fetch once minBytes are ready or maxWaitMs passed, with at most maxBytes. */
  readonly fetch: { readonly minBytes: number; readonly maxBytes: number; readonly maxWaitMs: number };
}

export function createInputConsumer(
  client: KafkaClient,
  opts: InputConsumerOptions,
  topics: readonly string[],
): InputConsumer {
  const consumer: Consumer = client.consumer({
    groupId: opts.groupId,
    sessionTimeout: opts.sessionTimeoutMs,
    heartbeatInterval: opts.heartbeatIntervalMs,
    rebalanceTimeout: Math.max(60000, opts.sessionTimeoutMs * 2),
    minBytes: opts.fetch.minBytes,
    maxBytes: opts.fetch.maxBytes,
    maxBytesPerPartition: opts.fetch.maxBytes,
    maxWaitTimeInMs: opts.fetch.maxWaitMs,
    allowAutoTopicCreation: false,
    readUncommitted: false,
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 10000 },
  });
  let assignmentCb: ((a: TopicPartition[]) => void) | undefined;
  let rebalancingCb: (() => void) | undefined;
  let crashCb: ((e: Error, r: boolean) => void) | undefined;
  let beats = 0;
  consumer.on(consumer.events.HEARTBEAT, () => {
    beats += 1;
  });
  // every batch kafkajs hands over, also one left empty by read_committed filtering (only aborted records
  // or transaction markers): how far the consumer has read, which the committed offset may never reach
  const fetched = new Map<string, bigint>();
  consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
    const last = BigInt(e.payload.lastOffset);
    if (last >= 0n) fetched.set(`${e.payload.topic}/${e.payload.partition}`, last + 1n);
  });
  consumer.on(consumer.events.REBALANCING, () => rebalancingCb?.());
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assigned: TopicPartition[] = [];
    for (const [topic, parts] of Object.entries(e.payload.memberAssignment)) {
      for (const partition of parts) assigned.push({ topic, partition });
    }
    assignmentCb?.(assigned);
  });
  consumer.on(consumer.events.CRASH, (e) => {
    crashCb?.(e.payload.error, e.payload.restart);
  });
  let closed = false;
  let admin: Admin | undefined;
  let adminConnected = false;
  return {
    async start(handler) {
      await consumer.connect();
      await consumer.subscribe({ topics: [...topics], fromBeginning: opts.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: opts.partitionsConcurrently,
        eachBatch: async ({ batch, heartbeat, isStale, isRunning, resolveOffset }) => {
          const records = batch.messages.map((m) => rawRecord(batch.topic, batch.partition, m));
          await handler({
            topic: batch.topic,
            partition: batch.partition,
            records,
            highWatermark: batch.highWatermark,
            heartbeat,
            isStale,
            isRunning,
            resolveOffset,
          });
        },
      });
    },
    // kafkajs throws when it has no consumer group (after a crash, before the restart): then there is
    // nothing to pause or resume, and a restarted consumer starts unpaused
    pause() {
      try {
        consumer.pause(topics.map((topic) => ({ topic })));
      } catch {
        // not running
      }
    },
    resume() {
      try {
        consumer.resume(topics.map((topic) => ({ topic })));
      } catch {
        // not running
      }
    },
    onAssignment(cb) {
      assignmentCb = cb;
    },
    onRebalancing(cb) {
      rebalancingCb = cb;
    },
    onCrash(cb) {
      crashCb = cb;
    },
    heartbeats() {
      return beats;
    },
    fetchedTo() {
      return fetched;
    },
    async committedOffset(tp) {
      admin ??= client.admin();
      if (!adminConnected) {
        await admin.connect();
        adminConnected = true;
      }
      try {
        const [res] = await admin.fetchOffsets({ groupId: opts.groupId, topics: [tp.topic] });
        const off = res?.partitions.find((p) => p.partition === tp.partition)?.offset;
        return off === undefined || Number(off) < 0 ? null : BigInt(off);
      } catch (cause) {
        throw kafkaError(cause, `fetching the committed offset of ${tp.topic}/${tp.partition}`);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await consumer.disconnect();
      } finally {
        if (adminConnected) await admin?.disconnect();
      }
    },
  };
}

/**
 * One transactional producer per input partition, its transactional.id derived from (group, topic,
 * partition): kafkajs does not speak KIP-447, so this is what fences a zombie that still believes it owns
 * the partition — the new owner's initTransactions bumps the epoch and the zombie's commit fails.
 */
export async function createTransactionalProducer(
  client: KafkaClient,
  groupId: string,
  tp: TopicPartition,
  /** Per output topic, the most bytes one produce call may carry (see maxSendBytes). */
  sendLimits: ReadonlyMap<string, number> = new Map(),
  transactionTimeoutMs = 60000,
): Promise<TransactionalProducer> {
  const transactionalId = `${groupId}.${tp.topic}.${tp.partition}`;
  const producer: Producer = client.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: transactionTimeoutMs,
    allowAutoTopicCreation: false,
    // The idempotent producer keeps retrying (kafkajs warns that capped retries may break its sequence
    // numbers); a window stuck here is stuck before its commit, which is safe: it is retried or fenced.
    // The first retry after 20 ms, the backoff the Java client uses for AddPartitionsToTxn's
    // CONCURRENT_TRANSACTIONS: a transaction that begins right after the previous one committed finds its
    // markers still being written (a few ms on a local broker); kafkajs's 100 ms made such a window wait
    // ~95 ms. kafkajs has one retry setting per producer, so every retriable error of these producers
    // (produce, leader moves, coordinator lookups, reconnects) now starts at 20 ms too: about two more
    // quick retries, and log lines, in an outage; the backoff still doubles to the same 5 s cap.
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 20, maxRetryTime: 5000 },
  });
  try {
    await producer.connect();
  } catch (cause) {
    throw kafkaError(
      withRefusal(cause, lastAuthorizationRefusal(client, 60000)),
      `starting producer ${transactionalId}`,
    );
  }
  let closed = false;
  return {
    transactionalId,
    async begin() {
      let tx: Transaction;
      try {
        tx = await producer.transaction();
      } catch (cause) {
        throw kafkaError(
          withRefusal(cause, lastAuthorizationRefusal(client, 60000)),
          `beginning a transaction on ${transactionalId}`,
        );
      }
      return {
        async sendAll(outputs) {
          // kafkajs puts one request's messages for a partition into one record batch; a large window's
          // predictions would exceed the broker's message.max.bytes (1 MiB by default), so each topic is
          // cut into chunks under its limit, and a request carries at most one chunk of each topic
          const perTopic = outputs
            .filter((o) => o.messages.length > 0)
            .map((o) => ({
              topic: o.topic,
              chunks: chunksOf(o.messages, sendLimits.get(o.topic) ?? SEND_CHUNK_BYTES),
            }));
          const rounds = Math.max(0, ...perTopic.map((t) => t.chunks.length));
          for (let i = 0; i < rounds; i++) {
            const topicMessages = perTopic.flatMap((t) => {
              const chunk = t.chunks[i];
              return chunk === undefined ? [] : [{ topic: t.topic, messages: chunk as never }];
            });
            try {
              await tx.sendBatch({ acks: -1, topicMessages });
            } catch (cause) {
              throw kafkaError(cause, `sending to ${topicMessages.map((t) => t.topic).join(', ')}`);
            }
          }
        },
        async sendOffsets(group, p, nextOffset) {
          try {
            await tx.sendOffsets({
              consumerGroupId: group,
              topics: [{ topic: p.topic, partitions: [{ partition: p.partition, offset: nextOffset }] }],
            });
          } catch (cause) {
            throw kafkaError(cause, `adding offsets of ${p.topic}/${p.partition} to the transaction`);
          }
        },
        async commit() {
          try {
            await tx.commit();
          } catch (cause) {
            throw kafkaError(cause, `committing ${transactionalId}`);
          }
        },
        async abort() {
          try {
            if (tx.isActive()) await tx.abort();
          } catch {
            // the coordinator aborts it on timeout or when the next owner fences us
          }
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await producer.disconnect();
    },
  };
}

/**
 * One look at the pipeline's topics at start: fails unless every one exists (a missing output topic would
 * otherwise make the producer retry UNKNOWN_TOPIC_OR_PARTITION for ever, a missing input topic consumes
 * nothing), and returns, per output topic, the most bytes one produce call may carry (its
 * max.message.bytes, else the broker default of 1 MiB; see maxSendBytes).
 */
export async function checkTopics(
  kafka: KafkaClient,
  topics: ReadonlyArray<{ readonly topic: string; readonly field: string; readonly output?: boolean }>,
): Promise<Map<string, number>> {
  const admin = await connectTopicAdmin(kafka);
  let state: Awaited<ReturnType<typeof admin.describe>>;
  let hidden: string[];
  try {
    state = await admin.describe(topics.map((t) => t.topic));
    hidden = await admin.forbidden(topics.filter((t) => !state.has(t.topic)).map((t) => t.topic));
  } catch (cause) {
    throw kafkaError(cause, 'describing the topics');
  } finally {
    await admin.close();
  }
  const forbidden = topics.filter((t) => hidden.includes(t.topic));
  if (forbidden.length > 0) {
    throw new StreamscoreError(
      'SS_KAFKA_FORBIDDEN',
      `TOPIC_AUTHORIZATION_FAILED: this principal may not see ${forbidden.map((t) => `topic ${t.topic} (${t.field})`).join(', ')}: grant it ${forbidden.some((t) => t.output === true) ? 'Write on the output topics' : ''}${forbidden.some((t) => t.output === true) && forbidden.some((t) => t.output !== true) ? ' and ' : ''}${forbidden.some((t) => t.output !== true) ? 'Read on the input topics' : ''}, as \`streamscore acls\` prints (docs/security.md)`,
    );
  }
  const missing = topics.filter((t) => !state.has(t.topic));
  if (missing.length > 0) {
    throw new StreamscoreError(
      'SS_TOPIC_MISSING',
      `${missing.map((t) => `topic ${t.topic} (${t.field})`).join(', ')} does not exist, or this principal may not see it: create it with \`streamscore topics apply\` (topics/*.yaml), fix the name in the config, or grant the ACLs \`streamscore acls\` prints (docs/security.md)`,
    );
  }
  const limits = new Map<string, number>();
  for (const t of topics) {
    if (t.output !== true) continue;
    const raw = state.get(t.topic)?.config['max.message.bytes'];
    limits.set(t.topic, maxSendBytes(raw === undefined ? undefined : Number(raw)));
  }
  return limits;
}
