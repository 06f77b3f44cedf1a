/**
 * Invariant: nothing the output guard refuses is published. A deliberately broken copy of the model (NaN
 * weights: every score NaN) scores new input for customers a good model scored before: its windows commit
 * (no stall), their predictions land on the quarantine topic with the reason, none reach Redis or the
 * predictions topic, Redis keeps the last good predictions — which read as stale past their limit — and the
 * audit events carry the reason (quarantine_reason). Under guard.policy=halt the same window commits nothing and holds.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { LookupClient } from '../../src/lookup/index.js';
import type { Prediction } from '../../src/lookup/index.js';
import { generateStream } from '../../src/sample/index.js';
import type { SampleStream } from '../../src/sample/index.js';
import { logisticRegressionOnnx } from '../../scripts/train/onnx.js';
import { readTopic, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { freePort } from '../helpers/redis-server.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import { readAudits, readPredictions } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** models/churn/2 copied as version 99 with every weight NaN (same spec, width and signature). */
function brokenModelDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'broken-model-'));
  const target = join(dir, 'churn', '99');
  mkdirSync(join(dir, 'churn'), { recursive: true });
  cpSync(join('models', 'churn', '2'), target, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8')) as Record<string, unknown> & {
    feature_spec: { features: unknown[] };
  };
  const onnx = logisticRegressionOnnx({
    weights: manifest.feature_spec.features.map(() => Number.NaN),
    bias: 0,
    inputName: manifest.input_name as string,
    outputName: manifest.output_name as string,
  });
  writeFileSync(join(target, 'model.onnx'), onnx);
  manifest.version = '99';
  manifest.onnx_sha256 = createHash('sha256').update(onnx).digest('hex');
  writeFileSync(join(target, 'model.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

/** Later transactions (new ids, an hour after each customer's last one) for the first `n` customers. */
function laterTransactions(stream: SampleStream, n: number): Pick<SampleStream, 'cdc' | 'transactions'> {
  const last = new Map<string, (typeof stream.transactions)[number]>();
  for (const t of stream.transactions) {
    const seen = last.get(t.key);
    if (seen === undefined || t.value.event_time > seen.value.event_time) last.set(t.key, t);
  }
  const alive = new Set(stream.summary.finalRows.map((r) => String(r.id)));
  const picked = [...last.values()].filter((t) => alive.has(t.key)).slice(0, n);
  return {
    cdc: [],
    transactions: picked.map((t) => ({
      ...t,
      value: { ...t.value, txn_id: `${t.value.txn_id}-later`, event_time: t.value.event_time + 3_600_000 },
    })),
  };
}

test('quarantine: a broken model publishes nothing; its windows commit to the quarantine topic; Redis keeps the last good predictions, stale past their limit', async () => {
  const env = await createTestEnv('quarantine', { predictions: { validForMs: 5000 } });
  const stream = generateStream({
    seed: 33,
    customers: 40,
    transactionsPerCustomer: 4,
    partitions: 3,
    deleteRate: 0,
  });
  await produceToInputs(env.kafka, env.config, stream);
  const good = spawnPipeline(env.config);
  await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputTopics(env.config), 120000);
  assert.equal((await stopPipeline(good)).code, 0, good.output().slice(-2000));
  const lookup = new LookupClient({ url: env.config.redis.url, keyPrefix: env.config.redis.keyPrefix });
  const later = laterTransactions(stream, 10);
  const customers = [...new Set(later.transactions.map((t) => t.key))];
  const before = new Map<string, Prediction>();
  for (const id of customers) {
    const p = await lookup.get(id);
    assert.ok(p !== null && p.model.version === '2', `customer ${id} has a good prediction`);
    before.set(id, p);
  }
  const publishedBefore = (await readPredictions(env.kafka, env.config)).length;

  // the broken model scores the later transactions
  const config = env.configWith({ model: { dir: brokenModelDir(), version: '99' } });
  await produceToInputs(env.kafka, config, later);
  const broken = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000);
  assert.equal((await stopPipeline(broken)).code, 0, broken.output().slice(-2000));

  const quarantined = await readTopic(env.kafka, config.outputs.quarantine, { idleMs: 1500 });
  const held = new Set(quarantined.map((m) => String(m.key)));
  assert.deepEqual([...held].sort(), [...customers].sort(), 'each newly scored customer is quarantined');
  for (const m of quarantined) {
    const v = JSON.parse(String(m.value)) as {
      score: number | null;
      raw_score: string;
      model: { version: string };
    };
    assert.equal(v.score, null);
    assert.equal(v.raw_score, 'NaN');
    assert.equal(v.model.version, '99');
    assert.match(String(m.headers['ss.quarantine.reason']), /outside its valid range \[0, 1\]/);
  }
  assert.equal(
    (await readPredictions(env.kafka, config)).length,
    publishedBefore,
    'no prediction event of the broken model was published',
  );
  const audits = (await readAudits(env.kafka, config)).filter((a) => a.model.version === '99');
  assert.ok(audits.length > 0);
  const q = audits.filter((a) => a.quarantine_reason !== null);
  assert.ok(q.length > 0 && q.every((a) => /valid range/.test(a.quarantine_reason ?? '')));
  assert.equal(
    q.reduce((n, a) => n + a.counts.emitted, 0),
    0,
    'a quarantined window emits no prediction event',
  );
  for (const id of customers) {
    const p = await lookup.get(id);
    assert.deepEqual(
      { score: p?.score, version: p?.version, model: p?.model.version },
      { score: before.get(id)?.score, version: before.get(id)?.version, model: '2' },
      `Redis keeps customer ${id}'s last good prediction`,
    );
  }
  const validUntil = Math.max(...[...before.values()].map((p) => p.validUntil?.getTime() ?? 0));
  await sleep(Math.max(0, validUntil - Date.now() + 100));
  for (const id of customers)
    assert.equal((await lookup.get(id))?.stale, true, `customer ${id} reads as stale`);
  await lookup.close();
  assert.match(broken.output(), /window quarantined by the output guard/);
});

