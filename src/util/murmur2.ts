/**
 * Kafka's 32-bit murmur2 (seed 0x9747b28c), the hash of its default partitioner for keyed records (Java
 * client, and kafkajs's DefaultPartitioner): `toPositive(murmur2(keyBytes)) % numPartitions`. In 32-bit
 * integer arithmetic (kafkajs computes it with its BigInt-backed Long objects and keeps the low 32 bits:
 * the same value, since multiply and xor carry nothing down from the high bits).
 */

const M = 0x5bd1e995;
const SEED = 0x9747b28c;

/** Kafka's murmur2 of `data`, as a signed 32-bit integer (what Java's `Utils.murmur2` returns). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length - (length & 3);
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}
