/** Kafka's default partitioner for keyed records (murmur2: src/util/murmur2.ts). */

import { murmur2 } from '../util/murmur2.js';

export { murmur2 };

/** The partition Kafka's default partitioner picks for a key (a string is taken as its UTF-8 bytes). */
export function kafkaPartition(key: Uint8Array | string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`partitions must be ≥ 1, got ${partitions}`);
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}
