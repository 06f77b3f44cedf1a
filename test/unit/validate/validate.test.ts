import assert from 'node:assert/strict';
import test from 'node:test';
import type { CdcChange } from '../../../src/decode/types.js';
import { StreamscoreError } from '../../../src/errors/index.js';
import { validate } from '../../../src/validate/index.js';

const change = (
  op: CdcChange['op'],
  after: Record<string, unknown> | null,
  entityId: string | null = '1',
): CdcChange => ({
  kind: 'cdc',
  op,
  entityId,
  before: null,
  after,
  lsn: '1',
  sourceTsMs: 1,
  tsMs: 1,
  snapshot: null,
  table: 'customers',
});

const rejectedWith = (code: string) => (err: unknown) => err instanceof StreamscoreError && err.code === code;

test('truncates go to the DLQ for an operator, or are skipped when configured', () => {
  assert.throws(
    () => validate(change('t', null, null), { onTruncate: 'dlq' }),
    rejectedWith('SS_CDC_TRUNCATE'),
  );
  assert.equal(validate(change('t', null, null), { onTruncate: 'skip' }), 'skip');
});

test('logical messages are skipped; upserts need an after row and an id', () => {
  assert.equal(validate(change('m', null, null), { onTruncate: 'dlq' }), 'skip');
  assert.equal(validate(change('u', { id: 1 }), { onTruncate: 'dlq' }), 'keep');
  assert.equal(validate(change('d', null), { onTruncate: 'dlq' }), 'keep');
  assert.throws(
    () => validate(change('u', null), { onTruncate: 'dlq' }),
    rejectedWith('SS_CONTRACT_VIOLATION'),
  );
  assert.throws(
    () => validate(change('c', { id: 1 }, null), { onTruncate: 'dlq' }),
    rejectedWith('SS_MISSING_ENTITY_ID'),
  );
  assert.equal(validate({ kind: 'tombstone', entityId: '1' }, { onTruncate: 'dlq' }), 'keep');
});
