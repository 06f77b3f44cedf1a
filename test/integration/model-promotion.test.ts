/**
 * Invariants of a model promotion (issue: model lifecycle):
 *  - every window of a partition before its switch point is scored by the old version and every window
 *    after it by the new one; no window mixes versions (each prediction names its window's model, and the
 *    audit names the window's model);
 *  - a promotion the running instances cannot serve (other output semantics; a file that no longer matches
 *    the recorded sha256) is refused, counted (`streamscore_model_refused`), and scoring goes on with the
 *    running version, also after that version's own files were corrupted on disk;
 *  - nothing is lost or doubled across the switches: the end state equals the oracle.
 *
 * Two instances follow the alias `champion` of a model store of the test's own (churn/2, a retrained
 * churn/3, and churn/4: churn/3 with another score meaning). Promotions are given by the CLI (`models
 * promote`, `models rollback`) and by the admin HTTP endpoint, while input keeps arriving.
 */
import { cli } from '../helpers/cli.js';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { createPlainProducer } from '../../src/adapters/kafka-produce.js';
import { encodePromotion, promotionKey } from '../../src/lifecycle/index.js';
import { generateStream } from '../../src/sample/index.js';
import { followTopic, waitCaughtUp } from '../helpers/kafka.js';
import { metric } from '../helpers/metrics.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import type { RunningPipeline } from '../helpers/process.js';
import { freePort } from '../helpers/redis-server.js';
import { createTestEnv } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { expectedPredictions } from '../helpers/oracle.js';
import type { ExpectedPrediction } from '../helpers/oracle.js';
import {
  assertPredictionEventsMatch,
  assertRedisMatches,
  decodeAudit,
  readPredictions,
} from '../helpers/verify.js';

const cliAll = async (args: string[]) => {
  const r = await cli(args);
  return { code: r.code, out: r.all };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TOKEN = 'promotion-test-token';

async function storeDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'streamscore-promotion-'));
  for (const v of ['2', '3'])
    await cp(join('models', 'churn', v), join(dir, 'churn', v), { recursive: true });
  await cp(join('models', 'churn', '3'), join(dir, 'churn', '4'), { recursive: true });
  const json4 = join(dir, 'churn', '4', 'model.json');
  const m4 = JSON.parse(await readFile(json4, 'utf8'));
  m4.version = '4';
  m4.semantics.score_meaning = 'probability of default within 90 days';
  await writeFile(json4, JSON.stringify(m4));
  return dir;
}

