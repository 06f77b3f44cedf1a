import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDecoder } from '../../../src/decode/index.js';
import type { RecordDecoder } from '../../../src/decode/index.js';
import {
  assertRejected,
  CUSTOMER_VALUE_SCHEMA,
  customerKey,
  customerRow,
  customerSchemas,
  customerValue,
  ENCODINGS,
  envelope,
  expectedPkOnly,
  expectedRow,
  pkOnlyRow,
  record,
  source,
  toJsonText,
  type Encoding,
} from './fixtures.js';

function decoderFor(encoding: Encoding, extra: { unwrapped?: boolean } = {}): RecordDecoder {
  return createDecoder({
    kind: 'cdc',
    options: { topic: 'cdc.bank.customers', format: encoding === 'avro' ? 'avro' : 'json', ...extra },
    writerSchemas: customerSchemas(),
    declaredValueSchema: CUSTOMER_VALUE_SCHEMA,
  });
}

const json = (v: unknown) => Buffer.from(toJsonText(v));

for (const encoding of ENCODINGS) {
  describe(`Debezium envelopes (${encoding})`, () => {
    const d = decoderFor(encoding);
    const decode = (key: Buffer | null, value: Record<string, unknown> | null) =>
      d.decode(record({ key, value: value === null ? null : customerValue(encoding, value) }));

    it('c: an insert carries the new row', async () => {
      const r = await decode(customerKey(encoding, 1), envelope('c', null, customerRow(1)));
      assert.equal(r.kind === 'cdc' && r.op, 'c');
      assert.deepStrictEqual(r.kind === 'cdc' && [r.entityId, r.before, r.after], [
        '1',
        null,
        expectedRow(1),
      ]);
    });

    it('r: a snapshot read says which snapshot phase it came from', async () => {
      const snap = envelope('r', null, customerRow(2), {
        source: source({ snapshot: 'last', lsn: 26750000 }),
      });
      const r = await decode(customerKey(encoding, 2), snap);
      assert.ok(r.kind === 'cdc');
      assert.deepStrictEqual([r.op, r.snapshot, r.lsn, r.entityId], ['r', 'last', '26750000', '2']);
    });

    it('u: an update keeps the primary-key-only before image', async () => {
      const r = await decode(customerKey(encoding, 3), envelope('u', pkOnlyRow(3), customerRow(3)));
      assert.ok(r.kind === 'cdc');
      assert.deepStrictEqual([r.op, r.before, r.after], ['u', expectedPkOnly(3), expectedRow(3)]);
    });

    it('d then tombstone: the delete has no after; the tombstone gets its id from the key', async () => {
      const del = await decode(customerKey(encoding, 4), envelope('d', pkOnlyRow(4), null));
      assert.ok(del.kind === 'cdc');
      assert.deepStrictEqual([del.op, del.entityId, del.after], ['d', '4', null]);
      assert.deepStrictEqual(await decode(customerKey(encoding, 4), null), {
        kind: 'tombstone',
        entityId: '4',
      });
    });

    it('takes the id from after (or before) when the record has no key', async () => {
      const ins = await decode(null, envelope('c', null, customerRow(5)));
      const del = await decode(null, envelope('d', pkOnlyRow(6), null));
      assert.deepStrictEqual([ins.entityId, del.entityId], ['5', '6']);
    });

    it('t: a truncate has no entity; the pipeline decides what to do', async () => {
      const r = await decode(
        null,
        envelope('t', null, null, { source: source({ snapshot: 'false', lsn: 26760000 }) }),
      );
      assert.ok(r.kind === 'cdc');
      assert.deepStrictEqual(
        [r.op, r.entityId, r.before, r.after, r.lsn],
        ['t', null, null, null, '26760000'],
      );
    });

    it('rejects a tombstone without a key as SS_MISSING_ENTITY_ID', async () => {
      await assertRejected(() => decode(null, null), 'SS_MISSING_ENTITY_ID');
    });
  });
}

