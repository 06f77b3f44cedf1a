/**
 * Invariant: the schema registry going away mid-stream loses nothing and stalls nothing that can go on.
 * A running instance keeps committing (the schemas it read are cached; its output schemas were registered
 * at start); an instance started while the registry is down exits non-zero naming the registry instead of
 * running half-configured; once the registry is back (same database, same ids) a new instance starts and
 * the group finishes the stream. Redis equals the oracle; Kafka's console consumer sees no duplicate.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { createRegistryClient } from '../../src/adapters/registry.js';
import type { SchemaRegistryClient } from '../../src/adapters/registry.js';
import { generateStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
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
