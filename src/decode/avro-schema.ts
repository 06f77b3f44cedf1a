/**
 * Avro schema JSON → (avsc Type, converter). Semantics come from the schema's attributes (`connect.name`,
 * `connect.parameters.scale`, `scale`, `logicalType`), read once when the schema is compiled.
 */
import avro from 'avsc';
import {
  bytesToBase64,
  int64,
  semanticConverter,
  toDouble,
  VARIABLE_SCALE_DECIMAL,
  variableScaleDecimal,
  type Convert,
} from './connect-types.js';
import {
  arrayConverter,
  genericConverter,
  mapConverter,
  structConverter,
  type FieldConverter,
} from './convert.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_POW_49 = 2 ** 49;

/**
 * Reads the zigzag varint in `buf[start, end)` without ever rounding: safe integers as numbers, the rest as
 * exact strings. Shared by SAFE_LONG and the compiled reader (avro-walk.ts), so both give the same values.
 */
export function readVarLongAt(buf: Uint8Array, start: number, end: number): number | string {
  // Seven 7-bit groups (49 bits) add up exactly in a double; only longer varints need the high part.
  const split = end - start < 7 ? end : start + 7;
  let lo = 0;
  let mul = 1;
  for (let i = start; i < split; i++) {
    lo += (buf[i]! & 0x7f) * mul;
    mul *= 128;
  }
  if (end - start <= 7) return lo % 2 === 0 ? lo / 2 : -(lo + 1) / 2;
  let hi = 0;
  mul = 1;
  for (let i = start + 7; i < end; i++) {
    hi += (buf[i]! & 0x7f) * mul;
    mul *= 128;
  }
  if (hi < 16) {
    // Below 2^53 (2^49 × 16), so still exact as a double.
    const zz = hi * TWO_POW_49 + lo;
    return zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
  }
  const zz = (BigInt(hi) << 49n) + BigInt(lo);
  return int64(zz & 1n ? -((zz + 1n) >> 1n) : zz >> 1n);
}

const readVarLong = (buf: Buffer): number | string => readVarLongAt(buf, 0, buf.length);

function toBigInt(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : null;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return null;
}

function writeVarLong(v: unknown): Buffer {
  const big = toBigInt(v);
  if (big === null) throw new TypeError(`not an int64: ${String(v)}`);
  let zz = big >= 0n ? big << 1n : (-big << 1n) - 1n;
  const bytes: number[] = [];
  while (zz >= 0x80n) {
    bytes.push(Number(zz & 0x7fn) | 0x80);
    zz >>= 7n;
  }
  bytes.push(Number(zz));
  return Buffer.from(bytes);
}

/**
 * avsc's own long refuses to read beyond ±2^53 ("potential precision loss"), and Debezium 2.x writes
 * `ts_ns` (~1.7e18) in every envelope, so every writer schema is read with this long instead.
 */
export const SAFE_LONG = avro.types.LongType.__with(
  {
    fromBuffer: readVarLong,
    toBuffer: writeVarLong,
    fromJSON: (v: number | string | bigint) => int64(v),
    toJSON: (v: number | string) => v,
    isValid: (v: unknown) => {
      const big = toBigInt(v);
      return big !== null && big >= INT64_MIN && big <= INT64_MAX;
    },
    compare: (a: unknown, b: unknown) => {
      const x = toBigInt(a) ?? 0n;
      const y = toBigInt(b) ?? 0n;
      return x < y ? -1 : x > y ? 1 : 0;
    },
  },
  true,
);

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An avsc Type for a writer schema, with int64 read exactly (see SAFE_LONG). */
export function avroTypeOf(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, {
    typeHook: (s: unknown) => (s === 'long' || (isObject(s) && s.type === 'long') ? SAFE_LONG : undefined),
    wrapUnions: 'auto',
  });
}

export const PRIMITIVES: ReadonlySet<string> = new Set([
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'bytes',
  'string',
]);

export function qualify(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}

export function namespaceOf(fullName: string): string {
  const i = fullName.lastIndexOf('.');
  return i < 0 ? '' : fullName.slice(0, i);
}

export function scaleOf(s: Json): number | undefined {
  if (typeof s.scale === 'number') return s.scale;
  const params = s['connect.parameters'];
  if (isObject(params) && typeof params.scale === 'string' && /^-?\d+$/.test(params.scale))
    return Number(params.scale);
  return undefined;
}

/**
 * The converter of a primitive, enum or fixed schema read from Avro (values as avsc yields them), or null
 * when values pass through. compileAvroConverter and the compiled reader (avro-walk.ts) both use it.
 */
export function avroLeafConverter(s: string | Json): Convert | null {
  if (typeof s === 'string') return s === 'bytes' ? bytesToBase64 : null;
  const type = s.type;
  if (type === 'enum') return null;
  if (type === 'fixed') {
    return semanticConverter(undefined, s.logicalType as string, scaleOf(s)) ?? bytesToBase64;
  }
  return (
    semanticConverter(
      typeof s['connect.name'] === 'string' ? s['connect.name'] : undefined,
      typeof s.logicalType === 'string' ? s.logicalType : undefined,
      scaleOf(s),
    ) ?? (type === 'bytes' ? bytesToBase64 : null)
  );
}

