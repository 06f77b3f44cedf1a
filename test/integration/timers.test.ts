/**
 * Invariant: time-driven re-scoring. An entity whose aggregates change with the passage of time alone (an
 * event leaves a 7- or 30-day window) is scored again as of exactly that instant, once, with trigger TIMER:
 * Redis and the newest committed prediction event equal the oracle as of the latest window exit up to now,
 * every entity with such an exit has exactly one TIMER event (no (entity, version) twice for read_committed
 * readers), a sweep SIGKILLed after a chunk's Redis write and run again re-emits that chunk instead of
 * scoring it twice, a sweep after everything is done scores nothing, and every timer chunk has an audit
 * event that `streamscore verify` checks like a window's.
 *
 * The stream: customers whose history ended 40 days ago (every window exit has passed: all due at the first
 * sweep), and one customer whose card payments are just under 7 days old when the test starts, so its
 * payments leave the 7-day window about a minute later, while a long-running `streamscore timers` sweeps
 * every second and no new input arrives for it. The oracle is the test's own (test/helpers/oracle.ts): the
 * window exits are computed here from the model's feature spec (its windowDays), the vectors and scores by
 * the independent feature and logistic implementations.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { lookupClientFor } from '../../src/lookup/index.js';
import { generateStream } from '../../src/sample/index.js';
import type { SampleStream } from '../../src/sample/index.js';
import { cli } from '../helpers/cli.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { metric } from '../helpers/metrics.js';
import { entityInputs, expectedFromInputs } from '../helpers/oracle.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import {
  assertPredictionEventsMatch,
  assertRedisMatches,
  readPredictions,
  readPredictionsWithConsoleConsumer,
} from '../helpers/verify.js';

const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The windows (ms) of the model's aggregate features, read from its model.json. */
function windowsOf(version: string): number[] {
  const manifest = JSON.parse(readFileSync(join('models', 'churn', version, 'model.json'), 'utf8')) as {
    feature_spec: { features: Array<{ source: { aggregate?: { windowDays: number } } }> };
  };
  const days = manifest.feature_spec.features.flatMap((f) =>
    f.source.aggregate === undefined ? [] : [f.source.aggregate.windowDays],
  );
  return [...new Set(days)].map((d) => d * DAY);
}

