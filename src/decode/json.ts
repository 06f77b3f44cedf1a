/**
 * Kafka Connect JsonConverter output: `{ "schema": …, "payload": … }` (schemas.enable=true) or the payload
 * alone (schemas.enable=false). Both shapes are recognised per record.
 */
import { describeError } from '../errors/index.js';
import { semanticConverter, toDouble, type Convert } from './connect-types.js';
import {
  arrayConverter,
  genericConverter,
  mapConverter,
  structConverter,
  type FieldConverter,
} from './convert.js';
import { rejected } from './reject.js';
import type { RawRecord } from './types.js';

const SIXTEEN_DIGITS = /\d{16}/;

/**
 * Quotes integer literals JSON.parse would round (beyond ±2^53), outside strings, so they survive as exact
 * decimal strings, the same representation the Avro reader gives them (ids, LSNs and ts_ns exceed 2^53).
 */
function quoteUnsafeIntegers(text: string): string {
  const n = text.length;
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      let end = text.indexOf('"', i + 1);
      for (;;) {
        if (end < 0) return text; // unterminated string: let JSON.parse report it
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 92 /* \ */) backslashes++;
        if (backslashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      i = end + 1;
      continue;
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      let j = i + 1;
      let integral = true;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 48 && d <= 57) continue;
        if (d === 46 || d === 101 || d === 69 || d === 43 || d === 45) integral = false;
        else break;
      }
      if (integral && j - i >= 16) {
        const token = text.slice(i, j);
        if (!Number.isSafeInteger(Number(token))) {
          out += `${text.slice(copied, i)}"${token}"`;
          copied = j;
        }
      }
      i = j;
      continue;
    }
    i++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** JSON.parse that keeps integers beyond ±2^53 exact (as decimal strings). */
