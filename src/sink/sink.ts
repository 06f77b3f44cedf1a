import type { RedisStore, ScriptCall } from '../adapters/redis.js';
import { StreamscoreError } from '../errors/index.js';
import { StateCache } from './cache.js';
import { EpochStore, epochKey, newEpochId } from './epoch.js';
import { entityKeys } from './keys.js';
import type { EntityKeys } from './keys.js';
import { parseStoredPrediction, predictionJsonHead } from './prediction.js';
import type { StoredPrediction } from './prediction.js';
import { COMMIT_SCRIPT, READ_SCRIPT, SET_MAX_SCRIPT, commitOutcomes } from './scripts.js';
import type { CommitOutcome } from './scripts.js';
import { FenceLayout } from './slots.js';
import { profileText, withVersions } from './state.js';
import type { EntityState, ProfileWrite, StateFields } from './state.js';
import { decodeStateHash, encodeHeader, eventFieldWrites, sameStoredForm } from './stored-state.js';
import type { ModelStamp, PredictionRecord } from './types.js';

const NO_FIELDS: readonly string[] = [];

/** Entities per script call: few enough that one call never holds Redis long, many enough to amortise it. */
const ENTITIES_PER_CALL = 100;

export interface SinkOptions {
  readonly prefix: string;
  readonly pipeline: string;
  readonly fields: StateFields;
  /** Bytes of entity state kept in process between windows (0: every window reads its entities). */
  readonly cacheBytes: number;
  /**
   * A job's run fence (see EPOCH_CHECK): every write also requires `key` to hold `token`; a later run of
   * the job replaces it and this writer's writes are refused (SS_FENCED). Windows have none.
   */
  readonly run?: { readonly key: string; readonly token: string };
}

/** One entity's write: its new state computed from `base`, and the prediction that goes with it. */
export interface StateWrite {
  readonly entityId: string;
  readonly base: EntityState;
  /** The new state (its `sv`/`pv` are the base's: the store assigns the version). */
  readonly next: EntityState;
  /** The full profile row to store ('' keep, '-' remove, else the row). */
  readonly storeProfile: ProfileWrite;
  /** The events changed: the buckets that differ from the base's are stored again (else all stay as stored). */
  readonly eventsChanged: boolean;
  readonly prediction: PredictionRecord | null;
}

export type WriteResult =
  { readonly ok: true; readonly version: number } | { readonly ok: false; readonly current: EntityState };

/** A counter to raise (the committed-offset marker of a partition). */
export interface MarkerUpdate {
  readonly key: string;
  readonly value: bigint;
}

/**
 * A write the fences refused, as the error callers handle: the epoch (SSEPOCH → SS_REDIS_LOST, the writer
 * recovers and retries) or a job's run (SSRUN → SS_FENCED, a later run of the job holds it; see
 * SinkOptions.run). Anything else unchanged.
 */
export function fenceError(err: unknown): unknown {
  const message = (err as Error | undefined)?.message ?? '';
  if (/SSEPOCH/.test(message))
    return new StreamscoreError(
      'SS_REDIS_LOST',
      "Redis does not hold this pipeline's epoch: it lost its data (or is being rebuilt); the refused writes wrote nothing (on a Redis Cluster, calls to other slots may have gone through: they are compare-and-set, and the window is retried)",
      { cause: err, retriable: true },
    );
  if (/SSRUN/.test(message))
    return new StreamscoreError(
      'SS_FENCED',
      'a later run of this job took it over: this run stops (nothing more of it is written)',
      { cause: err },
    );
  return err;
}

/**
 * Entity state and predictions in Redis: reads what the cache does not hold, and writes each window's
 * states and predictions in one round trip (compare-and-set per entity; see COMMIT_SCRIPT).
 */
export class RedisSink {
  readonly #store: RedisStore;
  readonly #opts: SinkOptions;
  readonly #cache: StateCache;
  /** Where fences are checked and how calls are grouped (one slot per call on a cluster). */
  readonly layout: FenceLayout;
  /** The epoch key every write is fenced by, and the token this writer holds ('' none yet). */
  readonly epochKey: string;
  #epoch = '';

