/**
 * One ONNX run for a matrix of rows, with reason codes when the model has an explainer: the window's rows
 * (and, for substitution, their substituted copies, scored in the same run) give the scores and one
 * explanation per row. Shared by the pipeline's windows and `streamscore rescore`.
 */
import type { ScoreBatch, Scorer } from '../score/index.js';
import type { Explainer, Explanation } from './explain.js';

export interface ExplainedScores {
  /** The scores of the given rows only (substituted copies left out). */
  readonly scored: ScoreBatch;
  /** One explanation per row; null without an explainer. */
  readonly reasons: Explanation[] | null;
}

export async function scoreExplained(
  scorer: Scorer,
  explainer: Explainer | null,
  matrix: Float32Array,
  rows: number,
): Promise<ExplainedScores> {
  if (rows === 0) return { scored: { scores: new Float32Array(0), tiers: [], invalid: null }, reasons: null };
  const run = explainer === null ? { matrix, rows } : explainer.augment(matrix, rows);
  const all = await scorer.score(run.matrix, run.rows);
  const scored = run.rows === rows ? all : firstRows(all, rows);
  const reasons = explainer === null ? null : explainer.explain(matrix, rows, all.scores);
  return { scored, reasons };
}

/** The scores of the first `rows` rows of a batch (the window's own, before any substituted copies). */
function firstRows(b: ScoreBatch, rows: number): ScoreBatch {
  const tiers = b.tiers.slice(0, rows);
  let count = 0;
  let first = -1;
  tiers.forEach((t, r) => {
    if (t !== null) return;
    count++;
    if (first < 0) first = r;
  });
  return {
    scores: b.scores.subarray(0, rows),
    tiers,
    invalid: count === 0 ? null : { count, firstRow: first, firstValue: b.scores[first] as number },
  };
}
