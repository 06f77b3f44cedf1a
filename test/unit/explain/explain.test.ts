import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import avro from 'avsc';
import { explainerFor, linearLogitOf } from '../../../src/explain/index.js';
import { topIndices } from '../../../src/explain/explain.js';
import { featureNames } from '../../../src/features/index.js';
import { loadModel } from '../../../src/models/index.js';
import { createScorer } from '../../../src/score/index.js';
import { readLogisticOnnx } from '../../helpers/oracle-score.js';

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

/** Deterministic vectors around the standardised range (mulberry32). */
function vectors(rows: number, width: number, seed = 7): Float32Array {
  let a = seed;
  const rand = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Float32Array.from({ length: rows * width }, () => (rand() - 0.5) * 4);
}

test('linear reason codes: base plus every contribution is the logit, by the oracle weights; substitution ranks the same top features', async () => {
  const model = await loadModel(join(ROOT, 'models'), 'churn', '2');
  try {
    const bytes = readFileSync(model.onnxPath);
    const oracle = readLogisticOnnx(bytes, model.manifest.input_name, model.manifest.output_name);
    const names = featureNames(model.featureSpec);
    const width = names.length;
    const rows = 200;
    const m = vectors(rows, width);
    const all = explainerFor(model, { topK: width, method: 'auto' });
    assert.equal(all?.method, 'linear', 'the committed model is a linear logit');
    const exact = all?.explain(m, rows, new Float32Array(rows)) ?? [];
    const scorer = createScorer(model);
    const scores = (await scorer.score(m, rows)).scores;
    for (let r = 0; r < rows; r++) {
      const e = exact[r];
      assert.ok(e !== undefined);
      let want = oracle.bias;
      for (let j = 0; j < width; j++) want += (oracle.weights[j] as number) * (m[r * width + j] as number);
      const sum = e.base + e.rest + e.top.reduce((s, x) => s + x.contribution, 0);
      assert.ok(Math.abs(sum - want) < 1e-9, `row ${r}: ${sum} vs the oracle's logit ${want}`);
      assert.ok(Math.abs(e.rest) < 1e-9, 'with k = width nothing is left over');
      assert.ok(Math.abs(1 / (1 + Math.exp(-sum)) - (scores[r] as number)) < 1e-5, 'σ(logit) is the score');
    }
    // top 3: the model-agnostic path against the exact one
    const k = 3;
    const lin = explainerFor(model, { topK: k, method: 'linear' });
    const sub = explainerFor(model, { topK: k, method: 'substitution' });
    assert.equal(sub?.method, 'substitution');
    const run = sub?.augment(m, rows) as { matrix: Float32Array; rows: number };
    assert.equal(
      run.rows,
      rows + rows * width + 1,
      'one substituted copy per row and feature, and the reference',
    );
    const subScores = (await scorer.score(run.matrix, run.rows)).scores;
    const a = lin?.explain(m, rows, scores) ?? [];
    const b = sub?.explain(m, rows, subScores) ?? [];
    let compared = 0;
    for (let r = 0; r < rows; r++) {
      const full = exact[r]?.top ?? [];
      // near ties (within float32 rounding of the logit) may swap places
      const gaps = full
        .slice(0, k)
        .map((x, i) => Math.abs(x.contribution) - Math.abs(full[i + 1]?.contribution ?? 0));
      if (gaps.some((g) => g < 1e-3)) continue;
      compared++;
      assert.deepEqual(
        b[r]?.top.map((x) => x.feature),
        a[r]?.top.map((x) => x.feature),
        `row ${r}: the same top features`,
      );
      for (const [i, x] of (b[r]?.top ?? []).entries())
        assert.ok(
          Math.abs(x.contribution - (a[r]?.top[i]?.contribution ?? 0)) < 1e-3,
          'same contributions on the logit scale',
        );
    }
    assert.ok(compared > rows * 0.9, `rows compared: ${compared}`);
    await scorer.close();
  } finally {
    await model.close();
  }
});

test('a graph that is not a linear logit gets no linear path', () => {
  assert.equal(linearLogitOf(new Uint8Array([1, 2, 3, 4]), 'features', 3), null);
  const bytes = readFileSync(join(ROOT, 'models/churn/2/model.onnx'));
  assert.equal(linearLogitOf(bytes, 'features', 5), null, 'another width');
  assert.equal(linearLogitOf(bytes, 'other_input', 19), null, 'another input');
});

test('a v1 reader decodes v2 prediction events (reasons are ignored)', () => {
  const v2 = avro.Type.forSchema(
    JSON.parse(readFileSync(join(ROOT, 'schemas/predictions-value.avsc'), 'utf8')),
  );
  const v1 = avro.Type.forSchema(
    JSON.parse(readFileSync(join(ROOT, 'test/fixtures/predictions-value.v1.avsc'), 'utf8')),
  );
  const event = {
    schema_version: 2,
    event_type: 'UPSERT',
    entity_id: '42',
    score: 0.7,
    tier: 'high',
    model: { name: 'churn', version: '2', sha256: 'a'.repeat(64), training_run_id: 'r' },
    feature_version: 'churn_full@2',
    features: [0.5, -1],
    as_of: 1,
    scored_at: 2,
    valid_until: 3,
    version: 4,
    inputs: [{ topic: 't', partition: 0, offset: 5 }],
    batch_id: 'b',
    pipeline: 'churn',
    reasons: {
      method: 'linear',
      link: 'logit',
      base: -1,
      rest: 0.1,
      top: [{ feature: 'age', contribution: 0.4, value: 0.5 }],
    },
  };
  const bytes = v2.toBuffer(event);
  const read = v1.fromBuffer(bytes, v1.createResolver(v2)) as Record<string, unknown>;
  assert.equal(read.entity_id, '42');
  assert.equal(read.reasons, undefined);
  assert.equal(read.score, Math.fround(0.7));
  // and the new reader reads old events: reasons default to null
  const old = v1.toBuffer({ ...event, reasons: undefined });
  assert.equal((v2.fromBuffer(old, v2.createResolver(v1)) as { reasons: unknown }).reasons, null);
});

test('top reasons: the k largest contributions by size, largest first, ties to the earlier feature', () => {
  // the definition, by sorting every index (the test's own oracle)
  const bySort = (c: Float64Array, k: number) =>
    Array.from({ length: c.length }, (_, i) => i)
      .sort((a, b) => Math.abs(c[b] as number) - Math.abs(c[a] as number) || a - b)
      .slice(0, Math.max(0, Math.min(k, c.length)));
  let x = 7;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  for (let t = 0; t < 5000; t++) {
    const width = 1 + (t % 30);
    // every third vector rounded to a few values, so ties are common
    const c = Float64Array.from({ length: width }, () => (t % 3 === 0 ? Math.round(next() * 6) : next()));
    const k = t % 7;
    assert.deepEqual(topIndices(c, k), bySort(c, k), `width ${width}, k ${k}: ${[...c].join(',')}`);
  }
});
