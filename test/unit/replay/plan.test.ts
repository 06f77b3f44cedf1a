import assert from 'node:assert/strict';
import test from 'node:test';
import { parseConfig } from '../../../src/config/index.js';
import { partitionsLeft, replayConfig } from '../../../src/replay/index.js';

const live = parseConfig(
  {
    model: { version: '2', alias: 'champion', challenger: '3' },
    consumer: { groupId: 'g' },
    redis: { keyPrefix: 'ss:' },
    timers: { enabled: true },
    observe: { port: 9464 },
  },
  {},
);

test('a replay config writes only under names of its own, with the model pinned and no alias or challenger', () => {
  const r = replayConfig(live, 'j1', '1');
  assert.equal(r.consumer.groupId, 'g.replay.j1', 'under the live group prefix (its ACLs cover it)');
  assert.equal(r.consumer.fromBeginning, true);
  assert.equal(r.redis.keyPrefix, 'ss:replay:j1:');
  for (const o of ['predictions', 'audit', 'dlq', 'quarantine', 'shadow'] as const) {
    assert.equal(r.outputs[o], `${live.outputs[o]}.replay.j1`);
    assert.notEqual(r.outputs[o], live.outputs[o]);
  }
  assert.equal(r.model.version, '1');
  assert.equal(r.model.alias, undefined);
  assert.equal(r.model.challenger, undefined);
  assert.equal(r.observe.port, 0, 'never the live metrics port');
  assert.equal(r.timers.enabled, false);
  // the inputs and everything else are the live pipeline's
  assert.deepEqual(r.inputs, live.inputs);
  assert.deepEqual(r.window, live.window);
  // live keys (ss:{churn:<id>}) never match the replay's prefix, nor the other way round
  assert.ok(!`ss:{churn:1}`.startsWith(r.redis.keyPrefix));
});

test('partitionsLeft: done when committed up to the end, reported reached, or empty', () => {
  const ends = new Map([
    ['a/0', { low: 0n, end: 10n }],
    ['a/1', { low: 5n, end: 5n }], // nothing to replay
    ['a/2', { low: 0n, end: 7n }],
    ['a/3', { low: 0n, end: 4n }],
  ]);
  const committed = new Map([
    ['a/0', 10n],
    ['a/2', 6n], // a trailing transaction marker at 6: done only when the pipeline says so
  ]);
  assert.deepEqual(partitionsLeft(ends, committed, new Set()), ['a/2', 'a/3']);
  assert.deepEqual(partitionsLeft(ends, committed, new Set(['a/2'])), ['a/3']);
  assert.deepEqual(partitionsLeft(ends, new Map([...committed, ['a/3', 4n]]), new Set(['a/2'])), []);
});
