/**
 * The compiled Avro reader (and its projection to the spec's columns) against the reference path (avsc +
 * converter, `avro: { avsc: true }`): same values, and the same verdict, code and message for damaged bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDecoder } from '../../../src/decode/index.js';
import type { Decoded, RawRecord, RecordDecoder } from '../../../src/decode/index.js';
import { RecordRejected } from '../../../src/errors/index.js';
import { encodeRecord, generateStream, Random } from '../../../src/sample/index.js';
import {
  assertRejected,
  CUSTOMER_VALUE_SCHEMA,
  customerKey,
  customerRow,
  customerSchemas,
  customerValue,
  envelope,
  frame,
  KEY_ID,
  MapSchemas,
  pkOnlyRow,
  record,
  source,
  TXN_ID,
  VALUE_ID,
  writerType,
} from './fixtures.js';

/** What models/churn reads of a customer row (profileFields of its spec). */
const SPEC_COLUMNS = ['tenure_months', 'age', 'products_held', 'balance', 'credit_limit', 'region'];
const KEPT = new Set([...SPEC_COLUMNS, 'id']);
const IDS = { cdcKey: KEY_ID, cdcValue: VALUE_ID, transactionValue: TXN_ID };

function cdcDecoder(opts: { avsc?: boolean; rowFields?: string[]; json?: boolean } = {}): RecordDecoder {
  return createDecoder({
    kind: 'cdc',
    options: { topic: 'cdc.bank.customers', format: opts.json === true ? 'json' : 'avro' },
    writerSchemas: customerSchemas(),
    declaredValueSchema: CUSTOMER_VALUE_SCHEMA,
    avro: { avsc: opts.avsc === true },
    ...(opts.rowFields === undefined ? {} : { rowFields: opts.rowFields }),
  });
}

const reference = cdcDecoder({ avsc: true });
const compiled = cdcDecoder();
const lean = cdcDecoder({ rowFields: SPEC_COLUMNS });

function pick(row: Record<string, unknown> | null): Record<string, unknown> | null {
  return row === null ? null : Object.fromEntries(Object.entries(row).filter(([k]) => KEPT.has(k)));
}

/** The reference result cut down to the spec's columns: what the lean decoder must give. */
function projected(d: Decoded): Decoded {
  return d.kind === 'cdc' ? { ...d, before: pick(d.before), after: pick(d.after) } : d;
}

type Outcome = { ok: Decoded } | { code: string; message: string };

async function outcome(d: RecordDecoder, r: RawRecord): Promise<Outcome> {
  try {
    return { ok: await d.decode(r) };
  } catch (err) {
    if (!(err instanceof RecordRejected)) throw err;
    return { code: err.code, message: err.message };
  }
}

/** Compiled (whole and projected) and reference agree on `r`: both values, or both rejections. */
async function assertAgree(r: RawRecord, what: string): Promise<Outcome> {
  const want = await outcome(reference, r);
  assert.deepStrictEqual(await outcome(compiled, r), want, `${what}: compiled, all columns`);
  const wantLean = 'ok' in want ? { ok: projected(want.ok) } : want;
  assert.deepStrictEqual(await outcome(lean, r), wantLean, `${what}: compiled, spec columns`);
  return want;
}

const FIXTURES: Array<[string, Record<string, unknown>]> = [
  ['insert', envelope('c', null, customerRow(1))],
  ['snapshot read', envelope('r', null, customerRow(2), { source: source({ snapshot: 'last' }) })],
  ['update', envelope('u', pkOnlyRow(3), customerRow(3))],
  ['delete', envelope('d', pkOnlyRow(4), null)],
  ['truncate', envelope('t', null, null)],
  ['id beyond 2^53', envelope('c', null, customerRow(9007199254740993n))],
  ['negative decimals, nulls', envelope('u', null, customerRow(5, { balance: null, region: null }))],
  ['no lsn, no ts_ns', envelope('u', null, customerRow(6), { source: source({ lsn: null, ts_ns: null }) })],
];

