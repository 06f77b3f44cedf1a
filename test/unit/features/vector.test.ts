import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildMatrix,
  buildVector,
  DAY_MS,
  featureNames,
  lastWindowExit,
  parseFeatureSpec,
  rawAggregates,
} from '../../../src/features/index.js';
import type { EventForFeatures, FeatureSpec } from '../../../src/features/index.js';

const AS_OF = Date.UTC(2025, 5, 1);

const spec: FeatureSpec = parseFeatureSpec({
  name: 'golden',
  version: '1',
  features: [
    {
      name: 'age',
      source: { field: 'age' },
      transforms: [
        { op: 'default', value: 40 },
        { op: 'clip', min: 18, max: 90 },
        { op: 'standardise', mean: 40, std: 10 },
      ],
    },
    {
      name: 'balance',
      source: { field: 'balance' },
      transforms: [{ op: 'default', value: 0 }, { op: 'clip', min: 0, max: 1e6 }, { op: 'log1p' }],
    },
    { name: 'region_north', source: { field: 'region' }, transforms: [{ op: 'one_hot', category: 'north' }] },
    { name: 'region_south', source: { field: 'region' }, transforms: [{ op: 'one_hot', category: 'south' }] },
    { name: 'txn_count_7d', source: { aggregate: { fn: 'count', windowDays: 7 } } },
    { name: 'txn_amount_7d', source: { aggregate: { fn: 'sum', field: 'amount', windowDays: 7 } } },
    { name: 'txn_amount_30d', source: { aggregate: { fn: 'sum', field: 'amount', windowDays: 30 } } },
    { name: 'declines_30d', source: { aggregate: { fn: 'count_true', field: 'declined', windowDays: 30 } } },
  ],
});

const ev = (eventId: string, eventTimeMs: number, amount: unknown, declined = false): EventForFeatures => ({
  eventId,
  eventTimeMs,
  fields: { amount, declined },
});

const EVENTS: EventForFeatures[] = [
  ev('t-at-asof', AS_OF, 10.25), // exactly at as-of: inside both windows
  ev('t-1d', AS_OF - DAY_MS, 5.5, true),
  ev('t-1d', AS_OF - DAY_MS, 5.5, true), // redelivered: counts once
  ev('t-edge-7d', AS_OF - 7 * DAY_MS, 100), // exactly 7 days old: out of the 7d window, in the 30d one
  ev('t-10d', AS_OF - 10 * DAY_MS, 20, true),
  ev('t-no-amount', AS_OF - 2 * DAY_MS, null), // counted, adds nothing to sums
  ev('t-edge-30d', AS_OF - 30 * DAY_MS, 1000, true), // exactly 30 days old: out of every window
  ev('t-future', AS_OF + 1, 5000, true), // after as-of: must never be seen
];

describe('buildVector', () => {
  it('computes the golden vector, excluding the future event and events exactly at a window edge', () => {
    const v = buildVector(spec, {
      profile: { age: 55, balance: 1234.5, region: 'south' },
      events: EVENTS,
      asOfMs: AS_OF,
    });
    const expected = Float32Array.from([
      (55 - 40) / 10,
      Math.log1p(1234.5),
      0,
      1,
      3, // at-asof, 1d, no-amount
      10.25 + 5.5, // sums in (time, id) order: t-1d (5.5) then t-at-asof (10.25)
      20 + 100 + 5.5 + 10.25,
      2, // t-10d, t-1d
    ]);
    assert.deepEqual(v, expected);
  });

  it('uses defaults for a null, missing, NaN or non-numeric field and 0 for every one-hot column', () => {
    const expected = Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0]);
    for (const profile of [
      null,
      {},
      { age: null, balance: Number.NaN, region: null },
      { age: '55', balance: Infinity },
    ]) {
      assert.deepEqual(buildVector(spec, { profile, events: [], asOfMs: AS_OF }), expected);
    }
  });

  it('clips before standardising', () => {
    const v = buildVector(spec, { profile: { age: 120, balance: -50 }, events: [], asOfMs: AS_OF });
    assert.equal(v[0], Math.fround((90 - 40) / 10));
    assert.equal(v[1], 0);
  });

  it('gives the same bits whatever order the events arrive in', () => {
    const input = { profile: { age: 30 }, asOfMs: AS_OF };
    const a = buildVector(spec, { ...input, events: EVENTS });
    const b = buildVector(spec, { ...input, events: [...EVENTS].reverse() });
    // Already in time order: takes the no-sort path.
    const c = buildVector(spec, {
      ...input,
      events: [...EVENTS].sort((x, y) => x.eventTimeMs - y.eventTimeMs),
    });
    assert.deepEqual(new Uint32Array(a.buffer), new Uint32Array(b.buffer));
    assert.deepEqual(new Uint32Array(a.buffer), new Uint32Array(c.buffer));
  });

  it('moves events into and out of windows as the as-of time moves', () => {
    const later = buildVector(spec, { profile: null, events: EVENTS, asOfMs: AS_OF + 1 });
    assert.equal(later[4], 4); // t-future now counts
    assert.equal(later[5], Math.fround(5000 + 10.25 + 5.5));
  });

  it('rejects a non-finite as-of time as a programming error', () => {
    assert.throws(() => buildVector(spec, { profile: null, events: [], asOfMs: Number.NaN }), RangeError);
  });

  it('validates a spec that did not come from parseFeatureSpec', () => {
    const literal = {
      name: 'x',
      version: '1',
      features: [{ name: 'a', source: { field: 'a' }, transforms: [] }],
    };
    assert.throws(
      () => buildVector(literal, { profile: null, events: [], asOfMs: AS_OF }),
      (err: { code?: string }) => err.code === 'SS_FEATURE_SPEC_INVALID',
    );
  });
});

