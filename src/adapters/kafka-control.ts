/**
 * Following the control topic (topics/control.yaml) for new records, outside any consumer group of the
 * pipeline (a throwaway group that commits nothing), so every instance sees every record. Reading it to
 * its end at start is kafka-replay.ts's readToEnd.
 */
import type { RawRecord } from '../decode/types.js';
import { kafkaError } from './kafka-errors.js';
import { rawRecord } from './kafka-io.js';
import type { KafkaClient } from './kafka.js';

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
