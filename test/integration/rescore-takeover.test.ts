/**
 * Invariant: every prediction in Redis has its committed event, also when a second run of the same rescore
 * job starts while the first is still running. The later run takes the job over in Redis before it fences
 * the earlier one in Kafka and reads what it left; the earlier run's next write is refused and it stops,
 * so nothing it writes is left in Redis without its event (before this fence, its next chunk was written to
 * Redis, its transaction was refused, and the later run's scan then found those entities already current).
 *
 * The oracle is the test's own (test/helpers/oracle.ts): every live customer scored by the new champion in
 * Redis and as its newest committed event, no (entity, version) twice for read_committed readers.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { lookupClientFor } from '../../src/lookup/index.js';
import { generateStream } from '../../src/sample/index.js';
import { cli } from '../helpers/cli.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { expectedPredictions } from '../helpers/oracle.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertPredictionEventsMatch, assertRedisMatches, readPredictions } from '../helpers/verify.js';

test('a second run of the same rescore job takes it over: the first stops at its next write, and every prediction in Redis has its committed event', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'streamscore-takeover-'));
  for (const v of ['2', '3'])
    await cp(join('models', 'churn', v), join(store, 'churn', v), { recursive: true });
  const env = await createTestEnv('takeover', {
    model: { dir: store, alias: 'champion', version: '2' },
    window: { maxRecords: 200, maxRecordsBehind: 200, maxBytes: 1048576, maxDelayMs: 50 },
  });
  const config = env.config;
  const configFile = join(store, 'config.json');
  await writeFile(configFile, JSON.stringify(config));
  const stream = generateStream({ seed: 41, customers: 600, transactionsPerCustomer: 4, deleteRate: 0.05 });
  const slices = sliceProducer(env, stream, 1);
  const live = spawnPipeline(config);
  await slices.next();
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000);
  assert.equal((await stopPipeline(live)).code, 0, live.output().slice(-3000));
  const promoted = await cli(['models', 'promote', '3', '--reason', 'retrained', '--config', configFile]);
  assert.equal(promoted.code, 0, promoted.all);

  // run 1, slow: 20 entities per chunk, 40 entities/s (about 15 s for the 604 entities, so that run 2, which
  // starts 1.5 s into run 1's scan, takes over well before run 1 ends, also on Redis Cluster where taking
  // a job writes its run to all 16,384 slots)
  const first = spawn(
    process.execPath,
    ['bin/streamscore.js', 'rescore', '--config', configFile, '--chunk', '20', '--rate', '40'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let firstOut = '';
  first.stdout.on('data', (d: Buffer) => (firstOut += d.toString()));
  first.stderr.on('data', (d: Buffer) => (firstOut += d.toString()));
  const firstExit = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60000;
  while (!/; scanning/.test(firstOut)) {
    assert.ok(Date.now() < deadline, `run 1 starts scanning\n${firstOut}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1500));
  const second = await cli(['rescore', '--config', configFile, '--chunk', '20', '--rate', '0', '--json']);
  const firstCode = await firstExit;
  assert.equal(second.code, 0, second.all);
  assert.notEqual(firstCode, 0, `run 1 must not finish as if it still held the job\n${firstOut}`);
  const report = JSON.parse(second.out) as { recovered: number; counts: { scored: number } };

  // every prediction in Redis has its committed event, and the end state is the new champion's
  const events = await readPredictions(env.kafka, config);
  const committed = new Set(events.map((e) => `${e.entity_id}@${e.version}`));
  const expected = await expectedPredictions(stream, { dir: store, name: 'churn', version: '3' });
  const lookup = lookupClientFor(config);
  let stored = 0;
  try {
    for (const e of expected.values()) {
      const p = await lookup.get(e.entityId);
      if (p === null) continue;
      stored += 1;
      assert.ok(
        committed.has(`${e.entityId}@${p.version}`),
        `customer ${e.entityId}: Redis holds version ${p.version}, which no committed event carries`,
      );
    }
  } finally {
    await lookup.close();
  }
  await assertRedisMatches(config, expected);
  assertPredictionEventsMatch(events, expected);
  // run 1 was stopped by the Redis fence (not only later, by Kafka's, after writing to Redis)
  assert.match(firstOut, /a later run of this job took it over/, firstOut.slice(-3000));
  t.diagnostic(
    `takeover: run 1 exited ${firstCode} after run 2 took the job; run 2 re-emitted ${report.recovered} and scored ${report.counts.scored}; ${stored} Redis predictions, each with its committed event`,
  );
});
