import type { Row } from '../decode/types.js';
import { DAY_MS } from './options.js';
import { compiledSpec } from './spec.js';
import type { CompiledFeature, CompiledSpec } from './spec.js';
import type { EventForFeatures, FeatureInput, FeatureSpec, Transform } from './types.js';

type AggregateFeature = Extract<CompiledFeature, { kind: 'aggregate' }>;

/** A number, or NaN for anything that is not one: the `default` transform decides what missing means. */
function numeric(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return Number.NaN;
}

function categoryOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function applyTransforms(value: number, transforms: readonly Transform[]): number {
  let v = value;
  // indexed loops on the hot path: the spec's arrays are frozen, and for-of over them allocated an iterator
  // result per step (seen in an allocation profile of the pipeline)
  for (let i = 0; i < transforms.length; i++) {
    const t = transforms[i] as Transform;
    switch (t.op) {
      case 'default':
        if (!Number.isFinite(v)) v = t.value;
        break;
      case 'clip':
        if (v < t.min) v = t.min;
        else if (v > t.max) v = t.max;
        break;
      case 'log1p':
        v = Math.log1p(v);
        break;
      case 'standardise':
        v = (v - t.mean) / t.std;
        break;
      case 'one_hot':
        // Resolved before the numeric transforms (see compile in spec.ts); never reached.
        break;
    }
  }
  return v;
}

/** The one order of an entity's events: by event time, then id (what every sum is taken in). */
export function byTimeThenId(a: EventForFeatures, b: EventForFeatures): number {
  if (a.eventTimeMs !== b.eventTimeMs) return a.eventTimeMs - b.eventTimeMs;
  // Code-unit order, not localeCompare: the result must not depend on the host's ICU data.
  return a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

/**
 * Sorts `events` in place by time then id, unless they are in that order already (checking is O(n),
 * sorting is not); returns them.
 */
export function sortByTimeThenId<T extends EventForFeatures>(events: T[]): T[] {
  for (let i = 1; i < events.length; i++)
    if (byTimeThenId(events[i - 1] as T, events[i] as T) > 0) return events.sort(byTimeThenId);
  return events;
}

/**
 * The events that may influence a vector as of `asOfMs`, in the one order every sum is taken in. A
 * redelivered event (same eventId and event time) counts once, so a replay cannot inflate an aggregate;
 * after the sort such copies are neighbours, which keeps this O(n) without a Set (5,000 entities' worth of
 * events are vectorised on the event loop, so this loop's cost shows up as latency).
 */
function eligibleEvents(events: readonly EventForFeatures[], asOfMs: number): EventForFeatures[] {
  const eligible: EventForFeatures[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as EventForFeatures;
    if (e.eventTimeMs <= asOfMs && Number.isFinite(e.eventTimeMs)) eligible.push(e);
  }
  // State stores usually hand events over in time order already
  dropRepeats(sortByTimeThenId(eligible));
  return eligible;
}

/**
 * Removes, in place, each event that follows its own copy (same id and time) in a list sorted by time then
 * id; returns whether it removed any.
 */
export function dropRepeats<T extends EventForFeatures>(events: T[]): boolean {
  let kept = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as T;
    const prev = events[kept - 1];
    if (prev !== undefined && prev.eventId === e.eventId && prev.eventTimeMs === e.eventTimeMs) continue;
    events[kept++] = e;
  }
  const removed = kept < events.length;
  events.length = kept;
  return removed;
}

