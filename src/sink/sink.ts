import type { RedisStore, ScriptCall } from '../adapters/redis.js';
import type { Row } from '../decode/types.js';
import type { EventForFeatures } from '../features/index.js';
import type { EntityWork } from '../window/index.js';
import type { CachedEvents } from './event-cache.js';
import { EventCache } from './event-cache.js';
import { entityKeys } from './keys.js';
import type { AppliedState, ModelStamp, PredictionRecord } from './types.js';

/** Entities per script call (measured: 100 per call needs ~5x less client CPU than one per call). */
const ENTITIES_PER_CALL = 100;

function pairsToRecord(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const arr = Array.isArray(flat) ? (flat as unknown[]) : [];
  for (let i = 0; i + 1 < arr.length; i += 2) out[String(arr[i])] = String(arr[i + 1]);
  return out;
}

/** Float32 values printed so that parsing them back gives the same float32 (and the same double). */
export function float32Text(v: number): string {
  return String(Math.fround(v));
}

export interface SinkOptions {
  /**
   * Most events kept in process across windows (0: none, every window reads the entity's events back).
   * See EventCache.
   */
  readonly cacheEvents?: number;
  /** The event fields the feature spec aggregates: what the cache keeps of each event. */
  readonly eventFields?: readonly string[];
}

export class RedisSink {
  readonly #cache: EventCache;

  constructor(
    private readonly store: RedisStore,
    private readonly prefix: string,
    private readonly pipeline: string,
    private readonly lookbackMs: number,
    options: SinkOptions = {},
  ) {
    this.#cache = new EventCache(options.cacheEvents ?? 0, options.eventFields ?? []);
  }

  #hits = 0;
  #misses = 0;

  /** Entities and events held by the event cache; windows' entities served from it (hits) or read back. */
  get cacheStats(): { entities: number; events: number; hits: number; misses: number } {
    return { ...this.#cache.size, hits: this.#hits, misses: this.#misses };
  }

  keys(entityId: string) {
    return entityKeys(this.prefix, this.pipeline, entityId);
  }

  /**
   * Applies every entity's records to its state and reads back what scoring needs: one script call per
   * ENTITIES_PER_CALL entities, pipelined.
   */
  async apply(work: readonly EntityWork[]): Promise<AppliedState[]> {
    // per entity, what the reply is read against: the profile text sent and the cached events it was sent with
    const sent: Array<{ readonly profile: string; readonly snapshot: CachedEvents | undefined }> = [];
    const calls = this.#calls(work, [String(this.lookbackMs)], (w, keys) => {
      const k = this.keys(w.entityId);
      keys.push(k.state, k.events, k.eventData, k.prediction);
      const cdc = w.cdc;
      const profile = cdc?.op === 'upsert' ? JSON.stringify(cdc.profile) : '';
      const snapshot = this.#cache.get(w.entityId);
      sent.push({ profile, snapshot });
      const packed =
        cdc === null || cdc.op === 'tombstone'
          ? [cdc === null ? '' : 'tombstone', '', '', '']
          : [cdc.op, cdc.version, profile, String(cdc.timeMs)];
      packed.push(snapshot?.token ?? '');
      for (const e of w.events) packed.push(e.eventId, String(e.eventTimeMs), JSON.stringify(e.fields));
      return JSON.stringify(packed);
    });
    const results = (await this.store.runScript('apply', calls)).flatMap((r) => r as unknown[]);
    return results.map((raw, i) => {
      const r = raw as [
        string,
        number,
        number,
        number,
        number,
        string,
        string,
        string,
        string,
        string,
        unknown[],
        string,
      ];
      const w = work[i] as EntityWork;
      const { profile: sentProfile, snapshot } = sent[i] as (typeof sent)[number];
      const asOfMs = Number(r[6]);
      const stateVersion = Number(r[3]);
      const events: EventForFeatures[] = [];
      if (r[8] === '') {
        // our cached copy was current: it plus the events this call added, minus those out of the lookback
        this.#hits++;
        const from = asOfMs - this.lookbackMs;
        for (const e of (snapshot as CachedEvents).events) if (e.eventTimeMs > from) events.push(e);
        w.events.forEach((e, j) => {
          if (r[9][j] === '1' && e.eventTimeMs > from) events.push(this.#cache.project(e));
        });
      } else {
        this.#misses++;
        const ids = JSON.parse(r[8]) as string[];
        const rows = JSON.parse(r[9]) as Row[];
        for (let j = 0; j < rows.length; j++) {
          const e = {
            eventId: ids[2 * j] as string,
            eventTimeMs: Number(ids[2 * j + 1]),
            fields: rows[j] as Row,
          };
          events.push(this.#cache.enabled ? this.#cache.project(e) : e);
        }
      }
      this.#cache.set(w.entityId, r[11], stateVersion, events);
      const stored = r[10].length > 0 ? pairsToRecord(r[10]) : null;
      // '' with an applied upsert: the script stored the profile this call sent (parsed from the same text,
      // so the row is exactly what a later read of Redis gives)
      const profileText = r[0] === 'applied' && sentProfile !== '' ? sentProfile : r[7];
      return {
        entityId: w.entityId,
        cdc: r[0] as AppliedState['cdc'],
        eventsApplied: Number(r[1]),
        eventsUnchanged: Number(r[2]),
        stateVersion,
        predictionVersion: Number(r[4]),
        deleted: r[5] === '1',
        asOfMs,
        profile: profileText === '' ? null : (JSON.parse(profileText) as Row),
        events,
        storedPrediction: stored,
      };
    });
  }

  /**
   * One script call per ENTITIES_PER_CALL items: `pack` adds an item's keys and returns its packed argument;
   * every call's arguments start with `head`.
   */
  #calls<T>(
    items: readonly T[],
    head: readonly string[],
    pack: (item: T, keys: string[]) => string,
  ): ScriptCall[] {
    const calls: ScriptCall[] = [];
    for (let start = 0; start < items.length; start += ENTITIES_PER_CALL) {
      const keys: string[] = [];
      const args = [...head];
      for (const item of items.slice(start, start + ENTITIES_PER_CALL)) args.push(pack(item, keys));
      calls.push({ keys, args });
    }
    return calls;
  }

