/**
 * Invariants: a Redis that lost its data is a cache of the log, not a loss; versions never go back.
 *
 * Two instances run against a Redis of the test's own, which is SIGKILLed twice mid-stream and restarted.
 *  - Without persistence it comes back empty: the instances notice (epoch), one rebuilds the state from the
 *    input topics while both pause, and they resume. With AOF it comes back with its data: nothing is
 *    rebuilt.
 *  - Nothing is committed while Redis is down (the group's offsets do not move).
 *  - Versions never repeat or go back across a restart: every prediction committed after a restart has a
 *    higher version than every one of the same entity committed before it, and no Redis version drops.
 *  - At the end Redis and the prediction topic equal the oracle for every entity (a clean run gives the
 *    oracle: pipeline-oracle.test.ts); deleted rows stay deleted, also when their older changes are
 *    delivered again after the rebuild (the LSN fence was rebuilt too).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Redis } from 'ioredis';
import { createRegistryClient } from '../../src/adapters/registry.js';
import type { Config } from '../../src/config/index.js';
import { generateStream, produceSample } from '../../src/sample/index.js';
import type { SampleStream } from '../../src/sample/index.js';
import { followTopic, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import type { RunningPipeline } from '../helpers/process.js';
import { freePort, startPrivateRedis } from '../helpers/redis-server.js';
import type { PrivateRedis } from '../helpers/redis-server.js';
import { createTestEnv } from '../helpers/services.js';
import type { TestEnv } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertEndStateMatchesOracle, decodeAudit, readPredictions } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const KILLS = 2;
const DOWN_MS = 5000;

async function until(
  what: string,
  timeoutMs: number,
  done: () => boolean | Promise<boolean>,
  logs: () => string,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs} ms\n${logs()}`);
    await sleep(100);
  }
}

/** Every entity's prediction version in Redis (0 when none), read raw: deletions have one too. */
async function redisVersions(config: Readonly<Config>, ids: readonly string[]): Promise<Map<string, number>> {
  const r = new Redis(config.redis.url);
  try {
    const pipe = r.pipeline();
    for (const id of ids) pipe.hget(`${config.redis.keyPrefix}{${config.pipeline.name}:${id}}`, 'version');
    const res = (await pipe.exec()) ?? [];
    return new Map(ids.map((id, i) => [id, Number(res[i]?.[1] ?? 0)]));
  } finally {
    r.disconnect();
  }
}

async function groupOffsets(env: TestEnv, topics: readonly string[]): Promise<string> {
  const admin = env.kafka.admin();
  await admin.connect();
  try {
    const res = await admin.fetchOffsets({ groupId: env.config.consumer.groupId, topics: [...topics] });
    return JSON.stringify(res.map((t) => [t.topic, t.partitions.map((p) => `${p.partition}:${p.offset}`)]));
  } finally {
    await admin.disconnect();
  }
}

