/**
 * Per-feature drift of the scored vectors against the model's reference distributions, per window and over
 * a rolling horizon of the last `horizonRows` scored rows of this instance: PSI for every feature, KS for
 * the continuous ones, and the score's PSI against its reference and against the previous full horizon.
 * A feature is flagged once the horizon holds `minRows` rows and its PSI or KS crosses the threshold; what a
 * flag does (alert, or block the window) is the caller's.
 *
 * A window retried after a failed commit is observed again (its rows count twice in the horizon); drift
 * is a statistic, not an accounting.
 *
 * PSI comes from bin counts kept up to date row by row, so it is exact after every window. KS needs the
 * horizon's column sorted (the whole horizon, per continuous feature: about 5 ms per window with the
 * defaults, whatever the window's size), so it is not recomputed every window: at 2,000 events/s, windows
 * of a few rows each spent a quarter of the process's CPU in it. It is recomputed when the horizon is
 * first judged, once at least KS_REFRESH of the horizon's rows arrived since the last time, and whenever
 * the flag could have changed: k rows added to (or replacing rows of) a horizon of n rows move its
 * empirical CDF, and so its KS, by at most k / n, so while every feature's last KS is further than that
 * from the threshold, its flag is the one a recomputation would give. The flags (and `drift.action:
 * block`) are therefore exact after every window; the reported KS values are as of the last computation.
 */
import type { ReferenceDistributions } from '../models/index.js';
import { binOf, binsFromQuantiles, isContinuous, ks, psi, refCdf } from './stats.js';
import type { Bins } from './stats.js';

/** KS is recomputed at least after this share of the horizon's rows arrived (see above). */
export const KS_REFRESH = 0.1;

export interface DriftOptions {
  readonly horizonRows: number;
  readonly minRows: number;
  readonly psiThreshold: number;
  readonly ksThreshold: number;
}

export interface FeatureDrift {
  readonly name: string;
  /** PSI of this window's rows alone (noisy for small windows). */
  readonly psi_window: number;
  /** PSI over the horizon. */
  readonly psi: number;
  /**
   * KS over the horizon as of its last computation (at most KS_REFRESH of the horizon's rows ago; the flag
   * is always current, see above); null for discrete features and until the horizon holds minRows rows.
   */
  readonly ks: number | null;
  readonly flagged: boolean;
}

export interface DriftReport {
  /** Rows in the horizon. */
  readonly rows: number;
  readonly features: FeatureDrift[];
  readonly score_psi_reference: number;
  /** Against the previous full horizon; null until one has passed. */
  readonly score_psi_previous: number | null;
  /**
   * PSI of the horizon's tier mix (the share of scores in each tier of model.json's thresholds) against the
   * mix the reference score distribution implies; judged like a feature, reported as `(tier mix)` when flagged.
   */
  readonly tier_mix_psi: number;
  /** Names of the flagged features. */
  readonly flagged: string[];
  /** Flagged now, not at the previous observation … */
  readonly started: string[];
  /** … and the other way round. */
  readonly stopped: string[];
}

interface Column {
  readonly name: string;
  readonly bins: Bins;
  readonly continuous: boolean;
  readonly probs: readonly number[];
  readonly qs: readonly number[];
  readonly counts: number[];
}

export class DriftMonitor {
  readonly #opts: DriftOptions;
  readonly #columns: Column[];
  readonly #width: number;
  /** The horizon: row-major [horizonRows, width] vectors and their scores, as a ring. */
  readonly #values: Float32Array;
  readonly #scores: Float32Array;
  /** One column of the horizon at a time, for KS (sorted in place): allocated once, not per window. */
  readonly #sample: Float64Array;
  #next = 0;
  #size = 0;
  readonly #scoreBins: Bins;
  readonly #scoreCounts: number[];
  #previousScores: number[] | null = null;
  #sinceSnapshot = 0;
  #flagged = new Set<string>();
  /** Tier thresholds, highest `min` first, and the reference's share of each. */
  readonly #tiers: ReadonlyArray<{ readonly min: number }>;
  readonly #tierExpected: number[];
  readonly #tierCounts: number[];
  /** KS per feature at its last computation (null: a discrete feature); empty until the first. */
  #ks: Array<number | null> = [];
  #rowsSinceKs = 0;
  /** Rows in the horizon at the last KS computation. */
  #sizeAtKs = 0;
  readonly #ksEvery: number;

