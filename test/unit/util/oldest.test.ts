import assert from 'node:assert/strict';
import test from 'node:test';
import { OldestKeys } from '../../../src/util/oldest.js';

test('the oldest key of a recency map, as keys are moved to the back, deleted, added and cleared', () => {
  const m = new Map<string, number>();
  const oldest = new OldestKeys(m);
  assert.equal(oldest.next(), undefined, 'empty');
  for (const k of ['a', 'b', 'c']) m.set(k, 0);
  assert.equal(oldest.next(), 'a');
  m.delete('a');
  // b used again: moved to the back
  m.delete('b');
  m.set('b', 1);
  assert.equal(oldest.next(), 'c');
  m.delete('c');
  // the iterator passed every entry but b, which it meets again at its new place
  assert.equal(oldest.next(), 'b');
  m.delete('b');
  assert.equal(oldest.next(), undefined, 'empty again');
  // after running off the end it starts again from the front
  m.set('d', 0);
  m.set('e', 0);
  assert.equal(oldest.next(), 'd');
  m.clear();
  oldest.reset();
  m.set('f', 0);
  assert.equal(oldest.next(), 'f');
});
