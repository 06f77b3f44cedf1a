import assert from 'node:assert/strict';
import test from 'node:test';
import { drainStages } from '../../../bench/stages.js';

const inputs = { cdc: 'r.cdc', events: 'r.tx', cdcRecords: 700, eventRecords: 300 };

test('cdc-first: the CDC topic alone, then the transactions alone; the last stage uses the drain’s group', () => {
  const [first, second, ...rest] = drainStages('cdc-first', 'g', inputs);
  assert.deepEqual(rest, []);
  assert.deepEqual(first, {
    name: 'cdc',
    group: 'g.cdc',
    read: ['r.cdc'],
    skip: ['r.tx'],
    stopAfter: undefined,
  });
  assert.deepEqual(second, {
    name: 'events',
    group: 'g',
    read: ['r.tx'],
    skip: ['r.cdc'],
    stopAfter: undefined,
  });
});

test('cdc-first: a record cap is shared by the stages in proportion to the topics', () => {
  const stages = drainStages('cdc-first', 'g', inputs, 500);
  assert.deepEqual(
    stages.map((s) => s.stopAfter),
    [350, 150],
  );
  // a cap at or above everything is no cap
  assert.deepEqual(
    drainStages('cdc-first', 'g', inputs, 1000).map((s) => s.stopAfter),
    [undefined, undefined],
  );
});

test('mixed: one stage reading both topics, as in production', () => {
  assert.deepEqual(drainStages('mixed', 'g', inputs, 500), [
    { name: 'all', group: 'g', read: ['r.cdc', 'r.tx'], skip: [], stopAfter: 500 },
  ]);
});