async function predictionEnds(env: TestEnv): Promise<Map<number, number>> {
  const admin = env.kafka.admin();
  await admin.connect();
  try {
    const offs = await admin.fetchTopicOffsets(env.config.outputs.predictions);
    return new Map(offs.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

async function scenario(t: test.TestContext, aof: boolean): Promise<void> {
  const redis: PrivateRedis = await startPrivateRedis({ aof });
  const env = await createTestEnv(aof ? 'redis-aof' : 'redis-wipe', {
    redis: { url: redis.url },
    window: { maxRecords: 60, maxRecordsBehind: 60, maxBytes: 1048576, maxDelayMs: 100 },
  });
  const config = env.config;
  const stream: SampleStream = generateStream({
    seed: aof ? 53 : 47,
    customers: 300,
    transactionsPerCustomer: 8,
    deleteRate: 0.15,
  });
  const inputs = [config.inputs.cdc[0]?.topic as string, config.inputs.events[0]?.topic as string];
  const registry = createRegistryClient(config.registry);
  // with AOF each kill also gets a slice produced while Redis is down (see below)
  const slices = sliceProducer(env, stream, aof ? 2 * KILLS + 2 : KILLS + 2);
  const produceNext = () => slices.next();
  const audits: Array<{ closedAt: number }> = [];
  await followTopic(env.kafka, config.outputs.audit, (m) => {
    audits.push({ closedAt: decodeAudit(m.value as Buffer).closed_at });
  });

  // each instance's /readyz as an orchestrator sees it (every 20 ms), and its /metrics at the end
  const ports = [await freePort(), await freePort()];
  const [a, b] = ports.map((port) => spawnPipeline(env.configWith({ observe: { port } }))) as [
    RunningPipeline,
    RunningPipeline,
  ];
  const notReadyAfterRestart = [0, 0];
  let restarted = false;
  let polling = true;
  t.after(() => {
    polling = false; // also when an assertion failed: the file's process must be able to exit
  });
  const poller = (async () => {
    while (polling) {
      for (const [i, port] of ports.entries()) {
        const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (restarted && status === 503) notReadyAfterRestart[i] = (notReadyAfterRestart[i] as number) + 1;
      }
      await sleep(20);
    }
  })();
  const logs = () => `A:\n${a.output().slice(-3000)}\nB:\n${b.output().slice(-3000)}`;
  const rebuilt = (p: RunningPipeline) => p.output().match(/Redis state rebuilt from the log/g)?.length ?? 0;
  await produceNext();
  await until('first commits', 90000, () => audits.length >= 3, logs);

  const ids = [...new Set(stream.cdc.map((r) => String(r.key.id)))];
  const cuts: Array<Map<number, number>> = [];
  for (let kill = 1; kill <= KILLS; kill++) {
    const seen = audits.length;
    const producing = produceNext();
    await until(
      `kill ${kill}: windows of the new slice commit`,
      60000,
      () => audits.length >= seen + 2,
      logs,
    );
    const before = await redisVersions(config, ids);
    const rebuildsBefore = rebuilt(a) + rebuilt(b);
    await redis.kill();
    const killedAt = Date.now();
    await producing;
    await sleep(1500); // a transaction whose Redis write made it before the kill may still commit
    const offsetsDown = await groupOffsets(env, inputs);
    const closedBefore = audits.length;
    await sleep(Math.max(0, killedAt + DOWN_MS - Date.now()));
    assert.equal(
      await groupOffsets(env, inputs),
      offsetsDown,
      `kill ${kill}: nothing committed while Redis is down`,
    );
    assert.equal(audits.length, closedBefore, `kill ${kill}: no window closed while Redis is down`);
    cuts.push(await predictionEnds(env));
    // With AOF nothing is rebuilt, so "commits resume" needs records to commit: a fast pipeline can have
    // committed its whole slice before the kill. These are produced while Redis is down and can only be
    // committed once it is back.
    if (aof) await produceNext();
    await redis.start();
    restarted = true;
    const restartedAt = Date.now();
    if (aof) {
      const seenAt = audits.length;
      await until(`kill ${kill}: commits resume`, 60000, () => audits.length > seenAt, logs);
    } else {
      await until(
        `kill ${kill}: an instance rebuilt Redis from the log`,
        120000,
        () => rebuilt(a) + rebuilt(b) > rebuildsBefore,
        logs,
      );
      const line = (a.output() + b.output())
        .split('\n')
        .filter((l) => l.includes('Redis state rebuilt from the log'))
        .pop();
      const totalMs = (JSON.parse(line as string) as { totalMs: number }).totalMs;
      t.diagnostic(
        `kill ${kill}: restart to rebuilt ${Date.now() - restartedAt} ms (rebuild's own count from noticing: ${totalMs} ms)`,
      );
    }
    const after = await redisVersions(config, ids);
    for (const id of ids) {
      const was = before.get(id) ?? 0;
      assert.ok(
        (after.get(id) ?? 0) >= was,
        `kill ${kill}: customer ${id}: Redis version ${after.get(id)} below ${was}`,
      );
    }
  }
  while (!slices.done) await produceNext();
  // older changes of deleted customers delivered again (a connector replaying): they must stay deleted
  const deleted = new Set(stream.summary.deletedIds);
  const stale = stream.cdc
    .filter((r) => deleted.has(r.key.id) && r.value !== null && r.value.op !== 'd')
    .map((r) => ({ ...r, resend: 'stale' as const }));
  assert.ok(stale.length > 10, `the stream has deleted customers with older changes (${stale.length})`);
  if (process.env.DEBUG_NOSTALE !== '1')
    await produceSample(
      env.kafka,
      registry,
      { cdc: stale, transactions: [] },
      { cdcTopic: inputs[0] as string, transactionsTopic: inputs[1] as string, format: 'avro' },
    );
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000);
  polling = false;
  await poller;
  const rebuildsDone = await Promise.all(
    ports.map(async (port) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const m = /^streamscore_redis_rebuilds_total\{[^}]*outcome="done"[^}]*\} (\d+)/m.exec(text);
      assert.match(text, /^streamscore_redis_epoch_state\{[^}]*\} 0$/m, 'epoch state back to 0 (ready)');
      return Number(m?.[1] ?? 0);
    }),
  );
  assert.equal(
    rebuildsDone[0]! + rebuildsDone[1]!,
    aof ? 0 : KILLS,
    `rebuilds on /metrics (A, B): ${rebuildsDone.join(', ')}`,
  );
  if (!aof)
    assert.ok(
      notReadyAfterRestart.every((n) => n > 0),
      `/readyz answered 503 while Redis was rebuilt (polls per instance: ${notReadyAfterRestart.join(', ')})`,
    );
  const [ra, rb] = await Promise.all([stopPipeline(a), stopPipeline(b)]);
  assert.equal(ra.code, 0, logs());
  assert.equal(rb.code, 0, logs());
  if (aof) assert.equal(rebuilt(a) + rebuilt(b), 0, 'with AOF, Redis kept its data: nothing was rebuilt');
  assert.doesNotMatch(a.output() + b.output(), /consumer crashed|pipeline halted/, 'no crash, no halt');

  await assertEndStateMatchesOracle(env.kafka, config, stream, { A: a, B: b });
  // versions across the restarts, on the committed topic: after a restart, every entity's versions are
  // above all of its versions committed before the kill
  const events = await readPredictions(env.kafka, config);
  for (const [k, cut] of cuts.entries()) {
    const high = new Map<string, number>();
    const low = new Map<string, number>();
    for (const e of events) {
      const [p, off] = (e as unknown as { at: string }).at.split('@').map(Number) as [number, number];
      const before = off < (cut.get(p) ?? 0);
      const m = before ? high : low;
      const v = Number(e.version);
      const cur = m.get(e.entity_id);
      if (cur === undefined || (before ? v > cur : v < cur)) m.set(e.entity_id, v);
    }
    for (const [id, v] of low) {
      const old = high.get(id);
      assert.ok(
        old === undefined || v > old,
        `kill ${k + 1}: ${id} committed version ${v} after a version ${old}`,
      );
    }
  }
}

test('Redis wiped twice mid-stream: nothing committed while it is down; it is rebuilt from the log; versions never go back; Redis and the topic equal the oracle; deleted rows stay deleted', async (t) => {
  await scenario(t, false);
});

test('Redis with AOF killed twice mid-stream: nothing rebuilt, nothing lost, versions never go back; Redis and the topic equal the oracle', async (t) => {
  await scenario(t, true);
});
