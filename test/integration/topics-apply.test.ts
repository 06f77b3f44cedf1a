import assert from 'node:assert/strict';
import test from 'node:test';
import { connectTopicAdmin, createKafkaClient } from '../../src/adapters/kafka.js';
import { applyTopics, planAgainstCluster } from '../../src/admin/topics.js';
import { parseConfig } from '../../src/config/index.js';
import { StreamscoreError } from '../../src/errors/index.js';
import { ensureServices, serviceEnv, uniqueId } from '../helpers/services.js';

test('topics apply creates, is a no-op the second time, raises partitions and refuses dangerous changes', async (t) => {
  ensureServices();
  const admin = await connectTopicAdmin(createKafkaClient(parseConfig({}, serviceEnv()).kafka));
  const name = `${uniqueId('topics')}.compacted`;
  t.after(async () => {
    await admin.delete(name).catch(() => undefined);
    await admin.close();
  });
  const spec = {
    name,
    partitions: 2,
    replicationFactor: 1,
    config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '1000' },
  };

  assert.deepEqual(
    (await applyTopics(admin, [spec], { force: false })).applied.map((a) => a.kind),
    ['create'],
  );
  assert.deepEqual(await planAgainstCluster(admin, [spec]), [], 'second plan is empty');
  assert.deepEqual(
    (await applyTopics(admin, [spec], { force: false })).applied,
    [],
    'second apply changes nothing',
  );

  const grown = { ...spec, partitions: 3, config: { ...spec.config, 'min.compaction.lag.ms': '2000' } };
  assert.deepEqual(
    (await applyTopics(admin, [grown], { force: false })).applied.map((a) => a.kind),
    ['add-partitions', 'alter-config'],
  );
  assert.deepEqual(await planAgainstCluster(admin, [grown]), []);
  const state = (await admin.describe([name])).get(name);
  assert.equal(state?.partitions, 3);
  assert.equal(state?.config['min.compaction.lag.ms'], '2000');

  // fewer partitions: refused, nothing changed
  await assert.rejects(
    applyTopics(admin, [{ ...grown, partitions: 1 }], { force: false }),
    (err: unknown) =>
      err instanceof StreamscoreError &&
      err.code === 'SS_TOPIC_DANGEROUS_CHANGE' &&
      /cannot remove partitions/.test(err.message),
  );
  assert.equal((await admin.describe([name])).get(name)?.partitions, 3);
});

test('changing the cleanup policy of a non-empty topic is refused unless forced', async (t) => {
  ensureServices();
  const kafka = createKafkaClient(parseConfig({}, serviceEnv()).kafka);
  const admin = await connectTopicAdmin(kafka);
  const name = `${uniqueId('policy')}.events`;
  t.after(async () => {
    await admin.delete(name).catch(() => undefined);
    await admin.close();
  });
  const spec = { name, partitions: 1, replicationFactor: 1, config: { 'cleanup.policy': 'delete' } };
  await applyTopics(admin, [spec], { force: false });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: name, messages: [{ key: 'k', value: 'v' }] });
  await producer.disconnect();
  const compacted = { ...spec, config: { 'cleanup.policy': 'compact' } };
  await assert.rejects(
    applyTopics(admin, [compacted], { force: false }),
    (err: unknown) =>
      err instanceof StreamscoreError &&
      err.code === 'SS_TOPIC_DANGEROUS_CHANGE' &&
      /non-empty/.test(err.message),
  );
  assert.equal((await admin.describe([name])).get(name)?.config['cleanup.policy'], 'delete');
  await applyTopics(admin, [compacted], { force: true });
  assert.equal((await admin.describe([name])).get(name)?.config['cleanup.policy'], 'compact');
});
