/**
 * `streamscore rescore`: after a promotion, every live entity scored again from its stored state with the
 * model the pipeline serves (the alias's champion, else `model.version`), next to the running pipeline.
 *
 * Chunk by chunk, in one protocol (`commitChunk`): the chunk's intent (its number and entity ids) is written
 * to Redis, then its states and predictions (compare-and-set on each entity's state version, fenced by the
 * Redis epoch, like a window), then one Kafka transaction carries its prediction events and the job's
 * progress (the offsets of a consumer group of the job's own: the next chunk number). A crash anywhere
 * leaves either a committed chunk or an intent whose predictions are in Redis without their events; the
 * next run of the same job re-emits exactly those stored predictions first (the same versions, so read_committed
 * readers see each once), then goes on. Entities already scored by the model are skipped, so a run resumes
 * where it stopped without a cursor.
 *
 * Entities the live pipeline changes meanwhile lose the compare-and-set and are looked at again; one whose
 * last window has not committed yet is left to that window for now (`pending`) and looked at again at the
 * end. The job is paced to `rate` entities per second so the live stream keeps its latency.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTransactionalProducer } from '../adapters/kafka-io.js';
import type { TransactionalProducer } from '../adapters/kafka-io.js';
import { createLagProbe } from '../adapters/kafka-lag.js';
import type { LagProbe } from '../adapters/kafka-lag.js';
import { groupOffsets } from '../adapters/kafka-replay.js';
import type { KafkaClient } from '../adapters/kafka.js';
import type { RedisStore } from '../adapters/redis.js';
import { createRegistryClient } from '../adapters/registry.js';
import type { Config } from '../config/index.js';
import { AvroEncoder, predictionEvent, storedPredictionEvent } from '../emit/index.js';
import type { OutMessage, PredictionEventV1 } from '../emit/index.js';
import { scoreExplained } from '../explain/index.js';
import { buildMatrixYielding } from '../features/index.js';
import { guardScores } from '../guard/index.js';
import { RedisSink } from '../sink/index.js';
import type { EntityState, PredictionRecord, StateWrite, StoredPrediction } from '../sink/index.js';
import type { RecordRef } from '../window/index.js';
import { readIntent, writeIntent } from './intent.js';
import { servedModel } from './model.js';
import type { ServedModel } from './model.js';
import type { ChunkIntent } from './intent.js';
import { emptyCounts, inputOf, planRescore, rescoreBatchId, rescoreTrigger } from './plan.js';
import type { RescoreAction, RescoreCounts, RescoreView } from './plan.js';

export interface RescoreOptions {
  /** Names the job (its progress, transactions and batch ids); default: the model's version and sha256. */
  readonly job?: string;
  /** Entities scored per second at most (0: as fast as it goes). */
  readonly rate: number;
  /** Entities per chunk (one Redis round trip and one transaction each). */
  readonly chunk: number;
  /** How long to keep looking at entities whose last window had not committed, after the scan. */
  readonly pendingWaitMs: number;
  /** Folder of models/ and schemas/ (relative model.dir is under it). */
  readonly projectDir: string;
  readonly onProgress?: (counts: Readonly<RescoreCounts>) => void;
  readonly onWarning?: (message: string) => void;
  /** Once the model and the job's progress are known and an interrupted chunk is settled, before the scan. */
  readonly onStart?: (info: { job: string; model: string; fromChunk: number; recovered: number }) => void;
  /** Test hook: called at the protocol's points ('before-redis-write', 'after-redis-write', 'before-commit'). */
  readonly crashPoint?: (name: string) => void;
}

export interface RescoreReport {
  readonly job: string;
  readonly model: { readonly name: string; readonly version: string; readonly sha256: string };
  readonly counts: RescoreCounts;
  /** Predictions of an interrupted earlier run re-emitted before this run scored anything. */
  readonly recovered: number;
  /** Entities whose last window still had not committed when the run gave up waiting. */
  readonly pendingLeft: number;
  readonly chunks: number;
  readonly elapsedMs: number;
}

