/**
 * Where an entity's held events go in its state hash: buckets of four UTC days, each cut in chunks where
 * the event times say (the field names and the cut rule; see the stored form in stored-state.ts). Pure
 * functions of the events, shared by the writer's diff (eventFieldWrites) and the reader's check that a
 * hash is in this form (decodeStateHash).
 */
import { DAY_MS } from '../features/index.js';
import type { EventForFeatures } from '../features/index.js';

/** Days per bucket (why four: see the stored form in stored-state.ts). */
const EVENT_BUCKET_DAYS = 4;
const BUCKET_MS = EVENT_BUCKET_DAYS * DAY_MS;

/** The first day of an event's bucket; all times that are not finite numbers share one, after the rest. */
export function bucketOf(eventTimeMs: number): number {
  return Number.isFinite(eventTimeMs)
    ? Math.floor(eventTimeMs / BUCKET_MS) * EVENT_BUCKET_DAYS
    : Number.MAX_VALUE;
}

/** Events per chunk on average: about one event time in this many closes a chunk (cutsAt). */
const CHUNK_EVENTS = 32;

/**
 * Whether a chunk ends with the events at time `t`: a hash of the time (murmur3's finaliser over its two
 * 32-bit halves), true for about one time in CHUNK_EVENTS; never for a time that is not finite. A property
 * of the time alone, so the cuts stay where they are when events are added or expire around them.
 */
function cutsAt(t: number): boolean {
  if (!Number.isFinite(t)) return false;
  let h = (t >>> 0) ^ Math.imul(Math.floor(t / 4294967296) >>> 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h & (CHUNK_EVENTS - 1)) === 0;
}

/** The field of a bucket's events after its last cut (its open chunk), and of all of a small bucket. */
function bucketField(day: number): string {
  return day === Number.MAX_VALUE ? 'e:none' : `e:${day}`;
}

/** The field of a chunk closed by the events at time `t`. */
function closedField(day: number, t: number): string {
  return `${bucketField(day)}.${t}`;
}

/**
 * Calls `each(field, a, b)` for each chunk of `events[from, to)`, the run of one bucket in state order: a
 * chunk ends after the last event at a time that cutsAt (named by that time), and the events after the
 * bucket's last cut are its open chunk (named by the bucket alone).
 */
export function forEachChunk(
  events: readonly EventForFeatures[],
  from: number,
  to: number,
  day: number,
  each: (field: string, a: number, b: number) => void,
): void {
  let a = from;
  for (let i = from; i < to; i++)
    if (closesChunk(events, i, to)) {
      each(closedField(day, (events[i] as EventForFeatures).eventTimeMs), a, i + 1);
      a = i + 1;
    }
  if (a < to) each(bucketField(day), a, to);
}

/** Whether `events[k]` is the last of a chunk: its time cuts and the next event (before `end`) is later. */
export function closesChunk(events: readonly EventForFeatures[], k: number, end: number): boolean {
  const t = (events[k] as EventForFeatures).eventTimeMs;
  return cutsAt(t) && (k + 1 === end || (events[k + 1] as EventForFeatures).eventTimeMs !== t);
}

/** True when each bucket's events are one run, buckets ascending (a state's events are sorted by time). */
export function inBucketOrder(events: readonly EventForFeatures[]): boolean {
  let last = -Infinity;
  for (let i = 0; i < events.length; i++) {
    const d = bucketOf((events[i] as EventForFeatures).eventTimeMs);
    if (d < last) return false;
    last = d;
  }
  return true;
}

/**
 * True when the events (in the state's order; text t's events end at ends[t]) were each read from the
 * field this writer would put them in (forEachChunk): each text one whole chunk of one bucket, under its
 * name. Another bucket width, chunks cut otherwise, the old single field or an empty field all fail.
 */
export function inWriterFields(
  events: readonly EventForFeatures[],
  names: readonly string[],
  ends: readonly number[],
): boolean {
  let i = 0;
  for (let f = 0; f < names.length; f++) {
    const end = ends[f] as number;
    if (end === i) return false;
    const day = bucketOf((events[i] as EventForFeatures).eventTimeMs);
    for (let k = i; k < end; k++) {
      if (bucketOf((events[k] as EventForFeatures).eventTimeMs) !== day) return false;
      // no cut inside a chunk
      if (k + 1 < end && closesChunk(events, k, events.length)) return false;
    }
    const after = events[end];
    if (closesChunk(events, end - 1, events.length)) {
      if (names[f] !== closedField(day, (events[end - 1] as EventForFeatures).eventTimeMs)) return false;
    } else if (names[f] !== bucketField(day)) return false;
    // the open chunk is the bucket's last
    else if (after !== undefined && bucketOf(after.eventTimeMs) === day) return false;
    i = end;
  }
  return true;
}

/** Where a field comes in the state's order: by bucket, then the time that closes it (open chunks last). */
export function chunkOrder(field: string): readonly [number, number] {
  const m = /^e:(-?\d+|none)(?:\.(.+))?$/.exec(field);
  if (m === null) return [Infinity, Infinity];
  const day = m[1] === 'none' ? Number.MAX_VALUE : Number(m[1]);
  return [day, m[2] === undefined ? Infinity : Number(m[2])];
}

export function compareAt(a: readonly [number, number], b: readonly [number, number]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}
