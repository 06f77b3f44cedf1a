/**
 * The stored form of an entity's state: the fields of its state hash (`<prefix>{<pipeline>:<id>}:s`).
 *
 *  - `sv`: the state version (the compare-and-set token);
 *  - `p`: the full profile row, JSON;
 *  - `d`: the header, [lsn, deleted, clock, trigger, applied] (encodeHeader);
 *  - `e:<day>`: the events of four UTC days from `day` on (days counted from 1970-01-01, `day` a multiple
 *    of 4: floor(event time in ms / 86,400,000 / 4) × 4), as [[event field names], [id, time, value...],
 *    ...] (encodeEvents); at most 32 of them: the bucket's next 32 events (in the state's order, by time
 *    then id) are in `e:<day>.1`, the next in `e:<day>.2`, and so on;
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
 * still sends at most four days of events. Chunks of 32 because a busy entity's four days can hold
 * hundreds of events, and a new event (appended at the end of its bucket) would rewrite them all at every
 * window: with chunks it rewrites the last one. The width and the chunk size are part of the stored form:
 * a reader takes every `e:` field whatever it is, but a writer's diff assumes the stored fields are its
 * chunks, so a hash in any other form is marked when read and rewritten whole (foreignForm).
 */
import type { Row } from '../decode/types.js';
import { DAY_MS, byTimeThenId, dropRepeats, sortByTimeThenId } from '../features/index.js';
import type { EventForFeatures } from '../features/index.js';
import { EMPTY_STATE, project } from './state.js';
import type { EntityState, StateFields } from './state.js';

/** Days per event field (see the module comment). */
const EVENT_BUCKET_DAYS = 4;
const BUCKET_MS = EVENT_BUCKET_DAYS * DAY_MS;

/** The first day of an event's bucket; all times that are not finite numbers share one, after the rest. */
function bucketOf(eventTimeMs: number): number {
  return Number.isFinite(eventTimeMs)
    ? Math.floor(eventTimeMs / BUCKET_MS) * EVENT_BUCKET_DAYS
    : Number.MAX_VALUE;
}

/** At most this many events per event field: a bucket holding more is cut in chunks (module comment). */
const EVENTS_PER_FIELD = 32;

/** The field of chunk `k` of a bucket: `e:<day>` for the first, `e:<day>.<k>` for the others. */
function chunkField(day: number, k: number): string {
  const bucket = day === Number.MAX_VALUE ? 'e:none' : `e:${day}`;
  return k === 0 ? bucket : `${bucket}.${k}`;
}

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
 * longer has events. A base stored in another form (foreignForm) gets every bucket written and every
 * other event field it had removed. Walks both lists once by bucket, printing only the buckets it sends.
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
 * Both are cut in chunks of EVENTS_PER_FIELD; a chunk is sent when its events differ, removed when the
 * next run no longer reaches it. Events appended at the end of a bucket (the usual case: events arrive
 * in time order) rewrite its last chunk only.
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
  const chunks = Math.ceil(Math.max(i2 - i, j2 - j) / EVENTS_PER_FIELD);
  for (let k = 0; k < chunks; k++) {
    const a = i + k * EVENTS_PER_FIELD;
    const had = Math.max(0, Math.min(a + EVENTS_PER_FIELD, i2) - a);
    const c = j + k * EVENTS_PER_FIELD;
    const has = Math.max(0, Math.min(c + EVENTS_PER_FIELD, j2) - c);
    if (has === 0) out.push(chunkField(day, k), '');
    else if (had !== has || !sameRun(old, a, next, c, has))
      out.push(chunkField(day, k), encodeEvents(next, eventFields, c, c + has));
  }
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
  if (texts.length > 1) {
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

/**
 * True when the events (in the state's order; text t's events end at ends[t]) were each read from the
 * field this writer would put them in, their bucket's chunk, and no field read was empty: another bucket
 * width, another chunk size, the old single field or an empty field all fail.
 */
function inWriterFields(
  events: readonly EventForFeatures[],
  names: readonly string[],
  ends: readonly number[],
): boolean {
  let day = Number.NaN;
  let n = 0;
  let name = '';
  let i = 0;
  for (let t = 0; t < names.length; t++) {
    const end = ends[t] as number;
    if (end === i) return false;
    for (; i < end; i++) {
      const b = bucketOf((events[i] as EventForFeatures).eventTimeMs);
      if (b !== day) {
        day = b;
        n = 0;
      }
      // the expected name changes only at a new bucket or chunk
      if (n % EVENTS_PER_FIELD === 0) name = chunkField(day, n / EVENTS_PER_FIELD);
      n++;
      if (names[t] !== name) return false;
    }
  }
  return true;
}

function compareAt(a: readonly [number, number], b: readonly [number, number]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

/** Where a field comes in the state's order: by bucket, then chunk; fields of no chunk last. */
function chunkOrder(field: string): readonly [number, number] {
  const m = /^e:(-?\d+|none)(?:\.(\d+))?$/.exec(field);
  if (m === null) return [Infinity, Infinity];
  return [m[1] === 'none' ? Number.MAX_VALUE : Number(m[1]), Number(m[2] ?? 0)];
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
