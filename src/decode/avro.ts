/**
 * Confluent-framed Avro (magic byte 0, big-endian int32 schema id, Avro binary) read with the writer schema.
 * Each schema id is fetched and compiled once; decoding a record is then synchronous.
 */
import type avro from 'avsc';
import { describeError, isProgrammingError, isStreamscoreError } from '../errors/index.js';
import { avroTypeOf, compileAvroConverter } from './avro-schema.js';
import type { Convert } from './connect-types.js';
import { rejected } from './reject.js';
import type { RawRecord, WriterSchemaSource } from './types.js';

const HEADER_BYTES = 5;

/** The schema id of a Confluent-framed buffer, or null when it is not framed. */
export function confluentSchemaId(buf: Buffer): number | null {
  return buf.length >= HEADER_BYTES && buf[0] === 0 ? buf.readInt32BE(1) : null;
}

interface Compiled {
  readonly type: avro.Type;
  readonly convert: Convert;
}

type Slot =
  | { readonly state: 'ready'; readonly compiled: Compiled }
  | { readonly state: 'failed'; readonly error: unknown; readonly at: number };

export interface AvroReaderOptions {
  /** How long an id the registry did not know stays rejected before it is asked for again. */
  readonly retryUnknownAfterMs?: number;
  readonly now?: () => number;
}

function looksLikeAvscType(v: unknown): boolean {
  return (
    typeof v === 'object' && v !== null && typeof (v as { fromBuffer?: unknown }).fromBuffer === 'function'
  );
}

function compile(schema: unknown): Compiled {
  const json: unknown = typeof schema === 'string' ? JSON.parse(schema) : schema;
  return { type: avroTypeOf(json), convert: compileAvroConverter(json, { values: 'avro' }) };
}

export class AvroReader {
  readonly #source: WriterSchemaSource;
  readonly #slots = new Map<number, Slot>();
  readonly #loading = new Map<number, Promise<void>>();
  readonly #retryUnknownAfterMs: number;
  readonly #now: () => number;

  constructor(source: WriterSchemaSource, opts: AvroReaderOptions = {}) {
    this.#source = source;
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
        this.#slots.set(id, { state: 'ready', compiled: compile(schema) });
      } catch (err) {
        this.#slots.set(id, { state: 'failed', error: err, at: this.#now() });
      }
    })().finally(() => this.#loading.delete(id));
    this.#loading.set(id, p);
    return p;
  }

  /**
   * Decodes and converts one framed buffer. Conversion errors (ConversionError) are left to the caller,
   * which knows whether they are a contract violation.
   */
  read(buf: Buffer, raw: RawRecord, what: 'key' | 'value'): unknown {
    const id = confluentSchemaId(buf);
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
    let decoded: { value: unknown; offset: number };
    try {
      decoded = slot.compiled.type.decode(buf, HEADER_BYTES);
    } catch (cause) {
      throw rejected(
        'SS_DECODE_FAILED',
        `${what} does not decode with writer schema ${id}: ${describeError(cause)}`,
        raw,
        {
          cause,
          details: { schemaId: id },
        },
      );
    }
    if (decoded.offset < 0) {
      throw rejected(
        'SS_DECODE_FAILED',
        `${what} is truncated for writer schema ${id} (${buf.length} bytes)`,
        raw,
        {
          details: { schemaId: id },
        },
      );
    }
    if (decoded.offset !== buf.length) {
      throw rejected(
        'SS_DECODE_FAILED',
        `${what} has ${buf.length - decoded.offset} trailing bytes after a writer-schema ${id} datum`,
        raw,
        { details: { schemaId: id } },
      );
    }
    return slot.compiled.convert(decoded.value);
  }
}
