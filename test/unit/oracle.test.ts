/**
 * The integration tests' oracle (test/helpers/oracle*.ts) computes vectors and scores without our feature
 * or model code. Here production is held to it, bit for bit, on generated customers and on the contract's
 * edge cases; and the oracle itself is shown to see the edges it claims to.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildVector } from '../../src/features/index.js';
import type { EventForFeatures, FeatureInput, FeatureSpec } from '../../src/features/index.js';
import { loadModel } from '../../src/models/index.js';
import type { LoadedModel } from '../../src/models/index.js';
import { generateStream } from '../../src/sample/index.js';
import { logisticRegressionOnnx } from '../../scripts/train/onnx.js';
import { entityInputs, expectedPredictions } from '../helpers/oracle.js';
import { oracleVector } from '../helpers/oracle-features.js';
import type { OracleEvent, OracleProfile } from '../helpers/oracle-features.js';
import { logit, readLogisticOnnx, sigmoidScores } from '../helpers/oracle-score.js';

const MODELS = fileURLToPath(new URL('../../../models', import.meta.url));
const DAY = 86_400_000;
const AS_OF = Date.UTC(2024, 2, 20, 12);

const toProduction = (e: OracleEvent): EventForFeatures => ({
  eventId: e.txnId,
  eventTimeMs: e.eventTimeMs,
  fields: e.fields,
});

function assertSameBits(actual: Float32Array, expected: Float32Array, spec: FeatureSpec, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: width`);
  expected.forEach((x, i) => {
    const name = spec.features[i]?.name ?? String(i);
    assert.ok(Object.is(actual[i], x), `${what}: ${name} is ${actual[i]}, the oracle says ${x}`);
  });
}

/** Production's scores of a batch, through our loader and runner (what the pipeline calls). */
async function productionScores(model: LoadedModel, vectors: readonly Float32Array[]): Promise<Float32Array> {
  const matrix = new Float32Array(vectors.length * model.width);
  vectors.forEach((v, r) => matrix.set(v, r * model.width));
  return model.runner.run(matrix, vectors.length);
}

async function oracleScores(version: string, vectors: readonly Float32Array[]): Promise<Float32Array> {
  const dir = join(MODELS, 'churn', version);
  const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    input_name: string;
    output_name: string;
  };
  const weights = readLogisticOnnx(
    await readFile(join(dir, 'model.onnx')),
    manifest.input_name,
    manifest.output_name,
  );
  return sigmoidScores(vectors.map((v) => logit(weights, v)));
}

for (const version of ['1', '2']) {
  describe(`churn/${version}: production equals the oracle`, () => {
    let model: LoadedModel;
    before(async () => {
      model = await loadModel(MODELS, 'churn', version);
    });
    after(async () => {
      await model.close();
    });

    it('on generated customers: every vector and every score, bit for bit', async () => {
      const stream = generateStream({
        seed: 23,
        customers: 80,
        transactionsPerCustomer: 15,
        partitions: 2,
        duplicateRate: 0.05,
        outOfOrderRate: 0.05,
        deleteRate: 0.1,
      });
      const expected = await expectedPredictions(stream, { dir: MODELS, name: 'churn', version });
      const live = entityInputs(stream).filter((e) => !e.deleted);
      assert.ok(live.length >= 60, `enough live customers (${live.length})`);
      const vectors = live.map((e) =>
        buildVector(model.featureSpec, {
          profile: e.profile,
          events: e.events.map(toProduction),
          asOfMs: e.asOfMs,
        }),
      );
      const scores = await productionScores(model, vectors);
      live.forEach((e, r) => {
        const exp = expected.get(e.entityId);
        assert.ok(exp?.features && exp.score !== null, `oracle has ${e.entityId}`);
        assertSameBits(vectors[r] as Float32Array, exp.features, model.featureSpec, `customer ${e.entityId}`);
        assert.ok(Object.is(scores[r], exp.score), `customer ${e.entityId}: ${scores[r]} vs ${exp.score}`);
      });
    });
  });
}