interface Job {
  readonly config: Readonly<Config>;
  readonly kafka: KafkaClient;
  readonly id: string;
  readonly progressGroup: string;
  readonly sink: RedisSink;
  readonly redis: RedisStore;
  readonly producer: TransactionalProducer;
  readonly encoder: AvroEncoder<PredictionEventV1>;
  readonly model: ServedModel;
  /** Reads the live group's committed input offsets on one admin connection. */
  readonly lag: LagProbe;
  readonly counts: RescoreCounts;
  readonly opts: RescoreOptions;
  /** The next chunk number (the number of chunks committed so far). */
  nextChunk: number;
  inputOffsets: Map<string, bigint>;
  inputOffsetsAt: number;
}

/** The live group's committed offsets are read again at most this often (stale ones are only cautious). */
const INPUT_OFFSETS_EVERY_MS = 1000;
const PENDING_RETRY_MS = 1000;

export async function runRescore(
  config: Readonly<Config>,
  kafka: KafkaClient,
  redis: RedisStore,
  opts: RescoreOptions,
): Promise<RescoreReport> {
  const started = Date.now();
  const model = await servedModel(config, kafka, opts.projectDir, opts.onWarning);
  const loaded = model.loaded;
  const inputs = [...config.inputs.cdc, ...config.inputs.events].map((i) => i.topic);
  const lag = createLagProbe(kafka, config.consumer.groupId, inputs);
  const id = opts.job ?? `${loaded.manifest.version}-${loaded.sha256.slice(0, 12)}`;
  const predictions = config.outputs.predictions;
  const progressGroup = `${config.consumer.groupId}.rescore.${id}`;
  let producer: TransactionalProducer | undefined;
  try {
    const sink = new RedisSink(redis, {
      prefix: config.redis.keyPrefix,
      pipeline: config.pipeline.name,
      fields: model.kept,
      cacheBytes: 0,
    });
    await sink.adoptEpoch();
    const encoder = await AvroEncoder.register<PredictionEventV1>(
      createRegistryClient(config.registry),
      `${predictions}-value`,
      join(opts.projectDir, 'schemas/predictions-value.avsc'),
    );
    producer = await createTransactionalProducer(
      kafka,
      progressGroup,
      { topic: predictions, partition: 0 },
      new Map(),
      config.kafka.transactionTimeoutMs,
    );
    const done = await groupOffsets(kafka, progressGroup, [predictions]);
    const job: Job = {
      config,
      kafka,
      id,
      progressGroup,
      sink,
      redis,
      producer,
      encoder,
      model,
      lag,
      counts: emptyCounts(),
      opts,
      nextChunk: Number(done.get(`${predictions}/0`) ?? 0n),
      inputOffsets: new Map(),
      inputOffsetsAt: 0,
    };
    const firstChunk = job.nextChunk;
    const recovered = await recover(job);
    opts.onStart?.({
      job: id,
      model: `${model.stamp.name}/${model.stamp.version} (sha256 ${model.stamp.sha256.slice(0, 12)})`,
      fromChunk: job.nextChunk,
      recovered,
    });

    let pending: string[] = [];
    let buffer: string[] = [];
    for await (const ids of sink.entityIds(Math.max(100, opts.chunk))) {
      buffer.push(...ids);
      while (buffer.length >= opts.chunk) {
        pending.push(...(await rescoreChunk(job, buffer.slice(0, opts.chunk), started, true)));
        buffer = buffer.slice(opts.chunk);
      }
    }
    if (buffer.length > 0) pending.push(...(await rescoreChunk(job, buffer, started, true)));
    // entities whose window was in flight, or that the live stream changed under us: again, for a while
    const deadline = Date.now() + opts.pendingWaitMs;
    while (pending.length > 0 && Date.now() < deadline) {
      await sleep(PENDING_RETRY_MS);
      const again: string[] = [];
      for (let i = 0; i < pending.length; i += opts.chunk)
        again.push(...(await rescoreChunk(job, pending.slice(i, i + opts.chunk), started, false)));
      pending = again;
    }
    return {
      job: id,
      model: { name: model.stamp.name, version: model.stamp.version, sha256: model.stamp.sha256 },
      counts: job.counts,
      recovered,
      pendingLeft: pending.length,
      chunks: job.nextChunk - firstChunk,
      elapsedMs: Date.now() - started,
    };
  } finally {
    await producer?.close().catch(() => undefined);
    await lag.close().catch(() => undefined);
    await model.close();
  }
}

