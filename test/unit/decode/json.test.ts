import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDecoder, parseJson } from '../../../src/decode/index.js';
import type { RecordDecoder } from '../../../src/decode/index.js';
import {
  assertRejected,
  CONNECT_VALUE_SCHEMA,
  CUSTOMER_VALUE_SCHEMA,
  customerRow,
  customerValue,
  envelope,
  expectedRow,
  record,
  toJsonText,
} from './fixtures.js';

function jsonDecoder(declaredValueSchema?: unknown): RecordDecoder {
  return createDecoder({
    kind: 'cdc',
    options: { topic: 'cdc.bank.customers', format: 'json' },
    declaredValueSchema,
  });
}

const json = (text: string) => Buffer.from(text);

describe('parseJson', () => {
  it('keeps integers beyond 2^53 exact, as decimal strings', () => {
    assert.deepStrictEqual(parseJson('{"a":9007199254740993,"b":-9007199254740993,"c":9007199254740991}'), {
      a: '9007199254740993',
      b: '-9007199254740993',
      c: 9007199254740991,
    });
  });

  it('leaves strings, decimals and exponents alone', () => {
    const text = '{"s":"id 12345678901234567890 \\" 98765432109876543210","d":12345678901234567.5,"e":1e21}';
    assert.deepStrictEqual(parseJson(text), {
      s: 'id 12345678901234567890 " 98765432109876543210',
      d: Number('12345678901234567.5'),
      e: 1e21,
    });
  });
});

describe('JSON (JsonConverter) values', () => {
  it('reads schemas.enable=true records whatever their layout (compact or not)', async () => {
    const value = envelope('c', null, customerRow(5));
    const compact = json(`{"schema":${CONNECT_VALUE_SCHEMA},"payload":${toJsonText(value)}}`);
    const spaced = json(`{ "payload": ${toJsonText(value)}, "schema": ${CONNECT_VALUE_SCHEMA} }\n`);
    const d = jsonDecoder();
    for (const buf of [compact, spaced, compact]) {
      const decoded = await d.decode(record({ value: buf }));
      assert.equal(decoded.kind, 'cdc');
      assert.deepStrictEqual(decoded.kind === 'cdc' && decoded.after, expectedRow(5));
    }
  });

  it('uses the declared schema for decimals and times when the record has no schema', async () => {
    const decoded = await jsonDecoder(CUSTOMER_VALUE_SCHEMA).decode(
      record({ value: customerValue('json', envelope('r', null, customerRow(5))) }),
    );
    assert.deepStrictEqual(decoded.kind === 'cdc' && decoded.after, expectedRow(5));
  });

  it('takes decimals in double or string handling mode as they are', async () => {
    const row = customerRow(5, { balance: 1234.56, credit_limit: '9999999999.99' });
    const decoded = await jsonDecoder(CUSTOMER_VALUE_SCHEMA).decode(
      record({ value: customerValue('json', envelope('c', null, row)) }),
    );
    assert.deepStrictEqual(decoded.kind === 'cdc' && decoded.after, expectedRow(5));
  });

  it('rejects a base64 decimal whose scale nobody declares as SS_FIELD_TYPE', async () => {
    const declared = JSON.parse(
      JSON.stringify(CUSTOMER_VALUE_SCHEMA).replaceAll('"scale":2,', '').replaceAll('"scale":"2",', ''),
    );
    await assertRejected(
      () =>
        jsonDecoder(declared).decode(
          record({ value: customerValue('json', envelope('c', null, customerRow(5))) }),
        ),
      'SS_FIELD_TYPE',
      /after\.balance/,
    );
  });

  it('rejects text that is not JSON, and JSON that is not an object, as SS_DECODE_FAILED', async () => {
    for (const text of ['{"op":"c",', 'hello', '[1,2,3]', '"a string"', '42', 'null']) {
      await assertRejected(() => jsonDecoder().decode(record({ value: json(text) })), 'SS_DECODE_FAILED');
    }
  });

  it('rejects an unreadable embedded schema as SS_DECODE_FAILED', async () => {
    await assertRejected(
      () =>
        jsonDecoder().decode(record({ value: json('{"schema":{"type":"struct"},"payload":{"op":"c"}}') })),
      'SS_DECODE_FAILED',
      /Connect schema/,
    );
  });
});

describe('decimal.handling.mode=string', () => {
  it('reads decimal text as a number where the declared schema says decimal, whatever the writer schema says', async () => {
    // JsonConverter with schemas: the writer's schema says string for the NUMERIC column in string mode
    const schema = JSON.parse(CONNECT_VALUE_SCHEMA) as {
      fields: Array<{ field: string; fields?: unknown[] }>;
    };
    const asString = (fields: unknown[]) =>
      fields.map((f) => {
        const x = f as { field: string };
        return x.field === 'balance' || x.field === 'credit_limit'
          ? { type: 'string', optional: true, field: x.field }
          : f;
      });
    for (const f of schema.fields)
      if (f.fields !== undefined && (f.field === 'before' || f.field === 'after'))
        f.fields = asString(f.fields);
    const value = envelope('u', null, customerRow(5, { balance: '-1234.50', credit_limit: '2000.00' }));
    const d = jsonDecoder(CUSTOMER_VALUE_SCHEMA);
    const decoded = await d.decode(
      record({ value: json(`{"schema":${JSON.stringify(schema)},"payload":${toJsonText(value)}}`) }),
    );
    assert.equal(decoded.kind, 'cdc');
    assert.equal(decoded.kind === 'cdc' && decoded.after?.balance, -1234.5);
    assert.equal(decoded.kind === 'cdc' && decoded.after?.credit_limit, 2000);
    // text that is not a decimal is left for the validate stage to refuse
    const bad = envelope('u', null, customerRow(5, { balance: 'n/a' }));
    const kept = await d.decode(
      record({ value: json(`{"schema":${JSON.stringify(schema)},"payload":${toJsonText(bad)}}`) }),
    );
    assert.equal(kept.kind === 'cdc' && kept.after?.balance, 'n/a');
  });
});
