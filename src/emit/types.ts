/**
 * The prediction event, as in schemas/predictions-value.avsc (schema_version 2: v1 plus `reasons`; 3: plus
 * `trigger`; 4: plus `basis`).
 */
export interface PredictionEventV1 {
  schema_version: number;
  event_type: 'UPSERT' | 'DELETE';
  entity_id: string;
  score: number | null;
  tier: string | null;
  model: { name: string; version: string; sha256: string; training_run_id: string };
  feature_version: string;
  features: number[];
  as_of: number;
  scored_at: number;
  valid_until: number | null;
  version: number;
  inputs: Array<{ topic: string; partition: number; offset: number }>;
  batch_id: string;
  pipeline: string;
  /** Reason codes (schema_version 2); null for deletes, shadow events, and when off. */
  reasons: {
    method: string;
    link: string;
    base: number;
    rest: number;
    top: Array<{ feature: string; contribution: number; value: number }>;
  } | null;
  /** What made it (schema_version 3): a window's input records, or `streamscore rescore`. */
  trigger: PredictionTrigger;
  /** The state's basis (schema_version 4): per input partition, the newest of the entity's records applied. */
  basis: Array<{ topic: string; partition: number; offset: number }> | null;
}

export type PredictionTrigger = 'INPUT' | 'RESCORE' | 'TIMER';

export interface AuditCountsV1 {
  received: number;
  decoded: number;
  invalid: number;
  coalesced: number;
  scored: number;
  deleted: number;
  unchanged: number;
  no_profile: number;
  skipped: number;
  entities_scored: number;
  written_redis: number;
  emitted: number;
  /** Not a bucket: redeliveries among the decoded records (dropped; counted in unchanged or coalesced). */
  duplicates: number;
}

/** The audit event, as in schemas/audit-value.avsc (v1). */
export interface AuditEventV1 {
  schema_version: number;
  batch_id: string;
  pipeline: string;
  instance: string;
  model: { name: string; version: string; sha256: string };
  inputs: Array<{ topic: string; partition: number; first_offset: number; last_offset: number }>;
  counts: AuditCountsV1;
  input_sha256: string;
  opened_at: number;
  closed_at: number;
  as_of: number | null;
  stage_ms: Record<string, number>;
  outcome: 'COMMITTED';
  /** Set when the output guard refused the window's scores (the window is quarantined); else null. */
  quarantine_reason: string | null;
  /** Drift of the scored vectors after this window (null when drift is off or nothing was scored). */
  drift: {
    rows: number;
    features: Array<{ name: string; psi_window: number; psi: number; ks: number | null; flagged: boolean }>;
    score_psi_reference: number;
    score_psi_previous: number | null;
    tier_mix_psi: number;
  } | null;
  /** Champion vs challenger (model.challenger) on this window and over the horizon; null without one. */
  challenger: {
    version: string;
    sha256: string;
    window: ReconcileStatsV1;
    horizon: ReconcileStatsV1;
  } | null;
}

export interface ReconcileStatsV1 {
  rows: number;
  mean_abs_diff: number;
  tier_agreement: number;
  rank_correlation: number | null;
  decision_changed: number;
}

/** Headers of a quarantined prediction (its value is the JSON of what would have been published). */
export const QUARANTINE_HEADERS = {
  reason: 'ss.quarantine.reason',
  batch: 'ss.batch.id',
  pipeline: 'ss.pipeline',
} as const;

/** Reason headers added to a dead-lettered record (its own key, value and headers are kept as they were). */
export const DLQ_HEADERS = {
  code: 'ss.error.code',
  message: 'ss.error.message',
  topic: 'ss.source.topic',
  partition: 'ss.source.partition',
  offset: 'ss.source.offset',
  batch: 'ss.batch.id',
  pipeline: 'ss.pipeline',
} as const;

/** A record ready for the producer. */
export interface OutMessage {
  readonly key: Buffer | string | null;
  readonly value: Buffer | null;
  readonly headers?: Record<string, Buffer | string>;
}
