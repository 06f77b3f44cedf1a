/**
 * The sample sends every record to an explicit partition; it must be the one Kafka's default partitioner
 * would pick, or keyed producers (and co-partitioned joins) would disagree with the generated stream.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { kafkaPartition, murmur2, Random } from '../../../src/sample/index.js';

const { Partitioners } = kafkajs;

// the oracle must be kafkajs's own murmur2 (src/adapters/kafkajs-fix.ts replaces it in the pipeline)
const kafkajsMurmur2 = createRequire(import.meta.url)(
  'kafkajs/src/producer/partitioners/default/murmur2.js',
) as (key: unknown) => number;
assert.match(String(kafkajsMurmur2), /Long/);

function kafkajsPartition(key: Buffer | string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}

function keys(): (string | Buffer)[] {
  const rng = new Random(20240301);
  const out: (string | Buffer)[] = [
    '',
    'a',
    'ab',
    'abc',
    'abcd',
    'abcde',
    '42',
    '100001',
    'ключ',
    '顧客-7',
    '🙂🙂',
  ];
  for (let i = 0; i < 150; i++) out.push(String(rng.int(0, 2 ** 40)));
  for (let i = 0; i < 100; i++) out.push(rng.uuid().slice(0, rng.int(1, 36)));
  for (let i = 0; i < 100; i++)
    out.push(Buffer.from(Array.from({ length: rng.int(0, 40) }, () => rng.int(0, 255))));
  return out;
}

describe('sample partitioner', () => {
  it('matches kafkajs DefaultPartitioner (Java-compatible murmur2) for every key and partition count', () => {
    const all = keys();
    assert.ok(all.length > 350);
    for (const key of all) {
      for (const partitions of [1, 3, 6, 7, 12, 100]) {
        assert.equal(
          kafkaPartition(key, partitions),
          kafkajsPartition(key, partitions),
          `key ${String(key)}`,
        );
      }
    }
  });

  it('hashes the way Java’s Utils.murmur2 does (known values)', () => {
    // Values from Kafka's UtilsTest.testMurmur2.
    assert.equal(murmur2(Buffer.from('21')), -973932308);
    assert.equal(murmur2(Buffer.from('foobar')), -790332482);
    assert.equal(murmur2(Buffer.from('a-little-bit-long-string')), -985981536);
    assert.equal(murmur2(Buffer.from('a-little-bit-longer-string')), -1486304829);
    assert.equal(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
    assert.equal(murmur2(Buffer.from([97, 98, 99])), 479470107);
  });

  it('rejects a partition count Kafka cannot have', () => {
    assert.throws(() => kafkaPartition('1', 0), RangeError);
  });
});
