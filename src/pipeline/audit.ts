import { createHash } from 'node:crypto';
import type { RawRecord } from '../decode/types.js';
import type { AuditCountsV1, AuditEventV1, PredictionEventV1 } from '../emit/index.js';
import type { ModelStamp } from '../sink/index.js';
import type { DriftReport } from '../drift/index.js';

/** sha256 over the window's keys and values, length-prefixed so boundaries are unambiguous (-1: null). */
export function inputHash(records: readonly RawRecord[]): string {
  const h = createHash('sha256');
  const len = Buffer.alloc(4);
  for (const r of records) {
    for (const part of [r.key, r.value]) {
      len.writeInt32BE(part === null ? -1 : part.length, 0);
      h.update(len);
      if (part !== null) h.update(part);
    }
  }
  return h.digest('hex');
}

/** Deterministic: a window retried with the same records gets the same id. */
export function windowBatchId(pipeline: string, records: readonly RawRecord[]): string {
  const first = records[0];
  const last = records[records.length - 1];
  return `${pipeline}:${first?.topic}:${first?.partition}:${first?.offset}-${last?.offset}`;
}

export interface AuditInput {
  readonly batchId: string;
  readonly pipeline: string;
  readonly instance: string;
  readonly model: ModelStamp;
  readonly records: readonly RawRecord[];
  readonly counts: AuditCountsV1;
  /** The latest `as_of` of the window's prediction events; null when it emitted none. */
  readonly asOf: number | null;
  readonly openedAt: number;
  readonly closedAt: number;
  readonly stageMs: Readonly<Record<string, number>>;
  /** Set when the output guard quarantined the window's scores. */
  readonly quarantineReason?: string | null;
  /** The drift monitor's report after the window's rows (drift.enabled). */
  readonly drift?: DriftReport | null;
  /** Champion vs challenger (model.challenger). */
  readonly challenger?: AuditEventV1['challenger'];
}

/** The window's audit event: where its records came from, where each went, and what it emitted. */
export function buildAudit(a: AuditInput): AuditEventV1 {
  const first = a.records[0] as RawRecord;
  const last = a.records[a.records.length - 1] as RawRecord;
  return {
    schema_version: 1,
    batch_id: a.batchId,
    pipeline: a.pipeline,
    instance: a.instance,
    model: { name: a.model.name, version: a.model.version, sha256: a.model.sha256 },
    inputs: [
      {
        topic: first.topic,
        partition: first.partition,
        first_offset: Number(first.offset),
        last_offset: Number(last.offset),
      },
    ],
    counts: { ...a.counts },
    input_sha256: inputHash(a.records),
    opened_at: a.openedAt,
    closed_at: a.closedAt,
    as_of: a.asOf,
    stage_ms: { ...a.stageMs },
    outcome: 'COMMITTED',
    quarantine_reason: a.quarantineReason ?? null,
    drift:
      a.drift == null
        ? null
        : {
            rows: a.drift.rows,
            features: a.drift.features.map((f) => ({ ...f })),
            score_psi_reference: a.drift.score_psi_reference,
            score_psi_previous: a.drift.score_psi_previous,
            tier_mix_psi: a.drift.tier_mix_psi,
          },
    challenger: a.challenger ?? null,
  };
}

/**
 * The audit event of a chunk of `streamscore rescore` or `streamscore timers`: stored states scored again,
 * no input records (inputs empty, input_sha256 of nothing), its predictions counted, the latest as-of.
 * `verify` checks its scores like a window's.
 */
export function buildChunkAudit(a: {
  readonly batchId: string;
  readonly pipeline: string;
  readonly instance: string;
  readonly model: ModelStamp;
  readonly scored: number;
  readonly events: readonly PredictionEventV1[];
  readonly openedAt: number;
  readonly closedAt: number;
}): AuditEventV1 {
  let asOf: number | null = null;
  for (const e of a.events) if (asOf === null || e.as_of > asOf) asOf = e.as_of;
  return {
    schema_version: 1,
    batch_id: a.batchId,
    pipeline: a.pipeline,
    instance: a.instance,
    model: { name: a.model.name, version: a.model.version, sha256: a.model.sha256 },
    inputs: [],
    counts: {
      received: 0,
      decoded: 0,
      invalid: 0,
      coalesced: 0,
      scored: a.scored,
      deleted: 0,
      unchanged: 0,
      no_profile: 0,
      skipped: 0,
      entities_scored: a.scored,
      written_redis: a.scored,
      emitted: a.events.length,
      duplicates: 0,
    },
    input_sha256: inputHash([]),
    opened_at: a.openedAt,
    closed_at: a.closedAt,
    as_of: asOf,
    stage_ms: {},
    outcome: 'COMMITTED',
    quarantine_reason: null,
    drift: null,
    challenger: null,
  };
}
