/**
 * Invariant: the pipeline rides out broker faults by itself. A broker of the test's own is killed (SIGKILL)
 * and restarted mid-stream, then paused (SIGSTOP) past the transaction timeout and resumed; the same
 * instance keeps running through both, catches up each time without a restart, and in the end Redis equals
 * the oracle and Kafka's own read_committed console consumer sees every prediction exactly once.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { generateStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { startPrivateKafka } from '../helpers/kafka-server.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TXN_TIMEOUT_MS = 10000;
/** What the instance logs when a fault meets a window in flight (ours, or kafkajs's producer retrying). */
const IN_FLIGHT_FAULT =
  /window aborted|fenced|consumer crashed|Failed to send messages|Response (Produce|AddPartitionsToTxn|AddOffsetsToTxn|TxnOffsetCommit|EndTxn)\b/;

test('broker SIGKILLed and restarted, then SIGSTOPped past the transaction timeout: the same instance resumes by itself each time; no loss, no duplicate (console consumer), Redis equals the oracle', async (t) => {
  const kafka = await startPrivateKafka();
  const env = await createTestEnv('broker-faults', {
    kafka: { brokers: kafka.brokers, transactionTimeoutMs: TXN_TIMEOUT_MS },
    window: { maxRecords: 50, maxRecordsBehind: 50, maxBytes: 1048576, maxDelayMs: 100 },
    consumer: { sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000 },
  });
  const config = env.config;
  const inputs = inputTopics(config);
  const stream = generateStream({ seed: 73, customers: 400, transactionsPerCustomer: 8, deleteRate: 0.05 });
  const slices = sliceProducer(env, stream, 3);
  const a = spawnPipeline(config);
  await slices.next();
  // a failure before any fault keeps the instance's output for a diagnosis
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000).catch((err: Error) => {
    err.message += `\nexit ${String(a.child.exitCode)}; instance output:\n${a.output().slice(-6000)}`;
    throw err;
  });

  // 1. kill -9 and restart the broker while the next slice is being processed
  await slices.next();
  const before1 = a.output().length;
  await kafka.kill();
  await sleep(2000);
  await kafka.start();
  const back1 = Date.now();
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 180000);
  const recovered1 = Date.now() - back1;
  assert.equal(a.child.exitCode, null, `the instance survives a broker restart\n${a.output().slice(-3000)}`);
  // the fault hit windows in flight, not an idle instance: they were aborted and fetched again, or their
  // sends met the dead broker and the producer's own retries carried them through once it was back (both
  // are right; the end state below proves neither lost nor duplicated anything)
  assert.match(a.output().slice(before1), IN_FLIGHT_FAULT);

  // 2. pause the broker past the transaction timeout while windows are in flight
  await slices.next();
  const before2 = a.output().length;
  kafka.pause();
  await sleep(TXN_TIMEOUT_MS + 3000);
  kafka.resume();
  const back2 = Date.now();
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 180000);
  const recovered2 = Date.now() - back2;
  assert.equal(a.child.exitCode, null, `the instance survives a paused broker\n${a.output().slice(-3000)}`);
  assert.match(a.output().slice(before2), IN_FLIGHT_FAULT);

  const r = await stopPipeline(a);
  assert.equal(r.code, 0, a.output().slice(-3000));
  await assertEndStateMatchesOracle(env.kafka, config, stream, { a }, { consoleConsumer: true });
  t.diagnostic(
    `broker faults: ${stream.cdc.length + stream.transactions.length} input records; caught up ${Math.round(recovered1 / 1000)} s after the broker restart and ${Math.round(recovered2 / 1000)} s after the pause (${TXN_TIMEOUT_MS / 1000 + 3} s) ended; lost 0, duplicates 0`,
  );
});
