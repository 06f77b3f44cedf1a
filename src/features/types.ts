import type { Row } from '../decode/types.js';

/**
 * A feature spec is data, not code: it is JSON-serialisable, lives inside model.json next to the weights
 * it was fitted with, and is interpreted by the one function (`buildVector`) that training and scoring
 * share. Changing anything here changes the vector, so every change ships as a new spec version.
 */
export interface FeatureSpec {
  readonly name: string;
  readonly version: string;
  /** Ordered: position i of every vector is features[i]. */
  readonly features: readonly FeatureDef[];
}

export interface FeatureDef {
  readonly name: string;
  readonly source: FeatureSource;
  /** Applied in order to the raw value; see `Transform`. */
  readonly transforms: readonly Transform[];
}

/** A column of the entity's latest profile row (CDC `after`). */
export interface FieldSource {
  readonly field: string;
}

export type AggregateFn = 'count' | 'sum' | 'count_true';

/** An aggregate over the entity's events in the window `(asOf - windowDays, asOf]` (event time). */
export interface AggregateSource {
  readonly aggregate: {
    readonly fn: AggregateFn;
    /** Required for `sum` (numeric field) and `count_true` (boolean field); not allowed for `count`. */
    readonly field?: string;
    readonly windowDays: number;
  };
}

export type FeatureSource = FieldSource | AggregateSource;

/**
 * Transforms, applied in order. Values are float64 while transforming and rounded to float32 once, when
 * written into the vector.
 * - `one_hot`: 1 when the raw field, as a string, equals `category`, else 0 (missing → 0). One feature per
 *   category: a categorical column with k values is k features. Must be the first transform.
 * - `default`: replaces a missing value (null, absent, non-numeric, NaN, ±Infinity) at that position.
 * - `clip`: clamps to [min, max].
 * - `log1p`: ln(1 + x); must follow a clip with min > -1 so it is always defined.
 * - `standardise`: (x - mean) / std with parameters fitted on the training split.
 */
export type Transform =
  | { readonly op: 'default'; readonly value: number }
  | { readonly op: 'clip'; readonly min: number; readonly max: number }
  | { readonly op: 'log1p' }
  | { readonly op: 'standardise'; readonly mean: number; readonly std: number }
  | { readonly op: 'one_hot'; readonly category: string };

export type TransformOp = Transform['op'];

/** What the features stage needs of one event; `EntityEvent` from the decode stage fits as is. */
export interface EventForFeatures {
  readonly eventId: string;
  readonly eventTimeMs: number;
  readonly fields: Row;
}

/** Everything one vector is computed from: nothing else (no clock, no globals) may influence it. */
export interface FeatureInput {
  /** The entity's profile row as of `asOfMs`; null when unknown (fields then count as missing). */
  readonly profile: Row | null;
  readonly events: readonly EventForFeatures[];
  /** Point in time: only events with `eventTimeMs <= asOfMs` are used. */
  readonly asOfMs: number;
}
