/**
 * Fitting and evaluation for the training script: standardisation, L2-regularised logistic regression by
 * Newton's method (IRLS), AUC, log loss and reference distributions. Everything is plain float64 loops in a
 * fixed order, so the same data gives the same bits.
 */
import type { Distribution, EvalMetrics } from '../../src/models/index.js';

export const QUANTILE_PROBS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

/** A row-major N×F float32 matrix and the rows of it a computation may look at. */
export interface Dataset {
  readonly x: Float32Array;
  readonly y: Uint8Array;
  readonly width: number;
  readonly rows: readonly number[];
}

export function column(data: Dataset, j: number): Float64Array {
  const out = new Float64Array(data.rows.length);
  data.rows.forEach((r, k) => (out[k] = data.x[r * data.width + j] as number));
  return out;
}

export function meanStd(values: Float64Array): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(ss / values.length) };
}

/** Solves A·x = b for a symmetric positive-definite A (Cholesky); A is n×n row-major. */
function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * n + k] as number) * (l[j * n + k] as number);
      if (i === j) {
        if (!(s > 0)) throw new Error('Hessian is not positive definite; raise --l2');
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / (l[j * n + j] as number);
      }
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * n + k] as number) * (z[k] as number);
    z[i] = s / (l[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  return x;
}

export interface LogisticFit {
  readonly weights: number[];
  readonly bias: number;
  readonly iterations: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Minimises summed log loss + (l2 / 2)·|w|² (bias not penalised) by Newton steps. Newton rather than plain
 * gradient descent: with ~20 features the Hessian is tiny, and it converges to the optimum in a handful
 * of exact steps instead of depending on a learning rate and an iteration budget.
 */
export function fitLogistic(data: Dataset, l2: number, maxIterations = 50, tolerance = 1e-10): LogisticFit {
  const f = data.width;
  const n = f + 1; // index 0 is the bias
  const beta = new Float64Array(n);
  const row = new Float64Array(n);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const grad = new Float64Array(n);
    const hess = new Float64Array(n * n);
    for (const r of data.rows) {
      row[0] = 1;
      for (let j = 0; j < f; j++) row[j + 1] = data.x[r * f + j] as number;
      let z = 0;
      for (let j = 0; j < n; j++) z += (beta[j] as number) * (row[j] as number);
      const p = sigmoid(z);
      const w = p * (1 - p);
      const residual = p - (data.y[r] as number);
      for (let i = 0; i < n; i++) {
        grad[i] = (grad[i] as number) + residual * (row[i] as number);
        for (let j = 0; j <= i; j++)
          hess[i * n + j] = (hess[i * n + j] as number) + w * (row[i] as number) * (row[j] as number);
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) hess[j * n + i] = hess[i * n + j] as number;
      if (i > 0) {
        grad[i] = (grad[i] as number) + l2 * (beta[i] as number);
        hess[i * n + i] = (hess[i * n + i] as number) + l2;
      }
    }
    const step = solveSpd(hess, grad, n);
    let largest = 0;
    for (let i = 0; i < n; i++) {
      beta[i] = (beta[i] as number) - (step[i] as number);
      largest = Math.max(largest, Math.abs(step[i] as number));
    }
    if (largest < tolerance) {
      iterations++;
      break;
    }
  }
  return { weights: Array.from(beta.subarray(1)), bias: beta[0] as number, iterations };
}

/** Area under the ROC curve (Mann–Whitney, ties counted half). */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number) || a - b,
  );
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1] as number] === scores[idx[i] as number]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k] as number] === 1) {
        rankSumPos += avgRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = scores.length - pos;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function logloss(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const eps = 1e-7;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, scores[i] as number));
    sum += labels[i] === 1 ? -Math.log(p) : -Math.log(1 - p);
  }
  return sum / scores.length;
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

export function evaluate(scores: ArrayLike<number>, labels: ArrayLike<number>): EvalMetrics {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] as number;
  return {
    rows: labels.length,
    positive_rate: round6(positives / labels.length),
    auc: round6(auc(scores, labels)),
    logloss: round6(logloss(scores, labels)),
  };
}

/** Linear-interpolation quantiles (R type 7) over a copy of the values. */
export function distribution(values: ArrayLike<number>, missingRate?: number): Distribution {
  const sorted = Float64Array.from(values).sort();
  const { mean, std } = meanStd(sorted);
  const at = (p: number): number => {
    const h = (sorted.length - 1) * p;
    const lo = Math.floor(h);
    const a = sorted[lo] as number;
    const b = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
    return a + (h - lo) * (b - a);
  };
  return {
    count: sorted.length,
    mean,
    std,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    quantiles: QUANTILE_PROBS.map(at),
    ...(missingRate === undefined ? {} : { missing_rate: round6(missingRate) }),
  };
}
