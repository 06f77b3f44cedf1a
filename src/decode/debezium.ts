/**
 * Debezium change events (already converted to plain values) → CdcChange / CdcTombstone.
 */
import type { RecordRejected } from '../errors/index.js';
import type { Projection } from './avro-walk.js';
import type { CdcDecodeOptions } from './options.js';
import { rejected } from './reject.js';
import type { CdcChange, CdcOp, CdcTombstone, RawRecord, Row } from './types.js';

/**
 * What Debezium writes for a column whose value it does not have: a TOASTed column an UPDATE left
 * unchanged, under the table's default replica identity (`unavailable.value.placeholder`'s default). Bytes
 * columns carry the same text as bytes, which the decoder hands on as base64.
 */
export const UNAVAILABLE = '__debezium_unavailable_value';
const UNAVAILABLE_BASE64 = Buffer.from(UNAVAILABLE, 'utf8').toString('base64');

export function isUnavailable(v: unknown): boolean {
  return v === UNAVAILABLE || v === UNAVAILABLE_BASE64;
}

/**
 * `row` with its unavailable columns taken from `prior` (the entity's previous row: the older change of the
 * same window, or the stored profile). Where `prior` has no value either: `keep` leaves the placeholder for
 * a later fill (merging changes inside a window, before the stored row is known); otherwise the column
 * becomes null (missing). Returns `row` itself when nothing changes.
 */
export function fillUnavailable(row: Row, prior: Row | null, keep = false): Row {
  let out: Row | null = null;
  for (const k in row) {
    if (!isUnavailable(row[k])) continue;
    const was = prior?.[k];
    const known = was !== undefined && !isUnavailable(was);
    if (!known && keep) continue;
    out ??= { ...row };
    out[k] = known ? was : null;
  }
  return out ?? row;
}

const DECIMAL_TEXT = /^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/**
 * decimal.handling.mode=string under a declared decimal: the writer's schema (JsonConverter with schemas,
 * Avro) says string and hands on the text ("1234.56"); the declared schema says it is a number, so it is
 * read as one. Other text is left as it is (the validate stage refuses it with SS_FIELD_TYPE).
 */
export function withDeclaredDecimals(change: CdcChange, decimals: ReadonlySet<string>): CdcChange {
  const read = (row: Row | null): Row | null => {
    if (row === null) return null;
    let out: Row | null = null;
    for (const k of decimals) {
      const v = row[k];
      if (typeof v !== 'string' || !DECIMAL_TEXT.test(v)) continue;
      out ??= { ...row };
      out[k] = Number(v);
    }
    return out ?? row;
  };
  const after = read(change.after);
  const before = read(change.before);
  return after === change.after && before === change.before ? change : { ...change, after, before };
}

const OPS: ReadonlySet<string> = new Set<CdcOp>(['c', 'u', 'd', 'r', 't', 'm']);
const DIGITS = /^\d+$/;

export function isRow(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** Entity ids are strings; int64 ids beyond 2^53 already arrive as exact decimal strings. */
export function idString(v: unknown): string | null {
  if (typeof v === 'string') return v.length > 0 ? v : null;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (typeof v === 'bigint') return v.toString();
  return null;
}

/** The id a record key names: a key struct's `idField` (or its only field), or a plain string/number key. */
export function entityIdFromKey(key: unknown, idField: string): string | null {
  if (key === null || key === undefined) return null;
  if (isRow(key)) {
    if (idField in key) return idString(key[idField]);
    const fields = Object.keys(key);
    return fields.length === 1 ? idString(key[fields[0]!]) : null;
  }
  return idString(key);
}

function epochMs(v: unknown): number | null {
  // whole milliseconds, as eventTimeOf: a JSON-converted envelope may carry a fraction
  if (typeof v === 'number') return Number.isFinite(v) ? Math.floor(v) : null;
  if (typeof v === 'string' && DIGITS.test(v)) return Number(v);
  return null;
}

function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  // Debezium 0.x wrote snapshot as a boolean.
  if (typeof v === 'boolean') return String(v);
  return null;
}

function lsnOf(v: unknown, raw: RawRecord): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === 'string' && DIGITS.test(v)) return v;
  throw rejected('SS_CONTRACT_VIOLATION', `source.lsn ${JSON.stringify(v)} is not an unsigned integer`, raw);
}

function missingId(raw: RawRecord, idField: string): RecordRejected {
  return rejected(
    'SS_MISSING_ENTITY_ID',
    `no entity id: the key is empty and neither after nor before has "${idField}"`,
    raw,
  );
}

/** The null-value record Debezium writes after a delete; its key is the only thing it carries. */
export function cdcTombstone(keyId: string | null, raw: RawRecord): CdcTombstone {
  if (keyId === null)
    throw rejected('SS_MISSING_ENTITY_ID', 'tombstone (null value) without a usable key', raw);
  return { kind: 'tombstone', entityId: keyId };
}

/** A Debezium envelope (as opposed to an unwrapped row, which may well have a column named `op`). */
export function isEnvelope(v: Row): boolean {
  return typeof v.op === 'string' && ('source' in v || 'after' in v || 'before' in v);
}

