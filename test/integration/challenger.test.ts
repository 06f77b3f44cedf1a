/**
 * Invariants of champion/challenger shadow scoring (model.challenger):
 *  - the shadow topic holds one event per champion prediction, with the same entity and version, named
 *    after the challenger; the challenger never reaches the predictions topic or Redis;
 *  - the champion's outputs are those of a run without a challenger: the same input in a second test env
 *    gives, entity by entity, the same newest prediction event (type, score, tier, vector, as_of, model)
 *    and the same Redis prediction (left out: wall-clock times, versions from the Redis clock, lineage,
 *    and the events between, whose windows depend on fetch timing in any two runs);
 *  - the reconciliation the audit carries and `models compare` reports agrees with one computed here from
 *    the two topics.
 */
import { cli } from '../helpers/cli.js';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import avro from 'avsc';
import { readFileSync } from 'node:fs';
import type { Config } from '../../src/config/index.js';
import type { PredictionEventV1 } from '../../src/emit/index.js';
import { LookupClient } from '../../src/lookup/index.js';
import { generateStream } from '../../src/sample/index.js';
import { readTopic, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import type { TestEnv } from '../helpers/services.js';
import { readAudits, readPredictions } from '../helpers/verify.js';

const cliAll = async (args: string[]) => {
  const r = await cli(args);
  return { code: r.code, out: r.all };
};

const predictionType = avro.Type.forSchema(
  JSON.parse(readFileSync('schemas/predictions-value.avsc', 'utf8')) as avro.Schema,
);

const stream = generateStream({ seed: 89, customers: 200, transactionsPerCustomer: 8, deleteRate: 0.1 });

async function runOnce(env: TestEnv): Promise<void> {
  await produceToInputs(env.kafka, env.config, stream);
  const p = spawnPipeline(env.config);
  await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputTopics(env.config), 120000);
  const r = await stopPipeline(p);
  assert.equal(r.code, 0, p.output().slice(-3000));
}

/** An event without what differs between two runs by construction. */
const comparable = (e: PredictionEventV1) => ({
  type: e.event_type,
  score: e.score,
  tier: e.tier,
  features: e.features,
  as_of: e.as_of,
  model: e.model,
  feature_version: e.feature_version,
});

/** Each entity's newest event (what windows a run cut its input into depends on fetch timing, so the
 * events in between differ from run to run; the newest one does not). */
function newestByEntity(events: readonly PredictionEventV1[]): Map<string, unknown> {
  const out = new Map<string, PredictionEventV1>();
  for (const e of events) {
    const cur = out.get(e.entity_id);
    if (cur === undefined || Number(e.version) > Number(cur.version)) out.set(e.entity_id, e);
  }
  return new Map([...out].map(([k, e]) => [k, comparable(e)]));
}

async function redisView(config: Readonly<Config>, ids: readonly string[]): Promise<Map<string, unknown>> {
  const lookup = new LookupClient({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    pipeline: config.pipeline.name,
  });
  try {
    const out = new Map<string, unknown>();
    for (const id of ids) {
      const p = await lookup.get(id);
      out.set(
        id,
        p === null
          ? null
          : {
              score: p.score,
              tier: p.tier,
              features: [...p.features],
              asOf: p.asOf.getTime(),
              model: p.model,
            },
      );
    }
    return out;
  } finally {
    await lookup.close();
  }
}

test('challenger: one shadow event per champion prediction (same entity and version); the champion outputs equal a run without a challenger; the reconciliation agrees with the topics', async (t) => {
  const plain = await createTestEnv('champion-only');
  const shadowed = await createTestEnv('challenger', { model: { challenger: '3' } });
  await runOnce(plain);
  await runOnce(shadowed);

  const champion = await readPredictions(shadowed.kafka, shadowed.config);
  const shadowMsgs = await readTopic(shadowed.kafka, shadowed.config.outputs.shadow);
  const shadow = shadowMsgs.map((m) => {
    assert.equal(m.value?.readUInt8(0), 0, 'Confluent wire format');
    const e = predictionType.fromBuffer((m.value as Buffer).subarray(5)) as PredictionEventV1;
    assert.equal(m.key?.toString(), e.entity_id);
    return e;
  });
  assert.ok(champion.length > 100, `champion events: ${champion.length}`);
  const key = (e: PredictionEventV1) => `${e.entity_id}@${e.version}`;
  assert.deepEqual(
    shadow.map(key).sort(),
    champion.map(key).sort(),
    'one shadow event per champion prediction',
  );
  assert.ok(
    shadow.every((e) => e.model.version === '3'),
    'shadow events name the challenger',
  );
  assert.ok(
    champion.every((e) => e.model.version === '2'),
    'no challenger score on the predictions topic',
  );

  // the champion's outputs are the run without a challenger's
  const reference = await readPredictions(plain.kafka, plain.config);
  assert.deepEqual(
    newestByEntity(champion),
    newestByEntity(reference),
    "each entity's newest prediction event",
  );
  const ids = [...new Set(stream.cdc.map((r) => String(r.key.id)))];
  const [withShadow, without] = await Promise.all([
    redisView(shadowed.config, ids),
    redisView(plain.config, ids),
  ]);
  assert.deepEqual(withShadow, without, 'Redis predictions');
  assert.ok(
    [...withShadow.values()].every(
      (p) => p === null || (p as { model: { version: string } }).model.version === '2',
    ),
  );

  // reconciliation: computed here from the two topics, against the audit and `models compare`
  const shadowOf = new Map(shadow.map((e) => [key(e), e]));
  let n = 0;
  let diff = 0;
  let sameTier = 0;
  for (const e of champion) {
    const s = shadowOf.get(key(e)) as PredictionEventV1;
    if (e.score === null || s.score === null) continue;
    n++;
    diff += Math.abs(s.score - e.score);
    if (s.tier === e.tier) sameTier++;
  }
  const audits = await readAudits(shadowed.kafka, shadowed.config);
  const auditRows = audits.reduce((m, a) => m + (a.challenger?.window.rows ?? 0), 0);
  assert.equal(auditRows, n, 'the audits reconcile every scored entity once');
  const dir = mkdtempSync(join(tmpdir(), 'challenger-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(shadowed.config));
  // the result on stdout (a script parses it), the progress of reading the audit topic on stderr
  const report = await cli(['models', 'compare', '--json', '--config', configFile]);
  assert.equal(report.code, 0, report.all);
  assert.match(report.err, /reading .*audit.*: [\d,]+ \/ [\d,]+ offsets \(100\.0%\)/, 'progress on stderr');
  const [row] = JSON.parse(report.out) as Array<{
    champion: string;
    challenger: string;
    rows: number;
    meanAbsDiff: number;
    tierAgreement: number;
  }>;
  assert.equal(row?.champion, '2');
  assert.equal(row?.challenger, '3');
  assert.equal(row?.rows, n);
  assert.ok(
    Math.abs((row?.meanAbsDiff ?? -1) - diff / n) < 1e-9,
    `mean |diff| ${row?.meanAbsDiff} vs ${diff / n}`,
  );
  assert.ok(
    Math.abs((row?.tierAgreement ?? -1) - sameTier / n) < 1e-9,
    `tier agreement ${row?.tierAgreement} vs ${sameTier / n}`,
  );
  const text = await cliAll(['models', 'compare', '--config', configFile]);
  assert.match(text.out, /champion 2 vs challenger 3: \d+ windows/);
  t.diagnostic(text.out.trim());
});
