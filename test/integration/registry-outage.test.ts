/**
 * Invariant: the schema registry going away mid-stream loses nothing and stalls nothing that can go on.
 * A running instance keeps committing (the schemas it read are cached; its output schemas were registered
 * at start); an instance started while the registry is down exits non-zero naming the registry instead of
 * running half-configured; once the registry is back (same database, same ids) a new instance starts and
 * the group finishes the stream. Redis equals the oracle; Kafka's console consumer sees no duplicate.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import avro from 'avsc';
import { frame } from '../../src/adapters/confluent-frame.js';
import { createRegistryClient } from '../../src/adapters/registry.js';
import type { SchemaRegistryClient } from '../../src/adapters/registry.js';
import { generateStream, produceSample, registerSampleSchemas } from '../../src/sample/index.js';
import { readTopic, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { startPrivateRegistry } from '../helpers/registry-server.js';
import { createTestEnv, inputTopics } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The test's producer asks the registry once per subject and schema, like a serializer's cache. */
function cachingRegistry(real: SchemaRegistryClient): SchemaRegistryClient {
  const ids = new Map<string, Promise<number>>();
  return {
    ...real,
    register(subject, schema, compatibility) {
      const key = `${subject}\n${schema}`;
      let id = ids.get(key);
      if (id === undefined) {
        id = real.register(subject, schema, compatibility);
        ids.set(key, id);
      }
      return id;
    },
  };
}

test('registry stopped mid-stream and restarted: the running instance keeps committing, one started meanwhile exits non-zero naming the registry, the group finishes after the restart; no loss, no duplicate', async (t) => {
  const registry = await startPrivateRegistry();
  const env = await createTestEnv('registry-outage', {
    registry: { url: registry.url },
    observe: { logLevel: 'info' },
  });
  const config = env.config;
  const inputs = inputTopics(config);
  const stream = generateStream({ seed: 5, customers: 150, transactionsPerCustomer: 6, partitions: 3 });
  const slices = sliceProducer(env, stream, 4, cachingRegistry(createRegistryClient(config.registry)));

  await slices.next();
  const a = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000);

  await registry.kill();
  const downAt = Date.now();
  await slices.next();
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000);
  assert.equal(a.child.exitCode, null, `the running instance keeps going\n${a.output().slice(-3000)}`);

  const b = spawnPipeline(config);
  const exit = await Promise.race([b.exited, sleep(90000).then(() => null)]);
  assert.ok(exit !== null, `an instance started without a registry did not exit\n${b.output().slice(-3000)}`);
  assert.equal(exit.code, 1, b.output().slice(-3000));
  assert.match(b.output(), /SS_SERVICE_UNAVAILABLE/);
  assert.match(b.output(), /schema registry at http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7 is unreachable/);
  await slices.next();

  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000);

  // the registry comes back (same database, same ids); the rest of the stream goes to a new instance
  await registry.start();
  const downMs = Date.now() - downAt;
  const ra = await stopPipeline(a);
  assert.equal(ra.code, 0, `${JSON.stringify(ra)}\n${a.output().slice(-3000)}`);
  await slices.next();
  const c = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000);
  const rc = await stopPipeline(c);
  assert.equal(rc.code, 0, `${JSON.stringify(rc)}\n${c.output().slice(-3000)}`);
  await assertEndStateMatchesOracle(env.kafka, config, stream, { a, b, c }, { consoleConsumer: true });
  t.diagnostic(
    `registry outage: ${stream.cdc.length + stream.transactions.length} input records, half of them produced and committed while the registry was down (${Math.round(downMs / 1000)} s); one instance start refused meanwhile (exit 1); lost 0, duplicates 0`,
  );
});

test('registry outage with a schema id not seen yet: its windows wait (nothing dead-lettered or committed), and past registry.maxOutageMs the instance halts naming the registry; after the restart the backlog drains, nothing lost', async () => {
  const registry = await startPrivateRegistry();
  const env = await createTestEnv('registry-unknown-id', {
    registry: { url: registry.url, maxOutageMs: 8000 },
  });
  const config = env.config;
  const [cdcTopic, txTopic] = inputTopics(config);
  const stream = generateStream({ seed: 6, customers: 60, transactionsPerCustomer: 4, partitions: 3 });
  const client = cachingRegistry(createRegistryClient(config.registry));
  // the transactions service has a new schema version (a field with a default) registered: an id the
  // instance has not fetched when the registry goes away, since no record uses it until then. Registered
  // well before the kill: a registration a SIGKILL follows within moments may not be on disk yet.
  const v1 = JSON.parse(readFileSync('schemas/transactions-value.avsc', 'utf8')) as { fields: unknown[] };
  const v2 = { ...v1, fields: [...v1.fields, { name: 'note', type: ['null', 'string'], default: null }] };
  await registerSampleSchemas(client, cdcTopic, txTopic);
  const v2Id = await client.register(`${txTopic}-value`, JSON.stringify(v2), 'BACKWARD');
  const v2Type = avro.Type.forSchema(v2 as avro.Schema);
  const half = <T>(xs: readonly T[], second: boolean) =>
    second ? xs.slice(Math.floor(xs.length / 2)) : xs.slice(0, Math.floor(xs.length / 2));
  await produceSample(
    env.kafka,
    client,
    { cdc: half(stream.cdc, false), transactions: half(stream.transactions, false) },
    {
      format: 'avro',
      cdcTopic,
      transactionsTopic: txTopic,
    },
  );
  const a = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, [cdcTopic, txTopic], 120000);

  // then the registry goes away
  await registry.kill();
  await produceSample(
    env.kafka,
    client,
    { cdc: half(stream.cdc, true), transactions: [] },
    {
      format: 'avro',
      cdcTopic,
      transactionsTopic: txTopic,
    },
  );
  const producer = env.kafka.producer();
  await producer.connect();
  await producer.send({
    topic: txTopic,
    messages: half(stream.transactions, true).map((t) => ({
      partition: t.partition,
      key: t.key,
      value: frame(v2Id, v2Type.toBuffer({ ...t.value, note: null })),
    })),
  });
  await producer.disconnect();

  const exit = await Promise.race([a.exited, sleep(90000).then(() => null)]);
  assert.ok(exit !== null, `the instance did not halt\n${a.output().slice(-3000)}`);
  assert.equal(exit.code, 1, a.output().slice(-3000));
  assert.match(a.output(), /SS_REGISTRY/);
  assert.match(a.output(), /windows have failed on the schema registry for \d+ s \(registry\.maxOutageMs\)/);
  assert.equal(
    (await readTopic(env.kafka, config.outputs.dlq, { idleMs: 1000 })).length,
    0,
    'nothing dead-lettered',
  );
  const admin = env.kafka.admin();
  await admin.connect();
  const [committed] = await admin.fetchOffsets({ groupId: config.consumer.groupId, topics: [txTopic] });
  const ends = await admin.fetchTopicOffsets(txTopic);
  await admin.disconnect();
  const behind =
    ends.reduce((n, e) => n + Number(e.high), 0) -
    (committed?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  assert.ok(
    behind >= half(stream.transactions, true).length,
    `the new-schema records were not committed (${behind} behind)`,
  );

  await registry.start();
  const b = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, [cdcTopic, txTopic], 120000);
  assert.equal((await stopPipeline(b)).code, 0, b.output().slice(-3000));
  assert.equal((await readTopic(env.kafka, config.outputs.dlq, { idleMs: 1000 })).length, 0);
  await assertEndStateMatchesOracle(env.kafka, config, stream, { a, b });
});
