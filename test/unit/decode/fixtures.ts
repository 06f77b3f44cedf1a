/**
 * Golden Debezium records for the decode tests, built the way the producers build them: Avro through avsc
 * with the project's schemas/ files and the Confluent header, JSON as JsonConverter writes it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { RecordRejected, StreamscoreError } from '../../../src/errors/index.js';
import type { ErrorCode } from '../../../src/errors/index.js';
import type { RawRecord, WriterSchemaSource } from '../../../src/decode/index.js';

/** Project root, from dist/test/unit/decode at run time. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export function readText(relative: string): string {
  return readFileSync(ROOT + relative, 'utf8');
}

export function readJsonFile(relative: string): unknown {
  return JSON.parse(readText(relative));
}

export const CUSTOMER_KEY_SCHEMA = readJsonFile('schemas/cdc.bank.customers-key.avsc');
export const CUSTOMER_VALUE_SCHEMA = readJsonFile('schemas/cdc.bank.customers-value.avsc');
export const TRANSACTION_SCHEMA = readJsonFile('schemas/transactions-value.avsc');
export const CONNECT_KEY_SCHEMA = JSON.stringify(
  readJsonFile('test/fixtures/debezium/customers-key.connect-schema.json'),
);
export const CONNECT_VALUE_SCHEMA = JSON.stringify(
  readJsonFile('test/fixtures/debezium/customers-value.connect-schema.json'),
);

export const KEY_ID = 11;
export const VALUE_ID = 12;
export const TXN_ID = 13;

/**
 * An int64 for building fixtures that goes through avsc's own zigzag packing (8-byte two's complement), so
 * the decoder's varint reader is checked against an independent encoder. Accepts bigint for ts_ns.
 */
const FixtureLong = avro.types.LongType.__with({
  fromBuffer: (b: Buffer) => b.readBigInt64LE(0),
  toBuffer: (v: bigint | number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(v));
    return b;
  },
  fromJSON: (v: number | string) => BigInt(v),
  toJSON: (v: bigint) => Number(v),
  isValid: (v: unknown) => typeof v === 'bigint' || Number.isSafeInteger(v),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

export function writerType(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, {
    typeHook: (s: unknown) =>
      s === 'long' || (typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'long')
        ? FixtureLong
        : undefined,
  });
}

/** Confluent wire format: magic byte 0, big-endian int32 schema id, Avro binary. */
export function frame(id: number, type: avro.Type, value: unknown): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, type.toBuffer(value)]);
}

/** Minimal two's-complement big-endian bytes of an unscaled decimal (what Connect's Decimal writes). */
export function dec(unscaled: bigint): Buffer {
  let len = 1;
  while (unscaled < -(1n << BigInt(8 * len - 1)) || unscaled >= 1n << BigInt(8 * len - 1)) len++;
  const out = Buffer.alloc(len);
  let u = BigInt.asUintN(8 * len, unscaled);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

/** JSON as JsonConverter writes it: bytes as base64, int64 as bare digits (bigint here). */
export function toJsonText(value: unknown): string {
  const marked = JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
    const original = this[k];
    if (typeof original === 'bigint') return `@@big:${original}`;
    if (Buffer.isBuffer(original)) return original.toString('base64');
    return v;
  });
  return marked.replace(/"@@big:(-?\d+)"/g, '$1');
}

/** A WriterSchemaSource over a Map, as the registry adapter behaves: unknown id → non-retriable error. */
export class MapSchemas implements WriterSchemaSource {
  calls = 0;
  readonly #schemas: Map<number, unknown>;
  constructor(entries: Iterable<readonly [number, unknown]>) {
    this.#schemas = new Map(entries);
  }
  async avroSchema(id: number): Promise<unknown> {
    this.calls++;
    const s = this.#schemas.get(id);
    if (s === undefined)
      throw new StreamscoreError('SS_UNKNOWN_SCHEMA', `schema id ${id} is not in the registry`);
    return s;
  }
}

