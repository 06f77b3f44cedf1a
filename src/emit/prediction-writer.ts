/**
 * Prediction events written as Avro bytes straight from the window's predictions, in the Confluent frame.
 *
 * The generic path built one event object per prediction (with its model record, a number array of the
 * vector, an object per input record and per basis entry) and avsc then walked it: about 7 % of a drain's
 * CPU. Here the bytes are written field by field from the PredictionRecord, and what is the same for many
 * events is written once: the model record with the feature version (per model stamp), and the batch id
 * with the pipeline name (per window).
 *
 * The layout is that of schemas/predictions-value.avsc (schema_version 4). The constructor refuses any
 * other schema (by its canonical form), and a unit test compares these bytes with avsc's encoding of
 * predictionEvent() on generated predictions.
 */
import type avro from 'avsc';
import { frameHeader } from '../adapters/confluent-frame.js';
import type { Explanation } from '../explain/index.js';
import type { ModelStamp, PredictionRecord } from '../sink/index.js';
import type { RecordRef } from '../window/index.js';
import type { PredictionTrigger } from './types.js';

/** sha256 of the canonical form of the schema this writer lays out (avsc `type.fingerprint('sha256')`). */
export const PREDICTION_SCHEMA_FINGERPRINT =
  'f48cc70059b36e53afa453559bc96938394a378c9f5d43f6cfc6a67e0b635e22';

const TRIGGERS: Readonly<Record<PredictionTrigger, number>> = { INPUT: 0, RESCORE: 1, TIMER: 2 };

/** The largest magnitude avsc writes as a long (2^53 - 2). */
const MAX_LONG = 9007199254740990;

/** Bytes per chunk that events are written into (an event larger than a chunk gets one of its own). */
const CHUNK_BYTES = 64 * 1024;

/**
 * Avro primitives written into chunks of memory, an event after the other: `begin` starts an event,
 * `end` hands it out as a view of its chunk (no copy, no allocation of its own). An event that does not
 * fit in what is left of the chunk moves, with what it has written so far, to a new chunk; the views
 * handed out keep their chunk alive, and a chunk dies with the last of them.
 */
class Bytes {
  buf: Buffer;
  view: DataView;
  pos = 0;
  start = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  begin(): void {
    this.start = this.pos;
  }

  /** The event written since `begin`, as a view of its chunk. */
  end(): Buffer {
    return this.buf.subarray(this.start, this.pos);
  }

  /** Room for `n` more bytes: else a new chunk, and the event so far copied to its start. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const sofar = this.pos - this.start;
    const next = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, 2 * (sofar + n)));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
    this.start = 0;
    this.pos = sofar;
  }

  long(n: number): void {
    // what avsc refuses too: a fraction, NaN, ±Infinity (which would never leave the loop below) and
    // magnitudes past its safe range
    if (!Number.isSafeInteger(n) || Math.abs(n) > MAX_LONG)
      throw new RangeError(`Avro long: ${String(n)} is not an integer within ±${MAX_LONG}`);
    this.room(10);
    const buf = this.buf;
    if (n >= -1073741824 && n < 1073741824) {
      let z = n >= 0 ? n << 1 : (~n << 1) | 1;
      while (z > 0x7f) {
        buf[this.pos++] = (z & 0x7f) | 0x80;
        z >>>= 7;
      }
      buf[this.pos++] = z;
      return;
    }
    // from 2^30 on (2n would not fit 31 bits): the same digits in floating point, exact for safe integers
    let f = n >= 0 ? n * 2 : -n * 2 - 1;
    while (f >= 128) {
      buf[this.pos++] = (f % 128) | 0x80;
      f = Math.floor(f / 128);
    }
    buf[this.pos++] = f;
  }

  /** A union branch or enum symbol: its index as a long (indexes here are below 64: one byte). */
  index(i: number): void {
    this.room(1);
    this.buf[this.pos++] = i << 1;
  }

  float(f: number): void {
    this.room(4);
    this.view.setFloat32(this.pos, f, true);
    this.pos += 4;
  }

  double(d: number): void {
    this.room(8);
    this.view.setFloat64(this.pos, d, true);
    this.pos += 8;
  }

