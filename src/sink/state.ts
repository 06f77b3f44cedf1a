/**
 * The feature state of one entity, and how a window's records change it. Pure: the same base state and
 * records give the same result on every instance, so any instance can compute the next state in process
 * and the Redis write only has to check that nobody changed the entity since (compare-and-set on `sv`).
 *
 * Idempotence does not depend on offsets: a CDC change applies only when its LSN is greater than the
 * stored one (Debezium redelivers after a restart), a tombstone deletes at the stored LSN, and an event
 * applies once per id (its id is kept while the event is in the lookback; an older one can never enter a
 * future window, since the entity's clock only moves forward). So a replay, a retry or a zombie's window
 * applied again changes nothing, whatever offsets it arrives at.
 */
import { fillUnavailable } from '../decode/debezium.js';
import type { Row } from '../decode/types.js';
import { sortByTimeThenId } from '../features/index.js';
import type { EventForFeatures } from '../features/index.js';
import { versionGreater } from '../window/window.js';
import type { EntityWork } from '../window/index.js';

export interface EntityState {
  /** State version (0: no state). Grows with every change and doubles as the compare-and-set token. */
  readonly sv: number;
  /**
   * `sv` when the stored prediction was written with this state (the window that made the state scored or
   * deleted the entity), else 0: the prediction is older than the state, or there is none.
   */
  readonly pv: number;
  /** LSN (or fallback version) of the stored row; '' when no CDC change was ever applied. */
  readonly lsn: string;
  readonly deleted: boolean;
  /** The entity's event-time clock: the latest event time applied; the as-of time of its next prediction. */
  readonly clock: number;
  /** `topic/partition/offset` of the last record behind the prediction written with `sv` ('' when none). */
  readonly trigger: string;
  /** The profile row as features read it (only the fields the spec uses); null when none or deleted. */
  readonly profile: Row | null;
  /** Events in the lookback, sorted by time then id, with only the aggregated fields. */
  readonly events: readonly EventForFeatures[];
  /**
   * Per input partition (`topic/partition`), the offset of the newest of the entity's records applied by a
   * window that changed this state: every record of the entity up to it (in windows of that partition) is
   * in the state, none after it. A prediction carries it as its basis, so the state can be rebuilt from the
   * log (`verify --deep`). Empty for states stored before it existed.
   */
  readonly applied: Readonly<Record<string, string>>;
}

export const EMPTY_STATE: EntityState = Object.freeze({
  sv: 0,
  pv: 0,
  lsn: '',
  deleted: false,
  clock: 0,
  trigger: '',
  profile: null,
  events: Object.freeze([]) as readonly EventForFeatures[],
  applied: Object.freeze({}),
});

/**
 * `s` with new versions and trigger. Written out field by field: an object spread (`{ ...s, sv }`) costs
 * ~20× as much per entity (V8 clones through a generic path), and a window makes one or two per entity.
 */
export function withVersions(s: EntityState, sv: number, pv: number, trigger: string): EntityState {
  return {
    sv,
    pv,
    lsn: s.lsn,
    deleted: s.deleted,
    clock: s.clock,
    trigger,
    profile: s.profile,
    events: s.events,
    applied: s.applied,
  };
}

/** What a window does to one entity's state. */
export interface StateChange {
  readonly cdc: 'none' | 'applied' | 'stale';
  readonly eventsApplied: number;
  readonly eventsUnchanged: number;
  /**
   * Redeliveries this window brought: events whose id the state (or an earlier record of the window) already
   * holds, and a change at the CDC position the state is already at. Counted, never applied twice.
   */
  readonly duplicates: number;
  /** The next state (sv still the base's: the store assigns the new version), or null when nothing changed. */
  readonly next: EntityState | null;
  /** The full profile row to store ('' keep the stored one, '-' remove it); see ProfileWrite. */
  readonly storeProfile: ProfileWrite;
  /** The events changed (added or aged out): the stored ones must be brought up to date. */
  readonly eventsChanged: boolean;
}

/**
 * The profile row a write stores: '' keeps the stored one, '-' removes it, a row replaces it. The row is
 * printed as JSON (profileText) only when the write's Redis call is built: printed when the window planned
 * it, the text lived through the window's scoring and was copied by each scavenge, then promoted, while
 * the row itself is held by the window's records anyway.
 */
export type ProfileWrite = '' | '-' | Row;

/** The text a write stores for its profile (what ProfileWrite says). */
export function profileText(p: ProfileWrite): string {
  return typeof p === 'string' ? p : JSON.stringify(p);
}

/** Which fields of rows and events the state keeps: what the feature spec reads, nothing else. */
export interface StateFields {
  readonly profile: readonly string[];
  readonly event: readonly string[];
  readonly lookbackMs: number;
}

/**
 * The fields features read, with JSON's value semantics (what a read back from Redis would give): no
 * undefined, NaN/±Infinity as null, -0 as 0. Computing from this in process and from a stored copy later
 * then gives the same vector.
 */
