/**
 * Invariant: a consumer crash never leaves a live process outside its group. Whatever made the consumer
 * crash, the process either restarts it — /readyz says "unavailable" while it is outside the group, then
 * it rejoins and keeps committing — or exits non-zero. Nothing is lost or duplicated either way.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { createRegistryClient } from '../../src/adapters/registry.js';
import { generateStream, produceSample } from '../../src/sample/index.js';
import type { SampleStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { freePort } from '../helpers/redis-server.js';
import { createTestEnv } from '../helpers/services.js';
import type { TestEnv } from '../helpers/services.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setUp(label: string, seed: number, observePort = 0) {
  const env: TestEnv = await createTestEnv(label, {
    window: { maxRecords: 40, maxBytes: 1048576, maxDelayMs: 100 },
    observe: { port: observePort },
  });
  const stream = generateStream({ seed, customers: 120, transactionsPerCustomer: 8, partitions: 3 });
  const inputs = [env.config.inputs.cdc[0]?.topic as string, env.config.inputs.events[0]?.topic as string];
  const registry = createRegistryClient(env.config.registry);
  const produce = (part: Pick<SampleStream, 'cdc' | 'transactions'>) =>
    produceSample(env.kafka, registry, part, {
      cdcTopic: inputs[0] as string,
      transactionsTopic: inputs[1] as string,
      format: 'avro',
    });
  const half = <T>(all: readonly T[], second: boolean) =>
    second ? all.slice(Math.floor(all.length / 2)) : all.slice(0, Math.floor(all.length / 2));
  return {
    env,
    stream,
    inputs,
    produceHalf: (second: boolean) =>
      produce({ cdc: half(stream.cdc, second), transactions: half(stream.transactions, second) }),
  };
}

test('consumer crash, restartable: /readyz goes false while the consumer is outside the group, then it rejoins and keeps committing; no loss, no duplicate', async () => {
  const port = await freePort();
  const { env, stream, inputs, produceHalf } = await setUp('crash-restart', 41, port);
  await produceHalf(false);
  const p = spawnPipeline(env.config, {
    STREAMSCORE_TEST_CONSUMER_CRASH: 'restart',
    STREAMSCORE_TEST_CONSUMER_CRASH_AFTER: '4',
  });

  // /readyz as an orchestrator sees it, every 20 ms, from start to end
  const seen: Array<{ at: number; ready: boolean | null }> = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      let ready: boolean | null = null;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        ready = res.status === 200;
      } catch {
        ready = null; // not listening (yet)
      }
      const last = seen[seen.length - 1];
      if (last === undefined || last.ready !== ready) seen.push({ at: Date.now(), ready });
      await sleep(20);
    }
  })();

  const deadline = Date.now() + 90000;
  while (!/test consumer crash \(restart\)/.test(p.output())) {
    assert.ok(Date.now() < deadline, `the crash was not injected\n${p.output().slice(-3000)}`);
    assert.equal(p.child.exitCode, null, `the process exited\n${p.output().slice(-3000)}`);
    await sleep(100);
  }
  await produceHalf(true);
  await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputs, 120000);
  polling = false;
  await poller;

  assert.equal(p.child.exitCode, null, `the process keeps running\n${p.output().slice(-3000)}`);
  const states = seen.map((s) => s.ready);
  const firstReady = states.indexOf(true);
  assert.ok(firstReady >= 0, `/readyz was never ready: ${JSON.stringify(seen)}`);
  const notReady = states.indexOf(false, firstReady);
  assert.ok(notReady > firstReady, `/readyz never went false after the crash: ${JSON.stringify(seen)}`);
  assert.ok(
    states.indexOf(true, notReady) > notReady,
    `/readyz did not come back after the rejoin: ${JSON.stringify(seen)}`,
  );
  assert.equal(states[states.length - 1], true, 'ready at the end');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /streamscore_consumer_crashes_total\{[^}]*restart="true"[^}]*\} 1\b/);
  assert.match(metrics, /streamscore_group_member\{[^}]*\} 1\b/);

  const r = await stopPipeline(p);
  assert.equal(r.code, 0, p.output().slice(-3000));
  await assertEndStateMatchesOracle(env.kafka, env.config, stream, { p });
});

test('consumer crash, not restartable: the process exits non-zero (SS_CONSUMER_CRASHED) instead of living on outside its group; a restart loses nothing', async () => {
  const { env, stream, inputs, produceHalf } = await setUp('crash-fatal', 43);
  await produceHalf(false);
  const p = spawnPipeline(env.config, {
    STREAMSCORE_TEST_CONSUMER_CRASH: 'fatal',
    STREAMSCORE_TEST_CONSUMER_CRASH_AFTER: '4',
  });
  const exit = await Promise.race([p.exited, sleep(90000).then(() => null)]);
  assert.ok(exit !== null, `the process did not exit after the crash\n${p.output().slice(-3000)}`);
  assert.match(p.output(), /test consumer crash \(fatal\)/);
  assert.equal(exit.code, 1, `exit code 1\n${p.output().slice(-3000)}`);
  assert.match(p.output(), /SS_CONSUMER_CRASHED/);

  await produceHalf(true);
  const again = spawnPipeline(env.config);
  await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputs, 120000);
  const r = await stopPipeline(again);
  assert.equal(r.code, 0, again.output().slice(-3000));
  await assertEndStateMatchesOracle(env.kafka, env.config, stream, { p, again });
});
