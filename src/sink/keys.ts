/**
 * The Redis key layout, shared by the sink (writer) and the lookup client (reader). Both keys of one entity
 * carry the hash tag `{<pipeline>:<entity id>}`, so they share a hash slot (script calls cover many
 * entities, so a Redis Cluster mode would have to group them by slot; see docs/redis.md).
 *
 *   <prefix>{<pipeline>:<id>}           hash  the prediction (what real-time apps read): version, deleted, json
 *   <prefix>{<pipeline>:<id>}:s         hash  feature state: sv (state version), p (profile row), d (the rest)
 *   <prefix><pipeline>:committed:<topic>:<partition>   string  last input offset known committed
 */
export interface EntityKeys {
  readonly prediction: string;
  readonly state: string;
}

export function entityKeys(prefix: string, pipeline: string, entityId: string): EntityKeys {
  const base = `${prefix}{${pipeline}:${entityId}}`;
  return { prediction: base, state: `${base}:s` };
}

export function committedKey(prefix: string, pipeline: string, topic: string, partition: number): string {
  return `${prefix}${pipeline}:committed:${topic}:${partition}`;
}

/** Fields of the prediction hash (docs/redis.md); `json` holds the prediction (src/sink/prediction.ts). */
export const PREDICTION_FIELDS = ['version', 'deleted', 'json'] as const;

export type PredictionField = (typeof PREDICTION_FIELDS)[number];
