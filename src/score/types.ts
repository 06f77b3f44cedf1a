import type { FeatureSpec } from '../features/types.js';
import type { Threshold } from '../models/types.js';

/** Scores of one batch, row r of the input matrix at index r. */
export interface ScoreBatch {
  /** Probabilities within the model's valid range; never NaN. */
  readonly scores: Float32Array;
  /** The tier of each score per the model's thresholds. */
  readonly tiers: readonly string[];
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
   * Scores a row-major float32 [rows, width] matrix with exactly one ONNX Runtime call.
   * @throws StreamscoreError SS_SCORE_FAILED when the run fails or any score is NaN or out of range; the
   * whole batch fails, so nothing of it is published.
   */
  score(matrix: Float32Array, rows: number): Promise<ScoreBatch>;
  /** Releases the model session; idempotent. */
  close(): Promise<void>;
}