  constructor(store: RedisStore, opts: SinkOptions) {
    this.#store = store;
    this.#opts = opts;
    this.#cache = new StateCache(opts.cacheBytes);
    this.layout = new FenceLayout(store.cluster);
    this.epochKey = epochKey(opts.prefix, opts.pipeline);
  }

  get epoch(): string {
    return this.#epoch;
  }

  /**
   * Adopts the ready epoch Redis holds, or makes one when there is none. For tools and tests that write
   * through a sink of their own; the pipeline goes through RedisRecovery, which also rebuilds.
   */
  async openEpoch(): Promise<void> {
    const epochs = new EpochStore(this.#store, this.epochKey);
    for (;;) {
      const v = await epochs.read();
      if (v.kind === 'ready') return this.useEpoch(v.id);
      if (v.kind === 'rebuilding') throw new Error(`a rebuild holds ${this.epochKey}`);
      await epochs.create(newEpochId());
    }
  }

  /**
   * Adopts the ready epoch Redis holds, and never makes one: for a tool writing next to a running pipeline
   * (a Redis without an epoch lost its data and must be rebuilt by the pipeline before anything else).
   */
  async adoptEpoch(): Promise<void> {
    const v = await new EpochStore(this.#store, this.epochKey).read();
    if (v.kind !== 'ready')
      throw new StreamscoreError(
        'SS_REDIS_LOST',
        `Redis holds no ready epoch at ${this.epochKey} (${v.kind === 'missing' ? 'it lost its data, or the pipeline never ran' : 'a rebuild is running'}): start the pipeline (\`streamscore run\`) and let it rebuild first`,
        { retriable: true },
      );
    this.useEpoch(v.id);
  }

  /** Another writer on the same store and key layout, with a cache of its own and this epoch token. */
  writerWith(token: string): RedisSink {
    const other = new RedisSink(this.#store, this.#opts);
    other.useEpoch(token);
    return other;
  }

  /**
   * Writes from now on carry this epoch token. A new epoch means Redis was rebuilt: cached states are
   * forgotten (their versions are not the stored ones any more).
   */
  useEpoch(token: string): void {
    if (token !== this.#epoch) this.#cache.clear();
    this.#epoch = token;
  }

  get cacheStats() {
    return this.#cache.stats;
  }

  keys(entityId: string) {
    return entityKeys(this.#opts.prefix, this.#opts.pipeline, entityId);
  }

  /** The current state of each entity: from the cache, else read (one round trip for all misses). */
  async load(ids: readonly string[]): Promise<EntityState[]> {
    const out: Array<EntityState | undefined> = ids.map((id) => this.#cache.get(id));
    const missing: number[] = [];
    out.forEach((s, i) => s === undefined && missing.push(i));
    if (missing.length === 0) return out as EntityState[];
    const keys = missing.map((i) => this.keys(ids[i] as string).state);
    const groups = this.layout.groups(keys, ENTITIES_PER_CALL);
    const calls: ScriptCall[] = groups.map((g) => ({
      script: READ_SCRIPT,
      keys: g.map((j) => keys[j] as string),
      args: [],
    }));
    const replies = (await this.#store.runScripts(calls)) as string[][][];
    groups.forEach((g, c) =>
      g.forEach((j, n) => {
        const i = missing[j] as number;
        const state = decodeStateHash(replies[c]?.[n] ?? [], this.#opts.fields);
        this.#cache.set(ids[i] as string, state);
        out[i] = state;
      }),
    );
    return out as EntityState[];
  }

  /**
   * Writes every entity's state (and prediction): all calls sent before waiting once (one round trip's
   * latency; see RedisStore.runScripts), each sent as soon as the call after it is built, so Redis runs
   * the first calls while the rest are built. Per entity: written with a new version, or refused because
   * the stored state is not `base` any more (then `current` is what is stored; nothing of that entity was
   * written). If building a call throws, the calls before it may have been written (as when Redis fails
   * mid-batch): each is a compare-and-set of its entity, the cache is not updated for any of them, and a
   * retried window meets them as changed states.
   */
  async write(writes: readonly StateWrite[], model: ModelStamp): Promise<WriteResult[]> {
    const fields = this.#opts.fields;
    const run = this.#opts.run;
    const entityKeys = writes.map((w) => this.keys(w.entityId));
    const stateKeys = entityKeys.map((k) => k.state);
    const groups = this.layout.groups(stateKeys, ENTITIES_PER_CALL);
    // made one call at a time as the store sends them: Redis runs the first calls while the next are built
    const call = (g: readonly number[]): ScriptCall => {
      // the fences in this call's slot (one key each on a single Redis)
      const near = stateKeys[g[0] as number] as string;
      const fence = this.layout.at(this.epochKey, near);
      const keys: string[] = [fence, run === undefined ? fence : this.layout.at(run.key, near)];
      const args: string[] = [this.#epoch, run?.token ?? this.#epoch];
      for (const j of g) {
        const w = writes[j] as StateWrite;
        keys.push(stateKeys[j] as string, (entityKeys[j] as EntityKeys).prediction);
        const p = w.prediction;
        // only a write that changes the events touches them (a rescore or timer job's never does)
        const buckets = w.eventsChanged ? eventFieldWrites(w.base, w.next.events, fields.event) : NO_FIELDS;
        args.push(
          String(w.base.sv),
          encodeHeader(w.next),
          profileText(w.storeProfile),
          p === null ? '' : predictionJsonHead(p, model),
          p === null ? '' : p.kind === 'delete' ? '1' : '0',
          String(buckets.length / 2),
        );
        for (let k = 0; k < buckets.length; k++) args.push(buckets[k] as string);
      }
      // written as RESP now: the strings above are collected young, not held until Redis answers
      return this.#store.pack({ script: COMMIT_SCRIPT, keys, args });
    };
    const calls = (function* () {
      for (const g of groups) yield call(g);
    })();
    const replies = (await this.#fenced(() => this.#store.runScripts(calls))) as unknown[][];
    const outcomes = new Array<CommitOutcome>(writes.length);
    groups.forEach((g, c) => {
      const got = commitOutcomes(replies[c] as unknown[], g.length);
      g.forEach((j, n) => (outcomes[j] = got[n] as CommitOutcome));
    });
    return writes.map((w, i) => {
      const r = outcomes[i] as CommitOutcome;
      if (!r.ok) {
        const current = decodeStateHash(r.hash, fields);
        this.#cache.set(w.entityId, current);
        return { ok: false, current };
      }
      const stored = withVersions(w.next, r.version, w.prediction === null ? 0 : r.version, w.next.trigger);
      // events left as they were stay in the form they were stored in (see foreignForm)
      this.#cache.set(w.entityId, w.eventsChanged ? stored : sameStoredForm(w.base, stored));
      return { ok: true, version: r.version };
    });
  }

  /** A write refused by a fence becomes the error its caller handles (see fenceError). */
  async #fenced<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw fenceError(err);
    }
  }

  /** Stores max(current, value) in the marker's key (nothing when the epoch is not this writer's). */
  async raise(marker: MarkerUpdate): Promise<void> {
    await this.#store.runScripts([
      {
        script: SET_MAX_SCRIPT,
        keys: [this.layout.at(this.epochKey, marker.key), marker.key],
        args: [this.#epoch, marker.value.toString()],
      },
    ]);
  }

  /** The stored predictions of these entities (for re-emitting after a crash); null where none. */
  async storedPredictions(ids: readonly string[]): Promise<Array<StoredPrediction | null>> {
    const texts = await this.#store.hget(
      ids.map((id) => this.keys(id).prediction),
      'json',
    );
    return texts.map(parseStoredPrediction);
  }

  /** Every entity with a stored state, in batches of about `count` ids (a SCAN: an id may come twice). */
  async *entityIds(count: number): AsyncGenerator<string[]> {
    const { prefix, pipeline } = this.#opts;
    const head = `${prefix}{${pipeline}:`;
    const glob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
    for await (const keys of this.#store.scan(`${glob(head)}*}:s`, count)) {
      const ids = keys
        .filter((k) => k.startsWith(head) && k.endsWith('}:s'))
        .map((k) => k.slice(head.length, -3));
      if (ids.length > 0) yield ids;
    }
  }
}
