// When is a partition stalled: records in hand and no commit, or a broker position that does not move.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressWatch } from '../../../src/pipeline/progress.js';

const AFTER = 1000;

describe('ProgressWatch', () => {
  it('records in hand with no commit for stallAfterMs is a stall; a commit restarts the wait', () => {
    const w = new ProgressWatch(AFTER);
    w.working('t/0', 0);
    assert.deepEqual(w.stalled(999), []);
    assert.deepEqual(w.stalled(1000), [{ key: 't/0', forMs: 1000 }]);
    w.committed('t/0', 1500);
    assert.deepEqual(w.stalled(2400), []);
    w.idle('t/0');
    assert.deepEqual(w.stalled(10_000), []);
  });

  it('a second batch does not reset the wait of records still in hand', () => {
    const w = new ProgressWatch(AFTER);
    w.working('t/0', 0);
    w.working('t/0', 900);
    assert.equal(w.stalled(1000).length, 1);
  });

  it('from the broker: a position that does not move while the log is ahead is a stall', () => {
    const w = new ProgressWatch(AFTER);
    w.sample('t/1', { committed: 10n, end: 50n }, 0);
    w.sample('t/1', { committed: 10n, end: 60n }, 600);
    assert.deepEqual(w.stalled(999), []);
    w.sample('t/1', { committed: 10n, end: 70n }, 1200);
    assert.deepEqual(w.stalled(1200), [{ key: 't/1', forMs: 1200 }]);
    // it moves again
    w.sample('t/1', { committed: 40n, end: 70n }, 1300);
    assert.deepEqual(w.stalled(1300), []);
  });

  it('one offset behind is a transaction marker, not a record: never a stall', () => {
    const w = new ProgressWatch(AFTER);
    w.sample('t/2', { committed: 99n, end: 100n }, 0);
    w.sample('t/2', { committed: 99n, end: 100n }, 60_000);
    assert.deepEqual(w.stalled(60_000), []);
  });

  it('a log ending in aborted records the consumer read past is not a stall', () => {
    const w = new ProgressWatch(AFTER);
    w.sample('t/3', { committed: 10n, end: 30n, fetched: 30n }, 0);
    w.sample('t/3', { committed: 10n, end: 30n, fetched: 30n }, 5000);
    assert.deepEqual(w.stalled(5000), []);
    // but a consumer that stopped reading while the log grows is
    w.sample('t/3', { committed: 10n, end: 50n, fetched: 30n }, 6000);
    w.sample('t/3', { committed: 10n, end: 60n, fetched: 30n }, 7100);
    assert.deepEqual(w.stalled(7100), [{ key: 't/3', forMs: 1100 }]);
  });

  it('only owned partitions are watched', () => {
    const w = new ProgressWatch(AFTER);
    w.working('t/0', 0);
    w.sample('t/1', { committed: 0n, end: 9n }, 0);
    w.sample('t/1', { committed: 0n, end: 9n }, 10);
    w.retain(new Set(['t/1']));
    assert.deepEqual(
      w.stalled(5000).map((s) => s.key),
      ['t/1'],
    );
  });
});
