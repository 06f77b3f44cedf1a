import assert from 'node:assert/strict';
import test from 'node:test';
import {
  DriftMonitor,
  KS_REFRESH,
  binOf,
  binsFromQuantiles,
  isContinuous,
  ks,
  psi,
  refCdf,
} from '../../../src/drift/index.js';
import type { ReferenceDistributions } from '../../../src/models/index.js';
import { Random } from '../../../src/sample/index.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} ≉ ${b}`);

test('bins from quantiles: quartiles give four equal bins; repeated quantiles are atoms holding their probability', () => {
  assert.deepEqual(binsFromQuantiles([0, 0.25, 0.5, 0.75, 1], [0, 1, 2, 3, 4]), {
    edges: [1, 2, 3],
    expected: [0.25, 0.25, 0.25, 0.25],
  });
  const probs = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
  const atoms = binsFromQuantiles(probs, [0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 5]);
  assert.deepEqual(atoms.edges, [0, 1, 2, 3]);
  [0.3, 0.3, 0.2, 0.1, 0.1].forEach((e, i) => close(atoms.expected[i] as number, e));
  assert.deepEqual(
    [-1, 0, 0.5, 1, 3, 4].map((v) => binOf(atoms, v)),
    [0, 0, 1, 1, 3, 4],
  );
  assert.equal(isContinuous([0, 0, 1]), false);
  assert.equal(isContinuous([0, 0.5, 1]), true);
});

test('PSI and KS against values worked out by hand', () => {
  // (0.6 − 0.5)·ln(0.6/0.5) + (0.4 − 0.5)·ln(0.4/0.5)
  close(psi([0.5, 0.5], [60, 40]), 0.1 * Math.log(1.2) + -0.1 * Math.log(0.8));
  close(psi([0.5, 0.5], [50, 50]), 0);
  close(psi([0.25, 0.25, 0.25, 0.25], [0, 0, 0, 0]), 0);
  // uniform reference on [0, 1]; sample 0.1, 0.2, 0.9: D = 2/3 − 0.2
  close(refCdf(0.25, [0, 1], [0, 1]), 0.25);
  close(ks(Float64Array.from([0.9, 0.1, 0.2]), [0, 1], [0, 1]), 2 / 3 - 0.2);
  close(ks(Float64Array.from([0.5]), [0, 1], [0, 1]), 0.5);
});

function normalReference(rng: Random, names: string[]): ReferenceDistributions {
  const probs = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
  const quantilesOf = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return probs.map((p) => s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))] as number);
  };
  const dist = (xs: number[]) => ({
    count: xs.length,
    mean: 0,
    std: 1,
    min: 0,
    max: 0,
    quantiles: quantilesOf(xs),
  });
  const features: Record<string, ReturnType<typeof dist>> = {};
  for (const n of names) features[n] = dist(Array.from({ length: 20000 }, () => rng.normal()));
  features.flag = dist(Array.from({ length: 20000 }, () => (rng.bernoulli(0.3) ? 1 : 0)));
  return { quantile_probs: probs, features, score: dist(Array.from({ length: 20000 }, () => rng.next())) };
}

test('drift monitor: a shifted feature is flagged over the horizon, the others are not; the horizon forgets', () => {
  const rng = new Random(9);
  const names = ['a', 'b', 'c'];
  const ref = normalReference(rng, names);
  const monitor = new DriftMonitor(ref, [...names, 'flag'], {
    horizonRows: 3000,
    minRows: 1000,
    psiThreshold: 0.25,
    ksThreshold: 0.15,
  });
  const windowOf = (rows: number, shiftB: number, flagP: number) => {
    const m = new Float32Array(rows * 4);
    for (let r = 0; r < rows; r++) {
      m[r * 4] = rng.normal();
      m[r * 4 + 1] = rng.normal() + shiftB;
      m[r * 4 + 2] = rng.normal();
      m[r * 4 + 3] = rng.bernoulli(flagP) ? 1 : 0;
    }
    return m;
  };
  const scores = (rows: number) => Float32Array.from({ length: rows }, () => rng.next());
  let report = monitor.observe(windowOf(500, 0, 0.3), 500, scores(500));
  assert.deepEqual(report.flagged, [], 'nothing is judged below minRows');
  for (let i = 0; i < 5; i++) report = monitor.observe(windowOf(500, 0, 0.3), 500, scores(500));
  assert.deepEqual(report.flagged, [], 'an unshifted stream flags nothing');
  assert.ok(report.features.every((f) => f.psi < 0.05));
  const started: string[] = [];
  const stopped: string[] = [];
  for (let i = 0; i < 6; i++) {
    report = monitor.observe(windowOf(500, 1, 0.8), 500, scores(500));
    started.push(...report.started);
  }
  assert.deepEqual(report.flagged, ['b', 'flag'], 'exactly the shifted features');
  assert.deepEqual(started.sort(), ['b', 'flag'], 'each start is reported once');
  assert.equal(report.features.find((f) => f.name === 'flag')?.ks, null, 'no KS for a 0/1 feature');
  assert.ok((report.features.find((f) => f.name === 'b')?.ks ?? 0) > 0.3);
  for (let i = 0; i < 6; i++) {
    report = monitor.observe(windowOf(500, 0, 0.3), 500, scores(500));
    stopped.push(...report.stopped);
  }
  assert.deepEqual(report.flagged, [], 'the shifted rows left the horizon');
  assert.deepEqual(stopped.sort(), ['b', 'flag']);
  assert.equal(report.rows, 3000);
  assert.notEqual(report.score_psi_previous, null);
});

