/**
 * The replacement of kafkajs's producer send (src/adapters/kafkajs-send.ts), driven through kafkajs's own
 * producer machinery with scripted brokers: a partition whose leader dies during a send is sent again to
 * its new leader — even when that broker already answered for other partitions of the same send (kafkajs
 * 2.2.4 dropped those messages: test/integration/production-topics.test.ts found it on a real cluster).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { createSendMessages } from '../../../src/adapters/kafkajs-send.js';
import { groupMessagesPerPartition } from '../../../src/adapters/kafkajs-fix.js';
import type { SendDeps } from '../../../src/adapters/kafkajs-send.js';

interface Msg {
  readonly partition: number;
  readonly value: string;
}
type TopicData = Array<{
  topic: string;
  partitions: Array<{ partition: number; messages: Msg[]; firstSequence?: number }>;
}>;

class ConnectionError extends Error {
  override name = 'KafkaJSConnectionError';
  readonly retriable = true;
}

const DEPS: SendDeps = {
  staleMetadata: (e) => ['LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION'].includes(e.type ?? ''),
  metadataNotLoaded: (m) =>
    Object.assign(new Error(m), { name: 'KafkaJSMetadataNotLoaded', retriable: true }),
  groupMessagesPerPartition: groupMessagesPerPartition as unknown as SendDeps['groupMessagesPerPartition'],
};

const SEND = {
  acks: -1,
  timeout: 30000,
  compression: 0,
  topicMessages: [
    {
      topic: 't',
      messages: [
        { partition: 0, value: 'a' },
        { partition: 1, value: 'b' },
        { partition: 0, value: 'c' },
      ],
    },
  ],
};

/** Two brokers; node 2 fails its first request (it died), after which node 1 leads every partition. */
function scenario(
  factory: ReturnType<typeof createSendMessages> = createSendMessages(DEPS),
  /** How long each node takes to answer (node 2's answer is its failure). */
  delays: { node1: number; node2: number } = { node1: 0, node2: 20 },
) {
  const leaders = new Map<number, number>([
    [0, 2],
    [1, 1],
  ]);
  const written: Array<{
    node: number;
    partition: number;
    values: string[];
    firstSequence: number | undefined;
  }> = [];
  let node2Dead = false;
  const broker = (node: number) => ({
    nodeId: node,
    async produce({ topicData }: { topicData: TopicData }) {
      await new Promise((r) => setTimeout(r, node === 2 ? delays.node2 : delays.node1));
      if (node === 2) {
        // the dead broker's connection fails (by default after the live one has answered)
        node2Dead = true;
        throw new ConnectionError('Connection error: ECONNREFUSED');
      }
      for (const { partitions } of topicData)
        for (const p of partitions)
          written.push({
            node,
            partition: p.partition,
            values: p.messages.map((m) => m.value),
            firstSequence: p.firstSequence,
          });
      return {
        topics: topicData.map((t) => ({
          topicName: t.topic,
          partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })),
        })),
      };
    },
  });
  const brokers = new Map([
    [1, broker(1)],
    [2, broker(2)],
  ]);
  const sequences = new Map<number, number>();
  const cluster = {
    async refreshMetadataIfNecessary() {},
    async refreshMetadata() {
      if (node2Dead) leaders.set(0, 1); // the controller moved partition 0 to node 1
    },
    findTopicPartitionMetadata: () => [...leaders].map(([partitionId, leader]) => ({ partitionId, leader })),
    // what kafkajs's own send asks instead
    findLeaderForPartitions: (_t: string, partitions: string[]) => {
      const out: Record<number, number[]> = {};
      for (const p of partitions) (out[leaders.get(Number(p)) as number] ??= []).push(Number(p));
      return out;
    },
    findBroker: async ({ nodeId }: { nodeId: string }) =>
      brokers.get(Number(nodeId)) as ReturnType<typeof broker>,
    async addMultipleTargetTopics() {},
    removeBroker() {},
    isConnected: () => true,
    async connect() {},
  };
  const eosManager = {
    async acquireBrokerLock() {},
    async releaseBrokerLock() {},
    isTransactional: () => false,
    async addPartitionsToTransaction() {},
    getSequence: (_t: string, p: number) => sequences.get(p) ?? 0,
    updateSequence: (_t: string, p: number, n: number) => sequences.set(p, (sequences.get(p) ?? 0) + n),
    getTransactionalId: () => 'tx',
    getProducerId: () => 7,
    getProducerEpoch: () => 0,
  };
  // kafkajs's retrier, in short: run again while the attempt throws a retriable error
  const retrier = async <T>(
    fn: (bail: (e: Error) => void, n: number, t: number) => Promise<T>,
  ): Promise<T> => {
    for (let n = 0; ; n++) {
      let bailed: Error | undefined;
      try {
        const r = await fn((e) => (bailed = e), n, 0);
        if (bailed !== undefined) throw bailed;
        return r;
      } catch (e) {
        if (n >= 5 || (e as { retriable?: boolean }).retriable !== true) throw e;
      }
    }
  };
  const logger = { debug() {}, error() {} };
  const send = factory<Msg>({
    logger,
    cluster,
    partitioner: ({ message }: { message: Msg }) => message.partition,
    eosManager,
    retrier,
  } as never);
  return { send, written, sequences };
}

test('a partition whose leader dies mid-send is written to its new leader, even one that already answered for the same send', async () => {
  const { send, written, sequences } = scenario();
  const results = await send(SEND);
  // partition 1 went to node 1 once; partition 0 failed on node 2 and then went to node 1, in order
  assert.deepEqual(written.map((w) => [w.node, w.partition, w.values.join('')]).sort(), [
    [1, 0, 'ac'],
    [1, 1, 'b'],
  ]);
  assert.deepEqual(results.map((r) => r.partition).sort(), [0, 1], 'one answer per partition');
  // the failed request gave its sequence numbers back: partition 0 starts at 0 on the new leader
  assert.equal(written.find((w) => w.partition === 0)?.firstSequence, 0);
  assert.deepEqual([...sequences].sort(), [
    [0, 2],
    [1, 1],
  ]);
});

test('kafkajs 2.2.4’s own send, in the same scenario, resolves without writing partition 0 (the bug replaced)', async () => {
  // a fresh copy of the original module (src/adapters/kafkajs-fix.ts replaced the cached one)
  const require = createRequire(import.meta.url);
  const path = require.resolve('kafkajs/src/producer/sendMessages.js');
  const cached = require.cache[path];
  delete require.cache[path];
  const original = require(path) as ReturnType<typeof createSendMessages>;
  if (cached !== undefined) require.cache[path] = cached;
  const { send, written } = scenario(original);
  await send(SEND);
  assert.deepEqual(
    written.map((w) => [w.node, w.partition, w.values.join('')]),
    [[1, 1, 'b']],
    'only the partition of the broker that answered first was written',
  );
});

test('a retry never sends a partition again while its first request may still be written: no duplicate when the live broker answers after the dead one failed', async () => {
  // node 2 fails at once; node 1 answers 50 ms later. kafkajs's retry must wait for node 1's answer:
  // resending partition 1 meanwhile would take new sequence numbers, and the broker would keep both copies.
  const { send, written, sequences } = scenario(createSendMessages(DEPS), { node1: 50, node2: 0 });
  await send(SEND);
  assert.deepEqual(written.map((w) => [w.node, w.partition, w.values.join('')]).sort(), [
    [1, 0, 'ac'],
    [1, 1, 'b'],
  ]);
  assert.deepEqual([...sequences].sort(), [
    [0, 2],
    [1, 1],
  ]);
});
