import type { Row } from '../decode/types.js';
import type { EventForFeatures } from '../features/index.js';

/** The cached events of one entity, valid while the stored state token (`sv:sx`) equals `token`. */
export interface CachedEvents {
  readonly token: string;
  readonly sv: number;
  readonly events: readonly EventForFeatures[];
}

/**
 * A bounded in-process copy of each entity's events in the lookback, so that a window does not read an
 * entity's whole event history back from Redis (the APPLY script only reports which of the sent events it
 * added when the caller's copy is current; see APPLY_SCRIPT). Events keep only the fields the feature spec
 * aggregates, which is all `buildVector` reads of them. Least recently used entities are dropped once the
 * cache holds more than `maxEvents` events; a miss only costs the full read.
 */
export class EventCache {
  readonly #entries = new Map<string, CachedEvents>();
  #events = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly fields: readonly string[],
  ) {}

  get enabled(): boolean {
    return this.maxEvents > 0;
  }

  get(entityId: string): CachedEvents | undefined {
    return this.#entries.get(entityId);
  }

  /** Keeps `events` for the entity unless a newer state version is cached already (concurrent windows). */
  set(entityId: string, token: string, sv: number, events: readonly EventForFeatures[]): void {
    if (!this.enabled) return;
    const old = this.#entries.get(entityId);
    if (old !== undefined) {
      if (old.sv > sv) return;
      this.#entries.delete(entityId);
      this.#events -= old.events.length;
    }
    // no entry for an entity without events: reading back none costs as little as a hit, and CDC-only
    // entities would otherwise fill the cache with empty entries
    if (events.length === 0 || events.length > this.maxEvents) return;
    this.#entries.set(entityId, { token, sv, events });
    this.#events += events.length;
    for (const [id, entry] of this.#entries) {
      if (this.#events <= this.maxEvents) break;
      this.#entries.delete(id);
      this.#events -= entry.events.length;
    }
  }

  /** An event as cached: the aggregated fields only. */
  project(e: EventForFeatures): EventForFeatures {
    const fields: Row = {};
    for (const f of this.fields) if (f in e.fields) fields[f] = e.fields[f];
    return { eventId: e.eventId, eventTimeMs: e.eventTimeMs, fields };
  }

  get size(): { entities: number; events: number } {
    return { entities: this.#entries.size, events: this.#events };
  }
}
