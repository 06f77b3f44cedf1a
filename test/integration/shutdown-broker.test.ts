/**
 * Invariant: SIGTERM stops the process within `shutdown.timeoutMs` whatever state the broker left it in.
 * A broker of the test's own is killed and restarted, or paused past the transaction timeout and resumed,
 * while windows commit; right after it is back the instance gets SIGTERM. It must exit within the bound
 * (0, or 3 with the step that could not complete named), and a new instance then resumes with nothing lost
 * and nothing twice.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { generateStream } from '../../src/sample/index.js';
import type { SampleStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { startPrivateKafka } from '../helpers/kafka-server.js';
import type { PrivateKafka } from '../helpers/kafka-server.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import type { RunningPipeline } from '../helpers/process.js';
import { freePort } from '../helpers/redis-server.js';
import { createTestEnv } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import type { TestEnv } from '../helpers/services.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BOUND_MS = 8000;
const TXN_TIMEOUT_MS = 10000;

async function scenario(
  t: test.TestContext,
  label: string,
  disturb: (kafka: PrivateKafka) => Promise<void>,
  stop: (a: RunningPipeline, port: number, kafka: PrivateKafka) => Promise<void> = async (a) => {
    const t0 = Date.now();
    const { code } = await stopPipeline(a, BOUND_MS + 10000);
    const ms = Date.now() - t0;
    t.diagnostic(`stopped in ${ms} ms (exit ${code})`);
    assert.ok(ms < BOUND_MS + 1000, `stopped in ${ms} ms (bound ${BOUND_MS})\n${a.output().slice(-3000)}`);
    if (code !== 0) {
      assert.equal(code, 3, `an unclean stop exits 3\n${a.output().slice(-3000)}`);
      assert.match(a.output(), /shutdown step \\"\w+\\" failed/, 'the step that failed is named');
    }
  },
): Promise<void> {
  const kafka = await startPrivateKafka();
  const env: TestEnv = await createTestEnv(label, {
    kafka: { brokers: kafka.brokers, transactionTimeoutMs: TXN_TIMEOUT_MS },
    window: { maxRecords: 50, maxRecordsBehind: 50, maxBytes: 1048576, maxDelayMs: 100 },
    shutdown: { timeoutMs: BOUND_MS },
  });
  const stream: SampleStream = generateStream({ seed: 71, customers: 200, transactionsPerCustomer: 8 });
  const inputs = [...env.config.inputs.cdc, ...env.config.inputs.events].map((i) => i.topic);
  const halves = sliceProducer(env, stream, 2);
  /** Input records the group has committed (asked of the broker: no consumer lives across its faults). */
  const committed = async () => {
    const admin = env.kafka.admin();
    try {
      await admin.connect();
      const res = await admin.fetchOffsets({ groupId: env.config.consumer.groupId, topics: inputs });
      return res.flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    } catch {
      return 0; // a broker that just started answers "coordinator loading" for a while
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
  const port = await freePort();
  const a = spawnPipeline(env.configWith({ observe: { port } }));
  await halves.next();
  const deadline = Date.now() + 90000;
  while ((await committed()) < 150) {
    assert.ok(Date.now() < deadline, `first commits\n${a.output().slice(-3000)}`);
    await sleep(50);
  }
  await disturb(kafka);
  await stop(a, port, kafka);
  // a new instance resumes: nothing lost, nothing twice
  await halves.next();
  const b = spawnPipeline(env.config);
  await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputs, 180000);
  const last = await stopPipeline(b, BOUND_MS + 10000);
  assert.equal(last.code, 0, b.output().slice(-3000));
  await assertEndStateMatchesOracle(env.kafka, env.config, stream, { A: a, B: b });
}

test('shutdown right after a broker restart: exit within the bound; a restart resumes with nothing lost or doubled', async (t) => {
  await scenario(t, 'stop-broker-restart', async (kafka) => {
    await kafka.kill();
    await sleep(1000);
    await kafka.start();
  });
});

test('shutdown right after a broker pause past the transaction timeout: exit within the bound; a restart resumes with nothing lost or doubled', async (t) => {
  await scenario(t, 'stop-broker-pause', async (kafka) => {
    kafka.pause();
    await sleep(TXN_TIMEOUT_MS + 4000);
    kafka.resume();
    await sleep(500);
  });
});

test('a second signal during a stop exits at once with code 4; /readyz answers 503 from the first signal', async (t) => {
  await scenario(
    t,
    'stop-twice',
    async (kafka) => {
      kafka.pause(); // the running windows hang on the broker: the stop waits for them
      await sleep(1000);
    },
    async (a, port, kafka) => {
      const exited = a.exited;
      a.child.kill('SIGTERM');
      const t0 = Date.now();
      let ready = 200;
      while (Date.now() - t0 < 2000 && ready !== 503) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        await sleep(20);
      }
      assert.equal(ready, 503, '/readyz answers 503 once the stop began');
      assert.equal(a.child.exitCode, null, 'still stopping (waiting for its windows)');
      a.child.kill('SIGTERM');
      const t1 = Date.now();
      const { code } = await exited;
      t.diagnostic(
        `503 ${Date.now() - t0} ms after the first signal; exit ${code} ${Date.now() - t1} ms after the second`,
      );
      assert.equal(code, 4, a.output().slice(-3000));
      assert.ok(Date.now() - t1 < 1000, 'at once');
      assert.match(a.output(), /second signal while stopping/);
      kafka.resume();
    },
  );
});
