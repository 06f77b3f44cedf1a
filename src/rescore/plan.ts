/**
 * What `streamscore rescore` does with one entity, pure: from its stored state and prediction, the model
 * to score with and the job's progress, one of
 *  - `score`: a live entity whose prediction is not the new model's: score its stored state;
 *  - `reemit`: this job already wrote its prediction in a chunk whose transaction never committed (a crash
 *    between the Redis write and the commit): send the stored prediction's event, do not score again;
 *  - `current`: its prediction is already the model's (this job's committed chunk, or the live pipeline
 *    scored it after the promotion): nothing to do;
 *  - `pending`: the window behind its prediction has not committed yet (its input offset is at or past the
 *    live group's committed offset): leave it to that window now and look again later;
 *  - `not_live`: no state, deleted, or no profile yet: nothing to score.
 */
import type { EntityState, StoredPrediction } from '../sink/index.js';
import type { RecordRef } from '../window/index.js';

export type RescoreAction = 'score' | 'reemit' | 'current' | 'pending' | 'not_live';

/**
 * What a timer sweep does with one entity (see planTimer): `score`, `reemit`, `pending` and `not_live` as
 * above; `not_due`: no aggregate window of it changed since its prediction's as-of; `other_model`: its
 * prediction is another model's (a promotion since the sweep started): left to the live stream and
 * `streamscore rescore`, so a timer never writes an older model over a newer one.
 */
export type TimerAction = 'score' | 'reemit' | 'pending' | 'not_live' | 'not_due' | 'other_model';

/** The two jobs that re-score stored state: after a promotion, and with the passage of time. */
export type JobKind = 'rescore' | 'timer';

export interface RescoreView {
  readonly kind: JobKind;
  /** sha256 of the model the job scores with. */
  readonly modelSha256: string;
  readonly job: string;
  /** Chunks of this job numbered below this one are committed (their events are on the topic). */
  readonly committedChunks: number;
  /** The live group's committed offset (the next to read) of an input partition; null when none. */
  readonly inputCommitted: (topic: string, partition: number) => bigint | null;
}

/** A job id goes into batch ids, Redis keys, a consumer group and a transactional id. */
export const JOB_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

export function rescoreBatchId(job: string, chunk: number, kind: JobKind = 'rescore'): string {
  return `${kind}-${job}-${chunk}`;
}

/** The chunk number of one of this job's batch ids; null for any other batch. */
export function chunkOfBatch(job: string, batchId: string, kind: JobKind = 'rescore'): number | null {
  const head = `${kind}-${job}-`;
  if (!batchId.startsWith(head)) return null;
  const tail = batchId.slice(head.length);
  return /^\d+$/.test(tail) ? Number(tail) : null;
}

/** The state's trigger for a rescored prediction: never the text of an input record (topic/partition/offset). */
export function rescoreTrigger(job: string, chunk: number, kind: JobKind = 'rescore'): string {
  return `${kind}:${job}:${chunk}`;
}

/** The input record behind a stored prediction, when it names one. */
export function inputOf(stored: StoredPrediction | null): RecordRef | null {
  if (stored === null || stored.trigger_topic === '' || !/^\d+$/.test(stored.trigger_offset)) return null;
  return { topic: stored.trigger_topic, partition: stored.trigger_partition, offset: stored.trigger_offset };
}

export function planRescore(
  state: EntityState,
  stored: StoredPrediction | null,
  view: RescoreView,
): RescoreAction {
  if (state.sv === 0 || state.deleted || state.profile === null) return 'not_live';
  // the stored prediction is the state's own (written with it, in the same compare-and-set)
  const ownPrediction = stored !== null && state.pv === state.sv && stored.version === state.sv;
  if (ownPrediction) {
    const chunk = chunkOfBatch(view.job, stored.batch_id, view.kind);
    if (chunk !== null && chunk >= view.committedChunks) return 'reemit';
    if (stored.model_sha256 === view.modelSha256) return 'current';
    if (chunk === null && windowPending(stored, view)) return 'pending';
  }
  return 'score';
}

/** The window behind a stored prediction has not committed yet (its input is at or past the committed offset). */
function windowPending(stored: StoredPrediction, view: RescoreView): boolean {
  const input = inputOf(stored);
  if (input === null) return false;
  const committed = view.inputCommitted(input.topic, input.partition);
  return committed === null || BigInt(input.offset) >= committed;
}

/**
 * A timer sweep's decision for one entity, pure. `due` is the latest instant up to now at which one of its
 * aggregate windows changed since its clock (lastWindowExit), or null. A prediction this job wrote in a
 * chunk that never committed is re-emitted, not scored again; an entity already scored as of its latest
 * window change has a clock at that instant, so it is not due again until the next event leaves a window.
 */
export function planTimer(
  state: EntityState,
  stored: StoredPrediction | null,
  view: RescoreView,
  due: number | null,
): TimerAction {
  if (state.sv === 0 || state.deleted || state.profile === null) return 'not_live';
  const ownPrediction = stored !== null && state.pv === state.sv && stored.version === state.sv;
  const chunk = ownPrediction ? chunkOfBatch(view.job, stored.batch_id, view.kind) : null;
  if (chunk !== null && chunk >= view.committedChunks) return 'reemit';
  if (due === null) return 'not_due';
  if (stored !== null && stored.model_sha256 !== view.modelSha256) return 'other_model';
  if (ownPrediction && chunk === null && windowPending(stored, view)) return 'pending';
  return 'score';
}

export interface RescoreCounts {
  scanned: number;
  scored: number;
  reemitted: number;
  current: number;
  not_live: number;
  /** Scores the output guard refused: the entity keeps its old prediction. */
  refused: number;
  /** Changed by another writer between read and write (the live stream): looked at again later. */
  conflicts: number;
  /** Timers: no window changed since the prediction's as-of. */
  not_due: number;
  /** Timers: the prediction is another model's (left to the live stream and `rescore`). */
  other_model: number;
  /** Timers: the window behind the prediction had not committed (looked at in the next sweep). */
  pending: number;
}

export function emptyCounts(): RescoreCounts {
  return {
    scanned: 0,
    scored: 0,
    reemitted: 0,
    current: 0,
    not_live: 0,
    refused: 0,
    conflicts: 0,
    not_due: 0,
    other_model: 0,
    pending: 0,
  };
}
