/**
 * The churn feature specs the training script fits. Defaults are fixed, domain-plausible values (not
 * fitted) so that a missing field means the same thing in every version; standardise parameters are
 * placeholders (0, 1) until `withStandardisation` fills in what was fitted on the training split.
 */
import type { FeatureDef, FeatureSpec, Transform } from '../../src/features/index.js';

export const FEATURE_SETS = ['profile', 'full'] as const;
export type FeatureSet = (typeof FEATURE_SETS)[number];

const PLACEHOLDER: Transform = { op: 'standardise', mean: 0, std: 1 };

function numericField(
  name: string,
  field: string,
  fallback: number,
  min: number,
  max: number,
  log: boolean,
): FeatureDef {
  const transforms: Transform[] = [
    { op: 'default', value: fallback },
    { op: 'clip', min, max },
  ];
  if (log) transforms.push({ op: 'log1p' });
  transforms.push(PLACEHOLDER);
  return { name, source: { field }, transforms };
}

function oneHot(field: string, categories: readonly string[]): FeatureDef[] {
  return categories.map((category) => ({
    name: `${field}_${category}`,
    source: { field },
    transforms: [{ op: 'one_hot', category }],
  }));
}

function aggregate(
  name: string,
  fn: 'count' | 'sum' | 'count_true',
  field: string | undefined,
  windowDays: number,
  max: number,
): FeatureDef {
  return {
    name,
    source: { aggregate: field === undefined ? { fn, windowDays } : { fn, field, windowDays } },
    // Counts and sums are heavy-tailed; log1p after a clip at 0 keeps a few busy customers from dominating.
    transforms: [{ op: 'clip', min: 0, max }, { op: 'log1p' }, PLACEHOLDER],
  };
}

const PROFILE: FeatureDef[] = [
  numericField('tenure_months', 'tenure_months', 36, 0, 600, true),
  numericField('age', 'age', 44, 18, 100, false),
  numericField('products_held', 'products_held', 1, 1, 10, false),
  // Overdrawn balances clip to 0: the model sees "nothing on deposit", which is what matters for churn.
  numericField('balance', 'balance', 0, 0, 10_000_000, true),
  numericField('credit_limit', 'credit_limit', 0, 0, 1_000_000, true),
  numericField('utilisation', 'utilisation', 0.4, 0, 1.5, false),
  ...oneHot('region', ['north', 'south', 'east', 'west']),
  ...oneHot('segment', ['mass', 'affluent', 'private']),
];

const TRANSACTIONS: FeatureDef[] = [
  aggregate('txn_count_7d', 'count', undefined, 7, 10_000),
  aggregate('txn_count_30d', 'count', undefined, 30, 10_000),
  aggregate('txn_amount_7d', 'sum', 'amount', 7, 10_000_000),
  aggregate('txn_amount_30d', 'sum', 'amount', 30, 10_000_000),
  aggregate('declines_7d', 'count_true', 'declined', 7, 10_000),
  aggregate('declines_30d', 'count_true', 'declined', 30, 10_000),
];

export function churnSpecTemplate(set: FeatureSet, version: string): FeatureSpec {
  return {
    name: `churn_${set}`,
    version,
    features: set === 'profile' ? PROFILE : [...PROFILE, ...TRANSACTIONS],
  };
}

/** The spec with each standardise transform's parameters replaced by the fitted ones (by feature index). */
export function withStandardisation(
  spec: FeatureSpec,
  fitted: ReadonlyMap<number, { mean: number; std: number }>,
): FeatureSpec {
  return {
    ...spec,
    features: spec.features.map((f, i) => ({
      ...f,
      transforms: f.transforms.map((t) =>
        t.op === 'standardise' ? { op: 'standardise', ...(fitted.get(i) ?? t) } : t,
      ),
    })),
  };
}

/** Indices of features whose last transform is standardise (their pre-standardise value is the vector value). */
export function standardisedFeatures(spec: FeatureSpec): number[] {
  return spec.features.flatMap((f, i) =>
    f.transforms[f.transforms.length - 1]?.op === 'standardise' ? [i] : [],
  );
}
