export { createDecoder } from './decoder.js';
export type { DecoderSpec } from './decoder.js';
export { parseJson } from './json.js';
export { envelopeRowSchema } from './avro-schema.js';
export { fillUnavailable, isUnavailable, UNAVAILABLE } from './debezium.js';
export { rejected } from './reject.js';
export { semanticKind } from './connect-types.js';
export {
  cdcDecodeOptionsSchema,
  eventDecodeOptionsSchema,
  type CdcDecodeOptions,
  type CdcDecodeOptionsInput,
  type EventDecodeOptions,
  type EventDecodeOptionsInput,
} from './options.js';
export type { AvroReaderOptions } from './avro.js';
export type {
  CdcChange,
  CdcOp,
  CdcTombstone,
  Decoded,
  EntityEvent,
  RawRecord,
  RecordDecoder,
  Row,
  WriterSchemaSource,
} from './types.js';
