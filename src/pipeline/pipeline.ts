import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInputConsumer, createTransactionalProducer, maxSendBytes } from '../adapters/kafka-io.js';
import type {
  InputBatch,
  InputConsumer,
  TopicPartition,
  TransactionalProducer,
} from '../adapters/kafka-io.js';
import { connectTopicAdmin, createKafkaClient } from '../adapters/kafka.js';
import type { KafkaClient } from '../adapters/kafka.js';
import { createRedisStore } from '../adapters/redis.js';
import type { RedisStore } from '../adapters/redis.js';
import { createRegistryClient } from '../adapters/registry.js';
import type { Config } from '../config/index.js';
import { AvroEncoder } from '../emit/index.js';
import type { AuditEventV1, PredictionEventV1 } from '../emit/index.js';
import { StreamscoreError, isProgrammingError } from '../errors/index.js';
import { DAY_MS, eventNeeds, profileFields } from '../features/index.js';
import { loadModel } from '../models/index.js';
import { ObserveServer } from '../observe/http.js';
import type { Logger } from '../observe/logger.js';
import { PipelineMetrics } from '../observe/metrics.js';
import { createScorer } from '../score/index.js';
import type { Scorer } from '../score/index.js';
import { RedisSink, committedKey } from '../sink/index.js';
import { splitIntoWindows, windowLimits } from '../window/index.js';
import { inputConsumerOptions } from './consumer-options.js';
import { buildRoles } from './roles.js';
import { crashPointFromEnv } from './test-hooks.js';
import { processWindow, windowBatchId } from './process-window.js';
import type { WindowResult } from './process-window.js';
import type { PartitionContext, PipelineContext } from './types.js';
import type { RawRecord } from '../decode/types.js';

export interface PipelineOptions {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  /** Folder holding schemas/ (default: the working directory). */
  readonly projectDir?: string;
  readonly onWindow?: (result: WindowResult) => void;
  /** Called once when the pipeline halts on a non-retriable error (e.g. a DLQ flood). */
  readonly onHalt?: (err: Error) => void;
  readonly env?: NodeJS.ProcessEnv;
}

const tpKey = (tp: TopicPartition) => `${tp.topic}/${tp.partition}`;

/**
 * A running pipeline: one consumer-group member with a transactional producer per owned input partition.
 * `stop()` is idempotent and runs every cleanup step even if one fails.
 */
export class Pipeline {
  readonly #opts: PipelineOptions;
  readonly metrics: PipelineMetrics;
  #kafka: KafkaClient | undefined;
  #consumer: InputConsumer | undefined;
  #redis: RedisStore | undefined;
  #scorer: Scorer | undefined;
  #ctx: PipelineContext | undefined;
  #observe: ObserveServer | undefined;
  readonly #partitions = new Map<string, Promise<PartitionContext>>();
  /**
   * Partitions whose producer a newer owner fenced. Without KIP-447 the consumer may not know yet that it
   * lost them; a new producer would fence the rightful owner in turn, so none is made until the group
   * assigns the partition to this member again.
   */
  readonly #fenced = new Set<string>();
  /** Per-partition chain of batches (see #onBatch). */
  readonly #locks = new Map<string, Promise<void>>();
  /** Output topic -> most bytes per produce call, from the topics' max.message.bytes. */
  #sendLimits = new Map<string, number>();
  #generation = 0;
  #owned = new Set<string>();
  #inFlight = 0;
  #paused = false;
  #assigned = false;
  #halted: Error | undefined;
  #stopping: Promise<void> | undefined;
  observePort = 0;

  constructor(opts: PipelineOptions) {
    this.#opts = opts;
    this.metrics = new PipelineMetrics(opts.config.pipeline.name);
  }

  get halted(): Error | undefined {
    return this.#halted;
  }