test('tier mix: the horizon tier shares against those the reference scores imply', () => {
  const rng = new Random(12);
  const ref = normalReference(rng, ['a']);
  const tiers = [{ min: 0 }, { min: 0.3 }, { min: 0.6 }];
  const monitor = new DriftMonitor(
    ref,
    ['a', 'flag'],
    { horizonRows: 2000, minRows: 500, psiThreshold: 0.25, ksThreshold: 0.15 },
    tiers,
  );
  const rows = (n: number, score: () => number) => {
    const m = new Float32Array(n * 2);
    for (let r = 0; r < n; r++) {
      m[r * 2] = rng.normal();
      m[r * 2 + 1] = rng.bernoulli(0.3) ? 1 : 0;
    }
    return monitor.observe(m, n, Float32Array.from({ length: n }, score));
  };
  let report = rows(1000, () => rng.next());
  assert.ok(report.tier_mix_psi < 0.02, `uniform scores match a uniform reference: ${report.tier_mix_psi}`);
  assert.deepEqual(report.flagged, []);
  for (let i = 0; i < 2; i++) report = rows(1000, () => 0.6 + 0.4 * rng.next());
  assert.ok(report.tier_mix_psi > 1);
  assert.deepEqual(report.flagged, ['(tier mix)']);
});

// uniform reference on [0, 1] (three quantiles: a continuous feature)
const UNIFORM: ReferenceDistributions = {
  quantile_probs: [0, 0.5, 1],
  features: { u: { count: 3, mean: 0.5, std: 0.3, min: 0, max: 1, quantiles: [0, 0.5, 1] } },
  score: { count: 3, mean: 0.5, std: 0.3, min: 0, max: 1, quantiles: [0, 0.5, 1] },
};

/** The one-sample KS against the uniform reference, by its definition (max_i of both gaps at x_i). */
function uniformKs(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  let d = 0;
  s.forEach((x, i) => {
    const f = Math.min(1, Math.max(0, x));
    d = Math.max(d, (i + 1) / s.length - f, f - i / s.length);
  });
  return d;
}

/** A stream drifting upwards from uniform, so that the horizon's KS keeps changing. */
function drifting(seed: number): (row: number) => number {
  const rng = new Random(seed);
  return (row) => Math.fround(Math.min(1, rng.next() * (1 - row / 400) + row / 400));
}

test('drift monitor: KS over the horizon is recomputed at the first judged window and then once a tenth of the horizon arrived, and reported as of then', () => {
  assert.equal(KS_REFRESH, 0.1);
  // a threshold KS never comes near: only the refresh rule recomputes
  const monitor = new DriftMonitor(UNIFORM, ['u'], {
    horizonRows: 100,
    minRows: 15,
    psiThreshold: 10,
    ksThreshold: 10,
  });
  const next = drifting(5);
  const horizon: number[] = [];
  const computedAt: number[] = [];
  let row = 0;
  let last: number | null = null;
  // 1-row windows up to row 60, then 7-row windows: a recompute waits for at least 10 rows
  while (row < 200) {
    const n = row < 60 ? 1 : 7;
    const values = Array.from({ length: n }, () => next(++row));
    horizon.push(...values);
    horizon.splice(0, Math.max(0, horizon.length - 100));
    const report = monitor.observe(Float32Array.from(values), n, new Float32Array(n).fill(0.5));
    const ks = report.features[0]?.ks ?? null;
    if (row < 15) {
      assert.equal(ks, null, `row ${row}: not judged below minRows`);
      continue;
    }
    const exact = uniformKs(horizon);
    if (last === null || Math.abs((ks as number) - last) > 1e-12) {
      close(ks as number, exact, 1e-6);
      computedAt.push(row);
    }
    last = ks;
  }
  // 15 (first judged), every 10 rows while windows are 1 row; then the end of the first 7-row window at
  // least 10 rows after the last computation (67: 12 rows after 55), and every second window after it
  assert.deepEqual(computedAt.slice(0, 6), [15, 25, 35, 45, 55, 67]);
  for (let i = 6; i < computedAt.length; i++)
    assert.equal((computedAt[i] as number) - (computedAt[i - 1] as number), 14, `${computedAt.join(',')}`);
});

test('drift monitor: the KS flag is exact after every window (recomputed whenever the rows since could have moved KS across the threshold)', () => {
  const threshold = 0.3;
  const monitor = new DriftMonitor(UNIFORM, ['u'], {
    horizonRows: 100,
    minRows: 15,
    psiThreshold: 10,
    ksThreshold: threshold,
  });
  const next = drifting(11);
  const horizon: number[] = [];
  let flips = 0;
  let wasFlagged = false;
  for (let row = 1; row <= 400; row++) {
    const v = next(row);
    horizon.push(v);
    if (horizon.length > 100) horizon.shift();
    const report = monitor.observe(Float32Array.of(v), 1, Float32Array.of(0.5));
    if (row < 15) continue;
    const flagged = report.flagged.includes('u');
    assert.equal(flagged, uniformKs(horizon) >= threshold, `row ${row}: KS ${uniformKs(horizon)}`);
    if (flagged !== wasFlagged) flips += 1;
    wasFlagged = flagged;
  }
  assert.ok(flips >= 1, 'the stream crosses the threshold');
});
