import assert from 'node:assert/strict';
import test from 'node:test';
import { commitOutcomes } from '../../../src/sink/scripts.js';

test('COMMIT reply: entities not listed got the floor version; listed ones their own version or the stored state', () => {
  const reply = [
    '1764600000000100',
    'v',
    2,
    '1764600000000200',
    'c',
    4,
    6,
    'sv',
    '17',
    'd',
    'head',
    'e:20000',
    'events',
    'c',
    5,
    0,
  ];
  assert.deepEqual(commitOutcomes(reply, 5), [
    { ok: true, version: 1_764_600_000_000_100 },
    { ok: true, version: 1_764_600_000_000_200 },
    { ok: true, version: 1_764_600_000_000_100 },
    { ok: false, hash: ['sv', '17', 'd', 'head', 'e:20000', 'events'] },
    { ok: false, hash: [] },
  ]);
  assert.deepEqual(commitOutcomes(['7'], 2), [
    { ok: true, version: 7 },
    { ok: true, version: 7 },
  ]);
});

test('COMMIT reply: an entry naming no entity of the call, or of an unknown kind, is an error, not a guess', () => {
  assert.throws(() => commitOutcomes(['7', 'v', 3, '9'], 2), /entity 3 of 2/);
  assert.throws(() => commitOutcomes(['7', 'v', 0, '9'], 2), /entity 0 of 2/);
  assert.throws(() => commitOutcomes(['7', 'x', 1, '9'], 2), /unknown entry x/);
  assert.throws(() => commitOutcomes(['7', 'v', 1], 2), /ends inside its 'v' entry/);
  assert.throws(() => commitOutcomes(['7', 'c', 1, 4, 'sv', '3', 'd'], 2), /ends inside its 'c' entry/);
  assert.throws(() => commitOutcomes(['7', 'c', 1, 3, 'sv', '3', 'd'], 2), /stored state of 3 strings/);
  assert.throws(() => commitOutcomes(['7', 'v', 1, 'x'], 2), /version x/);
  assert.throws(() => commitOutcomes([], 2), /not a version/);
});
