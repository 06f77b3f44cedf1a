import type { Admin } from 'kafkajs';
import type { KafkaClient } from './kafka.js';
import { kafkaError } from './kafka-errors.js';

/** Where a group stands on one partition, as the broker sees it. */
export interface PartitionPosition {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset (the next record to read); null when the group never committed here. */
  readonly committed: bigint | null;
  /** The partition's log start and end (the end counts transaction markers). */
  readonly low: bigint;
  readonly high: bigint;
}

/** Reads a group's committed offsets and the log ends of its topics, on one admin connection. */
export interface LagProbe {
  read(): Promise<PartitionPosition[]>;
  close(): Promise<void>;
}

export function createLagProbe(client: KafkaClient, groupId: string, topics: readonly string[]): LagProbe {
  let admin: Admin | undefined;
  let connected: Promise<void> | undefined;
  return {
    async read() {
      admin ??= client.admin();
      const a = admin;
      connected ??= a.connect();
      try {
        await connected;
        const committed = new Map<string, bigint>();
        for (const t of await a.fetchOffsets({ groupId, topics: [...topics] })) {
          for (const p of t.partitions)
            if (Number(p.offset) >= 0) committed.set(`${t.topic}/${p.partition}`, BigInt(p.offset));
        }
        const out: PartitionPosition[] = [];
        for (const topic of topics) {
          for (const p of await a.fetchTopicOffsets(topic)) {
            out.push({
              topic,
              partition: p.partition,
              committed: committed.get(`${topic}/${p.partition}`) ?? null,
              low: BigInt(p.low),
              high: BigInt(p.high),
            });
          }
        }
        return out;
      } catch (cause) {
        connected = undefined; // reconnect on the next read
        throw kafkaError(cause, `reading the lag of group ${groupId}`);
      }
    },
    async close() {
      if (connected !== undefined) await admin?.disconnect();
    },
  };
}