  /** Fenced writes; returns, per prediction, whether it was written (false: a newer one exists). */
  async write(predictions: readonly PredictionRecord[], model: ModelStamp): Promise<boolean[]> {
    const calls = this.#calls(predictions, [], (p, keys) => {
      keys.push(this.keys(p.entityId).prediction);
      return JSON.stringify([String(p.version), ...predictionHashFields(p, model)]);
    });
    const results = await this.store.runScript('write', calls);
    return results.flatMap((r) => (r as unknown[]).map((x) => Number(x) === 1));
  }
}

/** The float32 vector as a JSON array, without intermediate arrays (a hot path of the Redis write). */
function featuresJson(features: Float32Array | null): string {
  if (features === null) return '[]';
  let out = '[';
  for (let i = 0; i < features.length; i++) {
    const v = features[i] as number;
    out += (i > 0 ? ',' : '') + (Number.isFinite(v) ? String(v) : 'null');
  }
  return `${out}]`;
}

export function predictionHashFields(p: PredictionRecord, model: ModelStamp): string[] {
  const common = [
    'entity_id',
    p.entityId,
    'version',
    String(p.version),
    'as_of',
    String(p.asOfMs),
    'scored_at',
    String(p.scoredAtMs),
    'batch_id',
    p.batchId,
    'trigger_topic',
    p.trigger.topic,
    'trigger_partition',
    String(p.trigger.partition),
    'trigger_offset',
    p.trigger.offset,
  ];
  // a deletion keeps the model stamp too, so its event can be re-emitted exactly after a crash
  // prettier-ignore
  const stamp = [
    'model_name', model.name,
    'model_version', model.version,
    'model_sha256', model.sha256,
    'training_run_id', model.trainingRunId,
    'feature_version', model.featureVersion,
  ];
  if (p.kind === 'delete') return [...common, ...stamp, 'deleted', '1'];
  // prettier-ignore
  return [
    ...common,
    ...stamp,
    'deleted', '0',
    'score', float32Text(p.score ?? Number.NaN),
    'tier', p.tier ?? '',
    'features', featuresJson(p.features),
    'valid_until', p.validUntilMs === null ? '' : String(p.validUntilMs),
  ];
}
