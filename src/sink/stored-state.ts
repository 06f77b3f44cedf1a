/**
 * The stored form of an entity's state: the fields of its state hash (`<prefix>{<pipeline>:<id>}:s`).
 *
 *  - `sv`: the state version (the compare-and-set token);
 *  - `p`: the full profile row, JSON;
 *  - `d`: the header, [lsn, deleted, clock, trigger, applied] (encodeHeader);
 *  - `e:<day>`: the events of four UTC days from `day` on (days counted from 1970-01-01, `day` a multiple
 *    of 4: floor(event time in ms / 86,400,000 / 4) × 4), as [[event field names], [id, time, value...],
 *    ...] (encodeEvents);
 *  - `e`: all events in that same form, as states were stored before the bucket fields. Still read; the
 *    next write of such a state moves its events to bucket fields and removes `e`.
 *
 * Events are kept in buckets of days so that a write sends what its window changed, not every event the
 * state holds: a new event rewrites its own bucket, a bucket whose events all expired is removed, the
 * others stay as they are in Redis (eventFieldWrites). A state holding 30 days of events used to be
 * printed, sent and stored whole at every change. Four days, not one: each field costs Redis about 100
 * bytes of its own, so one field per day took 2.5× the memory of the single field for an entity with one
 * event a day over 30 days (4,840 against 1,952 bytes, `MEMORY USAGE`); buckets of four days take 1.2×
 * there and less than the single field from three events a day on (allocator size classes), and a write
 * still sends at most four days of events. The width is part of the stored form: a reader takes every
 * `e:` field whatever it is, but a writer's diff assumes the stored fields are its buckets.
 */
import type { Row } from '../decode/types.js';
import { sortByTimeThenId } from '../features/index.js';
import type { EventForFeatures } from '../features/index.js';
import { EMPTY_STATE, project } from './state.js';
import type { EntityState, StateFields } from './state.js';

export const DAY_MS = 86_400_000;

/** Days per event field (see the module comment). */
export const EVENT_BUCKET_DAYS = 4;
const BUCKET_MS = EVENT_BUCKET_DAYS * DAY_MS;

/** The first day of an event's bucket; all times that are not finite numbers share one, after the rest. */
function bucketOf(eventTimeMs: number): number {
  return Number.isFinite(eventTimeMs)
    ? Math.floor(eventTimeMs / BUCKET_MS) * EVENT_BUCKET_DAYS
    : Number.MAX_VALUE;
}

function bucketField(day: number): string {
  return day === Number.MAX_VALUE ? 'e:none' : `e:${day}`;
}

/** The hash field of an event's bucket of days. */
export function eventBucketField(eventTimeMs: number): string {
  return bucketField(bucketOf(eventTimeMs));
}

/** The single field every event was stored in before bucket fields (see the module comment). */
export const LEGACY_EVENTS_FIELD = 'e';

const appliedTexts = new WeakMap<object, string>();

/**
 * `applied` as JSON, made once per object: a window's state header and its stored prediction (whose basis
 * is the same object) both carry it.
 */
export function appliedJson(applied: Readonly<Record<string, string>>): string {
  let text = appliedTexts.get(applied);
  if (text === undefined) {
    text = JSON.stringify(applied);
    appliedTexts.set(applied, text);
  }
  return text;
}

/**
 * `d` as JSON: [lsn, deleted, clock, trigger, applied]. Small: written with every change. Joined into one
 * flat string (see predictionJsonHead).
 */
export function encodeHeader(s: EntityState): string {
  return [
    '[',
    JSON.stringify(s.lsn),
    s.deleted ? ',1,' : ',0,',
    String(s.clock),
    ',',
    JSON.stringify(s.trigger),
    ',',
    appliedJson(s.applied),
    ']',
  ].join('');
}

/**
 * Events as JSON: [[event field names], [id, time, value...], ...] (a bucket field's value; `from`/`to`
 * pick a run of the list). The field names travel with the data, so events written for one feature spec
 * are read correctly by another.
 */
export function encodeEvents(
  events: readonly EventForFeatures[],
  eventFields: readonly string[],
  from = 0,
  to = events.length,
): string {
  let out = `[${JSON.stringify(eventFields)}`;
  for (let i = from; i < to; i++) {
    const e = events[i] as EventForFeatures;
    out += `,[${JSON.stringify(e.eventId)},${e.eventTimeMs}`;
    for (const f of eventFields) {
      const v = e.fields[f];
      out +=
        typeof v === 'number' || typeof v === 'boolean'
          ? `,${v}`
          : `,${v === undefined ? 'null' : JSON.stringify(v)}`;
    }
    out += ']';
  }
  return `${out}]`;
}

/** States decoded from a hash that still holds the single `e` field: their next write moves it. */
const legacyEvents = new WeakSet<EntityState>();

/** True for a state read from a hash whose events are in the old single `e` field. */
export function holdsLegacyEvents(s: EntityState): boolean {
  return legacyEvents.has(s);
}

/** True when each bucket's events are one run, buckets ascending (a state's events are sorted by time). */
function inBucketOrder(events: readonly EventForFeatures[]): boolean {
  let last = -Infinity;
  for (let i = 0; i < events.length; i++) {
    const d = bucketOf((events[i] as EventForFeatures).eventTimeMs);
    if (d < last) return false;
    last = d;
  }
  return true;
}

const NO_EVENTS: readonly EventForFeatures[] = [];

/**
 * What a write sends to turn the stored events of `base` into `next`, as hash field/value pairs ('' removes
 * the field): each bucket whose events differ (a different count, or another event object at a place:
 * the next state's events are the base's objects plus the window's new ones), and each bucket that no
 * longer has events. A base still in the old single field gets every bucket written and `e` removed.
 * Walks both lists once by bucket, printing only the buckets it sends.
 */
