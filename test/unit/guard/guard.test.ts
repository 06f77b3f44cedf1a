import assert from 'node:assert/strict';
import test from 'node:test';
import { guardScores, ScoreJumps } from '../../../src/guard/index.js';
import type { ScoreBatch, ScorerModelInfo } from '../../../src/score/index.js';

const MODEL = { name: 'churn', version: '9', validRange: [0, 1] } as unknown as ScorerModelInfo;
const batch = (invalid: ScoreBatch['invalid']): ScoreBatch => ({
  scores: new Float32Array(4),
  tiers: [],
  invalid,
});

test('the output guard passes a window whose scores are all valid, and fails one with any invalid score by default', () => {
  assert.equal(guardScores(batch(null), 4, MODEL, { maxInvalidShare: 0 }), null);
  const failure = guardScores(batch({ count: 1, firstRow: 2, firstValue: Number.NaN }), 4, MODEL, {
    maxInvalidShare: 0,
  });
  assert.equal(failure?.check, 'score_range');
  assert.match(
    failure?.reason ?? '',
    /churn\/9 returned 1 of 4 scores outside its valid range \[0, 1\] \(first: row 2 = NaN/,
  );
});

test('a share of invalid scores may be allowed (each still quarantined alone); above it the window fails', () => {
  const one = batch({ count: 1, firstRow: 0, firstValue: 1.5 });
  assert.equal(guardScores(one, 4, MODEL, { maxInvalidShare: 0.25 }), null);
  assert.notEqual(
    guardScores(batch({ count: 2, firstRow: 0, firstValue: 1.5 }), 4, MODEL, { maxInvalidShare: 0.25 }),
    null,
  );
});

test("score jumps: counted against the entity's previous published score, within a bounded memory", () => {
  const jumps = new ScoreJumps(0.5, 2);
  assert.equal(jumps.record('a', 0.1), false, 'nothing to compare with yet');
  assert.equal(jumps.record('a', 0.7), true);
  assert.equal(jumps.record('a', 0.9), false);
  jumps.record('b', 0.1);
  jumps.record('c', 0.1); // a is the least recent: forgotten
  assert.equal(jumps.record('a', 0.1), false, 'a forgotten entity is not compared');
  assert.equal(jumps.record('c', 0.9), true);
});