/** A converted change-event value (plus the id its key named) → CdcChange. */
export function cdcFromValue(
  value: unknown,
  keyId: string | null,
  opts: CdcDecodeOptions,
  raw: RawRecord,
): CdcChange {
  if (!isRow(value)) {
    throw rejected('SS_DECODE_FAILED', `value is ${describe(value)}, not a Debezium change event`, raw);
  }
  if (!isEnvelope(value)) {
    if (opts.unwrapped) return fromUnwrappedRow(value, keyId, opts, raw);
    throw rejected(
      'SS_DECODE_FAILED',
      'value has no "op": not a Debezium envelope (set unwrapped: true for ExtractNewRecordState output)',
      raw,
    );
  }
  const op = value.op as string;
  if (!OPS.has(op)) throw rejected('SS_CDC_UNKNOWN_OP', `unknown Debezium op "${op}"`, raw);
  const source = isRow(value.source) ? value.source : null;
  const tsMs = epochMs(value.ts_ms);
  const sourceTsMs = epochMs(source?.ts_ms) ?? tsMs;
  if (sourceTsMs === null)
    throw rejected('SS_CONTRACT_VIOLATION', 'neither source.ts_ms nor ts_ms is set', raw);
  const before = isRow(value.before) ? value.before : null;
  const after = isRow(value.after) ? value.after : null;
  let entityId: string | null = null;
  if (op !== 't' && op !== 'm') {
    if (after === null && op !== 'd')
      throw rejected('SS_CONTRACT_VIOLATION', `op "${op}" without "after"`, raw);
    entityId = keyId ?? idString(after?.[opts.idField]) ?? idString(before?.[opts.idField]);
    if (entityId === null) throw missingId(raw, opts.idField);
  }
  return {
    kind: 'cdc',
    op: op as CdcOp,
    entityId,
    before,
    after,
    lsn: lsnOf(source?.lsn, raw),
    sourceTsMs,
    tsMs: tsMs ?? sourceTsMs,
    snapshot: text(source?.snapshot),
    table: text(source?.table),
  };
}

/**
 * ExtractNewRecordState output: the row itself, metadata in `__`-prefixed fields when `add.fields` asks for
 * them (`__op`, `__lsn`/`__source_lsn`, `__source_ts_ms`, `__ts_ms`, `__table`, …), and with
 * delete.handling.mode=rewrite a delete is the before row plus `__deleted: "true"`. Without `__op` the
 * change is reported as an update: an upsert either way.
 */
function fromUnwrappedRow(
  value: Row,
  keyId: string | null,
  opts: CdcDecodeOptions,
  raw: RawRecord,
): CdcChange {
  const row: Row = {};
  for (const k of Object.keys(value)) if (!k.startsWith('__')) row[k] = value[k];
  const deleted = value.__deleted === 'true' || value.__deleted === true;
  const metaOp = value.__op;
  const op: CdcOp = deleted ? 'd' : metaOp === 'c' || metaOp === 'r' ? metaOp : 'u';
  const entityId = keyId ?? idString(row[opts.idField]);
  if (entityId === null) throw missingId(raw, opts.idField);
  const recordTs = epochMs(raw.timestamp);
  const sourceTsMs = epochMs(value.__source_ts_ms) ?? recordTs;
  if (sourceTsMs === null)
    throw rejected('SS_CONTRACT_VIOLATION', 'no __source_ts_ms and no record timestamp', raw);
  return {
    kind: 'cdc',
    op,
    entityId,
    before: deleted ? row : null,
    after: deleted ? null : row,
    lsn: lsnOf(value.__lsn ?? value.__source_lsn, raw),
    sourceTsMs,
    tsMs: epochMs(value.__ts_ms) ?? sourceTsMs,
    snapshot: text(value.__source_snapshot ?? value.__snapshot),
    table: text(value.__table ?? value.__source_table),
  };
}

/** The envelope fields cdcFromValue reads; `source` only for the position and the table. */
const ENVELOPE_READS = ['op', 'ts_ms'];
const SOURCE_READS: Projection = new Map<string, Projection>(
  ['ts_ms', 'lsn', 'snapshot', 'table'].map((f) => [f, true]),
);

/**
 * What cdcFromValue needs of a change-event value whose top-level fields are `fields`, when rows need only
 * `rowFields` (which must include the id field): the envelope's op, times, position and table, and the
 * row columns; for an unwrapped row, the columns plus every `__` metadata field. Keep in step with
 * cdcFromValue and fromUnwrappedRow.
 */
export function cdcValueProjection(fields: readonly string[], rowFields: ReadonlySet<string>): Projection {
  const row: Projection = new Map([...rowFields].map((f) => [f, true]));
  const envelope =
    fields.includes('op') && fields.some((f) => f === 'source' || f === 'after' || f === 'before');
  const keep = new Map<string, Projection>();
  for (const f of fields) {
    if (envelope) {
      if (f === 'before' || f === 'after') keep.set(f, row);
      else if (f === 'source') keep.set(f, SOURCE_READS);
      else if (ENVELOPE_READS.includes(f)) keep.set(f, true);
    } else if (f.startsWith('__') || rowFields.has(f)) keep.set(f, true);
  }
  return keep;
}

function pick(row: Row | null, fields: ReadonlySet<string>): Row | null {
  if (row === null) return null;
  const out: Row = {};
  for (const k of Object.keys(row)) if (fields.has(k)) out[k] = row[k];
  return out;
}

/** The change with rows cut down to `rowFields`, as the Avro reader materialises them (see cdcValueProjection). */
export function withRowFields(change: CdcChange, rowFields: ReadonlySet<string>): CdcChange {
  return { ...change, before: pick(change.before, rowFields), after: pick(change.after, rowFields) };
}
