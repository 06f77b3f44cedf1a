import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import avro from 'avsc';
import { predictionEvent } from '../../../src/emit/events.js';
import { PredictionEventWriter } from '../../../src/emit/prediction-writer.js';
import type { PredictionTrigger } from '../../../src/emit/types.js';
import { Random } from '../../../src/sample/random.js';
import type { ModelStamp, PredictionRecord } from '../../../src/sink/index.js';
import type { RecordRef } from '../../../src/window/index.js';

const schema = JSON.parse(readFileSync('schemas/predictions-value.avsc', 'utf8')) as avro.Schema;
const type = avro.Type.forSchema(schema);
const ID = 0x01020304;

const framed = (value: unknown): Buffer =>
  Buffer.concat([Buffer.from([0, 1, 2, 3, 4]), type.toBuffer(value)]);

const TEXTS = [
  '',
  'c000123',
  'cdc.bank.customers',
  // either side of where short ASCII strings stop being copied by a loop
  'x'.repeat(63),
  'y'.repeat(64),
  'z'.repeat(65),
  'ünïcødé ✓',
  'café',
  'ÿ',
  '客户-42',
  'a'.repeat(200),
  '🙂x',
];

function text(r: Random): string {
  return r.bernoulli(0.5) ? (TEXTS[r.int(0, TEXTS.length - 1)] as string) : `s${r.int(0, 1e9)}`;
}

/** Offsets and times across the varint widths, up to 2^52 + 1 (avsc refuses longs from 2^53 - 1 on). */
function long(r: Random): number {
  const widths = [0, 63, 64, 8191, 8192, 2 ** 30 - 1, 2 ** 30, 2 ** 31, 1.7e12, 2 ** 52 + 1];
  const n = r.bernoulli(0.3) ? (widths[r.int(0, widths.length - 1)] as number) : r.int(0, 2 ** 40);
  // negative ones too: zigzag's other half
  return r.bernoulli(0.1) ? -n : n;
}

function ref(r: Random): RecordRef {
  return { topic: text(r), partition: r.int(0, 1000), offset: String(long(r)) };
}

function prediction(r: Random, model: ModelStamp, batchId: string): PredictionRecord {
  // now and then a vector larger than a 64 KiB chunk
  const n = r.bernoulli(0.002) ? r.int(16_500, 20_000) : r.int(0, 30);
  const features = r.bernoulli(0.1) ? null : new Float32Array(n);
  if (features !== null) for (let i = 0; i < n; i++) features[i] = r.uniform(-1e6, 1e6);
  const basis: Record<string, string> = {};
  for (let i = r.int(0, 3); i > 0; i--) basis[`${text(r)}/${r.int(0, 99)}`] = String(long(r));
  const top = Array.from({ length: r.int(0, 5) }, () => ({
    feature: text(r),
    contribution: r.uniform(-5, 5),
    value: r.uniform(-1e3, 1e3),
  }));
  return {
    entityId: text(r),
    kind: r.bernoulli(0.8) ? 'upsert' : 'delete',
    score: r.bernoulli(0.1) ? null : Math.fround(r.next()),
    tier: r.bernoulli(0.2) ? null : text(r),
    features,
    asOfMs: long(r),
    scoredAtMs: long(r),
    validUntilMs: r.bernoulli(0.2) ? null : long(r),
    batchId,
    trigger: ref(r),
    basis,
    reasons: r.bernoulli(0.3)
      ? null
      : {
          method: r.bernoulli(0.5) ? 'linear' : 'substitution',
          link: r.bernoulli(0.5) ? 'logit' : 'identity',
          base: r.uniform(-3, 3),
          rest: r.uniform(-3, 3),
          top,
        },
  };
}

test("prediction writer: the same bytes as avsc's encoding of the event object, over generated predictions", () => {
  const r = new Random(20261205);
  const writer = new PredictionEventWriter(ID, type);
  const models: ModelStamp[] = [0, 1, 2].map((i) => ({
    name: text(r),
    version: String(i),
    sha256: 'ab'.repeat(32),
    trainingRunId: text(r),
    featureVersion: `${text(r)}@${i}`,
  }));
  const triggers: PredictionTrigger[] = ['INPUT', 'RESCORE', 'TIMER'];
  const all: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i < 3000; i++) {
    // batches of a few predictions share a batch id, as a window's do
    const batchId = `b${Math.floor(i / 7)}`;
    const model = models[r.int(0, models.length - 1)] as ModelStamp;
    const p = prediction(r, model, batchId);
    const inputs = Array.from({ length: r.int(0, 4) }, () => ref(r));
    const pipeline = r.bernoulli(0.9) ? 'churn' : text(r);
    const trigger = triggers[r.int(0, 2)] as PredictionTrigger;
    const version = long(r);
    const event = predictionEvent(p, version, model, inputs, pipeline, trigger);
    const got = writer.encode(p, version, model, inputs, pipeline, trigger);
    const want = framed(event);
    assert.deepEqual(got, want, `prediction ${i}`);
    all.push([got, want]);
  }
  // the events are views of shared 64 KiB chunks: the ones handed out earlier still hold their bytes after
  // every later event was written, across many chunks
  assert.ok(all.reduce((n, [got]) => n + got.length, 0) > 8 * 64 * 1024, 'several chunks written');
  all.forEach(([got, want], i) => assert.deepEqual(got, want, `prediction ${i}, read again at the end`));
});