export function project(row: Row, fields: readonly string[]): Row {
  const out: Row = {};
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as string;
    if (!(f in row)) continue;
    const v = row[f];
    if (v === undefined) continue;
    if (typeof v === 'number') out[f] = Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
    else if (typeof v === 'bigint') out[f] = Number(v);
    else out[f] = v;
  }
  return out;
}

/** Applies one window's coalesced work for an entity to its state. */
export function applyWork(base: EntityState, w: EntityWork, fields: StateFields): StateChange {
  let { lsn, deleted, clock, profile } = base;
  let changed = false;
  let cdc: StateChange['cdc'] = 'none';
  let storeProfile: ProfileWrite = '';
  let duplicates = 0;
  const c = w.cdc;
  if (c !== null && c.op !== 'tombstone') {
    // a delete at the stored LSN still applies: an unwrapped stream's tombstone deletes the row it follows
    const deletingSame = c.op === 'delete' && lsn === c.version && !deleted;
    if (lsn === '' || versionGreater(c.version, lsn) || deletingSame) {
      if (c.op === 'upsert') {
        // a TOASTed column the change left unchanged keeps the stored value (null when none is stored)
        const row = fillUnavailable(c.profile, deleted ? null : profile);
        profile = project(row, fields.profile);
        storeProfile = row;
        deleted = false;
      } else {
        profile = null;
        storeProfile = '-';
        deleted = true;
      }
      lsn = c.version;
      changed = true;
      cdc = 'applied';
      if (c.timeMs > clock) clock = c.timeMs;
    } else {
      cdc = 'stale';
      if (c.version === lsn) duplicates += 1;
    }
  } else if (c !== null) {
    if (profile !== null && !deleted) {
      profile = null;
      storeProfile = '-';
      deleted = true;
      changed = true;
      cdc = 'applied';
    } else cdc = 'stale';
  }

  let events = base.events;
  let applied = 0;
  let unchanged = 0;
  if (w.events.length > 0) {
    // a window brings an entity one or a few events: looking each up in the held list is cheaper than a
    // set of every held id (built anew for each change); many events get the set
    const ids = w.events.length > FEW_EVENTS ? new Set(events.map((e) => e.eventId)) : null;
    let added: EventForFeatures[] | undefined;
    for (const e of w.events) {
      // the clock as it stands when the event is reached, as events of the window apply in offset order
      if (ids === null ? holds(events, added, e.eventId) : ids.has(e.eventId)) {
        unchanged += 1;
        duplicates += 1;
        continue;
      }
      if (e.eventTimeMs <= clock - fields.lookbackMs) {
        unchanged += 1;
        continue;
      }
      ids?.add(e.eventId);
      (added ??= []).push({
        eventId: e.eventId,
        eventTimeMs: e.eventTimeMs,
        fields: project(e.fields, fields.event),
      });
      applied += 1;
      if (e.eventTimeMs > clock) clock = e.eventTimeMs;
    }
    if (added !== undefined) {
      changed = true;
      // events mostly arrive after every held one: then no sort of the whole list per window
      events = sortByTimeThenId(events.concat(added));
    }
  }
  if (!changed)
    return {
      cdc,
      eventsApplied: 0,
      eventsUnchanged: unchanged,
      duplicates,
      next: null,
      storeProfile: '',
      eventsChanged: false,
    };
  // events at or before clock - lookback can never enter a future window: as-of times only grow
  const from = clock - fields.lookbackMs;
  let drop = 0;
  while (drop < events.length && (events[drop] as EventForFeatures).eventTimeMs <= from) drop += 1;
  if (drop > 0) events = events.slice(drop);
  return {
    cdc,
    eventsApplied: applied,
    eventsUnchanged: unchanged,
    duplicates,
    next: {
      sv: base.sv,
      pv: base.pv,
      lsn,
      deleted,
      clock,
      trigger: '',
      profile,
      events,
      applied: advanced(base.applied, w.records),
    },
    storeProfile,
    eventsChanged: events !== base.events,
  };
}

/** Up to this many events of a window per entity are looked up in the held list rather than a set. */
const FEW_EVENTS = 4;

function holds(
  events: readonly EventForFeatures[],
  added: readonly EventForFeatures[] | undefined,
  id: string,
): boolean {
  for (let i = 0; i < events.length; i++) if ((events[i] as EventForFeatures).eventId === id) return true;
  if (added !== undefined) for (const e of added) if (e.eventId === id) return true;
  return false;
}

function offsetGreater(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

/** `applied` moved to the window's newest record of each partition (a window holds one partition). */
function advanced(
  applied: Readonly<Record<string, string>>,
  records: EntityWork['records'],
): Readonly<Record<string, string>> {
  let out: Record<string, string> | undefined;
  for (const r of records) {
    const tp = `${r.topic}/${r.partition}`;
    const had = (out ?? applied)[tp];
    if (had !== undefined && !offsetGreater(r.offset, had)) continue;
    (out ??= { ...applied })[tp] = r.offset;
  }
  return out ?? applied;
}