/** Index of the first event with eventTimeMs > t (events sorted by time). */
function firstAfter(events: readonly EventForFeatures[], t: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((events[mid] as EventForFeatures).eventTimeMs <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function aggregate(feature: AggregateFeature, events: readonly EventForFeatures[], asOfMs: number): number {
  // Window (asOf - windowDays, asOf]: an event exactly windowDays old has left the window. Summed forwards
  // from the oldest event in the window, so the order (and so the float result) is always the same.
  const field = feature.field as string;
  let acc = 0;
  for (let i = firstAfter(events, asOfMs - feature.windowDays * DAY_MS); i < events.length; i++) {
    const e = events[i] as EventForFeatures;
    switch (feature.fn) {
      case 'count':
        acc += 1;
        break;
      case 'count_true':
        if (e.fields[field] === true) acc += 1;
        break;
      case 'sum': {
        const v = numeric(e.fields[field]);
        if (!Number.isNaN(v)) acc += v;
        break;
      }
    }
  }
  return acc;
}

function rawValue(
  feature: CompiledFeature,
  profile: Row | null,
  events: EventForFeatures[],
  asOfMs: number,
): number {
  switch (feature.kind) {
    case 'field':
      return numeric(profile?.[feature.field]);
    case 'one_hot':
      return categoryOf(profile?.[feature.field]) === feature.category ? 1 : 0;
    case 'aggregate':
      return aggregate(feature, events, asOfMs);
  }
}

function checkAsOf(asOfMs: number): void {
  if (!Number.isFinite(asOfMs))
    throw new RangeError(`asOfMs must be a finite epoch-millis number, got ${asOfMs}`);
}

function writeVector(plan: CompiledSpec, input: FeatureInput, out: Float32Array, offset: number): void {
  checkAsOf(input.asOfMs);
  const events = plan.hasAggregates ? eligibleEvents(input.events, input.asOfMs) : [];
  for (let i = 0; i < plan.width; i++) {
    const feature = plan.features[i] as CompiledFeature;
    const raw = rawValue(feature, input.profile, events, input.asOfMs);
    out[offset + i] = applyTransforms(raw, feature.transforms);
  }
}

/**
 * The feature vector of one entity as of `input.asOfMs`. Training and scoring both call this (or
 * `buildMatrix`, which calls the same code), so a served vector is the vector the model was fitted on.
 * Deterministic: the same spec and input give the same bits on every run and host.
 */
export function buildVector(spec: FeatureSpec, input: FeatureInput): Float32Array {
  const plan = compiledSpec(spec);
  const out = new Float32Array(plan.width);
  writeVector(plan, input, out, 0);
  return out;
}

/** Vectors of a batch, row-major N×F: row r is `buildVector(spec, inputs[r])`, bit for bit. */
export function buildMatrix(spec: FeatureSpec, inputs: readonly FeatureInput[]): Float32Array {
  const plan = compiledSpec(spec);
  const out = new Float32Array(inputs.length * plan.width);
  inputs.forEach((input, r) => writeVector(plan, input, out, r * plan.width));
  return out;
}

/**
 * `buildMatrix` for large windows, yielding to the event loop every `chunkRows` rows so that building
 * thousands of vectors never holds up the Kafka client's heartbeats and fetches. Same bytes as buildMatrix.
 */
export async function buildMatrixYielding(
  spec: FeatureSpec,
  inputs: readonly FeatureInput[],
  chunkRows = 500,
): Promise<Float32Array> {
  const plan = compiledSpec(spec);
  const out = new Float32Array(inputs.length * plan.width);
  for (let start = 0; start < inputs.length; start += chunkRows) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const end = Math.min(inputs.length, start + chunkRows);
    for (let r = start; r < end; r++) writeVector(plan, inputs[r] as FeatureInput, out, r * plan.width);
  }
  return out;
}

/**
 * The aggregate features before their transforms, by feature name (e.g. `txn_count_7d: 3`). For
 * explanations and state checks; the vector itself comes from `buildVector`.
 */
export function rawAggregates(
  spec: FeatureSpec,
  events: readonly EventForFeatures[],
  asOfMs: number,
): Record<string, number> {
  checkAsOf(asOfMs);
  const plan = compiledSpec(spec);
  const eligible = eligibleEvents(events, asOfMs);
  const out: Record<string, number> = {};
  for (const feature of plan.features) {
    if (feature.kind === 'aggregate') out[feature.name] = aggregate(feature, eligible, asOfMs);
  }
  return out;
}

/**
 * When the vector of an entity changes with the passage of time alone: an event leaves an aggregate's
 * window (asOf - windowDays, asOf] at exactly eventTime + windowDays. Returns the latest such instant in
 * (afterMs, atOrBeforeMs], or null when there is none (no aggregates, or no event leaves in that span).
 * `afterMs` is the entity's clock (the as-of of its prediction): only events at or before it count, as in
 * the vector itself. Timers score the entity as of the returned instant, so the vector it gets is the one
 * the definition gives at that moment, wherever between it and `atOrBeforeMs` the sweep ran.
 */
export function lastWindowExit(
  spec: FeatureSpec,
  events: readonly EventForFeatures[],
  afterMs: number,
  atOrBeforeMs: number,
): number | null {
  const windows = new Set<number>();
  for (const f of compiledSpec(spec).features) if (f.kind === 'aggregate') windows.add(f.windowDays * DAY_MS);
  let last: number | null = null;
  for (const e of events) {
    if (!(e.eventTimeMs <= afterMs)) continue;
    for (const w of windows) {
      const exit = e.eventTimeMs + w;
      if (exit > afterMs && exit <= atOrBeforeMs && (last === null || exit > last)) last = exit;
    }
  }
  return last;
}
