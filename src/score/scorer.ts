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
    if (rows === 0 && matrix.length === 0) return { scores: new Float32Array(0), tiers: [] };
    const scores = await this.#loaded.runner.run(matrix, rows);
    const [lo, hi] = this.model.validRange;
    let bad = 0;
    let first = -1;
    for (let r = 0; r < rows; r++) {
      const s = scores[r] as number;
      // Written so that NaN fails too.
      if (!(s >= lo && s <= hi)) {
        bad++;
        if (first < 0) first = r;
      }
    }
    if (bad > 0) {
      const { name, version } = this.model;
      throw new StreamscoreError(
        'SS_SCORE_FAILED',
        `model ${name}/${version} returned ${bad} of ${rows} scores outside its valid range [${lo}, ${hi}] ` +
          `(first: row ${first} = ${scores[first]})`,
        { details: { model: name, version, badRows: bad, firstRow: first, firstValue: scores[first] } },
      );
    }
    const tiers = new Array<string>(rows);
    for (let r = 0; r < rows; r++) tiers[r] = tierFor(this.model.thresholds, scores[r] as number);
    return { scores, tiers };
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
