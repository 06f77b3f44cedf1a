/**
 * Confluent-framed Avro (see adapters/confluent-frame.ts) read with the writer schema. Each schema id is
 * fetched and compiled once; decoding a record is then synchronous.
 */
import { FRAME_HEADER_BYTES, framedSchemaId } from '../adapters/confluent-frame.js';
import { describeError, isProgrammingError, isStreamscoreError } from '../errors/index.js';
import { avroTypeOf, compileAvroConverter } from './avro-schema.js';
import { compileWalker, Cursor, Malformed, Truncated, Unsupported, type Projection } from './avro-walk.js';
import { isRow } from './debezium.js';
import { ConversionError, rejected } from './reject.js';
import type { RawRecord, Row, WriterSchemaSource } from './types.js';

/**
 * Reads one datum from `c`. Structural problems throw Truncated or Malformed; a value that does not fit its
 * semantic type is left in `c.conversionError`, so the caller can report the structural problem first.
 */
type ReadDatum = (c: Cursor) => unknown;

interface Compiled {
  readonly key: ReadDatum;
  readonly value: ReadDatum;
}

type Slot =
  | { readonly state: 'ready'; readonly compiled: Compiled }
  | { readonly state: 'failed'; readonly error: unknown; readonly at: number };

export interface AvroReaderOptions {
  /** How long an id the registry did not know stays rejected before it is asked for again. */
  readonly retryUnknownAfterMs?: number;
  readonly now?: () => number;
  /**
   * What of a value to materialise, per writer schema (parsed JSON); undefined: all of it. Keys are always
   * read whole. Whatever is not materialised is still walked and checked.
   */
  readonly valueProjection?: (schema: unknown) => Projection | undefined;
  /** Decode with avsc and a converter even where the compiled reader could; the reference in parity tests. */
  readonly avsc?: boolean;
}

function looksLikeAvscType(v: unknown): boolean {
  return (
    typeof v === 'object' && v !== null && typeof (v as { fromBuffer?: unknown }).fromBuffer === 'function'
  );
}

/** The fields of `v` that `p` selects, recursively (what the compiled reader materialises). */
function project(v: unknown, p: Projection): unknown {
  if (p === true || !isRow(v)) return v;
  const out: Row = {};
  for (const k of Object.keys(v)) {
    const sub = p.get(k);
    if (sub !== undefined) out[k] = project(v[k], sub);
  }
  return out;
}

/** avsc with SAFE_LONG, then the converter: slower, but reads any schema. */
function avscReader(schema: unknown, projection: Projection): ReadDatum {
  const type = avroTypeOf(schema);
  const convert = compileAvroConverter(schema, { values: 'avro' });
  return (c) => {
    let decoded: { value: unknown; offset: number };
    try {
      decoded = type.decode(c.buf, c.pos);
    } catch (cause) {
      throw new Malformed(describeError(cause), { cause });
    }
    if (decoded.offset < 0) throw new Truncated();
    c.pos = decoded.offset;
    // A ConversionError here is deferred like the compiled reader's: the datum has been walked entirely.
    try {
      return project(convert(decoded.value), projection);
    } catch (err) {
      if (!(err instanceof ConversionError)) throw err;
      c.conversionError = err;
      return null;
    }
  };
}

function reader(schema: unknown, projection: Projection, avsc: boolean): ReadDatum {
  if (avsc) return avscReader(schema, projection);
  try {
    return compileWalker(schema, projection);
  } catch (err) {
    if (err instanceof Unsupported) return avscReader(schema, projection);
    throw err;
  }
}

function compile(schema: unknown, opts: AvroReaderOptions): Compiled {
  const json: unknown = typeof schema === 'string' ? JSON.parse(schema) : schema;
  const avsc = opts.avsc === true;
  const key = reader(json, true, avsc);
  const projection = opts.valueProjection?.(json);
  return { key, value: projection === undefined ? key : reader(json, projection, avsc) };
}

export class AvroReader {
  readonly #source: WriterSchemaSource;
  readonly #slots = new Map<number, Slot>();
  readonly #loading = new Map<number, Promise<void>>();
  readonly #retryUnknownAfterMs: number;
  readonly #now: () => number;
  readonly #opts: AvroReaderOptions;