export interface AvroCompileOptions {
  /**
   * 'avro': values come from avsc (bytes are Buffers, doubles are numbers). 'json': the schema is the
   * project's declared schema applied to schemaless JSON (bytes are base64 text, undeclared fields are kept).
   */
  readonly values: 'avro' | 'json';
}

/** Compiles an Avro schema (parsed JSON) into one converter for its values. */
export function compileAvroConverter(schema: unknown, opts: AvroCompileOptions): Convert {
  const named = new Map<string, Convert | null>();
  const json = opts.values === 'json';

  const primitive = (t: string): Convert | null =>
    t === 'bytes' ? bytesToBase64 : json && (t === 'double' || t === 'float') ? toDouble : null;

  const reference = (name: string, ns: string): Convert | null => {
    const full = qualify(name, ns);
    if (named.has(full)) return named.get(full) ?? null;
    if (named.has(name)) return named.get(name) ?? null;
    throw new Error(`Avro schema references undefined type "${name}"`);
  };

  const record = (s: Json, ns: string): Convert => {
    if (typeof s.name !== 'string' || !Array.isArray(s.fields))
      throw new Error('Avro record without name or fields');
    const full = qualify(s.name, typeof s.namespace === 'string' ? s.namespace : ns);
    if (s['connect.name'] === VARIABLE_SCALE_DECIMAL || full === VARIABLE_SCALE_DECIMAL) {
      named.set(full, variableScaleDecimal);
      return variableScaleDecimal;
    }
    const self: { convert?: Convert } = {};
    // Registered before the fields are walked so a recursive reference resolves (lazily) to this record.
    named.set(full, (v) => self.convert!(v));
    const inner = namespaceOf(full);
    const fields: FieldConverter[] = (s.fields as unknown[]).map((f) => {
      if (!isObject(f) || typeof f.name !== 'string')
        throw new Error(`Avro record ${full} has a field without a name`);
      return [f.name, walk(f.type, inner)];
    });
    const compiled = structConverter(fields, json);
    self.convert = compiled;
    named.set(full, compiled);
    return compiled;
  };

  const walk = (s: unknown, ns: string): Convert | null => {
    if (typeof s === 'string') return PRIMITIVES.has(s) ? primitive(s) : reference(s, ns);
    if (Array.isArray(s)) {
      const branches = s.filter((b) => b !== 'null' && !(isObject(b) && b.type === 'null'));
      const converters = branches.map((b) => walk(b, ns));
      if (branches.length <= 1) return converters[0] ?? null;
      return genericConverter;
    }
    if (!isObject(s)) throw new Error(`not an Avro schema: ${JSON.stringify(s)}`);
    const type = s.type;
    if (typeof type !== 'string') return walk(type, ns);
    switch (type) {
      case 'record':
      case 'error':
        return record(s, ns);
      case 'enum':
      case 'fixed': {
        const full =
          typeof s.name === 'string'
            ? qualify(s.name, typeof s.namespace === 'string' ? s.namespace : ns)
            : '';
        const c =
          type === 'enum'
            ? null
            : (semanticConverter(undefined, s.logicalType as string, scaleOf(s)) ?? bytesToBase64);
        named.set(full, c);
        return c;
      }
      case 'array':
        return arrayConverter(walk(s.items, ns));
      case 'map':
        return mapConverter(walk(s.values, ns));
      default:
        if (!PRIMITIVES.has(type)) return reference(type, ns);
        return (
          semanticConverter(
            typeof s['connect.name'] === 'string' ? s['connect.name'] : undefined,
            typeof s.logicalType === 'string' ? s.logicalType : undefined,
            scaleOf(s),
          ) ?? primitive(type)
        );
    }
  };

  return walk(schema, '') ?? ((v) => v);
}

/** The row schema inside a Debezium envelope schema (the non-null branch of `after`), if it is one. */
export function envelopeRowSchema(schema: unknown): unknown {
  if (!isObject(schema) || !Array.isArray(schema.fields)) return undefined;
  const after = (schema.fields as unknown[]).find((f) => isObject(f) && f.name === 'after');
  if (!isObject(after)) return undefined;
  const branches = Array.isArray(after.type) ? after.type : [after.type];
  const row = branches.find((b: unknown) => b !== 'null');
  if (typeof row !== 'string') return row;
  // `after` usually references the record `before` defined; inline it so the row schema stands alone.
  const before = (schema.fields as unknown[]).find((f) => isObject(f) && f.name === 'before');
  const defined =
    isObject(before) && Array.isArray(before.type)
      ? before.type.find((b: unknown) => isObject(b))
      : undefined;
  if (!isObject(defined)) return undefined;
  const ns = typeof schema.namespace === 'string' ? schema.namespace : namespaceOf(String(schema.name ?? ''));
  return typeof defined.namespace === 'string' || ns === '' ? defined : { ...defined, namespace: ns };
}
