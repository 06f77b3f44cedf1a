/**
 * The output guardrail: before anything of a window is published, are its scores fit to publish? A score
 * outside the model's declared valid range (NaN and ±Infinity included) is never published; when more than
 * `maxInvalidShare` of a window's scores are such, the window fails the guard as a whole (a broken model or
 * broken features, not one odd entity), and the pipeline's policy decides: quarantine it and continue, or
 * hold. Pure: the caller carries the verdict out.
 */
import type { ScoreBatch, ScorerModelInfo } from '../score/index.js';

export interface GuardOptions {
  /** Share of a window's scores that may be invalid before the window fails (0: none may be). */
  readonly maxInvalidShare: number;
}

export interface GuardFailure {
  /** A reason code (docs/errors.md, "Output guardrails") and a readable account. */
  readonly check: 'score_range' | 'drift';
  readonly reason: string;
}

/** Null when the window may be published; else why not. */
export function guardScores(
  batch: ScoreBatch,
  rows: number,
  model: ScorerModelInfo,
  opts: GuardOptions,
): GuardFailure | null {
  const bad = batch.invalid;
  if (bad === null || rows === 0) return null;
  // an invalid score is never published, so any invalid score fails the window unless some are allowed
  if (bad.count / rows <= opts.maxInvalidShare && opts.maxInvalidShare > 0) return null;
  const [lo, hi] = model.validRange;
  return {
    check: 'score_range',
    reason: `model ${model.name}/${model.version} returned ${bad.count} of ${rows} scores outside its valid range [${lo}, ${hi}] (first: row ${bad.firstRow} = ${bad.firstValue}; guard.maxInvalidShare ${opts.maxInvalidShare})`,
  };
}
