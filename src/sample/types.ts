/**
 * The sample domain's logical records: what a retail bank's Debezium connector and its card-transaction
 * service would put on Kafka, before encoding. Values use the decode stage's conventions (decimals as
 * numbers, instants as epoch millis, dates as epoch millis at UTC midnight, int64 beyond 2^53 as decimal
 * strings), so a record decodes to exactly these values whatever the wire format.
 */

export type Region = 'north' | 'south' | 'east' | 'west';
export type Segment = 'mass' | 'affluent' | 'private';

/** A row of `bank.public.customers`, column order as in schemas/cdc.bank.customers-value.avsc. */
export interface CustomerRow {
  readonly id: number;
  readonly tenure_months: number | null;
  readonly age: number | null;
  readonly products_held: number | null;
  /** numeric(12,2): at most 10 integer digits, exactly 2 decimals. */
  readonly balance: number | null;
  /** numeric(12,2). */
  readonly credit_limit: number | null;
  readonly utilisation: number | null;
  readonly region: Region | null;
  readonly segment: Segment | null;
  /** timestamp (MicroTimestamp on the wire): epoch millis. */
  readonly created_at: number | null;
  /** timestamptz (ZonedTimestamp on the wire): epoch millis. */
  readonly updated_at: number | null;
  /** date (Date on the wire): epoch millis at UTC midnight. */
  readonly birth_date: number | null;
}

export type SnapshotMarker = 'true' | 'last' | 'false' | 'incremental';

/** `source` of a Debezium PostgreSQL change event. */
export interface CdcSource {
  readonly version: string;
  readonly connector: 'postgresql';
  readonly name: string;
  /** Commit time of the change (snapshot: when the row was read). */
  readonly ts_ms: number;
  readonly snapshot: SnapshotMarker;
  readonly db: string;
  /** `["<lsn of the last commit>","<lsn>"]`, a JSON array as text (null for snapshot reads). */
  readonly sequence: string | null;
  readonly ts_us: number;
  /** Nanoseconds exceed 2^53: kept as an exact decimal string. */
  readonly ts_ns: string;
  readonly schema: string;
  readonly table: string;
  readonly txId: number;
  /** Postgres WAL position; every snapshot read carries the snapshot's LSN. */
  readonly lsn: number;
  readonly xmin: number | null;
}

export type CdcOpcode = 'c' | 'u' | 'd' | 'r';

export interface CdcValue {
  readonly before: CustomerRow | null;
  readonly after: CustomerRow | null;
  readonly source: CdcSource;
  readonly transaction: null;
  readonly op: CdcOpcode;
  /** When Debezium processed the change. */
  readonly ts_ms: number;
  readonly ts_us: number;
  readonly ts_ns: string;
}

export interface CdcKey {
  readonly id: number;
}

/**
 * Why a record is on the topic a second time: `duplicate` is an exact copy re-sent by an at-least-once
 * producer after a restart or retry; `stale` is an older change of the entity re-sent after a newer one.
 */
export type Resend = 'duplicate' | 'stale' | null;

interface SampleRecordBase {
  /** Partition the record goes to (Kafka's default partitioner applied to the id as UTF-8 text). */
  readonly partition: number;
  /** Simulated wall-clock time the producer sent it; non-decreasing along each topic's list. */
  readonly atMs: number;
  readonly resend: Resend;
}

export interface CdcRecord extends SampleRecordBase {
  readonly topic: 'cdc';
  readonly key: CdcKey;
  /** null: the tombstone Debezium writes after a delete. */
  readonly value: CdcValue | null;
}

export type TransactionType = 'debit' | 'credit';
export type Channel = 'card' | 'online' | 'atm' | 'branch';

/** schemas/transactions-value.avsc. */
export interface TransactionValue {
  readonly txn_id: string;
  readonly customer_id: number;
  readonly amount: number;
  readonly type: TransactionType;
  readonly channel: Channel;
  readonly mcc: string;
  readonly declined: boolean;
  readonly event_time: number;
}

export interface TransactionRecord extends SampleRecordBase {
  readonly topic: 'transactions';
  /** The customer id as text; services key by id. */
  readonly key: string;
  readonly value: TransactionValue;
}

export type SampleRecord = CdcRecord | TransactionRecord;

/** What was generated, for oracle tests: the true end state and how many of each tricky case are in it. */
export interface SampleSummary {
  /** Rows alive at the end, by id (ascending): the last committed `after` of every not-deleted customer. */
  readonly finalRows: readonly CustomerRow[];
  /** Ids whose last committed change is a delete (ascending). */
  readonly deletedIds: readonly number[];
  readonly cdc: {
    readonly snapshot: number;
    readonly inserts: number;
    readonly reinserts: number;
    readonly updates: number;
    readonly deletes: number;
    readonly tombstones: number;
    readonly duplicates: number;
    readonly stale: number;
    /** Database transactions that changed several customers at once (same txId and ts_ms). */
    readonly multiRowTransactions: number;
  };
  readonly transactions: {
    /** Distinct txn_ids. */
    readonly unique: number;
    readonly duplicates: number;
    /** Sent after an event of the same key with a later event time. */
    readonly late: number;
    readonly beforeInsert: number;
    readonly afterDelete: number;
    /** For ids the customers table never has. */
    readonly unknownCustomer: number;
  };
}

export interface SampleStream {
  readonly partitions: number;
  readonly startMs: number;
  readonly endMs: number;
  /** In send order; filtered to one partition, the order a consumer reads. */
  readonly cdc: readonly CdcRecord[];
  readonly transactions: readonly TransactionRecord[];
  readonly summary: SampleSummary;
}
