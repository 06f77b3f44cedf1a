/**
 * Kafka's default partitioner for keyed records (Java client, and kafkajs's DefaultPartitioner):
 * `toPositive(murmur2(keyBytes)) % numPartitions`. murmur2 is Kafka's 32-bit variant (seed 0x9747b28c).
 */

import { murmur2 } from '../util/murmur2.js';

export { murmur2 };

/** The partition Kafka's default partitioner picks for a key (a string is taken as its UTF-8 bytes). */
export function kafkaPartition(key: Uint8Array | string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`partitions must be ≥ 1, got ${partitions}`);
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}
