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
import type { RunningPipeline } from '../helpers/process.js';
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

  // one run per crash point, each killed there (SIGKILL) at its nth window, each resuming the last one's work:
  // before the Redis write (nothing written), after it (Redis ahead of Kafka), after sendOffsets (before
  // the commit)
  const crashed: Record<string, RunningPipeline> = {};
  for (const [point, after] of [
    ['before-redis-write', '3'],
    ['after-redis-write', '4'],
    ['before-commit', '3'],
  ] as const) {
    const run = spawnPipeline(config, {
      STREAMSCORE_TEST_CRASH_POINT: point,
      STREAMSCORE_TEST_CRASH_AFTER: after,
    });
    const r = await run.exited;
    assert.equal(r.signal, 'SIGKILL', `the run was killed at ${point}\n${run.output().slice(-2000)}`);
    crashed[point] = run;
  }

  // the last run: no crash; finishes the stream and stops on SIGTERM
  const last = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 120000);
  const r = await stopPipeline(last);
  assert.equal(r.code, 0, `clean stop on SIGTERM\n${last.output().slice(-2000)}`);

  await assertEndStateMatchesOracle(env.kafka, config, stream, { ...crashed, last });
});
