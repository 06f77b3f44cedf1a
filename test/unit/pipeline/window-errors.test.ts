import assert from 'node:assert/strict';
import test from 'node:test';
import { StreamscoreError } from '../../../src/errors/index.js';
import { judgeWindowError } from '../../../src/pipeline/window-errors.js';

const never = () => assert.fail('the registry outage is only counted for a registry outage');
const err = (code: ConstructorParameters<typeof StreamscoreError>[0], retriable: boolean) =>
  new StreamscoreError(code, 'x', { retriable });

test('judgeWindowError: lost Redis, a fence and a gate refusal come first and are not counted as outages', () => {
  assert.equal(judgeWindowError(err('SS_REDIS_LOST', true), never, 1000).kind, 'redis-lost');
  assert.equal(judgeWindowError(err('SS_FENCED', false), never, 1000).kind, 'fenced');
  assert.equal(judgeWindowError(err('SS_DLQ_FLOOD', false), never, 1000).kind, 'hold');
  assert.equal(judgeWindowError(err('SS_GUARD_FAILED', false), never, 1000).kind, 'hold');
});

test('judgeWindowError: a registry outage is retried until registry.maxOutageMs, then halts naming it', () => {
  const outage = err('SS_REGISTRY', true);
  assert.equal(judgeWindowError(outage, () => 999, 1000).kind, 'retry');
  const v = judgeWindowError(outage, () => 61_000, 60_000);
  assert.equal(v.kind, 'halt');
  assert.match(
    v.kind === 'halt' ? v.error.message : '',
    /schema registry for 61 s \(registry\.maxOutageMs\)/,
  );
});

test('judgeWindowError: programming and non-retriable errors halt; a non-coded error rejoins; a transient one retries', () => {
  assert.equal(judgeWindowError(new TypeError('x is undefined'), never, 1000).kind, 'halt');
  const fatal = err('SS_CONFIG_INVALID', false);
  const v = judgeWindowError(fatal, never, 1000);
  assert.equal(v.kind, 'halt');
  assert.equal(v.kind === 'halt' ? v.error : null, fatal);
  assert.equal(judgeWindowError(new Error('heartbeat failed'), never, 1000).kind, 'rejoin');
  assert.equal(judgeWindowError(err('SS_REDIS', true), never, 1000).kind, 'retry');
});
