import type { Decoded, RawRecord } from '../decode/types.js';
import { rejected } from '../decode/index.js';
import type { RecordCheck } from './check.js';

export type Verdict = 'keep' | 'skip';

export interface ValidateOptions {
  /** What a CDC truncate (`op=t`) means: an operator decision (DLQ) or nothing (skip). */
  readonly onTruncate: 'dlq' | 'skip';
  /** The input's compiled contract (types, rules, entity id, event time); none: only the op rules. */
  readonly check?: RecordCheck;
}

/**
 * The input contract a decoded record must meet before it may touch state. `skip` records are accounted
 * for (audit `skipped`) but change nothing; a breach throws RecordRejected (→ DLQ with its reason code).
 */
export function validate(d: Decoded, raw: RawRecord, opts: ValidateOptions, nowMs: number): Verdict {
  if (d.kind === 'cdc') {
    if (d.op === 'm') return 'skip';
    if (d.op === 't') {
      if (opts.onTruncate === 'skip') return 'skip';
      throw rejected(
        'SS_CDC_TRUNCATE',
        `truncate of ${d.table ?? 'the table'}: an operator must decide what it means for predictions`,
        raw,
      );
    }
    if (d.op !== 'd' && d.after === null) {
      throw rejected('SS_CONTRACT_VIOLATION', `op=${d.op} change without an "after" row`, raw);
    }
    if (d.entityId === null) {
      throw rejected('SS_MISSING_ENTITY_ID', `op=${d.op} change without an entity id`, raw);
    }
  }
  opts.check?.(d, raw, nowMs);
  return 'keep';
}
