import type { Row } from '../decode/types.js';
import type { EventForFeatures } from '../features/index.js';

/** What APPLY reports for one entity. */
export interface AppliedState {
  readonly entityId: string;
  readonly cdc: 'none' | 'applied' | 'stale';
  readonly eventsApplied: number;
  readonly eventsUnchanged: number;
  /** State version after this window. */
  readonly stateVersion: number;
  /** Version of the stored prediction (0 when none). */
  readonly predictionVersion: number;
  readonly deleted: boolean;
  /** The entity's event-time clock: the as-of time of a prediction made from this state. */
  readonly asOfMs: number;
  readonly profile: Row | null;
  readonly events: readonly EventForFeatures[];
  /** The stored prediction when it already reflects this state (stateVersion === predictionVersion). */
  readonly storedPrediction: Readonly<Record<string, string>> | null;
}

/** A prediction as stored in Redis and emitted on the predictions topic. */
export interface PredictionRecord {
  readonly entityId: string;
  readonly kind: 'upsert' | 'delete';
  readonly version: number;
  readonly score: number | null;
  readonly tier: string | null;
  readonly features: Float32Array | null;
  readonly asOfMs: number;
  readonly scoredAtMs: number;
  readonly validUntilMs: number | null;
  readonly batchId: string;
  readonly trigger: { readonly topic: string; readonly partition: number; readonly offset: string };
}

export interface ModelStamp {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly trainingRunId: string;
  readonly featureVersion: string;
}
