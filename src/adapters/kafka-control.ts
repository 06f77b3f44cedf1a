/**
 * The control topic (topics/control.yaml): read to its end at start, then followed for new records.
 * Both read outside any consumer group of the pipeline (a throwaway group that commits nothing), so
 * every instance sees every record.
 */
import type { RawRecord } from '../decode/types.js';
import { kafkaError } from './kafka-errors.js';
import { rawRecord } from './kafka-io.js';
import { logEnds, replayLog } from './kafka-replay.js';
import type { KafkaClient } from './kafka.js';

export interface ControlLog {
  readonly records: readonly RawRecord[];
  /** Per partition: the offset after the last record read (where a follower picks up). */
  readonly ends: ReadonlyMap<number, bigint>;
}

/** Every record of a topic up to its current end, in offset order per partition (control, audit). */
export async function readTopicToEnd(
  client: KafkaClient,
  topic: string,
  groupId: string,
): Promise<readonly RawRecord[]> {
  return (await readControl(client, topic, groupId)).records;
}

/** Every record of the control topic up to its current end, in offset order per partition. */
export async function readControl(client: KafkaClient, topic: string, groupId: string): Promise<ControlLog> {
  const ranges = await logEnds(client, [topic]);
  const records: RawRecord[] = [];
  await replayLog(client, {
    topics: [topic],
    ends: ranges,
    groupId,
    fetchMaxBytes: 1 << 20,
    onBatch: async (b) => {
      records.push(...b.records);
    },
  });
  const ends = new Map<number, bigint>();
  for (const [k, e] of ranges) ends.set(Number(k.slice(k.lastIndexOf('/') + 1)), e.high);
  return { records, ends };
}

export interface ControlFollower {
  stop(): Promise<void>;
}

/**
 * Hands over every record at or after `from` (per partition) as it arrives, one at a time, in offset order.
 * A failing handler is logged by the caller's handler itself: the follower goes on with the next record.
 */
export async function followControl(
  client: KafkaClient,
  topic: string,
  groupId: string,
  from: ReadonlyMap<number, bigint>,
  onRecord: (r: RawRecord) => Promise<void>,
): Promise<ControlFollower> {
  const consumer = client.consumer({
    groupId,
    sessionTimeout: 30000,
    heartbeatInterval: 3000,
    maxWaitTimeInMs: 500,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (BigInt(message.offset) < (from.get(partition) ?? 0n)) return;
        await onRecord(rawRecord(topic, partition, message)).catch(() => undefined);
      },
    });
  } catch (cause) {
    await consumer.disconnect().catch(() => undefined);
    throw kafkaError(cause, `following the control topic ${topic}`);
  }
  return {
    // the group committed nothing: once its only member leaves, the broker drops it
    async stop() {
      await consumer.disconnect().catch(() => undefined);
    },
  };
}