test('timers: an entity is re-scored as of the instant an event leaves a window, once, with no new input; a SIGKILLed sweep re-emits instead of scoring twice; Redis and the committed events equal the oracle', async (t) => {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'streamscore-timers-'));
  const env = await createTestEnv('timers', {
    window: { maxRecords: 300, maxRecordsBehind: 300, maxBytes: 1048576, maxDelayMs: 50 },
    timers: { enabled: true, sweepIntervalMs: 1000, chunk: 20, scanRate: 5000, scoreRate: 5000 },
  });
  const config = env.config;
  const configFile = join(dir, 'config.json');
  await writeFile(configFile, JSON.stringify(config));

  // every event of the generated history is 40 to 80 days old
  const base = generateStream({
    seed: 83,
    customers: 120,
    transactionsPerCustomer: 5,
    deleteRate: 0.05,
    startMs: started - 80 * DAY,
  });
  // one live customer with payments: all of them just under 7 days old
  const live = entityInputs(base).filter((e) => !e.deleted && e.profile !== null && e.events.length > 0);
  const x = live[0]?.entityId as string;
  assert.ok(x, 'a live customer with payments');
  const xTime = started - 7 * DAY + 55_000;
  const stream: SampleStream = {
    ...base,
    transactions: base.transactions.map((r) =>
      r.key === x ? { ...r, value: { ...r.value, event_time: xTime } } : r,
    ),
  };
  await produceToInputs(env.kafka, config, stream);
  const pipeline = spawnPipeline(config);
  t.after(() => pipeline.child.kill('SIGKILL'));
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000).catch((err: Error) => {
    err.message += `\n${pipeline.output().slice(-4000)}`;
    throw err;
  });

  // 1. a sweep SIGKILLed right after its second chunk's Redis write
  const killed = await cli(['timers', '--once', '--config', configFile], {
    STREAMSCORE_TEST_CRASH_POINT: 'timers-after-redis-write',
    STREAMSCORE_TEST_CRASH_AFTER: '2',
  });
  assert.equal(killed.signal, 'SIGKILL', killed.all.slice(-3000));
  // 2. run again: the interrupted chunk's stored predictions are re-emitted, the rest scored
  const again = await cli(['timers', '--once', '--config', configFile]);
  assert.equal(again.code, 0, again.all.slice(-3000));
  assert.match(again.all, /re-emitted [1-9]\d* predictions an interrupted run had written/, again.all);

  // 3. the long-running sweeper, until the customer's payments have left the 7-day window
  const sweeper = spawn(process.execPath, ['bin/streamscore.js', 'timers', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let sweeperOut = '';
  sweeper.stdout.on('data', (d: Buffer) => (sweeperOut += d.toString()));
  sweeper.stderr.on('data', (d: Buffer) => (sweeperOut += d.toString()));
  const sweeperExit = new Promise<number | null>((resolve) => sweeper.once('exit', (code) => resolve(code)));
  t.after(() => sweeper.kill('SIGKILL'));
  const lookup = lookupClientFor(config);
  const exitAt = xTime + 7 * DAY;
  try {
    const deadline = exitAt + 60_000;
    for (;;) {
      const p = await lookup.get(x);
      if (p !== null && p.asOf.getTime() === exitAt) break;
      assert.ok(
        Date.now() < deadline,
        `customer ${x} re-scored as of ${new Date(exitAt).toISOString()} within a minute of it (now as of ${p?.asOf.toISOString()})\n${sweeperOut.slice(-3000)}`,
      );
      await sleep(250);
    }
  } finally {
    await lookup.close();
  }
  assert.ok(Date.now() >= exitAt, 'never before the instant itself');
  await sleep(2500); // more sweeps: nothing more is due
  // the sweeper's metrics and health
  const port = Number(/metrics and health on http:\/\/[^:\s]+:(\d+)\/metrics/.exec(sweeperOut)?.[1]);
  assert.ok(port > 0, sweeperOut.slice(-2000));
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  assert.ok((await metric(port, /^streamscore_timer_sweeps_total\{[^}]*\} (\S+)$/m)) >= 2, 'sweeps counted');
  assert.ok(
    (await metric(port, /^streamscore_timer_entities_total\{[^}]*outcome="scored"[^}]*\} (\S+)$/m)) >= 1,
    'the sweeper counted the customer it scored',
  );
  assert.ok(
    (await metric(port, /^streamscore_timer_last_sweep_end_timestamp_seconds\{[^}]*\} (\S+)$/m)) >
      started / 1000,
    'the last sweep end is exported',
  );
  sweeper.kill('SIGTERM');
  assert.equal(await sweeperExit, 0, sweeperOut.slice(-3000));

  // 4. after a restart: nothing is due, nothing scored or re-emitted
  const after = await cli(['timers', '--once', '--json', '--config', configFile]);
  assert.equal(after.code, 0, after.all.slice(-3000));
  const report = JSON.parse(after.out) as { counts: { scored: number; reemitted: number; not_due: number } };
  assert.equal(report.counts.scored, 0, after.all);
  assert.equal(report.counts.reemitted, 0, after.all);
  assert.ok(report.counts.not_due > 0, after.all);
  assert.equal((await stopPipeline(pipeline)).code, 0, pipeline.output().slice(-3000));

  // the oracle: as of the latest window exit up to now (after the entity's own clock), else unchanged
  const now = Date.now();
  const windows = windowsOf(config.model.version);
  const dueIds = new Set<string>();
  const inputs = entityInputs(stream).map((e) => {
    let asOf = e.asOfMs;
    for (const ev of e.events)
      for (const w of windows) {
        const exit = ev.eventTimeMs + w;
        if (ev.eventTimeMs <= e.asOfMs && exit > e.asOfMs && exit <= now && exit > asOf) asOf = exit;
      }
    if (asOf !== e.asOfMs && !e.deleted && e.profile !== null) dueIds.add(e.entityId);
    return { ...e, asOfMs: asOf };
  });
  assert.ok(dueIds.has(x) && dueIds.size > 50, `${dueIds.size} customers due`);
  const expected = await expectedFromInputs(inputs, {
    dir: join(process.cwd(), 'models'),
    name: config.model.name,
    version: config.model.version,
  });
  assert.equal(expected.get(x)?.asOfMs, exitAt);
  await assertRedisMatches(config, expected);
  const events = await readPredictions(env.kafka, config);
  assertPredictionEventsMatch(events, expected);
  assertPredictionEventsMatch(await readPredictionsWithConsoleConsumer(env.kafka, config), expected);
  // exactly one TIMER event per due customer, none for the others
  const timerEvents = new Map<string, number>();
  for (const e of events)
    if (e.trigger === 'TIMER') timerEvents.set(e.entity_id, (timerEvents.get(e.entity_id) ?? 0) + 1);
  for (const id of dueIds) assert.equal(timerEvents.get(id), 1, `customer ${id}: one TIMER event`);
  for (const id of timerEvents.keys()) assert.ok(dueIds.has(id), `customer ${id} was not due`);
  const xEvent = events.find((e) => e.entity_id === x && e.trigger === 'TIMER');
  assert.equal(xEvent?.as_of, exitAt);
  // every timer chunk has its audit event, and verifies like a window (scores bit for bit, Redis); with
  // --deep the state behind every prediction, TIMER ones (scored as of a later instant) included, rebuilds
  // from the input log to its recorded vector
  const timerBatches = new Set(events.filter((e) => e.trigger === 'TIMER').map((e) => e.batch_id));
  const verified = await cli(['verify', '--sample', '100000', '--deep', '--json', '--config', configFile]);
  assert.equal(verified.code, 0, verified.all.slice(-3000));
  const report2 = JSON.parse(verified.out) as {
    failed: number;
    rebuilt: number;
    no_basis: number;
    verdicts: Array<{ batchId: string; predictions: number }>;
  };
  assert.equal(report2.no_basis, 0);
  assert.equal(
    report2.rebuilt,
    report2.verdicts.reduce((n, v) => n + v.predictions, 0),
    'every prediction state rebuilt from the log',
  );
  for (const b of timerBatches)
    assert.ok(
      report2.verdicts.some((v) => v.batchId === b && v.predictions > 0),
      `timer batch ${b} is audited and verifies`,
    );
  t.diagnostic(
    `timers: ${dueIds.size} customers due, each re-scored once (one sweep SIGKILLed mid-way and resumed); customer ${x} re-scored ${((Date.now() - exitAt) / 1000).toFixed(1)} s before the end, as of its payments' 7-day exit`,
  );
});
