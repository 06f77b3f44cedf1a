import { StreamscoreError } from '../errors/index.js';
import { loadModel } from '../models/index.js';
import type { LoadedModel, Threshold } from '../models/index.js';
import { scorerOptionsSchema } from './options.js';
import type { ScorerOptions } from './options.js';
import type { ScoreBatch, Scorer, ScorerModelInfo } from './types.js';

/**
 * The tier a score falls in: the threshold with the highest `min` not above the score.
 * @throws RangeError for NaN or a score below every tier (the scorer rejects those before asking).
 */
export function tierFor(thresholds: readonly Threshold[], score: number): string {
  let best: Threshold | undefined;
  for (const t of thresholds) {
    if (score >= t.min && (best === undefined || t.min > best.min)) best = t;
  }
  if (best === undefined) throw new RangeError(`score ${score} is below every tier`);
  return best.tier;
}

/**
 * For callers that publish whatever they score and have no guard stage (the Redis rebuild): the whole
 * batch fails when any score is NaN or outside the model's valid range.
 * @throws StreamscoreError SS_SCORE_FAILED, naming the first bad row
 */
export function requireValidScores(batch: ScoreBatch, model: ScorerModelInfo): ScoreBatch {
  const bad = batch.invalid;
  if (bad === null) return batch;
  const [lo, hi] = model.validRange;
  throw new StreamscoreError(
    'SS_SCORE_FAILED',
    `model ${model.name}/${model.version} returned ${bad.count} of ${batch.scores.length} scores outside its valid range [${lo}, ${hi}] ` +
      `(first: row ${bad.firstRow} = ${bad.firstValue})`,
    {
      details: {
        model: model.name,
        version: model.version,
        badRows: bad.count,
        firstRow: bad.firstRow,
        firstValue: bad.firstValue,
      },
    },
  );
}

class OnnxScorer implements Scorer {
  readonly model: ScorerModelInfo;
  readonly #loaded: LoadedModel;

  constructor(loaded: LoadedModel) {
    this.#loaded = loaded;
    const { manifest } = loaded;
    this.model = Object.freeze({
      name: manifest.name,
      version: manifest.version,
      sha256: loaded.sha256,
      featureSpec: loaded.featureSpec,
      width: loaded.width,
      thresholds: manifest.thresholds,
      validRange: manifest.semantics.valid_range,
    });
  }

  async score(matrix: Float32Array, rows: number): Promise<ScoreBatch> {
    if (rows === 0 && matrix.length === 0) return { scores: new Float32Array(0), tiers: [], invalid: null };
    const scores = await this.#loaded.runner.run(matrix, rows);
    const [lo, hi] = this.model.validRange;
    let bad = 0;
    let first = -1;
    const tiers = new Array<string | null>(rows);
    for (let r = 0; r < rows; r++) {
      const s = scores[r] as number;
      // Written so that NaN fails too.
      if (s >= lo && s <= hi) tiers[r] = tierFor(this.model.thresholds, s);
      else {
        tiers[r] = null;
        bad++;
        if (first < 0) first = r;
      }
    }
    const invalid = bad === 0 ? null : { count: bad, firstRow: first, firstValue: scores[first] as number };
    return { scores, tiers, invalid };
  }

  close(): Promise<void> {
    return this.#loaded.close();
  }
}

/** A scorer over an already loaded (and verified) model; closing the scorer closes the model. */
export function createScorer(model: LoadedModel): Scorer {
  return new OnnxScorer(model);
}

/** Loads, verifies and wraps `<dir>/<name>/<version>`; see `loadModel` for the checks and their errors. */
export async function openScorer(options: ScorerOptions = {}): Promise<Scorer> {
  const { dir, name, version, intraOpNumThreads } = scorerOptionsSchema.parse(options);
  return createScorer(await loadModel(dir, name, version, { intraOpNumThreads }));
}
