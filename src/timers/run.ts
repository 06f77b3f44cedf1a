/**
 * Time-driven re-scoring (`streamscore timers`): an entity whose vector changes with the passage of time
 * alone — an event leaves one of its aggregate windows — is scored again as of the instant it left, through
 * the same fenced Redis write and exactly-once prediction events as a rescore (src/rescore/job.ts), with
 * trigger TIMER.
 *
 * A sweep looks at every stored entity (a SCAN of the state keys), at most `timers.scanRate` per second,
 * and scores those due (lastWindowExit: the latest window exit after the entity's clock, up to now), at
 * most `timers.scoreRate` per second, so a burst after a long stop cannot starve the live stream. Sweeps
 * start at most every `timers.sweepIntervalMs`: an entity is re-scored at most one sweep after its
 * moment, as of that moment (not as of when the sweep ran), so the result does not depend on the timing.
 * Scoring moves the entity's clock to that instant, so it is not due again until the next event leaves a
 * window: a restart does not score it twice, and a chunk cut short by a crash is re-emitted, not re-scored.
 *
 * One sweeper per pipeline: its transactional id is `<group>.timers`, so a second one fences the first.
 * It scores with the model the pipeline serves when it starts, and leaves entities whose prediction is
 * another model's (a promotion since) to the live stream and `streamscore rescore`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaClient } from '../adapters/kafka.js';
import type { RedisStore } from '../adapters/redis.js';
import type { Config } from '../config/index.js';
import { lastWindowExit } from '../features/index.js';
import { closeJob, emptyCountsOf, openJob, planTimer, scoreChunk, viewOf } from '../rescore/index.js';
import type { Decision, Job, RescoreCounts } from '../rescore/index.js';
import type { EntityState, StoredPrediction } from '../sink/index.js';

export const TIMER_JOB = 'timers';

export interface TimerOptions {
  /** Folder of models/ and schemas/ (relative model.dir is under it). */
  readonly projectDir: string;
  /** One sweep, then return (cron-style); otherwise sweep until `signal` aborts. */
  readonly once: boolean;
  readonly signal?: AbortSignal;
  /** The clock timers compare window exits with (tests); default Date.now. */
  readonly now?: () => number;
  readonly onStart?: (info: { model: string; recovered: number; fromChunk: number }) => void;
  readonly onSweep?: (sweep: SweepReport) => void;
  readonly onProgress?: (counts: Readonly<RescoreCounts>) => void;
  readonly onWarning?: (message: string) => void;
  /** Test hook: called at the protocol's points ('before-redis-write', 'after-redis-write', 'before-commit'). */
  readonly crashPoint?: (name: string) => void;
}

export interface SweepReport {
  readonly sweep: number;
  /** What this sweep did (not cumulative). */
  readonly counts: RescoreCounts;
  readonly elapsedMs: number;
}

export interface TimersReport {
  readonly sweeps: number;
  readonly counts: RescoreCounts;
  readonly recovered: number;
  readonly model: { readonly name: string; readonly version: string; readonly sha256: string };
  /** Set when the model has no time windows: nothing can become due, so no sweep ran. */
  readonly noWindows: boolean;
}

export async function runTimers(
  config: Readonly<Config>,
  kafka: KafkaClient,
  redis: RedisStore,
  opts: TimerOptions,
): Promise<TimersReport> {
  const now = opts.now ?? Date.now;
  const decide = (job: Job, state: EntityState, stored: StoredPrediction | null): Decision => {
    const due = lastWindowExit(job.model.spec, state.events, state.clock, now());
    const action = planTimer(state, stored, viewOf(job), due);
    return action === 'score' ? { action, asOfMs: due as number } : { action };
  };
  const job = await openJob(
    config,
    kafka,
    redis,
    {
      kind: 'timer',
      id: TIMER_JOB,
      rate: 0, // paced per sweep below
      projectDir: opts.projectDir,
      ...(opts.onWarning === undefined ? {} : { onWarning: opts.onWarning }),
      ...(opts.crashPoint === undefined ? {} : { crashPoint: opts.crashPoint }),
    },
    decide,
  );
  const { model } = job;
  const stamp = { name: model.stamp.name, version: model.stamp.version, sha256: model.stamp.sha256 };
  try {
    opts.onStart?.({
      model: `${stamp.name}/${stamp.version} (sha256 ${stamp.sha256.slice(0, 12)})`,
      recovered: job.recovered,
      fromChunk: job.nextChunk,
    });
    const windows = model.spec.features.some((f) => 'aggregate' in f.source);
    let sweeps = 0;
    while (windows && opts.signal?.aborted !== true) {
      const started = Date.now();
      const before = { ...job.counts };
      await sweep(job, config.timers, decide, opts);
      sweeps += 1;
      opts.onSweep?.({ sweep: sweeps, counts: delta(job.counts, before), elapsedMs: Date.now() - started });
      if (opts.once) break;
      const wait = started + config.timers.sweepIntervalMs - Date.now();
      if (wait > 0) await sleep(wait, undefined, signalOpt(opts.signal)).catch(() => undefined);
    }
    return { sweeps, counts: job.counts, recovered: job.recovered, model: stamp, noWindows: !windows };
  } finally {
    await closeJob(job);
  }
}

/** One pass over every stored entity, paced to the scan and score rates. */
async function sweep(
  job: Job,
  limits: Config['timers'],
  decide: (job: Job, state: EntityState, stored: StoredPrediction | null) => Decision,
  opts: TimerOptions,
): Promise<void> {
  const started = Date.now();
  const scoredBefore = job.counts.scored + job.counts.reemitted;
  const scannedBefore = job.counts.scanned;
  const chunk = async (ids: readonly string[]) => {
    await scoreChunk(job, ids, decide, true);
    opts.onProgress?.(job.counts);
    const scanned = job.counts.scanned - scannedBefore;
    const scored = job.counts.scored + job.counts.reemitted - scoredBefore;
    const dueMs = Math.max((scanned * 1000) / limits.scanRate, (scored * 1000) / limits.scoreRate);
    const ahead = dueMs - (Date.now() - started);
    if (ahead > 0) await sleep(ahead, undefined, signalOpt(opts.signal)).catch(() => undefined);
  };
  let buffer: string[] = [];
  for await (const ids of job.sink.entityIds(limits.chunk)) {
    buffer.push(...ids);
    while (buffer.length >= limits.chunk) {
      await chunk(buffer.slice(0, limits.chunk));
      buffer = buffer.slice(limits.chunk);
      if (opts.signal?.aborted === true) return;
    }
  }
  if (buffer.length > 0) await chunk(buffer);
}

function delta(after: RescoreCounts, before: RescoreCounts): RescoreCounts {
  const out = emptyCountsOf();
  for (const k of Object.keys(out) as Array<keyof RescoreCounts>) out[k] = after[k] - before[k];
  return out;
}

function signalOpt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}
