import type { AuditCountsV1 } from '../emit/index.js';

export function emptyCounts(): AuditCountsV1 {
  return {
    received: 0,
    decoded: 0,
    invalid: 0,
    coalesced: 0,
    scored: 0,
    deleted: 0,
    unchanged: 0,
    no_profile: 0,
    skipped: 0,
    entities_scored: 0,
    written_redis: 0,
    emitted: 0,
    duplicates: 0,
  };
}

/** The no-loss invariant of one window: every received record is in exactly one bucket. */
export function accountedFor(c: AuditCountsV1): boolean {
  return (
    c.received === c.decoded + c.invalid &&
    c.decoded === c.scored + c.coalesced + c.deleted + c.unchanged + c.no_profile + c.skipped
  );
}

/** Wall-clock stage timer for the audit's stage_ms and the stage histogram. */
export class StageTimer {
  readonly stages: Record<string, number> = {};
  #last = performance.now();

  lap(stage: string): number {
    const now = performance.now();
    const ms = now - this.#last;
    this.stages[stage] = (this.stages[stage] ?? 0) + ms;
    this.#last = now;
    return ms;
  }
}
