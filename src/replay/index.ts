export { runReplay } from './run.js';
export type { ReplayOptions, ReplayReport } from './run.js';
export { JOB_PATTERN, REPLAYED_OUTPUTS, partitionsLeft, replayConfig, replayNames } from './plan.js';
