import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { createDecoder } from '../../../src/decode/index.js';
import type { Decoded, RawRecord } from '../../../src/decode/types.js';
import { StreamscoreError } from '../../../src/errors/index.js';
import {
  compileCheck,
  contractPath,
  loadContract,
  parseContract,
  recordFields,
  rowFields,
  timeProblem,
} from '../../../src/validate/index.js';

const TXN_SCHEMA = JSON.parse(readFileSync('schemas/transactions-value.avsc', 'utf8')) as unknown;
const CUSTOMER_SCHEMA = JSON.parse(readFileSync('schemas/cdc.bank.customers-value.avsc', 'utf8')) as unknown;
const TXN_CONTRACT = loadContract('.', 'transactions', { schemaFile: 'schemas/transactions-value.avsc' });
const PRODUCED = Date.UTC(2024, 5, 1);

const raw = (value: unknown, key = '7', timestamp = PRODUCED): RawRecord => ({
  topic: 'transactions',
  partition: 0,
  offset: '5',
  timestamp: String(timestamp),
  key: Buffer.from(key),
  value: Buffer.from(JSON.stringify(value)),
  headers: {},
});

const decoder = createDecoder({
  kind: 'events',
  options: { topic: 'transactions', format: 'json' },
  declaredValueSchema: TXN_SCHEMA,
});
const check = compileCheck({
  kind: 'events',
  contract: TXN_CONTRACT,
  declared: recordFields(TXN_SCHEMA),
  timeField: 'event_time',
});

const TXN = {
  txn_id: 'a1',
  customer_id: 7,
  amount: 12.5,
  type: 'debit',
  channel: 'card',
  mcc: '5411',
  declined: false,
  event_time: PRODUCED - 60_000,
};

/** The reason code a record gets from decode + contract ('ok' when it passes). */
function verdict(value: unknown, key?: string, timestamp?: number): string {
  const r = raw(value, key, timestamp);
  try {
    check(decoder.decodeSync(r), r, Date.UTC(2026, 0, 1));
    return 'ok';
  } catch (err) {
    if (err instanceof StreamscoreError) return err.code;
    throw err;
  }
}

test('the declared schema types are enforced on JSON: no coercion, no silent default', () => {
  assert.equal(verdict(TXN), 'ok');
  assert.equal(verdict({ ...TXN, amount: '12.5' }), 'SS_FIELD_TYPE');
  assert.equal(verdict({ ...TXN, declined: 'true' }), 'SS_FIELD_TYPE');
  assert.equal(verdict({ ...TXN, customer_id: 7.5 }), 'SS_FIELD_TYPE');
  assert.equal(verdict({ ...TXN, type: 'refund' }), 'SS_FIELD_TYPE');
  assert.equal(verdict({ ...TXN, mcc: 5411 }), 'SS_FIELD_TYPE');
  assert.equal(verdict({ ...TXN, amount: 'NaN' }), 'SS_FIELD_TYPE');
  const { amount: _a, ...noAmount } = TXN;
  assert.equal(verdict(noAmount), 'SS_FIELD_MISSING');
  assert.equal(verdict({ ...TXN, channel: null }), 'SS_FIELD_MISSING');
});

test('contract rules: ranges, patterns, lengths, entity ids', () => {
  assert.equal(verdict({ ...TXN, amount: -1 }), 'SS_FIELD_RANGE');
  assert.equal(verdict({ ...TXN, amount: 2e9 }), 'SS_FIELD_RANGE');
  assert.equal(verdict({ ...TXN, mcc: '54' }), 'SS_FIELD_RANGE');
  assert.equal(verdict({ ...TXN, txn_id: 'x'.repeat(65) }), 'SS_FIELD_RANGE');
  assert.equal(verdict({ ...TXN, txn_id: '' }), 'SS_FIELD_RANGE');
  assert.equal(verdict(TXN, 'abc'), 'SS_ENTITY_ID_INVALID');
  assert.equal(verdict(TXN, '1'.repeat(21)), 'SS_ENTITY_ID_INVALID');
  assert.equal(verdict(TXN, Buffer.from([0x31, 0xff, 0x32]).toString('latin1')), 'SS_ENTITY_ID_INVALID');
});

