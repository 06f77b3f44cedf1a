import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { KafkaClient } from '../../src/adapters/kafka.js';
import type { Config } from '../../src/config/index.js';
import type { AuditEventV1, PredictionEventV1 } from '../../src/emit/index.js';
import { lookupClientFor } from '../../src/lookup/index.js';
import { readWithConsoleConsumer } from './console-consumer.js';
import { readTopic } from './kafka.js';
import type { ExpectedPrediction } from './oracle.js';
import { expectedPredictions } from './oracle.js';
import type { RunningPipeline } from './process.js';
import { join } from 'node:path';
import type { SampleStream } from '../../src/sample/index.js';

const predictionType = avro.Type.forSchema(
  JSON.parse(readFileSync('schemas/predictions-value.avsc', 'utf8')) as avro.Schema,
);
const auditType = avro.Type.forSchema(
  JSON.parse(readFileSync('schemas/audit-value.avsc', 'utf8')) as avro.Schema,
);

export async function readPredictions(
  kafka: KafkaClient,
  config: Readonly<Config>,
): Promise<PredictionEventV1[]> {
  const msgs = await readTopic(kafka, config.outputs.predictions);
  return msgs.map((m) => {
    assert.ok(
      m.value !== null && m.value.readUInt8(0) === 0,
      'prediction values use the Confluent wire format',
    );
    const e = { ...(predictionType.fromBuffer(m.value.subarray(5)) as PredictionEventV1) };
    assert.equal(m.key?.toString(), e.entity_id, 'key = entity id');
    // where it was read from, for failure messages (not part of the event)
    Object.defineProperty(e, 'at', { value: `${m.partition}@${m.offset}`, enumerable: false });
    return e;
  });
}

/**
 * The prediction events a `read_committed` reader that is not kafkajs sees: Kafka's own console consumer says
 * which records (partition, offset) are committed, and their values are decoded from a raw read of the topic.
 */
export async function readPredictionsWithConsoleConsumer(
  kafka: KafkaClient,
  config: Readonly<Config>,
): Promise<PredictionEventV1[]> {
  const visible = await readWithConsoleConsumer(config.kafka.brokers, config.outputs.predictions);
  const raw = new Map(
    (await readTopic(kafka, config.outputs.predictions, { readUncommitted: true })).map((m) => [
      `${m.partition}@${m.offset}`,
      m,
    ]),
  );
  return visible.map((v) => {
    const at = `${v.partition}@${v.offset}`;
    const m = raw.get(at);
    assert.ok(m?.value, `record ${at} seen by the console consumer is in the topic`);
    assert.equal(m.key?.toString(), v.key, `record ${at}: same key for both readers`);
    const e = { ...(predictionType.fromBuffer(m.value.subarray(5)) as PredictionEventV1) };
    assert.equal(v.key, e.entity_id, 'key = entity id');
    Object.defineProperty(e, 'at', { value: at, enumerable: false });
    return e;
  });
}

/** An audit event's value (Confluent wire format). */
export function decodeAudit(value: Buffer): AuditEventV1 {
  return auditType.fromBuffer(value.subarray(5)) as AuditEventV1;
}

export async function readAudits(kafka: KafkaClient, config: Readonly<Config>): Promise<AuditEventV1[]> {
  const msgs = await readTopic(kafka, config.outputs.audit);
  return msgs.map((m) => decodeAudit(m.value as Buffer));
}

