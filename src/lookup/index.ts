export { LookupClient, parsePrediction } from './client.js';
export type { Prediction, LookupOptions } from './client.js';
export { lookupClientFor } from './for-config.js';