test('an entity id holding a lone surrogate (a JSON escape no UTF-8 can carry) is refused as not valid UTF-8', () => {
  const message = (value: unknown): string => {
    const r = raw(value, '');
    try {
      check(decoder.decodeSync(r), r, Date.UTC(2026, 0, 1));
      return 'ok';
    } catch (err) {
      if (err instanceof StreamscoreError) return `${err.code}: ${err.message}`;
      throw err;
    }
  };
  assert.match(message({ ...TXN, customer_id: '7\ud800' }), /^SS_ENTITY_ID_INVALID: .*not valid UTF-8/);
  assert.match(message({ ...TXN, customer_id: '\udc00' }), /^SS_ENTITY_ID_INVALID: .*not valid UTF-8/);
});

test('event times are whole milliseconds: a fraction is dropped', () => {
  const r = raw({ ...TXN, event_time: PRODUCED - 60_000 + 0.75 });
  const d = decoder.decodeSync(r);
  assert.equal(d.kind === 'event' ? d.eventTimeMs : null, PRODUCED - 60_000);
  assert.equal(verdict({ ...TXN, event_time: PRODUCED - 60_000 + 0.75 }), 'ok');
});

test('event times: floor, skew past the record timestamp, and the declared unit', () => {
  const seconds = Math.floor((PRODUCED - 60_000) / 1000);
  assert.equal(verdict({ ...TXN, event_time: Date.UTC(1900, 0, 1) }), 'SS_TIME_RANGE');
  assert.equal(verdict({ ...TXN, event_time: Date.UTC(2999, 0, 1) }), 'SS_TIME_RANGE');
  assert.equal(verdict({ ...TXN, event_time: PRODUCED + 301_000 }), 'SS_TIME_RANGE');
  assert.equal(verdict({ ...TXN, event_time: PRODUCED + 299_000 }), 'ok');
  assert.equal(verdict({ ...TXN, event_time: seconds }), 'SS_TIME_UNIT');
  assert.equal(verdict({ ...TXN, event_time: (PRODUCED - 60_000) * 1000 }), 'SS_TIME_UNIT');
  assert.equal(verdict({ ...TXN, event_time: String(BigInt(PRODUCED) * 1_000_000n) }), 'SS_TIME_UNIT');
  assert.equal(verdict({ ...TXN, event_time: 1e300 }), 'SS_TIME_RANGE');
  // judged against the record's produce time, not the wall clock: a replay years later decides the same
  assert.equal(verdict({ ...TXN, event_time: PRODUCED + 120_000 }, '7', PRODUCED), 'ok');
  // a record timestamp in the future does not widen the window past now
  const now = Date.UTC(2026, 0, 1);
  assert.equal(verdict({ ...TXN, event_time: now + 3_600_000 }, '7', now + 7_200_000), 'SS_TIME_RANGE');
});

test('time messages name the unit they read as', () => {
  const rule = { notBefore: Date.UTC(2000, 0, 1), maxFutureSkewMs: 300_000 };
  const ref = Date.UTC(2024, 0, 1);
  assert.match(
    timeProblem(ref / 1000, ref, rule, 't')?.message ?? '',
    /epoch seconds \(2024-01-01T00:00:00\.000Z\)/,
  );
  assert.match(timeProblem(ref * 1000, ref, rule, 't')?.message ?? '', /epoch microseconds/);
  assert.match(
    timeProblem(ref + 86_400_000, ref, rule, 't')?.message ?? '',
    /1 d after the record was produced/,
  );
  assert.equal(timeProblem(ref, ref, rule, 't'), null);
});

