/**
 * Composite converters. A schema is compiled once into a tree of these closures (per Avro schema id, per
 * declared schema); decoding a record then runs the closures without looking at the schema again.
 */
import { bytesToBase64, type Convert } from './connect-types.js';
import { atField, ConversionError } from './reject.js';
import type { Row } from './types.js';

export type FieldConverter = readonly [name: string, convert: Convert | null];

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}

function isStruct(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * A struct/record → a fresh plain object holding every declared field (absent → null, as Avro and
 * JsonConverter both write them). `keepUnknown` also copies undeclared fields: JSON read against the project's
 * declared schema may carry columns added after it was written.
 */
export function structConverter(fields: readonly FieldConverter[], keepUnknown: boolean): Convert {
  const names = fields.map((f) => f[0]);
  const converters = fields.map((f) => f[1]);
  const n = fields.length;
  return (v) => {
    if (!isStruct(v)) throw new ConversionError(`expected a struct, got ${describe(v)}`);
    const out: Row = keepUnknown ? { ...v } : {};
    for (let i = 0; i < n; i++) {
      const name = names[i]!;
      const x = v[name];
      if (x === null || x === undefined) {
        out[name] = null;
        continue;
      }
      const convert = converters[i];
      if (convert === null || convert === undefined) {
        out[name] = x;
        continue;
      }
      try {
        out[name] = convert(x);
      } catch (err) {
        throw atField(err, name);
      }
    }
    return out;
  };
}

export function arrayConverter(items: Convert | null): Convert {
  return (v) => {
    if (!Array.isArray(v)) throw new ConversionError(`expected an array, got ${describe(v)}`);
    if (items === null) return v;
    return v.map((x: unknown, i) => {
      try {
        return x === null || x === undefined ? null : items(x);
      } catch (err) {
        throw atField(err, String(i));
      }
    });
  };
}

export function mapConverter(values: Convert | null): Convert {
  return (v) => {
    if (!isStruct(v)) throw new ConversionError(`expected a map, got ${describe(v)}`);
    const out: Row = {};
    for (const k of Object.keys(v)) {
      const x = v[k];
      try {
        out[k] = x === null || x === undefined || values === null ? (x ?? null) : values(x);
      } catch (err) {
        throw atField(err, k);
      }
    }
    return out;
  };
}

/** For shapes no schema describes (e.g. a union of several non-null types): plain objects, bytes as base64. */
export const genericConverter: Convert = (v) => {
  if (v instanceof Uint8Array) return bytesToBase64(v);
  if (Array.isArray(v)) return v.map(genericConverter);
  if (isStruct(v)) {
    const out: Row = {};
    for (const k of Object.keys(v)) out[k] = genericConverter(v[k]);
    return out;
  }
  return v;
};