export function parseJson(text: string): unknown {
  return JSON.parse(SIXTEEN_DIGITS.test(text) ? quoteUnsafeIntegers(text) : text);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The record's text. Invalid UTF-8 is refused: Buffer#toString would replace it with U+FFFD and a value
 * that was never written would be read as if it had been.
 */
export function utf8Text(buf: Buffer, raw: RawRecord, what: 'key' | 'value'): string {
  try {
    return UTF8.decode(buf);
  } catch {
    throw rejected('SS_DECODE_FAILED', `${what} is not valid UTF-8`, raw);
  }
}

export function readJson(buf: Buffer, raw: RawRecord, what: 'key' | 'value'): unknown {
  const text = utf8Text(buf, raw, what);
  try {
    return parseJson(text);
  } catch (cause) {
    throw rejected('SS_DECODE_FAILED', `${what} is not valid JSON: ${describeError(cause)}`, raw, { cause });
  }
}

export interface ConnectEnvelope {
  readonly schema: unknown;
  readonly payload: unknown;
}

/** schemas.enable=true output: an object with exactly the keys `schema` and `payload`. */
export function isConnectEnvelope(v: unknown): v is ConnectEnvelope {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 2 && 'schema' in v && 'payload' in v;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Compiles a Connect JSON schema (type/name/parameters/fields) into a converter for its payload. */
export function compileConnectConverter(schema: unknown): Convert | null {
  if (!isObject(schema)) throw new Error('a Connect schema must be an object');
  const params = isObject(schema.parameters) ? schema.parameters : undefined;
  const scale =
    params !== undefined && typeof params.scale === 'string' ? Number.parseInt(params.scale, 10) : undefined;
  const semantic = semanticConverter(
    typeof schema.name === 'string' ? schema.name : undefined,
    undefined,
    Number.isInteger(scale) ? scale : undefined,
  );
  if (semantic !== null) return semantic;
  switch (schema.type) {
    case 'struct': {
      if (!Array.isArray(schema.fields)) throw new Error('a Connect struct schema needs "fields"');
      const fields: FieldConverter[] = (schema.fields as unknown[]).map((f) => {
        if (!isObject(f) || typeof f.field !== 'string')
          throw new Error('a Connect struct field needs "field"');
        return [f.field, compileConnectConverter(f)];
      });
      return structConverter(fields, false);
    }
    case 'array':
      return arrayConverter(compileConnectConverter(schema.items));
    case 'map':
      // JsonConverter writes maps with non-string keys as [key, value] pairs; read those generically.
      return isObject(schema.keys) && schema.keys.type === 'string'
        ? mapConverter(compileConnectConverter(schema.values))
        : genericConverter;
    case 'float32':
    case 'float64':
      return toDouble;
    default:
      return null;
  }
}

function compileOrReject(schema: unknown, raw: RawRecord, what: 'key' | 'value'): Convert | null {
  if (schema === null) return null;
  try {
    return compileConnectConverter(schema);
  } catch (cause) {
    throw rejected(
      'SS_DECODE_FAILED',
      `${what} has an unreadable Connect schema: ${describeError(cause)}`,
      raw,
      { cause },
    );
  }
}

/** The converted payload of a schemas.enable=true record whose text has already been parsed. */
export function convertConnectEnvelope(env: ConnectEnvelope, raw: RawRecord, what: 'key' | 'value'): unknown {
  const convert = compileOrReject(env.schema, raw, what);
  return env.payload === null || convert === null ? env.payload : convert(env.payload);
}

const SCHEMA_PREFIX = '{"schema":';
const PAYLOAD_MARK = ',"payload":';
const MAX_CACHED_SCHEMAS = 64;

export interface JsonRead {
  /** The payload: converted by its embedded schema when it had one, else as parsed. */
  readonly value: unknown;
  readonly hadSchema: boolean;
}

/**
 * Reads JsonConverter records. With schemas.enable=true every record repeats its schema, usually most of its
 * bytes; JsonConverter writes it first and compactly, so the schema text is cut out, compiled once and
 * looked up by its text, and only the payload is parsed. Anything unexpected takes the plain parse.
 */
export class JsonReader {
  readonly #compiled = new Map<string, Convert | null>();

  read(buf: Buffer, raw: RawRecord, what: 'key' | 'value'): JsonRead {
    const text = utf8Text(buf, raw, what);
    const fast = this.#readCompact(text, raw, what);
    if (fast !== undefined) return fast;
    let parsed: unknown;
    try {
      parsed = parseJson(text);
    } catch (cause) {
      throw rejected('SS_DECODE_FAILED', `${what} is not valid JSON: ${describeError(cause)}`, raw, {
        cause,
      });
    }
    if (!isConnectEnvelope(parsed)) return { value: parsed, hadSchema: false };
    return { value: convertConnectEnvelope(parsed, raw, what), hadSchema: true };
  }

  #readCompact(text: string, raw: RawRecord, what: 'key' | 'value'): JsonRead | undefined {
    if (!text.startsWith(SCHEMA_PREFIX) || !text.endsWith('}')) return undefined;
    const cut = text.indexOf(PAYLOAD_MARK);
    if (cut < 0) return undefined;
    const schemaText = text.slice(SCHEMA_PREFIX.length, cut);
    let convert = this.#compiled.get(schemaText);
    if (convert === undefined && !this.#compiled.has(schemaText)) {
      let schema: unknown;
      try {
        schema = JSON.parse(schemaText);
      } catch {
        return undefined; // the cut was not at the top level
      }
      convert = compileOrReject(schema, raw, what);
      if (this.#compiled.size >= MAX_CACHED_SCHEMAS) this.#compiled.clear();
      this.#compiled.set(schemaText, convert);
    }
    let payload: unknown;
    try {
      payload = parseJson(text.slice(cut + PAYLOAD_MARK.length, -1));
    } catch {
      return undefined;
    }
    return {
      value: payload === null || convert === null || convert === undefined ? payload : convert(payload),
      hadSchema: true,
    };
  }
}
