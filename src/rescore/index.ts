export { runRescore } from './run.js';
export type { RescoreOptions, RescoreReport } from './run.js';
export { closeJob, openJob, pace, scoreChunk, viewOf } from './job.js';
export type { Decision, Job, JobOptions } from './job.js';
export {
  JOB_PATTERN,
  chunkOfBatch,
  emptyCounts as emptyCountsOf,
  planRescore,
  planTimer,
  rescoreBatchId,
  rescoreTrigger,
} from './plan.js';
export type { JobKind, RescoreAction, RescoreCounts, RescoreView, TimerAction } from './plan.js';
