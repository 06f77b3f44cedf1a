export { RedisRecovery } from './recovery.js';
export type { RecoveryOptions } from './recovery.js';
export { rebuildFromLog } from './rebuild.js';
export type { RebuildPlan, RebuildStats } from './rebuild.js';