test('guard.policy=halt: a window the guard refuses commits nothing and holds the pipeline', async () => {
  const port = await freePort();
  const env = await createTestEnv('guard-halt', {
    model: { dir: brokenModelDir(), version: '99' },
    guard: { policy: 'halt' },
    observe: { port },
  });
  const stream = generateStream({
    seed: 34,
    customers: 20,
    transactionsPerCustomer: 3,
    partitions: 3,
    deleteRate: 0,
  });
  await produceToInputs(env.kafka, env.config, stream);
  const p = spawnPipeline(env.config);
  const deadline = Date.now() + 60000;
  let problems: string[] = [];
  while (!problems.some((x) => x.includes('SS_GUARD_FAILED') || x.includes('valid range'))) {
    assert.ok(Date.now() < deadline, `the pipeline did not hold\n${p.output().slice(-2000)}`);
    await sleep(250);
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
    problems = res?.status === 503 ? (((await res.json()) as { problems?: string[] }).problems ?? []) : [];
  }
  assert.equal((await stopPipeline(p)).code, 0, p.output().slice(-2000));
  assert.equal((await readPredictions(env.kafka, env.config)).length, 0);
  assert.equal((await readTopic(env.kafka, env.config.outputs.quarantine, { idleMs: 1000 })).length, 0);
  const admin = env.kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({
    groupId: env.config.consumer.groupId,
    topics: inputTopics(env.config),
  });
  await admin.disconnect();
  // a window without anything to score (a customer's events before its row) may commit; none that scored
  const audits = await readAudits(env.kafka, env.config);
  assert.equal(
    audits.reduce((n, a) => n + a.counts.entities_scored, 0),
    0,
    JSON.stringify(offsets),
  );
});
