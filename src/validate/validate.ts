import type { Decoded } from '../decode/types.js';
import { RecordRejected } from '../errors/index.js';

export type Verdict = 'keep' | 'skip';

export interface ValidateOptions {
  /** What a CDC truncate (`op=t`) means: an operator decision (DLQ) or nothing (skip). */
  readonly onTruncate: 'dlq' | 'skip';
}

/**
 * The input contract a decoded record must meet before it may touch state. `skip` records are accounted
 * for (audit `skipped`) but change nothing; a contract breach throws RecordRejected (→ DLQ). The
 * data-quality contracts of a later stage plug in here.
 */
export function validate(d: Decoded, opts: ValidateOptions): Verdict {
  if (d.kind !== 'cdc') return 'keep';
  if (d.op === 'm') return 'skip';
  if (d.op === 't') {
    if (opts.onTruncate === 'skip') return 'skip';
    throw new RecordRejected(
      'SS_CDC_TRUNCATE',
      `truncate of ${d.table ?? 'the table'}: an operator must decide what it means for predictions`,
    );
  }
  if (d.op !== 'd' && d.after === null) {
    throw new RecordRejected('SS_CONTRACT_VIOLATION', `op=${d.op} change without an "after" row`);
  }
  if (d.entityId === null) {
    throw new RecordRejected('SS_MISSING_ENTITY_ID', `op=${d.op} change without an entity id`);
  }
  return 'keep';
}
