/**
 * A job that scores stored entity state again, next to the running pipeline: `streamscore rescore` (after a
 * promotion) and the timer sweep (when time alone changes an aggregate). Both run chunk by chunk, in one
 * protocol (`commitChunk`): the chunk's intent (its number and entity ids) is written to Redis, then its
 * states and predictions (compare-and-set on each entity's state version, fenced by the Redis epoch, like a
 * window), then one Kafka transaction carries its prediction events and the job's progress (the offsets of
 * a consumer group of the job's own: the next chunk number). A crash anywhere leaves either a committed
 * chunk or an intent whose predictions are in Redis without their events; the next run of the same job
 * re-emits exactly those stored predictions first (the same versions, so read_committed readers see each
 * once), then goes on.
 *
 * What to do with each entity is the caller's `decide` (planRescore, planTimer): score it (as of a given
 * instant), re-emit its stored prediction, or leave it (the reason is counted).
 */
import { hostname } from 'node:os';
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
import type { AuditEventV1, PredictionEventV1, PredictionTrigger } from '../emit/index.js';
import { scoreExplained } from '../explain/index.js';
import { buildMatrixYielding } from '../features/index.js';
import { guardScores } from '../guard/index.js';
import { buildChunkAudit } from '../pipeline/audit.js';
import { RedisSink } from '../sink/index.js';
import type { EntityState, PredictionRecord, StateWrite, StoredPrediction } from '../sink/index.js';
import type { RecordRef } from '../window/index.js';
import { readIntent, takeJob, writeIntent } from './intent.js';
import type { ChunkIntent, JobRun } from './intent.js';
import { servedModel } from './model.js';
import type { ServedModel } from './model.js';
import { emptyCounts, inputOf, rescoreBatchId, rescoreTrigger } from './plan.js';
import type { JobKind, RescoreCounts, RescoreView, TimerAction, RescoreAction } from './plan.js';

/** One entity's fate in a chunk: scored as of `asOfMs`, re-emitted, or left for the counted reason. */
export type Decision =
  | { readonly action: 'score'; readonly asOfMs: number }
  | { readonly action: Exclude<RescoreAction | TimerAction, 'score'> };

export interface JobOptions {
  readonly kind: JobKind;
  /** Names the job (progress group, transactional id, batch ids); default from the model (see openJob). */
  readonly id?: string;
  /** Entities scored per second at most (0: as fast as it goes). */
  readonly rate: number;
  /** Folder of models/ and schemas/ (relative model.dir is under it). */
  readonly projectDir: string;
  readonly onWarning?: (message: string) => void;
  /** Test hook: called at the protocol's points ('before-redis-write', 'after-redis-write', 'before-commit'). */
  readonly crashPoint?: (name: string) => void;
}

export interface Job {
  readonly kind: JobKind;
  readonly config: Readonly<Config>;
  readonly id: string;
  readonly progressGroup: string;
  readonly sink: RedisSink;
  readonly redis: RedisStore;
  /** This run's hold on the job in Redis (a later run of the job takes it over). */
  readonly run: JobRun;
  readonly producer: TransactionalProducer;
  readonly encoder: AvroEncoder<PredictionEventV1>;
  readonly auditEncoder: AvroEncoder<AuditEventV1>;
  /** Names this process in the chunks' audit events. */
  readonly instance: string;
  readonly model: ServedModel;
  /** Reads the live group's committed input offsets on one admin connection. */
  readonly lag: LagProbe;
  readonly counts: RescoreCounts;
  readonly opts: JobOptions;
  /** The chunk number the job started from in this run. */
  readonly firstChunk: number;
  /** The next chunk number (the number of chunks committed so far). */
  nextChunk: number;
  inputOffsets: Map<string, bigint>;
  inputOffsetsAt: number;
  /** Predictions of an interrupted earlier run re-emitted before this run scored anything. */
  recovered: number;
}

/** The live group's committed offsets are read again at most this often (stale ones are only cautious). */
const INPUT_OFFSETS_EVERY_MS = 1000;

/**
 * Loads the served model, registers the prediction schema, opens the job's transactional producer (which
 * fences an earlier run of the same job) and reads its progress; then settles an interrupted chunk with
 * `decide` (only its `reemit` decisions count there). The caller closes the job (closeJob).
 */
