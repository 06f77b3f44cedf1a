import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamscoreError } from '../../../src/errors/index.js';
import { parseFeatureSpec, profileFields } from '../../../src/features/index.js';

const valid = {
  name: 'churn_test',
  version: '3',
  features: [
    { name: 'age', source: { field: 'age' }, transforms: [{ op: 'default', value: 40 }] },
    { name: 'txn_count_7d', source: { aggregate: { fn: 'count', windowDays: 7 } } },
  ],
};

function withFeatures(...features: unknown[]): unknown {
  return { ...valid, features };
}

function problems(raw: unknown): string[] {
  try {
    parseFeatureSpec(raw);
  } catch (err) {
    assert.ok(err instanceof StreamscoreError);
    assert.equal(err.code, 'SS_FEATURE_SPEC_INVALID');
    return (err.details?.problems as string[]) ?? [];
  }
  assert.fail('expected SS_FEATURE_SPEC_INVALID');
}

describe('parseFeatureSpec', () => {
  it('accepts a valid spec, fills defaults and freezes it', () => {
    const spec = parseFeatureSpec(valid);
    assert.deepEqual(spec.features[1]?.transforms, []);
    assert.ok(Object.isFrozen(spec.features[0]?.transforms[0]));
  });

  it('names the feature with an unknown transform', () => {
    const p = problems(
      withFeatures({ name: 'age', source: { field: 'age' }, transforms: [{ op: 'square' }] }),
    );
    assert.equal(p.length, 1);
    assert.match(
      p[0] as string,
      /feature "age" \(features\[0\]\) transforms\.0\.op: unknown transform op "square"/,
    );
  });

  it('names the feature whose transform misses a parameter', () => {
    const p = problems(
      withFeatures({
        name: 'util',
        source: { field: 'utilisation' },
        transforms: [
          { op: 'default', value: 0 },
          { op: 'clip', min: 0 },
        ],
      }),
    );
    assert.match(p.join('\n'), /feature "util" \(features\[0\]\) transforms\.1\.max/);
  });

  it('rejects duplicate feature names', () => {
    const f = { name: 'n', source: { aggregate: { fn: 'count', windowDays: 7 } } };
    assert.match(
      problems(withFeatures(f, f)).join('\n'),
      /feature "n" \(features\[1\]\) name: duplicate feature name \(also features\[0\]\)/,
    );
  });

  it('requires a default on profile fields, so a null column cannot yield NaN', () => {
    assert.match(
      problems(withFeatures({ name: 'age', source: { field: 'age' }, transforms: [] })).join('\n'),
      /feature "age".*needs a default transform/,
    );
  });

  it('requires log1p to follow a clip with min > -1', () => {
    const p = problems(
      withFeatures(
        {
          name: 'bal',
          source: { field: 'balance' },
          transforms: [{ op: 'default', value: 0 }, { op: 'log1p' }],
        },
        {
          name: 'sum7',
          source: { aggregate: { fn: 'sum', field: 'amount', windowDays: 7 } },
          transforms: [{ op: 'log1p' }],
        },
        {
          name: 'cnt7',
          source: { aggregate: { fn: 'count', windowDays: 7 } },
          transforms: [{ op: 'log1p' }],
        },
      ),
    );
    assert.equal(p.length, 2, p.join('\n'));
    assert.match(p[0] as string, /feature "bal".*log1p must follow a clip/);
    assert.match(p[1] as string, /feature "sum7".*log1p must follow a clip/);
  });

  it('checks aggregate fields, windows, standardise std and one_hot placement, all in one report', () => {
    const p = problems(
      withFeatures(
        { name: 'a', source: { aggregate: { fn: 'sum', windowDays: 7 } } },
        { name: 'b', source: { aggregate: { fn: 'count', field: 'amount', windowDays: 7 } } },
        { name: 'c', source: { aggregate: { fn: 'count', windowDays: 0 } } },
        {
          name: 'd',
          source: { field: 'x' },
          transforms: [
            { op: 'default', value: 0 },
            { op: 'standardise', mean: 0, std: 0 },
          ],
        },
        {
          name: 'e',
          source: { field: 'x' },
          transforms: [
            { op: 'default', value: 0 },
            { op: 'one_hot', category: 'n' },
          ],
        },
        {
          name: 'f',
          source: { field: 'x' },
          transforms: [
            { op: 'default', value: 0 },
            { op: 'clip', min: 2, max: 1 },
          ],
        },
      ),
    ).join('\n');
    assert.match(p, /feature "a".*sum needs a field/);
    assert.match(p, /feature "b".*count takes no field/);
    assert.match(p, /feature "c".*windowDays/);
    assert.match(p, /feature "d".*std/);
    assert.match(p, /feature "e".*one_hot must be the first transform/);
    assert.match(p, /feature "f".*clip min 2 > max 1/);
  });

  it('rejects a source that is neither a field nor an aggregate', () => {
    assert.match(
      problems(withFeatures({ name: 'x', source: { column: 'age' } })).join('\n'),
      /feature "x".*source/,
    );
  });

  it('rejects an empty feature list and a missing version', () => {
    const p = problems({ name: 'x', features: [] }).join('\n');
    assert.match(p, /version/);
    assert.match(p, /at least one feature/);
  });
});

describe('profileFields', () => {
  it('names each profile column a field or one-hot feature reads, once, and no aggregate field', () => {
    const spec = parseFeatureSpec(
      withFeatures(
        { name: 'age', source: { field: 'age' }, transforms: [{ op: 'default', value: 40 }] },
        {
          name: 'region_north',
          source: { field: 'region' },
          transforms: [{ op: 'one_hot', category: 'north' }],
        },
        {
          name: 'region_south',
          source: { field: 'region' },
          transforms: [{ op: 'one_hot', category: 'south' }],
        },
        { name: 'spend_7d', source: { aggregate: { fn: 'sum', field: 'amount', windowDays: 7 } } },
      ),
    );
    assert.deepStrictEqual(profileFields(spec), ['age', 'region']);
  });
});
