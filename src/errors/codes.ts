/**
 * The closed list of dead-letter reasons: the only codes a rejected record (RecordRejected) can carry in
 * its `ss.error.code` header. docs/errors.md lists them under "Dead-letter reasons"; a unit test keeps both
 * in step.
 */
export const DLQ_REASONS = [
  'SS_DECODE_FAILED',
  'SS_UNKNOWN_SCHEMA',
  'SS_MISSING_ENTITY_ID',
  'SS_ENTITY_ID_INVALID',
  'SS_CONTRACT_VIOLATION',
  'SS_FIELD_MISSING',
  'SS_FIELD_TYPE',
  'SS_FIELD_RANGE',
  'SS_TIME_RANGE',
  'SS_TIME_UNIT',
  'SS_CDC_UNKNOWN_OP',
  'SS_CDC_TRUNCATE',
] as const;

export type DlqReason = (typeof DLQ_REASONS)[number];

/**
 * The closed list of streamscore error codes (the dead-letter reasons among them). Every code is documented
 * in docs/errors.md; a unit test pins this list against that file so a new code cannot ship undocumented.
 */
export const ERROR_CODES = [
  // configuration and CLI
  'SS_CONFIG_INVALID',
  'SS_CONFIG_FILE',
  'SS_CLI_USAGE',
  // local services and adapters
  'SS_SERVICE_UNAVAILABLE',
  'SS_KAFKA',
  'SS_KAFKA_REJECTED',
  'SS_KAFKA_FORBIDDEN',
  'SS_TOPIC_MISSING',
  'SS_REDIS',
  'SS_REGISTRY',
  // topics and schemas as code
  'SS_TOPIC_SPEC_INVALID',
  'SS_TOPIC_DANGEROUS_CHANGE',
  'SS_TOPIC_UNSAFE',
  'SS_SCHEMA_INVALID',
  'SS_SCHEMA_INCOMPATIBLE',
  // decoding and validation of input records (signals: the record goes to the DLQ)
  ...DLQ_REASONS,
  'SS_CONTRACT_INVALID',
  // features and models
  'SS_FEATURE_SPEC_INVALID',
  'SS_MODEL_LOAD',
  'SS_MODEL_INTEGRITY',
  'SS_MODEL_SIGNATURE',
  'SS_MODEL_INCOMPATIBLE',
  'SS_CONTROL_INVALID',
  'SS_SCORE_FAILED',
  'SS_GUARD_FAILED',
  // delivery
  'SS_DLQ_FLOOD',
  'SS_FENCED',
  'SS_COMMIT_FAILED',
  'SS_REBALANCE_IN_PROGRESS',
  'SS_CONSUMER_CRASHED',
  'SS_REDIS_LOST',
  // jobs
  'SS_REPLAY',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
