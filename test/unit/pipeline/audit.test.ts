import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test from 'node:test';
import type { PredictionEventV1 } from '../../../src/emit/index.js';
import { buildChunkAudit } from '../../../src/pipeline/audit.js';

test('the audit of a rescore or timer chunk: no input records, its predictions counted, the latest as-of', () => {
  const event = (asOf: number) => ({ as_of: asOf }) as PredictionEventV1;
  const a = buildChunkAudit({
    batchId: 'timer-timers-7',
    pipeline: 'churn',
    instance: 'h:1',
    model: { name: 'churn', version: '2', sha256: 'a'.repeat(64), trainingRunId: 'r', featureVersion: 'f' },
    scored: 2,
    events: [event(10), event(30), event(20)],
    openedAt: 1,
    closedAt: 2,
  });
  assert.deepEqual(a.inputs, []);
  assert.equal(a.input_sha256, createHash('sha256').digest('hex'), 'sha256 of nothing');
  assert.equal(a.counts.received, 0);
  assert.equal(a.counts.scored, 2);
  assert.equal(a.counts.written_redis, 2);
  assert.equal(a.counts.emitted, 3, 'a re-emitted prediction is emitted, not scored');
  assert.equal(a.as_of, 30);
  assert.equal(a.batch_id, 'timer-timers-7');
  assert.equal(a.outcome, 'COMMITTED');
});
