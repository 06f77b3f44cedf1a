/**
 * The stored form of an entity's state: the fields of its state hash (`<prefix>{<pipeline>:<id>}:s`).
 *
 *  - `sv`: the state version (the compare-and-set token);
 *  - `p`: the full profile row, JSON;
 *  - `d`: the header, [lsn, deleted, clock, trigger, applied] (encodeHeader);
 *  - `e:<day>`: the events of four UTC days from `day` on (days counted from 1970-01-01, `day` a multiple
 *    of 4: floor(event time in ms / 86,400,000 / 4) × 4), as [[event field names], [id, time, value...],
 *    ...] (encodeEvents), cut in chunks: `e:<day>.<t>` holds a chunk that ends with the events at time
 *    `t` (ms), a time that cuts (cutsAt: about one time in 32 does), and `e:<day>` the events after the
 *    bucket's last cut (all of them for most buckets);
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
 * still sends at most four days of events. Chunks because a busy entity's four days can hold hundreds of
 * events, which a new event (or one expiring) would otherwise rewrite at every window: now it rewrites its
 * chunk. The cuts are a property of the event times, not of positions, so events arriving at the end,
 * expiring at the front or arriving late in the middle leave the other chunks as they are. Chunks hold 32
 * events on average, but the count is not bounded: about 1 in 25 holds more than 100 (31/32 to the
 * power 100), and many events at one millisecond share a chunk. The width and the cut rule are part of the
 * stored form: a reader takes every `e:` field whatever it is, but a writer's diff assumes the stored fields
 * are its chunks, so a hash in any other form is marked when read and rewritten whole (foreignForm).
 */
import type { Row } from '../decode/types.js';
import { byTimeThenId, dropRepeats, sortByTimeThenId } from '../features/index.js';
import type { EventForFeatures } from '../features/index.js';
import {
  bucketOf,
  chunkOrder,
  closesChunk,
  compareAt,
  forEachChunk,
  inBucketOrder,
  inWriterFields,
} from './event-chunks.js';
import { EMPTY_STATE, project } from './state.js';
import type { EntityState, StateFields } from './state.js';

/** The single field every event was stored in before bucket fields (see the module comment). */
const LEGACY_EVENTS_FIELD = 'e';

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

/**
 * States decoded from a hash whose events are not in this writer's form, with the hash's event fields: the
 * old single `e` field, an event in a field that is not its chunk of this writer's buckets (another bucket
 * width or chunk size: a version before chunks kept a whole bucket in `e:<day>`), events stored with another
 * list of event fields (another feature spec), or the same event held twice (an older version wrote `e`
 * next to the buckets). The next write that changes such a state's events rewrites them
 * whole and removes every field listed here that it does not write.
 */
const foreignForm = new WeakMap<EntityState, readonly string[]>();

/** True for a state read from a hash whose events are not in this writer's form (see foreignForm). */
export function holdsForeignEvents(s: EntityState): boolean {
  return foreignForm.has(s);
}

/**
 * `to` (a state computed from `from` and written without touching its events) is stored in the same form
 * as `from`: its mark carries over, so the write that next changes its events still rewrites them whole.
 */
export function sameStoredForm(from: EntityState, to: EntityState): EntityState {
  const fieldsHeld = foreignForm.get(from);
  if (fieldsHeld !== undefined) foreignForm.set(to, fieldsHeld);
  return to;
}

const NO_EVENTS: readonly EventForFeatures[] = [];

/**
 * What a write sends to turn the stored events of `base` into `next`, as hash field/value pairs ('' removes
 * the field): each chunk whose events differ (a different count, or another event object at a place:
 * the next state's events are the base's objects plus the window's new ones), and each chunk that no
 * longer has events. A base stored in another form (foreignForm) gets every chunk written and every
 * other event field it had removed. Walks both lists once by bucket, printing only the chunks it sends.
 */
export function eventFieldWrites(
  base: EntityState,
  next: readonly EventForFeatures[],
  eventFields: readonly string[],
): string[] {
  const held = foreignForm.get(base);
  if (held !== undefined) return rewriteWhole(held, next, eventFields);
  const out: string[] = [];
  const old = base.events;
  if (!inBucketOrder(old) || !inBucketOrder(next)) return byBucketMaps(old, next, eventFields);
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
    bucketWrites(out, day, old, i, i2, next, j, j2, eventFields);
    i = i2;
    j = j2;
  }
  return out;
}

/**
 * The writes of one bucket: `old[i, i2)` is what the hash holds of it, `next[j, j2)` what it must hold.
 * Both are cut in chunks (forEachChunk); a chunk is sent when its events differ, removed when the next
 * run no longer has it. A new event rewrites its own chunk (the open one, for an event later than the
 * bucket's others), an expired one the chunk it leaves.
 */
