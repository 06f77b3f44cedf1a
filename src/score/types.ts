import type { FeatureSpec } from '../features/types.js';
import type { Threshold } from '../models/types.js';

/** Rows whose score is NaN, infinite or outside the model's valid range. */
export interface InvalidScores {
  readonly count: number;
  readonly firstRow: number;
  readonly firstValue: number;
}

/** Scores of one batch, row r of the input matrix at index r. */
export interface ScoreBatch {
  /** As the model returned them: check `invalid` (the guard stage does) before publishing any. */
  readonly scores: Float32Array;
  /** The tier of each score per the model's thresholds; null for an invalid score. */
  readonly tiers: ReadonlyArray<string | null>;
  /** null when every score is within the model's valid range. */
  readonly invalid: InvalidScores | null;
}

/** What a prediction needs to name the model that made it. */
export interface ScorerModelInfo {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly featureSpec: FeatureSpec;
  readonly width: number;
  readonly thresholds: readonly Threshold[];
  readonly validRange: readonly [number, number];
}

export interface Scorer {
  readonly model: ScorerModelInfo;
  /**
   * Scores a row-major float32 [rows, width] matrix with exactly one ONNX Runtime call. Scores outside the
   * model's valid range are reported (`invalid`), not thrown: what they mean for the window is the guard
   * stage's decision (quarantine or halt); `requireValidScores` throws for callers without one.
   * @throws StreamscoreError SS_SCORE_FAILED when the run itself fails.
   */
  score(matrix: Float32Array, rows: number): Promise<ScoreBatch>;
  /** Releases the model session; idempotent. */
  close(): Promise<void>;
}
