export { runTimers, TIMER_JOB } from './run.js';
export type { SweepReport, TimerOptions, TimersReport } from './run.js';
export { TimerMetrics } from './metrics.js';
