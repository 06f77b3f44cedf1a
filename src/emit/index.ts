export { AvroEncoder } from './encoder.js';
export { PredictionEventWriter } from './prediction-writer.js';
export { predictionEvent, storedPredictionEvent, deadLetter, quarantinedPrediction } from './events.js';
export { DLQ_HEADERS, QUARANTINE_HEADERS } from './types.js';
export type {
  PredictionEventV1,
  PredictionTrigger,
  AuditEventV1,
  AuditCountsV1,
  OutMessage,
} from './types.js';
