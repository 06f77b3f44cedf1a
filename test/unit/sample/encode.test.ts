/**
 * The sample encoders write what Debezium and the transactions service write, and the key contract the
 * integration tests stand on: a generated record decodes to the same value whichever wire format carried it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { avroTypeOf } from '../../../src/decode/avro-schema.js';
import { createDecoder } from '../../../src/decode/index.js';
import type { Decoded, RawRecord, RecordDecoder, WriterSchemaSource } from '../../../src/decode/index.js';
import {
  connectSchemaOf,
  decimalBytes,
  encodeCdcKey,
  encodeCdcValue,
  encodeRecord,
  encodeTransaction,
  generateStream,
  readSampleSchemas,
  type CdcRecord,
  type CustomerRow,
  type SampleFormat,
  type SampleSchemaIds,
  type TransactionRecord,
} from '../../../src/sample/index.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FORMATS: readonly SampleFormat[] = ['avro', 'json-schema', 'json'];
const IDS: SampleSchemaIds = { cdcKey: 21, cdcValue: 22, transactionValue: 23 };
const TEXTS = readSampleSchemas(`${ROOT}schemas`);
const CDC_TOPIC = 'cdc.bank.customers';

const writerSchemas: WriterSchemaSource = {
  async avroSchema(id) {
    const text = {
      [IDS.cdcKey]: TEXTS.cdcKey,
      [IDS.cdcValue]: TEXTS.cdcValue,
      [IDS.transactionValue]: TEXTS.transactionValue,
    }[id];
    if (text === undefined) throw new Error(`unknown schema id ${id}`);
    return JSON.parse(text) as unknown;
  },
};

function decoder(kind: 'cdc' | 'events', format: SampleFormat): RecordDecoder {
  const common = {
    writerSchemas,
    declaredValueSchema: JSON.parse(kind === 'cdc' ? TEXTS.cdcValue : TEXTS.transactionValue) as unknown,
  };
  const wire = format === 'avro' ? 'avro' : 'json';
  return kind === 'cdc'
    ? createDecoder({ kind, options: { topic: CDC_TOPIC, format: wire }, ...common })
    : createDecoder({ kind, options: { topic: 'transactions', format: wire }, ...common });
}

function raw(topic: string, key: Buffer, value: Buffer | null): RawRecord {
  return { topic, partition: 0, offset: '7', timestamp: '0', key, value, headers: {} };
}

/** What the decode stage must make of a generated CDC record (types.ts conventions). */
function expectedCdc(r: CdcRecord): Decoded {
  const v = r.value;
  if (v === null) return { kind: 'tombstone', entityId: String(r.key.id) };
  return {
    kind: 'cdc',
    op: v.op,
    entityId: String(r.key.id),
    before: v.before as Record<string, unknown> | null,
    after: v.after as Record<string, unknown> | null,
    lsn: String(v.source.lsn),
    sourceTsMs: v.source.ts_ms,
    tsMs: v.ts_ms,
    snapshot: v.source.snapshot,
    table: v.source.table,
  };
}

function expectedEvent(r: TransactionRecord): Decoded {
  return {
    kind: 'event',
    entityId: r.key,
    eventId: r.value.txn_id,
    eventTimeMs: r.value.event_time,
    fields: { ...r.value },
  };
}

const stream = generateStream({ seed: 7, customers: 120, transactionsPerCustomer: 5 });

/** A few of each kind of change, including a delete with its tombstone, and rows with null columns. */
function someCdcRecords(): CdcRecord[] {
  const pick = (pred: (r: CdcRecord) => boolean, n: number) => stream.cdc.filter(pred).slice(0, n);
  const deleteAt = stream.cdc.findIndex((r) => r.value?.op === 'd');
  return [
    ...pick((r) => r.value?.op === 'r', 2),
    ...pick((r) => r.value?.op === 'c', 2),
    ...pick((r) => r.value?.op === 'u', 3),
    ...pick((r) => r.value?.after !== null && Object.values(r.value?.after ?? {}).includes(null), 2),
    ...pick((r) => r.value?.after?.balance !== undefined && (r.value.after.balance ?? 0) < 0, 1),
    ...stream.cdc.slice(deleteAt, deleteAt + 2),
  ];
}

describe('sample encoders: decimals', () => {
  it('write the unscaled two’s-complement bytes Connect writes, minimal length', () => {
    assert.equal(decimalBytes(1234.56).toString('hex'), '01e240');
    assert.equal(decimalBytes(-0.01).toString('hex'), 'ff');
    assert.equal(decimalBytes(0).toString('hex'), '00');
    assert.equal(decimalBytes(9999999999.99).toString('hex'), '00e8d4a50fff');
    assert.equal(decimalBytes(-9999999999.99).toString('hex'), 'ff172b5af001');
    assert.equal(
      decimalBytes(1.28).toString('hex'),
      '0080',
      'a positive value with the top bit set needs a sign byte',
    );
    assert.equal(decimalBytes(-1.28).toString('hex'), '80');
  });

  for (const format of FORMATS) {
    it(`round-trip through the project decoder (${format})`, async () => {
      const template = stream.cdc.find((r) => r.value?.op === 'u')!;
      const values = [1234.56, -0.01, 0, 9999999999.99, -9999999999.99, 0.01];
      for (const balance of values) {
        const after: CustomerRow = { ...template.value!.after!, balance, credit_limit: -balance };
        const value = { ...template.value!, after };
        const decoded = await decoder('cdc', format).decode(
          raw(CDC_TOPIC, encodeCdcKey(format, template.key, IDS), encodeCdcValue(format, value, IDS)),
        );
        assert.equal(decoded.kind, 'cdc');
        if (decoded.kind !== 'cdc') return;
        assert.equal(decoded.after?.balance, balance);
        assert.equal(decoded.after?.credit_limit, -balance + 0);
      }
    });
  }
});

