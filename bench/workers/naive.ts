/**
 * The naive processor, as stream-processing tutorials write it: kafkajs `eachMessage` (one record at a
 * time, one partition at a time), auto-commit, and per record: decode, update the entity's features, one
 * ONNX run, one Redis write, one produce awaited. It uses the project's decoder, feature code, model and
 * prediction encoding, so the gap to streamscore is the processing pattern, not the parts. Its feature state
 * lives in process memory (no Redis round trip for state, no fencing, no transactions): cheaper per record
 * than what streamscore does, so the ratio is on the conservative side.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createKafkaClient } from '../../src/adapters/kafka.js';
import { createRegistryClient } from '../../src/adapters/registry.js';
import { createDecoder } from '../../src/decode/index.js';
import type { RawRecord, RecordDecoder, Row } from '../../src/decode/index.js';
import { AvroEncoder, predictionEvent } from '../../src/emit/index.js';
import type { PredictionEventV1 } from '../../src/emit/index.js';
import { DAY_MS, buildVector } from '../../src/features/index.js';
import type { EventForFeatures } from '../../src/features/index.js';
import { loadModel } from '../../src/models/index.js';
import { createScorer } from '../../src/score/index.js';
import { entityKeys, predictionHashFields } from '../../src/sink/index.js';
import type { ModelStamp, PredictionRecord } from '../../src/sink/index.js';
import { configOf, readSpec, report, runMain, sleep } from './common.js';

export interface NaiveSpec {
  readonly config: unknown;
  readonly group: string;
  readonly outputTopic: string;
  readonly expected: number;
  /** Stop after this long from the first record (the naive processor would take hours for 1M records). */
  readonly maxSeconds: number;
}

interface EntityState {
  profile: Row | null;
  events: EventForFeatures[];
  asOf: number;
  version: number;
}

async function main(): Promise<void> {
  const spec = readSpec<NaiveSpec>();
  const cfg = configOf(spec.config);
  const registry = createRegistryClient(cfg.registry);
  const decoders = new Map<string, RecordDecoder>();
  for (const i of cfg.inputs.cdc)
    decoders.set(
      i.topic,
      createDecoder({ kind: 'cdc', options: { topic: i.topic, format: 'avro' }, writerSchemas: registry }),
    );
  for (const i of cfg.inputs.events)
    decoders.set(
      i.topic,
      createDecoder({ kind: 'events', options: { topic: i.topic, format: 'avro' }, writerSchemas: registry }),
    );
  const model = await loadModel(join(process.cwd(), cfg.model.dir), cfg.model.name, cfg.model.version);
  const scorer = createScorer(model);
  const lookbackMs = 30 * DAY_MS;
  const stamp: ModelStamp = {
    name: model.manifest.name,
    version: model.manifest.version,
    sha256: model.sha256,
    trainingRunId: model.manifest.training_run_id,
    featureVersion: `${model.featureSpec.name}@${model.featureSpec.version}`,
  };
  const encoder = await AvroEncoder.register<PredictionEventV1>(
    registry,
    `${spec.outputTopic}-value`,
    'schemas/predictions-value.avsc',
  );
  const redis = new Redis(cfg.redis.url);
  const kafka = createKafkaClient(cfg.kafka);
  const producer = kafka.producer();
  await producer.connect();
  const consumer = kafka.consumer({ groupId: spec.group });
  let joinedAt = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt ||= Date.now()));
  await consumer.connect();
  const topics = [...decoders.keys()];
  await consumer.subscribe({ topics, fromBeginning: true });

  const state = new Map<string, EntityState>();
  let seen = 0;
  let scored = 0;
  let first = 0;
  let last = 0;
  let done = false;
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      if (done) return;
      if (first === 0) first = Date.now();
      const raw: RawRecord = {
        topic,
        partition,
        offset: message.offset,
        timestamp: message.timestamp,
        key: message.key,
        value: message.value,
        headers: (message.headers ?? {}) as RawRecord['headers'],
      };
      const decoder = decoders.get(topic) as RecordDecoder;
      let d;
      try {
        d = await decoder.decode(raw);
      } catch {
        seen++;
        return;
      }
      const id = d.entityId;
      if (id === null) {
        seen++;
        return;
      }
      let s = state.get(id);
      if (s === undefined) {
        s = { profile: null, events: [], asOf: 0, version: 0 };
        state.set(id, s);
      }
      if (d.kind === 'tombstone') s.profile = null;
      else if (d.kind === 'cdc') {
        s.profile = d.op === 'd' ? null : d.after;
        s.asOf = Math.max(s.asOf, d.sourceTsMs);
      } else {
        s.events.push({ eventId: d.eventId, eventTimeMs: d.eventTimeMs, fields: d.fields });
        s.asOf = Math.max(s.asOf, d.eventTimeMs);
        const horizon = s.asOf - lookbackMs;
        if ((s.events[0]?.eventTimeMs ?? horizon) < horizon)
          s.events = s.events.filter((e) => e.eventTimeMs >= horizon);
      }
      s.version += 1;
      if (s.profile !== null) {
        const vector = buildVector(model.featureSpec, {
          profile: s.profile,
          events: s.events,
          asOfMs: s.asOf,
        });
        const out = await scorer.score(vector, 1);
        const now = Date.now();
        const p: PredictionRecord = {
          entityId: id,
          kind: 'upsert',
          score: out.scores[0] as number,
          tier: out.tiers[0] ?? null,
          features: vector,
          asOfMs: s.asOf,
          scoredAtMs: now,
          validUntilMs: now + cfg.predictions.validForMs,
          batchId: `naive:${topic}:${partition}:${message.offset}`,
          trigger: { topic, partition, offset: message.offset },
          basis: {},
        };
        await redis.hset(
          entityKeys(cfg.redis.keyPrefix, cfg.pipeline.name, id).prediction,
          ...predictionHashFields(p, s.version, stamp),
        );
        const event = predictionEvent(p, s.version, stamp, [p.trigger], cfg.pipeline.name);
        await producer.send({
          topic: spec.outputTopic,
          messages: [{ key: id, value: encoder.encode(event) }],
        });
        scored++;
      }
      seen++;
      last = Date.now();
    },
  });
  const stopAt = () => (first > 0 && Date.now() - first >= spec.maxSeconds * 1000) || seen >= spec.expected;
  while (!stopAt()) await sleep(20);
  done = true;
  const result = { records: seen, scored, firstAt: joinedAt, firstRecordAt: first, lastAt: last };
  await consumer.disconnect();
  await producer.disconnect();
  redis.disconnect();
  await scorer.close();
  report(result);
}

runMain(main);
