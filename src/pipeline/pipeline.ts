import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInputConsumer, createTransactionalProducer } from '../adapters/kafka-io.js';
import type {
  InputBatch,
  InputConsumer,
  TopicPartition,
  TransactionalProducer,
} from '../adapters/kafka-io.js';
import { createKafkaClient } from '../adapters/kafka.js';
import type { KafkaClient } from '../adapters/kafka.js';
import { createRedisStore } from '../adapters/redis.js';
import type { RedisStore } from '../adapters/redis.js';
import { createRegistryClient } from '../adapters/registry.js';
import type { Config } from '../config/index.js';
import { AvroEncoder } from '../emit/index.js';
import type { AuditEventV1, PredictionEventV1 } from '../emit/index.js';
import { StreamscoreError, isProgrammingError } from '../errors/index.js';
import { DAY_MS } from '../features/index.js';
import { loadModel } from '../models/index.js';
import { ObserveServer } from '../observe/http.js';
import type { Logger } from '../observe/logger.js';
import { PipelineMetrics } from '../observe/metrics.js';
import { createScorer } from '../score/index.js';
import type { Scorer } from '../score/index.js';
import { RedisSink, committedKey } from '../sink/index.js';
import { splitIntoWindows } from '../window/index.js';
import { buildRoles } from './roles.js';
import { crashPointFromEnv } from './test-hooks.js';
import { processWindow } from './process-window.js';
import type { WindowResult } from './process-window.js';
import type { PartitionContext, PipelineContext } from './types.js';

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
    const maxDays = Math.max(
      30,
      ...spec.features.map((f) => ('aggregate' in f.source ? f.source.aggregate.windowDays : 0)),
    );
    const crash = crashPointFromEnv(this.#opts.env ?? process.env);
    this.#ctx = {
      config,
      instance: `${hostname()}:${process.pid}`,
      roles: buildRoles(config, registry, projectDir),
      sink: new RedisSink(this.#redis, config.redis.keyPrefix, config.pipeline.name, maxDays * DAY_MS),
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
    const topics = [...config.inputs.cdc.map((i) => i.topic), ...config.inputs.events.map((i) => i.topic)];
    const consumer = createInputConsumer(this.#kafka, config, topics);
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
    const keep = new Set(assigned.map(tpKey));
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
    );
    const key = committedKey(config.redis.keyPrefix, config.pipeline.name, tp.topic, tp.partition);
    // The first fetch after an assignment starts at the group's committed offset: everything before it is
    // committed. Keep the larger of that and what Redis already knew (a replay from earlier offsets).
    const stored = BigInt((await redis.get(key)) ?? '-1');
    const marker = stored > firstOffset - 1n ? stored : firstOffset - 1n;
    await redis.setMax(key, marker);
    const ctx: PartitionContext = {
      tp,
      producer,
      committedMarker: marker,
      async markCommitted(offset) {
        if (offset > ctx.committedMarker) ctx.committedMarker = offset;
        await redis.setMax(key, offset);
      },
      heartbeat: async () => undefined,
      refreshMarker: async () => {
        const committed = await (this.#consumer as InputConsumer).committedOffset(tp);
        if (committed !== null) await ctx.markCommitted(committed - 1n);
        return ctx.committedMarker;
      },
    };
    return ctx;
  }

  async #onBatch(batch: InputBatch): Promise<void> {
    const ctx = this.#ctx as PipelineContext;
    const first = batch.records[0];
    if (this.#halted !== undefined || first === undefined) return;
    const tp = { topic: batch.topic, partition: batch.partition };
    let pending = batch.records.length;
    this.#track(pending);
    try {
      const part = await this.#partition(tp, BigInt(first.offset), batch.heartbeat);
      for (const window of splitIntoWindows(batch.records, ctx.config.window)) {
        // a window never spans a rebalance: once the assignment is stale, leave the rest uncommitted
        if (!batch.isRunning() || batch.isStale()) return;
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
      this.#onWindowError(err, tp);
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

  #onWindowError(err: unknown, tp: TopicPartition): void {
    const { logger } = this.#opts;
    const key = tpKey(tp);
    // the partition's producer may be fenced or mid-transaction: start clean on the next attempt
    const part = this.#partitions.get(key);
    this.#partitions.delete(key);
    part?.then((c) => c.producer.close()).catch(() => undefined);
    if (err instanceof StreamscoreError && err.code === 'SS_FENCED') {
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
