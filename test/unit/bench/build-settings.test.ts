import assert from 'node:assert/strict';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { captureInputConsumer, runSettingsOf } from '../../../bench/build-settings.js';
import { createInputConsumer } from '../../../src/adapters/kafka-io.js';
import { parseConfig } from '../../../src/config/index.js';
import { inputConsumerOptions } from '../../../src/pipeline/index.js';

const PROJECT = fileURLToPath(new URL('../../../../', import.meta.url));

test('the bare-kafkajs baseline gets the consumer options streamscore itself uses, from its config', async () => {
  const cfg = parseConfig({ window: { minBytes: 10, maxBytes: 2048, maxDelayMs: 100 } }, {});
  const s = await captureInputConsumer(
    (client, c: typeof cfg, topics) => createInputConsumer(client, inputConsumerOptions(c), topics),
    cfg,
    ['a', 'b'],
  );
  assert.equal(s.consumer['minBytes'], 10);
  assert.equal(s.consumer['maxBytes'], 2048);
  assert.equal(s.consumer['maxBytesPerPartition'], 2048);
  assert.equal(s.consumer['maxWaitTimeInMs'], 100);
  assert.equal(s.consumer['readUncommitted'], false);
  assert.equal(s.run['partitionsConsumedConcurrently'], cfg.consumer.partitionsConcurrently);
  assert.equal(typeof s.run['eachBatch'], 'undefined');
});

test('a build’s settings are read from its own dist: defaults, read_committed, exactly-once, node flags', async () => {
  const s = await runSettingsOf('current', PROJECT, {}, ['--max-old-space-size=256']);
  const defaults = parseConfig({}, process.env);
  assert.equal(s.isolation, 'read_committed');
  assert.match(s.exactlyOnce, /^on: /);
  assert.deepEqual(s.window, defaults.window);
  assert.deepEqual(s.state, defaults.state);
  assert.equal(s.fetch['minBytes'], defaults.window.minBytes);
  assert.equal(s.fetch['partitionsConsumedConcurrently'], defaults.consumer.partitionsConcurrently);
  assert.deepEqual(s.node.flags, ['--max-old-space-size=256']);
});
