import assert from 'node:assert/strict';
import test from 'node:test';
import { PartitionBackoff, backoffDelay, waitOut } from '../../../src/pipeline/backoff.js';

const opts = { initialMs: 200, maxMs: 5000, jitter: 0.2 };

test('the backoff doubles from its first wait, is capped, and its jitter stays within bounds', () => {
  const mid = () => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 30].map((n) => backoffDelay(n, opts, mid)),
    [200, 400, 800, 1600, 3200, 5000, 5000, 5000],
  );
  assert.equal(
    backoffDelay(1, opts, () => 0),
    160,
  );
  assert.equal(
    backoffDelay(1, opts, () => 1),
    240,
  );
  assert.equal(
    backoffDelay(1000, opts, () => 1),
    6000,
  );
});

test('failures count per partition, and a committed window resets only its own partition', () => {
  const b = new PartitionBackoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
  assert.deepEqual([b.failed('a'), b.failed('a'), b.failed('a'), b.failed('b')], [100, 200, 400, 100]);
  b.succeeded('a');
  assert.equal(b.failures('a'), 0);
  assert.equal(b.failures('b'), 1);
  assert.equal(b.failed('a'), 100);
});

test('a wait heartbeats as it goes and ends early when told to stop', async () => {
  let beats = 0;
  const heartbeat = async () => {
    beats += 1;
  };
  // timers run late on a loaded machine: what holds is a heartbeat after every step, at least one
  await waitOut(60, () => true, heartbeat, 10);
  assert.ok(beats >= 1, `heartbeats during the wait: ${beats}`);
  beats = 0;
  const started = Date.now();
  await waitOut(10000, () => beats < 2, heartbeat, 5);
  assert.ok(Date.now() - started < 1000, 'stopped early');
  await assert.rejects(
    waitOut(
      100,
      () => true,
      async () => {
        throw new Error('rebalancing');
      },
      5,
    ),
    /rebalancing/,
  );
});
