import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import test from 'node:test';
import { filterAbortedMessages, groupMessagesPerPartition } from '../../../src/adapters/kafkajs-fix.js';
import { Random } from '../../../src/sample/index.js';
import { crc32c } from '../../../src/util/crc32c.js';

const ABORT = Buffer.from([0, 0, 0, 0]);
const data = (offset: number, pid: string) => ({
  offset: String(offset),
  key: Buffer.from(`k${offset}`),
  batchContext: { producerId: pid, inTransaction: true },
});
const abortMarker = (offset: number, pid: string) => ({
  offset: String(offset),
  key: ABORT,
  isControlRecord: true,
  batchContext: { producerId: pid, inTransaction: true },
});

// two producers' transactions overlap and are aborted together (a new owner fencing both); the broker
// lists them by index position, not by first offset
const messages = [
  data(18, 'X'),
  data(19, 'Y'),
  data(20, 'X'),
  data(21, 'Y'),
  abortMarker(22, 'Y'),
  abortMarker(23, 'X'),
  data(24, 'Z'), // committed data of a third producer
];
const aborted = [
  { producerId: 'Y', firstOffset: '19' },
  { producerId: 'X', firstOffset: '18' },
];

test('read_committed: overlapping aborted transactions listed out of order are all filtered', () => {
  const kept = filterAbortedMessages({ messages, abortedTransactions: aborted }).filter(
    (m) => !('isControlRecord' in m),
  );
  assert.deepEqual(
    kept.map((m) => m.offset),
    ['24'],
  );
});

test('read_committed: a fetch starting inside several aborted transactions filters them all', () => {
  const tail = messages.slice(2);
  const kept = filterAbortedMessages({ messages: tail, abortedTransactions: aborted }).filter(
    (m) => !('isControlRecord' in m),
  );
  assert.deepEqual(
    kept.map((m) => m.offset),
    ['24'],
  );
});

test('the fix replaces the filter kafkajs uses', () => {
  const require = createRequire(import.meta.url);
  const installed = require('kafkajs/src/consumer/filterAbortedMessages.js') as unknown;
  assert.equal(installed, filterAbortedMessages);
});

test('producer grouping: every message once, in its partition, in send order', () => {
  const messages = Array.from({ length: 500 }, (_, i) => ({ key: `k${(i * 7919) % 97}`, i }));
  const partitioner = ({ message }: { message: { key: string } }) => Number(message.key.slice(1)) % 6;
  const grouped = groupMessagesPerPartition({ topic: 't', partitionMetadata: [1], messages, partitioner });
  for (let p = 0; p < 6; p++) {
    assert.deepEqual(
      grouped[p]?.map((m) => m.i),
      messages.filter((m) => Number(m.key.slice(1)) % 6 === p).map((m) => m.i),
    );
  }
  assert.deepEqual(
    groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner }),
    {},
  );
  const require = createRequire(import.meta.url);
  assert.equal(require('kafkajs/src/producer/groupMessagesPerPartition.js'), groupMessagesPerPartition);
});

/** kafkajs's own murmur2, loaded from its file again (the cached module is the fix's replacement). */
function kafkajsMurmur2(): (key: unknown) => number {
  const require = createRequire(import.meta.url);
  const path = require.resolve('kafkajs/src/producer/partitioners/default/murmur2.js');
  const installed = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as (key: unknown) => number;
  } finally {
    if (installed !== undefined) require.cache[path] = installed;
  }
}

test("fix 5: the partitioner's murmur2 gives kafkajs's own value for every key type kafkajs hashes", () => {
  const require = createRequire(import.meta.url);
  const installed = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (k: unknown) => number;
  const original = kafkajsMurmur2();
  assert.notEqual(installed, original);
  assert.match(String(original), /Long/, "the oracle is kafkajs's Long-based murmur2");
  assert.doesNotMatch(String(installed), /Long/);
  const keys: unknown[] = [
    '',
    'a',
    'abcde',
    '100001',
    'ключ',
    '🙂🙂',
    '\ud800',
    Buffer.from([0, 255, 7, 9, 1]),
    Buffer.alloc(0),
    0,
    -1,
    1.5,
    21,
    true,
    {},
    [1, 2],
    Uint8Array.of(1, 2, 3),
  ];
  for (let i = 0; i < 300; i++) keys.push(`customer-${i * 7919}`, Buffer.from(String(i * 104729)));
  for (const key of keys) assert.equal(installed(key), original(key), `key ${String(key)}`);
  // Kafka's Java client: Utils.murmur2("21".getBytes(UTF_8)) (test/unit/sample/partition.test.ts)
  assert.equal(installed(21), -973932308);
});

test('fix 5: kafkajs-fix refuses to load after kafkajs (its partitioner would keep the old murmur2)', () => {
  const fix = new URL('../../../src/adapters/kafkajs-fix.js', import.meta.url).href;
  const run = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `await import('kafkajs'); await import(${JSON.stringify(fix)});`],
    { encoding: 'utf8' },
  );
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /kafkajs-fix must load before/);
});

test("fix 6: the record batch checksum equals kafkajs's own CRC-32C, on any length and any view", () => {
  const require = createRequire(import.meta.url);
  const installed = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
  // kafkajs's byte-at-a-time function (the inner module, which the fix leaves alone)
  const original = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;
  assert.equal(installed, crc32c, "installed in place of kafkajs's crc32C/index.js");
  // the CRC-32C check value (RFC 3720, iSCSI): "123456789"
  assert.equal(installed(Buffer.from('123456789')), 0xe3069283);
  assert.equal(installed(Buffer.alloc(0)), 0);
  const random = new Random(5);
  const pool = Buffer.alloc(70000);
  for (let i = 0; i < pool.length; i++) pool[i] = random.int(0, 255);
  for (let i = 0; i < 400; i++) {
    const start = random.int(0, 17);
    const length = i < 40 ? i : random.int(0, i % 10 === 0 ? 65000 : 3000);
    const view = pool.subarray(start, start + length);
    assert.equal(installed(view), original(view) >>> 0, `length ${length} at ${start}`);
  }
});
