/**
 * Invariants: SIGTERM stops the process within `shutdown.timeoutMs`, and says how it went.
 *  1. During steady processing: exit 0 within the bound; the member leaves the group, so the other member
 *     takes its partitions at once (long before the session timeout); nothing lost, nothing twice.
 *  2. While Redis is down: exit within the bound, 0 or 3 with the step that could not complete named in
 *     the log; a restart (against the Redis that came back empty) resumes with nothing lost.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import test from 'node:test';
import { generateStream } from '../../src/sample/index.js';
import { followTopic, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import type { RunningPipeline } from '../helpers/process.js';
import { startPrivateRedis } from '../helpers/redis-server.js';
import { createTestEnv } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertEndStateMatchesOracle, decodeAudit } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BOUND_MS = 8000;
const SESSION_MS = 30000;

async function until(what: string, timeoutMs: number, done: () => boolean, logs: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs} ms\n${logs()}`);
    await sleep(50);
  }
}

/** SIGTERM; resolves with the exit code and how long the stop took. */
async function terminate(p: RunningPipeline): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  const { code } = await stopPipeline(p, BOUND_MS + 10000);
  return { code, ms: Date.now() - t0 };
}

test('shutdown during steady processing: exit 0 within the bound; the group gives the partitions to the other member at once; nothing lost or doubled', async (t) => {
  const env = await createTestEnv('stop-steady', {
    consumer: { sessionTimeoutMs: SESSION_MS, heartbeatIntervalMs: 1000 },
    window: { maxRecords: 50, maxRecordsBehind: 50, maxBytes: 1048576, maxDelayMs: 100 },
    shutdown: { timeoutMs: BOUND_MS },
  });
  const stream = generateStream({ seed: 61, customers: 300, transactionsPerCustomer: 8 });
  const produceNext = () => slices3.next();
  const slices3 = sliceProducer(env, stream, 3);
  const commits: Array<{ instance: string; partition: string; closedAt: number }> = [];
  await followTopic(env.kafka, env.config.outputs.audit, (m) => {
    const a = decodeAudit(m.value as Buffer);
    const [, topic, partition] = a.batch_id.split(':');
    commits.push({ instance: a.instance, partition: `${topic}:${partition}`, closedAt: a.closed_at });
  });
  const a = spawnPipeline(env.config);
  const b = spawnPipeline(env.config);
  const logs = () => `A:\n${a.output().slice(-3000)}\nB:\n${b.output().slice(-3000)}`;
  const of = (p: RunningPipeline) => `${hostname()}:${p.child.pid}`;
  // both in the group before any input: a member that joins late would find the first slice done
  const admin = env.kafka.admin();
  await admin.connect();
  for (const deadline = Date.now() + 90000; ;) {
    const { groups } = await admin.describeGroups([env.config.consumer.groupId]);
    if (groups[0]?.state === 'Stable' && groups[0].members.length === 2) break;
    assert.ok(Date.now() < deadline, `both members join the group\n${logs()}`);
    await sleep(200);
  }
  await admin.disconnect();
  await produceNext();
  await until(
    'both members commit',
    90000,
    () => commits.some((c) => c.instance === of(a)) && commits.some((c) => c.instance === of(b)),
    logs,
  );
  // A is stopped while windows of the second slice are committing
  const seen = commits.length;
  const producing = produceNext();
  await until('windows of the second slice commit', 60000, () => commits.length >= seen + 2, logs);
  const aPartitions = new Set(commits.filter((c) => c.instance === of(a)).map((c) => c.partition));
  const stop = await terminate(a);
  const stoppedAt = Date.now();
  assert.equal(stop.code, 0, `A stops cleanly\n${logs()}`);
  assert.ok(stop.ms < BOUND_MS, `A stopped in ${stop.ms} ms (bound ${BOUND_MS})`);
  await producing;
  await produceNext();
  // B takes A's partitions without waiting for A's session to time out (30 s)
  await until(
    'B commits a window of a partition A had',
    SESSION_MS / 2,
    () => commits.some((c) => c.instance === of(b) && aPartitions.has(c.partition) && c.closedAt > stoppedAt),
    logs,
  );
  const takeover = commits.find(
    (c) => c.instance === of(b) && aPartitions.has(c.partition) && c.closedAt > stoppedAt,
  );
  t.diagnostic(
    `A stopped in ${stop.ms} ms (exit ${stop.code}); B committed on A's partition ${takeover?.partition} ${(takeover?.closedAt ?? 0) - stoppedAt} ms after A exited`,
  );
  await waitCaughtUp(
    env.kafka,
    env.config.consumer.groupId,
    [...env.config.inputs.cdc, ...env.config.inputs.events].map((i) => i.topic),
    120000,
  );
  const last = await terminate(b);
  assert.equal(last.code, 0, logs());
  await assertEndStateMatchesOracle(env.kafka, env.config, stream, { A: a, B: b });
});

test('shutdown while Redis is down: exit within the bound, naming any step that could not complete; a restart resumes with nothing lost', async (t) => {
  const redis = await startPrivateRedis({ aof: false });
  const env = await createTestEnv('stop-redis', {
    redis: { url: redis.url },
    window: { maxRecords: 50, maxRecordsBehind: 50, maxBytes: 1048576, maxDelayMs: 100 },
    shutdown: { timeoutMs: BOUND_MS },
  });
  const stream = generateStream({ seed: 67, customers: 200, transactionsPerCustomer: 8, deleteRate: 0.1 });
  const produceNext = () => slices2.next();
  const slices2 = sliceProducer(env, stream, 2);
  let audits = 0;
  await followTopic(env.kafka, env.config.outputs.audit, () => void (audits += 1));
  const a = spawnPipeline(env.config);
  await produceNext();
  await until(
    'first commits',
    90000,
    () => audits >= 3,
    () => a.output().slice(-3000),
  );
  await redis.kill();
  await produceNext(); // windows now fail on Redis and are retried
  await sleep(2000);
  const stop = await terminate(a);
  assert.ok(
    stop.ms < BOUND_MS + 1000,
    `stopped in ${stop.ms} ms (bound ${BOUND_MS})\n${a.output().slice(-3000)}`,
  );
  if (stop.code === 0) assert.doesNotMatch(a.output(), /shutdown step \\"/, 'exit 0: every step completed');
  else {
    assert.equal(stop.code, 3, `an unclean stop exits 3\n${a.output().slice(-3000)}`);
    assert.match(a.output(), /shutdown step \\"\w+\\" failed/, 'the step that failed is named');
  }
  t.diagnostic(`stopped in ${stop.ms} ms with Redis down (exit ${stop.code})`);
  // Redis comes back empty; the next instance rebuilds it from the log and carries on
  await redis.start();
  const b = spawnPipeline(env.config);
  const inputs = [...env.config.inputs.cdc, ...env.config.inputs.events].map((i) => i.topic);
  await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputs, 120000);
  const last = await terminate(b);
  assert.equal(last.code, 0, b.output().slice(-3000));
  await assertEndStateMatchesOracle(env.kafka, env.config, stream, { A: a, B: b });
});
