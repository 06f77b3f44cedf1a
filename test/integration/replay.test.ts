/**
 * Invariant: `streamscore replay` scores history with a pinned older model into a key prefix and topics of
 * its own, leaves live keys and topics untouched, and equals an independent oracle of that model on that
 * history — also when SIGKILLed midway (after a window's Redis write) and run again: no (entity, version)
 * twice for read_committed readers (kafkajs and Kafka's own console consumer).
 *
 * The live pipeline scores the stream with model 2 first; the replay scores the same history with model 1.
 * The oracle (test/helpers/oracle.ts) computes each customer's final features from the generated stream
 * and scores them with model 1's weights read from its ONNX file.
 */
import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { Redis } from 'ioredis';
import { replayConfig } from '../../src/replay/index.js';
import { generateStream } from '../../src/sample/index.js';
import { cli } from '../helpers/cli.js';
import { topicSize, waitCaughtUp } from '../helpers/kafka.js';
import { expectedPredictions } from '../helpers/oracle.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import {
  assertPredictionEventsMatch,
  assertRedisMatches,
  readPredictions,
  readPredictionsWithConsoleConsumer,
} from '../helpers/verify.js';

/** Every key under the live prefix that is not the replay's, with its hash or string value. */
async function liveKeys(url: string, prefix: string, exclude: string): Promise<Map<string, string>> {
  const r = new Redis(url);
  try {
    const out = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        if (k.startsWith(exclude)) continue;
        const type = await r.type(k);
        out.set(k, type === 'hash' ? JSON.stringify(await r.hgetall(k)) : String(await r.get(k)));
      }
    } while (cursor !== '0');
    return out;
  } finally {
    await r.quit();
  }
}