  /**
   * A string: its UTF-8 length as a long, then its bytes. Short ASCII strings (ids, topics, feature names)
   * are copied by a loop: Buffer.write is a call into C++ that costs more than the copy. A lone surrogate
   * is written as U+FFFD (Buffer's UTF-8), where avsc writes its raw three bytes in strings of up to 64
   * bytes; entity ids holding one are refused at validation, and the other strings are the model's and
   * the pipeline's own.
   */
  string(s: string): void {
    const n = s.length;
    if (n < 64) {
      this.room(n + 1);
      const buf = this.buf;
      const at = this.pos;
      buf[at] = n << 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[at + 1 + i] = c;
      }
      if (i === n) {
        this.pos = at + 1 + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.long(bytes);
    this.room(bytes);
    this.pos += this.buf.write(s, this.pos, bytes, 'utf8');
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** `topic/partition` → the bytes of its topic and partition in an InputRef (a few keys, met again and again). */
const basisKeys = new Map<string, Buffer>();

function basisKey(tp: string): Buffer {
  let b = basisKeys.get(tp);
  if (b === undefined) {
    const w = new Bytes(256);
    const cut = tp.lastIndexOf('/');
    w.string(tp.slice(0, cut));
    w.long(Number(tp.slice(cut + 1)));
    b = Buffer.from(w.end());
    if (basisKeys.size >= 10_000) basisKeys.clear();
    basisKeys.set(tp, b);
  }
  return b;
}

/** `topic/partition` → offset as the event's basis: sorted by key, so equal bases give equal bytes. */
function writeBasis(out: Bytes, basis: Readonly<Record<string, string>>): void {
  const keys = Object.keys(basis);
  if (keys.length > 0) {
    if (keys.length > 1) keys.sort();
    out.long(keys.length);
    for (const tp of keys) {
      out.raw(basisKey(tp));
      out.long(Number(basis[tp]));
    }
  }
  out.long(0);
}

function writeReasons(out: Bytes, e: Explanation): void {
  out.string(e.method);
  out.string(e.link);
  out.double(e.base);
  out.double(e.rest);
  if (e.top.length > 0) {
    out.long(e.top.length);
    for (const r of e.top) {
      out.string(r.feature);
      out.double(r.contribution);
      out.double(r.value);
    }
  }
  out.long(0);
}

export class PredictionEventWriter {
  readonly #header: Buffer;
  readonly #out = new Bytes(CHUNK_BYTES);
  readonly #models = new WeakMap<ModelStamp, Buffer>();
  /** The last window's batch id and pipeline name, and their bytes. */
  #tail: { batchId: string; pipeline: string; bytes: Buffer } | null = null;

  /** `type`: the schema registered under `schemaId`, which must be schemas/predictions-value.avsc's. */
  constructor(
    readonly schemaId: number,
    type: avro.Type,
  ) {
    const fingerprint = type.fingerprint('sha256').toString('hex');
    if (fingerprint !== PREDICTION_SCHEMA_FINGERPRINT)
      throw new Error(
        `the prediction schema's canonical form changed (sha256 ${fingerprint}, the writer lays out ${PREDICTION_SCHEMA_FINGERPRINT}): update src/emit/prediction-writer.ts with schemas/predictions-value.avsc`,
      );
    this.#header = frameHeader(schemaId);
  }

  /** The framed event of prediction `p` at `version`: the bytes avsc gives for predictionEvent(...). */
  encode(
    p: PredictionRecord,
    version: number,
    model: ModelStamp,
    inputs: readonly RecordRef[],
    pipeline: string,
    trigger: PredictionTrigger = 'INPUT',
  ): Buffer {
    const out = this.#out;
    out.begin();
    out.raw(this.#header);
    const upsert = p.kind === 'upsert';
    out.long(4); // schema_version
    out.index(upsert ? 0 : 1);
    out.string(p.entityId);
    if (upsert && p.score !== null) {
      out.index(1);
      out.float(p.score);
    } else out.index(0);
    if (upsert && p.tier !== null) {
      out.index(1);
      out.string(p.tier);
    } else out.index(0);
    out.raw(this.#model(model));
    const f = upsert ? p.features : null;
    if (f !== null && f.length > 0) {
      out.long(f.length);
      out.room(4 * f.length);
      const view = out.view;
      for (let i = 0; i < f.length; i++) view.setFloat32(out.pos + 4 * i, f[i] as number, true);
      out.pos += 4 * f.length;
    }
    out.long(0);
    out.long(p.asOfMs);
    out.long(p.scoredAtMs);
    if (upsert && p.validUntilMs !== null) {
      out.index(1);
      out.long(p.validUntilMs);
    } else out.index(0);
    out.long(version);
    if (inputs.length > 0) {
      out.long(inputs.length);
      for (const r of inputs) {
        out.string(r.topic);
        out.long(r.partition);
        out.long(Number(r.offset));
      }
    }
    out.long(0);
    out.raw(this.#batchTail(p.batchId, pipeline));
    if (upsert && p.reasons != null) {
      out.index(1);
      writeReasons(out, p.reasons);
    } else out.index(0);
    out.index(TRIGGERS[trigger]);
    out.index(1);
    writeBasis(out, p.basis);
    return out.end();
  }

  /** The model record and the feature version, as bytes, once per stamp. */
  #model(model: ModelStamp): Buffer {
    let b = this.#models.get(model);
    if (b === undefined) {
      const w = new Bytes(256);
      w.string(model.name);
      w.string(model.version);
      w.string(model.sha256);
      w.string(model.trainingRunId);
      w.string(model.featureVersion);
      b = Buffer.from(w.end());
      this.#models.set(model, b);
    }
    return b;
  }

  #batchTail(batchId: string, pipeline: string): Buffer {
    const t = this.#tail;
    if (t !== null && t.batchId === batchId && t.pipeline === pipeline) return t.bytes;
    const w = new Bytes(256);
    w.string(batchId);
    w.string(pipeline);
    const bytes = Buffer.from(w.end());
    this.#tail = { batchId, pipeline, bytes };
    return bytes;
  }
}
