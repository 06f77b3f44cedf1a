import assert from 'node:assert/strict';
import test from 'node:test';
import {
  DriftMonitor,
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

test('drift monitor: KS over the horizon is recomputed once a tenth of the horizon arrived, and reported as of then in between', () => {
  // uniform reference on [0, 1] (three quantiles: a continuous feature)
  const probs = [0, 0.5, 1];
  const reference: ReferenceDistributions = {
    quantile_probs: probs,
    features: { u: { count: 3, mean: 0.5, std: 0.3, min: 0, max: 1, quantiles: [0, 0.5, 1] } },
    score: { count: 3, mean: 0.5, std: 0.3, min: 0, max: 1, quantiles: [0, 0.5, 1] },
  };
  const monitor = new DriftMonitor(reference, ['u'], {
    horizonRows: 100,
    minRows: 10,
    psiThreshold: 10,
    ksThreshold: 10,
  });
  // the definition, written out: D = max_i max((i + 1)/n − F(x_i), F(x_i) − i/n) over the sorted horizon
  const exactKs = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    let d = 0;
    s.forEach((x, i) => {
      const f = Math.min(1, Math.max(0, x));
      d = Math.max(d, (i + 1) / s.length - f, f - i / s.length);
    });
    return d;
  };
  const rng = new Random(5);
  const horizon: number[] = [];
  let expected: number | null = null;
  for (let row = 1; row <= 250; row++) {
    // a drifting stream, so that every recompute gives a new value
    const v = Math.fround(Math.min(1, rng.next() * (1 - row / 400) + row / 400));
    horizon.push(v);
    if (horizon.length > 100) horizon.shift();
    const report = monitor.observe(Float32Array.of(v), 1, Float32Array.of(0.5));
    const ks = report.features[0]?.ks ?? null;
    if (row < 10) {
      assert.equal(ks, null, `row ${row}: not judged below minRows`);
      continue;
    }
    // recomputed at the first judged row, then after every 10 rows (a tenth of the horizon)
    if (row % 10 === 0) expected = exactKs(horizon);
    close(ks as number, expected as number, 1e-6);
  }
});
