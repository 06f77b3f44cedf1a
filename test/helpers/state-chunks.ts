/**
 * The stored form's event fields computed from its definition (docs/redis.md, src/sink/stored-state.ts),
 * for oracles: which fields a list of events must be stored in. Written here from the rule, not taken from
 * the writer.
 */
import type { EventForFeatures } from '../../src/features/index.js';

const DAY = 86_400_000;

/** The first day of an event's bucket of four days. */
export const bucketDay = (t: number): number => Math.floor(t / (4 * DAY)) * 4;

/** Whether the events at time `t` close a chunk: murmur3's 32-bit finaliser of the time's halves, low 5 bits 0. */
export function timeCuts(t: number): boolean {
  if (!Number.isFinite(t)) return false;
  const low = t >>> 0;
  const high = Math.floor(t / 2 ** 32) >>> 0;
  let h = (low ^ Math.imul(high, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h % 32 === 0;
}

/**
 * field → "id@time" of its events: each bucket's events sorted by time, then id (code units); a chunk ends
 * after the last event at a time that cuts and is named `e:<day>.<time>`; the events after the bucket's last
 * cut are `e:<day>`.
 */
export function chunksOf(events: readonly EventForFeatures[]): Map<string, string[]> {
  const sorted = [...events].sort((a, b) =>
    a.eventTimeMs !== b.eventTimeMs
      ? a.eventTimeMs - b.eventTimeMs
      : a.eventId < b.eventId
        ? -1
        : a.eventId > b.eventId
          ? 1
          : 0,
  );
  const out = new Map<string, string[]>();
  let open: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i] as EventForFeatures;
    const day = bucketDay(e.eventTimeMs);
    open.push(`${e.eventId}@${e.eventTimeMs}`);
    const next = sorted[i + 1];
    const sameTimeNext = next !== undefined && next.eventTimeMs === e.eventTimeMs;
    if (timeCuts(e.eventTimeMs) && !sameTimeNext) {
      out.set(`e:${day}.${e.eventTimeMs}`, open);
      open = [];
    } else if (next === undefined || bucketDay(next.eventTimeMs) !== day) {
      out.set(`e:${day}`, open);
      open = [];
    }
  }
  return out;
}