describe('Debezium envelopes (shape checks)', () => {
  const d = decoderFor('json');
  const decode = (value: unknown, key: Buffer | null = null) => d.decode(record({ key, value: json(value) }));

  it('m: a logical decoding message decodes with no entity', async () => {
    const r = await decode({
      op: 'm',
      ts_ms: 1709288130612,
      source: source({ table: '', snapshot: 'false' }),
      message: { prefix: 'audit', content: 'aGVsbG8=' },
    });
    assert.ok(r.kind === 'cdc');
    assert.deepStrictEqual([r.op, r.entityId, r.before, r.after], ['m', null, null, null]);
  });

  it('rejects a change without any entity id as SS_MISSING_ENTITY_ID (no key, no id column)', async () => {
    await assertRejected(
      () => decode(envelope('c', null, customerRow(1, { id: null }))),
      'SS_MISSING_ENTITY_ID',
    );
    await assertRejected(() => decode(envelope('d', null, null)), 'SS_MISSING_ENTITY_ID');
  });

  it('rejects a value without op as SS_DECODE_FAILED', async () => {
    const { op: _op, ...noOp } = envelope('u', pkOnlyRow(1), customerRow(1));
    await assertRejected(() => decode(noOp), 'SS_DECODE_FAILED', /no "op"/);
  });

  it('rejects an unknown op as SS_CDC_UNKNOWN_OP, an update without after and a bad lsn as SS_CONTRACT_VIOLATION', async () => {
    await assertRejected(() => decode(envelope('x', null, customerRow(1))), 'SS_CDC_UNKNOWN_OP', /op "x"/);
    await assertRejected(() => decode(envelope('u', pkOnlyRow(1), null)), 'SS_CONTRACT_VIOLATION');
    await assertRejected(
      () => decode(envelope('u', null, customerRow(1), { source: source({ lsn: 'abc' }) })),
      'SS_CONTRACT_VIOLATION',
      /lsn/,
    );
  });

  it('rejects a value whose ZonedTimestamp is not a timestamp as SS_FIELD_TYPE', async () => {
    const bad = envelope('c', null, customerRow(1, { updated_at: 'soon' }));
    await assertRejected(() => decode(bad), 'SS_FIELD_TYPE', /after\.updated_at/);
  });

  it('keeps an lsn beyond 2^53 exact', async () => {
    const r = await decode(
      envelope('u', null, customerRow(1), { source: source({ lsn: 18446744073709551000n }) }),
    );
    assert.equal(r.kind === 'cdc' && r.lsn, '18446744073709551000');
  });

  it('accepts plain string and number keys', async () => {
    const a = await decode(envelope('u', null, customerRow(1)), Buffer.from('0042'));
    const b = await decode(envelope('u', null, customerRow(1)), Buffer.from('"abc"'));
    assert.deepStrictEqual([a.entityId, b.entityId], ['0042', 'abc']);
  });
});

describe('ExtractNewRecordState (unwrapped) values', () => {
  const d = decoderFor('json', { unwrapped: true });
  const decode = (value: unknown) => d.decode(record({ value: json(value) }));

  it('reads a plain row as an upsert, with its metadata fields stripped', async () => {
    const r = await decode({ ...customerRow(8), __op: 'c', __lsn: 26752656, __source_ts_ms: 1709288130500 });
    assert.deepStrictEqual(r, {
      kind: 'cdc',
      op: 'c',
      entityId: '8',
      before: null,
      after: expectedRow(8),
      lsn: '26752656',
      sourceTsMs: 1709288130500,
      tsMs: 1709288130500,
      snapshot: null,
      table: null,
    });
  });

  it('reads __deleted: "true" as a delete and falls back to the record timestamp', async () => {
    const r = await decode({ ...pkOnlyRow(9), __deleted: 'true' });
    assert.ok(r.kind === 'cdc');
    assert.deepStrictEqual(
      [r.op, r.entityId, r.before, r.after, r.sourceTsMs],
      ['d', '9', expectedPkOnly(9), null, 1709288130700],
    );
  });

  it('still reads full envelopes', async () => {
    const r = await decode(envelope('u', pkOnlyRow(1), customerRow(1)));
    assert.equal(r.kind === 'cdc' && r.op, 'u');
  });
});
