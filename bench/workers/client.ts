/**
 * Client limit: a bare kafkajs consumer reading the input topics with streamscore's own consumer options
 * (what streamscore's createInputConsumer passes to kafkajs for the same configuration, recorded by the
 * driver: minBytes, maxBytes, maxBytesPerPartition, maxWaitTimeInMs, read_committed, and the same
 * partitionsConsumedConcurrently) and doing nothing with the records — no decode, no commit. What it reaches
 * is the most any kafkajs-based processor with these settings can read on this box.
 */
import type { ConsumerConfig } from 'kafkajs';
import { createKafkaClient } from '../../src/adapters/kafka.js';
import { configOf, readSpec, report, runMain, sleep } from './common.js';

export interface ClientSpec {
  readonly config: unknown;
  readonly group: string;
  readonly expected: number;
  readonly timeoutMs: number;
  /** streamscore's kafkajs consumer options (its groupId is replaced by `group`). */
  readonly consumerOptions: Readonly<Record<string, unknown>>;
  readonly partitionsConsumedConcurrently: number;
}

async function main(): Promise<void> {
  const spec = readSpec<ClientSpec>();
  const cfg = configOf(spec.config);
  const topics = [...cfg.inputs.cdc.map((i) => i.topic), ...cfg.inputs.events.map((i) => i.topic)];
  const consumer = createKafkaClient(cfg.kafka).consumer({
    ...(spec.consumerOptions as Partial<ConsumerConfig>),
    groupId: spec.group,
  });
  // the clock starts when the group is joined (as for every system): connect and join are not reading
  let joinedAt = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt ||= Date.now()));
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  let seen = 0;
  let first = 0;
  let last = 0;
  let bytes = 0;
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: spec.partitionsConsumedConcurrently,
    eachBatch: async ({ batch }) => {
      if (first === 0) first = Date.now();
      seen += batch.messages.length;
      for (const m of batch.messages) bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
      last = Date.now();
    },
  });
  const deadline = Date.now() + spec.timeoutMs;
  while (seen < spec.expected && Date.now() < deadline) await sleep(5);
  await consumer.disconnect();
  report({ records: seen, firstAt: joinedAt, firstRecordAt: first, lastAt: last, bytes });
}

runMain(main);