/**
 * An intent left by an interrupted run whose chunk never committed: its predictions that are still the
 * stored ones are re-emitted (and the chunk committed) before anything else is scored.
 */
async function recover(job: Job): Promise<number> {
  const intent = await readIntent(job.redis, intentKeyOf(job));
  if (intent === null || intent.chunk < job.nextChunk) return 0;
  job.nextChunk = intent.chunk;
  const [states, stored] = await load(job, intent.ids);
  const reemits: Reemit[] = [];
  intent.ids.forEach((_, i) => {
    const s = stored[i] ?? null;
    if (s !== null && planRescore(states[i] as EntityState, s, view(job)) === 'reemit')
      reemits.push({ stored: s });
  });
  await commitChunk(job, intent, async () => ({
    events: reemits.map((r) => reemitEvent(job, r)),
    written: 0,
  }));
  job.counts.reemitted += reemits.length;
  return reemits.length;
}

interface Reemit {
  readonly stored: StoredPrediction;
}

/** One chunk of entity ids: planned, scored, written and committed; returns the ids to look at again. */
async function rescoreChunk(
  job: Job,
  chunkIds: readonly string[],
  started: number,
  firstLook: boolean,
): Promise<string[]> {
  const ids = [...new Set(chunkIds)];
  const [states, stored] = await load(job, ids);
  await refreshInputOffsets(job);
  const v = view(job);
  const again: string[] = [];
  const toScore: number[] = [];
  const reemits: Reemit[] = [];
  const reemitIds: string[] = [];
  ids.forEach((id, i) => {
    const action: RescoreAction = planRescore(states[i] as EntityState, stored[i] ?? null, v);
    if (firstLook) job.counts.scanned += 1;
    if (action === 'score') toScore.push(i);
    else if (action === 'reemit') {
      reemits.push({ stored: stored[i] as StoredPrediction });
      reemitIds.push(id);
    } else if (action === 'pending') again.push(id);
    else if (action === 'current') job.counts.current += 1;
    else job.counts.not_live += 1;
  });
  if (toScore.length === 0 && reemits.length === 0) {
    job.opts.onProgress?.(job.counts);
    return again;
  }
  const { config, model } = job;
  const inputs = toScore.map((i) => {
    const s = states[i] as EntityState;
    return { profile: s.profile, events: s.events, asOfMs: s.clock };
  });
  const matrix = await buildMatrixYielding(model.spec, inputs);
  const { scored, reasons } = await scoreExplained(model.scorer, model.explainer, matrix, toScore.length);
  const failure = guardScores(scored, toScore.length, model.scorer.model, config.guard);
  const chunk = job.nextChunk;
  const batchId = rescoreBatchId(job.id, chunk);
  const scoredAt = Date.now();
  const width = model.spec.features.length;
  const writes: StateWrite[] = [];
  const refs: Array<RecordRef | null> = [];
  toScore.forEach((i, r) => {
    const tier = scored.tiers[r] ?? null;
    if (failure !== null || tier === null) {
      job.counts.refused += 1;
      return;
    }
    const s = states[i] as EntityState;
    const input = inputOf(stored[i] ?? null);
    const prediction: PredictionRecord = {
      entityId: ids[i] as string,
      kind: 'upsert',
      score: scored.scores[r] as number,
      tier,
      features: matrix.slice(r * width, (r + 1) * width),
      asOfMs: s.clock,
      scoredAtMs: scoredAt,
      validUntilMs: scoredAt + config.predictions.validForMs,
      batchId,
      trigger: input ?? { topic: '', partition: 0, offset: '' },
      reasons: reasons === null ? null : (reasons[r] ?? null),
    };
    refs.push(input);
    writes.push({
      entityId: prediction.entityId,
      base: s,
      next: { ...s, trigger: rescoreTrigger(job.id, chunk) },
      storeProfile: '',
      eventsChanged: false,
      prediction,
    });
  });
  if (failure !== null)
    job.opts.onWarning?.(
      `chunk ${chunk}: the output guard refused its scores (${failure.reason}); those entities keep their prediction`,
    );
  if (writes.length === 0 && reemits.length === 0) return again;
  const intent: ChunkIntent = { chunk, ids: [...writes.map((w) => w.entityId), ...reemitIds] };
  const written = await commitChunk(job, intent, async () => {
    const results = await job.sink.write(writes, model.stamp);
    job.opts.crashPoint?.('after-redis-write');
    const events: OutMessage[] = reemits.map((r) => reemitEvent(job, r));
    let written = 0;
    results.forEach((res, k) => {
      const w = writes[k] as StateWrite;
      if (!res.ok) {
        job.counts.conflicts += 1;
        again.push(w.entityId);
        return;
      }
      written += 1;
      const ref = refs[k] ?? null;
      const e = predictionEvent(
        w.prediction as PredictionRecord,
        res.version,
        model.stamp,
        ref === null ? [] : [ref],
        config.pipeline.name,
        'RESCORE',
      );
      events.push({ key: e.entity_id, value: job.encoder.encode(e) });
    });
    return { events, written };
  });
  job.counts.scored += written;
  job.counts.reemitted += reemits.length;
  job.opts.onProgress?.(job.counts);
  await pace(job, started);
  return again;
}

