import assert from 'node:assert/strict';
import test from 'node:test';
import { RecordBudget } from '../../../src/pipeline/budget.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

test('windows within the budget start at once; the records in running windows never exceed it', async () => {
  const b = new RecordBudget(10);
  const r1 = await b.take(4);
  const r2 = await b.take(6);
  assert.equal(b.used, 10);
  let third = false;
  const p3 = b.take(1).then((r) => {
    third = true;
    return r;
  });
  await tick();
  assert.equal(third, false, 'a window that does not fit waits');
  r1();
  const r3 = await p3;
  assert.equal(b.used, 7);
  r1(); // giving back twice gives back once
  assert.equal(b.used, 7);
  r2();
  r3();
  assert.equal(b.used, 0);
});

test('a window larger than the budget runs alone instead of waiting forever', async () => {
  const b = new RecordBudget(10);
  const big = await b.take(25);
  assert.equal(b.used, 10);
  let small = false;
  const p = b.take(1).then((r) => ((small = true), r));
  await tick();
  assert.equal(small, false);
  big();
  (await p)();
  assert.equal(b.used, 0);
});

test('takers are served in order: a large window is not starved by small ones behind it', async () => {
  const b = new RecordBudget(10);
  const first = await b.take(8);
  const order: string[] = [];
  const large = b.take(9).then((r) => (order.push('large'), r));
  const small = b.take(1).then((r) => (order.push('small'), r));
  await tick();
  assert.deepEqual(order, [], 'the small one fits now but waits behind the large one');
  first();
  (await large)();
  (await small)();
  assert.deepEqual(order, ['large', 'small']);
  assert.equal(b.used, 0);
});

test('a waiter heartbeats while it waits, and a failed heartbeat gives up the wait without holding anything', async () => {
  const b = new RecordBudget(5);
  const holder = await b.take(5);
  let beats = 0;
  const behind = b.take(5, async () => undefined, 5);
  const failing = b.take(
    2,
    async () => {
      beats += 1;
      if (beats === 2) throw new Error('rebalance');
    },
    5,
  );
  await assert.rejects(failing, /rebalance/);
  assert.equal(beats, 2);
  assert.equal(b.waiting, 1, 'the failed taker left the queue');
  holder();
  (await behind)();
  assert.equal(b.used, 0);
  assert.equal(b.waiting, 0);
});

test('the budget must be a positive integer', () => {
  assert.throws(() => new RecordBudget(0), /positive integer/);
  assert.throws(() => new RecordBudget(1.5), /positive integer/);
});