  constructor(
    reference: ReferenceDistributions,
    featureNames: readonly string[],
    opts: DriftOptions,
    thresholds: ReadonlyArray<{ readonly min: number }> = [],
  ) {
    this.#opts = opts;
    this.#width = featureNames.length;
    const probs = reference.quantile_probs;
    this.#columns = featureNames.map((name) => {
      const d = reference.features[name];
      const qs = d?.quantiles ?? [];
      const bins = binsFromQuantiles(probs, qs);
      return {
        name,
        bins,
        continuous: isContinuous(qs),
        probs,
        qs,
        counts: new Array<number>(bins.expected.length).fill(0),
      };
    });
    this.#values = new Float32Array(opts.horizonRows * this.#width);
    this.#scores = new Float32Array(opts.horizonRows);
    this.#sample = new Float64Array(opts.horizonRows);
    this.#scoreBins = binsFromQuantiles(probs, reference.score.quantiles);
    this.#scoreCounts = new Array<number>(this.#scoreBins.expected.length).fill(0);
    this.#tiers = [...thresholds].sort((a, b) => b.min - a.min);
    const sq = reference.score.quantiles;
    // P(tier) = F(next higher min) - F(own min), F the reference score CDF (below every min: no tier)
    this.#tierExpected = this.#tiers.map((t, i) => {
      const upper = i === 0 ? 1 : refCdf((this.#tiers[i - 1] as { min: number }).min, probs, sq);
      return Math.max(0, upper - refCdf(t.min, probs, sq));
    });
    this.#tierCounts = new Array<number>(this.#tiers.length).fill(0);
    this.#ksEvery = Math.max(1, Math.ceil(opts.horizonRows * KS_REFRESH));
  }

  /** Index of the score's tier (highest min not above it); -1 for none (NaN, below every tier). */
  #tierOf(s: number): number {
    for (let i = 0; i < this.#tiers.length; i++) if (s >= (this.#tiers[i] as { min: number }).min) return i;
    return -1;
  }

  /** Adds a window's scored rows (row-major matrix, one score per row) and reports the drift. */
  observe(matrix: Float32Array, rows: number, scores: Float32Array): DriftReport {
    const w = this.#width;
    const windowCounts = this.#columns.map((c) => new Array<number>(c.bins.expected.length).fill(0));
    for (let r = 0; r < rows; r++) {
      const slot = this.#next;
      if (this.#size === this.#opts.horizonRows) this.#evict(slot);
      else this.#size += 1;
      for (let f = 0; f < w; f++) {
        const v = matrix[r * w + f] as number;
        this.#values[slot * w + f] = v;
        const col = this.#columns[f] as Column;
        const b = binOf(col.bins, v);
        col.counts[b] = (col.counts[b] as number) + 1;
        const wc = windowCounts[f] as number[];
        wc[b] = (wc[b] as number) + 1;
      }
      const s = scores[r] as number;
      this.#scores[slot] = s;
      const sb = binOf(this.#scoreBins, s);
      this.#scoreCounts[sb] = (this.#scoreCounts[sb] as number) + 1;
      const tier = this.#tierOf(s);
      if (tier >= 0) this.#tierCounts[tier] = (this.#tierCounts[tier] as number) + 1;
      this.#next = (slot + 1) % this.#opts.horizonRows;
      if (++this.#sinceSnapshot >= this.#opts.horizonRows) {
        this.#previousScores = [...this.#scoreCounts];
        this.#sinceSnapshot = 0;
      }
    }
    this.#rowsSinceKs += rows;
    return this.#report(windowCounts);
  }

  #evict(slot: number): void {
    const w = this.#width;
    for (let f = 0; f < w; f++) {
      const col = this.#columns[f] as Column;
      const b = binOf(col.bins, this.#values[slot * w + f] as number);
      col.counts[b] = (col.counts[b] as number) - 1;
    }
    const sb = binOf(this.#scoreBins, this.#scores[slot] as number);
    this.#scoreCounts[sb] = (this.#scoreCounts[sb] as number) - 1;
    const tier = this.#tierOf(this.#scores[slot] as number);
    if (tier >= 0) this.#tierCounts[tier] = (this.#tierCounts[tier] as number) - 1;
  }

  /**
   * KS must be recomputed: never computed, KS_REFRESH of the horizon arrived, or a feature's last KS is
   * close enough to the threshold for the rows since to have moved it across (see above).
   */
  #ksDue(threshold: number): boolean {
    if (this.#ks.length === 0 || this.#rowsSinceKs >= this.#ksEvery) return true;
    if (this.#rowsSinceKs === 0) return false;
    // what the rows since can have moved KS by (with a margin for rounding)
    const reach = this.#rowsSinceKs / this.#sizeAtKs + 1e-9;
    return this.#ks.some((k) => k !== null && Math.abs(k - threshold) <= reach);
  }

  /** KS of one feature's column over the whole horizon against its reference. */
  #horizonKs(col: Column, f: number): number {
    const sample = this.#sample.subarray(0, this.#size);
    for (let r = 0; r < this.#size; r++) sample[r] = this.#values[r * this.#width + f] as number;
    return ks(sample, col.probs, col.qs);
  }

  #report(windowCounts: number[][]): DriftReport {
    const { minRows, psiThreshold, ksThreshold } = this.#opts;
    const judged = this.#size >= minRows;
    if (judged && this.#ksDue(ksThreshold)) {
      this.#ks = this.#columns.map((col, f) => (col.continuous ? this.#horizonKs(col, f) : null));
      this.#rowsSinceKs = 0;
      this.#sizeAtKs = this.#size;
    }
    const features = this.#columns.map((col, f): FeatureDrift => {
      const p = psi(col.bins.expected, col.counts);
      const k = judged ? (this.#ks[f] ?? null) : null;
      const flagged = judged && (p >= psiThreshold || (k !== null && k >= ksThreshold));
      return {
        name: col.name,
        psi_window: psi(col.bins.expected, windowCounts[f] as number[]),
        psi: p,
        ks: k,
        flagged,
      };
    });
    const previous = this.#previousScores;
    const tierMix = this.#tiers.length > 1 ? psi(this.#tierExpected, this.#tierCounts) : 0;
    const flagged = features.filter((x) => x.flagged).map((x) => x.name);
    if (judged && tierMix >= psiThreshold) flagged.push('(tier mix)');
    const now = new Set(flagged);
    const started = flagged.filter((n) => !this.#flagged.has(n));
    const stopped = [...this.#flagged].filter((n) => !now.has(n));
    this.#flagged = now;
    return {
      rows: this.#size,
      features,
      score_psi_reference: psi(this.#scoreBins.expected, this.#scoreCounts),
      score_psi_previous:
        previous === null
          ? null
          : psi(
              previous.map(
                (c) =>
                  c /
                  Math.max(
                    1,
                    previous.reduce((a, b) => a + b, 0),
                  ),
              ),
              this.#scoreCounts,
            ),
      tier_mix_psi: tierMix,
      flagged,
      started,
      stopped,
    };
  }
}
