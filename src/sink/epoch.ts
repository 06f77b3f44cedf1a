/**
 * The Redis epoch: one key per pipeline that says "this Redis holds the pipeline's state". Every write of
 * the sink is fenced by it (src/sink/scripts.ts), so a Redis that restarted empty is noticed at the first
 * write and nothing is stacked on a store that forgot the past.
 *
 *   <prefix><pipeline>:epoch   string   <id>               ready: writers holding <id> may write
 *                                       rebuild:<owner>    a rebuild is running (expires unless renewed)
 *                                       (absent)           Redis lost its data, or nothing ran yet
 *
 * A rebuild claims the key with a time to live and renews it while it works: if its process dies, the
 * claim expires and another instance takes the rebuild over (applying the log again is idempotent).
 */
import { randomBytes } from 'node:crypto';
import type { RedisStore, ScriptSource } from '../adapters/redis.js';

export type EpochView =
  | { readonly kind: 'ready'; readonly id: string }
  | { readonly kind: 'rebuilding'; readonly token: string }
  | { readonly kind: 'missing' };

const REBUILD = 'rebuild:';

export function epochKey(prefix: string, pipeline: string): string {
  return `${prefix}${pipeline}:epoch`;
}

/** A new epoch id (time first, so ids sort by when they were made; random for uniqueness). */
export function newEpochId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** The token a rebuild writes with while it holds the claim. */
export function rebuildToken(owner: string): string {
  return `${REBUILD}${owner}`;
}

/** Reads the epoch (KEYS[1]). */
const READ: ScriptSource = { name: 'ssEpochRead', lua: `return redis.call('GET', KEYS[1]) or ''` };

/** Sets ARGV[1] when there is no epoch, with a time to live of ARGV[2] ms when it is not '0'; 1 if set. */
const CLAIM: ScriptSource = {
  name: 'ssEpochClaim',
  lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[2] == '0' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`,
};

/** When the epoch is ARGV[1]: renews its time to live (ARGV[2] ms), or with ARGV[3], replaces it for good. */
const HAND_OVER: ScriptSource = {
  name: 'ssEpochHandOver',
  lua: `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] ~= '' then redis.call('SET', KEYS[1], ARGV[3]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`,
};

export class EpochStore {
  readonly #store: RedisStore;
  readonly key: string;

  constructor(store: RedisStore, key: string) {
    this.#store = store;
    this.key = key;
  }

  async read(): Promise<EpochView> {
    const [v] = (await this.#store.runScripts([{ script: READ, keys: [this.key], args: [] }])) as string[];
    if (v === undefined || v === '') return { kind: 'missing' };
    return v.startsWith(REBUILD) ? { kind: 'rebuilding', token: v } : { kind: 'ready', id: v };
  }

  /** Creates a ready epoch when there is none (a new deployment); true when this call created it. */
  async create(id: string): Promise<boolean> {
    return this.#claim(id, 0);
  }

  /** Claims the rebuild when there is no epoch; true when this caller now holds it for ttlMs. */
  async claimRebuild(owner: string, ttlMs: number): Promise<boolean> {
    return this.#claim(rebuildToken(owner), ttlMs);
  }

  /** Renews a held rebuild claim; false when it is not held any more (expired, or Redis lost it again). */
  async renew(owner: string, ttlMs: number): Promise<boolean> {
    return this.#handOver(rebuildToken(owner), String(ttlMs), '');
  }

  /** Ends a held rebuild with a new ready epoch; false when the claim was lost meanwhile. */
  async finish(owner: string, id: string): Promise<boolean> {
    return this.#handOver(rebuildToken(owner), '0', id);
  }

  async #claim(value: string, ttlMs: number): Promise<boolean> {
    const [r] = await this.#store.runScripts([
      { script: CLAIM, keys: [this.key], args: [value, String(ttlMs)] },
    ]);
    return Number(r) === 1;
  }

  async #handOver(token: string, ttl: string, next: string): Promise<boolean> {
    const [r] = await this.#store.runScripts([
      { script: HAND_OVER, keys: [this.key], args: [token, ttl, next] },
    ]);
    return Number(r) === 1;
  }
}