  async start(): Promise<void> {
    const { config, logger } = this.#opts;
    const projectDir = this.#opts.projectDir ?? process.cwd();
    const model = await loadModel(
      join(projectDir, config.model.dir),
      config.model.name,
      config.model.version,
    );
    this.#scorer = createScorer(model);
    const registry = createRegistryClient(config.registry);
    const [predictionEncoder, auditEncoder] = await Promise.all([
      AvroEncoder.register<PredictionEventV1>(
        registry,
        `${config.outputs.predictions}-value`,
        join(projectDir, 'schemas/predictions-value.avsc'),
      ),
      AvroEncoder.register<AuditEventV1>(
        registry,
        `${config.outputs.audit}-value`,
        join(projectDir, 'schemas/audit-value.avsc'),
      ),
    ]);
    this.#redis = createRedisStore(config.redis, `streamscore:${config.pipeline.name}`);
    const spec = model.featureSpec;
    const needs = eventNeeds(spec, 30); // events are kept for at least 30 days, whatever the spec needs
    const fields = {
      profile: profileFields(spec),
      event: needs.fields,
      lookbackMs: needs.lookbackDays * DAY_MS,
    };
    const crash = crashPointFromEnv(this.#opts.env ?? process.env);
    this.#ctx = {
      config,
      instance: `${hostname()}:${process.pid}`,
      roles: buildRoles(config, registry, projectDir, fields.profile),
      sink: new RedisSink(this.#redis, {
        prefix: config.redis.keyPrefix,
        pipeline: config.pipeline.name,
        fields,
        cacheBytes: config.state.cacheMb * 1024 * 1024,
      }),
      fields,
      scorer: this.#scorer,
      featureSpec: spec,
      model: {
        name: model.manifest.name,
        version: model.manifest.version,
        sha256: model.sha256,
        trainingRunId: model.manifest.training_run_id,
        featureVersion: `${spec.name}@${spec.version}`,
      },
      predictionEncoder,
      auditEncoder,
      logger,
      metrics: this.metrics,
      ...(crash === undefined ? {} : { crashPoint: crash }),
    };
    this.#observe = new ObserveServer(this.metrics.registry, {
      live: () => this.#halted === undefined,
      ready: () => this.#assigned && this.#halted === undefined && this.#stopping === undefined,
    });
    this.observePort = await this.#observe.start(config.observe.host, config.observe.port);

    this.#kafka = createKafkaClient(config.kafka, logger);
    this.#sendLimits = await outputSendLimits(this.#kafka, [
      config.outputs.predictions,
      config.outputs.audit,
      config.outputs.dlq,
    ]);
    const topics = [...config.inputs.cdc.map((i) => i.topic), ...config.inputs.events.map((i) => i.topic)];
    const consumer = createInputConsumer(this.#kafka, inputConsumerOptions(config), topics);
    this.#consumer = consumer;
    consumer.onAssignment((assigned) => void this.#onAssignment(assigned));
    consumer.onCrash((err, willRestart) => {
      logger.error({ err, willRestart }, 'consumer crashed');
    });
    await consumer.start((batch) => this.#onBatch(batch));
    logger.info(
      { topics, group: config.consumer.groupId, model: this.#ctx.model, observePort: this.observePort },
      'pipeline started',
    );
  }

  async #onAssignment(assigned: TopicPartition[]): Promise<void> {
    this.#assigned = true;
    this.#fenced.clear();
    this.#generation += 1;
    const keep = new Set(assigned.map(tpKey));
    this.#owned = keep;
    for (const [key, ctx] of this.#partitions) {
      if (keep.has(key)) continue;
      this.#partitions.delete(key);
      ctx.then((c) => c.producer.close()).catch(() => undefined);
    }
    this.#opts.logger.info({ assigned: [...keep] }, 'partitions assigned');
  }

  #partition(
    tp: TopicPartition,
    firstOffset: bigint,
    heartbeat: () => Promise<void>,
  ): Promise<PartitionContext> {
    const key = tpKey(tp);
    let p = this.#partitions.get(key);
    if (p === undefined) {
      p = this.#openPartition(tp, firstOffset);
      p.catch(() => this.#partitions.delete(key));
      this.#partitions.set(key, p);
    }
    return p.then((ctx) => Object.assign(ctx, { heartbeat }));
  }

  async #openPartition(tp: TopicPartition, firstOffset: bigint): Promise<PartitionContext> {
    const { config } = this.#opts;
    const redis = this.#redis as RedisStore;
    const producer: TransactionalProducer = await createTransactionalProducer(
      this.#kafka as KafkaClient,
      config.consumer.groupId,
      tp,
      this.#sendLimits,
    );
    const key = committedKey(config.redis.keyPrefix, config.pipeline.name, tp.topic, tp.partition);
    const sink = (this.#ctx as PipelineContext).sink;
    // The first fetch after an assignment starts at the group's committed offset: everything before it is
    // committed. Keep the larger of that and what Redis already knew (a replay from earlier offsets).
    const stored = BigInt((await redis.get(key)) ?? '-1');
    const marker = stored > firstOffset - 1n ? stored : firstOffset - 1n;
    await sink.raise({ key, value: marker });
    const ctx: PartitionContext = {
      tp,
      producer,
      committedMarker: marker,
      committedHere: -1n,
      markCommitted: (offset) => {
        if (offset > ctx.committedMarker) ctx.committedMarker = offset;
        if (offset > ctx.committedHere) ctx.committedHere = offset;
        // not awaited: the window is done; the next write on the same connection queues behind it
        sink.raise({ key, value: offset }).catch((err: unknown) => {
          this.#opts.logger.warn(
            { err, partition: tpKey(tp) },
            'could not record the committed offset in Redis; it is recorded again with the next window',
          );
        });
      },
      heartbeat: async () => undefined,
      refreshMarker: async () => {
        const committed = await (this.#consumer as InputConsumer).committedOffset(tp);
        if (committed !== null && committed - 1n > ctx.committedMarker) ctx.committedMarker = committed - 1n;
        return ctx.committedMarker;
      },
    };
    return ctx;
  }

  /**
   * One fetched batch of one partition. Batches of the same partition never run concurrently here: kafkajs
   * re-fetches a partition from its last resolved offset after a rebalance or an error while an earlier
   * batch of it may still be in flight, so the same records can arrive twice. They wait for the partition's
   * lock, and records this process already committed are skipped (resolved, not processed again).
   */
  async #onBatch(batch: InputBatch): Promise<void> {
    const tp = { topic: batch.topic, partition: batch.partition };
    const key = tpKey(tp);
    const previous = this.#locks.get(key) ?? Promise.resolve();
    let release = () => undefined as void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    this.#locks.set(key, chained);
    await previous;
    try {
      await this.#processBatch(batch, tp);
    } finally {
      release();
      if (this.#locks.get(key) === chained) this.#locks.delete(key);
    }
  }

  async #processBatch(batch: InputBatch, tp: TopicPartition): Promise<void> {
    const ctx = this.#ctx as PipelineContext;
    if (this.#halted !== undefined || batch.records.length === 0) return;
    if (this.#fenced.has(tpKey(tp))) {
      // wait for the rebalance that tells this member what it owns now; nothing is resolved or committed
      await new Promise((r) => setTimeout(r, 250));
      return;
    }
    const generation = this.#generation;
    const part = await this.#partition(tp, BigInt((batch.records[0] as RawRecord).offset), batch.heartbeat);
    const records = batch.records.filter((r) => BigInt(r.offset) > part.committedHere);
    const skipped = batch.records[batch.records.length - records.length - 1];
    if (records.length < batch.records.length && skipped !== undefined) batch.resolveOffset(skipped.offset);
    let pending = records.length;
    let batchId: string | undefined;
    this.#track(pending);
    try {
      for (const window of splitIntoWindows(records, windowLimits(records.length, ctx.config.window))) {
        batchId = windowBatchId(ctx.config.pipeline.name, window);
        // a window never spans a rebalance: once this member no longer owns the partition (or the batch
        // was made stale by a seek), the rest of the batch is left uncommitted for the new owner
        const revoked = generation !== this.#generation && !this.#owned.has(tpKey(tp));
        if (!batch.isRunning() || batch.isStale() || revoked) return;
        const result = await processWindow(ctx, part, window);
        const last = window[window.length - 1] as (typeof window)[number];
        batch.resolveOffset(last.offset);
        pending -= window.length;
        this.#track(-window.length);
        this.metrics.consumerLag.set(
          { topic: tp.topic, partition: String(tp.partition) },
          Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1),
        );
        this.#opts.onWindow?.(result);
      }
    } catch (err) {
      this.#onWindowError(err, tp, batchId);
      throw err;
    } finally {
      this.#track(-pending);
    }
  }

  /** Backpressure: pause fetching while too many fetched records are not committed yet. */
  #track(delta: number): void {
    this.#inFlight += delta;
    this.metrics.inFlightRecords.set(this.#inFlight);
    const limit = this.#opts.config.backpressure.maxInFlightRecords;
    if (!this.#paused && this.#inFlight > limit) {
      this.#paused = true;
      this.metrics.paused.set(1);
      this.#consumer?.pause();
    } else if (this.#paused && this.#inFlight <= limit / 2) {
      this.#paused = false;
      this.metrics.paused.set(0);
      this.#consumer?.resume();
    }
  }

  #onWindowError(err: unknown, tp: TopicPartition, batchId: string | undefined): void {
    const logger = this.#opts.logger.child({ batchId });
    const key = tpKey(tp);
    if (err instanceof StreamscoreError && err.code === 'SS_FENCED') {
      // keep no producer for it: only a new assignment makes a new one (see #fenced)
      this.#fenced.add(key);
      const part = this.#partitions.get(key);
      this.#partitions.delete(key);
      part?.then((c) => c.producer.close()).catch(() => undefined);
      this.metrics.windows.inc({ outcome: 'fenced' });
      logger.warn({ err, partition: key }, 'fenced by a newer owner of the partition; window abandoned');
      return;
    }
    if (isProgrammingError(err) || (err instanceof StreamscoreError && !err.retriable)) {
      this.metrics.windows.inc({ outcome: 'halted' });
      this.#halted = err as Error;
      logger.fatal({ err, partition: key }, 'pipeline halted: this error is not retried');
      this.#opts.onHalt?.(err as Error);
      return;
    }
    this.metrics.windows.inc({ outcome: 'aborted' });
    logger.warn(
      { err, partition: key },
      'window aborted; it will be fetched again from the committed offset',
    );
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#close();
    return this.#stopping;
  }

  async #close(): Promise<void> {
    const steps: Array<[string, () => Promise<unknown> | undefined]> = [
      ['consumer', () => this.#consumer?.close()],
      [
        'producers',
        () =>
          Promise.all(
            [...this.#partitions.values()].map((p) =>
              p.then((c) => c.producer.close()).catch(() => undefined),
            ),
          ),
      ],
      ['redis', () => this.#redis?.close()],
      ['scorer', () => this.#scorer?.close()],
      ['observe', () => this.#observe?.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.#opts.logger.warn({ err, step: name }, 'cleanup step failed');
      }
    }
    this.#partitions.clear();
  }
}

/** Reads the output topics' max.message.bytes (topic-level, else the broker default of 1 MiB). */
async function outputSendLimits(kafka: KafkaClient, topics: readonly string[]): Promise<Map<string, number>> {
  const admin = await connectTopicAdmin(kafka);
  try {
    const state = await admin.describe(topics);
    const limits = new Map<string, number>();
    for (const t of topics) {
      const raw = state.get(t)?.config['max.message.bytes'];
      limits.set(t, maxSendBytes(raw === undefined ? undefined : Number(raw)));
    }
    return limits;
  } finally {
    await admin.close();
  }
}