export async function openJob(
  config: Readonly<Config>,
  kafka: KafkaClient,
  redis: RedisStore,
  opts: JobOptions,
  decide: (job: Job, state: EntityState, stored: StoredPrediction | null) => Decision,
): Promise<Job> {
  const model = await servedModel(config, kafka, opts.projectDir, opts.onWarning);
  const inputs = [...config.inputs.cdc, ...config.inputs.events].map((i) => i.topic);
  const lag = createLagProbe(kafka, config.consumer.groupId, inputs);
  const loaded = model.loaded;
  const id = opts.id ?? `${loaded.manifest.version}-${loaded.sha256.slice(0, 12)}`;
  const predictions = config.outputs.predictions;
  const progressGroup =
    opts.kind === 'rescore' ? `${config.consumer.groupId}.rescore.${id}` : `${config.consumer.groupId}.${id}`;
  let producer: TransactionalProducer | undefined;
  try {
    // first shut an earlier run of this job out of Redis, then (the producer below) out of Kafka; only
    // then read what it left: whatever it wrote is in Redis by now, and it can write nothing more
    const run = await takeJob(redis, `${intentKey(config, opts.kind, id)}:run`);
    const sink = new RedisSink(redis, {
      prefix: config.redis.keyPrefix,
      pipeline: config.pipeline.name,
      fields: model.kept,
      cacheBytes: 0,
      run,
    });
    await sink.adoptEpoch();
    const registry = createRegistryClient(config.registry);
    const [encoder, auditEncoder] = await Promise.all([
      AvroEncoder.register<PredictionEventV1>(
        registry,
        `${predictions}-value`,
        join(opts.projectDir, 'schemas/predictions-value.avsc'),
      ),
      AvroEncoder.register<AuditEventV1>(
        registry,
        `${config.outputs.audit}-value`,
        join(opts.projectDir, 'schemas/audit-value.avsc'),
      ),
    ]);
    producer = await createTransactionalProducer(
      kafka,
      progressGroup,
      { topic: predictions, partition: 0 },
      new Map(),
      config.kafka.transactionTimeoutMs,
    );
    const done = await groupOffsets(kafka, progressGroup, [predictions]);
    const nextChunk = Number(done.get(`${predictions}/0`) ?? 0n);
    const job: Job = {
      kind: opts.kind,
      config,
      id,
      progressGroup,
      sink,
      redis,
      run,
      producer,
      encoder,
      auditEncoder,
      instance: `${hostname()}:${process.pid}`,
      model,
      lag,
      counts: emptyCounts(),
      opts,
      firstChunk: nextChunk,
      nextChunk,
      inputOffsets: new Map(),
      inputOffsetsAt: 0,
      recovered: 0,
    };
    job.recovered = await recover(job, decide);
    return job;
  } catch (err) {
    await producer?.close().catch(() => undefined);
    await lag.close().catch(() => undefined);
    await model.close();
    throw err;
  }
}

export async function closeJob(job: Job): Promise<void> {
  await job.producer.close().catch(() => undefined);
  await job.lag.close().catch(() => undefined);
  await job.model.close();
}

/**
 * An intent left by an interrupted run whose chunk never committed: its predictions that are still the
 * stored ones are re-emitted (and the chunk committed) before anything else is scored.
 */
async function recover(
  job: Job,
  decide: (job: Job, state: EntityState, stored: StoredPrediction | null) => Decision,
): Promise<number> {
  const intent = await readIntent(job.redis, intentKeyOf(job));
  if (intent === null || intent.chunk < job.nextChunk) return 0;
  job.nextChunk = intent.chunk;
  const [states, stored] = await load(job, intent.ids);
  const reemits: StoredPrediction[] = [];
  const opened = Date.now();
  intent.ids.forEach((_, i) => {
    const s = stored[i] ?? null;
    if (s !== null && decide(job, states[i] as EntityState, s).action === 'reemit') reemits.push(s);
  });
  await commitChunk(job, intent, opened, async () => ({
    events: reemits.map((r) => reemitEvent(job, r)),
    written: 0,
  }));
  job.counts.reemitted += reemits.length;
  return reemits.length;
}

function eventTrigger(kind: JobKind): PredictionTrigger {
  return kind === 'timer' ? 'TIMER' : 'RESCORE';
}

/**
 * One chunk of entity ids: decided, scored, written and committed; returns the ids to look at again
 * (`pending`, and those the live stream changed between read and write).
 */
