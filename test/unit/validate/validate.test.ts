import assert from 'node:assert/strict';
import test from 'node:test';
import type { CdcChange, RawRecord } from '../../../src/decode/types.js';
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

const RAW: RawRecord = {
  topic: 'cdc',
  partition: 0,
  offset: '0',
  timestamp: '0',
  key: null,
  value: null,
  headers: {},
};

const rejectedWith = (code: string) => (err: unknown) => err instanceof StreamscoreError && err.code === code;

test('truncates go to the DLQ for an operator, or are skipped when configured', () => {
  assert.throws(
    () => validate(change('t', null, null), RAW, { onTruncate: 'dlq' }, 0),
    rejectedWith('SS_CDC_TRUNCATE'),
  );
  assert.equal(validate(change('t', null, null), RAW, { onTruncate: 'skip' }, 0), 'skip');
});

test('logical messages are skipped; upserts need an after row and an id', () => {
  assert.equal(validate(change('m', null, null), RAW, { onTruncate: 'dlq' }, 0), 'skip');
  assert.equal(validate(change('u', { id: 1 }), RAW, { onTruncate: 'dlq' }, 0), 'keep');
  assert.equal(validate(change('d', null), RAW, { onTruncate: 'dlq' }, 0), 'keep');
  assert.throws(
    () => validate(change('u', null), RAW, { onTruncate: 'dlq' }, 0),
    rejectedWith('SS_CONTRACT_VIOLATION'),
  );
  assert.throws(
    () => validate(change('c', { id: 1 }, null), RAW, { onTruncate: 'dlq' }, 0),
    rejectedWith('SS_MISSING_ENTITY_ID'),
  );
  assert.equal(validate({ kind: 'tombstone', entityId: '1' }, RAW, { onTruncate: 'dlq' }, 0), 'keep');
});
