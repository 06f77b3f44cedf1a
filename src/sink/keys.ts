/**
 * The Redis key layout, shared by the sink (writer) and the lookup client (reader). Every key of one entity
 * carries the hash tag `{<pipeline>:<entity id>}`, so one entity's keys share a hash slot (script calls cover
 * many entities, so a Redis Cluster mode would have to group them by slot; see docs/redis.md).
 *
 *   <prefix>{<pipeline>:<id>}           hash  the prediction (what real-time apps read)
 *   <prefix>{<pipeline>:<id>}:state     hash  feature state: profile row, lsn, deleted, sv (state version), t
 *   <prefix>{<pipeline>:<id>}:ev        zset  event ids scored by event time (replay-safe: ids are unique)
 *   <prefix>{<pipeline>:<id>}:evd       hash  event id -> event fields as JSON
 *   <prefix><pipeline>:committed:<topic>:<partition>   string  last input offset known committed
 */
export interface EntityKeys {
  readonly prediction: string;
  readonly state: string;
  readonly events: string;
  readonly eventData: string;
}

export function entityKeys(prefix: string, pipeline: string, entityId: string): EntityKeys {
  const base = `${prefix}{${pipeline}:${entityId}}`;
  return { prediction: base, state: `${base}:state`, events: `${base}:ev`, eventData: `${base}:evd` };
}

export function committedKey(prefix: string, pipeline: string, topic: string, partition: number): string {
  return `${prefix}${pipeline}:committed:${topic}:${partition}`;
}

/** Fields of the prediction hash, in the order documented in docs/redis.md. */
export const PREDICTION_FIELDS = [
  'entity_id',
  'score',
  'tier',
  'model_name',
  'model_version',
  'model_sha256',
  'training_run_id',
  'feature_version',
  'features',
  'as_of',
  'scored_at',
  'valid_until',
  'version',
  'deleted',
  'batch_id',
  'trigger_topic',
  'trigger_partition',
  'trigger_offset',
] as const;

export type PredictionField = (typeof PREDICTION_FIELDS)[number];
