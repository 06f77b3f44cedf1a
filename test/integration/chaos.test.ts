/**
 * Invariant: a group of three instances under rolling restarts and kill -9 of a random instance every few
 * seconds, while input keeps arriving, loses nothing and duplicates nothing: Redis ends equal to the
 * oracle, and Kafka's own read_committed console consumer sees every prediction of the oracle exactly once.
 *
 * `npm test` runs a short version (about 20k input records, 8 faults). `npm run chaos` runs the long one
 * (STREAMSCORE_CHAOS_RECORDS=500000, STREAMSCORE_CHAOS_FAULTS=40 by default there; both variables work here
 * too). The figures (records, faults by kind, time to catch up after the last fault) are printed.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Random, generateStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import type { RunningPipeline } from '../helpers/process.js';
import { freePort } from '../helpers/redis-server.js';
import { createTestEnv, inputTopics } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RECORDS = Number(process.env.STREAMSCORE_CHAOS_RECORDS ?? '20000');
const FAULTS = Number(process.env.STREAMSCORE_CHAOS_FAULTS ?? '8');
const INSTANCES = 3;

test(`chaos: ${INSTANCES} instances, rolling restarts and kill -9 every few seconds while input arrives; no loss, no duplicate (Kafka's console consumer), Redis equals the oracle`, async (t) => {
  const env = await createTestEnv('chaos', {
    window: { maxRecords: 500, maxBytes: 1048576, maxDelayMs: 100 },
    consumer: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 },
  });
  const config = env.config;
  // about 5.4 input records per customer (CDC snapshot and updates, two transactions on average)
  const stream = generateStream({
    seed: 2026,
    customers: Math.max(200, Math.round(RECORDS / 5.3)),
    transactionsPerCustomer: 2,
    partitions: 6,
    deleteRate: 0.05,
  });
  const total = stream.cdc.length + stream.transactions.length;
  const rng = new Random(99);
  const rand = () => rng.next();
  const slices = sliceProducer(env, stream, FAULTS + 2);
  const all: Record<string, RunningPipeline> = {};
  const live: RunningPipeline[] = [];
  /**
   * A new instance, counted as up once its HTTP server answers: it then handles SIGTERM (a rolling restart
   * waits for that, as an orchestrator waits for a started container; a signal during the first second of
   * start-up, before node has loaded the program, kills it outright).
   */
  const start = async () => {
    const port = await freePort();
    const p = spawnPipeline(env.configWith({ observe: { port } }));
    all[`p${Object.keys(all).length}`] = p;
    const deadline = Date.now() + 60000;
    while (
      !(await fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => true,
        () => false,
      ))
    ) {
      assert.ok(
        Date.now() < deadline && p.child.exitCode === null,
        `an instance did not start\n${p.output().slice(-3000)}`,
      );
      await sleep(100);
    }
    live.push(p);
    return p;
  };
  for (let i = 0; i < INSTANCES; i++) await start();
  await slices.next();

  const faults = { kill9: 0, rolling: 0 };
  const startedAt = Date.now();
  for (let f = 0; f < FAULTS; f++) {
    await sleep(2000 + Math.floor(rand() * 3000));
    const i = Math.floor(rand() * live.length);
    const victim = live[i] as RunningPipeline;
    live.splice(i, 1);
    if (f % 2 === 0) {
      // kill -9 at a random moment: its partitions move after the session timeout
      victim.child.kill('SIGKILL');
      await victim.exited;
      faults.kill9 += 1;
    } else {
      // a rolling restart: SIGTERM, a clean exit, a new process
      const r = await stopPipeline(victim);
      assert.equal(r.code, 0, `a rolling restart stops cleanly\n${victim.output().slice(-3000)}`);
      faults.rolling += 1;
    }
    await start();
    await slices.next();
  }
  while (!slices.done) await slices.next();
  const lastFaultAt = Date.now();
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 600000);
  const caughtUpMs = Date.now() - lastFaultAt;
  for (const p of live) {
    assert.equal(p.child.exitCode, null, `an instance died by itself\n${p.output().slice(-3000)}`);
    const r = await stopPipeline(p);
    assert.equal(r.code, 0, p.output().slice(-3000));
  }
  await assertEndStateMatchesOracle(env.kafka, config, stream, all, { consoleConsumer: true });
  t.diagnostic(
    `chaos figures: ${total} input records (${stream.cdc.length} CDC, ${stream.transactions.length} transactions), ` +
      `${INSTANCES} instances, ${faults.kill9} kill -9 and ${faults.rolling} rolling restarts over ` +
      `${Math.round((lastFaultAt - startedAt) / 1000)} s, caught up ${Math.round(caughtUpMs / 1000)} s after the last fault; ` +
      `lost 0, duplicates 0 (oracle and console consumer)`,
  );
});