export function customerSchemas(): MapSchemas {
  return new MapSchemas([
    [KEY_ID, CUSTOMER_KEY_SCHEMA],
    [VALUE_ID, JSON.stringify(CUSTOMER_VALUE_SCHEMA)],
    [TXN_ID, TRANSACTION_SCHEMA],
  ]);
}

export function record(partial: Partial<RawRecord> = {}): RawRecord {
  return {
    topic: 'cdc.bank.customers',
    partition: 3,
    offset: '1042',
    timestamp: '1709288130700',
    key: null,
    value: null,
    headers: {},
    ...partial,
  };
}

export async function assertRejected(
  fn: () => unknown,
  code: ErrorCode,
  message?: RegExp,
): Promise<RecordRejected> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RecordRejected, `expected RecordRejected ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

// ---- the customers table -------------------------------------------------------------------------------

const NULL_ROW = {
  tenure_months: null,
  age: null,
  products_held: null,
  balance: null,
  credit_limit: null,
  utilisation: null,
  region: null,
  segment: null,
  created_at: null,
  updated_at: null,
  birth_date: null,
};

export function customerRow(
  id: number | bigint,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    tenure_months: 27,
    age: 41,
    products_held: 3,
    balance: dec(123456n), // 1234.56
    credit_limit: dec(999999999999n), // 9999999999.99
    utilisation: 0.37,
    region: 'north',
    segment: 'affluent',
    created_at: 1700000000123456, // MicroTimestamp
    updated_at: '2024-03-01T10:15:30.123456Z', // ZonedTimestamp
    birth_date: 19000, // Date: days since epoch
    ...overrides,
  };
}

/** With the default replica identity, `before` of an update or delete holds only the primary key. */
export function pkOnlyRow(id: number | bigint): Record<string, unknown> {
  return { id, ...NULL_ROW };
}

/** The decoded form of customerRow() with no overrides. */
export function expectedRow(id: number | string): Record<string, unknown> {
  return {
    id,
    tenure_months: 27,
    age: 41,
    products_held: 3,
    balance: 1234.56,
    credit_limit: 9999999999.99,
    utilisation: 0.37,
    region: 'north',
    segment: 'affluent',
    created_at: 1700000000123,
    updated_at: Date.UTC(2024, 2, 1, 10, 15, 30, 123),
    birth_date: 19000 * 86_400_000,
  };
}

export function expectedPkOnly(id: number | string): Record<string, unknown> {
  return { id, ...NULL_ROW };
}

export function source(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '2.7.3.Final',
    connector: 'postgresql',
    name: 'bank',
    ts_ms: 1709288130500,
    snapshot: 'false',
    db: 'bank',
    sequence: '["26751960","26752656"]',
    ts_us: 1709288130500123,
    ts_ns: 1709288130500123000n,
    schema: 'public',
    table: 'customers',
    txId: 752,
    lsn: 26752656,
    xmin: null,
    ...overrides,
  };
}

export function envelope(
  op: string,
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    before,
    after,
    source: source(),
    transaction: null,
    op,
    ts_ms: 1709288130612,
    ts_us: 1709288130612345,
    ts_ns: 1709288130612345000n,
    ...overrides,
  };
}

export type Encoding = 'avro' | 'json-schema' | 'json';
export const ENCODINGS: readonly Encoding[] = ['avro', 'json-schema', 'json'];

const keyType = writerType(CUSTOMER_KEY_SCHEMA);
const valueType = writerType(CUSTOMER_VALUE_SCHEMA);
export const transactionType = writerType(TRANSACTION_SCHEMA);

export function customerKey(encoding: Encoding, id: number | bigint): Buffer {
  if (encoding === 'avro') return frame(KEY_ID, keyType, { id });
  const payload = toJsonText({ id });
  return Buffer.from(encoding === 'json' ? payload : `{"schema":${CONNECT_KEY_SCHEMA},"payload":${payload}}`);
}

export function customerValue(encoding: Encoding, value: Record<string, unknown>): Buffer {
  if (encoding === 'avro') return frame(VALUE_ID, valueType, value);
  const payload = toJsonText(value);
  return Buffer.from(
    encoding === 'json' ? payload : `{"schema":${CONNECT_VALUE_SCHEMA},"payload":${payload}}`,
  );
}
