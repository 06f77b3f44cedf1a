import type { Decoded } from '../decode/types.js';
import type { EntityWork, EventWork, RecordRef, WindowLimits, CdcWork } from './types.js';

interface Sized {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/**
 * Cuts one fetched batch (one topic-partition, offset order) into windows of at most maxRecords records
 * and maxBytes key+value bytes. A single record larger than maxBytes forms a window of its own. The max
 * delay is enforced upstream: the fetch returns no later than window.maxDelayMs after it started waiting.
 */
export function splitIntoWindows<T extends Sized>(records: readonly T[], limits: WindowLimits): T[][] {
  const windows: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = (r.key?.length ?? 0) + (r.value?.length ?? 0);
    if (current.length > 0 && (current.length >= limits.maxRecords || bytes + size > limits.maxBytes)) {
      windows.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) windows.push(current);
  return windows;
}

/** A version for sources without an LSN: source time, then offset; both zero-padded so strings compare. */
export function fallbackVersion(sourceTsMs: number, offset: string): string {
  return `${String(Math.max(0, Math.trunc(sourceTsMs))).padStart(16, '0')}${offset.padStart(20, '0')}`;
}

interface MutableWork {
  entityId: string;
  cdc: CdcWork | null;
  events: EventWork[];
  records: RecordRef[];
  coalescedCdc: number;
  tombstones: number;
}

/**
 * Groups a window's decoded records by entity, in offset order. The latest CDC change of an entity wins
 * (earlier ones are counted as coalesced); a tombstone after a delete of the same window keeps the delete,
 * since the delete carries the LSN that fences older updates. Events are all kept: each is a fact the
 * aggregates need, and the state dedups them by id.
 */
export function groupByEntity(records: ReadonlyArray<{ ref: RecordRef; decoded: Decoded }>): EntityWork[] {
  const byId = new Map<string, MutableWork>();
  const get = (id: string): MutableWork => {
    let w = byId.get(id);
    if (w === undefined) {
      w = { entityId: id, cdc: null, events: [], records: [], coalescedCdc: 0, tombstones: 0 };
      byId.set(id, w);
    }
    return w;
  };
  for (const { ref, decoded } of records) {
    if (decoded.kind === 'event') {
      const w = get(decoded.entityId);
      w.records.push(ref);
      w.events.push({ eventId: decoded.eventId, eventTimeMs: decoded.eventTimeMs, fields: decoded.fields });
      continue;
    }
    if (decoded.kind === 'tombstone') {
      const w = get(decoded.entityId);
      w.records.push(ref);
      w.tombstones += 1;
      // After a delete the tombstone adds nothing (the delete holds the LSN). After an upsert with no
      // delete between (unwrapped streams), the tombstone deletes at that upsert's LSN, so a redelivery
      // of the upsert stays fenced. Alone, it deletes at whatever LSN the state holds.
      if (w.cdc === null) w.cdc = { op: 'tombstone' };
      else if (w.cdc.op === 'upsert') w.cdc = { op: 'delete', version: w.cdc.version, timeMs: w.cdc.timeMs };
      continue;
    }
    if (decoded.entityId === null) continue; // t/m events are routed before grouping
    const w = get(decoded.entityId);
    w.records.push(ref);
    const version = decoded.lsn ?? fallbackVersion(decoded.sourceTsMs, ref.offset);
    let next: CdcWork;
    if (decoded.op === 'd') next = { op: 'delete', version, timeMs: decoded.sourceTsMs };
    else if (decoded.after !== null) next = { op: 'upsert', version, profile: decoded.after, timeMs: decoded.sourceTsMs };
    else continue;
    if (w.cdc !== null && w.cdc.op !== 'tombstone') w.coalescedCdc += 1;
    w.cdc = next;
  }
  return [...byId.values()];
}
