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
 *
 * On Redis Cluster the key above is the control key (the claim protocol is the same), and writers check
 * copies of its value, one per hash slot (src/sink/slots.ts). They are written before the control key says
 * "ready" (and when a rebuild starts), so a ready control key with a copy missing means that a node lost
 * its data: the epoch is dropped and the state rebuilt, as when the whole Redis lost it.
 */
import { randomBytes } from 'node:crypto';
import type { RedisStore, ScriptSource } from '../adapters/redis.js';
import { FenceLayout } from './slots.js';

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

/**
 * Sets a fence copy KEYS[1] to ARGV[1]; ARGV[2] says when: '' always, '=' only while it holds ARGV[3] (a
 * rebuild handing over: refused once its claim's token was replaced), '>' only over nothing or a smaller
 * value (job run tokens start with their time: an earlier run never overwrites a later one). 1 if set.
 */
const SET_COPY: ScriptSource = {
  name: 'ssFenceSet2',
  lua: `
if ARGV[2] ~= '' then
  local cur = redis.call('GET', KEYS[1])
  if ARGV[2] == '=' and cur ~= ARGV[3] then return 0 end
  if ARGV[2] == '>' and cur and cur >= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1`,
};

/** When a fence copy is written (see SET_COPY). */
export type CopyRule =
  | { readonly only: 'always' }
  | { readonly only: 'while'; readonly holds: string }
  | { readonly only: 'greater' };

/** Deletes the epoch when it is still ARGV[1]; 1 if deleted. */
const DROP: ScriptSource = {
  name: 'ssEpochDrop',
  lua: `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`,
};

/** How long making a new epoch on a cluster may hold its claim (it writes 16,384 copies). */
const CREATE_TTL_MS = 30000;

/**
 * Writes `value` at every copy of `fence` under `rule` (a cluster; nothing on a single Redis, where the fence
 * is one key). Returns how many copies refused it.
 */
export async function spreadFence(
  store: RedisStore,
  fence: string,
  value: string,
  rule: CopyRule = { only: 'always' },
): Promise<number> {
  if (!store.cluster) return 0;
  const mode = rule.only === 'always' ? '' : rule.only === 'while' ? '=' : '>';
  const holds = rule.only === 'while' ? rule.holds : '';
  const layout = new FenceLayout(true);
  const set = await store.runScripts(
    layout.keysOf(fence).map((k) => ({ script: SET_COPY, keys: [k], args: [value, mode, holds] })),
  );
  return set.filter((r) => Number(r) !== 1).length;
}

export class EpochStore {
  readonly #store: RedisStore;
  readonly key: string;
  readonly #layout: FenceLayout;

  constructor(store: RedisStore, key: string) {
    this.#store = store;
    this.key = key;
    this.#layout = new FenceLayout(store.cluster);
  }

  /**
   * Whether every copy of the epoch (a cluster) holds `id`; with `sample`, one copy per master only (a
   * node that lost its data lost them all). Always true on a single Redis.
   */
  async intact(id: string, sample = false): Promise<boolean> {
    if (!this.#layout.cluster) return true;
    const keys = sample
      ? this.#store.masterSlots().map((s) => this.#layout.copy(this.key, s))
      : this.#layout.keysOf(this.key);
    const values = await this.#store.runScripts(keys.map((k) => ({ script: READ, keys: [k], args: [] })));
    return values.every((v) => v === id);
  }

  /** Removes the ready epoch `id` (a node lost its copies): the pipeline then rebuilds as after a loss. */
  async drop(id: string): Promise<boolean> {
    const [r] = await this.#store.runScripts([{ script: DROP, keys: [this.key], args: [id] }]);
    return Number(r) === 1;
  }

  /** Writes the copies writers check (a cluster): `value` is the ready id or a rebuild's token. */
  async spread(value: string): Promise<void> {
    await spreadFence(this.#store, this.key, value);
  }

  async read(): Promise<EpochView> {
    const [v] = (await this.#store.runScripts([{ script: READ, keys: [this.key], args: [] }])) as string[];
    if (v === undefined || v === '') return { kind: 'missing' };
    return v.startsWith(REBUILD) ? { kind: 'rebuilding', token: v } : { kind: 'ready', id: v };
  }

  /** Creates a ready epoch when there is none (a new deployment); true when this call created it. */
  async create(id: string): Promise<boolean> {
    if (!this.#layout.cluster) return this.#claim(id, 0);
    // on a cluster the copies come first: claim, write them, then say ready
    const token = rebuildToken(`new-${id}`);
    if (!(await this.#claim(token, CREATE_TTL_MS))) return false;
    await this.spread(id);
    return this.#handOver(token, '0', id);
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
    // a copy that no longer holds this rebuild's token (its claim was taken over, or a node lost it again)
    // refuses the new id, and the rebuild does not hand over
    const token = rebuildToken(owner);
    if ((await spreadFence(this.#store, this.key, id, { only: 'while', holds: token })) > 0) return false;
    return this.#handOver(token, '0', id);
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
