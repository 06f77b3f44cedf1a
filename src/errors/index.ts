export { DLQ_REASONS, ERROR_CODES } from './codes.js';
export type { DlqReason, ErrorCode } from './codes.js';
export {
  StreamscoreError,
  RecordRejected,
  isProgrammingError,
  isStreamscoreError,
  describeError,
} from './errors.js';
export type { RecordPosition, StreamscoreErrorOptions } from './errors.js';
