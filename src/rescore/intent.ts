/**
 * The intent of a rescore chunk: its number and entity ids, written to Redis before the chunk's
 * predictions. When a run dies between that write and the chunk's commit, the next run of the job reads it
 * back to know exactly which stored predictions still owe their events.
 */
import type { RedisStore, ScriptSource } from '../adapters/redis.js';

export interface ChunkIntent {
  readonly chunk: number;
  readonly ids: readonly string[];
}

const SET_SCRIPT: ScriptSource = {
  name: 'ssRescoreIntent',
  lua: `redis.call('SET', KEYS[1], ARGV[1])
return 1`,
};

export async function writeIntent(store: RedisStore, key: string, intent: ChunkIntent): Promise<void> {
  await store.runScripts([
    { script: SET_SCRIPT, keys: [key], args: [JSON.stringify({ chunk: intent.chunk, ids: intent.ids })] },
  ]);
}

export async function readIntent(store: RedisStore, key: string): Promise<ChunkIntent | null> {
  const text = await store.get(key);
  if (text === null || text === '') return null;
  const v = JSON.parse(text) as { chunk?: unknown; ids?: unknown };
  if (typeof v.chunk !== 'number' || !Array.isArray(v.ids)) return null;
  return { chunk: v.chunk, ids: v.ids.filter((x): x is string => typeof x === 'string') };
}
