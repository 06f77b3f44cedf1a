/**
 * `streamscore models compare`: champion vs challenger over the audit events of a time range. Window
 * stats are weighted by the rows each window scored; the horizon figures are each instance's latest.
 */
import type { AuditEventV1 } from '../emit/index.js';
import type { ReconcileStatsV1 } from '../emit/types.js';

export interface ComparisonRow {
  readonly champion: string;
  readonly challenger: string;
  readonly windows: number;
  readonly rows: number;
  readonly meanAbsDiff: number;
  readonly tierAgreement: number;
  readonly decisionChanged: number;
  /** Row-weighted mean of the windows' rank correlations (windows without one are left out). */
  readonly rankCorrelation: number | null;
  /** The most recent horizon figures among the instances (by closed_at). */
  readonly latestHorizon: ReconcileStatsV1 | null;
  readonly from: number;
  readonly to: number;
}

export function compareChallengers(audits: readonly AuditEventV1[], since = 0): ComparisonRow[] {
  const groups = new Map<string, AuditEventV1[]>();
  for (const a of audits) {
    if (a.challenger === null || a.closed_at < since) continue;
    const k = `${a.model.version}\u0000${a.challenger.version}`;
    groups.set(k, [...(groups.get(k) ?? []), a]);
  }
  const rows: ComparisonRow[] = [];
  for (const [k, xs] of groups) {
    const [champion, challenger] = k.split('\u0000') as [string, string];
    let n = 0;
    let diff = 0;
    let agree = 0;
    let changed = 0;
    let rankRows = 0;
    let rank = 0;
    let latest: AuditEventV1 | undefined;
    for (const a of xs) {
      const w = (a.challenger as NonNullable<AuditEventV1['challenger']>).window;
      n += w.rows;
      diff += w.mean_abs_diff * w.rows;
      agree += w.tier_agreement * w.rows;
      changed += w.decision_changed * w.rows;
      if (w.rank_correlation !== null) {
        rankRows += w.rows;
        rank += w.rank_correlation * w.rows;
      }
      if (latest === undefined || a.closed_at > latest.closed_at) latest = a;
    }
    rows.push({
      champion,
      challenger,
      windows: xs.length,
      rows: n,
      meanAbsDiff: n === 0 ? 0 : diff / n,
      tierAgreement: n === 0 ? 1 : agree / n,
      decisionChanged: n === 0 ? 0 : changed / n,
      rankCorrelation: rankRows === 0 ? null : rank / rankRows,
      latestHorizon: latest?.challenger?.horizon ?? null,
      from: Math.min(...xs.map((a) => a.closed_at)),
      to: Math.max(...xs.map((a) => a.closed_at)),
    });
  }
  return rows.sort((a, b) => a.from - b.from);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatComparison(rows: readonly ComparisonRow[]): string {
  if (rows.length === 0) return 'no window in range was scored with a challenger (set model.challenger)';
  const out: string[] = [];
  for (const r of rows) {
    out.push(
      `champion ${r.champion} vs challenger ${r.challenger}: ${r.windows} windows, ${r.rows} scored entities, ${new Date(r.from).toISOString()} → ${new Date(r.to).toISOString()}`,
      `  mean |score difference|   ${r.meanAbsDiff.toFixed(4)}`,
      `  same tier                 ${pct(r.tierAgreement)}`,
      `  decision would change     ${pct(r.decisionChanged)}  (in the highest tier under one model only)`,
      `  rank correlation          ${r.rankCorrelation === null ? 'n/a' : r.rankCorrelation.toFixed(4)}  (Spearman, per window, row-weighted)`,
    );
    const h = r.latestHorizon;
    if (h !== null)
      out.push(
        `  latest horizon (${h.rows} rows): |diff| ${h.mean_abs_diff.toFixed(4)}, same tier ${pct(h.tier_agreement)}, decision changes ${pct(h.decision_changed)}, rank correlation ${h.rank_correlation === null ? 'n/a' : h.rank_correlation.toFixed(4)}`,
      );
  }
  return out.join('\n');
}
