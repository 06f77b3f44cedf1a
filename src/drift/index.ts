export { DriftMonitor, KS_REFRESH } from './monitor.js';
export type { DriftOptions, DriftReport, FeatureDrift } from './monitor.js';
export { binOf, binsFromQuantiles, isContinuous, ks, psi, refCdf } from './stats.js';
export type { Bins } from './stats.js';
