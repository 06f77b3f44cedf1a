/**
 * The prediction as stored in Redis: field `json` of the entity's prediction hash, one JSON object that
 * any language can parse (docs/redis.md), next to `version` and `deleted` for fencing and quick checks.
 * Built as text in one pass (no intermediate objects); the store appends the version it assigns.
 */
import type { Explanation } from '../explain/index.js';
import { appliedJson } from './stored-state.js';
import type { ModelStamp, PredictionRecord } from './types.js';

/** The stored prediction, parsed (what `json` holds). */
export interface StoredPrediction {
  readonly entity_id: string;
  readonly deleted: boolean;
  readonly score: number | null;
  readonly tier: string | null;
  readonly model_name: string;
  readonly model_version: string;
  readonly model_sha256: string;
  readonly training_run_id: string;
  readonly feature_version: string;
  readonly features: readonly number[];
  readonly as_of: number;
  readonly scored_at: number;
  readonly valid_until: number | null;
  readonly batch_id: string;
  readonly trigger_topic: string;
  readonly trigger_partition: number;
  readonly trigger_offset: string;
  /** The state's basis (see PredictionRecord.basis); absent in predictions stored before it existed. */
  readonly basis?: Readonly<Record<string, string>>;
  /** Reason codes (absent in predictions stored before they existed). */
  readonly reasons?: Explanation | null;
  readonly version: number;
}

/** Float32 values printed so that parsing them back gives the same float32 (and the same double). */
export function float32Text(v: number): string {
  return Number.isFinite(v) ? String(Math.fround(v)) : 'null';
}

const modelParts = new WeakMap<ModelStamp, string>();

function modelJson(model: ModelStamp): string {
  let s = modelParts.get(model);
  if (s === undefined) {
    s =
      `"model_name":${JSON.stringify(model.name)},"model_version":${JSON.stringify(model.version)},` +
      `"model_sha256":${JSON.stringify(model.sha256)},"training_run_id":${JSON.stringify(model.trainingRunId)},` +
      `"feature_version":${JSON.stringify(model.featureVersion)}`;
    modelParts.set(model, s);
  }
  return s;
}

/**
 * The vector as a JSON array: a Float32Array's elements read as the doubles equal to their float32
 * values, which JSON.stringify prints as float32Text does (shortest round trip; non-finite as null), in
 * one native pass instead of a string per element. Copied by index: Array.from iterates, one result
 * object per element (2.5 % of a drain's allocations).
 */
function featuresJson(features: Float32Array | null): string {
  if (features === null) return '[]';
  const values = new Array<number>(features.length);
  for (let i = 0; i < features.length; i++) values[i] = features[i] as number;
  return JSON.stringify(values);
}

/**
 * The prediction's JSON up to `"version":` — the store appends the version and the closing brace
 * (COMMIT_SCRIPT). A deletion keeps the model stamp, so its event can be re-emitted exactly after a crash.
 *
 * Joined from an array, not concatenated: `a + b` makes a rope (a node per piece) that the Redis encoder
 * then flattens to measure and copy it; join writes one flat string. Numbers print as in a template.
 */
export function predictionJsonHead(p: PredictionRecord, model: ModelStamp): string {
  const upsert = p.kind === 'upsert';
  return [
    '{"entity_id":',
    JSON.stringify(p.entityId),
    upsert ? ',"deleted":false,"score":' : ',"deleted":true,"score":',
    upsert ? float32Text(p.score ?? Number.NaN) : 'null',
    ',"tier":',
    upsert && p.tier !== null ? JSON.stringify(p.tier) : 'null',
    ',',
    modelJson(model),
    ',"features":',
    upsert ? featuresJson(p.features) : '[]',
    ',"as_of":',
    String(p.asOfMs),
    ',"scored_at":',
    String(p.scoredAtMs),
    ',"valid_until":',
    upsert && p.validUntilMs !== null ? String(p.validUntilMs) : 'null',
    ',"batch_id":',
    JSON.stringify(p.batchId),
    ',"trigger_topic":',
    JSON.stringify(p.trigger.topic),
    ',"trigger_partition":',
    String(p.trigger.partition),
    ',"trigger_offset":',
    JSON.stringify(p.trigger.offset),
    ',"basis":',
    appliedJson(p.basis),
    ',"reasons":',
    upsert && p.reasons != null ? reasonsJson(p.reasons) : 'null',
    ',"version":',
  ].join('');
}

function reasonsJson(e: Explanation): string {
  return JSON.stringify({ method: e.method, link: e.link, base: e.base, rest: e.rest, top: e.top });
}

/** Parses the `json` field of a prediction hash; null when absent or not a prediction. */
export function parseStoredPrediction(json: string | null | undefined): StoredPrediction | null {
  if (json === null || json === undefined || json === '') return null;
  const p = JSON.parse(json) as StoredPrediction;
  return typeof p === 'object' && p !== null && typeof p.version === 'number' ? p : null;
}

/** The prediction hash as field/value pairs, for writers outside the pipeline's script (benchmarks, tools). */
export function predictionHashFields(p: PredictionRecord, version: number, model: ModelStamp): string[] {
  const head = predictionJsonHead(p, model);
  return [
    'version',
    String(version),
    'deleted',
    p.kind === 'delete' ? '1' : '0',
    'json',
    `${head}${version}}`,
  ];
}
