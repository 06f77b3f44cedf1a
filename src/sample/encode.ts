/**
 * Logical sample records → the bytes real producers put on Kafka:
 * - 'avro': Confluent's AvroConverter / KafkaAvroSerializer (magic byte 0, big-endian schema id, Avro binary)
 *   with the project's schemas/ files, which are what Debezium registers for the customers table.
 * - 'json-schema': Kafka Connect's JsonConverter with schemas.enable=true (`{"schema":…,"payload":…}`).
 * - 'json': JsonConverter with schemas.enable=false (the payload alone; decimals stay base64, so their scale
 *   is only in the declared schema).
 * Debezium's column encodings apply in every format: numeric(12,2) as the unscaled two's-complement integer,
 * `timestamp` as MicroTimestamp (µs), `timestamptz` as ZonedTimestamp (ISO-8601, 6 fraction digits), `date`
 * as days since the epoch. Transactions come from a service, not from Connect: plain JSON in both JSON formats,
 * and keys are the customer id as UTF-8 text in every format.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { frame } from '../adapters/confluent-frame.js';
import { DAY_MS } from './customers.js';
import type { CdcKey, CdcRecord, CdcValue, CustomerRow, SampleRecord, TransactionValue } from './types.js';

export type SampleFormat = 'avro' | 'json' | 'json-schema';

/** Registry ids of the writer schemas (Avro only); transaction keys are plain text and have none. */
export interface SampleSchemaIds {
  readonly cdcKey: number;
  readonly cdcValue: number;
  readonly transactionValue: number;
}

export const SAMPLE_SCHEMA_FILES = {
  cdcKey: 'cdc.bank.customers-key.avsc',
  cdcValue: 'cdc.bank.customers-value.avsc',
  transactionValue: 'transactions-value.avsc',
} as const;

export type SampleSchemaTexts = { readonly [K in keyof typeof SAMPLE_SCHEMA_FILES]: string };

/** The project's schemas/ folder (from dist/src/sample at run time). */
export const SAMPLE_SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));

