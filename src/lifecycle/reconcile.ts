/**
 * Champion / challenger reconciliation: how far the challenger's scores are from the champion's on the
 * same rows, per window and over a rolling horizon of the instance's last `horizonRows` scored rows.
 *  - mean absolute score difference;
 *  - tier agreement: share of rows both put in the same tier;
 *  - rank correlation: Spearman's rho (ties get their average rank); null below 2 rows or when either
 *    side has no spread;
 *  - decision changed: share of rows where one model puts the entity in the action tier (the highest, e.g.
 *    `high` for retention outreach) and the other does not.
 */
export interface ReconcileStats {
  readonly rows: number;
  readonly mean_abs_diff: number;
  readonly tier_agreement: number;
  readonly rank_correlation: number | null;
  readonly decision_changed: number;
}

export interface ScoredPair {
  readonly champion: number;
  readonly challenger: number;
  readonly championTier: string | null;
  readonly challengerTier: string | null;
}

/** Average ranks (1-based; ties share the mean of their positions). */
export function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (values[a] as number) - (values[b] as number),
  );
  const out = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && values[order[j + 1] as number] === values[order[i] as number]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k] as number] = rank;
    i = j + 1;
  }
  return out;
}

/** Spearman's rho: the Pearson correlation of the ranks; null when undefined. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  const n = a.length;
  if (n < 2 || b.length !== n) return null;
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (n + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = (ra[i] as number) - mean;
    const db = (rb[i] as number) - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return null;
  return sab / Math.sqrt(saa * sbb);
}

export function reconcile(pairs: readonly ScoredPair[], actionTier: string): ReconcileStats {
  const n = pairs.length;
  if (n === 0)
    return { rows: 0, mean_abs_diff: 0, tier_agreement: 1, rank_correlation: null, decision_changed: 0 };
  let diff = 0;
  let agree = 0;
  let changed = 0;
  for (const p of pairs) {
    diff += Math.abs(p.challenger - p.champion);
    if (p.championTier === p.challengerTier) agree++;
    if ((p.championTier === actionTier) !== (p.challengerTier === actionTier)) changed++;
  }
  return {
    rows: n,
    mean_abs_diff: diff / n,
    tier_agreement: agree / n,
    rank_correlation: spearman(
      pairs.map((p) => p.champion),
      pairs.map((p) => p.challenger),
    ),
    decision_changed: changed / n,
  };
}

/** The instance's rolling horizon of scored pairs, and each window's stats against it. */
export class Reconciler {
  readonly #ring: ScoredPair[] = [];
  #next = 0;

  constructor(
    private readonly horizonRows: number,
    private readonly actionTier: string,
  ) {}

  observe(pairs: readonly ScoredPair[]): { window: ReconcileStats; horizon: ReconcileStats } {
    for (const p of pairs) {
      if (this.#ring.length < this.horizonRows) this.#ring.push(p);
      else this.#ring[this.#next] = p;
      this.#next = (this.#next + 1) % this.horizonRows;
    }
    return { window: reconcile(pairs, this.actionTier), horizon: reconcile(this.#ring, this.actionTier) };
  }
}
