/**
 * A window can be large: its prediction events together exceed what one record batch may hold (the
 * topic's max.message.bytes; 1 MiB by default, 64 KiB here so a test-sized window exceeds it). They must
 * still commit, in one transaction.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { connectTopicAdmin } from '../../src/adapters/kafka.js';
import { createLogger } from '../../src/observe/logger.js';
import { Pipeline } from '../../src/pipeline/index.js';
import type { WindowResult } from '../../src/pipeline/index.js';
import { generateStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import { readPredictions } from '../helpers/verify.js';

test('a window whose outputs exceed one produce request still commits', async () => {
  const env = await createTestEnv('large-window', {
    window: { maxRecords: 20000, maxBytes: 16 * 1024 * 1024, maxDelayMs: 2000 },
  });
  const config = env.config;
  const stream = generateStream({
    seed: 5,
    customers: 5000,
    transactionsPerCustomer: 0,
    partitions: 1,
    snapshot: true,
  });
  const inputs = inputTopics(config);
  await produceToInputs(env.kafka, config, stream, { partitions: 1 });
  const admin = await connectTopicAdmin(env.kafka);
  const predictions = config.outputs.predictions;
  const current = (await admin.describe([predictions])).get(predictions)?.config ?? {};
  await admin.setConfig(predictions, { ...current, 'max.message.bytes': '65536' });
  await admin.close();

  const windows: WindowResult[] = [];
  const pipeline = new Pipeline({ config, logger: createLogger('warn'), onWindow: (w) => windows.push(w) });
  await pipeline.start();
  try {
    await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000);
  } finally {
    await pipeline.stop();
  }
  const biggest = Math.max(...windows.map((w) => w.audit.counts.emitted));
  assert.ok(
    biggest >= 3000,
    `one window emitted ${biggest} predictions (far more than 64 KiB per partition)`,
  );
  const events = await readPredictions(env.kafka, config);
  assert.equal(
    events.length,
    windows.reduce((n, w) => n + w.audit.counts.emitted, 0),
  );
});