export function eventFieldWrites(
  base: EntityState,
  next: readonly EventForFeatures[],
  eventFields: readonly string[],
): string[] {
  const out: string[] = [];
  const legacy = holdsLegacyEvents(base);
  if (legacy) out.push(LEGACY_EVENTS_FIELD, '');
  const old = legacy ? NO_EVENTS : base.events;
  if (!inBucketOrder(old) || !inBucketOrder(next)) return out.concat(byBucketMaps(old, next, eventFields));
  let i = 0;
  let j = 0;
  while (i < old.length || j < next.length) {
    const di = i < old.length ? bucketOf((old[i] as EventForFeatures).eventTimeMs) : Infinity;
    const dj = j < next.length ? bucketOf((next[j] as EventForFeatures).eventTimeMs) : Infinity;
    const day = di < dj ? di : dj;
    let i2 = i;
    while (i2 < old.length && bucketOf((old[i2] as EventForFeatures).eventTimeMs) === day) i2++;
    let j2 = j;
    while (j2 < next.length && bucketOf((next[j2] as EventForFeatures).eventTimeMs) === day) j2++;
    if (j2 === j) out.push(bucketField(day), '');
    else if (i2 - i !== j2 - j || !sameRun(old, i, next, j, j2 - j))
      out.push(bucketField(day), encodeEvents(next, eventFields, j, j2));
    i = i2;
    j = j2;
  }
  return out;
}

function sameRun(
  a: readonly EventForFeatures[],
  i: number,
  b: readonly EventForFeatures[],
  j: number,
  n: number,
): boolean {
  for (let k = 0; k < n; k++) if (a[i + k] !== b[j + k]) return false;
  return true;
}

/** eventFieldWrites for lists not in bucket order (event times that are not numbers): by maps. */
function byBucketMaps(
  old: readonly EventForFeatures[],
  next: readonly EventForFeatures[],
  eventFields: readonly string[],
): string[] {
  const group = (events: readonly EventForFeatures[]) => {
    const days = new Map<string, EventForFeatures[]>();
    for (const e of events) {
      const f = eventBucketField(e.eventTimeMs);
      const run = days.get(f);
      if (run === undefined) days.set(f, [e]);
      else run.push(e);
    }
    return days;
  };
  const had = group(old);
  const out: string[] = [];
  for (const [field, run] of group(next)) {
    const was = had.get(field);
    had.delete(field);
    if (was === undefined || was.length !== run.length || !sameRun(was, 0, run, 0, run.length))
      out.push(field, encodeEvents(run, eventFields));
  }
  for (const field of had.keys()) out.push(field, '');
  return out;
}

/**
 * The state from its stored fields: sv, p, d and the events' texts (the bucket fields' values, and the old
 * single field's; any order). Events are projected on `fields.event`; a field the stored events lack reads
 * as missing.
 */
export function decodeState(
  sv: number,
  p: string | null,
  d: string | null,
  e: string | readonly string[] | null,
  fields: StateFields,
): EntityState {
  if (sv === 0 || d === null || d === '') return EMPTY_STATE;
  const h = JSON.parse(d) as [string, number, number, string, Record<string, string>?];
  const events: EventForFeatures[] = [];
  const texts = e === null ? [] : typeof e === 'string' ? [e] : e;
  for (const text of texts) if (text !== '') readEvents(text, fields.event, events);
  // bucket fields come back in the hash's order, not by time
  if (texts.length > 1) sortByTimeThenId(events);
  const deleted = h[1] === 1;
  const trigger = h[3];
  return {
    sv,
    pv: trigger === '' ? 0 : sv,
    lsn: h[0],
    deleted,
    clock: h[2],
    trigger,
    profile: deleted || p === null || p === '' ? null : project(JSON.parse(p) as Row, fields.profile),
    events,
    applied: h[4] ?? {},
  };
}

function readEvents(text: string, eventFields: readonly string[], into: EventForFeatures[]): void {
  const a = JSON.parse(text) as unknown[];
  const names = a[0] as string[];
  const at = eventFields.map((f) => names.indexOf(f));
  for (let i = 1; i < a.length; i++) {
    const ev = a[i] as unknown[];
    const row: Row = {};
    for (let k = 0; k < at.length; k++) {
      const j = at[k] as number;
      const v = j >= 0 ? ev[j + 2] : undefined;
      if (v !== null && v !== undefined) row[eventFields[k] as string] = v as Row[string];
    }
    into.push({ eventId: ev[0] as string, eventTimeMs: ev[1] as number, fields: row });
  }
}

/** The state from the whole stored hash as field/value pairs (HGETALL's reply; empty: no state). */
export function decodeStateHash(hash: readonly string[], fields: StateFields): EntityState {
  let sv = 0;
  let p: string | null = null;
  let d: string | null = null;
  const texts: string[] = [];
  let legacy = false;
  for (let i = 0; i + 1 < hash.length; i += 2) {
    const f = hash[i] as string;
    const v = hash[i + 1] as string;
    if (f === 'sv') sv = Number(v);
    else if (f === 'p') p = v;
    else if (f === 'd') d = v;
    else if (f.startsWith('e:')) texts.push(v);
    else if (f === LEGACY_EVENTS_FIELD) {
      texts.push(v);
      legacy = true;
    }
  }
  const state = decodeState(sv, p, d, texts, fields);
  if (legacy && state !== EMPTY_STATE) legacyEvents.add(state);
  return state;
}

export function triggerText(r: { topic: string; partition: number; offset: string }): string {
  return `${r.topic}/${r.partition}/${r.offset}`;
}
