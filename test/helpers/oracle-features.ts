/**
 * The oracle's feature vectors, written from the feature-spec contract (src/features/types.ts) and the spec
 * data in model.json — never from src/features, so a bug there cannot hide in the expected values.
 * The contract, restated:
 *  - a profile field is missing when null, absent, not a number, NaN or ±Infinity; `default` replaces it;
 *  - `one_hot` (first transform): 1 when the field, as a string, equals the category, else 0;
 *  - `clip` clamps to [min, max]; `log1p` is ln(1 + x); `standardise` is (x - mean) / std;
 *  - values are float64 while transforming and rounded to float32 once, when the vector is written;
 *  - an aggregate sees the entity's events once per txn_id, with event time in (asOf - windowDays, asOf];
 *    `count` counts them, `count_true` counts those whose field is `true`, `sum` adds the field's finite
 *    numbers. Sums are taken oldest first (ties by txn_id in code-unit order): float addition is not
 *    associative, and the vector must be exact, so the order is part of the contract.
 */
import type { AggregateSource, FeatureDef, FeatureSpec, Transform } from '../../src/features/types.js';

/** Restated, not imported: a day of event time. */
const DAY_MS = 24 * 60 * 60 * 1000;

export type OracleProfile = Readonly<Record<string, unknown>> | null;

export interface OracleEvent {
  readonly txnId: string;
  readonly eventTimeMs: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** `undefined` stands for a missing value until a `default` fills it. */
type Value = number | undefined;

const asNumber = (raw: unknown): Value => (typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined);

const asCategory = (raw: unknown): string | undefined =>
  typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;

function transform(value: Value, t: Transform): Value {
  if (t.op === 'default') return value ?? t.value;
  if (value === undefined) return undefined;
  if (t.op === 'clip') return value < t.min ? t.min : value > t.max ? t.max : value;
  if (t.op === 'log1p') return Math.log1p(value);
  if (t.op === 'standardise') return (value - t.mean) / t.std;
  throw new Error(`oracle: transform ${JSON.stringify(t)} is only allowed first`);
}

/** One event per txn_id (the first one seen), oldest first, ties by txn_id. */
function distinctOldestFirst(events: readonly OracleEvent[]): OracleEvent[] {
  const byTxn = new Map<string, OracleEvent>();
  for (const e of events) if (!byTxn.has(e.txnId)) byTxn.set(e.txnId, e);
  return [...byTxn.values()].sort((a, b) =>
    a.eventTimeMs !== b.eventTimeMs ? a.eventTimeMs - b.eventTimeMs : a.txnId < b.txnId ? -1 : 1,
  );
}

function aggregateValue(
  { aggregate }: AggregateSource,
  events: readonly OracleEvent[],
  asOfMs: number,
): number {
  const from = asOfMs - aggregate.windowDays * DAY_MS;
  const inWindow = events.filter((e) => e.eventTimeMs > from && e.eventTimeMs <= asOfMs);
  const field = aggregate.field ?? '';
  switch (aggregate.fn) {
    case 'count':
      return inWindow.length;
    case 'count_true':
      return inWindow.filter((e) => e.fields[field] === true).length;
    case 'sum':
      return inWindow.reduce((acc, e) => acc + (asNumber(e.fields[field]) ?? 0), 0);
  }
}

function featureValue(
  def: FeatureDef,
  profile: OracleProfile,
  events: readonly OracleEvent[],
  asOfMs: number,
): number {
  let value: Value;
  let rest = def.transforms;
  if ('aggregate' in def.source) {
    value = aggregateValue(def.source, events, asOfMs);
  } else {
    const raw = profile?.[def.source.field];
    const first = def.transforms[0];
    if (first?.op === 'one_hot') {
      value = asCategory(raw) === first.category ? 1 : 0;
      rest = def.transforms.slice(1);
    } else {
      value = asNumber(raw);
    }
  }
  const out = rest.reduce(transform, value);
  if (out === undefined) throw new Error(`oracle: feature ${def.name} is still missing after its transforms`);
  return out;
}

/** The vector the contract defines for this profile and these events as of `asOfMs`. */
export function oracleVector(
  spec: FeatureSpec,
  profile: OracleProfile,
  events: readonly OracleEvent[],
  asOfMs: number,
): Float32Array {
  const distinct = distinctOldestFirst(events);
  // Float32Array.from rounds each float64 once, to nearest even: the contract's single rounding.
  return Float32Array.from(spec.features, (def) => featureValue(def, profile, distinct, asOfMs));
}
