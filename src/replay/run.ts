/**
 * `streamscore replay`: scores history again with a pinned model version into outputs of its own — a Redis
 * key prefix and topics named `<live>.replay.<job>` — while the live pipeline runs on. It is the pipeline
 * itself (the same windows, state rules, fencing and exactly-once transactions), run with the config of
 * plan.ts and bounded: every input partition up to an end fixed when the job first ran (the log end then,
 * or the first offset at or after `--to`), and it stops there. Emitting starts at the log start, or at
 * `--from` (a time, or offsets): then the pipeline first rebuilds the job's state from the log up to
 * there without emitting (a bounded run rebuilds up to its committed offsets), so every prediction is as
 * of its own input records, exactly as the live pipeline would have made it with that model.
 *
 * Resumable: the job's group commits its offsets in its transactions and its ends are kept in Redis under
 * its prefix, so the same command after a crash goes on where the last committed window ended.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connectTopicAdmin } from '../adapters/kafka.js';
import type { KafkaClient } from '../adapters/kafka.js';
import { groupOffsets, logEnds } from '../adapters/kafka-replay.js';
import type { RedisStore, ScriptSource } from '../adapters/redis.js';
import type { Config } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';
import type { Logger } from '../observe/logger.js';
import { Pipeline } from '../pipeline/index.js';
import { REPLAYED_OUTPUTS, partitionsLeft, replayConfig, replayNames } from './plan.js';

export interface ReplayOptions {
  readonly job: string;
  readonly model: string;
  /** Stop before the first record at or after this time (record timestamps); default: the log end now. */
  readonly toMs?: number;
  /**
   * Emit from here: the first record at or after a time, or offsets per partition (`topic/partition`;
   * others from their log start). The state is rebuilt from the log up to there first, without emitting.
   */
  readonly from?: { readonly ms: number } | { readonly offsets: ReadonlyMap<string, bigint> };
  readonly projectDir: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  readonly onStart?: (info: { resumed: boolean; records: bigint; topics: string[] }) => void;
  readonly onProgress?: (done: bigint, total: bigint) => void;
}

export interface ReplayReport {
  readonly job: string;
  readonly model: string;
  readonly groupId: string;
  readonly keyPrefix: string;
  readonly outputs: Readonly<Record<string, string>>;
  /** Records between each partition's start (`from`, else its log start) and its end. */
  readonly records: string;
  /** Per partition (`topic/partition`): where emitting started and where the job stops. */
  readonly bounds: Readonly<Record<string, { from: string; end: string }>>;
  readonly completed: boolean;
  readonly elapsedMs: number;
}

const POLL_MS = 1000;

/** SET of the job's bounds (KEYS[1]) unless set already; returns what is stored. */
const BOUNDS_SCRIPT: ScriptSource = {
  name: 'ssReplayBounds',
  lua: `if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('GET', KEYS[1])`,
};

export async function runReplay(
  live: Readonly<Config>,
  kafka: KafkaClient,
  redis: RedisStore,
  opts: ReplayOptions,
): Promise<ReplayReport> {
  const started = Date.now();
  const config = replayConfig(live, opts.job, opts.model);
  const names = replayNames(live, opts.job);
  const inputs = [...config.inputs.cdc, ...config.inputs.events].map((i) => i.topic);
  await createOutputs(kafka, live, names.outputs);
  const fixed = await fixBounds(kafka, redis, config, inputs, opts);
  const ends = new Map([...fixed].map(([k, b]) => [k, { low: b.from, end: b.end }]));
  const total = [...ends.values()].reduce((n, e) => n + (e.end > e.low ? e.end - e.low : 0n), 0n);
  const committedNow = await groupOffsets(kafka, config.consumer.groupId, inputs);
  const resumed = committedNow.size > 0;
  // the first run of a job that starts later than the log start: the group starts there, and the
  // pipeline's first act is to rebuild the state up to it (its Redis prefix has no epoch yet)
  if (!resumed && [...fixed.values()].some((b) => b.from > b.low)) {
    await startGroupAt(kafka, config.consumer.groupId, fixed);
    for (const [k, b] of fixed) committedNow.set(k, b.from);
  }
  opts.onStart?.({ resumed, records: total, topics: inputs });
  const reached = new Set<string>();
  const done = () => partitionsLeft(ends, committedNow, reached).length === 0;
  const report = (completed: boolean): ReplayReport => ({
    job: opts.job,
    model: opts.model,
    groupId: config.consumer.groupId,
    keyPrefix: config.redis.keyPrefix,
    outputs: names.outputs,
    records: total.toString(),
    bounds: Object.fromEntries(
      [...fixed].map(([k, b]) => [k, { from: b.from.toString(), end: b.end.toString() }]),
    ),
    completed,
    elapsedMs: Date.now() - started,
  });
  if (done()) return report(true);

  let halted: Error | undefined;
  const pipeline = new Pipeline({
    config,
    logger: opts.logger,
    projectDir: opts.projectDir,
    onHalt: (err) => (halted = err),
    bounds: {
      ends: new Map([...ends].map(([k, e]) => [k, e.end])),
      onReached: (key) => reached.add(key),
    },
  });
  try {
    await pipeline.start();
    while (halted === undefined && opts.signal?.aborted !== true) {
      await sleep(POLL_MS);
      for (const [k, v] of await groupOffsets(kafka, config.consumer.groupId, inputs)) committedNow.set(k, v);
      opts.onProgress?.(progressOf(ends, committedNow, reached), total);
      if (done()) break;
    }
  } finally {
    await pipeline.stop();
  }
  if (halted !== undefined) throw halted;
  return report(done());
}

