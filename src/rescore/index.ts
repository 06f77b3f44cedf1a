export { runRescore } from './run.js';
export type { RescoreOptions, RescoreReport } from './run.js';
export { JOB_PATTERN, chunkOfBatch, planRescore, rescoreBatchId, rescoreTrigger } from './plan.js';
export type { RescoreAction, RescoreCounts, RescoreView } from './plan.js';
