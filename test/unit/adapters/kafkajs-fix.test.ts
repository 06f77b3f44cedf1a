import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { filterAbortedMessages, groupMessagesPerPartition } from '../../../src/adapters/kafkajs-fix.js';

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

test("the default partitioner hashes with the 32-bit murmur2 and picks the partitions kafkajs's own picks", async () => {
  const require = createRequire(import.meta.url);
  const installed = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (k: unknown) => number;
  assert.doesNotMatch(String(installed), /Long/, "kafkajs's Long-based murmur2 is replaced");
  // the oracle: partitions Kafka's default partitioner picks, checked against kafkajs's own murmur2 in
  // test/unit/sample/partition.test.ts (a process without this fix)
  const { kafkaPartition } = await import('../../../src/sample/index.js');
  const { Partitioners } = (await import('kafkajs')).default;
  const partitioner = Partitioners.DefaultPartitioner();
  for (const partitions of [1, 6, 7]) {
    const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      partitionErrorCode: 0,
    }));
    for (const key of ['', 'a', 'abcde', '100001', 'ключ', '🙂🙂', Buffer.from([0, 255, 7, 9, 1])])
      assert.equal(
        partitioner({ topic: 't', partitionMetadata, message: { key, value: null } }),
        kafkaPartition(key, partitions),
        `key ${String(key)}`,
      );
  }
});
