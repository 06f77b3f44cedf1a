export { splitIntoWindows, groupByEntity, fallbackVersion } from './window.js';
export type { WindowLimits, RecordRef, EntityWork, EventWork, CdcWork } from './types.js';
