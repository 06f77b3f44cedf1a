/**
 * Drift statistics against a reference given as quantiles (model.json `reference`: values at
 * `quantile_probs`). Small and pure; unit-tested against values worked out by hand.
 *
 * - Bins: the reference's distinct interior quantiles cut the line into right-closed bins
 *   (-∞, e1], (e1, e2], …, (ek, ∞). A value repeated over several quantiles is an atom: its bin gets all the
 *   probability up to the last quantile holding it, so discrete features (counts, one-hot 0/1) bin sensibly.
 * - PSI = Σ (a − e) · ln(a / e) over the bins, with both shares floored at 1e-4 (an empty bin would be ∞).
 *   Rule of thumb: < 0.1 no shift, 0.1–0.25 moderate, > 0.25 a shift worth acting on.
 * - KS (one sample) = sup |F_n(x) − F_ref(x)|, F_ref linear between the reference quantiles. Only for
 *   continuous features: with atoms the interpolated CDF is not the reference's, and D would measure that.
 */

const FLOOR = 1e-4;

export interface Bins {
  /** Upper edges of every bin but the last (which is open to +∞), strictly increasing. */
  readonly edges: readonly number[];
  /** Reference share of each bin (edges.length + 1 of them), summing to 1. */
  readonly expected: readonly number[];
}

/** Right-continuous reference CDF at `v`, from quantiles (probabilities `probs`, values `qs`). */
function refCdfAtAtom(v: number, probs: readonly number[], qs: readonly number[]): number {
  let p = 0;
  for (let i = 0; i < qs.length; i++) if ((qs[i] as number) <= v) p = probs[i] as number;
  return p;
}

/** Bins from reference quantiles (the first and last quantiles are the min and max, not edges). */
export function binsFromQuantiles(probs: readonly number[], qs: readonly number[]): Bins {
  const interior = qs.slice(1, -1);
  const edges = [...new Set(interior)].sort((a, b) => a - b);
  const expected: number[] = [];
  let prev = 0;
  for (const e of edges) {
    const p = refCdfAtAtom(e, probs, qs);
    expected.push(p - prev);
    prev = p;
  }
  expected.push(1 - prev);
  return { edges, expected };
}

/** Index of the bin holding `v` (binary search over the right-closed edges). */
export function binOf(bins: Bins, v: number): number {
  let lo = 0;
  let hi = bins.edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= (bins.edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** PSI of observed bin counts against expected shares. */
export function psi(expected: readonly number[], counts: readonly number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(FLOOR, expected[i] as number);
    const a = Math.max(FLOOR, (counts[i] ?? 0) / n);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** The reference CDF, linear between quantiles, 0 below the first and 1 above the last. */
export function refCdf(v: number, probs: readonly number[], qs: readonly number[]): number {
  const n = qs.length;
  if (n === 0) return 0;
  if (v < (qs[0] as number)) return 0;
  if (v >= (qs[n - 1] as number)) return 1;
  for (let i = 1; i < n; i++) {
    const hi = qs[i] as number;
    if (v < hi) {
      const lo = qs[i - 1] as number;
      const plo = probs[i - 1] as number;
      const phi = probs[i] as number;
      return hi === lo ? phi : plo + ((phi - plo) * (v - lo)) / (hi - lo);
    }
  }
  return 1;
}

/** One-sample KS statistic of `sample` (sorted in place) against the reference quantiles. */
export function ks(sample: Float64Array, probs: readonly number[], qs: readonly number[]): number {
  const n = sample.length;
  if (n === 0) return 0;
  sample.sort();
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = refCdf(sample[i] as number, probs, qs);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}

/** Reference quantiles all distinct: a continuous feature, for which KS means what it says. */
export function isContinuous(qs: readonly number[]): boolean {
  for (let i = 1; i < qs.length; i++) if ((qs[i] as number) <= (qs[i - 1] as number)) return false;
  return qs.length > 2;
}
