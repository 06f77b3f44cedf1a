import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { framedDatum, frameHeader } from '../adapters/confluent-frame.js';
import type { SchemaRegistryClient } from '../adapters/registry.js';

/**
 * Encodes values of one Avro schema in the Confluent wire format (magic byte 0, 4-byte big-endian schema
 * id, Avro binary). The schema is registered (or found: registering an identical schema returns its id)
 * once at start; encoding is then local, with no registry call per record.
 */
export class AvroEncoder<T> {
  readonly #type: avro.Type;
  readonly #header: Buffer;

  private constructor(
    readonly schemaId: number,
    type: avro.Type,
  ) {
    this.#type = type;
    this.#header = frameHeader(schemaId);
  }

  static async register<T>(
    registry: SchemaRegistryClient,
    subject: string,
    schemaFile: string,
  ): Promise<AvroEncoder<T>> {
    const json = JSON.parse(readFileSync(schemaFile, 'utf8')) as avro.Schema;
    const id = await registry.register(subject, JSON.stringify(json), 'BACKWARD');
    return new AvroEncoder<T>(id, avro.Type.forSchema(json));
  }

  encode(value: T): Buffer {
    return Buffer.concat([this.#header, this.#type.toBuffer(value)]);
  }

  decode(buf: Buffer): T {
    return this.#type.fromBuffer(framedDatum(buf)) as T;
  }
}
