import type { EntityState } from './state.js';

/**
 * Rough bytes an entry holds on the V8 heap (object headers, strings, event objects). The events are
 * counted as many times the first one's size (an entity's event ids are alike), not walked: a state is
 * sized at every write, and a busy entity holds hundreds of events.
 */
function sizeOf(id: string, s: EntityState): number {
  let n = 160 + 2 * id.length + 2 * s.lsn.length + 2 * s.trigger.length;
  if (s.profile !== null) n += 64 + 40 * Object.keys(s.profile).length;
  const first = s.events[0];
  if (first !== undefined) n += s.events.length * (120 + 2 * first.eventId.length);
  for (const k in s.applied) n += 48 + 2 * k.length;
  return n;
}

/**
 * The entities' states this process read or wrote last, so a window needs no Redis read for entities it
 * has seen. A cached state is only a guess of what Redis holds: every write is a compare-and-set on its
 * version, and a state another writer changed meanwhile (a second instance, a rebalance, a Redis that lost
 * its data) comes back with the refused write. Bounded by an estimate of its bytes; the least recently
 * used entities go first, and a miss costs one read.
 */
export class StateCache {
  readonly #entries = new Map<string, { state: EntityState; bytes: number }>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(private readonly maxBytes: number) {}

  get(entityId: string): EntityState | undefined {
    const e = this.#entries.get(entityId);
    if (e === undefined) {
      this.#misses += 1;
      return undefined;
    }
    this.#hits += 1;
    // most recently used last: Map keeps insertion order
    this.#entries.delete(entityId);
    this.#entries.set(entityId, e);
    return e.state;
  }

  /** Keeps `state` unless a newer version of the entity is cached already (concurrent windows). */
  set(entityId: string, state: EntityState): void {
    if (this.maxBytes <= 0) return;
    const old = this.#entries.get(entityId);
    if (old !== undefined) {
      if (old.state.sv > state.sv) return;
      this.#entries.delete(entityId);
      this.#bytes -= old.bytes;
    }
    const bytes = sizeOf(entityId, state);
    if (bytes > this.maxBytes) return;
    this.#entries.set(entityId, { state, bytes });
    this.#bytes += bytes;
    while (this.#bytes > this.maxBytes) {
      const oldest = this.#entries.keys().next().value as string;
      this.#bytes -= (this.#entries.get(oldest) as { bytes: number }).bytes;
      this.#entries.delete(oldest);
    }
  }

  delete(entityId: string): void {
    const old = this.#entries.get(entityId);
    if (old === undefined) return;
    this.#entries.delete(entityId);
    this.#bytes -= old.bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get stats(): { entities: number; bytes: number; hits: number; misses: number } {
    return { entities: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses };
  }
}