test('model promotion: each partition switches at a window boundary, no window mixes versions, refused versions leave the running one scoring, end state equals the oracle', async (t) => {
  const store = await storeDir();
  const env = await createTestEnv('promotion', {
    model: { dir: store, alias: 'champion', version: '2' },
    window: { maxRecords: 40, maxRecordsBehind: 40, maxBytes: 1048576, maxDelayMs: 50 },
    observe: { adminToken: TOKEN },
  });
  const config = env.config;
  const configFile = join(store, 'config.json');
  await writeFile(configFile, JSON.stringify(config));
  const stream = generateStream({ seed: 83, customers: 240, transactionsPerCustomer: 8, deleteRate: 0.1 });
  const inputs = [config.inputs.cdc[0]?.topic as string, config.inputs.events[0]?.topic as string];
  const slices = sliceProducer(env, stream, 7);
  const audits: Array<{
    batch: string;
    version: string;
    partition: string;
    first: number;
    closedAt: number;
  }> = [];
  await followTopic(env.kafka, config.outputs.audit, (m) => {
    const a = decodeAudit(m.value as Buffer);
    const r = a.inputs[0] as { topic: string; partition: number; first_offset: number };
    audits.push({
      batch: a.batch_id,
      version: a.model.version,
      partition: `${r.topic}/${r.partition}`,
      first: Number(r.first_offset),
      closedAt: Number(a.closed_at),
    });
  });
  const ports = [await freePort(), await freePort()];
  const [a, b] = ports.map((port) => spawnPipeline(env.configWith({ observe: { port } }))) as [
    RunningPipeline,
    RunningPipeline,
  ];
  const logs = () => `A:\n${a.output().slice(-3000)}\nB:\n${b.output().slice(-3000)}`;
  const until = async (what: string, ms: number, done: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + ms;
    while (!(await done())) {
      assert.ok(Date.now() < deadline, `${what}: not within ${ms} ms\n${logs()}`);
      await sleep(100);
    }
  };
  const applied = /^streamscore_model_promotions_total\{[^}]*outcome="applied"[^}]*\} (\d+)/m;
  const bothApplied = (n: number) => async () =>
    (await Promise.all(ports.map((p) => metric(p, applied)))).every((v) => v === n);
  /** Promotes, waits until both instances switched, and notes when the first window on `version` closed. */
  const latencies: string[] = [];
  const switchTo = async (version: string, n: number, give: () => Promise<void>) => {
    const at = Date.now();
    await give();
    await slices.next();
    await until(`both instances apply promotion ${n} (to ${version})`, 60000, bothApplied(n));
    await until(`a window on ${version}`, 60000, () =>
      audits.some((x) => x.version === version && x.closedAt >= at),
    );
    const first = Math.min(
      ...audits.filter((x) => x.version === version && x.closedAt >= at).map((x) => x.closedAt),
    );
    latencies.push(`${version}: ${first - at} ms`);
  };

  await slices.next();
  await until('first commits on churn/2', 90000, () => audits.length >= 3);
  assert.ok(
    audits.every((x) => x.version === '2'),
    'the alias was never promoted: model.version serves',
  );

  // 1. CLI promote → churn/3 (a retrained version with the same features)
  await switchTo('3', 1, async () => {
    const r = await cliAll([
      'models',
      'promote',
      '3',
      '--reason',
      'weekly retrain',
      '--by',
      'test',
      '--config',
      configFile,
    ]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /champion: 2 → 3/);
  });
  // 2. CLI rollback → back to churn/2
  await switchTo('2', 2, async () => {
    const r = await cliAll(['models', 'rollback', '--reason', 'AUC dropped', '--config', configFile]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /champion: 3 → 2/);
  });
  // 3. the admin endpoint → churn/3 again
  await switchTo('3', 3, async () => {
    const url = `http://127.0.0.1:${ports[0]}/admin/models/promote`;
    const body = JSON.stringify({ version: '3', reason: 'rollback reverted', by: 'http-test' });
    assert.equal((await fetch(url, { method: 'POST', body })).status, 401, 'the token is required');
    const res = await fetch(url, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { to: string }).to, '3');
  });
  const listed = await cliAll(['models', 'list', '--config', configFile]);
  assert.match(listed.out, /alias champion → 3 \(from 2/, listed.out);

  // 4. an incompatible version: the CLI refuses it; forced on the topic, both instances refuse it
  const refused = await cliAll(['models', 'promote', '4', '--reason', 'try', '--config', configFile]);
  assert.equal(refused.code, 1, refused.out);
  assert.match(refused.out, /SS_MODEL_INCOMPATIBLE[\s\S]*its score means "probability of default/);
  const forced = await cliAll([
    'models',
    'promote',
    '4',
    '--reason',
    'try',
    '--force',
    '--config',
    configFile,
  ]);
  assert.equal(forced.code, 0, forced.out);
  const refusedMetric = /^streamscore_model_refused\{?[^}\n]*\}? (\d+)/m;
  await until('both instances refuse churn/4', 30000, async () =>
    (await Promise.all(ports.map((p) => metric(p, refusedMetric)))).every((v) => v === 1),
  );
  // 5. a promotion whose file does not match the recorded sha256 (written by hand): refused too
  const producer = createPlainProducer(env.kafka);
  await producer.send(config.control.topic, [
    {
      partition: 0,
      key: promotionKey('churn', 'churn', 'champion'),
      value: encodePromotion({
        kind: 'model-promotion',
        pipeline: 'churn',
        model: 'churn',
        alias: 'champion',
        to: '2',
        sha256: 'f'.repeat(64),
        from: '4',
        by: 'hand',
        reason: 'a record nobody checked',
        at: new Date().toISOString(),
      }),
    },
  ]);
  await producer.close();
  const refusedTotal = /^streamscore_model_promotions_total\{[^}]*outcome="refused"[^}]*\} (\d+)/m;
  await until('both instances refuse the hand-written promotion', 30000, async () =>
    (await Promise.all(ports.map((p) => metric(p, refusedTotal)))).every((v) => v === 2),
  );
  // 6. the running version's own files corrupted on disk: it scores on from memory
  await writeFile(join(store, 'churn', '3', 'model.onnx'), Buffer.from('not a model'));
  const lateFrom = Date.now();
  while (!slices.done) await slices.next();
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000);
  await sleep(500);

  const late = audits.filter((x) => x.closedAt >= lateFrom);
  assert.ok(late.length > 0, 'windows after the refusals');
  assert.ok(
    late.every((x) => x.version === '3'),
    `after the refusals every window is on churn/3: ${[...new Set(late.map((x) => x.version))].join(', ')}`,
  );
  // per partition, in offset order, the versions follow the promotions: 2, 3, 2, 3 (a partition without
  // input in a phase skips it), never back and forth within a phase
  const order = ['2', '3', '2', '3'];
  const byPartition = new Map<string, typeof audits>();
  for (const x of audits) byPartition.set(x.partition, [...(byPartition.get(x.partition) ?? []), x]);
  for (const [p, xs] of byPartition) {
    const seq = xs.sort((l, r) => l.first - r.first).map((x) => x.version);
    const runs = seq.filter((v, i) => i === 0 || v !== seq[i - 1]);
    let k = 0;
    for (const v of runs) {
      while (k < order.length && order[k] !== v) k++;
      assert.ok(
        k < order.length,
        `${p}: versions ${runs.join(' → ')} do not follow the promotions 2 → 3 → 2 → 3`,
      );
      k++;
    }
  }
  // no window mixes: every prediction names its window's model
  const windowVersion = new Map(audits.map((x) => [x.batch, x.version]));
  const events = await readPredictions(env.kafka, config);
  assert.ok(events.length > 0);
  for (const e of events) {
    const v = windowVersion.get(e.batch_id);
    if (v === undefined) continue; // a stored prediction re-emitted by a retried window names its own model
    assert.equal(
      e.model.version,
      v,
      `${e.entity_id} in ${e.batch_id}: scored by ${e.model.version}, window on ${v}`,
    );
  }
  assert.doesNotMatch(a.output() + b.output(), /consumer crashed|pipeline halted/);
  const [ra, rb] = await Promise.all([stopPipeline(a), stopPipeline(b)]);
  assert.equal(ra.code, 0, logs());
  assert.equal(rb.code, 0, logs());
  t.diagnostic(`promotion latency (command → first window on the new version): ${latencies.join('; ')}`);
  // the oracle of each version, independent of the code under test; each entity is held to the version
  // its newest committed event names (an entity last scored before the final switch keeps churn/2's score)
  const [on2, on3] = await Promise.all(
    ['2', '3'].map((version) =>
      expectedPredictions(stream, { dir: join(process.cwd(), 'models'), name: 'churn', version }),
    ),
  );
  const newest = new Map<string, { version: number; model: string }>();
  for (const e of events) {
    const cur = newest.get(e.entity_id);
    if (cur === undefined || Number(e.version) > cur.version)
      newest.set(e.entity_id, { version: Number(e.version), model: e.model.version });
  }
  const expected = new Map(
    [...(on2 as Map<string, ExpectedPrediction>).keys()].map((id) => [
      id,
      ((newest.get(id)?.model === '3' ? on3 : on2) as Map<string, ExpectedPrediction>).get(
        id,
      ) as ExpectedPrediction,
    ]),
  );
  const scoredBy = [...newest.values()].reduce<Record<string, number>>(
    (m, x) => ({ ...m, [x.model]: (m[x.model] ?? 0) + 1 }),
    {},
  );
  t.diagnostic(`entities by the model of their newest event: ${JSON.stringify(scoredBy)}`);
  assertPredictionEventsMatch(await readPredictions(env.kafka, config), expected);
  await assertRedisMatches(config, expected);
});
