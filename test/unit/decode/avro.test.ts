import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { createDecoder } from '../../../src/decode/index.js';
import type { RecordDecoder, WriterSchemaSource } from '../../../src/decode/index.js';
import { avroTypeOf, compileAvroConverter } from '../../../src/decode/avro-schema.js';
import { StreamscoreError } from '../../../src/errors/index.js';
import {
  assertRejected,
  CUSTOMER_VALUE_SCHEMA,
  customerKey,
  customerRow,
  customerSchemas,
  customerValue,
  envelope,
  frame,
  MapSchemas,
  pkOnlyRow,
  record,
  VALUE_ID,
  writerType,
} from './fixtures.js';

function avroDecoder(schemas: WriterSchemaSource = customerSchemas()): RecordDecoder {
  return createDecoder({
    kind: 'cdc',
    options: { topic: 'cdc.bank.customers', format: 'avro' },
    writerSchemas: schemas,
  });
}

const UPDATE = () => customerValue('avro', envelope('u', pkOnlyRow(42), customerRow(42)));

describe('Avro int64 is read exactly', () => {
  const longs = avroTypeOf({ type: 'array', items: 'long' });
  const fixtureLongs = writerType({ type: 'array', items: 'long' });
  const values = [
    0n,
    -1n,
    1n,
    2n ** 48n,
    2n ** 49n - 1n,
    2n ** 49n,
    -(2n ** 49n),
    2n ** 52n,
    2n ** 53n - 1n,
    -(2n ** 53n - 1n),
    2n ** 53n,
    2n ** 53n + 1n,
    -(2n ** 53n) - 1n,
    1709288130612345000n,
    2n ** 63n - 1n,
    -(2n ** 63n),
  ];
  it('as numbers while safe, as exact decimal strings beyond ±2^53', () => {
    const decoded = longs.fromBuffer(fixtureLongs.toBuffer(values)) as unknown[];
    const expected = values.map((v) =>
      v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n ? Number(v) : v.toString(),
    );
    assert.deepStrictEqual(decoded, expected);
  });

  it('where avsc’s default long would throw on Debezium’s ts_ns', () => {
    const buf = UPDATE().subarray(5);
    assert.throws(
      () => avro.Type.forSchema(CUSTOMER_VALUE_SCHEMA as avro.Schema).fromBuffer(buf),
      /precision/,
    );
    assert.doesNotThrow(() => avroTypeOf(CUSTOMER_VALUE_SCHEMA).fromBuffer(buf));
  });
});