function sameFloat32Vector(actual: readonly number[], expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: vector length`);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(Math.fround(actual[i] as number), expected[i], `${what}: feature ${i}`);
  }
}

/** Redis holds, for every entity, exactly the oracle's prediction (or none for a deleted one). */
export async function assertRedisMatches(
  config: Readonly<Config>,
  expected: ReadonlyMap<string, ExpectedPrediction>,
  absentIds: readonly string[] = [],
): Promise<void> {
  // the pipeline's own Redis, user and TLS files
  const lookup = lookupClientFor(config);
  try {
    for (const e of expected.values()) {
      const p = await lookup.get(e.entityId);
      if (e.deleted) {
        assert.equal(p, null, `deleted customer ${e.entityId} must have no prediction`);
        continue;
      }
      assert.ok(p, `customer ${e.entityId} must have a prediction`);
      assert.equal(p.asOf.getTime(), e.asOfMs, `customer ${e.entityId}: as_of`);
      sameFloat32Vector(p.features, e.features as Float32Array, `customer ${e.entityId}`);
      assert.equal(p.score, e.score, `customer ${e.entityId}: score (float32)`);
    }
    for (const id of absentIds) assert.equal(await lookup.get(id), null, `customer ${id} was never inserted`);
  } finally {
    await lookup.close();
  }
}

/**
 * The committed prediction topic: no (entity, version) twice, and each entity's newest event is the oracle's.
 */
export function assertPredictionEventsMatch(
  events: readonly PredictionEventV1[],
  expected: ReadonlyMap<string, ExpectedPrediction>,
): void {
  const seen = new Map<string, PredictionEventV1>();
  const newest = new Map<string, PredictionEventV1>();
  for (const e of events) {
    const k = `${e.entity_id}@${e.version}`;
    const twin = seen.get(k);
    const at = (x: PredictionEventV1 | undefined) => (x as { at?: string } | undefined)?.at;
    assert.ok(
      twin === undefined,
      `duplicate prediction event ${k} at ${at(twin)} and ${at(e)}: ${JSON.stringify([twin, e])}`,
    );
    seen.set(k, e);
    const cur = newest.get(e.entity_id);
    if (cur === undefined || e.version > cur.version) newest.set(e.entity_id, e);
  }
  for (const exp of expected.values()) {
    const e = newest.get(exp.entityId);
    assert.ok(e, `customer ${exp.entityId} has a committed prediction event`);
    if (exp.deleted) {
      assert.equal(e.event_type, 'DELETE', `customer ${exp.entityId}: newest event is a delete`);
      continue;
    }
    assert.equal(e.event_type, 'UPSERT', `customer ${exp.entityId}: newest event is an upsert`);
    assert.equal(e.score, exp.score, `customer ${exp.entityId}: event score`);
    assert.equal(e.as_of, exp.asOfMs, `customer ${exp.entityId}: event as_of`);
    sameFloat32Vector(e.features, exp.features as Float32Array, `customer ${exp.entityId} event`);
    assert.ok(e.inputs.length > 0, 'lineage: input offsets');
    assert.equal(e.model.sha256.length, 64, 'lineage: model sha256');
  }
  for (const id of newest.keys()) assert.ok(expected.has(id), `unexpected prediction for ${id}`);
}

/**
 * The end state after a run of child processes: Redis and the committed predictions equal the oracle of
 * `stream`. On a failure, the message says which process committed which window and ends with their logs.
 */
export async function assertEndStateMatchesOracle(
  kafka: KafkaClient,
  config: Readonly<Config>,
  stream: SampleStream,
  processes: Readonly<Record<string, RunningPipeline>>,
  /** Also check the prediction topic as Kafka's own console consumer reads it (see readPredictionsWithConsoleConsumer). */
  opts: { consoleConsumer?: boolean } = {},
): Promise<void> {
  const expected = await expectedPredictions(stream, {
    dir: join(process.cwd(), 'models'),
    name: config.model.name,
    version: config.model.version,
  });
  await assertRedisMatches(config, expected);
  try {
    assertPredictionEventsMatch(await readPredictions(kafka, config), expected);
    if (opts.consoleConsumer === true) {
      assertPredictionEventsMatch(await readPredictionsWithConsoleConsumer(kafka, config), expected);
    }
  } catch (err) {
    const audits = (await readAudits(kafka, config)).map(
      (x) => `${x.instance} ${x.batch_id} emitted=${x.counts.emitted} closed=${x.closed_at}`,
    );
    const logs = Object.entries(processes).map(
      ([name, p]) => `${name} (pid ${p.child.pid}):\n${p.output().slice(-3000)}`,
    );
    (err as Error).message += `\n${audits.join('\n')}\n${logs.join('\n')}`;
    throw err;
  }
}