function bucketWrites(
  out: string[],
  day: number,
  old: readonly EventForFeatures[],
  i: number,
  i2: number,
  next: readonly EventForFeatures[],
  j: number,
  j2: number,
  eventFields: readonly string[],
): void {
  const n = i2 - i;
  const m = j2 - j;
  // the same event objects at the start and at the end of both runs: chunks wholly inside them are equal
  let p = 0;
  while (p < n && p < m && old[i + p] === next[j + p]) p++;
  if (p === n && p === m) return;
  let s = 0;
  while (s < n - p && s < m - p && old[i2 - 1 - s] === next[j2 - 1 - s]) s++;
  // compare from the last cut in the prefix (whose next event is in it too) to the first in the suffix
  let from = 0;
  for (let x = p - 2; x >= 0; x--)
    if (closesChunk(old, i + x, i2)) {
      from = x + 1;
      break;
    }
  let tail = 0;
  for (let y = n - s; y < n; y++)
    if (closesChunk(old, i + y, i2)) {
      tail = n - y - 1;
      break;
    }
  const had = new Map<string, readonly [number, number]>();
  forEachChunk(old, i + from, i2 - tail, day, (field, a, b) => had.set(field, [a, b]));
  forEachChunk(next, j + from, j2 - tail, day, (field, c, d) => {
    const was = had.get(field);
    had.delete(field);
    if (was === undefined || was[1] - was[0] !== d - c || !sameRun(old, was[0], next, c, d - c))
      out.push(field, encodeEvents(next, eventFields, c, d));
  });
  for (const field of had.keys()) out.push(field, '');
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

/** Every bucket of `next` written, and every other field of `held` removed. */
function rewriteWhole(
  held: readonly string[],
  next: readonly EventForFeatures[],
  eventFields: readonly string[],
): string[] {
  const out = byBucketMaps(NO_EVENTS, next, eventFields);
  const written = new Set<string>();
  for (let i = 0; i < out.length; i += 2) written.add(out[i] as string);
  for (const f of held) if (!written.has(f)) out.push(f, '');
  return out;
}

/** eventFieldWrites for lists not in bucket order (event times that are not numbers): by maps. */
function byBucketMaps(
  old: readonly EventForFeatures[],
  next: readonly EventForFeatures[],
  eventFields: readonly string[],
): string[] {
  const group = (events: readonly EventForFeatures[]) => {
    const buckets = new Map<number, EventForFeatures[]>();
    for (const e of events) {
      const day = bucketOf(e.eventTimeMs);
      const run = buckets.get(day);
      if (run === undefined) buckets.set(day, [e]);
      else run.push(e);
    }
    return buckets;
  };
  const had = group(old);
  const out: string[] = [];
  for (const [day, run] of group(next)) {
    const was = had.get(day) ?? NO_EVENTS;
    had.delete(day);
    bucketWrites(out, day, was, 0, was.length, run, 0, run.length, eventFields);
  }
  for (const [day, was] of had) bucketWrites(out, day, was, 0, was.length, NO_EVENTS, 0, 0, eventFields);
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
  return decodeParts(sv, p, d, e === null ? [] : typeof e === 'string' ? [e] : e, fields).state;
}

/**
 * `names`: the field each text was read from, to check that the hash is in this writer's form (see
 * foreignForm); without them (decodeState) the texts are only read. Texts given in their fields' order
 * (chunkOrder) come out in the state's order with no sort.
 */
function decodeParts(
  sv: number,
  p: string | null,
  d: string | null,
  texts: readonly string[],
  fields: StateFields,
  names?: readonly string[],
): { state: EntityState; canonical: boolean } {
  if (sv === 0 || d === null || d === '') return { state: EMPTY_STATE, canonical: true };
  const h = JSON.parse(d) as [string, number, number, string, Record<string, string>?];
  const events: EventForFeatures[] = [];
  // where each text's events end in `events`
  const ends: number[] = [];
  let canonical = true;
  for (const text of texts) {
    if (text !== '' && !readEvents(text, fields.event, events)) canonical = false;
    ends.push(events.length);
  }
  if (events.length > 1 && (texts.length > 1 || names !== undefined)) {
    // read in another order than the state's (fields out of place), or an event held twice (see foreignForm)
    const ordered = inStrictOrder(events);
    if (!ordered && dropRepeats(sortByTimeThenId(events))) canonical = false;
    if (!ordered && names !== undefined) canonical = false;
  }
  if (canonical && names !== undefined && !inWriterFields(events, names, ends)) canonical = false;
  const deleted = h[1] === 1;
  const trigger = h[3];
  const state: EntityState = {
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
  return { state, canonical };
}

/** True when every event comes strictly after the one before it (by time, then id). */
function inStrictOrder(events: readonly EventForFeatures[]): boolean {
  for (let i = 1; i < events.length; i++)
    if (byTimeThenId(events[i - 1] as EventForFeatures, events[i] as EventForFeatures) >= 0) return false;
  return true;
}

/** Appends the events of one stored text; returns whether it was written with `eventFields`. */
function readEvents(text: string, eventFields: readonly string[], into: EventForFeatures[]): boolean {
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
  return names.length === eventFields.length && names.every((n, k) => n === eventFields[k]);
}

/** The state from the whole stored hash as field/value pairs (HGETALL's reply; empty: no state). */
export function decodeStateHash(hash: readonly string[], fields: StateFields): EntityState {
  let sv = 0;
  let p: string | null = null;
  let d: string | null = null;
  const stored: Array<{ field: string; text: string; at: readonly [number, number] }> = [];
  for (let i = 0; i + 1 < hash.length; i += 2) {
    const f = hash[i] as string;
    const v = hash[i + 1] as string;
    if (f === 'sv') sv = Number(v);
    else if (f === 'p') p = v;
    else if (f === 'd') d = v;
    else if (f === LEGACY_EVENTS_FIELD || f.startsWith('e:'))
      stored.push({ field: f, text: v, at: chunkOrder(f) });
  }
  // a hash's fields come in its table's order, not the days'
  if (stored.length > 1) stored.sort((a, b) => compareAt(a.at, b.at));
  const eventFields = stored.map((x) => x.field);
  const decoded = decodeParts(
    sv,
    p,
    d,
    stored.map((x) => x.text),
    fields,
    eventFields,
  );
  if (!decoded.canonical && decoded.state !== EMPTY_STATE) foreignForm.set(decoded.state, eventFields);
  return decoded.state;
}

export function triggerText(r: { topic: string; partition: number; offset: string }): string {
  return `${r.topic}/${r.partition}/${r.offset}`;
}
