/**
 * Invariants on a real Redis Cluster (3 masters with a replica each, started by `scripts/services.sh
 * cluster-up`), with two pipeline processes in one group:
 *  - oracle under resharding and failover: slots move between masters while windows write (MOVED, ASK and
 *    TRYAGAIN answered by the client) and a master hands over to its replica; at the end Redis and the
 *    committed prediction topic equal what the input stream implies;
 *  - no lost or regressed prediction: every entity's version in Redis is the version of its newest committed
 *    prediction event;
 *  - a node that loses its data (FLUSHALL on one master) loses its slots' copies of the epoch (or the control
 *    key itself, when it serves that slot): the pipeline notices, rebuilds the state from the log and ends
 *    equal to the oracle again. Both cases run.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Cluster } from 'ioredis';
import type { Config } from '../../src/config/index.js';
import { generateStream } from '../../src/sample/index.js';
import { slotOf } from '../../src/sink/index.js';
import type { SampleStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import type { RunningPipeline } from '../helpers/process.js';
import {
  clusterMasters,
  ensureRedisCluster,
  failover,
  flushNode,
  moveSlots,
} from '../helpers/redis-cluster.js';
import { createTestEnv, inputTopics } from '../helpers/services.js';
import type { TestEnv } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertEndStateMatchesOracle, readPredictions } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const STREAM = {
  customers: 200,
  transactionsPerCustomer: 10,
  partitions: 3,
  duplicateRate: 0.03,
  outOfOrderRate: 0.05,
  deleteRate: 0.08,
};

async function clusterEnv(label: string): Promise<TestEnv> {
  const { url } = ensureRedisCluster();
  return createTestEnv(label, {
    redis: { url, cluster: true },
    window: { maxRecords: 100, maxBytes: 1024 * 1024, maxDelayMs: 50 },
  });
}

async function caughtUp(env: TestEnv, procs: Record<string, RunningPipeline>): Promise<void> {
  try {
    await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputTopics(env.config), 180000);
  } catch (err) {
    const logs = Object.entries(procs).map(([n, p]) => `${n}:\n${p.output().slice(-4000)}`);
    (err as Error).message += `\n${logs.join('\n')}`;
    throw err;
  }
}

/**
 * Every entity's version in Redis (deleted ones included) equals its newest committed event's, or, after a
 * rebuild (`rebuilt`), is at least that: a rebuild re-scores history with new versions and emits no events.
 */
async function assertNoRegression(env: TestEnv, stream: SampleStream, rebuilt = false): Promise<number> {
  const newest = new Map<string, number>();
  for (const e of await readPredictions(env.kafka, env.config))
    newest.set(e.entity_id, Math.max(newest.get(e.entity_id) ?? 0, Number(e.version)));
  const raw = new Cluster([env.config.redis.url]);
  let checked = 0;
  try {
    const ids = new Set([
      ...stream.cdc.map((r) => String(r.key.id)),
      ...stream.transactions.map((r) => r.key),
    ]);
    for (const id of ids) {
      const v = await raw.hget(`${env.config.redis.keyPrefix}{churn:${id}}`, 'version');
      const want = newest.get(id);
      if (want === undefined) {
        assert.equal(v, null, `${id}: a Redis prediction without a committed event`);
        continue;
      }
      if (rebuilt) assert.ok(Number(v) >= want, `${id}: Redis version ${v} < newest committed event ${want}`);
      else assert.equal(Number(v), want, `${id}: Redis version ${v}, newest committed event ${want}`);
      checked += 1;
    }
  } finally {
    raw.disconnect();
  }
  return checked;
}

/** The cluster's slot ranges now: [first slot, last slot, port of their master]. */
async function slotRanges(config: Readonly<Config>): Promise<Array<[number, number, number]>> {
  const raw = new Cluster([config.redis.url]);
  try {
    const ranges = (await raw.cluster('SLOTS')) as unknown as Array<
      [number, number, [string, number, ...unknown[]]]
    >;
    return ranges.map(([lo, hi, master]) => [lo, hi, master[1]]);
  } finally {
    raw.disconnect();
  }
}

/** The hash slots of the stream's entities that the master on `port` serves now. */
async function entitySlotsOn(
  config: Readonly<Config>,
  port: number,
  stream: SampleStream,
): Promise<number[]> {
  const mine = (await slotRanges(config)).filter((r) => r[2] === port);
  const ids = new Set(stream.cdc.map((r) => String(r.key.id)));
  const slots = new Set([...ids].map((id) => slotOf(`{${config.pipeline.name}:${id}}`)));
  return [...slots].filter((s) => mine.some(([lo, hi]) => s >= lo && s <= hi)).sort((a, b) => a - b);
}

