/**
 * Invariant: the production topic settings keep exactly-once through the loss of a broker. On a real
 * three-node cluster replicated as production is (test/helpers/kafka-cluster.ts), `topics plan|apply --env
 * production` finds nothing unsafe and creates 3-replica topics with min.insync.replicas 2; then the node
 * leading the first input partition is SIGKILLed mid-stream. With two in-sync replicas left every write
 * (acks=all) goes on: the same instance catches up while the node is down; the node comes back; Redis equals
 * the oracle and Kafka's own read_committed console consumer sees every prediction exactly once.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { connectTopicAdmin } from '../../src/adapters/kafka.js';
import { loadOverlay } from '../../src/admin/topic-env.js';
import { safetyAgainstCluster } from '../../src/admin/topics.js';
import { ENV } from '../../src/config/index.js';
import { generateStream } from '../../src/sample/index.js';
import { readTopic, waitCaughtUp } from '../helpers/kafka.js';
import { startPrivateKafkaCluster } from '../helpers/kafka-cluster.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics, serviceEnv } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('production topics on three brokers: apply --env production passes the durability check; a broker SIGKILLed mid-stream costs nothing (writes go on with 2 in-sync replicas); no loss, no duplicate (console consumer), Redis equals the oracle', async (t) => {
  const cluster = await startPrivateKafkaCluster(3);
  t.after(() => cluster.stop());
  const env = await createTestEnv(
    'three-brokers',
    {
      kafka: { brokers: cluster.brokers, transactionTimeoutMs: 15000 },
      window: { maxRecords: 50, maxRecordsBehind: 50, maxBytes: 1048576, maxDelayMs: 100 },
      consumer: { sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000 },
    },
    { topicsEnv: 'production' },
  );
  const config = env.config;
  const inputs = inputTopics(config);

  // the user's path: the CLI against this cluster sees the applied topics in sync and nothing unsafe
  const plan = spawnSync(
    process.execPath,
    ['bin/streamscore.js', 'topics', 'plan', '--env', 'production', '--prefix', env.prefix],
    {
      encoding: 'utf8',
      env: { ...process.env, ...serviceEnv(), [ENV.kafkaBrokers]: cluster.brokers.join(',') },
    },
  );
  assert.equal(plan.status, 0, plan.stdout + plan.stderr);
  assert.match(plan.stdout, /in sync/);
  assert.doesNotMatch(plan.stdout, /unsafe|warning/);
  const admin = await connectTopicAdmin(env.kafka);
  try {
    const state = await admin.describe([config.outputs.predictions, inputs[1]]);
    assert.equal(state.get(config.outputs.predictions)?.replicationFactor, 3);
    assert.equal(state.get(config.outputs.predictions)?.config['min.insync.replicas'], '2');
    assert.equal(state.get(inputs[1])?.partitions, 12);
    const overlay = loadOverlay('topics', 'production');
    const specs = [...state.keys()].map((name) => ({
      name,
      partitions: state.get(name)?.partitions ?? 1,
      replicationFactor: state.get(name)?.replicationFactor ?? 1,
      config: state.get(name)?.config ?? {},
    }));
    assert.deepEqual(
      await safetyAgainstCluster(admin, specs, overlay.require),
      [],
      'the broker settings pass',
    );
  } finally {
    await admin.close();
  }

  const stream = generateStream({ seed: 91, customers: 300, transactionsPerCustomer: 6, deleteRate: 0.05 });
  const slices = sliceProducer(env, stream, 8);
  const a = spawnPipeline(config);
  await slices.next();
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 180000).catch((err: Error) => {
    err.message += `\ninstance output:\n${a.output().slice(-4000)}`;
    throw err;
  });

  // kill the node leading the first input partition while input arrives
  const meta = await env.kafka.admin();
  await meta.connect();
  const leader = (await meta.fetchTopicMetadata({ topics: [inputs[0]] })).topics[0]?.partitions.find(
    (p) => p.partitionId === 0,
  )?.leader;
  await meta.disconnect();
  const victim =
    cluster.nodes.find((n) => n.id === leader) ?? (cluster.nodes[1] as (typeof cluster.nodes)[number]);
  const feeding = (async () => {
    while (!slices.done) {
      await slices.next();
      await sleep(300);
    }
  })();
  feeding.catch(() => undefined);
  await sleep(450);
  const producedAtKill = slices.produced;
  await victim.kill();
  const killedAt = Date.now();
  await feeding;
  assert.ok(slices.produced > producedAtKill, 'input went on arriving with the node down');
  // caught up with the node still down: two in-sync replicas take every acks=all write
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputs, 180000).catch((err: Error) => {
    err.message += `\ninstance output:\n${a.output().slice(-4000)}`;
    throw err;
  });
  const caughtUpMs = Date.now() - killedAt;
  assert.equal(
    a.child.exitCode,
    null,
    `the instance survives the loss of a broker\n${a.output().slice(-3000)}`,
  );

  await victim.start();
  await cluster.waitBrokers(3);
  const r = await stopPipeline(a);
  assert.equal(r.code, 0, a.output().slice(-3000));
  await assertEndStateMatchesOracle(env.kafka, config, stream, { a }, { consoleConsumer: true }).catch(
    async (err: Error) => {
      // say where the first missing entity's input is: on the input topics (per partition) or not
      const id = /customer (\d+)/.exec(err.message)?.[1] ?? '';
      const cdc = await readTopic(env.kafka, inputs[0]);
      const tx = await readTopic(env.kafka, inputs[1]);
      const preds = await readTopic(env.kafka, config.outputs.predictions);
      const inTx = tx.filter((m) => m.key?.toString() === id).map((m) => `${m.partition}@${m.offset}`);
      const inPred = preds.filter((m) => m.key?.toString() === id).length;
      const cdcOf = stream.cdc.filter((r) => String(r.key.id) === id);
      const wantTx = stream.transactions.filter((r) => String(r.key) === id).length;
      const perPart = (msgs: ReadonlyArray<{ partition: number }>) => {
        const c: Record<number, number> = {};
        for (const m of msgs) c[m.partition] = (c[m.partition] ?? 0) + 1;
        return JSON.stringify(c);
      };
      const inCdc = `stream ${cdcOf.length} records in partition ${cdcOf[0]?.partition}; topic per partition ${perPart(cdc)} vs stream ${perPart(stream.cdc)}`;
      err.message += `\ninput of customer ${id}: cdc ${inCdc}, tx ${JSON.stringify(inTx)} (stream ${wantTx}), predictions ${inPred}; topic sizes cdc ${cdc.length}/${stream.cdc.length} tx ${tx.length}/${stream.transactions.length}; killed node ${victim.id}\n${a.output().slice(-3000)}`;
      throw err;
    },
  );
  t.diagnostic(
    `three brokers, production topics: node ${victim.id} (leader of ${inputs[0]}/0) killed mid-stream; ${stream.cdc.length + stream.transactions.length} input records; caught up ${Math.round(caughtUpMs / 1000)} s after the kill with the node still down; lost 0, duplicates 0`,
  );
});
