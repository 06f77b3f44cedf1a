// One table says what a Kafka failure means: retried, fenced, fatal for the window or for the process.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifyKafkaError,
  kafkaError,
  kafkaErrorType,
  withRefusal,
} from '../../../src/adapters/kafka-errors.js';

/** A kafkajs protocol error, as kafkajs builds it (type from the broker's error code). */
function protocolError(type: string, message = `broker said ${type}`): Error {
  return Object.assign(new Error(message), { name: 'KafkaJSProtocolError', type });
}

/** What kafkajs throws after its own retries: the protocol error is the cause. */
function wrapped(cause: Error): Error {
  return Object.assign(new Error('retries exceeded', { cause }), { name: 'KafkaJSNumberOfRetriesExceeded' });
}

describe('Kafka error classification', () => {
  it('a fenced producer (or a transaction the coordinator timed out) is a fence', () => {
    assert.equal(classifyKafkaError(protocolError('PRODUCER_FENCED')), 'fenced');
    assert.equal(classifyKafkaError(protocolError('INVALID_PRODUCER_EPOCH')), 'fenced');
    // kafkajs 2.2 does not know code 90
    assert.equal(classifyKafkaError(new Error('Unknown error code 90')), 'fenced');
    assert.equal(kafkaError(protocolError('PRODUCER_FENCED'), 'committing').code, 'SS_FENCED');
  });

  it('output the broker refuses as it is halts instead of being retried for ever', () => {
    for (const type of ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'POLICY_VIOLATION']) {
      assert.equal(classifyKafkaError(protocolError(type)), 'window', type);
      const err = kafkaError(wrapped(protocolError(type)), 'sending to predictions');
      assert.equal(err.code, 'SS_KAFKA_REJECTED');
      assert.equal(err.retriable, false);
      assert.match(err.message, new RegExp(`sending to predictions: .*${type}`));
    }
    assert.match(kafkaError(protocolError('MESSAGE_TOO_LARGE'), 'x').message, /max\.message\.bytes/);
  });

  it('a missing permission, failed authentication or missing topic halts the process and names the fix', () => {
    const cases: Array<[string, RegExp]> = [
      [
        'TOPIC_AUTHORIZATION_FAILED',
        /streamscore acls` prints: Read on the input topics, Write on the output topics/,
      ],
      ['GROUP_AUTHORIZATION_FAILED', /Read on the consumer group/],
      [
        'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
        /transactional ids prefixed "<group>\." \(`streamscore acls`/,
      ],
      ['CLUSTER_AUTHORIZATION_FAILED', /IdempotentWrite/],
      ['SASL_AUTHENTICATION_FAILED', /kafka\.sasl/],
      ['UNKNOWN_TOPIC_OR_PARTITION', /topics apply/],
    ];
    for (const [type, fix] of cases) {
      assert.equal(classifyKafkaError(protocolError(type)), 'process', type);
      const err = kafkaError(wrapped(protocolError(type)), 'sending');
      assert.equal(err.code, 'SS_KAFKA_FORBIDDEN');
      assert.equal(err.retriable, false);
      assert.match(err.message, fix);
    }
    const sasl = Object.assign(new Error('SASL PLAIN authentication failed'), {
      name: 'KafkaJSSASLAuthenticationError',
    });
    assert.equal(kafkaErrorType(sasl), 'SASL_AUTHENTICATION_FAILED');
  });

  it('rebalances and transient trouble are retried', () => {
    assert.equal(kafkaError(protocolError('REBALANCE_IN_PROGRESS'), 'x').code, 'SS_REBALANCE_IN_PROGRESS');
    for (const e of [
      protocolError('NOT_LEADER_FOR_PARTITION'),
      protocolError('CONCURRENT_TRANSACTIONS'),
      protocolError('REQUEST_TIMED_OUT'),
      Object.assign(new Error('Connection error: ECONNREFUSED'), { name: 'KafkaJSConnectionError' }),
    ]) {
      assert.equal(classifyKafkaError(e), 'retriable', e.message);
      const err = kafkaError(e, 'x');
      assert.equal(err.code, 'SS_KAFKA');
      assert.equal(err.retriable, true);
    }
  });

  it('a coordinator lookup the broker refused is the refusal kafkajs logged, and halts naming it', () => {
    const notFound = Object.assign(new Error('Failed to find group coordinator'), {
      name: 'KafkaJSGroupCoordinatorNotFound',
    });
    for (const [logged, type] of [
      ['Not authorized to access group: Group authorization failed', 'GROUP_AUTHORIZATION_FAILED'],
      ['Transactional Id authorization failed', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'],
    ] as const) {
      const err = kafkaError(withRefusal(notFound, logged), 'starting');
      assert.equal(err.code, 'SS_KAFKA_FORBIDDEN');
      assert.match(err.message, new RegExp(`${type}[\\s\\S]*streamscore acls`));
    }
    // nothing logged, or another failure: unchanged
    assert.equal(withRefusal(notFound, undefined), notFound);
    const other = protocolError('REQUEST_TIMED_OUT');
    assert.equal(withRefusal(other, 'Group authorization failed'), other);
  });
});
