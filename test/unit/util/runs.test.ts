import assert from 'node:assert/strict';
import test from 'node:test';
import { runsIn, runsOf } from '../../../src/util/runs.js';

test('runs: consecutive, within the byte and item bounds, an oversized item alone', () => {
  const len = (s: string) => s.length;
  assert.deepEqual(runsOf(['aa', 'bb', 'c', 'dddddd', 'e'], len, 4), [
    ['aa', 'bb'],
    ['c'],
    ['dddddd'],
    ['e'],
  ]);
  assert.deepEqual(runsOf(['a', 'b', 'c'], len, 100, 2), [['a', 'b'], ['c']]);
  assert.deepEqual(runsOf([], len, 4), []);
});

test('runsIn gives each run once it is complete, before the items after it are made', () => {
  const made: number[] = [];
  const items = (function* () {
    for (let i = 0; i < 6; i++) {
      made.push(i);
      yield i;
    }
  })();
  const runs = runsIn(items, () => 1, 2);
  assert.deepEqual(runs.next().value, [0, 1]);
  // the first run is known complete once item 2 does not fit; items 3 to 5 are not made yet
  assert.deepEqual(made, [0, 1, 2]);
  assert.deepEqual(
    [...runs],
    [
      [2, 3],
      [4, 5],
    ],
  );
  assert.deepEqual(made, [0, 1, 2, 3, 4, 5]);
});
