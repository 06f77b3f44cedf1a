/**
 * Contract relied on by the integration tests: the same change decodes to the same object whether Debezium
 * wrote it as Avro, as JSON with schemas.enable=true, or as JSON without schemas.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDecoder } from '../../../src/decode/index.js';
import type { Decoded, RecordDecoder } from '../../../src/decode/index.js';
import {
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
  readText,
  record,
  type Encoding,
} from './fixtures.js';

function decoderFor(encoding: Encoding): RecordDecoder {
  return createDecoder({
    kind: 'cdc',
    options: { topic: 'cdc.bank.customers', format: encoding === 'avro' ? 'avro' : 'json' },
    writerSchemas: customerSchemas(),
    declaredValueSchema: CUSTOMER_VALUE_SCHEMA,
  });
}

async function decodeAll(
  key: (e: Encoding) => Buffer | null,
  value: (e: Encoding) => Buffer | null,
): Promise<Map<Encoding, Decoded>> {
  const out = new Map<Encoding, Decoded>();
  for (const e of ENCODINGS) out.set(e, await decoderFor(e).decode(record({ key: key(e), value: value(e) })));
  return out;
}

function assertSameEverywhere(results: Map<Encoding, Decoded>, expected: Decoded): void {
  for (const [encoding, decoded] of results)
    assert.deepStrictEqual(decoded, expected, `encoding ${encoding}`);
}

describe('the same change in Avro, JSON with schema and JSON without schema', () => {
  it('decodes an update to one object, semantic types converted', async () => {
    const results = await decodeAll(
      (e) => customerKey(e, 42),
      (e) => customerValue(e, envelope('u', pkOnlyRow(42), customerRow(42))),
    );
    assertSameEverywhere(results, {
      kind: 'cdc',
      op: 'u',
      entityId: '42',
      before: expectedPkOnly(42),
      after: expectedRow(42),
      lsn: '26752656',
      sourceTsMs: 1709288130500,
      tsMs: 1709288130612,
      snapshot: 'false',
      table: 'customers',
    });
  });

  it('decodes a delete and its tombstone to one object each', async () => {
    const deletes = await decodeAll(
      (e) => customerKey(e, 7),
      (e) => customerValue(e, envelope('d', pkOnlyRow(7), null)),
    );
    assertSameEverywhere(deletes, {
      kind: 'cdc',
      op: 'd',
      entityId: '7',
      before: expectedPkOnly(7),
      after: null,
      lsn: '26752656',
      sourceTsMs: 1709288130500,
      tsMs: 1709288130612,
      snapshot: 'false',
      table: 'customers',
    });
    const tombstones = await decodeAll(
      (e) => customerKey(e, 7),
      () => null,
    );
    assertSameEverywhere(tombstones, { kind: 'tombstone', entityId: '7' });
  });

  it('keeps a bigint id beyond 2^53 exact in every encoding', async () => {
    const id = 9007199254740993n; // 2^53 + 1: Number() would round it to ...992
    const results = await decodeAll(
      (e) => customerKey(e, id),
      (e) => customerValue(e, envelope('c', null, customerRow(id), { op: 'c' })),
    );
    for (const [encoding, decoded] of results) {
      assert.equal(decoded.kind, 'cdc');
      assert.equal(decoded.entityId, '9007199254740993', encoding);
      assert.equal(decoded.kind === 'cdc' && decoded.after?.id, '9007199254740993', encoding);
    }
  });

  it('reads a literal Debezium JSON message (19-digit ts_ns, base64 decimals) like the Avro one', async () => {
    const payload = readText('test/fixtures/debezium/customers-update.payload.json');
    const plain = await decoderFor('json').decode(
      record({ key: Buffer.from('{"id":42}'), value: Buffer.from(payload) }),
    );
    const avro = await decoderFor('avro').decode(
      record({
        key: customerKey('avro', 42),
        value: customerValue('avro', envelope('u', pkOnlyRow(42), customerRow(42))),
      }),
    );
    assert.deepStrictEqual(plain, avro);
  });
});