test('replay with an older model: its own prefix and topics equal the oracle of that model on the history, live keys and topics untouched, across a SIGKILL and a resume', async (t) => {
  const env = await createTestEnv('replay', {
    window: { maxRecords: 150, maxRecordsBehind: 150, maxBytes: 1048576, maxDelayMs: 50 },
  });
  const config = env.config;
  assert.equal(config.model.version, '2');
  const dir = await mkdtemp(join(tmpdir(), 'streamscore-replay-'));
  const configFile = join(dir, 'config.json');
  await writeFile(configFile, JSON.stringify(config));
  const stream = generateStream({ seed: 89, customers: 250, transactionsPerCustomer: 5, deleteRate: 0.06 });
  await produceToInputs(env.kafka, config, stream);
  const live = spawnPipeline(config);
  t.after(() => live.child.kill('SIGKILL'));
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000);
  assert.equal((await stopPipeline(live)).code, 0, live.output().slice(-3000));

  const replayed = replayConfig(config, 'v1', '1');
  const before = {
    keys: await liveKeys(config.redis.url, config.redis.keyPrefix, replayed.redis.keyPrefix),
    predictions: await topicSize(env.kafka, config.outputs.predictions),
    audit: await topicSize(env.kafka, config.outputs.audit),
  };
  assert.ok(before.keys.size > 200, `${before.keys.size} live keys`);

  // 1. SIGKILLed right after the Redis write of its fourth window
  const killed = await cli(['replay', '--job', 'v1', '--model', '1', '--config', configFile], {
    STREAMSCORE_TEST_CRASH_POINT: 'after-redis-write',
    STREAMSCORE_TEST_CRASH_AFTER: '4',
  });
  assert.equal(killed.signal, 'SIGKILL', killed.all.slice(-3000));
  assert.match(killed.all, /test crash point "after-redis-write" reached/);
  // 2. the same command resumes and completes
  const resumed = await cli(['replay', '--job', 'v1', '--model', '1', '--config', configFile, '--json']);
  assert.equal(resumed.code, 0, resumed.all.slice(-3000));
  // (whether the killed run had committed a window yet depends on timing: either way this run goes on from
  // the group's committed offsets, and a window whose Redis write survived re-emits its stored predictions)
  const report = JSON.parse(resumed.out) as { completed: boolean; records: string };
  assert.equal(report.completed, true);
  assert.equal(report.records, String(stream.cdc.length + stream.transactions.length));

  // live keys and topics untouched
  const after = {
    keys: await liveKeys(config.redis.url, config.redis.keyPrefix, replayed.redis.keyPrefix),
    predictions: await topicSize(env.kafka, config.outputs.predictions),
    audit: await topicSize(env.kafka, config.outputs.audit),
  };
  assert.deepEqual(after.predictions, before.predictions, 'live prediction topic untouched');
  assert.deepEqual(after.audit, before.audit, 'live audit topic untouched');
  assert.equal(after.keys.size, before.keys.size, 'no live key added or removed');
  for (const [k, v] of before.keys) assert.equal(after.keys.get(k), v, `live key ${k} untouched`);

  // the replay's own outputs: the oracle of model 1
  const expected = await expectedPredictions(stream, {
    dir: join(process.cwd(), 'models'),
    name: config.model.name,
    version: '1',
  });
  await assertRedisMatches(replayed, expected);
  const events = await readPredictions(env.kafka, replayed);
  assertPredictionEventsMatch(events, expected);
  assertPredictionEventsMatch(await readPredictionsWithConsoleConsumer(env.kafka, replayed), expected);
  assert.ok(events.every((e) => e.model.version === '1'));
  // and it differs from the live model's (the test would not notice a replay that scored with model 2)
  const live2 = await expectedPredictions(stream, {
    dir: join(process.cwd(), 'models'),
    name: config.model.name,
    version: '2',
  });
  const differ = [...expected.values()].filter(
    (e) => e.score !== null && e.score !== live2.get(e.entityId)?.score,
  ).length;
  assert.ok(differ > 0, 'models 1 and 2 score this history differently');

  // 3. from the middle of the log: the state is rebuilt up to there without emitting, events from there on
  const fromJob = replayConfig(config, 'v1mid', '1');
  const admin = env.kafka.admin();
  await admin.connect();
  const from = new Map<string, bigint>();
  for (const topic of inputTopics(config))
    for (const p of await admin.fetchTopicOffsets(topic))
      from.set(`${topic}/${p.partition}`, (BigInt(p.high) + BigInt(p.low)) / 2n);
  await admin.disconnect();
  const fromArg = [...from].map(([k, o]) => `${k}@${o}`).join(',');
  const mid = await cli([
    'replay',
    '--job',
    'v1mid',
    '--model',
    '1',
    '--from',
    fromArg,
    '--config',
    configFile,
  ]);
  assert.equal(mid.code, 0, mid.all.slice(-3000));
  // Redis: every customer as of the whole history (the rebuild up to the start, then the windows after it)
  await assertRedisMatches(fromJob, expected);
  const midEvents = await readPredictions(env.kafka, fromJob);
  assert.ok(midEvents.length > 0, 'events from the start on');
  for (const e of midEvents)
    for (const i of e.inputs)
      assert.ok(
        BigInt(i.offset) >= (from.get(`${i.topic}/${i.partition}`) ?? 0n),
        `event of ${e.entity_id} from ${i.topic}/${i.partition}@${i.offset}, before the start`,
      );
  const withEvents = new Set(midEvents.map((e) => e.entity_id));
  assertPredictionEventsMatch(midEvents, new Map([...expected].filter(([id]) => withEvents.has(id))));

  // 4. a finished job run again does nothing
  const sizeBefore = await topicSize(env.kafka, replayed.outputs.predictions);
  const again = await cli(['replay', '--job', 'v1', '--model', '1', '--config', configFile, '--json']);
  assert.equal(again.code, 0, again.all.slice(-3000));
  assert.equal(await topicSize(env.kafka, replayed.outputs.predictions), sizeBefore);
  t.after(async () => {
    const admin = env.kafka.admin();
    await admin.connect();
    const names = [replayed, fromJob].flatMap((c) => [
      c.outputs.predictions,
      c.outputs.audit,
      c.outputs.dlq,
      c.outputs.quarantine,
    ]);
    await admin.deleteTopics({ topics: names }).catch(() => undefined);
    await admin.disconnect();
  });
  t.diagnostic(
    `replay: ${report.records} records with model 1; from the middle: ${midEvents.length} events of ${withEvents.size} customers into ${replayed.redis.keyPrefix}* (SIGKILLed once, resumed); ${expected.size} customers equal the oracle, ${differ} scored differently from model 2; ${before.keys.size} live keys untouched`,
  );
});