describe('Confluent-framed Avro decoding', () => {
  it('fetches each writer schema once, however many records use it', async () => {
    const schemas = customerSchemas();
    const d = avroDecoder(schemas);
    const batch = [1, 2, 3].map((id) =>
      record({
        key: customerKey('avro', id),
        value: customerValue('avro', envelope('c', null, customerRow(id))),
      }),
    );
    await d.prepare(batch);
    for (const r of batch) assert.equal(d.decodeSync(r).kind, 'cdc');
    await d.decode(batch[0]!);
    assert.equal(schemas.calls, 2); // key schema + value schema
  });

  it('rejects a wrong magic byte as SS_DECODE_FAILED', async () => {
    const value = Buffer.from(UPDATE());
    value[0] = 1;
    await assertRejected(() => avroDecoder().decode(record({ value })), 'SS_DECODE_FAILED', /magic byte/);
  });

  it('rejects garbage bytes as SS_DECODE_FAILED', async () => {
    await assertRejected(
      () => avroDecoder().decode(record({ value: Buffer.from('{"op":"u"} is JSON, not Avro') })),
      'SS_DECODE_FAILED',
    );
    const noise = Buffer.concat([
      Buffer.from([0, 0, 0, 0, VALUE_ID]),
      Buffer.from('ffffffffffffffffffff', 'hex'),
    ]);
    await assertRejected(() => avroDecoder().decode(record({ value: noise })), 'SS_DECODE_FAILED');
  });

  it('rejects an unknown schema id as SS_UNKNOWN_SCHEMA, with the record position', async () => {
    const value = frame(
      999,
      writerType(CUSTOMER_VALUE_SCHEMA),
      envelope('u', pkOnlyRow(42), customerRow(42)),
    );
    const err = await assertRejected(
      () => avroDecoder().decode(record({ value })),
      'SS_UNKNOWN_SCHEMA',
      /999/,
    );
    assert.deepStrictEqual(err.position, { topic: 'cdc.bank.customers', partition: 3, offset: '1042' });
    assert.equal(err.retriable, false);
  });

  it('rejects truncated Avro and trailing bytes as SS_DECODE_FAILED', async () => {
    const full = UPDATE();
    await assertRejected(
      () => avroDecoder().decode(record({ value: full.subarray(0, full.length - 7) })),
      'SS_DECODE_FAILED',
      /truncated/,
    );
    await assertRejected(
      () => avroDecoder().decode(record({ value: full.subarray(0, 4) })),
      'SS_DECODE_FAILED',
    );
    await assertRejected(
      () => avroDecoder().decode(record({ value: Buffer.concat([full, Buffer.from([0])]) })),
      'SS_DECODE_FAILED',
      /trailing/,
    );
  });

  it('lets a retriable registry failure through instead of dead-lettering the record', async () => {
    const down: WriterSchemaSource = {
      avroSchema: async () => {
        throw new StreamscoreError('SS_SERVICE_UNAVAILABLE', 'registry unreachable', { retriable: true });
      },
    };
    await assert.rejects(
      () => avroDecoder(down).decode(record({ value: UPDATE() })),
      (err: unknown) => err instanceof StreamscoreError && err.code === 'SS_SERVICE_UNAVAILABLE',
    );
  });

  it('asks for an unknown id again only after the retry interval', async () => {
    const schemas = new MapSchemas([]);
    let now = 0;
    const d = createDecoder({
      kind: 'cdc',
      options: { topic: 'cdc.bank.customers' },
      writerSchemas: schemas,
      avro: { retryUnknownAfterMs: 1000, now: () => now },
    });
    const r = record({ value: UPDATE() });
    await assertRejected(() => d.decode(r), 'SS_UNKNOWN_SCHEMA');
    await assertRejected(() => d.decode(r), 'SS_UNKNOWN_SCHEMA');
    assert.equal(schemas.calls, 1);
    now = 1500;
    await assertRejected(() => d.decode(r), 'SS_UNKNOWN_SCHEMA');
    assert.equal(schemas.calls, 2);
  });

  it('refuses an avsc Type as writer schema: it has lost the connect.* attributes', async () => {
    const typed: WriterSchemaSource = {
      avroSchema: async () => avro.Type.forSchema(CUSTOMER_VALUE_SCHEMA as avro.Schema),
    };
    await assert.rejects(() => avroDecoder(typed).decode(record({ value: UPDATE() })), TypeError);
  });

  it('reads the entity id from an Avro key struct', async () => {
    const decoded = await avroDecoder().decode(
      record({
        key: customerKey('avro', 77),
        value: customerValue('avro', envelope('u', pkOnlyRow(76), customerRow(76))),
      }),
    );
    assert.equal(decoded.entityId, '77', 'the key wins over the row');
  });

  it('converts nested, recursive and multi-branch union types from the writer schema', () => {
    const schema = {
      type: 'record',
      name: 'Node',
      namespace: 't',
      fields: [
        { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 6, scale: 1 } },
        { name: 'next', type: ['null', 'Node'], default: null },
        {
          name: 'tags',
          type: { type: 'map', values: { type: 'int', 'connect.name': 'io.debezium.time.Date' } },
        },
        { name: 'either', type: ['null', 'string', 'bytes'], default: null },
      ],
    };
    const type = avroTypeOf(schema);
    const convert = compileAvroConverter(schema, { values: 'avro' });
    const value = {
      amount: Buffer.from([0x04, 0xd2]),
      next: { amount: Buffer.from([0xff]), next: null, tags: {}, either: null },
      tags: { d: 1 },
      either: 'x',
    };
    assert.deepStrictEqual(convert(type.fromBuffer(type.toBuffer(value))), {
      amount: 123.4,
      next: { amount: -0.1, next: null, tags: {}, either: null },
      tags: { d: 86_400_000 },
      either: 'x',
    });
  });
});
