import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { FRAME_HEADER_BYTES, framedDatum, frameHeader } from '../adapters/confluent-frame.js';
import type { SchemaRegistryClient } from '../adapters/registry.js';

/**
 * Encodes values of one Avro schema in the Confluent wire format (magic byte 0, 4-byte big-endian schema
 * id, Avro binary). The schema is registered (or found: registering an identical schema returns its id)
 * once at start; encoding is then local, with no registry call per record.
 */
export class AvroEncoder<T> {
  readonly #type: avro.Type;
  readonly #header: Buffer;
  /** Where values are encoded, after the header (grown when a value does not fit); copied out exactly. */
  #scratch: Buffer;

  private constructor(
    readonly schemaId: number,
    type: avro.Type,
  ) {
    this.#type = type;
    this.#header = frameHeader(schemaId);
    this.#scratch = this.#withHeader(4096);
  }

  #withHeader(size: number): Buffer {
    const buf = Buffer.allocUnsafe(size);
    this.#header.copy(buf, 0);
    return buf;
  }

  /** The schema's avsc type (for a writer that lays out its bytes itself, see PredictionEventWriter). */
  get type(): avro.Type {
    return this.#type;
  }

  /** An encoder for a schema whose registry id is already known (tools, tests). */
  static of<T>(schemaId: number, schema: avro.Schema): AvroEncoder<T> {
    return new AvroEncoder<T>(schemaId, avro.Type.forSchema(schema));
  }

  static async register<T>(
    registry: SchemaRegistryClient,
    subject: string,
    schemaFile: string,
  ): Promise<AvroEncoder<T>> {
    const json = JSON.parse(readFileSync(schemaFile, 'utf8')) as avro.Schema;
    const id = await registry.register(subject, JSON.stringify(json), 'BACKWARD');
    return AvroEncoder.of<T>(id, json);
  }

  /**
   * The framed value. Written after the header in a reused buffer and copied out once: avsc's toBuffer
   * would allocate a zero-filled buffer and copy, then the framing another buffer and two copies.
   */
  encode(value: T): Buffer {
    let end = this.#type.encode(value, this.#scratch, FRAME_HEADER_BYTES);
    if (end < 0) {
      // avsc returns minus the bytes missing; the value is written again into a buffer that fits
      this.#scratch = this.#withHeader(2 ** Math.ceil(Math.log2(this.#scratch.length - end)));
      end = this.#type.encode(value, this.#scratch, FRAME_HEADER_BYTES);
      if (end < 0) throw new Error(`Avro encoding of schema ${this.schemaId} did not fit in its own size`);
    }
    const out = Buffer.allocUnsafe(end);
    this.#scratch.copy(out, 0, 0, end);
    return out;
  }

  decode(buf: Buffer): T {
    return this.#type.fromBuffer(framedDatum(buf)) as T;
  }
}
