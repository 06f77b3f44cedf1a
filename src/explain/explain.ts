/**
 * Reason codes: for every scored row, the top-k features by the size of their contribution, signed, with
 * the value they had. A contribution is measured against the model's reference (the training split's mean
 * of each feature, model.json `reference`), on the link scale: the logit for a score in [0, 1], the score
 * itself otherwise.
 *  - `linear` (exact; a linear-logit graph, see linear.ts): contributionⱼ = wⱼ·(xⱼ − refⱼ), and
 *    base = b + Σ wⱼ·refⱼ, so base + Σ all contributions = the logit (in float64; the graph itself
 *    computes in float32). `rest` is the sum of the contributions outside the top k.
 *  - `substitution` (any model): contributionⱼ = link(score(x)) − link(score(x with xⱼ := refⱼ)), scored in
 *    the window's one ONNX run (the window's rows, then one substituted copy per row and feature, then the
 *    reference vector, which gives `base`). It measures each feature alone: with interactions the
 *    contributions do not add up, and `rest` = link(score) − base − Σ top-k holds what they leave out.
 */
export type ExplainMethod = 'linear' | 'substitution';

export interface Reason {
  readonly feature: string;
  readonly contribution: number;
  /** The feature's value in the scored vector (after the spec's transforms, as in `features`). */
  readonly value: number;
}

export interface Explanation {
  readonly method: ExplainMethod;
  readonly link: 'logit' | 'identity';
  readonly base: number;
  readonly rest: number;
  readonly top: readonly Reason[];
}

export interface Explainer {
  readonly method: ExplainMethod;
  /** The matrix to score in place of the window's: the window's rows first (substitution appends). */
  augment(matrix: Float32Array, rows: number): { readonly matrix: Float32Array; readonly rows: number };
  /** One explanation per window row, from the scores of the augmented matrix. */
  explain(matrix: Float32Array, rows: number, scores: Float32Array): Explanation[];
}

export interface ExplainerOptions {
  readonly features: readonly string[];
  /** Per feature, the reference value contributions are measured against. */
  readonly reference: Float64Array;
  readonly topK: number;
  /** The score is a probability: contributions on the logit scale. */
  readonly probability: boolean;
}

const EPS = 1e-7;
const logit = (p: number) => {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
};

/**
 * Indices of the k largest |c|, largest first; ties go to the earlier feature. A selection in one pass
 * (k is small): no index array to sort per row.
 */
export function topIndices(c: Float64Array, k: number): number[] {
  const n = Math.min(k, c.length);
  const top: number[] = [];
  if (n <= 0) return top;
  for (let j = 0; j < c.length; j++) {
    const a = Math.abs(c[j] as number);
    if (top.length === n) {
      if (!(a > Math.abs(c[top[n - 1] as number] as number))) continue;
      top.pop();
    }
    let i = top.length;
    while (i > 0 && a > Math.abs(c[top[i - 1] as number] as number)) i--;
    top.splice(i, 0, j);
  }
  return top;
}

/** One row's explanation; the row is matrix[at .. at + width). */
function explanationOf(
  o: ExplainerOptions,
  method: ExplainMethod,
  link: Explanation['link'],
  c: Float64Array,
  base: number,
  total: number,
  matrix: Float32Array,
  at: number,
): Explanation {
  const top = topIndices(c, o.topK);
  let sum = 0;
  for (const j of top) sum += c[j] as number;
  return {
    method,
    link,
    base,
    rest: total - base - sum,
    top: top.map((j) => ({
      feature: o.features[j] as string,
      contribution: c[j] as number,
      value: matrix[at + j] as number,
    })),
  };
}

export function linearExplainer(o: ExplainerOptions, weights: Float64Array, bias: number): Explainer {
  const width = o.features.length;
  let base = bias;
  for (let j = 0; j < width; j++) base += (weights[j] as number) * (o.reference[j] as number);
  return {
    method: 'linear',
    augment: (matrix, rows) => ({ matrix, rows }),
    explain(matrix, rows) {
      const out: Explanation[] = [];
      const c = new Float64Array(width);
      for (let r = 0; r < rows; r++) {
        const at = r * width;
        let total = base;
        for (let j = 0; j < width; j++) {
          c[j] = (weights[j] as number) * ((matrix[at + j] as number) - (o.reference[j] as number));
          total += c[j] as number;
        }
        out.push(explanationOf(o, 'linear', 'logit', c, base, total, matrix, at));
      }
      return out;
    },
  };
}

export function substitutionExplainer(o: ExplainerOptions): Explainer {
  const width = o.features.length;
  const link = o.probability ? logit : (s: number) => s;
  return {
    method: 'substitution',
    augment(matrix, rows) {
      const total = rows + rows * width + 1;
      const out = new Float32Array(total * width);
      out.set(matrix.subarray(0, rows * width));
      for (let r = 0; r < rows; r++) {
        const row = matrix.subarray(r * width, (r + 1) * width);
        for (let j = 0; j < width; j++) {
          const at = (rows + r * width + j) * width;
          out.set(row, at);
          out[at + j] = o.reference[j] as number;
        }
      }
      const ref = (rows + rows * width) * width;
      for (let j = 0; j < width; j++) out[ref + j] = o.reference[j] as number;
      return { matrix: out, rows: total };
    },
    explain(matrix, rows, scores) {
      const base = link(scores[rows + rows * width] as number);
      const out: Explanation[] = [];
      const c = new Float64Array(width);
      for (let r = 0; r < rows; r++) {
        const total = link(scores[r] as number);
        for (let j = 0; j < width; j++) c[j] = total - link(scores[rows + r * width + j] as number);
        out.push(
          explanationOf(
            o,
            'substitution',
            o.probability ? 'logit' : 'identity',
            c,
            base,
            total,
            matrix,
            r * width,
          ),
        );
      }
      return out;
    },
  };
}
