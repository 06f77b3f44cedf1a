/**
 * The intent of a rescore chunk: its number and entity ids, written to Redis before the chunk's
 * predictions. When a run dies between that write and the chunk's commit, the next run of the job reads it
 * back to know exactly which stored predictions still owe their events.
 */
import { randomBytes } from 'node:crypto';
import type { RedisStore, ScriptSource } from '../adapters/redis.js';
import { StreamscoreError } from '../errors/index.js';
import { FenceLayout, RUN_CHECK, fenceError, spreadFence } from '../sink/index.js';

export interface ChunkIntent {
  readonly chunk: number;
  readonly ids: readonly string[];
}

/** The intent (KEYS[2] = ARGV[2]), written only by the run that holds the job (KEYS[1] = ARGV[1]). */
const SET_SCRIPT: ScriptSource = {
  name: 'ssRescoreIntent2',
  lua: `${RUN_CHECK}
redis.call('SET', KEYS[2], ARGV[2])
return 1`,
};

/** Makes this run the job's holder: from now on an earlier run's intent and Redis writes are refused. */
const TAKE_SCRIPT: ScriptSource = {
  name: 'ssJobRunTake',
  lua: `redis.call('SET', KEYS[1], ARGV[1])
return 1`,
};

/** The job's run: its key and this run's token (see SinkOptions.run). */
export interface JobRun {
  readonly key: string;
  readonly token: string;
}

export async function takeJob(store: RedisStore, key: string): Promise<JobRun> {
  const run = { key, token: `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}` };
  await store.runScripts([{ script: TAKE_SCRIPT, keys: [key], args: [run.token] }]);
  // on Redis Cluster writes check the run in their own slot: one copy per slot, never over a later run's
  if ((await spreadFence(store, key, run.token, { only: 'greater' })) > 0)
    throw new StreamscoreError('SS_FENCED', `a later run of this job holds ${key}: this run stops`);
  return run;
}

export async function writeIntent(
  store: RedisStore,
  run: JobRun,
  key: string,
  intent: ChunkIntent,
): Promise<void> {
  try {
    await store.runScripts([
      {
        script: SET_SCRIPT,
        keys: [new FenceLayout(store.cluster).at(run.key, key), key],
        args: [run.token, JSON.stringify({ chunk: intent.chunk, ids: intent.ids })],
      },
    ]);
  } catch (err) {
    throw fenceError(err);
  }
}

export async function readIntent(store: RedisStore, key: string): Promise<ChunkIntent | null> {
  const text = await store.get(key);
  if (text === null || text === '') return null;
  const v = JSON.parse(text) as { chunk?: unknown; ids?: unknown };
  if (typeof v.chunk !== 'number' || !Array.isArray(v.ids)) return null;
  return { chunk: v.chunk, ids: v.ids.filter((x): x is string => typeof x === 'string') };
}
