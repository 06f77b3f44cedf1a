import '../../src/adapters/kafkajs-fix.js';
import { after } from 'node:test';
import kafkajs from 'kafkajs';
import type { KafkaClient } from '../../src/adapters/kafka.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Total records in a topic (high watermark minus low, summed; transaction markers count too). */
export async function topicSize(kafka: KafkaClient, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offs = await admin.fetchTopicOffsets(topic);
    return offs.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Resolves once the group's committed offsets reach the end of every partition of `topics`. */
export async function waitCaughtUp(
  kafka: KafkaClient,
  groupId: string,
  topics: readonly string[],
  timeoutMs = 120000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    while (Date.now() < deadline) {
      let behind = 0;
      const parts: string[] = [];
      for (const topic of topics) {
        // a broker that just (re)started answers "coordinator loading" for a moment: ask again
        const answer = await Promise.all([
          admin.fetchTopicOffsets(topic),
          admin.fetchOffsets({ groupId, topics: [topic] }),
        ]).catch((err: unknown) => err as Error);
        if (answer instanceof Error) {
          behind += 1;
          parts.push(`${topic}: ${answer.message}`);
          continue;
        }
        const [ends, [committed]] = answer;
        for (const e of ends) {
          const c = committed?.partitions.find((p) => p.partition === e.partition);
          const at = Number(c?.offset ?? -1);
          const lag = Number(e.high) - Math.max(at, Number(e.low));
          if (lag > 0) {
            behind += lag;
            parts.push(`${topic}/${e.partition}:${lag}`);
          }
        }
      }
      if (behind === 0) return;
      last = parts.join(' ');
      await sleep(250);
    }
    throw new Error(`group ${groupId} did not catch up within ${timeoutMs} ms; behind: ${last}`);
  } finally {
    await admin.disconnect();
  }
}

export interface Consumed {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer | string | undefined>;
}

/**
 * Reads a whole topic as a read_committed consumer (aborted transactions invisible) with its own group.
 * Stops once every partition has been read up to its last stable offset (or after idleMs without data).
 */
export async function readTopic(
  kafka: KafkaClient,
  topic: string,
  opts: { idleMs?: number; readUncommitted?: boolean } = {},
): Promise<Consumed[]> {
  const out: Consumed[] = [];
  const consumer = kafka.consumer({
    groupId: `reader-${topic}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    readUncommitted: opts.readUncommitted ?? false,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let lastAt = Date.now();
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      lastAt = Date.now();
      out.push({
        partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        headers: (message.headers ?? {}) as Record<string, Buffer | string | undefined>,
      });
    },
  });
  const idle = opts.idleMs ?? 2500;
  const started = Date.now();
  while (Date.now() - lastAt < idle || Date.now() - started < idle) await sleep(100);
  await consumer.disconnect();
  return out.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}

/**
 * Follows a topic from the beginning as a read_committed consumer with its own group, calling `onMessage`
 * for every record until the returned stop() (registered for cleanup too).
 */
export async function followTopic(
  kafka: KafkaClient,
  topic: string,
  onMessage: (m: Consumed) => void,
): Promise<() => Promise<void>> {
  const consumer = kafka.consumer({
    groupId: `follower-${topic}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      onMessage({
        partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        headers: (message.headers ?? {}) as Record<string, Buffer | string | undefined>,
      });
    },
  });
  let stopped: Promise<void> | undefined;
  // bounded: kafkajs's disconnect can wait forever for a consumer that is restarting after its broker
  // went away, and a cleanup hook that never ends keeps the whole test file from finishing
  const stop = (): Promise<void> =>
    (stopped ??= Promise.race([
      consumer.disconnect().catch(() => undefined),
      sleep(10000).then(() => undefined),
    ]));
  after(stop);
  return stop;
}

/** Moves a group's committed offsets back to the beginning of `topic` (the group must be empty). */
export async function resetGroupToEarliest(
  kafka: KafkaClient,
  groupId: string,
  topic: string,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.resetOffsets({ groupId, topic, earliest: true });
  } finally {
    await admin.disconnect();
  }
}

export { kafkajs };
