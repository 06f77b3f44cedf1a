import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { StreamscoreError } from '../../../src/errors/index.js';
import { buildMatrix } from '../../../src/features/index.js';
import type { LoadedModel, ModelRunner } from '../../../src/models/index.js';
import { createScorer, openScorer, requireValidScores, tierFor } from '../../../src/score/index.js';
import type { Scorer } from '../../../src/score/index.js';
import { generateCustomers } from '../../../scripts/train/synthetic.js';

const MODELS = fileURLToPath(new URL('../../../../models', import.meta.url));
const THRESHOLDS = [
  { tier: 'low', min: 0 },
  { tier: 'medium', min: 0.3 },
  { tier: 'high', min: 0.6 },
];

describe('tierFor', () => {
  it('puts a score in the tier whose min it reaches, boundaries inclusive', () => {
    assert.equal(tierFor(THRESHOLDS, 0), 'low');
    assert.equal(tierFor(THRESHOLDS, Math.fround(0.29999)), 'low');
    assert.equal(tierFor(THRESHOLDS, 0.3), 'medium');
    assert.equal(tierFor(THRESHOLDS, 0.5999), 'medium');
    assert.equal(tierFor(THRESHOLDS, 0.6), 'high');
    assert.equal(tierFor(THRESHOLDS, 1), 'high');
  });

  it('throws for NaN and for a score below every tier', () => {
    assert.throws(() => tierFor(THRESHOLDS, Number.NaN), RangeError);
    assert.throws(() => tierFor(THRESHOLDS, -0.1), RangeError);
  });
});

/** A LoadedModel around a scripted runner, to drive the scorer's own checks. */
function fakeModel(output: (rows: number) => number[]): { model: LoadedModel; calls: number[] } {
  const calls: number[] = [];
  const runner: ModelRunner = {
    run: async (_m, rows) => {
      calls.push(rows);
      return Float32Array.from(output(rows));
    },
    release: async () => undefined,
  };
  const model = {
    manifest: { name: 'fake', version: '1', thresholds: THRESHOLDS, semantics: { valid_range: [0, 1] } },
    featureSpec: { name: 'fake', version: '1', features: [] },
    width: 2,
    sha256: '0'.repeat(64),
    runner,
    close: () => runner.release(),
  } as unknown as LoadedModel;
  return { model, calls };
}

describe('Scorer checks', () => {
  it('makes exactly one runner call per batch and tiers every score', async () => {
    const { model, calls } = fakeModel((rows) => Array.from({ length: rows }, (_, i) => i / 4));
    const batch = await createScorer(model).score(new Float32Array(8), 4);
    assert.deepEqual(calls, [4]);
    assert.deepEqual(batch.tiers, ['low', 'low', 'medium', 'high']);
  });

  it('reports invalid scores without tiering them; requireValidScores fails the whole batch, naming the row', async () => {
    const { model } = fakeModel(() => [0.1, Number.NaN, 0.2]);
    const scorer = createScorer(model);
    const batch = await scorer.score(new Float32Array(6), 3);
    assert.deepEqual(batch.tiers, ['low', null, 'low']);
    assert.deepEqual(batch.invalid, { count: 1, firstRow: 1, firstValue: Number.NaN });
    assert.throws(
      () => requireValidScores(batch, scorer.model),
      (err: unknown) => {
        assert.ok(err instanceof StreamscoreError);
        assert.equal(err.code, 'SS_SCORE_FAILED');
        assert.match(err.message, /1 of 3 scores outside its valid range \[0, 1\] \(first: row 1 = NaN\)/);
        return true;
      },
    );
  });

  it('a score outside the valid range is invalid too', async () => {
    const { model } = fakeModel(() => [0.1, 1.5]);
    const scorer = createScorer(model);
    const batch = await scorer.score(new Float32Array(4), 2);
    assert.equal(batch.invalid?.count, 1);
    assert.throws(() => requireValidScores(batch, scorer.model), { code: 'SS_SCORE_FAILED' });
  });

  it('does not call the runner for an empty batch', async () => {
    const { model, calls } = fakeModel(() => []);
    const batch = await createScorer(model).score(new Float32Array(0), 0);
    assert.equal(batch.scores.length, 0);
    assert.deepEqual(calls, []);
  });
});

describe('the shipped churn model (models/churn/2)', () => {
  const AS_OF = Date.UTC(2025, 5, 1);
  let scorer: Scorer;
  let matrix: Float32Array;
  const rows = 600;
  before(async () => {
    scorer = await openScorer({ dir: MODELS, name: 'churn', version: '2' });
    const inputs = [...generateCustomers(7, rows, AS_OF)].map((c) => ({
      profile: c.profile,
      events: c.events,
      asOfMs: AS_OF,
    }));
    matrix = buildMatrix(scorer.model.featureSpec, inputs);
  });
  after(async () => {
    await scorer.close();
  });

  it('scores a row to the same bits alone as inside a batch of any size', async () => {
    const width = scorer.model.width;
    const oneByOne = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      oneByOne.set((await scorer.score(matrix.slice(r * width, (r + 1) * width), 1)).scores, r);
    }
    for (const size of [7, 500, rows]) {
      const batched = new Float32Array(rows);
      for (let start = 0; start < rows; start += size) {
        const n = Math.min(size, rows - start);
        batched.set((await scorer.score(matrix.slice(start * width, (start + n) * width), n)).scores, start);
      }
      // Compare bit patterns: equal floats are not enough evidence (and NaN would never be equal).
      assert.deepEqual(
        new Uint32Array(batched.buffer),
        new Uint32Array(oneByOne.buffer),
        `batch size ${size}`,
      );
    }
  });

  it('gives probabilities with every tier represented on realistic customers', async () => {
    const { scores, tiers } = await scorer.score(matrix, rows);
    assert.ok(scores.every((s) => s > 0 && s < 1));
    assert.deepEqual(new Set(tiers), new Set(['low', 'medium', 'high']));
  });
});