async function controlEpoch(config: Readonly<Config>): Promise<string | null> {
  const raw = new Cluster([config.redis.url]);
  try {
    return await raw.get(`${config.redis.keyPrefix}${config.pipeline.name}:epoch`);
  } finally {
    raw.disconnect();
  }
}

test('oracle on Redis Cluster through a live resharding and a failover: no lost or regressed prediction', async () => {
  const env = await clusterEnv('cluster-oracle');
  const stream = generateStream({ ...STREAM, seed: 31 });
  const slices = sliceProducer(env, stream, 6);
  const procs = { a: spawnPipeline(env.config), b: spawnPipeline(env.config) };
  await slices.next();
  await slices.next();
  await sleep(1500);

  // a live resharding while windows write: the slots of this test's entities on one master move
  // (with their keys) to another, a pause between key batches so that writes meet slots half-migrated
  // (earlier runs moved slots around: start from the master serving most of this stream's entities)
  const masters = await clusterMasters();
  const held = await Promise.all(masters.map((m) => entitySlotsOn(env.config, m.port, stream)));
  const order = masters
    .map((m, i) => ({ m, slots: held[i] as number[] }))
    .sort((x, y) => y.slots.length - x.slots.length);
  const [first, second, last] = order as [(typeof order)[0], (typeof order)[0], (typeof order)[0]];
  const [from, to, third] = [first.m, second.m, last.m];
  const targeted = first.slots;
  const moving = moveSlots(from.port, to.port, targeted.length, {
    slots: targeted,
    keysPerBatch: 1,
    pauseMsBetweenBatches: 5,
    // each slot stays half-migrated a while, so windows meet it (ASK, TRYAGAIN)
    onSlotHalfMigrated: async () => {
      await sleep(150);
    },
  });
  await slices.next();
  await slices.next();
  const moved = await moving;
  assert.ok(moved.length >= 40, `${moved.length} slots holding the test's entities moved`);

  // a master hands over to its replica (manual failover) while windows write
  const failing = failover(third.port);
  await slices.next();
  await slices.next();
  const newMaster = await failing;
  assert.notEqual(newMaster, third.port);

  await caughtUp(env, procs);
  for (const p of Object.values(procs))
    assert.equal((await stopPipeline(p)).code, 0, p.output().slice(-3000));
  await assertEndStateMatchesOracle(env.kafka, env.config, stream, procs);
  const checked = await assertNoRegression(env, stream);
  assert.ok(checked > 150, `${checked} entities checked`);
});

/** The port of the master serving `slot` now. */
async function masterOf(config: Readonly<Config>, slot: number): Promise<number> {
  const r = (await slotRanges(config)).find(([lo, hi]) => slot >= lo && slot <= hi);
  assert.ok(r !== undefined, `slot ${slot} is served`);
  return r[2];
}

for (const lost of ['a node without the control key', 'the node holding the control key'] as const) {
  test(`a cluster node that loses its data (${lost}): detected, the state is rebuilt from the log, Redis equals the oracle`, async () => {
    const env = await clusterEnv('cluster-node-loss');
    const stream = generateStream({ ...STREAM, seed: 37 });
    const slices = sliceProducer(env, stream, 2);
    const procs = { a: spawnPipeline(env.config) };
    await slices.next();
    await caughtUp(env, procs);
    const before = await controlEpoch(env.config);
    assert.ok(before !== null && !before.startsWith('rebuild:'), `a ready epoch (${before})`);

    const control = await masterOf(env.config, slotOf(`${env.config.redis.keyPrefix}churn:epoch`));
    const masters = await clusterMasters();
    const victim =
      lost === 'the node holding the control key' ? control : masters.find((m) => m.port !== control)?.port;
    assert.ok(victim !== undefined);
    await flushNode(victim);
    // the instance notices (its watch reads the control key and one copy per master each second),
    // rebuilds, and says ready
    const deadline = Date.now() + 120000;
    for (;;) {
      const now = await controlEpoch(env.config);
      const done = now !== null && now !== before && !now.startsWith('rebuild:');
      if (done && /rebuilt from the log/.test(procs.a.output())) break;
      assert.ok(Date.now() < deadline, `no rebuilt epoch within 120 s\n${procs.a.output().slice(-4000)}`);
      await sleep(250);
    }
    // which path noticed it: the copies of the lost slots (control key intact), or the control key itself
    if (lost === 'a node without the control key')
      assert.match(procs.a.output(), /lost its copies of the epoch/);
    else assert.doesNotMatch(procs.a.output(), /lost its copies of the epoch/);
    await slices.next();
    await caughtUp(env, procs);
    assert.equal((await stopPipeline(procs.a)).code, 0, procs.a.output().slice(-3000));
    await assertEndStateMatchesOracle(env.kafka, env.config, stream, procs);
    await assertNoRegression(env, stream, true);
  });
}