describe('compiled Avro reader: values', () => {
  for (const [name, value] of FIXTURES) {
    it(`${name}: equal to the reference, and to it cut to the spec's columns`, async () => {
      for (const key of [customerKey('avro', 42), null]) {
        const out = await assertAgree(record({ key, value: customerValue('avro', value) }), name);
        assert.ok('ok' in out, `${name} decodes`);
      }
    });
  }

  it('a generated stream (seed 7, 300 customers): every CDC record and transaction', async () => {
    const stream = generateStream({ seed: 7, customers: 300 });
    const txnRef = createDecoder({
      kind: 'events',
      options: { topic: 'transactions' },
      writerSchemas: customerSchemas(),
      avro: { avsc: true },
    });
    const txn = createDecoder({
      kind: 'events',
      options: { topic: 'transactions' },
      writerSchemas: customerSchemas(),
    });
    for (const [i, r] of stream.cdc.entries()) {
      const e = encodeRecord('avro', r, IDS);
      const out = await assertAgree(record({ key: e.key, value: e.value, offset: String(i) }), `cdc #${i}`);
      assert.ok('ok' in out, `cdc #${i} decodes`);
    }
    for (const [i, r] of stream.transactions.entries()) {
      const e = encodeRecord('avro', r, IDS);
      const raw = record({ topic: 'transactions', key: e.key, value: e.value, offset: String(i) });
      assert.deepStrictEqual(await txn.decode(raw), await txnRef.decode(raw), `transaction #${i}`);
    }
  });

  it('JSON rows are cut to the same columns as Avro rows', async () => {
    const json = cdcDecoder({ json: true, rowFields: SPEC_COLUMNS });
    const value = envelope('u', pkOnlyRow(3), customerRow(3));
    const fromJson = await json.decode(
      record({ key: customerKey('json', 3), value: customerValue('json', value) }),
    );
    const fromAvro = await lean.decode(
      record({ key: customerKey('avro', 3), value: customerValue('avro', value) }),
    );
    assert.deepStrictEqual(fromJson, fromAvro);
    assert.deepStrictEqual(Object.keys((fromAvro.kind === 'cdc' && fromAvro.after) || {}), [
      'id',
      ...SPEC_COLUMNS,
    ]);
  });

  it('falls back to avsc for a schema it does not materialise (a union of several types)', async () => {
    const schema = {
      type: 'record',
      name: 'Envelope',
      namespace: 't',
      fields: [
        { name: 'op', type: 'string' },
        { name: 'ts_ms', type: 'long' },
        {
          name: 'after',
          type: ['null', { type: 'record', name: 'Row', fields: [{ name: 'id', type: ['long', 'string'] }] }],
        },
      ],
    };
    const d = createDecoder({
      kind: 'cdc',
      options: { topic: 't' },
      writerSchemas: new MapSchemas([[5, schema]]),
      rowFields: [],
    });
    const decoded = await d.decode(
      record({ value: frame(5, writerType(schema), { op: 'c', ts_ms: 1, after: { id: 'x1' } }) }),
    );
    assert.deepStrictEqual(decoded.kind === 'cdc' && [decoded.entityId, decoded.after], ['x1', { id: 'x1' }]);
  });
});

describe('compiled Avro reader: damaged records get the reference verdict', () => {
  const update = customerValue('avro', envelope('u', pkOnlyRow(3), customerRow(3)));

  it('every truncation, and a trailing byte', async () => {
    for (let n = 0; n < update.length; n++) {
      const out = await assertAgree(record({ value: update.subarray(0, n) }), `first ${n} bytes`);
      assert.ok(!('ok' in out) && out.code === 'SS_DECODE_FAILED', `first ${n} bytes rejected`);
    }
    await assertAgree(record({ value: Buffer.concat([update, Buffer.from([0])]) }), 'trailing byte');
  });

  it('random byte changes (seeded): same value or same rejection', async () => {
    const rng = new Random(11);
    const verdicts = new Set<string>();
    for (let i = 0; i < 1500; i++) {
      const bad = Buffer.from(update);
      for (let k = rng.int(1, 3); k > 0; k--) bad[rng.int(5, bad.length - 1)] = rng.int(0, 255);
      const out = await assertAgree(record({ value: bad }), `mutation ${i} (${bad.toString('hex')})`);
      verdicts.add('ok' in out ? 'ok' : out.code);
    }
    // The mutations reach every verdict, so the comparison above covered each of them.
    assert.deepStrictEqual([...verdicts].sort(), [
      'SS_CDC_UNKNOWN_OP',
      'SS_CONTRACT_VIOLATION',
      'SS_DECODE_FAILED',
      'SS_FIELD_TYPE',
      'ok',
    ]);
  });

  it('a column the spec does not read is still checked: a bad ZonedTimestamp is a field type error', async () => {
    const value = customerValue('avro', envelope('u', null, customerRow(3, { updated_at: 'yesterday' })));
    const err = await assertRejected(
      () => lean.decode(record({ value })),
      'SS_FIELD_TYPE',
      /after\.updated_at/,
    );
    assert.match(err.message, /yesterday/);
  });

  it('an unknown schema id is SS_UNKNOWN_SCHEMA, as before', async () => {
    const value = frame(999, writerType(CUSTOMER_VALUE_SCHEMA), envelope('c', null, customerRow(1)));
    await assertRejected(() => lean.decode(record({ value })), 'SS_UNKNOWN_SCHEMA', /999/);
  });
});
