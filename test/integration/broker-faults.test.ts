/**
 * Invariant: the pipeline rides out broker faults by itself. A broker of the test's own is killed (SIGKILL)
 * and restarted mid-stream (input arriving before, during and after), then paused (SIGSTOP) past the
 * transaction timeout and resumed, also mid-stream; the same
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
  const slices = sliceProducer(env, stream, 9);
  const a = spawnPipeline(config);
  await slices.next();
  // a failure before any fault keeps the instance's output for a diagnosis
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000).catch((err: Error) => {
    err.message += `\nexit ${String(a.child.exitCode)}; instance output:\n${a.output().slice(-6000)}`;
    throw err;
  });
  /**
   * Mid-stream by construction: four slices are produced 300 ms apart while the fault happens (the
   * producer's sends wait through it and go on after), so the instance has input arriving before, during
   * and after the fault, whatever it was doing at the instant of the kill or the pause.
   */
  const feed = (): Promise<void> => {
    const fed = (async () => {
      for (let k = 0; k < 4 && !slices.done; k++) {
        await slices.next();
        await sleep(300);
      }
    })();
    // awaited after the fault; a failure meanwhile is reported there, not as an unhandled rejection
    fed.catch(() => undefined);
    return fed;
  };

  // 1. kill -9 and restart the broker while input is arriving
  let feeding = feed();
  await sleep(450);
  const producedAtKill = slices.produced;
  await kafka.kill();
  await sleep(2000);
  await kafka.start();
  const back1 = Date.now();
  await feeding;
  assert.ok(slices.produced > producedAtKill, 'input went on arriving across the broker restart');
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 180000);
  const recovered1 = Date.now() - back1;
  assert.equal(a.child.exitCode, null, `the instance survives a broker restart\n${a.output().slice(-3000)}`);

  // 2. pause the broker past the transaction timeout while input is arriving
  feeding = feed();
  await sleep(450);
  const producedAtPause = slices.produced;
  kafka.pause();
  await sleep(TXN_TIMEOUT_MS + 3000);
  kafka.resume();
  const back2 = Date.now();
  await feeding;
  assert.ok(slices.produced > producedAtPause, 'input went on arriving across the pause');
  assert.ok(slices.done, 'every slice produced');
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 180000);
  const recovered2 = Date.now() - back2;
  assert.equal(a.child.exitCode, null, `the instance survives a paused broker\n${a.output().slice(-3000)}`);

  const r = await stopPipeline(a);
  assert.equal(r.code, 0, a.output().slice(-3000));
  await assertEndStateMatchesOracle(env.kafka, config, stream, { a }, { consoleConsumer: true });
  t.diagnostic(
    `broker faults: ${stream.cdc.length + stream.transactions.length} input records; caught up ${Math.round(recovered1 / 1000)} s after the broker restart and ${Math.round(recovered2 / 1000)} s after the pause (${TXN_TIMEOUT_MS / 1000 + 3} s) ended; lost 0, duplicates 0`,
  );
});