test('prediction writer: the bytes read back, with avsc, as the prediction they were written from', () => {
  const writer = new PredictionEventWriter(7, type);
  const model: ModelStamp = {
    name: 'churn',
    version: '2',
    sha256: 'cd'.repeat(32),
    trainingRunId: 'run-9',
    featureVersion: 'churn@3',
  };
  const p: PredictionRecord = {
    entityId: 'c042',
    kind: 'upsert',
    score: Math.fround(0.25),
    tier: 'high',
    features: Float32Array.of(1.5, -2, 1e-3),
    asOfMs: 1_764_900_000_123,
    scoredAtMs: 1_764_900_000_456,
    validUntilMs: 1_764_900_900_456,
    batchId: 'churn:cdc:0:10-20',
    trigger: { topic: 'cdc', partition: 0, offset: '20' },
    basis: { 'transactions/3': '77', 'cdc/0': '20' },
    reasons: {
      method: 'linear',
      link: 'logit',
      base: -1.25,
      rest: 0.5,
      top: [{ feature: 'tenure', contribution: 0.75, value: 12 }],
    },
  };
  const bytes = writer.encode(
    p,
    4_503_599_627_370_497,
    model,
    [{ topic: 'cdc', partition: 0, offset: '20' }],
    'churn',
  );
  assert.deepEqual([...bytes.subarray(0, 5)], [0, 0, 0, 0, 7]);
  const e = type.fromBuffer(bytes.subarray(5)) as Record<string, unknown>;
  assert.equal(e['schema_version'], 4);
  assert.equal(e['event_type'], 'UPSERT');
  assert.equal(e['entity_id'], 'c042');
  assert.equal(e['score'], 0.25);
  assert.equal(e['tier'], 'high');
  assert.deepEqual(
    { ...(e['model'] as object) },
    {
      name: 'churn',
      version: '2',
      sha256: 'cd'.repeat(32),
      training_run_id: 'run-9',
    },
  );
  assert.equal(e['feature_version'], 'churn@3');
  assert.deepEqual(e['features'], [1.5, -2, Math.fround(1e-3)]);
  assert.equal(e['as_of'], 1_764_900_000_123);
  assert.equal(e['valid_until'], 1_764_900_900_456);
  assert.equal(e['version'], 4_503_599_627_370_497);
  assert.deepEqual(
    (e['inputs'] as object[]).map((x) => ({ ...x })),
    [{ topic: 'cdc', partition: 0, offset: 20 }],
  );
  assert.equal(e['batch_id'], 'churn:cdc:0:10-20');
  assert.equal(e['pipeline'], 'churn');
  assert.equal(e['trigger'], 'INPUT');
  // the basis sorted by `topic/partition`
  assert.deepEqual(
    (e['basis'] as object[]).map((x) => ({ ...x })),
    [
      { topic: 'cdc', partition: 0, offset: 20 },
      { topic: 'transactions', partition: 3, offset: 77 },
    ],
  );
  const reasons = e['reasons'] as { top: object[] } & Record<string, unknown>;
  assert.equal(reasons['base'], -1.25);
  assert.deepEqual({ ...reasons.top[0] }, { feature: 'tenure', contribution: 0.75, value: 12 });
});

test('prediction writer: refuses a schema other than the one it lays out, naming the file to update', () => {
  const changed = avro.Type.forSchema({
    ...(schema as avro.schema.RecordType),
    fields: [...(schema as avro.schema.RecordType).fields, { name: 'extra', type: 'int', default: 0 }],
  });
  assert.throws(() => new PredictionEventWriter(1, changed), /src\/emit\/prediction-writer\.ts/);
});

test('prediction writer: a long avsc would refuse is refused (fraction, NaN, infinite, unsafe), and the next event is whole', () => {
  const writer = new PredictionEventWriter(ID, type);
  const model: ModelStamp = {
    name: 'm',
    version: '1',
    sha256: 'ef'.repeat(32),
    trainingRunId: 'r',
    featureVersion: 'f@1',
  };
  const p: PredictionRecord = {
    entityId: 'c1',
    kind: 'upsert',
    score: Math.fround(0.5),
    tier: 'low',
    features: Float32Array.of(1, 2),
    asOfMs: 1_764_900_000_123,
    scoredAtMs: 1_764_900_000_456,
    validUntilMs: null,
    batchId: 'b',
    trigger: { topic: 't', partition: 0, offset: '1' },
    basis: { 't/0': '1' },
    reasons: null,
  };
  for (const bad of [1_764_900_000_123.5, 0.5, Number.NaN, Number.POSITIVE_INFINITY, -(2 ** 53), 2 ** 53 - 1])
    assert.throws(
      () => writer.encode({ ...p, asOfMs: bad }, 1, model, [], 'pipe'),
      RangeError,
      `as_of ${bad}`,
    );
  const event = predictionEvent(p, 1, model, [], 'pipe');
  assert.deepEqual(writer.encode(p, 1, model, [], 'pipe'), framed(event));
});
