import type { RawRecord } from '../decode/types.js';
import type { Explanation } from '../explain/index.js';
import type { StreamscoreError } from '../errors/index.js';
import type { ModelStamp, PredictionRecord, StoredPrediction } from '../sink/index.js';
import type { RecordRef } from '../window/index.js';
import { DLQ_HEADERS, QUARANTINE_HEADERS } from './types.js';
import type { OutMessage, PredictionEventV1, PredictionTrigger } from './types.js';

/** A plain array of the vector (Array.from goes through the iterator protocol and allocates per element). */
function toNumbers(f: Float32Array): number[] {
  const out = new Array<number>(f.length);
  for (let i = 0; i < f.length; i++) out[i] = f[i] as number;
  return out;
}

export function predictionEvent(
  p: PredictionRecord,
  version: number,
  model: ModelStamp,
  inputs: readonly RecordRef[],
  pipeline: string,
  trigger: PredictionTrigger = 'INPUT',
): PredictionEventV1 {
  const upsert = p.kind === 'upsert';
  return {
    schema_version: 4,
    event_type: upsert ? 'UPSERT' : 'DELETE',
    entity_id: p.entityId,
    score: upsert ? p.score : null,
    tier: upsert ? p.tier : null,
    model: {
      name: model.name,
      version: model.version,
      sha256: model.sha256,
      training_run_id: model.trainingRunId,
    },
    feature_version: model.featureVersion,
    features: upsert && p.features !== null ? toNumbers(p.features) : [],
    as_of: p.asOfMs,
    scored_at: p.scoredAtMs,
    valid_until: upsert ? p.validUntilMs : null,
    version,
    inputs: inputs.map((r) => ({ topic: r.topic, partition: r.partition, offset: Number(r.offset) })),
    batch_id: p.batchId,
    pipeline,
    reasons: upsert && p.reasons != null ? reasonsOf(p.reasons) : null,
    trigger,
    basis: basisOf(p.basis),
  };
}

/** `topic/partition` → offset as the event's list (sorted, so equal bases give equal bytes). */
function basisOf(b: Readonly<Record<string, string>>): NonNullable<PredictionEventV1['basis']> {
  return Object.keys(b)
    .sort()
    .map((tp) => {
      const cut = tp.lastIndexOf('/');
      return { topic: tp.slice(0, cut), partition: Number(tp.slice(cut + 1)), offset: Number(b[tp]) };
    });
}

function reasonsOf(e: Explanation): NonNullable<PredictionEventV1['reasons']> {
  return { method: e.method, link: e.link, base: e.base, rest: e.rest, top: e.top.map((r) => ({ ...r })) };
}

/**
 * Rebuilds the event of a prediction that Redis already holds, for the retry of a window whose
 * transaction did not commit: the event must carry exactly what Redis holds, not a recomputation.
 */
export function storedPredictionEvent(
  stored: StoredPrediction,
  inputs: readonly RecordRef[],
  pipeline: string,
  trigger: PredictionTrigger = 'INPUT',
): PredictionEventV1 {
  const upsert = !stored.deleted;
  return {
    schema_version: 4,
    event_type: upsert ? 'UPSERT' : 'DELETE',
    entity_id: stored.entity_id,
    score: upsert ? stored.score : null,
    tier: upsert ? stored.tier : null,
    model: {
      name: stored.model_name,
      version: stored.model_version,
      sha256: stored.model_sha256,
      training_run_id: stored.training_run_id,
    },
    feature_version: stored.feature_version,
    features: upsert ? [...stored.features] : [],
    as_of: stored.as_of,
    scored_at: stored.scored_at,
    valid_until: upsert ? stored.valid_until : null,
    version: stored.version,
    inputs: inputs.map((r) => ({ topic: r.topic, partition: r.partition, offset: Number(r.offset) })),
    batch_id: stored.batch_id,
    pipeline,
    reasons: upsert && stored.reasons != null ? reasonsOf(stored.reasons) : null,
    trigger,
    basis: stored.basis === undefined ? null : basisOf(stored.basis),
  };
}

/**
 * A prediction the output guard refused: what would have been published, as JSON (a NaN or infinite score
 * is kept as its text in `raw_score`, since JSON has no such numbers), with the reason. Key: the entity id.
 */
export function quarantinedPrediction(
  p: PredictionRecord,
  model: ModelStamp,
  inputs: readonly RecordRef[],
  pipeline: string,
  reason: string,
): OutMessage {
  const finite = (x: number | null) => (x !== null && Number.isFinite(x) ? x : null);
  const value = {
    entity_id: p.entityId,
    reason,
    score: finite(p.score),
    raw_score: p.score === null ? null : String(p.score),
    model: { name: model.name, version: model.version, sha256: model.sha256 },
    feature_version: model.featureVersion,
    features: p.features === null ? [] : Array.from(p.features, (f) => finite(f)),
    as_of: p.asOfMs,
    scored_at: p.scoredAtMs,
    inputs: inputs.map((r) => ({ topic: r.topic, partition: r.partition, offset: Number(r.offset) })),
    batch_id: p.batchId,
    pipeline,
  };
  return {
    key: p.entityId,
    value: Buffer.from(JSON.stringify(value)),
    headers: {
      [QUARANTINE_HEADERS.reason]: reason.slice(0, 2000),
      [QUARANTINE_HEADERS.batch]: p.batchId,
      [QUARANTINE_HEADERS.pipeline]: pipeline,
    },
  };
}

/** The dead-letter record: the original key, value and headers, plus reason headers. */
export function deadLetter(
  raw: RawRecord,
  err: StreamscoreError,
  batchId: string,
  pipeline: string,
): OutMessage {
  const headers: Record<string, Buffer | string> = {};
  for (const [k, v] of Object.entries(raw.headers)) if (v !== undefined) headers[k] = v;
  headers[DLQ_HEADERS.code] = err.code;
  headers[DLQ_HEADERS.message] = err.message.slice(0, 2000);
  headers[DLQ_HEADERS.topic] = raw.topic;
  headers[DLQ_HEADERS.partition] = String(raw.partition);
  headers[DLQ_HEADERS.offset] = raw.offset;
  headers[DLQ_HEADERS.batch] = batchId;
  headers[DLQ_HEADERS.pipeline] = pipeline;
  return { key: raw.key, value: raw.value, headers };
}