test('CDC rows: required columns, rule fields, source.ts_ms; deletes and tombstones carry no row to judge', () => {
  const contract = loadContract('.', 'cdc.bank.customers', {
    schemaFile: 'schemas/cdc.bank.customers-value.avsc',
  });
  const check = compileCheck({
    kind: 'cdc',
    contract,
    declared: rowFields(CUSTOMER_SCHEMA),
    rowColumns: null,
  });
  const r = { ...raw(null), topic: 'cdc.bank.customers' };
  const change = (
    after: Record<string, unknown> | null,
    op: 'c' | 'u' | 'd' = 'u',
    ts = PRODUCED,
  ): Decoded => ({
    kind: 'cdc',
    op,
    entityId: '7',
    before: null,
    after,
    lsn: '1',
    sourceTsMs: ts,
    tsMs: ts,
    snapshot: null,
    table: 'customers',
  });
  const codeOf = (d: Decoded) => {
    try {
      check(d, r, Date.UTC(2026, 0, 1));
      return 'ok';
    } catch (err) {
      return (err as StreamscoreError).code;
    }
  };
  assert.equal(codeOf(change({ id: 7, age: 40, region: 'north' })), 'ok');
  assert.equal(codeOf(change({ age: 40 })), 'SS_FIELD_MISSING'); // id is required by the schema
  assert.equal(codeOf(change({ id: 7, age: 400 })), 'SS_FIELD_RANGE');
  assert.equal(codeOf(change({ id: 7, region: 'mars' })), 'SS_FIELD_RANGE');
  assert.equal(codeOf(change({ id: 7, utilisation: Number.NaN })), 'SS_FIELD_TYPE');
  assert.equal(codeOf(change({ id: 7, balance: 'lots' })), 'SS_FIELD_TYPE');
  assert.equal(codeOf(change({ id: 7 }, 'u', PRODUCED + 86_400_000)), 'SS_TIME_RANGE');
  assert.equal(codeOf(change(null, 'd')), 'ok');
  assert.equal(codeOf({ kind: 'tombstone', entityId: '7' }), 'ok');
  // a TOASTed column an UPDATE left unchanged carries Debezium's placeholder: nothing to judge
  assert.equal(codeOf(change({ id: 7, region: '__debezium_unavailable_value' })), 'ok');
});

test('a contract file is found next to its schema; a bad one names the field and the file', () => {
  assert.equal(
    contractPath('/p', 'it-x.transactions', undefined, 'schemas/transactions-value.avsc').path,
    '/p/schemas/transactions-contract.yaml',
  );
  assert.equal(contractPath('/p', 'orders', undefined, undefined).path, '/p/schemas/orders-contract.yaml');
  const dir = mkdtempSync(join(tmpdir(), 'contract-'));
  writeFileSync(
    join(dir, 'bad.yaml'),
    'fields:\n  amount: { min: 5, max: 1, colour: red }\ntime: { notBefore: someday }\n',
  );
  assert.throws(
    () => loadContract(dir, 'transactions', { contractFile: 'bad.yaml' }),
    (err: unknown) =>
      err instanceof StreamscoreError &&
      err.code === 'SS_CONTRACT_INVALID' &&
      /bad\.yaml/.test(err.message) &&
      /fields\.amount/.test(err.message) &&
      /colour/.test(err.message) &&
      /time\.notBefore/.test(err.message),
  );
  assert.throws(
    () => loadContract(dir, 'transactions', { contractFile: 'missing.yaml' }),
    (err: unknown) => err instanceof StreamscoreError && err.code === 'SS_CONTRACT_INVALID',
  );
  // without a file: the defaults (types from the schema, time floor 2000-01-01, 5 min skew, ids ≤ 128)
  const d = parseContract(undefined, 'orders', '(defaults)');
  assert.equal(d.time.notBefore, Date.UTC(2000, 0, 1));
  assert.equal(d.time.maxFutureSkewMs, 300_000);
  assert.equal(d.entityId.maxLength, 128);
});
