import assert from 'node:assert/strict';
import test from 'node:test';
import { stageShares, transactionPhases } from '../../../bench/streamscore.js';

test('transaction steps: mean per committed window, in the order they run; stage shares leave them out', () => {
  const metrics = new Map<string, number>([
    ['decode', 100],
    ['commit', 300],
    ['tx:commit', 90],
    ['tx#commit', 30],
    ['tx:send', 150],
    ['tx#send', 30],
    ['tx:begin', 3],
    ['tx#begin', 30],
    ['tx:offsets', 60],
    ['tx#offsets', 0],
  ]);
  assert.deepEqual(transactionPhases(metrics), [
    { phase: 'begin', totalMs: 3, meanMs: 0.1 },
    { phase: 'send', totalMs: 150, meanMs: 5 },
    { phase: 'commit', totalMs: 90, meanMs: 3 },
  ]);
  assert.deepEqual(
    stageShares(metrics, [], 1000).map((s) => [s.stage, s.totalMs]),
    [
      ['decode', 100],
      ['kafka-transaction', 300],
    ],
  );
  assert.deepEqual(transactionPhases(new Map([['decode', 1]])), [], 'a build without the metric');
});
