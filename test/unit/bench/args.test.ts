import assert from 'node:assert/strict';
import test from 'node:test';
import { UsageError, parseBenchArgs } from '../../../bench/args.js';

test('drains are cdc-first and run once per build unless asked otherwise', () => {
  const o = parseBenchArgs([]);
  assert.equal(o?.order, 'cdc-first');
  assert.equal(o?.repeat, 1);
  assert.equal(o?.compareRef, null);
  assert.equal(o?.compareBin, null);
  assert.equal(o?.warmup, 0, 'no warm-up drain without a compared build');
});

test('a side-by-side run warms up with one unmeasured drain unless told otherwise', () => {
  assert.equal(parseBenchArgs(['--compare-bin', '/x/bin/streamscore.js'])?.warmup, 1);
  assert.equal(parseBenchArgs(['--compare-ref', 'HEAD~1', '--warmup', '0'])?.warmup, 0);
  assert.equal(parseBenchArgs(['--warmup', '2'])?.warmup, 2);
  assert.throws(() => parseBenchArgs(['--warmup', '-1']), UsageError);
});

test('the soak runs at 80 % of the drain rate unless a rate is given', () => {
  assert.equal(parseBenchArgs([])?.soakRate, null);
  assert.equal(parseBenchArgs(['--soak-rate', '10000'])?.soakRate, 10000);
  assert.throws(() => parseBenchArgs(['--soak-rate', '0']), UsageError);
});

test('a side-by-side run names the compared build and how often to repeat', () => {
  const o = parseBenchArgs(['--compare-ref', 'v0.1.0', '--repeat', '3', '--order', 'mixed']);
  assert.equal(o?.compareRef, 'v0.1.0');
  assert.equal(o?.repeat, 3);
  assert.equal(o?.order, 'mixed');
});

test('bad drain options are usage errors', () => {
  assert.throws(() => parseBenchArgs(['--order', 'events-first']), UsageError);
  assert.throws(() => parseBenchArgs(['--repeat', '0']), UsageError);
  assert.throws(
    () => parseBenchArgs(['--compare-ref', 'HEAD~1', '--compare-bin', '/x/bin/streamscore.js']),
    UsageError,
  );
});
