/**
 * Invariant: a process killed with SIGKILL at any point of its commit protocol (before the Redis write,
 * between the Redis write and the Kafka transaction, between sendOffsets and the commit) loses nothing and
 * duplicates nothing. After a restart a read_committed reader sees every prediction once and Redis equals
 * the oracle.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { generateStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

test('crash: kill -9 at every point of the commit protocol, restart: no duplicates, nothing missing, Redis equals the oracle', async () => {
  const env = await createTestEnv('crash', {
    // many small fixed-size windows, so the crash lands in the middle of the stream
    window: { maxRecords: 50, maxRecordsBehind: 50, maxBytes: 1048576, maxDelayMs: 100 },
  });
  const config = env.config;
  const stream = generateStream({
    seed: 11,
    customers: 120,
    transactionsPerCustomer: 10,
    partitions: 3,
    deleteRate: 0.1,
  });
  const inputs = inputTopics(config);
  await produceToInputs(env.kafka, config, stream);

  // 1st run: dies at the 3rd window that reaches "before the Redis write" (the window computed, nothing written)
  const zeroth = spawnPipeline(config, {
    STREAMSCORE_TEST_CRASH_POINT: 'before-redis-write',
    STREAMSCORE_TEST_CRASH_AFTER: '3',
  });
  const r0 = await zeroth.exited;
  assert.equal(
    r0.signal,
    'SIGKILL',
    `the run was killed before its Redis write\n${zeroth.output().slice(-2000)}`,
  );

  // 2nd run: dies at the 4th window that reaches "after Redis write, before the transaction"
  const first = spawnPipeline(config, {
    STREAMSCORE_TEST_CRASH_POINT: 'after-redis-write',
    STREAMSCORE_TEST_CRASH_AFTER: '4',
  });
  const r1 = await first.exited;
  assert.equal(
    r1.signal,
    'SIGKILL',
    `the first run was killed at the crash point\n${first.output().slice(-2000)}`,
  );

  // 3rd run: dies after sendOffsets, before commit
  const second = spawnPipeline(config, {
    STREAMSCORE_TEST_CRASH_POINT: 'before-commit',
    STREAMSCORE_TEST_CRASH_AFTER: '3',
  });
  const r2 = await second.exited;
  assert.equal(
    r2.signal,
    'SIGKILL',
    `the second run was killed at the crash point\n${second.output().slice(-2000)}`,
  );

  // 4th run: no crash; finishes the stream and stops on SIGTERM
  const third = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000);
  const r3 = await stopPipeline(third);
  assert.equal(r3.code, 0, `clean stop on SIGTERM\n${third.output().slice(-2000)}`);

  await assertEndStateMatchesOracle(env.kafka, config, stream, { zeroth, first, second, third });
});
