export { generateStream, generateOptionsSchema, FIRST_CUSTOMER_ID, SPAN_DAYS } from './generate.js';
export type { GenerateOptions } from './generate.js';
export {
  connectSchemaOf,
  decimalBytes,
  encodeCdcKey,
  encodeCdcValue,
  encodeRecord,
  encodeTransaction,
  encodeTransactionKey,
  readSampleSchemas,
  SAMPLE_SCHEMA_DIR,
  SAMPLE_SCHEMA_FILES,
} from './encode.js';
export type { EncodedRecord, SampleFormat, SampleSchemaIds, SampleSchemaTexts } from './encode.js';
export { kafkaPartition, murmur2 } from './partition.js';
export { produceSample, registerSampleSchemas } from './produce.js';
export type { ProduceSampleOptions, ProduceSampleResult } from './produce.js';
export { Random } from './random.js';
export type {
  CdcKey,
  CdcOpcode,
  CdcRecord,
  CdcSource,
  CdcValue,
  Channel,
  CustomerRow,
  Region,
  Resend,
  SampleRecord,
  SampleStream,
  SampleSummary,
  Segment,
  SnapshotMarker,
  TransactionRecord,
  TransactionType,
  TransactionValue,
} from './types.js';
