import type { Explanation } from '../explain/index.js';
/** A prediction as stored in Redis and emitted on the predictions topic (the store assigns its version). */
export interface PredictionRecord {
  readonly entityId: string;
  readonly kind: 'upsert' | 'delete';
  readonly score: number | null;
  readonly tier: string | null;
  readonly features: Float32Array | null;
  readonly asOfMs: number;
  readonly scoredAtMs: number;
  readonly validUntilMs: number | null;
  readonly batchId: string;
  readonly trigger: { readonly topic: string; readonly partition: number; readonly offset: string };
  /** The `applied` positions of the state it was computed from (per `topic/partition`; see EntityState). */
  readonly basis: Readonly<Record<string, string>>;
  /** Reason codes (reasons.topK > 0); null for deletes, when off, and for the challenger. */
  readonly reasons?: Explanation | null;
}

export interface ModelStamp {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly trainingRunId: string;
  readonly featureVersion: string;
}
