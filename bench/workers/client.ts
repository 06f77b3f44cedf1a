/**
 * Client limit: a bare kafkajs consumer reading the input topics with streamscore's own fetch settings
 * (see createInputConsumer) and doing nothing with the records — no decode, no commit. What it reaches is the
 * most any kafkajs-based processor on this box can read.
 */
import { createKafkaClient } from '../../src/adapters/kafka.js';
import { configOf, readSpec, report, runMain, sleep } from './common.js';

export interface ClientSpec {
  readonly config: unknown;
  readonly group: string;
  readonly expected: number;
  readonly timeoutMs: number;
}

async function main(): Promise<void> {
  const spec = readSpec<ClientSpec>();
  const cfg = configOf(spec.config);
  const topics = [...cfg.inputs.cdc.map((i) => i.topic), ...cfg.inputs.events.map((i) => i.topic)];
  const consumer = createKafkaClient(cfg.kafka).consumer({
    groupId: spec.group,
    sessionTimeout: cfg.consumer.sessionTimeoutMs,
    heartbeatInterval: cfg.consumer.heartbeatIntervalMs,
    minBytes: cfg.window.maxBytes,
    maxBytes: cfg.window.maxBytes * 4,
    maxBytesPerPartition: cfg.window.maxBytes,
    maxWaitTimeInMs: cfg.window.maxDelayMs,
    allowAutoTopicCreation: false,
    readUncommitted: false,
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
    partitionsConsumedConcurrently: 4,
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