/**
 * The commit protocol of one chunk, top to bottom: intent → Redis (states and predictions, in `write`) →
 * one transaction with the events and the job's progress → commit. Returns how many predictions were
 * written.
 */
async function commitChunk(
  job: Job,
  intent: ChunkIntent,
  write: () => Promise<{ events: OutMessage[]; written: number }>,
): Promise<number> {
  await writeIntent(job.redis, intentKeyOf(job), intent);
  job.opts.crashPoint?.('before-redis-write');
  const { events, written } = await write();
  const tx = await job.producer.begin();
  try {
    await tx.sendAll([{ topic: job.config.outputs.predictions, messages: events }]);
    await tx.sendOffsets(
      job.progressGroup,
      { topic: job.config.outputs.predictions, partition: 0 },
      String(intent.chunk + 1),
    );
    job.opts.crashPoint?.('before-commit');
    await tx.commit();
  } catch (err) {
    await tx.abort();
    throw err;
  }
  job.nextChunk = intent.chunk + 1;
  return written;
}

function reemitEvent(job: Job, r: Reemit): OutMessage {
  const ref = inputOf(r.stored);
  const e = storedPredictionEvent(r.stored, ref === null ? [] : [ref], job.config.pipeline.name, 'RESCORE');
  return { key: e.entity_id, value: job.encoder.encode(e) };
}

async function load(
  job: Job,
  ids: readonly string[],
): Promise<[EntityState[], Array<StoredPrediction | null>]> {
  return Promise.all([job.sink.load(ids), job.sink.storedPredictions(ids)]);
}

function view(job: Job): RescoreView {
  return {
    modelSha256: job.model.stamp.sha256,
    job: job.id,
    committedChunks: job.nextChunk,
    inputCommitted: (topic, partition) => job.inputOffsets.get(`${topic}/${partition}`) ?? null,
  };
}

async function refreshInputOffsets(job: Job): Promise<void> {
  if (Date.now() - job.inputOffsetsAt < INPUT_OFFSETS_EVERY_MS) return;
  const offsets = new Map<string, bigint>();
  for (const p of await job.lag.read())
    if (p.committed !== null) offsets.set(`${p.topic}/${p.partition}`, p.committed);
  job.inputOffsets = offsets;
  job.inputOffsetsAt = Date.now();
}

/** Holds the job to `rate` entities per second over its whole run. */
async function pace(job: Job, started: number): Promise<void> {
  const rate = job.opts.rate;
  if (!(rate > 0)) return;
  const done = job.counts.scored + job.counts.reemitted;
  const ahead = (done * 1000) / rate - (Date.now() - started);
  if (ahead > 0) await sleep(ahead);
}

function intentKeyOf(job: Job): string {
  return `${job.config.redis.keyPrefix}${job.config.pipeline.name}:rescore:${job.id}`;
}
