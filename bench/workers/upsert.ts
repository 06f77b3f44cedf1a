/**
 * The project's own Redis write path on synthetic predictions: `RedisSink.write` (compare-and-set of the
 * entity state plus the version-fenced prediction, one pipelined round trip per window) with windows of
 * `batch` entities, `concurrency` windows in flight. States come from the sink's cache after the first
 * pass, as in the pipeline; every write is a real write (each pass gives the entities a new version).
 */
import { createRedisStore } from '../../src/adapters/redis.js';
import { RedisSink } from '../../src/sink/index.js';
import type { EntityState, ModelStamp, PredictionRecord, StateWrite } from '../../src/sink/index.js';
import { configOf, readSpec, report, runMain } from './common.js';

export interface UpsertSpec {
  readonly config: unknown;
  readonly predictions: number;
  readonly entities: number;
  readonly batch: number;
  readonly concurrency: number;
  readonly width: number;
}

const MODEL: ModelStamp = {
  name: 'churn',
  version: '2',
  sha256: 'f'.repeat(64),
  trainingRunId: 'bench-synthetic',
  featureVersion: 'churn-features@2',
};

async function main(): Promise<void> {
  const spec = readSpec<UpsertSpec>();
  const cfg = configOf(spec.config);
  const store = createRedisStore(cfg.redis, 'streamscore-bench-upsert');
  const sink = new RedisSink(store, {
    prefix: cfg.redis.keyPrefix,
    pipeline: cfg.pipeline.name,
    fields: { profile: ['age'], event: ['amount', 'declined'], lookbackMs: 30 * 86_400_000 },
    cacheBytes: 256 * 1024 * 1024,
  });
  await sink.openEpoch();
  const now = Date.now();
  const make = (i: number): PredictionRecord => {
    const features = new Float32Array(spec.width);
    for (let f = 0; f < spec.width; f++) features[f] = Math.sin(i * 7 + f) * 3;
    const score = (Math.sin(i) + 1) / 2;
    return {
      entityId: String(100_001 + (i % spec.entities)),
      kind: 'upsert',
      score,
      tier: score > 0.7 ? 'high' : score > 0.3 ? 'medium' : 'low',
      features,
      asOfMs: now - 1000,
      scoredAtMs: now,
      validUntilMs: now + 86_400_000,
      batchId: `bench:upsert:${Math.floor(i / spec.batch)}`,
      trigger: { topic: 'bench.transactions', partition: i % 6, offset: String(i) },
      basis: {},
    };
  };
  let next = 0;
  let written = 0;
  const first = Date.now();
  const lane = async () => {
    while (next < spec.predictions) {
      const start = next;
      next = Math.min(spec.predictions, next + spec.batch);
      const batch: PredictionRecord[] = [];
      for (let i = start; i < next; i++) batch.push(make(i));
      const bases = await sink.load(batch.map((p) => p.entityId));
      const writes: StateWrite[] = batch.map((p, j) => {
        const base = bases[j] as EntityState;
        return {
          entityId: p.entityId,
          base,
          next: { ...base, profile: { age: 40 }, clock: now - 1000 },
          storeProfile: '',
          eventsChanged: false,
          prediction: p,
        };
      });
      const results = await sink.write(writes, MODEL);
      written += results.filter((r) => r.ok).length;
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, lane));
  const last = Date.now();
  await store.close();
  report({ records: spec.predictions, written, firstAt: first, lastAt: last });
}

runMain(main);
