import assert from 'node:assert/strict';
import test from 'node:test';
import { compareChallengers, ranks, reconcile, Reconciler, spearman } from '../../../src/lifecycle/index.js';
import type { AuditEventV1 } from '../../../src/emit/index.js';

const close = (a: number | null, b: number, what: string) =>
  assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${what}: ${a} ≠ ${b}`);

test('ranks average ties; Spearman is 1 for any increasing map, -1 reversed, and matches a hand computation', () => {
  assert.deepEqual([...ranks([10, 20, 20, 5])], [2, 3.5, 3.5, 1]);
  close(spearman([1, 2, 3, 4], [1, 8, 27, 64]), 1, 'monotone');
  close(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1, 'reversed');
  // ranks a = 1..5, b = [2,1,4,3,5]: Σd² = 4, rho = 1 - 6·4 / (5·24) = 0.8
  close(spearman([1, 2, 3, 4, 5], [0.2, 0.1, 0.4, 0.3, 0.5]), 0.8, 'hand');
  assert.equal(spearman([1], [2]), null);
  assert.equal(spearman([1, 2, 3], [5, 5, 5]), null, 'no spread');
});

test('reconcile: mean |diff|, tier agreement and decisions changed over the action tier', () => {
  const s = reconcile(
    [
      { champion: 0.1, challenger: 0.2, championTier: 'low', challengerTier: 'low' },
      { champion: 0.5, challenger: 0.7, championTier: 'medium', challengerTier: 'high' },
      { champion: 0.9, challenger: 0.8, championTier: 'high', challengerTier: 'high' },
      { champion: 0.65, challenger: 0.55, championTier: 'high', challengerTier: 'medium' },
    ],
    'high',
  );
  assert.equal(s.rows, 4);
  close(s.mean_abs_diff, (0.1 + 0.2 + 0.1 + 0.1) / 4, 'diff');
  close(s.tier_agreement, 0.5, 'tiers');
  close(s.decision_changed, 0.5, 'decisions');
  close(s.rank_correlation, spearman([0.1, 0.5, 0.9, 0.65], [0.2, 0.7, 0.8, 0.55]) as number, 'rho');
  assert.deepEqual(reconcile([], 'high'), {
    rows: 0,
    mean_abs_diff: 0,
    tier_agreement: 1,
    rank_correlation: null,
    decision_changed: 0,
  });
});

test('the horizon keeps only the last N rows', () => {
  const r = new Reconciler(3, 'high');
  const pair = (d: number) => ({
    champion: 0.5,
    challenger: 0.5 + d,
    championTier: 'm',
    challengerTier: 'm',
  });
  r.observe([pair(0.1), pair(0.1)]);
  const { window, horizon } = r.observe([pair(0.4), pair(0.4)]);
  close(window.mean_abs_diff, 0.4, 'window');
  assert.equal(horizon.rows, 3);
  close(horizon.mean_abs_diff, (0.1 + 0.4 + 0.4) / 3, 'horizon');
});

test('models compare weighs windows by their rows and groups by the pair of versions', () => {
  const stats = (rows: number, diff: number, rho: number | null) => ({
    rows,
    mean_abs_diff: diff,
    tier_agreement: 1,
    rank_correlation: rho,
    decision_changed: 0,
  });
  const audit = (closedAt: number, champion: string, rows: number, diff: number, rho: number | null) =>
    ({
      closed_at: closedAt,
      model: { name: 'churn', version: champion, sha256: '' },
      challenger: {
        version: '3',
        sha256: '',
        window: stats(rows, diff, rho),
        horizon: stats(rows, diff, rho),
      },
    }) as unknown as AuditEventV1;
  const rows = compareChallengers([
    audit(1, '2', 10, 0.1, 0.9),
    audit(2, '2', 30, 0.3, null),
    audit(3, '1', 5, 0.5, 0.5),
    { closed_at: 4, challenger: null } as unknown as AuditEventV1,
  ]);
  assert.equal(rows.length, 2);
  const r = rows[0];
  assert.equal(r?.champion, '2');
  assert.equal(r?.windows, 2);
  assert.equal(r?.rows, 40);
  close(r?.meanAbsDiff ?? null, (10 * 0.1 + 30 * 0.3) / 40, 'weighted diff');
  close(r?.rankCorrelation ?? null, 0.9, 'windows without a rho are left out');
  assert.equal(compareChallengers([audit(1, '2', 10, 0.1, 0.9)], 2).length, 0, '--since');
});
