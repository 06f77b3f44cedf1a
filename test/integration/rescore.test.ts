/**
 * Invariant: after a promotion, `streamscore rescore` leaves every live entity scored by the new champion —
 * in Redis and as the newest committed prediction event — with no (entity, version) twice for read_committed
 * readers (kafkajs and Kafka's own console consumer), also when the job is SIGKILLed after a chunk's Redis
 * write, and again after its events were sent but before the commit, and then run again; and while the live
 * pipeline keeps scoring input.
 *
 * The oracle is the test's own: the final feature values of every customer computed from the generated
 * stream and scored with the new model's weights read from its ONNX file (test/helpers/oracle.ts); the
 * expected end state does not depend on which entities the job or the live stream reached first.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { generateStream } from '../../src/sample/index.js';
import { cli } from '../helpers/cli.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { expectedPredictions } from '../helpers/oracle.js';
import { metric } from '../helpers/metrics.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { freePort } from '../helpers/redis-server.js';
import { createTestEnv, inputTopics } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import {
  assertPredictionEventsMatch,
  assertRedisMatches,
  readPredictions,
  readPredictionsWithConsoleConsumer,
} from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `streamscore rescore` and, once it says it is scanning (an interrupted chunk settled), starts
 * `feed`, so live input and the job's writes overlap.
 */
function rescoreFeeding(
  args: readonly string[],
  feed: () => Promise<void>,
): Promise<{ code: number | null; out: string; all: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/streamscore.js', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let all = '';
    let feeding: Promise<void> | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      all += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      all += d.toString();
      if (feeding === undefined && /; scanning/.test(all)) feeding = feed();
    });
    child.once('exit', (code) => {
      (feeding ?? Promise.resolve()).then(() => resolve({ code, out, all }), reject);
    });
  });
}

test('rescore after a promotion: every live entity scored by the new champion, no duplicate event for read_committed readers, across SIGKILLs after the Redis write and after the events were sent (before the commit), with the live stream running', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'streamscore-rescore-'));
  for (const v of ['2', '3'])
    await cp(join('models', 'churn', v), join(store, 'churn', v), { recursive: true });
  const port = await freePort();
  const env = await createTestEnv('rescore', {
    model: { dir: store, alias: 'champion', version: '2' },
    window: { maxRecords: 200, maxRecordsBehind: 200, maxBytes: 1048576, maxDelayMs: 50 },
    observe: { port },
  });
  const config = env.config;
  const configFile = join(store, 'config.json');
  await writeFile(configFile, JSON.stringify(config));
  const stream = generateStream({ seed: 97, customers: 700, transactionsPerCustomer: 6, deleteRate: 0.08 });
  const slices = sliceProducer(env, stream, 4);
  const a = spawnPipeline(config);
  for (let k = 0; k < 3; k++) await slices.next();
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000);

  const promoted = await cli(['models', 'promote', '3', '--reason', 'retrained', '--config', configFile]);
  assert.equal(promoted.code, 0, promoted.all);
  const applied = /^streamscore_model_promotions_total\{[^}]*outcome="applied"[^}]*\} (\d+)/m;
  const deadline = Date.now() + 60000;
  while ((await metric(port, applied)) !== 1) {
    assert.ok(Date.now() < deadline, `the pipeline applies the promotion\n${a.output().slice(-3000)}`);
    await sleep(200);
  }

  // 1. killed between the third chunk's Redis write and its commit
  const killed = await cli(['rescore', '--config', configFile, '--chunk', '50', '--rate', '0'], {
    STREAMSCORE_TEST_CRASH_POINT: 'rescore-after-redis-write',
    STREAMSCORE_TEST_CRASH_AFTER: '3',
  });
  assert.equal(killed.signal, 'SIGKILL', killed.all);
  // 2. run again and killed after its next chunk's events were sent, before the commit (the first commit
  // is the killed run's chunk, settled)
  const killedAgain = await cli(['rescore', '--config', configFile, '--chunk', '50', '--rate', '0'], {
    STREAMSCORE_TEST_CRASH_POINT: 'rescore-before-commit',
    STREAMSCORE_TEST_CRASH_AFTER: '2',
  });
  assert.equal(killedAgain.signal, 'SIGKILL', killedAgain.all);
  assert.match(killedAgain.all, /re-emitted \d+ predictions an interrupted run had written; scanning/);

  // 3. run again: it re-emits what the killed run wrote, then scans while the rest of the input arrives
  const resumed = await rescoreFeeding(
    ['rescore', '--config', configFile, '--chunk', '50', '--rate', '2000', '--json'],
    () => slices.next(),
  );
  assert.equal(resumed.code, 0, resumed.all);
  const report = JSON.parse(resumed.out) as {
    recovered: number;
    counts: { scored: number; reemitted: number; current: number; refused: number; conflicts: number };
    chunks: number;
    elapsedMs: number;
    model: { version: string };
  };
  assert.equal(report.model.version, '3');
  assert.match(resumed.all, /re-emitted \d+ predictions an interrupted run had written; scanning/);
  assert.ok(report.recovered > 0, `the killed run's written chunk is re-emitted: ${resumed.out}`);
  assert.ok(report.counts.scored > 0, resumed.out);
  assert.equal(report.counts.refused, 0);
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000);

  // 4. once more: nothing left to do
  const again = await cli(['rescore', '--config', configFile, '--json']);
  assert.equal(again.code, 0, again.all);
  const second = JSON.parse(again.out) as { counts: { scored: number; reemitted: number } };
  assert.deepEqual([second.counts.scored, second.counts.reemitted], [0, 0], again.out);

  const r = await stopPipeline(a);
  assert.equal(r.code, 0, a.output().slice(-3000));
  const expected = await expectedPredictions(stream, { dir: store, name: 'churn', version: '3' });
  await assertRedisMatches(config, expected);
  const events = await readPredictions(env.kafka, config);
  assertPredictionEventsMatch(events, expected);
  assertPredictionEventsMatch(await readPredictionsWithConsoleConsumer(env.kafka, config), expected);
  const rescored = events.filter((e) => e.trigger === 'RESCORE');
  assert.ok(
    rescored.every((e) => e.model.version === '3' && e.batch_id.startsWith('rescore-')),
    'rescore events name the new model and their job',
  );
  const live = [...expected.values()].filter((e) => !e.deleted).length;
  t.diagnostic(
    `rescore: ${live} live entities; the resumed run re-emitted ${report.recovered} predictions of the killed run's chunk, scored ${report.counts.scored} (${report.counts.current} already current, ${report.counts.conflicts} write conflicts with the live stream) in ${report.chunks} chunks, ${(report.elapsedMs / 1000).toFixed(1)} s; ${rescored.length} RESCORE events in all`,
  );
});
