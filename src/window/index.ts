export { splitIntoWindows, windowLimits, groupByEntity, fallbackVersion, versionGreater } from './window.js';
export type { WindowLimits, RecordRef, EntityWork, EventWork, CdcWork, DecodedRecord } from './types.js';