  constructor(source: WriterSchemaSource, opts: AvroReaderOptions = {}) {
    this.#source = source;
    this.#opts = opts;
    this.#retryUnknownAfterMs = opts.retryUnknownAfterMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Loads the ids not loaded yet. Rejects only on a retriable (or programming) error of the source. */
  async load(ids: Iterable<number>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const id of new Set(ids)) {
      const slot = this.#slots.get(id);
      if (slot?.state === 'ready') continue;
      if (slot?.state === 'failed' && this.#now() - slot.at < this.#retryUnknownAfterMs) continue;
      waits.push(this.#loadOne(id));
    }
    await Promise.all(waits);
  }

  #loadOne(id: number): Promise<void> {
    const pending = this.#loading.get(id);
    if (pending !== undefined) return pending;
    const p = (async () => {
      let schema: unknown;
      try {
        schema = await this.#source.avroSchema(id);
      } catch (err) {
        // An outage is not the record's fault: let the pipeline back off and retry the batch.
        if (isProgrammingError(err) || (isStreamscoreError(err) && err.retriable)) throw err;
        this.#slots.set(id, { state: 'failed', error: err, at: this.#now() });
        return;
      }
      if (looksLikeAvscType(schema)) {
        throw new TypeError(
          `WriterSchemaSource returned an avsc Type for schema ${id}; return the schema JSON instead ` +
            '(avsc drops the connect.* attributes that carry Debezium types)',
        );
      }
      try {
        this.#slots.set(id, { state: 'ready', compiled: compile(schema, this.#opts) });
      } catch (err) {
        this.#slots.set(id, { state: 'failed', error: err, at: this.#now() });
      }
    })().finally(() => this.#loading.delete(id));
    this.#loading.set(id, p);
    return p;
  }

  /** Ids that failed to load are asked for again by the next `load` (an operator fixed the registry). */
  forgetFailures(): void {
    for (const [id, slot] of this.#slots) if (slot.state === 'failed') this.#slots.delete(id);
  }

  /**
   * Decodes and converts one framed buffer. Conversion errors (ConversionError) are left to the caller,
   * which knows whether they are a contract violation.
   */
  read(buf: Buffer, raw: RawRecord, what: 'key' | 'value'): unknown {
    const id = framedSchemaId(buf);
    if (id === null) {
      throw rejected(
        'SS_DECODE_FAILED',
        `${what} is not Confluent-framed Avro (${buf.length} bytes, first byte ${buf[0] ?? 'none'}; expected magic byte 0 and a 4-byte schema id)`,
        raw,
      );
    }
    const slot = this.#slots.get(id);
    if (slot === undefined) {
      throw new Error(`writer schema ${id} was not loaded: await prepare() on the batch before decodeSync()`);
    }
    if (slot.state === 'failed') {
      throw rejected(
        'SS_UNKNOWN_SCHEMA',
        `${what} writer schema ${id} is unavailable: ${describeError(slot.error)}`,
        raw,
        {
          cause: slot.error,
          details: { schemaId: id },
        },
      );
    }
    const c = new Cursor(buf, FRAME_HEADER_BYTES);
    let value: unknown;
    try {
      value = slot.compiled[what](c);
    } catch (cause) {
      if (cause instanceof Truncated) {
        throw rejected(
          'SS_DECODE_FAILED',
          `${what} is truncated for writer schema ${id} (${buf.length} bytes)`,
          raw,
          { details: { schemaId: id } },
        );
      }
      if (!(cause instanceof Malformed)) throw cause;
      const reason = cause.cause ?? cause;
      throw rejected(
        'SS_DECODE_FAILED',
        `${what} does not decode with writer schema ${id}: ${describeError(reason)}`,
        raw,
        { cause: reason, details: { schemaId: id } },
      );
    }
    if (c.pos !== buf.length) {
      throw rejected(
        'SS_DECODE_FAILED',
        `${what} has ${buf.length - c.pos} trailing bytes after a writer-schema ${id} datum`,
        raw,
        { details: { schemaId: id } },
      );
    }
    if (c.conversionError !== null) throw c.conversionError;
    return value;
  }
}
