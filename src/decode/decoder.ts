/**
 * The decode stage's entry: one decoder per input topic turns a RawRecord into a Decoded value or throws
 * RecordRejected (→ DLQ with the original bytes). The only awaits are writer-schema fetches, batched in
 * `prepare`; decoding itself is synchronous.
 */
import { describeError, StreamscoreError } from '../errors/index.js';
import { framedSchemaId } from '../adapters/confluent-frame.js';
import { AvroReader, type AvroReaderOptions } from './avro.js';
import { compileAvroConverter, envelopeRowSchema, isObject } from './avro-schema.js';
import { semanticKind } from './connect-types.js';
import type { Convert } from './connect-types.js';
import {
  cdcFromValue,
  cdcTombstone,
  cdcValueProjection,
  entityIdFromKey,
  isEnvelope,
  isRow,
  withDeclaredDecimals,
  withRowFields,
} from './debezium.js';
import { eventFromValue } from './events.js';
import { JsonReader } from './json.js';
import {
  cdcDecodeOptionsSchema,
  eventDecodeOptionsSchema,
  type CdcDecodeOptions,
  type CdcDecodeOptionsInput,
  type EventDecodeOptions,
  type EventDecodeOptionsInput,
} from './options.js';
import { ConversionError, describePath, rejected } from './reject.js';
import type { Decoded, RawRecord, RecordDecoder, WriterSchemaSource } from './types.js';

interface DecoderSources {
  /** Required when the input's format is 'avro'. */
  readonly writerSchemas?: WriterSchemaSource;
  /**
   * The project's Avro schema for the topic's values (read by pipeline/roles.ts). Only read for JSON
   * records without an embedded schema, where it supplies decimal scales and Debezium time types.
   */
  readonly declaredValueSchema?: unknown;
  readonly avro?: AvroReaderOptions;
  /**
   * CDC only: the row columns the pipeline reads (the feature spec's `profileFields`). CdcChange rows then
   * carry only these and the id field, in every format; Avro walks past the other columns (still checking
   * them) instead of materialising them. Undefined: every column.
   */
  readonly rowFields?: readonly string[];
}

export type DecoderSpec =
  | ({ readonly kind: 'cdc'; readonly options: CdcDecodeOptionsInput } & DecoderSources)
  | ({ readonly kind: 'events'; readonly options: EventDecodeOptionsInput } & DecoderSources);

type Parsed = { kind: 'cdc'; options: CdcDecodeOptions } | { kind: 'events'; options: EventDecodeOptions };

function parseOptions(spec: DecoderSpec): Parsed {
  const result =
    spec.kind === 'cdc'
      ? cdcDecodeOptionsSchema.safeParse(spec.options)
      : eventDecodeOptionsSchema.safeParse(spec.options);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new StreamscoreError('SS_CONFIG_INVALID', `decoder options are invalid: ${lines.join('; ')}`);
  }
  return { kind: spec.kind, options: result.data } as Parsed;
}

function compileDeclared(schema: unknown): Convert | null {
  if (schema === undefined || schema === null) return null;
  try {
    return compileAvroConverter(typeof schema === 'string' ? JSON.parse(schema) : schema, { values: 'json' });
  } catch (cause) {
    throw new StreamscoreError(
      'SS_SCHEMA_INVALID',
      `declared value schema is unusable: ${describeError(cause)}`,
      { cause },
    );
  }
}

const OPEN_BRACE = 0x7b;
const QUOTE = 0x22;

class Decoder implements RecordDecoder {
  readonly #spec: Parsed;
  readonly #avro: AvroReader | null;
  /** Declared schema as a converter for schemaless JSON: the whole value, and (unwrapped CDC) a bare row. */
  readonly #declaredValue: Convert | null;
  readonly #declaredRow: Convert | null;
  readonly #json = new JsonReader();
  /** CDC rows are cut down to these (Avro does it while reading; JSON after converting). */
  readonly #rowFields: ReadonlySet<string> | null;
  /** Row columns the declared schema says are decimals (read from text in decimal.handling.mode=string). */
  readonly #declaredDecimals: ReadonlySet<string>;

