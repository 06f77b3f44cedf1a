/**
 * Invariant: bad input never stops the stream — but a flood of it halts the pipeline loudly instead of
 * emptying the topic into the DLQ, and nothing of the flooded window is committed.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { readTopic } from '../helpers/kafka.js';
import { spawnPipeline } from '../helpers/process.js';
import { createTestEnv } from '../helpers/services.js';

test('a DLQ flood halts the pipeline with SS_DLQ_FLOOD, exit code 1, nothing committed', async () => {
  const env = await createTestEnv('flood', { dlq: { floodRatio: 0.5, floodMinRecords: 20 } });
  const config = env.config;
  const topic = config.inputs.events[0]?.topic as string;
  const producer = env.kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: 50 }, (_, i) => ({
      partition: 0,
      key: String(i),
      value: Buffer.from(`not avro ${i}`),
    })),
  });
  await producer.disconnect();

  const p = spawnPipeline(config);
  const exit = await Promise.race([p.exited, new Promise<null>((r) => setTimeout(() => r(null), 90000))]);
  assert.ok(exit !== null, `the pipeline did not halt\n${p.output().slice(-2000)}`);
  assert.equal(exit.code, 1, p.output().slice(-2000));
  assert.match(p.output(), /SS_DLQ_FLOOD/);

  const admin = env.kafka.admin();
  await admin.connect();
  const [offsets] = await admin.fetchOffsets({ groupId: config.consumer.groupId, topics: [topic] });
  await admin.disconnect();
  assert.ok(
    offsets?.partitions.every((x) => Number(x.offset) <= 0),
    'no offset was committed',
  );
  assert.equal(
    (await readTopic(env.kafka, config.outputs.dlq, { idleMs: 1500 })).length,
    0,
    'the DLQ was not flooded',
  );
});