/** Records committed so far (a partition reported done counts in full). */
function progressOf(
  ends: ReadonlyMap<string, { low: bigint; end: bigint }>,
  committed: ReadonlyMap<string, bigint>,
  reached: ReadonlySet<string>,
): bigint {
  let n = 0n;
  for (const [k, { low, end }] of ends) {
    if (end <= low) continue;
    const at = reached.has(k) ? end : (committed.get(k) ?? low);
    n += (at > end ? end : at) - low;
  }
  return n;
}

/**
 * The job's start and end per input partition, fixed by its first run (kept in Redis under the job's
 * prefix, so a resumed run uses the same ones even though the live log has grown).
 */
async function fixBounds(
  kafka: KafkaClient,
  redis: RedisStore,
  config: Readonly<Config>,
  inputs: readonly string[],
  opts: ReplayOptions,
): Promise<Map<string, { low: bigint; from: bigint; end: bigint }>> {
  const logs = await logEnds(kafka, inputs);
  const byTime = opts.toMs === undefined ? undefined : await offsetsAt(kafka, inputs, opts.toMs);
  const from = opts.from;
  const fromTime =
    from === undefined || !('ms' in from) ? undefined : await offsetsAt(kafka, inputs, from.ms);
  const wanted: Record<string, { from: string; end: string }> = {};
  for (const [k, { low, high }] of logs) {
    const end = byTime?.get(k) ?? high;
    let start = low;
    if (fromTime !== undefined) start = fromTime.get(k) ?? high;
    if (from !== undefined && 'offsets' in from) start = from.offsets.get(k) ?? low;
    if (start < low) start = low;
    wanted[k] = { from: (start > end ? end : start).toString(), end: end.toString() };
  }
  if (from !== undefined && 'offsets' in from)
    for (const k of from.offsets.keys())
      if (!logs.has(k))
        throw new StreamscoreError('SS_REPLAY', `replay --from: ${k} is not an input partition`);
  const key = `${config.redis.keyPrefix}${config.pipeline.name}:replay-bounds`;
  const [stored] = (await redis.runScripts([
    { script: BOUNDS_SCRIPT, keys: [key], args: [JSON.stringify(wanted)] },
  ])) as string[];
  const fixed = JSON.parse(stored as string) as Record<string, { from: string; end: string }>;
  const out = new Map<string, { low: bigint; from: bigint; end: bigint }>();
  for (const [k, { low }] of logs) {
    const b = fixed[k];
    if (b === undefined)
      throw new StreamscoreError(
        'SS_REPLAY',
        `replay job: input partition ${k} is not among those its first run fixed (partitions added since?); start a new job`,
      );
    out.set(k, { low, from: BigInt(b.from), end: BigInt(b.end) });
  }
  return out;
}

/** Commits the job's start offsets for its new group, so the pipeline starts there. */
async function startGroupAt(
  kafka: KafkaClient,
  groupId: string,
  bounds: ReadonlyMap<string, { from: bigint }>,
): Promise<void> {
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const [k, b] of bounds) {
    const at = k.lastIndexOf('/');
    const topic = k.slice(0, at);
    const list = byTopic.get(topic) ?? [];
    list.push({ partition: Number(k.slice(at + 1)), offset: b.from.toString() });
    byTopic.set(topic, list);
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const [topic, partitions] of byTopic) await admin.setOffsets({ groupId, topic, partitions });
  } finally {
    await admin.disconnect();
  }
}

/** Per partition: the first offset whose record time is at or after `ms` (the log end when none). */
async function offsetsAt(
  kafka: KafkaClient,
  topics: readonly string[],
  ms: number,
): Promise<Map<string, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out = new Map<string, bigint>();
    for (const topic of topics)
      for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, ms))
        if (Number(p.offset) >= 0) out.set(`${topic}/${p.partition}`, BigInt(p.offset));
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** The job's output topics: copies of the live ones (partitions, replication, configs), made when missing. */
async function createOutputs(
  kafka: KafkaClient,
  live: Readonly<Config>,
  outputs: Readonly<Record<string, string>>,
): Promise<void> {
  const admin = await connectTopicAdmin(kafka);
  try {
    const liveNames = REPLAYED_OUTPUTS.map((o) => live.outputs[o]);
    const liveState = await admin.describe(liveNames);
    const existing = await admin.describe(REPLAYED_OUTPUTS.map((o) => outputs[o] as string));
    for (const o of REPLAYED_OUTPUTS) {
      const name = outputs[o] as string;
      if (existing.has(name)) continue;
      const from = liveState.get(live.outputs[o]);
      if (from === undefined)
        throw new StreamscoreError(
          'SS_REPLAY',
          `replay: the live output topic ${live.outputs[o]} (outputs.${o}) does not exist to copy; apply the topics first (streamscore topics apply)`,
        );
      await admin.create({
        name,
        partitions: from.partitions,
        replicationFactor: from.replicationFactor,
        config: from.config,
      });
    }
  } finally {
    await admin.close();
  }
}
