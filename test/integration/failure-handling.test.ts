/**
 * Invariant: a failure the pipeline cannot get past is loud. A missing topic fails the start, output the
 * broker refuses halts the process naming the window (no retry loop), and a partition that stops
 * committing is reported stalled on /readyz, /metrics and in the log, and recovers by itself. Credentials
 * in a URL never reach the log. Real Kafka, registry and (private) Redis.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { connectTopicAdmin } from '../../src/adapters/kafka.js';
import { generateStream } from '../../src/sample/index.js';
import { readTopic, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { freePort, startPrivateRedis } from '../helpers/redis-server.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import { assertEndStateMatchesOracle, readAudits } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a missing output topic fails the start, naming the topic, the config field and the fix', async () => {
  const env = await createTestEnv('missing-topic');
  const config = env.configWith({ outputs: { audit: `${env.prefix}no-such-audit` } });
  const p = spawnPipeline(config);
  const exit = await Promise.race([p.exited, sleep(60000).then(() => null)]);
  assert.ok(exit !== null, `the process did not exit\n${p.output().slice(-3000)}`);
  assert.equal(exit.code, 1, p.output().slice(-3000));
  assert.match(p.output(), /SS_TOPIC_MISSING/);
  assert.match(
    p.output(),
    /no-such-audit \(outputs\.audit\) does not exist, or this principal may not see it: create it with `streamscore topics apply`/,
  );
});

test('output the broker refuses (MESSAGE_TOO_LARGE) halts the pipeline with SS_KAFKA_REJECTED instead of retrying it for ever; no window with predictions commits', async () => {
  const env = await createTestEnv('too-large');
  const stream = generateStream({ seed: 7, customers: 30, transactionsPerCustomer: 2, partitions: 3 });
  const predictions = env.config.outputs.predictions;
  const admin = await connectTopicAdmin(env.kafka);
  try {
    const current = (await admin.describe([predictions])).get(predictions);
    assert.ok(current !== undefined);
    // a prediction event is a few hundred bytes: none fits
    await admin.setConfig(predictions, { ...current.config, 'max.message.bytes': '120' });
  } finally {
    await admin.close();
  }
  await produceToInputs(env.kafka, env.config, stream);
  const p = spawnPipeline(env.config);
  const exit = await Promise.race([p.exited, sleep(90000).then(() => null)]);
  assert.ok(exit !== null, `the process kept retrying\n${p.output().slice(-3000)}`);
  assert.equal(exit.code, 1, p.output().slice(-3000));
  assert.match(p.output(), /SS_KAFKA_REJECTED/);
  assert.match(p.output(), /MESSAGE_TOO_LARGE/);
  assert.match(p.output(), /max\.message\.bytes/);
  // the refused windows committed nothing: no prediction a read_committed reader sees, and the only
  // windows that committed are ones with nothing to publish there (transactions of customers whose
  // profile is on a partition not processed yet); the others' offsets did not move
  assert.equal((await readTopic(env.kafka, predictions)).length, 0);
  const audits = await readAudits(env.kafka, env.config);
  for (const a of audits) assert.equal(a.counts.emitted, 0, JSON.stringify(a.counts));
  const committedRecords = audits.reduce((n, a) => n + a.counts.received, 0);
  assert.ok(committedRecords < stream.cdc.length + stream.transactions.length);
});

test('a partition stuck on a frozen Redis is reported stalled (/readyz 503 with the reason, gauge 1, error log) and recovers by itself; no loss, no duplicate; the Redis password never reaches the log', async () => {
  const password = 'redis-s3cret-pw';
  const redis = await startPrivateRedis({ aof: false, password });
  const port = await freePort();
  const env = await createTestEnv('stall', {
    redis: { url: redis.url },
    observe: { port, logLevel: 'info', lagIntervalMs: 300, stallAfterMs: 3000 },
    consumer: { sessionTimeoutMs: 30000, heartbeatIntervalMs: 1000 },
  });
  const stream = generateStream({ seed: 11, customers: 80, transactionsPerCustomer: 4, partitions: 3 });
  const half = <T>(all: readonly T[], second: boolean) =>
    second ? all.slice(Math.floor(all.length / 2)) : all.slice(0, Math.floor(all.length / 2));
  const inputs = inputTopics(env.config);
  await produceToInputs(env.kafka, env.config, {
    cdc: half(stream.cdc, false),
    transactions: half(stream.transactions, false),
  });
  const p = spawnPipeline(env.config);
  await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputs, 120000);
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; problems?: string[] } };
  };
  assert.equal((await readyz()).status, 200);

  redis.pause();
  let frozenFor = 0;
  try {
    const frozenAt = Date.now();
    await produceToInputs(env.kafka, env.config, {
      cdc: half(stream.cdc, true),
      transactions: half(stream.transactions, true),
    });
    let seen: Awaited<ReturnType<typeof readyz>> | undefined;
    while (Date.now() - frozenAt < 30000) {
      seen = await readyz();
      if (seen.status === 503) break;
      await sleep(200);
    }
    frozenFor = Date.now() - frozenAt;
    assert.equal(seen?.status, 503, `/readyz stayed ${JSON.stringify(seen)}`);
    assert.ok(
      seen?.body.problems?.some((s) =>
        /^partition .+\/\d+ has committed nothing for \d+ s with records to process$/.test(s),
      ),
      JSON.stringify(seen?.body),
    );
    await sleep(600); // one lag tick: the gauge and the log follow
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /streamscore_partition_stalled\{[^}]*\} 1\b/);
    // the lag is read from the broker while nothing commits, so it shows the waiting records
    assert.match(metrics, /streamscore_consumer_lag\{[^}]*\} [1-9]\d*\b/);
    assert.match(p.output(), /partition stalled/);
    // liveness holds until twice stallAfterMs
    assert.ok(frozenFor < 6000 || (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 503);
  } finally {
    redis.resume();
  }
  await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputs, 120000);
  const deadline = Date.now() + 20000;
  while ((await readyz()).status !== 200) {
    assert.ok(Date.now() < deadline, `/readyz did not recover: ${JSON.stringify(await readyz())}`);
    await sleep(200);
  }
  await sleep(600);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.doesNotMatch(metrics, /streamscore_partition_stalled\{[^}]*\} 1\b/);
  assert.match(p.output(), /partition moving again/);
  const r = await stopPipeline(p);
  assert.equal(r.code, 0, p.output().slice(-3000));
  assert.ok(!p.output().includes(password), 'the Redis password is in the log');
  assert.match(p.output(), /redis:\/\/:\[redacted\]@127\.0\.0\.1/);
  await assertEndStateMatchesOracle(env.kafka, env.config, stream, { p }, { consoleConsumer: true });
});
