/**
 * Invariant: a committed window can be shown again. After a run, `streamscore verify` re-reads every
 * window's input records at the audited offsets (their sha256 must equal the audit's), re-scores every
 * prediction from its recorded vector with the model of its recorded sha256 (bit for bit) and compares
 * Redis where it still holds the batch's prediction: 100% of the batches verify, and with `--deep` every
 * prediction's feature state rebuilt from the input log (up to its recorded basis) gives its recorded
 * vector. Then four kinds of tampering, each detected and named: a score changed in Redis, a forged
 * prediction event on the topic (a recorded vector with another score), a forged event whose vector the
 * log does not give (--deep), and an input record deleted from the log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import avro from 'avsc';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createPlainProducer } from '../../src/adapters/kafka-produce.js';
import { LookupClient } from '../../src/lookup/index.js';
import { generateStream } from '../../src/sample/index.js';
import { entityKeys } from '../../src/sink/keys.js';
import { cli } from '../helpers/cli.js';
import { readTopic, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { readAudits, readPredictions } from '../helpers/verify.js';

const predictionType = avro.Type.forSchema(
  JSON.parse(readFileSync('schemas/predictions-value.avsc', 'utf8')) as avro.Schema,
);

test('verify: 100% of the batches of a run verify (inputs re-read and hashed, every score recomputed bit for bit, Redis compared); a changed Redis score, a forged prediction event and a deleted input record are each detected and named', async (t) => {
  // small windows: several per partition, so some start past offset 0
  const env = await createTestEnv('verify', {
    window: { maxRecords: 60, maxRecordsBehind: 60, maxBytes: 1048576, maxDelayMs: 100 },
  });
  const config = env.config;
  const stream = generateStream({ seed: 17, customers: 200, transactionsPerCustomer: 6, deleteRate: 0.03 });
  await sliceProducer(env, stream, 1).next();
  const a = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000);
  assert.equal((await stopPipeline(a)).code, 0, a.output().slice(-3000));
  const dir = mkdtempSync(join(tmpdir(), 'verify-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const audits = await readAudits(env.kafka, config);
  assert.ok(audits.length >= 5, `enough windows (${audits.length})`);

  // 1. everything verifies
  const all = await cli(['verify', '--sample', '100000', '--config', configFile]);
  assert.equal(all.code, 0, all.all);
  const summary =
    /^(\d+) of (\d+) batches verified \((\d+) input records, (\d+) predictions re-scored, (\d+) Redis entries compared\) in ([\d.]+) s$/m.exec(
      all.out,
    );
  assert.ok(summary, all.all);
  assert.equal(Number(summary[1]), audits.length, 'every batch verified');
  assert.equal(Number(summary[2]), audits.length);
  assert.equal(
    Number(summary[3]),
    stream.cdc.length + stream.transactions.length,
    'every input record re-read',
  );
  assert.ok(Number(summary[5]) > 0, 'Redis compared where it still holds a batch prediction');
  const seconds = Number(summary[6]);

  // 1b. --deep: every prediction's state rebuilt from the log gives its recorded vector
  const deep = await cli(['verify', '--sample', '100000', '--deep', '--config', configFile]);
  assert.equal(deep.code, 0, deep.all);
  const deepSummary =
    /^(\d+) of (\d+) batches verified \((\d+) input records, (\d+) predictions re-scored, (\d+) Redis entries compared, (\d+) states rebuilt from the log\) in ([\d.]+) s$/m.exec(
      deep.out,
    );
  assert.ok(deepSummary, deep.all);
  assert.equal(Number(deepSummary[1]), audits.length, 'every batch verified deep');
  assert.equal(
    Number(deepSummary[6]),
    Number(deepSummary[4]),
    'the state of every prediction was rebuilt (each carries its basis)',
  );
  assert.doesNotMatch(deep.out, /carry no basis/);
  const deepSeconds = Number(deepSummary[7]);

  // 2. a score changed in Redis
  const predictions = await readPredictions(env.kafka, config);
  const lookup = new LookupClient({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    pipeline: config.pipeline.name,
  });
  let victim: { id: string; batch: string; version: number } | undefined;
  for (const p of predictions) {
    if (p.event_type !== 'UPSERT') continue;
    const stored = await lookup.get(p.entity_id);
    if (stored !== null && stored.version === Number(p.version)) {
      victim = { id: p.entity_id, batch: p.batch_id, version: stored.version };
      break;
    }
  }
  await lookup.close();
  assert.ok(victim, 'an entity whose Redis prediction is a batch event');
  const redis = new Redis(config.redis.url);
  const key = entityKeys(config.redis.keyPrefix, config.pipeline.name, victim.id).prediction;
  const json = JSON.parse((await redis.hget(key, 'json')) as string) as { score: number };
  json.score = Math.fround(json.score / 2);
  await redis.hset(key, 'json', JSON.stringify(json));
  await redis.quit();
  const redisTampered = await cli(['verify', victim.batch, '--config', configFile]);
  assert.equal(redisTampered.code, 1, redisTampered.all);
  assert.match(
    redisTampered.out,
    new RegExp(`MISMATCH ${victim.batch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
  );
  assert.match(
    redisTampered.out,
    new RegExp(`Redis ${victim.id} v${victim.version}: score [\\d.e-]+ stored`),
  );

  // 3. a forged prediction event: a recorded vector of another batch with a score the model does not give
  const real = (await readTopic(env.kafka, config.outputs.predictions)).find((m) => {
    if (m.value === null) return false;
    const e = predictionType.fromBuffer(m.value.subarray(5)) as { event_type: string; batch_id: string };
    return e.event_type === 'UPSERT' && e.batch_id !== victim.batch;
  });
  assert.ok(real?.value);
  const event = predictionType.fromBuffer(real.value.subarray(5)) as {
    entity_id: string;
    batch_id: string;
    score: number;
    version: number;
  };
  const forged = { ...event, score: Math.fround(1 - event.score), version: event.version + 1 };
  const producer = createPlainProducer(env.kafka);
  await producer.send(config.outputs.predictions, [
    {
      key: Buffer.from(event.entity_id),
      partition: real.partition,
      value: Buffer.concat([real.value.subarray(0, 5), predictionType.toBuffer(forged)]),
    },
  ]);
  await producer.close();
  const eventTampered = await cli(['verify', event.batch_id, '--config', configFile]);
  assert.equal(eventTampered.code, 1, eventTampered.all);
  assert.match(
    eventTampered.out,
    new RegExp(
      `prediction ${event.entity_id} v${forged.version} at \\d+@\\d+: score [\\d.e-]+ recorded, model \\S+ \\(sha256 [0-9a-f]{12}…\\) gives`,
    ),
  );

  // 3b. a forged event whose vector is not what its basis gives: only --deep can tell (score consistent
  // with nothing: the shallow check names the score, the deep one the feature)
  const realEvent = predictionType.fromBuffer(real.value.subarray(5)) as {
    entity_id: string;
    batch_id: string;
    features: number[];
    version: number;
    basis: unknown[] | null;
  };
  assert.ok(realEvent.basis !== null && realEvent.basis.length > 0, 'events carry their basis');
  const bent = {
    ...realEvent,
    features: realEvent.features.map((f, i) => (i === 0 ? Math.fround(f + 1) : f)),
    version: realEvent.version + 2,
  };
  const producer2 = createPlainProducer(env.kafka);
  await producer2.send(config.outputs.predictions, [
    {
      key: Buffer.from(realEvent.entity_id),
      partition: real.partition,
      value: Buffer.concat([real.value.subarray(0, 5), predictionType.toBuffer(bent)]),
    },
  ]);
  await producer2.close();
  const vectorTampered = await cli(['verify', realEvent.batch_id, '--deep', '--config', configFile]);
  assert.equal(vectorTampered.code, 1, vectorTampered.all);
  assert.match(
    vectorTampered.out,
    new RegExp(
      `prediction ${realEvent.entity_id} v${bent.version} at \\d+@\\d+: the vector differs from the state rebuilt from the log \\(\\d+ events, LSN [^)]*\\): \\S+ recorded [\\d.e-]+, rebuilt [\\d.e-]+$`,
      'm',
    ),
  );
  // the untouched events of that batch still rebuild: only the forged one is named
  assert.equal(
    vectorTampered.out.split('\n').filter((l) => l.includes('the vector differs')).length,
    1,
    vectorTampered.out,
  );

  // 4. an input record deleted from the log (the first of an event-topic window that starts past offset 0)
  const target = audits.find(
    (x) =>
      x.inputs.length === 1 &&
      // the event topic: Kafka refuses DeleteRecords on a compacted topic (the CDC one)
      x.inputs[0]?.topic === inputTopics(config)[1] &&
      Number(x.inputs[0]?.first_offset) > 0 &&
      x.batch_id !== victim.batch &&
      x.batch_id !== event.batch_id,
  );
  assert.ok(target, 'a window of the event topic that does not start at offset 0');
  const range = target.inputs[0] as {
    topic: string;
    partition: number;
    first_offset: number;
    last_offset: number;
  };
  const admin = env.kafka.admin();
  await admin.connect();
  await admin.fetchTopicMetadata({ topics: [range.topic] }); // kafkajs's deleteTopicRecords needs it loaded
  await admin.deleteTopicRecords({
    topic: range.topic,
    partitions: [{ partition: range.partition, offset: String(Number(range.first_offset) + 1) }],
  });
  await admin.disconnect();
  const inputTampered = await cli(['verify', target.batch_id, '--config', configFile]);
  assert.equal(inputTampered.code, 1, inputTampered.all);
  assert.match(
    inputTampered.out,
    new RegExp(
      `inputs ${range.topic.replace(/\./g, '\\.')}/${range.partition} ${range.first_offset}\\.\\.${range.last_offset}: \\d+ records there now, the audit received \\d+`,
    ),
  );
  assert.match(inputTampered.out, /sha256 [0-9a-f]{64} now, the audit recorded [0-9a-f]{64}/);
  t.diagnostic(
    `verify: ${audits.length} batches, ${summary[3]} input records, ${summary[4]} predictions re-scored, ${summary[5]} Redis entries compared in ${seconds} s (${(audits.length / seconds).toFixed(1)} batches/s, including reading the audit and prediction topics); --deep: ${deepSummary[6]} states rebuilt in ${deepSeconds} s (${(audits.length / deepSeconds).toFixed(1)} batches/s)`,
  );
});