describe('buildMatrix', () => {
  it('writes row r as buildVector of input r, row-major', () => {
    const inputs = [
      { profile: { age: 20, region: 'north' }, events: EVENTS, asOfMs: AS_OF },
      { profile: null, events: [], asOfMs: AS_OF },
      { profile: { balance: 99 }, events: EVENTS.slice(3), asOfMs: AS_OF - DAY_MS },
    ];
    const m = buildMatrix(spec, inputs);
    assert.equal(m.length, inputs.length * spec.features.length);
    inputs.forEach((input, r) => {
      const width = spec.features.length;
      assert.deepEqual(m.subarray(r * width, (r + 1) * width), buildVector(spec, input));
    });
  });
});

describe('rawAggregates and featureNames', () => {
  it('reports the untransformed aggregates by feature name', () => {
    assert.deepEqual(rawAggregates(spec, EVENTS, AS_OF), {
      txn_count_7d: 3,
      txn_amount_7d: 15.75,
      txn_amount_30d: 135.75,
      declines_30d: 2,
    });
  });

  it('lists the vector columns in order', () => {
    assert.deepEqual(featureNames(spec), [
      'age',
      'balance',
      'region_north',
      'region_south',
      'txn_count_7d',
      'txn_amount_7d',
      'txn_amount_30d',
      'declines_30d',
    ]);
  });
});

it('buildMatrixYielding gives the same bytes as buildMatrix, in chunks', async () => {
  const { buildMatrix, buildMatrixYielding, parseFeatureSpec } =
    await import('../../../src/features/index.js');
  const spec = parseFeatureSpec({
    name: 's',
    version: '1',
    features: [
      { name: 'age', source: { field: 'age' }, transforms: [{ op: 'default', value: 0 }] },
      { name: 'n7', source: { aggregate: { fn: 'count', windowDays: 7 } }, transforms: [] },
    ],
  });
  const inputs = Array.from({ length: 1234 }, (_, i) => ({
    profile: { age: i % 90 },
    events: [{ eventId: `e${i}`, eventTimeMs: 1000, fields: {} }],
    asOfMs: 1000 + (i % 3) * 86_400_000 * 4,
  }));
  const a = buildMatrix(spec, inputs);
  const b = await buildMatrixYielding(spec, inputs, 100);
  assert.deepEqual(Buffer.from(b.buffer), Buffer.from(a.buffer));
});

describe('lastWindowExit (when time alone changes a vector)', () => {
  const kept = EVENTS.filter((e) => e.eventTimeMs <= AS_OF);

  it('is the latest instant an event leaves a window, after the clock and up to now', () => {
    // t-at-asof leaves the 7d window at AS_OF + 7d, the 30d window at AS_OF + 30d
    assert.equal(lastWindowExit(spec, kept, AS_OF, AS_OF + 7 * DAY_MS), AS_OF + 7 * DAY_MS);
    // t-1d leaves the 7d window at AS_OF + 6d: the latest exit up to AS_OF + 6.5d
    assert.equal(lastWindowExit(spec, kept, AS_OF, AS_OF + 6.5 * DAY_MS), AS_OF + 6 * DAY_MS);
    // t-10d leaves the 30d window at AS_OF + 20d, t-1d at AS_OF + 29d, t-at-asof at AS_OF + 30d
    assert.equal(lastWindowExit(spec, kept, AS_OF, AS_OF + 365 * DAY_MS), AS_OF + 30 * DAY_MS);
  });

  it('is null when nothing leaves a window in that span, or after the last exit', () => {
    // the first exit after AS_OF: t-edge-7d left the 7d window at AS_OF exactly (not after the clock);
    // t-no-amount (2d old) leaves it at AS_OF + 5d
    assert.equal(lastWindowExit(spec, kept, AS_OF, AS_OF + 5 * DAY_MS - 1), null);
    assert.equal(lastWindowExit(spec, kept, AS_OF, AS_OF + 5 * DAY_MS), AS_OF + 5 * DAY_MS);
    // scored as of the last exit: never due again
    assert.equal(lastWindowExit(spec, kept, AS_OF + 30 * DAY_MS, AS_OF + 900 * DAY_MS), null);
  });

  it('ignores events after the clock, and a spec without aggregates has no timers', () => {
    assert.equal(lastWindowExit(spec, [ev('late', AS_OF + 1, 1)], AS_OF, AS_OF + 7 * DAY_MS), null);
    const plain = parseFeatureSpec({
      name: 'plain',
      version: '1',
      features: [{ name: 'age', source: { field: 'age' }, transforms: [{ op: 'default', value: 1 }] }],
    });
    assert.equal(lastWindowExit(plain, kept, AS_OF, AS_OF + 900 * DAY_MS), null);
  });
});