export function readSampleSchemas(dir = SAMPLE_SCHEMA_DIR): SampleSchemaTexts {
  const read = (file: string) => readFileSync(`${dir.replace(/\/?$/, '/')}${file}`, 'utf8');
  return {
    cdcKey: read(SAMPLE_SCHEMA_FILES.cdcKey),
    cdcValue: read(SAMPLE_SCHEMA_FILES.cdcValue),
    transactionValue: read(SAMPLE_SCHEMA_FILES.transactionValue),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Column encodings

const SCALE = 2;

/**
 * Connect's `Decimal`: the unscaled value as a minimal big-endian two's-complement integer (Java's
 * `BigInteger.toByteArray()`, so 0 is one zero byte).
 */
export function decimalBytes(value: number, scale = SCALE): Buffer {
  if (!Number.isFinite(value)) throw new RangeError(`a decimal column cannot hold ${value}`);
  let unscaled = BigInt(value.toFixed(scale).replace('.', ''));
  let len = 1;
  while (unscaled < -(1n << BigInt(8 * len - 1)) || unscaled >= 1n << BigInt(8 * len - 1)) len++;
  const out = Buffer.alloc(len);
  unscaled = BigInt.asUintN(8 * len, unscaled);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(unscaled & 0xffn);
    unscaled >>= 8n;
  }
  return out;
}

/**
 * Postgres keeps microseconds; the logical rows keep millis (what the decoder yields). The sub-millisecond
 * digits are a fixed function of the instant, so every encoding of a row carries the same ones and a decoder
 * that rounds instead of flooring is caught.
 */
function subMillisMicros(ms: number): number {
  return (Math.imul(ms | 0, 0x9e3779b1) >>> 0) % 1000;
}

function microTimestamp(ms: number): number {
  return ms * 1000 + subMillisMicros(ms);
}

function zonedTimestamp(ms: number): string {
  // Debezium 2.x pads the fraction to the column's precision: timestamptz(6) → always 6 digits.
  return `${new Date(ms).toISOString().slice(0, -1)}${String(subMillisMicros(ms)).padStart(3, '0')}Z`;
}

function epochDays(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

type Wire = Record<string, unknown>;

function wireRow(r: CustomerRow, decimal: (v: number) => unknown): Wire {
  return {
    id: r.id,
    tenure_months: r.tenure_months,
    age: r.age,
    products_held: r.products_held,
    balance: r.balance === null ? null : decimal(r.balance),
    credit_limit: r.credit_limit === null ? null : decimal(r.credit_limit),
    utilisation: r.utilisation,
    region: r.region,
    segment: r.segment,
    created_at: r.created_at === null ? null : microTimestamp(r.created_at),
    updated_at: r.updated_at === null ? null : zonedTimestamp(r.updated_at),
    birth_date: r.birth_date === null ? null : epochDays(r.birth_date),
  };
}

/** The envelope in schema field order (JsonConverter writes fields in schema order). */
function wireEnvelope(v: CdcValue, decimal: (v: number) => unknown, int64: (s: string) => unknown): Wire {
  const s = v.source;
  return {
    before: v.before === null ? null : wireRow(v.before, decimal),
    after: v.after === null ? null : wireRow(v.after, decimal),
    source: {
      version: s.version,
      connector: s.connector,
      name: s.name,
      ts_ms: s.ts_ms,
      snapshot: s.snapshot,
      db: s.db,
      sequence: s.sequence,
      ts_us: s.ts_us,
      ts_ns: int64(s.ts_ns),
      schema: s.schema,
      table: s.table,
      txId: s.txId,
      lsn: s.lsn,
      xmin: s.xmin,
    },
    transaction: null,
    op: v.op,
    ts_ms: v.ts_ms,
    ts_us: v.ts_us,
    ts_ns: int64(v.ts_ns),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Avro

const TWO_POW_52 = 2 ** 52;

/** Avro's zigzag varint of an int64 given as a number, an integer string or a bigint. */
function writeVarLong(v: number | string | bigint): Buffer {
  const bytes: number[] = [];
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < TWO_POW_52) {
    // Below 2^52 the zigzag value stays below 2^53, so plain float arithmetic is exact (and fast).
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    while (z >= 128) {
      bytes.push((z % 128) | 0x80);
      z = Math.floor(z / 128);
    }
    bytes.push(z);
    return Buffer.from(bytes);
  }
  const big = BigInt(v);
  let z = big >= 0n ? big << 1n : (-big << 1n) - 1n;
  while (z >= 128n) {
    bytes.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  bytes.push(Number(z));
  return Buffer.from(bytes);
}

function readVarLong(buf: Buffer): number | string {
  let z = 0n;
  for (let i = buf.length - 1; i >= 0; i--) z = (z << 7n) | BigInt(buf[i]! & 0x7f);
  const v = (z >> 1n) ^ -(z & 1n);
  return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
}

/** avsc's own long refuses values beyond 2^53; Debezium writes ts_ns (~1.7e18) in every event. */
const WIDE_LONG = avro.types.LongType.__with(
  {
    fromBuffer: readVarLong,
    toBuffer: writeVarLong,
    fromJSON: (v: number | string) => v,
    toJSON: (v: number | string) => v,
    isValid: (v: unknown) =>
      Number.isSafeInteger(v) || typeof v === 'bigint' || (typeof v === 'string' && /^-?\d+$/.test(v)),
    compare: (a: number | string, b: number | string) => {
      const x = BigInt(a);
      const y = BigInt(b);
      return x < y ? -1 : x > y ? 1 : 0;
    },
  },
  true,
);

function avroType(schemaText: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema, {
    wrapUnions: 'auto',
    typeHook: (s: unknown) =>
      s === 'long' || (typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'long')
        ? WIDE_LONG
        : undefined,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Kafka Connect JSON

type ConnectSchema = Record<string, unknown>;

const CONNECT_PRIMITIVES: Readonly<Record<string, string>> = {
  boolean: 'boolean',
  int: 'int32',
  long: 'int64',
  float: 'float',
  double: 'double',
  bytes: 'bytes',
  string: 'string',
};

/**
 * The Connect schema JsonConverter writes for data whose Avro schema (as Debezium's AvroConverter registers
 * it) is `schema`: `connect.*` attributes become name/version/parameters/default, `[null, T]` unions become
 * optional fields, keys in JsonConverter's order. Covers what Debezium envelopes use (records, primitives,
 * nullable unions), not every Avro type.
 */
export function connectSchemaOf(schema: unknown): ConnectSchema {
  const named = new Map<string, Record<string, unknown>>();
  const walk = (s: unknown, ns: string, optional: boolean): ConnectSchema => {
    if (Array.isArray(s)) {
      const branches = s.filter((b) => b !== 'null');
      if (branches.length !== 1) throw new Error(`only [null, T] unions have a Connect equivalent here`);
      return walk(branches[0], ns, optional || branches.length < s.length);
    }
    if (typeof s === 'string') {
      const primitive = CONNECT_PRIMITIVES[s];
      if (primitive !== undefined) return { type: primitive, optional };
      const ref = named.get(s.includes('.') ? s : `${ns}.${s}`) ?? named.get(s);
      if (ref === undefined) throw new Error(`undefined Avro type ${s}`);
      return walk(ref, ns, optional);
    }
    if (typeof s !== 'object' || s === null) throw new Error(`not an Avro schema: ${JSON.stringify(s)}`);
    const o = s as Record<string, unknown>;
    const attrs = (out: ConnectSchema): ConnectSchema => {
      if (typeof o['connect.name'] === 'string') out.name = o['connect.name'];
      if (o['connect.version'] !== undefined) out.version = o['connect.version'];
      if (o['connect.parameters'] !== undefined) out.parameters = o['connect.parameters'];
      if (o['connect.default'] !== undefined) out.default = o['connect.default'];
      return out;
    };
    if (o.type === 'record') {
      const name = String(o.name);
      const space = typeof o.namespace === 'string' ? o.namespace : ns;
      const full = name.includes('.') || space === '' ? name : `${space}.${name}`;
      named.set(full, o);
      const inner = full.slice(0, Math.max(0, full.lastIndexOf('.')));
      const fields = (o.fields as { name: string; type: unknown }[]).map((f) => ({
        ...walk(f.type, inner, false),
        field: f.name,
      }));
      const out: ConnectSchema = { type: 'struct', fields, optional };
      out.name = typeof o['connect.name'] === 'string' ? o['connect.name'] : full;
      if (o['connect.version'] !== undefined) out.version = o['connect.version'];
      return out;
    }
    const primitive =
      typeof o['connect.type'] === 'string' ? o['connect.type'] : CONNECT_PRIMITIVES[String(o.type)];
    if (primitive === undefined)
      throw new Error(`Avro type ${String(o.type)} has no Connect equivalent here`);
    return attrs({ type: primitive, optional });
  };
  return walk(schema, '', false);
}

const INT64_MARK = '#int64#';
const INT64_MARKED = /"#int64#(-?\d+)"/g;

/** JSON.stringify cannot write an integer beyond 2^53 exactly; it is carried as marked text and unquoted. */
function toJsonText(v: unknown): string {
  const text = JSON.stringify(v);
  return text.includes(INT64_MARK) ? text.replace(INT64_MARKED, '$1') : text;
}

const markInt64 = (digits: string): string => INT64_MARK + digits;
const base64Decimal = (v: number): string => decimalBytes(v).toString('base64');

// ---------------------------------------------------------------------------------------------------------
// Encoders

interface Codec {
  readonly cdcKey: avro.Type;
  readonly cdcValue: avro.Type;
  readonly transaction: avro.Type;
  readonly connectKey: string;
  readonly connectValue: string;
}

let defaultCodec: Codec | undefined;

function codec(): Codec {
  if (defaultCodec === undefined) {
    const texts = readSampleSchemas();
    defaultCodec = {
      cdcKey: avroType(texts.cdcKey),
      cdcValue: avroType(texts.cdcValue),
      transaction: avroType(texts.transactionValue),
      connectKey: JSON.stringify(connectSchemaOf(JSON.parse(texts.cdcKey))),
      connectValue: JSON.stringify(connectSchemaOf(JSON.parse(texts.cdcValue))),
    };
  }
  return defaultCodec;
}

function requireIds(ids: SampleSchemaIds | undefined): SampleSchemaIds {
  if (ids === undefined) throw new TypeError('Avro encoding needs the registry schema ids');
  return ids;
}

export function encodeCdcKey(format: SampleFormat, key: CdcKey, ids?: SampleSchemaIds): Buffer {
  const c = codec();
  switch (format) {
    case 'avro':
      return frame(requireIds(ids).cdcKey, c.cdcKey.toBuffer({ id: key.id }));
    case 'json':
      return Buffer.from(JSON.stringify({ id: key.id }));
    case 'json-schema':
      return Buffer.from(`{"schema":${c.connectKey},"payload":${JSON.stringify({ id: key.id })}}`);
  }
}

/** null stays null: a tombstone has no value in any format. */
export function encodeCdcValue(
  format: SampleFormat,
  value: CdcValue | null,
  ids?: SampleSchemaIds,
): Buffer | null {
  if (value === null) return null;
  const c = codec();
  switch (format) {
    case 'avro':
      return frame(
        requireIds(ids).cdcValue,
        c.cdcValue.toBuffer(wireEnvelope(value, decimalBytes, (s) => s)),
      );
    case 'json':
      return Buffer.from(toJsonText(wireEnvelope(value, base64Decimal, markInt64)));
    case 'json-schema':
      return Buffer.from(
        `{"schema":${c.connectValue},"payload":${toJsonText(wireEnvelope(value, base64Decimal, markInt64))}}`,
      );
  }
}

/** The customer id as UTF-8 text, in every format. */
export function encodeTransactionKey(key: string): Buffer {
  return Buffer.from(key, 'utf8');
}

export function encodeTransaction(
  format: SampleFormat,
  value: TransactionValue,
  ids?: SampleSchemaIds,
): Buffer {
  const v = {
    txn_id: value.txn_id,
    customer_id: value.customer_id,
    amount: value.amount,
    type: value.type,
    channel: value.channel,
    mcc: value.mcc,
    declined: value.declined,
    event_time: value.event_time,
  };
  if (format === 'avro') return frame(requireIds(ids).transactionValue, codec().transaction.toBuffer(v));
  return Buffer.from(JSON.stringify(v));
}

export interface EncodedRecord {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

export function encodeRecord(
  format: SampleFormat,
  record: SampleRecord,
  ids?: SampleSchemaIds,
): EncodedRecord {
  if (record.topic === 'cdc') return encodeCdc(format, record, ids);
  return { key: encodeTransactionKey(record.key), value: encodeTransaction(format, record.value, ids) };
}

function encodeCdc(format: SampleFormat, record: CdcRecord, ids?: SampleSchemaIds): EncodedRecord {
  return { key: encodeCdcKey(format, record.key, ids), value: encodeCdcValue(format, record.value, ids) };
}
