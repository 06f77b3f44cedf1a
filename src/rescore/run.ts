/**
 * `streamscore rescore`: after a promotion, every live entity scored again from its stored state with the
 * model the pipeline serves (the alias's champion, else `model.version`), next to the running pipeline,
 * chunk by chunk in the protocol of job.ts (exactly once for read_committed readers, resumable). Entities
 * already scored by the model are skipped, so a run resumes where it stopped without a cursor.
 *
 * Entities the live pipeline changes meanwhile lose the compare-and-set and are looked at again; one whose
 * last window has not committed yet is left to that window for now (`pending`) and looked at again at the
 * end. The job is paced to `rate` entities per second so the live stream keeps its latency.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaClient } from '../adapters/kafka.js';
import type { RedisStore } from '../adapters/redis.js';
import type { Config } from '../config/index.js';
import { closeJob, openJob, pace, scoreChunk, viewOf } from './job.js';
import type { Decision, Job } from './job.js';
import { planRescore } from './plan.js';
import type { RescoreCounts } from './plan.js';
import type { EntityState, StoredPrediction } from '../sink/index.js';

export interface RescoreOptions {
  /** Names the job (its progress, transactions and batch ids); default: the model's version and sha256. */
  readonly job?: string;
  /** Entities scored per second at most (0: as fast as it goes). */
  readonly rate: number;
  /** Entities per chunk (one Redis round trip and one transaction each). */
  readonly chunk: number;
  /** How long to keep looking at entities whose last window had not committed, after the scan. */
  readonly pendingWaitMs: number;
  /** Folder of models/ and schemas/ (relative model.dir is under it). */
  readonly projectDir: string;
  readonly onProgress?: (counts: Readonly<RescoreCounts>) => void;
  readonly onWarning?: (message: string) => void;
  /** Once the model and the job's progress are known and an interrupted chunk is settled, before the scan. */
  readonly onStart?: (info: { job: string; model: string; fromChunk: number; recovered: number }) => void;
  /** Test hook: called at the protocol's points ('before-redis-write', 'after-redis-write', 'before-commit'). */
  readonly crashPoint?: (name: string) => void;
}

export interface RescoreReport {
  readonly job: string;
  readonly model: { readonly name: string; readonly version: string; readonly sha256: string };
  readonly counts: RescoreCounts;
  /** Predictions of an interrupted earlier run re-emitted before this run scored anything. */
  readonly recovered: number;
  /** Entities whose last window still had not committed when the run gave up waiting. */
  readonly pendingLeft: number;
  readonly chunks: number;
  readonly elapsedMs: number;
}

const PENDING_RETRY_MS = 1000;

function decideRescore(job: Job, state: EntityState, stored: StoredPrediction | null): Decision {
  const action = planRescore(state, stored, viewOf(job));
  return action === 'score' ? { action, asOfMs: state.clock } : { action };
}

export async function runRescore(
  config: Readonly<Config>,
  kafka: KafkaClient,
  redis: RedisStore,
  opts: RescoreOptions,
): Promise<RescoreReport> {
  const started = Date.now();
  const job = await openJob(
    config,
    kafka,
    redis,
    {
      kind: 'rescore',
      rate: opts.rate,
      projectDir: opts.projectDir,
      ...(opts.job === undefined ? {} : { id: opts.job }),
      ...(opts.onWarning === undefined ? {} : { onWarning: opts.onWarning }),
      ...(opts.crashPoint === undefined ? {} : { crashPoint: opts.crashPoint }),
    },
    decideRescore,
  );
  try {
    const { model } = job;
    opts.onStart?.({
      job: job.id,
      model: `${model.stamp.name}/${model.stamp.version} (sha256 ${model.stamp.sha256.slice(0, 12)})`,
      fromChunk: job.nextChunk,
      recovered: job.recovered,
    });
    const chunk = async (ids: readonly string[], firstLook: boolean) => {
      const again = await scoreChunk(job, ids, decideRescore, firstLook);
      opts.onProgress?.(job.counts);
      await pace(job, started);
      return again;
    };
    let pending: string[] = [];
    let buffer: string[] = [];
    for await (const ids of job.sink.entityIds(Math.max(100, opts.chunk))) {
      buffer.push(...ids);
      while (buffer.length >= opts.chunk) {
        pending.push(...(await chunk(buffer.slice(0, opts.chunk), true)));
        buffer = buffer.slice(opts.chunk);
      }
    }
    if (buffer.length > 0) pending.push(...(await chunk(buffer, true)));
    // entities whose window was in flight, or that the live stream changed under us: again, for a while
    const deadline = Date.now() + opts.pendingWaitMs;
    while (pending.length > 0 && Date.now() < deadline) {
      await sleep(PENDING_RETRY_MS);
      const again: string[] = [];
      for (let i = 0; i < pending.length; i += opts.chunk)
        again.push(...(await chunk(pending.slice(i, i + opts.chunk), false)));
      pending = again;
    }
    return {
      job: job.id,
      model: { name: model.stamp.name, version: model.stamp.version, sha256: model.stamp.sha256 },
      counts: job.counts,
      recovered: job.recovered,
      pendingLeft: pending.length,
      chunks: job.nextChunk - job.firstChunk,
      elapsedMs: Date.now() - started,
    };
  } finally {
    await closeJob(job);
  }
}
