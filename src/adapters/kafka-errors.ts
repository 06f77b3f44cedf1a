import { StreamscoreError } from '../errors/index.js';

/**
 * What a Kafka failure means for the pipeline, in one table:
 *  - `fenced`: a newer owner of the partition (or the coordinator, after a transaction timed out) bumped the
 *    producer's epoch; the window is abandoned and no producer opens until a heartbeat proves ownership;
 *  - `rebalance`: the group is rebalancing; retried;
 *  - `retriable`: transient trouble (connections, leaders moving, timeouts); the window is fetched again with
 *    backoff and a fresh producer;
 *  - `window`: the broker refused this window's output as it is (too large, invalid, against a policy):
 *    sending the same records again cannot succeed and no record may be skipped, so the pipeline halts and
 *    names the window (SS_KAFKA_REJECTED);
 *  - `process`: nothing this process does can succeed (a missing permission, failed authentication, a
 *    topic that does not exist); it halts and names what is missing (SS_KAFKA_FORBIDDEN).
 */
export type KafkaErrorClass = 'fenced' | 'rebalance' | 'retriable' | 'window' | 'process';

const CLASSES: Readonly<Record<string, { readonly class: KafkaErrorClass; readonly fix?: string }>> = {
  PRODUCER_FENCED: { class: 'fenced' },
  INVALID_PRODUCER_EPOCH: { class: 'fenced' },
  REBALANCE_IN_PROGRESS: { class: 'rebalance' },
  ILLEGAL_GENERATION: { class: 'rebalance' },
  UNKNOWN_MEMBER_ID: { class: 'rebalance' },
  MESSAGE_TOO_LARGE: {
    class: 'window',
    fix: "raise the topic's max.message.bytes (and the broker's message.max.bytes) above the largest record",
  },
  RECORD_LIST_TOO_LARGE: { class: 'window', fix: "raise the topic's max.message.bytes" },
  INVALID_RECORD: { class: 'window', fix: "check the topic's configuration (e.g. compaction needs a key)" },
  POLICY_VIOLATION: { class: 'window', fix: "check the broker's create/alter policies for the topic" },
  INVALID_TIMESTAMP: { class: 'window', fix: "check the topic's message.timestamp.*.ms settings" },
  UNSUPPORTED_FOR_MESSAGE_FORMAT: { class: 'window', fix: "check the topic's message format" },
  TOPIC_AUTHORIZATION_FAILED: {
    class: 'process',
    fix: 'grant the principal what `streamscore acls` prints: Read on the input topics, Write on the output topics (docs/security.md)',
  },
  GROUP_AUTHORIZATION_FAILED: {
    class: 'process',
    fix: 'grant the principal Read on the consumer group and on groups prefixed "<group>." (`streamscore acls`, docs/security.md)',
  },
  CLUSTER_AUTHORIZATION_FAILED: {
    class: 'process',
    fix: 'grant the principal IdempotentWrite on the cluster',
  },
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: {
    class: 'process',
    fix: 'grant the principal Write on transactional ids prefixed "<group>." (`streamscore acls`, docs/security.md)',
  },
  SASL_AUTHENTICATION_FAILED: { class: 'process', fix: 'check kafka.sasl (mechanism, username, password)' },
  ILLEGAL_SASL_STATE: { class: 'process', fix: 'check kafka.sasl and kafka.ssl' },
  UNSUPPORTED_SASL_MECHANISM: { class: 'process', fix: 'use a mechanism the broker enables' },
  UNKNOWN_TOPIC_OR_PARTITION: {
    class: 'process',
    fix: 'create the topics (`streamscore topics apply`) or fix the topic names in the config',
  },
  INVALID_TRANSACTION_TIMEOUT: {
    class: 'process',
    fix: "set kafka.transactionTimeoutMs at most the broker's transaction.max.timeout.ms",
  },
};

/** The Kafka error type (`MESSAGE_TOO_LARGE`, …) of a kafkajs error or of any error it wraps. */
export function kafkaErrorType(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e !== null && typeof e === 'object'; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && type !== '') return type;
    const name = (e as { name?: unknown }).name;
    if (name === 'KafkaJSSASLAuthenticationError') return 'SASL_AUTHENTICATION_FAILED';
    e = (e as { cause?: unknown }).cause;
  }
  return '';
}

const REFUSALS: ReadonlyArray<readonly [RegExp, string]> = [
  [/transactional id authori[sz]ation failed/i, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'],
  [/group authori[sz]ation failed/i, 'GROUP_AUTHORIZATION_FAILED'],
  [/topic authori[sz]ation failed/i, 'TOPIC_AUTHORIZATION_FAILED'],
  [/cluster authori[sz]ation failed/i, 'CLUSTER_AUTHORIZATION_FAILED'],
];

/**
 * kafkajs throws "Failed to find group coordinator" when the broker refused the lookup (no Read on the group,
 * no Write on the transactional id) and only logs the refusal itself (see lastAuthorizationRefusal in
 * kafka.ts). Given that logged refusal, the failure becomes the refusal, so it is classified as one.
 */
export function withRefusal(cause: unknown, refusal: string | undefined): unknown {
  if (
    refusal === undefined ||
    (cause as { name?: unknown } | null)?.name !== 'KafkaJSGroupCoordinatorNotFound'
  )
    return cause;
  const type = REFUSALS.find(([re]) => re.test(refusal))?.[1];
  if (type === undefined) return cause;
  return Object.assign(new Error(`${refusal} (kafkajs: ${(cause as Error).message})`, { cause }), { type });
}

export function classifyKafkaError(err: unknown): KafkaErrorClass {
  const type = kafkaErrorType(err);
  const known = CLASSES[type];
  if (known !== undefined) return known.class;
  // kafkajs 2.2 predates PRODUCER_FENCED (code 90, Kafka 2.7+) and reports it as an unknown code
  const message = (err as Error | null)?.message ?? String(err);
  if (/fenced|error code 90\b/i.test(message)) return 'fenced';
  return 'retriable';
}

/** A kafkajs failure as a coded streamscore error, by the table above. */
export function kafkaError(cause: unknown, what: string): StreamscoreError {
  const type = kafkaErrorType(cause);
  const message = (cause as Error | null)?.message ?? String(cause);
  const fix = CLASSES[type]?.fix;
  switch (classifyKafkaError(cause)) {
    case 'fenced':
      return new StreamscoreError(
        'SS_FENCED',
        `${what}: this instance was fenced by a newer one (${message})`,
        { cause },
      );
    case 'rebalance':
      return new StreamscoreError('SS_REBALANCE_IN_PROGRESS', `${what}: ${message}`, {
        cause,
        retriable: true,
      });
    case 'window':
      return new StreamscoreError(
        'SS_KAFKA_REJECTED',
        `${what}: the broker refused it (${type}: ${message}); sending it again cannot succeed, so the pipeline halts instead of retrying: ${fix ?? 'see the broker log'}`,
        { cause },
      );
    case 'process':
      return new StreamscoreError(
        'SS_KAFKA_FORBIDDEN',
        `${what}: ${type} (${message}): ${fix ?? 'check the credentials and ACLs'}`,
        { cause },
      );
    default:
      return new StreamscoreError('SS_KAFKA', `${what}: ${message}`, { cause, retriable: true });
  }
}
