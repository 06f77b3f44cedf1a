import { fillUnavailable } from '../decode/debezium.js';
import { runsOf } from '../util/runs.js';
import type { CdcWork, DecodedRecord, EntityWork, EventWork, RecordRef, WindowLimits } from './types.js';

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
  return runsOf(records, recordBytes, limits.maxBytes, limits.maxRecords);
}

const recordBytes = (r: Sized): number => (r.key?.length ?? 0) + (r.value?.length ?? 0);

/**
 * Adaptive windows: a partition whose fetched batch holds more than maxRecords records is behind, and its
 * windows take up to maxRecordsBehind (default 4 × maxRecords); a partition that keeps up gets windows of
 * at most maxRecords, so latency at low rates is what it was.
 */
export function windowLimits(
  batchRecords: number,
  w: {
    readonly maxRecords: number;
    readonly maxBytes: number;
    readonly maxRecordsBehind?: number | undefined;
  },
): WindowLimits {
  const behind = batchRecords > w.maxRecords;
  return {
    maxRecords: behind ? (w.maxRecordsBehind ?? 4 * w.maxRecords) : w.maxRecords,
    maxBytes: w.maxBytes,
  };
}

/** A version for sources without an LSN: source time, then offset; both zero-padded so strings compare. */
export function fallbackVersion(sourceTsMs: number, offset: string): string {
  return `${String(Math.max(0, Math.trunc(sourceTsMs))).padStart(16, '0')}${offset.padStart(20, '0')}`;
}

/** Compares two row versions (decimal LSN strings, or fallback versions of equal length). */
export function versionGreater(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

interface MutableWork {
  entityId: string;
  cdc: CdcWork | null;
  events: EventWork[];
  records: RecordRef[];
  coalescedCdc: number;
  duplicateCdc: number;
  tombstones: number;
}

/**
 * Groups a window's decoded records by entity, in offset order. Of an entity's CDC changes the one with the
 * highest LSN wins, not the last one read: Debezium redelivers older changes after a restart, and a stale
 * redelivery must not hide a newer change of the same window (the others count as coalesced). A tombstone
 * after the winning upsert (unwrapped streams: no delete event) deletes at that upsert's LSN; after a
 * delete it adds nothing, since the delete carries the LSN that fences older updates. Events are all kept:
 * each is a fact the aggregates need, and the state dedups them by id.
 */
export function groupByEntity(records: readonly DecodedRecord[]): EntityWork[] {
  const byId = new Map<string, MutableWork>();
  const get = (id: string): MutableWork => {
    let w = byId.get(id);
    if (w === undefined) {
      w = {
        entityId: id,
        cdc: null,
        events: [],
        records: [],
        coalescedCdc: 0,
        duplicateCdc: 0,
        tombstones: 0,
      };
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
    else if (decoded.after !== null)
      next = { op: 'upsert', version, profile: decoded.after, timeMs: decoded.sourceTsMs };
    else continue;
    const current = w.cdc;
    if (current === null || current.op === 'tombstone') {
      w.cdc = next;
      continue;
    }
    w.coalescedCdc += 1;
    if (next.version === current.version) w.duplicateCdc += 1;
    else if (versionGreater(next.version, current.version)) {
      // a TOASTed column the newer change left unchanged keeps the value the older one carried (still
      // unavailable when the older one did not carry it either: the stored row fills it in applyWork)
      w.cdc =
        next.op === 'upsert' && current.op === 'upsert'
          ? { ...next, profile: fillUnavailable(next.profile, current.profile, true) }
          : next;
    }
  }
  return [...byId.values()];
}
