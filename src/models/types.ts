import type { FeatureSpec } from '../features/types.js';

/** Where a model lives: `<dir>/<name>/<version>/{model.onnx,model.json}`. */
export interface ModelRef {
  readonly dir: string;
  readonly name: string;
  readonly version: string;
}

/** What a score means and may be used for; shipped to Redis readers and prediction consumers as is. */
export interface ModelSemantics {
  readonly score_meaning: string;
  /** Scores outside [lo, hi] (or NaN) fail the batch: the model is not doing what its contract says. */
  readonly valid_range: readonly [number, number];
  readonly intended_use: string;
  readonly known_limitations: readonly string[];
}

/** A tier applies from `min` (inclusive) up to the next tier's `min`; sorted ascending, first min = range low. */
export interface Threshold {
  readonly tier: string;
  readonly min: number;
}

/** A summary of one distribution on the training split; drift checks compare live values to it. */
export interface Distribution {
  readonly count: number;
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** Values at `reference.quantile_probs`, same length. */
  readonly quantiles: readonly number[];
  /** Share of rows whose source field was missing before `default` (profile field features only). */
  readonly missing_rate?: number;
}

export interface ReferenceDistributions {
  readonly quantile_probs: readonly number[];
  /** One entry per feature of the spec, keyed by feature name, over the vector values (after transforms). */
  readonly features: Readonly<Record<string, Distribution>>;
  readonly score: Distribution;
}

export interface EvalMetrics {
  readonly rows: number;
  readonly positive_rate: number;
  readonly auc: number;
  readonly logloss: number;
}

/** model.json: everything needed to serve, audit and reproduce a model version. */
export interface ModelManifest {
  readonly manifest_version: 1;
  readonly name: string;
  readonly version: string;
  readonly training_run_id: string;
  /** ISO-8601. */
  readonly trained_at: string;
  /** Lower-case hex sha256 of model.onnx; checked on every load. */
  readonly onnx_sha256: string;
  readonly feature_spec: FeatureSpec;
  readonly input_name: string;
  readonly output_name: string;
  /** `[batch, F]`: the batch dimension is symbolic (a string), F equals the number of features. */
  readonly input_shape: readonly [string, number];
  /** For an output of shape [N, C] (e.g. class probabilities), the column holding the score. */
  readonly output_column?: number;
  readonly semantics: ModelSemantics;
  readonly thresholds: readonly Threshold[];
  readonly reference: ReferenceDistributions;
  readonly metrics: { readonly holdout: EvalMetrics; readonly train?: EvalMetrics };
  /** Free-form lineage of the training run (generator, seed, rows, hyper-parameters). */
  readonly training: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The one thing the pipeline asks of ONNX Runtime. Only src/models/load.ts talks to onnxruntime-node;
 * everything else sees this.
 */
export interface ModelRunner {
  /** Exactly one `session.run()` on a float32 [rows, width] tensor; one score per row. */
  run(matrix: Float32Array, rows: number): Promise<Float32Array>;
  /** Idempotent. */
  release(): Promise<void>;
}

/** A model whose bytes matched its manifest's sha256 and whose signature fits its feature spec. */
export interface LoadedModel {
  readonly ref: ModelRef;
  /** Resolved `<dir>/<name>/<version>`. */
  readonly path: string;
  readonly onnxPath: string;
  readonly manifest: ModelManifest;
  readonly featureSpec: FeatureSpec;
  /** Number of features F: the width of every row. */
  readonly width: number;
  readonly sha256: string;
  readonly runner: ModelRunner;
  /** Releases the ONNX session; idempotent. */
  close(): Promise<void>;
}

export interface LoadModelOptions {
  /** ONNX Runtime intra-op threads (1 or 2 on a 2-core box; the event loop needs the rest). */
  readonly intraOpNumThreads?: number;
}