describe("churn/2: production equals the oracle on the contract's edge cases", () => {
  const ev = (txnId: string, ageMs: number, amount: unknown, declined: unknown = false): OracleEvent => ({
    txnId,
    eventTimeMs: AS_OF - ageMs,
    fields: { amount, declined },
  });
  // Out of time order on purpose; amounts with binary fractions so the summation order matters.
  const EVENTS: OracleEvent[] = [
    ev('at-asof', 0, 0.1),
    ev('future', -1, 5000, true),
    ev('edge-7d', 7 * DAY, 100.7, true),
    ev('inside-7d', 7 * DAY - 1, 0.2, true),
    ev('dup', 2 * DAY, 0.3, true),
    ev('dup', 2 * DAY, 0.3, true),
    ev('no-amount', DAY, null),
    ev('text-amount', DAY, '12.5', 'true'),
    ev('nan-amount', 3 * DAY, Number.NaN, 1),
    ev('inf-amount', 3 * DAY, Infinity),
    ev('refund', 4 * DAY, -40.05),
    ev('edge-30d', 30 * DAY, 1e6, true),
    ev('inside-30d', 30 * DAY - 1, 1234.56, true),
    ev('same-time-b', 5 * DAY, 0.7),
    ev('same-time-a', 5 * DAY, 1e-3),
  ];
  const PROFILES: OracleProfile[] = [
    null,
    {},
    { tenure_months: null, age: null, balance: null, region: null, segment: null },
    { tenure_months: Number.NaN, age: Infinity, products_held: -Infinity, balance: '100', region: 7 },
    { tenure_months: -3, age: 17, products_held: 0, balance: -9_999_999_999.99, credit_limit: -1 },
    { tenure_months: 1e9, age: 101, products_held: 11, balance: 9_999_999_999.99, utilisation: 9 },
    { tenure_months: 0, age: 18, balance: 0, credit_limit: 0, utilisation: 0, region: 'north' },
    { tenure_months: 37, age: 44.5, balance: 1234.56, utilisation: 0.4321, region: 'West', segment: 'mass' },
    { region: 'south', segment: 'private', products_held: 3, credit_limit: 25_000 },
  ];

  it('missing, non-numeric and out-of-range fields; window edges; duplicates; events after as-of', async () => {
    const model = await loadModel(MODELS, 'churn', '2');
    try {
      const cases: { profile: OracleProfile; events: OracleEvent[] }[] = [
        ...PROFILES.map((profile) => ({ profile, events: EVENTS })),
        ...PROFILES.map((profile) => ({ profile, events: [...EVENTS].reverse() })),
        { profile: PROFILES[7] ?? null, events: [] },
        { profile: PROFILES[8] ?? null, events: EVENTS.slice(0, 4) },
      ];
      const spec = model.featureSpec;
      const oracle = cases.map((c) => oracleVector(spec, c.profile, c.events, AS_OF));
      const production = cases.map((c) =>
        buildVector(spec, { profile: c.profile, events: c.events.map(toProduction), asOfMs: AS_OF }),
      );
      production.forEach((v, i) => assertSameBits(v, oracle[i] as Float32Array, spec, `case ${i}`));
      const want = await oracleScores('2', oracle);
      const got = await productionScores(model, production);
      want.forEach((s, i) => assert.ok(Object.is(got[i], s), `case ${i}: score ${got[i]} vs ${s}`));
    } finally {
      await model.close();
    }
  });
});

describe('the oracle itself', () => {
  const spec: FeatureSpec = {
    name: 'edges',
    version: '1',
    features: [
      { name: 'n7', source: { aggregate: { fn: 'count', windowDays: 7 } }, transforms: [] },
      { name: 's7', source: { aggregate: { fn: 'sum', field: 'amount', windowDays: 7 } }, transforms: [] },
      {
        name: 'd7',
        source: { aggregate: { fn: 'count_true', field: 'declined', windowDays: 7 } },
        transforms: [],
      },
      {
        name: 'age',
        source: { field: 'age' },
        transforms: [
          { op: 'default', value: 40 },
          { op: 'clip', min: 18, max: 90 },
          { op: 'standardise', mean: 40, std: 10 },
        ],
      },
    ],
  };
  const at = (txnId: string, eventTimeMs: number, amount = 1, declined = true): OracleEvent => ({
    txnId,
    eventTimeMs,
    fields: { amount, declined },
  });
  const input = (profile: OracleProfile, events: OracleEvent[], asOfMs = AS_OF): FeatureInput => ({
    profile,
    events: events.map(toProduction),
    asOfMs,
  });

  it('windows are (asOf - windowDays, asOf]: an event windowDays old is out, 1 ms younger is in', () => {
    const v = (t: number) => [...oracleVector(spec, null, [at('x', t)], AS_OF).slice(0, 3)];
    assert.deepEqual(v(AS_OF - 7 * DAY), [0, 0, 0]);
    assert.deepEqual(v(AS_OF - 7 * DAY + 1), [1, 1, 1]);
    assert.deepEqual(v(AS_OF), [1, 1, 1]);
    assert.deepEqual(v(AS_OF + 1), [0, 0, 0]);
  });

  it('a txn_id counts once; defaults, clips and standardises a profile field', () => {
    const events = [at('a', AS_OF - 1, 2.5), at('a', AS_OF - 1, 2.5), at('b', AS_OF - 2, 1, false)];
    assert.deepEqual([...oracleVector(spec, { age: 'old' }, events, AS_OF)], [2, 3.5, 1, 0]);
    assert.deepEqual([...oracleVector(spec, { age: 95 }, [], AS_OF)], [0, 0, 0, 5]);
    // and production agrees on the same inputs
    assert.deepEqual(buildVector(spec, input({ age: 'old' }, events)), Float32Array.from([2, 3.5, 1, 0]));
  });

  it('reads back exactly the weights and bias the exporter wrote, and refuses any other graph', () => {
    const weights = [0.1, -2.5, 3e-8, 1 / 3];
    const bytes = logisticRegressionOnnx({ weights, bias: -0.7, inputName: 'in', outputName: 'out' });
    const read = readLogisticOnnx(bytes, 'in', 'out');
    assert.deepEqual(read.weights, Float32Array.from(weights));
    assert.equal(read.bias, Math.fround(-0.7));
    assert.throws(() => readLogisticOnnx(bytes, 'features', 'out'), /not the documented logistic graph/);
    assert.throws(() => readLogisticOnnx(bytes, 'in', 'score'), /not the documented logistic graph/);
  });

  it("the runtime's Sigmoid stays within the bound of the float64 sigmoid, and is not it bit for bit", async () => {
    const logits = Array.from({ length: 4001 }, (_, i) => Math.fround(-20 + i / 100));
    const scores = await sigmoidScores(logits); // throws past the bound
    const exactF32 = logits.filter((x, i) => scores[i] === Math.fround(1 / (1 + Math.exp(-x)))).length;
    // Why the oracle uses the runtime's kernel instead of Math.exp (see oracle-score.ts).
    assert.ok(exactF32 < logits.length, `${exactF32} of ${logits.length} equal`);
  });
});