  constructor(spec: DecoderSpec) {
    this.#spec = parseOptions(spec);
    const format = this.#spec.options.format;
    if (format === 'avro' && spec.writerSchemas === undefined) {
      throw new TypeError(`input ${this.#spec.options.topic} is Avro but no WriterSchemaSource was given`);
    }
    const rowFields =
      this.#spec.kind === 'cdc' && spec.rowFields !== undefined
        ? new Set([...spec.rowFields, this.#spec.options.idField])
        : null;
    this.#rowFields = rowFields;
    const avroOptions: AvroReaderOptions =
      rowFields === null
        ? (spec.avro ?? {})
        : {
            ...spec.avro,
            valueProjection: (schema) =>
              isObject(schema) && Array.isArray(schema.fields)
                ? cdcValueProjection(
                    schema.fields.map((f: unknown) => (isObject(f) ? String(f.name) : '')),
                    rowFields,
                  )
                : undefined,
          };
    this.#avro =
      format === 'avro' && spec.writerSchemas ? new AvroReader(spec.writerSchemas, avroOptions) : null;
    const declared = format === 'json' ? spec.declaredValueSchema : undefined;
    this.#declaredValue = compileDeclared(declared);
    const unwrapped = this.#spec.kind === 'cdc' && this.#spec.options.unwrapped;
    const parsedDeclared: unknown = typeof declared === 'string' ? JSON.parse(declared) : declared;
    this.#declaredRow = unwrapped
      ? compileDeclared(envelopeRowSchema(parsedDeclared) ?? parsedDeclared)
      : null;
    const declaredAny: unknown =
      typeof spec.declaredValueSchema === 'string'
        ? JSON.parse(spec.declaredValueSchema)
        : spec.declaredValueSchema;
    this.#declaredDecimals =
      this.#spec.kind === 'cdc' ? decimalColumns(envelopeRowSchema(declaredAny) ?? declaredAny) : new Set();
  }

  async prepare(records: Iterable<RawRecord>): Promise<void> {
    if (this.#avro === null) return;
    const ids: number[] = [];
    for (const r of records) {
      const v = r.value === null ? null : framedSchemaId(r.value);
      const k = r.key === null ? null : framedSchemaId(r.key);
      if (v !== null) ids.push(v);
      if (k !== null) ids.push(k);
    }
    if (ids.length > 0) await this.#avro.load(ids);
  }

  retryUnknown(): void {
    this.#avro?.forgetFailures();
  }

  async decode(raw: RawRecord): Promise<Decoded> {
    await this.prepare([raw]);
    return this.decodeSync(raw);
  }

  decodeSync(raw: RawRecord): Decoded {
    try {
      const keyId = entityIdFromKey(this.#key(raw), this.#spec.options.idField);
      if (raw.value === null) {
        if (this.#spec.kind === 'cdc') return cdcTombstone(keyId, raw);
        throw rejected('SS_CONTRACT_VIOLATION', 'null value: an event topic has no tombstones', raw);
      }
      if (raw.value.length === 0)
        throw rejected('SS_DECODE_FAILED', 'empty value (a tombstone is a null value)', raw);
      const value = this.#value(raw.value, raw);
      if (this.#spec.kind !== 'cdc') return eventFromValue(value, keyId, this.#spec.options, raw);
      let change = cdcFromValue(value, keyId, this.#spec.options, raw);
      if (this.#declaredDecimals.size > 0) change = withDeclaredDecimals(change, this.#declaredDecimals);
      return this.#rowFields === null || this.#avro !== null
        ? change
        : withRowFields(change, this.#rowFields);
    } catch (err) {
      if (err instanceof ConversionError) {
        throw rejected('SS_FIELD_TYPE', `a field does not fit its schema: ${describePath(err)}`, raw, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /**
   * Keys: Confluent-framed Avro, JSON (a struct such as `{"id": 42}`, with or without schema), or plain
   * UTF-8 text such as "42". Text is taken verbatim, so "007" and ids beyond 2^53 stay exact.
   */
  #key(raw: RawRecord): unknown {
    const key = raw.key;
    if (key === null || key.length === 0) return null;
    if (this.#avro !== null && framedSchemaId(key) !== null) return this.#avro.read(key, raw, 'key');
    if (key[0] === OPEN_BRACE || key[0] === QUOTE) {
      return this.#json.read(key, raw, 'key').value;
    }
    return key.toString('utf8');
  }

  #value(buf: Buffer, raw: RawRecord): unknown {
    if (this.#avro !== null) return this.#avro.read(buf, raw, 'value');
    const { value: parsed, hadSchema } = this.#json.read(buf, raw, 'value');
    if (hadSchema || !isRow(parsed)) return parsed; // rejected with the right message by the envelope/event reader
    // schemas.enable=false: the declared schema stands in for the writer's (decimal scales, time types).
    const convert =
      this.#declaredRow !== null && !isEnvelope(parsed) ? this.#declaredRow : this.#declaredValue;
    return convert === null ? parsed : convert(parsed);
  }
}

/** Columns of a declared row schema whose type is a decimal (Connect Decimal, VariableScaleDecimal, Avro decimal). */
function decimalColumns(row: unknown): ReadonlySet<string> {
  const out = new Set<string>();
  if (!isObject(row) || !Array.isArray(row.fields)) return out;
  for (const f of row.fields as unknown[]) {
    if (!isObject(f) || typeof f.name !== 'string') continue;
    const branches: unknown[] = Array.isArray(f.type) ? f.type : [f.type];
    const decimal = branches.some(
      (b) =>
        isObject(b) &&
        semanticKind(
          typeof b['connect.name'] === 'string' ? b['connect.name'] : undefined,
          typeof b.logicalType === 'string' ? b.logicalType : undefined,
        ) === 'number',
    );
    if (decimal) out.add(f.name);
  }
  return out;
}

/** One decoder per input topic. Options are the input's config entry (defaults applied here). */
export function createDecoder(spec: DecoderSpec): RecordDecoder {
  return new Decoder(spec);
}
