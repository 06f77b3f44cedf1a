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

export interface RescoreView {
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

export function rescoreBatchId(job: string, chunk: number): string {
  return `rescore-${job}-${chunk}`;
}

/** The chunk number of one of this job's batch ids; null for any other batch. */
export function chunkOfBatch(job: string, batchId: string): number | null {
  const head = `rescore-${job}-`;
  if (!batchId.startsWith(head)) return null;
  const tail = batchId.slice(head.length);
  return /^\d+$/.test(tail) ? Number(tail) : null;
}

/** The state's trigger for a rescored prediction: never the text of an input record (topic/partition/offset). */
export function rescoreTrigger(job: string, chunk: number): string {
  return `rescore:${job}:${chunk}`;
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
    const chunk = chunkOfBatch(view.job, stored.batch_id);
    if (chunk !== null && chunk >= view.committedChunks) return 'reemit';
    if (stored.model_sha256 === view.modelSha256) return 'current';
    const input = inputOf(stored);
    if (input !== null && chunk === null) {
      const committed = view.inputCommitted(input.topic, input.partition);
      if (committed === null || BigInt(input.offset) >= committed) return 'pending';
    }
  }
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
}

export function emptyCounts(): RescoreCounts {
  return { scanned: 0, scored: 0, reemitted: 0, current: 0, not_live: 0, refused: 0, conflicts: 0 };
}
