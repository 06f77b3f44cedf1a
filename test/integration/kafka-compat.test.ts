/**
 * Compatibility: the whole pipeline against a Kafka 3.9 broker (KRaft), besides the 4.x every other test
 * uses. Kafka 3.9 is what many installations still run; kafkajs speaks the older protocol versions both
 * accept. A private broker of Kafka 3.9.1 (jars resolved from Maven Central into .cache/ on first use), the
 * shared registry and Redis; Redis and the committed prediction topic must equal the oracle.
 */
import test from 'node:test';
import { generateStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { startPrivateKafka } from '../helpers/kafka-server.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';
import assert from 'node:assert/strict';

const KAFKA_3 = '3.9.1';

test(`smoke on Kafka ${KAFKA_3}: CDC and events through to Redis and the committed prediction topic, equal to the oracle`, async () => {
  const broker = await startPrivateKafka(KAFKA_3);
  const env = await createTestEnv('kafka39', { kafka: { brokers: broker.brokers } });
  const stream = generateStream({
    seed: 39,
    customers: 80,
    transactionsPerCustomer: 4,
    partitions: 3,
    deleteRate: 0.1,
  });
  await produceToInputs(env.kafka, env.config, stream);
  const p = spawnPipeline(env.config);
  await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputTopics(env.config), 120000);
  const r = await stopPipeline(p);
  assert.equal(r.code, 0, p.output().slice(-3000));
  await assertEndStateMatchesOracle(env.kafka, env.config, stream, { p });
  await broker.kill();
});
