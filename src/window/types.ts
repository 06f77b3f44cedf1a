import type { Decoded, Row } from '../decode/types.js';

export interface WindowLimits {
  readonly maxRecords: number;
  readonly maxBytes: number;
}

/** Where a record came from; carried into predictions, audit and the DLQ. */
export interface RecordRef {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** A record of an input partition, decoded and past its contract, with where it came from. */
export interface DecodedRecord {
  readonly ref: RecordRef;
  readonly decoded: Decoded;
}

export type CdcWork =
  | { readonly op: 'upsert'; readonly version: string; readonly profile: Row; readonly timeMs: number }
  | { readonly op: 'delete'; readonly version: string; readonly timeMs: number }
  | { readonly op: 'tombstone' };

export interface EventWork {
  readonly eventId: string;
  readonly eventTimeMs: number;
  readonly fields: Row;
}

/** Everything one window holds for one entity, coalesced: the entity is applied and scored once. */
export interface EntityWork {
  readonly entityId: string;
  /** The CDC change that wins in this window (the latest by offset), or null. */
  readonly cdc: CdcWork | null;
  readonly events: readonly EventWork[];
  /** Every record of the window that touched the entity, in offset order. */
  readonly records: readonly RecordRef[];
  /** CDC records superseded by a later CDC record of the entity in this window. */
  readonly coalescedCdc: number;
  /** Of those, the ones at the same CDC position (version) as another of the window: redeliveries. */
  readonly duplicateCdc: number;
  readonly tombstones: number;
}