describe('sample encoders: JsonConverter schemas', () => {
  it('derive exactly the Connect schemas Debezium writes for the customers key and envelope', () => {
    for (const [avsc, fixture] of [
      [TEXTS.cdcKey, 'customers-key.connect-schema.json'],
      [TEXTS.cdcValue, 'customers-value.connect-schema.json'],
    ] as const) {
      const expected = readFileSync(`${ROOT}test/fixtures/debezium/${fixture}`, 'utf8');
      // Compared as text: JsonConverter's key order is part of what the bytes look like.
      assert.equal(JSON.stringify(connectSchemaOf(JSON.parse(avsc))), JSON.stringify(JSON.parse(expected)));
    }
  });

  it('write int64 beyond 2^53 (ts_ns) as exact bare digits, and tombstones as null values', () => {
    const r = stream.cdc.find((x) => x.value?.op === 'u')!;
    for (const format of ['json', 'json-schema'] as const) {
      const text = encodeCdcValue(format, r.value)!.toString();
      assert.ok(text.includes(`"ts_ns":${r.value!.ts_ns}`), text);
      assert.ok(text.includes(`"ts_ns":${r.value!.source.ts_ns}`), text);
    }
    const tombstone = stream.cdc.find((x) => x.value === null)!;
    for (const format of FORMATS) assert.equal(encodeCdcValue(format, tombstone.value, IDS), null);
  });

  it('write Avro longs exactly on both sides of 2^52 and beyond 2^53 (ts_ns)', () => {
    const r = stream.cdc.find((x) => x.value?.op === 'u')!;
    const v = r.value!;
    const edgy = {
      ...v,
      ts_ms: 2 ** 52 - 1,
      ts_us: 2 ** 52,
      ts_ns: '9223372036854775807',
      source: {
        ...v.source,
        lsn: 2 ** 53 - 1,
        txId: 0,
        ts_ms: -1,
        ts_us: -(2 ** 52) - 3,
        ts_ns: '-9223372036854775808',
      },
    };
    // Read back with the decode stage's own int64 reader, an implementation independent of the encoder's.
    const type = avroTypeOf(JSON.parse(TEXTS.cdcValue));
    const back = type.fromBuffer(encodeCdcValue('avro', edgy, IDS)!.subarray(5)) as Record<string, unknown>;
    assert.deepEqual([back.ts_ms, back.ts_us, back.ts_ns], [2 ** 52 - 1, 2 ** 52, '9223372036854775807']);
    const source = back.source as Record<string, unknown>;
    assert.deepEqual(
      [source.lsn, source.txId, source.ts_ms, source.ts_us, source.ts_ns],
      [2 ** 53 - 1, 0, -1, -(2 ** 52) - 3, '-9223372036854775808'],
    );
    const after = back.after as Record<string, unknown>;
    assert.equal(Math.floor((after.created_at as number) / 1000), v.after!.created_at);
  });

  it('frame Avro with magic byte 0 and the big-endian schema id', () => {
    const r = stream.cdc[0]!;
    const key = encodeCdcKey('avro', r.key, IDS);
    const value = encodeCdcValue('avro', r.value, IDS)!;
    assert.deepEqual([...key.subarray(0, 5)], [0, 0, 0, 0, IDS.cdcKey]);
    assert.deepEqual([...value.subarray(0, 5)], [0, 0, 0, 0, IDS.cdcValue]);
    assert.throws(
      () => encodeCdcValue('avro', r.value),
      TypeError,
      'Avro without schema ids is a programming error',
    );
  });
});

describe('sample encoders: the key contract with the decode stage', () => {
  it('is checked on every kind of change', () => {
    const ops = new Set(someCdcRecords().map((r) => r.value?.op ?? 'tombstone'));
    assert.deepEqual([...ops].sort(), ['c', 'd', 'r', 'tombstone', 'u']);
  });

  for (const format of FORMATS) {
    it(`CDC records decode to the generated change (${format})`, async () => {
      const dec = decoder('cdc', format);
      for (const r of someCdcRecords()) {
        const { key, value } = encodeRecord(format, r, IDS);
        assert.deepStrictEqual(
          await dec.decode(raw(CDC_TOPIC, key, value)),
          expectedCdc(r),
          JSON.stringify(r),
        );
      }
    });

    it(`transactions decode to the generated event (${format})`, async () => {
      const dec = decoder('events', format);
      for (const r of stream.transactions.slice(0, 25)) {
        const value = encodeTransaction(format, r.value, IDS);
        const { key } = encodeRecord(format, r, IDS);
        assert.equal(key.toString(), r.key);
        assert.deepStrictEqual(await dec.decode(raw('transactions', key, value)), expectedEvent(r));
      }
    });
  }

  it('all three encodings of one record decode to the same object', async () => {
    for (const r of someCdcRecords()) {
      const decoded = await Promise.all(
        FORMATS.map(async (f) => {
          const { key, value } = encodeRecord(f, r, IDS);
          return decoder('cdc', f).decode(raw(CDC_TOPIC, key, value));
        }),
      );
      assert.deepStrictEqual(decoded[1], decoded[0]);
      assert.deepStrictEqual(decoded[2], decoded[0]);
    }
  });
});
