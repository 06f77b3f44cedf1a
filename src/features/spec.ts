import { deepFreeze, dottedPath, formatIssues, invalidMessage } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';
import { featureSpecSchema } from './options.js';
import type { AggregateFn, FeatureSpec, Transform } from './types.js';

/** A validated feature, flattened so the hot loop in `vector.ts` does no shape checks. */
export type CompiledFeature = { readonly name: string } & (
  | { readonly kind: 'field'; readonly field: string; readonly transforms: readonly Transform[] }
  | {
      readonly kind: 'one_hot';
      readonly field: string;
      readonly category: string;
      readonly transforms: readonly Transform[];
    }
  | {
      readonly kind: 'aggregate';
      readonly fn: AggregateFn;
      readonly field: string | undefined;
      readonly windowDays: number;
      readonly transforms: readonly Transform[];
    }
);

export interface CompiledSpec {
  readonly width: number;
  readonly features: readonly CompiledFeature[];
  readonly hasAggregates: boolean;
}

// Only specs that passed validation have an entry; the spec objects are frozen, so the plan cannot go stale.
const compiled = new WeakMap<FeatureSpec, CompiledSpec>();

/** A problem inside a feature names the feature: an index into a long list is hard to find by eye. */
function featurePlace(raw: unknown): (path: readonly PropertyKey[]) => string {
  return (path) => {
    if (path[0] !== 'features' || typeof path[1] !== 'number') return dottedPath(path);
    const features = (raw as { features?: unknown } | null)?.features;
    const entry = Array.isArray(features) ? (features[path[1]] as { name?: unknown } | undefined) : undefined;
    const name = typeof entry?.name === 'string' ? `feature "${entry.name}"` : 'feature';
    const rest = path.slice(2).map(String).join('.');
    return `${name} (features[${path[1]}])${rest === '' ? '' : ` ${rest}`}`;
  };
}

function compile(spec: FeatureSpec): CompiledSpec {
  const features = spec.features.map((f): CompiledFeature => {
    if ('aggregate' in f.source) {
      const { fn, field, windowDays } = f.source.aggregate;
      return { name: f.name, kind: 'aggregate', fn, field, windowDays, transforms: f.transforms };
    }
    const first = f.transforms[0];
    if (first?.op === 'one_hot') {
      return {
        name: f.name,
        kind: 'one_hot',
        field: f.source.field,
        category: first.category,
        transforms: f.transforms.slice(1),
      };
    }
    return { name: f.name, kind: 'field', field: f.source.field, transforms: f.transforms };
  });
  return { width: features.length, features, hasAggregates: features.some((f) => f.kind === 'aggregate') };
}

/**
 * Validates a feature spec (e.g. the `feature_spec` of a model.json) and returns it deep-frozen. Every problem
 * is reported at once, each naming the feature it belongs to.
 * @throws StreamscoreError SS_FEATURE_SPEC_INVALID
 */
export function parseFeatureSpec(raw: unknown, source = 'feature spec'): FeatureSpec {
  const result = featureSpecSchema.safeParse(raw);
  if (!result.success) {
    const problems = formatIssues(result.error.issues, { place: featurePlace(raw) });
    throw new StreamscoreError('SS_FEATURE_SPEC_INVALID', invalidMessage(source, problems), {
      details: { problems },
    });
  }
  const spec = deepFreeze(result.data as FeatureSpec);
  compiled.set(spec, compile(spec));
  return spec;
}

/**
 * The plan for a spec. A spec that did not come from `parseFeatureSpec` (e.g. a literal in a test) is
 * validated here first, so no unvalidated spec can ever produce a vector.
 */
export function compiledSpec(spec: FeatureSpec): CompiledSpec {
  const hit = compiled.get(spec);
  if (hit !== undefined) return hit;
  // Not cached against the caller's object: it is not frozen and could change after this check.
  return compiled.get(parseFeatureSpec(spec)) as CompiledSpec;
}

/**
 * What the spec reads of an entity's stored events: how far back (the longest aggregate window, at least
 * `minDays`) and which event fields (those the aggregates sum or count). Nothing else of an event matters to
 * a vector, so state and caches may keep only this.
 */
export function eventNeeds(spec: FeatureSpec, minDays = 0): { lookbackDays: number; fields: string[] } {
  const aggregates = compiledSpec(spec).features.filter((f) => f.kind === 'aggregate');
  return {
    lookbackDays: Math.max(minDays, ...aggregates.map((f) => f.windowDays)),
    fields: [...new Set(aggregates.flatMap((f) => (f.field === undefined ? [] : [f.field])))],
  };
}

/**
 * What the spec reads of an entity's profile row (the CDC `after`): the columns its field and one-hot
 * features name, in spec order. The decoder materialises only these (plus the id), so state keeps only them.
 */
export function profileFields(spec: FeatureSpec): string[] {
  const fields = compiledSpec(spec).features.flatMap((f) => (f.kind === 'aggregate' ? [] : [f.field]));
  return [...new Set(fields)];
}

/** Column names of the vector, in order. */
export function featureNames(spec: FeatureSpec): string[] {
  return spec.features.map((f) => f.name);
}
