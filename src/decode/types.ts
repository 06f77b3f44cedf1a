/**
 * What the decode stage hands to the rest of the pipeline. Every value is plain JS: Debezium's logical
 * types are already converted (decimals → number, MicroTimestamp/Timestamp/ZonedTimestamp → epoch millis,
 * Date → epoch millis at UTC midnight), so later stages never see encodings.
 */
export type Row = Record<string, unknown>;

export type CdcOp = 'c' | 'u' | 'd' | 'r' | 't' | 'm';

/** A Debezium change event (value not null). */
export interface CdcChange {
  readonly kind: 'cdc';
  readonly op: CdcOp;
  /** Entity id as a string (from the key, else from after/before); null only for t/m events. */
  readonly entityId: string | null;
  readonly before: Row | null;
  readonly after: Row | null;
  /**
   * The per-row version: Postgres `source.lsn` as a decimal string (it can exceed 2^53). Null when the
   * source has none; the pipeline then falls back to `source.ts_ms` and the record offset.
   */
  readonly lsn: string | null;
  /** `source.ts_ms`: when the change was committed in the database (event time of the change). */
  readonly sourceTsMs: number;
  /** Envelope `ts_ms`: when Debezium processed it. */
  readonly tsMs: number;
  readonly snapshot: string | null;
  readonly table: string | null;
}

/** The null-value record Debezium writes after a delete (same key). */
export interface CdcTombstone {
  readonly kind: 'tombstone';
  readonly entityId: string;
}

/** A business event (e.g. a card transaction) keyed by the entity it belongs to. */
export interface EntityEvent {
  readonly kind: 'event';
  readonly entityId: string;
  /** Idempotency key of the event (the `txn_id` field; else `<topic>/<partition>/<offset>`). */
  readonly eventId: string;
  readonly eventTimeMs: number;
  readonly fields: Row;
}

export type Decoded = CdcChange | CdcTombstone | EntityEvent;

/** The raw record as it came from Kafka; kept so a rejected record reaches the DLQ byte for byte. */
export interface RawRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>;
}

/**
 * Where the Avro decoder gets writer schemas (Confluent wire format: magic 0 + 4-byte schema id). The registry
 * adapter's client satisfies it as is. It must return the schema JSON (parsed or as text), not an avsc Type:
 * avsc 5 drops `connect.name`/`scale` attributes from primitive types, and those carry Debezium's semantics.
 * A missing id should reject with a non-retriable error (→ SS_UNKNOWN_SCHEMA); an outage with a retriable
 * StreamscoreError, which the decoder passes through so the pipeline backs off instead of dead-lettering.
 */
export interface WriterSchemaSource {
  avroSchema(id: number): Promise<unknown>;
}

/** The decode stage for one input topic. Rejections are `RecordRejected` (→ DLQ with the raw record). */
export interface RecordDecoder {
  /**
   * Fetches the writer schemas a batch needs (one registry call per unknown id), so `decodeSync` can run
   * without awaiting. Only a retriable registry failure rejects; unknown ids surface per record.
   */
  prepare(records: Iterable<RawRecord>): Promise<void>;
  /** Decodes one record; every schema it references must have been through `prepare`. */
  decodeSync(raw: RawRecord): Decoded;
  /** Forgets writer-schema ids the registry did not know, so the next `prepare` asks for them again. */
  retryUnknown(): void;
  /** `prepare([raw])` then `decodeSync(raw)`. */
  decode(raw: RawRecord): Promise<Decoded>;
}