export async function scoreChunk(
  job: Job,
  chunkIds: readonly string[],
  decide: (job: Job, state: EntityState, stored: StoredPrediction | null) => Decision,
  firstLook: boolean,
): Promise<string[]> {
  const ids = [...new Set(chunkIds)];
  const opened = Date.now();
  const [states, stored] = await load(job, ids);
  await refreshInputOffsets(job);
  const again: string[] = [];
  const toScore: Array<{ i: number; asOfMs: number }> = [];
  const reemits: StoredPrediction[] = [];
  const reemitIds: string[] = [];
  ids.forEach((id, i) => {
    const d = decide(job, states[i] as EntityState, stored[i] ?? null);
    if (firstLook) job.counts.scanned += 1;
    if (d.action === 'score') toScore.push({ i, asOfMs: d.asOfMs });
    else if (d.action === 'reemit') {
      reemits.push(stored[i] as StoredPrediction);
      reemitIds.push(id);
    } else if (d.action === 'pending') {
      again.push(id);
      if (job.kind === 'timer') job.counts.pending += 1;
    } else job.counts[d.action] += 1;
  });
  if (toScore.length === 0 && reemits.length === 0) return again;
  const { config, model } = job;
  const inputs = toScore.map(({ i, asOfMs }) => {
    const s = states[i] as EntityState;
    return { profile: s.profile, events: s.events, asOfMs };
  });
  const matrix = await buildMatrixYielding(model.spec, inputs);
  const { scored, reasons } = await scoreExplained(model.scorer, model.explainer, matrix, toScore.length);
  const failure = guardScores(scored, toScore.length, model.scorer.model, config.guard);
  const chunk = job.nextChunk;
  const batchId = rescoreBatchId(job.id, chunk, job.kind);
  const scoredAt = Date.now();
  const width = model.spec.features.length;
  const writes: StateWrite[] = [];
  const refs: Array<RecordRef | null> = [];
  toScore.forEach(({ i, asOfMs }, r) => {
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
      asOfMs,
      scoredAtMs: scoredAt,
      validUntilMs: scoredAt + config.predictions.validForMs,
      batchId,
      trigger: input ?? { topic: '', partition: 0, offset: '' },
      basis: s.applied,
      reasons: reasons === null ? null : (reasons[r] ?? null),
    };
    refs.push(input);
    writes.push({
      entityId: prediction.entityId,
      base: s,
      // a timer moves the entity's clock to the instant it scored as of (never backwards)
      next: { ...s, clock: Math.max(s.clock, asOfMs), trigger: rescoreTrigger(job.id, chunk, job.kind) },
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
  const written = await commitChunk(job, intent, opened, async () => {
    const results = await job.sink.write(writes, model.stamp);
    job.opts.crashPoint?.('after-redis-write');
    const events: PredictionEventV1[] = reemits.map((r) => reemitEvent(job, r));
    let n = 0;
    results.forEach((res, k) => {
      const w = writes[k] as StateWrite;
      if (!res.ok) {
        job.counts.conflicts += 1;
        again.push(w.entityId);
        return;
      }
      n += 1;
      const ref = refs[k] ?? null;
      const e = predictionEvent(
        w.prediction as PredictionRecord,
        res.version,
        model.stamp,
        ref === null ? [] : [ref],
        config.pipeline.name,
        eventTrigger(job.kind),
      );
      events.push(e);
    });
    return { events, written: n };
  });
  job.counts.scored += written;
  job.counts.reemitted += reemits.length;
  return again;
}

/**
 * The commit protocol of one chunk, top to bottom: intent → Redis (states and predictions, in `write`) →
 * one transaction with the events, the chunk's audit event and the job's progress → commit. Returns how
 * many predictions were written.
 */
async function commitChunk(
  job: Job,
  intent: ChunkIntent,
  openedAt: number,
  write: () => Promise<{ events: PredictionEventV1[]; written: number }>,
): Promise<number> {
  await writeIntent(job.redis, job.run, intentKeyOf(job), intent);
  job.opts.crashPoint?.('before-redis-write');
  const { events, written } = await write();
  const batchId = rescoreBatchId(job.id, intent.chunk, job.kind);
  const audit = buildChunkAudit({
    batchId,
    pipeline: job.config.pipeline.name,
    instance: job.instance,
    model: job.model.stamp,
    scored: written,
    events,
    openedAt,
    closedAt: Date.now(),
  });
  const tx = await job.producer.begin();
  try {
    await tx.sendAll([
      {
        topic: job.config.outputs.predictions,
        messages: events.map((e) => ({ key: e.entity_id, value: job.encoder.encode(e) })),
      },
      {
        topic: job.config.outputs.audit,
        messages: [{ key: batchId, value: job.auditEncoder.encode(audit) }],
      },
    ]);
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

function reemitEvent(job: Job, stored: StoredPrediction): PredictionEventV1 {
  const ref = inputOf(stored);
  return storedPredictionEvent(
    stored,
    ref === null ? [] : [ref],
    job.config.pipeline.name,
    eventTrigger(job.kind),
  );
}

async function load(
  job: Job,
  ids: readonly string[],
): Promise<[EntityState[], Array<StoredPrediction | null>]> {
  return Promise.all([job.sink.load(ids), job.sink.storedPredictions(ids)]);
}

/** What the plan functions need to know about the job and the live group. */
export function viewOf(job: Job): RescoreView {
  return {
    kind: job.kind,
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

/** Holds the job to `rate` entities per second over its whole run (since `started`). */
export async function pace(job: Job, started: number, signal?: AbortSignal): Promise<void> {
  const rate = job.opts.rate;
  if (!(rate > 0)) return;
  const done = job.counts.scored + job.counts.reemitted;
  const ahead = (done * 1000) / rate - (Date.now() - started);
  if (ahead > 0) await sleep(ahead, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
}

function intentKey(config: Readonly<Config>, kind: JobKind, id: string): string {
  return `${config.redis.keyPrefix}${config.pipeline.name}:${kind}:${id}`;
}

function intentKeyOf(job: Job): string {
  return intentKey(job.config, job.kind, job.id);
}
