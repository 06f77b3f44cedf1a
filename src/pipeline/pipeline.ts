import { kafkaError, withRefusal } from '../adapters/kafka-errors.js';
import { checkTopics, createInputConsumer } from '../adapters/kafka-io.js';
import type { InputBatch, InputConsumer, TopicPartition } from '../adapters/kafka-io.js';
import { createKafkaClient, lastAuthorizationRefusal } from '../adapters/kafka.js';
import { createLagProbe } from '../adapters/kafka-lag.js';
import type { KafkaClient } from '../adapters/kafka.js';
import type { RedisStore } from '../adapters/redis.js';
import type { Config } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';
import { ObserveServer } from '../observe/http.js';
import type { Logger } from '../observe/logger.js';
import { PipelineMetrics } from '../observe/metrics.js';
import type { ControlFollower } from '../adapters/kafka-control.js';
import { followPromotions, httpModelAdmin, promotionReporter } from '../lifecycle/index.js';
import { RedisRecovery } from '../recover/index.js';
import { inputConsumerOptions } from './consumer-options.js';
import { BatchRunner } from './batches.js';
import type { RunBounds } from './batches.js';
import { buildPipelineContext } from './context.js';
import { openPartitionContext } from './partition-context.js';
import { PartitionLifecycle, tpKey } from './partitions.js';
import { PipelineHealth } from './health.js';
import { runShutdown } from './shutdown.js';
import type { ShutdownReport } from './shutdown.js';
import type { PartitionProgress } from './partitions.js';
import { consumerCrashFromEnv } from './test-hooks.js';
import type { WindowResult } from './process-window.js';
import type { PartitionContext, PipelineContext } from './types.js';

export interface PipelineOptions {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  /** Folder holding schemas/ (default: the working directory). */
  readonly projectDir?: string;
  readonly onWindow?: (result: WindowResult) => void;
  /**
   * Called once when the pipeline halts: on a non-retriable error (e.g. a DLQ flood), or when the consumer
   * crashed and will not restart. The process must then exit non-zero: nothing consumes any more.
   */
  readonly onHalt?: (err: Error) => void;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * A bounded run (`streamscore replay`): per input partition (`topic/partition`), the offset to stop
   * before. Records at or past it are never processed (nor committed); `onReached` is called once per
   * partition when every record before it is committed and the consumer has read up to it (so trailing
   * transaction markers count as read). A Redis rebuild of a bounded run goes up to the committed offsets
   * only (the state as of where the run resumes; see RecoveryOptions.upToCommitted).
   */
  readonly bounds?: RunBounds;
}

/**
 * A running pipeline: one consumer-group member with a transactional producer per owned input partition
 * (their lifecycle: see PartitionLifecycle). `stop()` is idempotent and runs every cleanup step even if one
 * fails.
 */
export class Pipeline {
  readonly #opts: PipelineOptions;
  readonly metrics: PipelineMetrics;
  #kafka: KafkaClient | undefined;
  #consumer: InputConsumer | undefined;
  #redis: RedisStore | undefined;
  /** Follows promotions of model.alias on the control topic (undefined when the model is pinned). */
  #follower: ControlFollower | undefined;
  #ctx: PipelineContext | undefined;
  #observe: ObserveServer | undefined;
  readonly #partitions: PartitionLifecycle;
  /** Output topic -> most bytes per produce call, from the topics' max.message.bytes. */
  #sendLimits = new Map<string, number>();
  #recovery: RedisRecovery | undefined;
  /** Runs the fetched batches (windows, commits, backpressure; see batches.ts). */
  #batches: BatchRunner | undefined;
  #health: PipelineHealth | undefined;
  /** In the group with a current assignment (false before the first join, while rebalancing, after a crash). */
  #member = false;
  #halted: Error | undefined;
  /** The data-quality gate tripped under dlq.policy=halt: nothing runs until resume() or a restart. */
  #hold: Error | undefined;
  /** Test-only: throws from a batch as if the consumer itself failed (see test-hooks). */
  #consumerCrash: (() => void) | undefined;
  #stopping: Promise<ShutdownReport> | undefined;
  observePort = 0;

  constructor(opts: PipelineOptions) {
    this.#opts = opts;
    this.metrics = new PipelineMetrics(opts.config.pipeline.name);
    this.#partitions = new PartitionLifecycle(
      (tp, firstOffset, previous) => this.#openPartition(tp, firstOffset, previous),
      (err) => opts.logger.warn({ err }, 'closing a retired producer failed'),
    );
  }

  get halted(): Error | undefined {
    return this.#halted;
  }

  async start(): Promise<void> {
    const { config, logger } = this.#opts;
    const projectDir = this.#opts.projectDir ?? process.cwd();
    const built = await buildPipelineContext({
      config,
      logger,
      metrics: this.metrics,
      projectDir,
      env: this.#opts.env ?? process.env,
    });
    this.#redis = built.redis;
    this.#ctx = built.ctx;
    this.#consumerCrash = consumerCrashFromEnv(this.#opts.env ?? process.env);
    const sink = this.#ctx.sink;
    this.metrics.stateCache(() => sink.cacheStats);
    this.metrics.modelInfo(this.#ctx.model);
    this.#health = new PipelineHealth({
      state: {
        member: () => this.#member,
        halted: () => this.#halted,
        held: () => this.#hold,
        stopping: () => this.#stopping !== undefined,
        recovering: () => this.#recovering(),
        owned: () => this.#partitions.owned,
        fetchedTo: () => this.#consumer?.fetchedTo() ?? new Map(),
      },
      metrics: this.metrics,
      logger,
      lagIntervalMs: config.observe.lagIntervalMs,
      stallAfterMs: config.observe.stallAfterMs,
      pipeline: config.pipeline.name,
      instance: this.#ctx.instance,
      model: () => ({ ...(this.#ctx as PipelineContext).model }),
    });
    const health = this.#health;
    this.#observe = new ObserveServer(
      this.metrics.registry,
      { live: () => health.live(), ready: () => health.ready() },
      () => health.report(),
      config.observe.adminToken === undefined
        ? undefined
        : {
            token: config.observe.adminToken,
            resume: () => this.resume('POST /admin/resume'),
            models: httpModelAdmin(config, projectDir),
          },
    );
    this.observePort = await this.#observe.start(config.observe.host, config.observe.port);

    this.#kafka = createKafkaClient(config.kafka, logger);
    this.#sendLimits = await checkTopics(this.#kafka, [
      ...config.inputs.cdc.map((i, n) => ({ topic: i.topic, field: `inputs.cdc.${n}.topic` })),
      ...config.inputs.events.map((i, n) => ({ topic: i.topic, field: `inputs.events.${n}.topic` })),
      { topic: config.outputs.predictions, field: 'outputs.predictions', output: true },
      { topic: config.outputs.audit, field: 'outputs.audit', output: true },
      { topic: config.outputs.dlq, field: 'outputs.dlq', output: true },
      { topic: config.outputs.quarantine, field: 'outputs.quarantine', output: true },
      ...(config.model.challenger === undefined
        ? []
        : [{ topic: config.outputs.shadow, field: 'outputs.shadow', output: true }]),
    ]);
    this.#recovery = new RedisRecovery({
      ctx: this.#ctx,
      kafka: this.#kafka,
      store: this.#redis,
      owner: this.#ctx.instance,
      onChange: () => this.#gateFetching(),
      upToCommitted: this.#opts.bounds !== undefined,
    });
    await this.#recovery.start();
    const topics = [...config.inputs.cdc.map((i) => i.topic), ...config.inputs.events.map((i) => i.topic)];
    const consumer = createInputConsumer(this.#kafka, inputConsumerOptions(config), topics);
    this.#consumer = consumer;
    consumer.onAssignment((assigned) => this.#onAssignment(assigned));
    consumer.onRebalancing(() => this.#setMember(false));
    consumer.onCrash((err, willRestart) => this.#onCrash(err, willRestart));
    this.#batches = new BatchRunner({
      ctx: this.#ctx,
      consumer,
      partitions: this.#partitions,
      health: this.#health,
      metrics: this.metrics,
      bounds: this.#opts.bounds,
      onWindow: this.#opts.onWindow,
      held: () => this.#held(),
      stopping: () => this.#stopping !== undefined,
      hold: (err, partition, batchId) => this.#holdFor(err, partition, batchId),
      halt: (err, fields) => this.#halt(err, fields),
      redisLost: (reason) => void this.#recovery?.lost(reason),
      gate: () => this.#gateFetching(),
    });
    await consumer.start((batch) => this.#onBatch(batch));
    if (config.model.alias !== undefined) await this.#followPromotions();
    this.#health.start(createLagProbe(this.#kafka, config.consumer.groupId, topics));
    logger.info(
      { topics, group: config.consumer.groupId, model: this.#ctx.model, observePort: this.observePort },
      'pipeline started',
    );
  }

  #onAssignment(assigned: TopicPartition[]): void {
    // even a partition this member had before gets a fresh producer: it may have been out of the group
    // meanwhile, and the partition's owner in between fenced the producer it still holds
    this.#partitions.assign(assigned);
    this.#setMember(true);
    this.metrics.groupAssignments.inc();
    this.#opts.logger.info(
      { assigned: assigned.map(tpKey), generation: this.#partitions.generation },
      'partitions assigned',
    );
  }

  /** Applies later promotions of model.alias at each partition's next window boundary (see ModelSlot). */
  async #followPromotions(): Promise<void> {
    const ctx = this.#ctx as PipelineContext;
    const logger = this.#opts.logger;
    this.#follower = await followPromotions({
      kafka: this.#kafka as KafkaClient,
      config: ctx.config,
      slot: ctx.models,
      from: ctx.controlEnds,
      logger,
      onOutcome: promotionReporter(this.metrics, logger, () => ctx.model),
    });
  }

  #setMember(member: boolean): void {
    this.#member = member;
    this.metrics.groupMember.set(member ? 1 : 0);
  }

  /**
   * A crashed consumer has left the group. kafkajs restarts it when the cause was retriable (a new member
   * joins, #onAssignment gives it fresh producers); otherwise the pipeline halts, so the process exits
   * non-zero instead of living on outside its group.
   */
  #onCrash(err: Error, willRestart: boolean): void {
    this.#setMember(false);
    if (this.#stopping !== undefined) return;
    this.metrics.consumerCrashes.inc({ restart: String(willRestart) });
    if (willRestart) {
      this.#opts.logger.error({ err }, 'consumer crashed; it restarts and joins the group again');
      return;
    }
    // a consumer the broker refused (kafkajs logs the refusal and throws "group coordinator not found")
    const refused =
      this.#kafka === undefined ? err : withRefusal(err, lastAuthorizationRefusal(this.#kafka, 60000));
    this.#halt(
      refused !== err
        ? kafkaError(refused, 'the Kafka consumer crashed and will not restart')
        : new StreamscoreError(
            'SS_CONSUMER_CRASHED',
            `the Kafka consumer crashed and will not restart: ${err.message}`,
            { cause: err },
          ),
      {},
    );
  }

  /**
   * Lifts a hold of the data-quality gate: the held windows are fetched again from the committed offset
   * and judged again (a fix upstream, a schema registered since, a corrected contract after a restart).
   * Writer schemas the registry did not know are asked for again at once.
   */
  resume(by: string): { resumed: boolean; reason?: string } {
    const hold = this.#hold;
    if (hold === undefined) return { resumed: false };
    this.#hold = undefined;
    this.metrics.held.set(0);
    for (const role of (this.#ctx as PipelineContext).roles.values()) role.decoder.retryUnknown();
    this.#opts.logger.warn(
      { by, reason: hold.message },
      'data-quality hold lifted; the held windows are read again',
    );
    this.#gateFetching();
    return { resumed: true, reason: hold.message };
  }

  #holdFor(err: Error, partition: string, batchId: string | undefined): void {
    this.#health?.watch.idle(partition);
    if (this.#hold !== undefined) return;
    this.#hold = err;
    this.metrics.held.set(1);
    this.#gateFetching();
    this.#opts.logger.error(
      { err, partition, batchId },
      'pipeline held by the data-quality gate: nothing is committed until an operator resumes it (POST /admin/resume) or restarts it after the fix',
    );
  }

  /** Stops consuming for good and tells the caller (onHalt), once. */
  #halt(err: Error, fields: Record<string, unknown>): void {
    if (this.#halted !== undefined) return;
    this.#halted = err;
    this.#consumer?.pause();
    this.#opts.logger.fatal({ err, ...fields }, 'pipeline halted: this error is not retried');
    this.#opts.onHalt?.(err);
  }

  #openPartition(
    tp: TopicPartition,
    firstOffset: bigint,
    previous: PartitionProgress | undefined,
  ): Promise<PartitionContext> {
    const ctx = this.#ctx as PipelineContext;
    return openPartitionContext(
      {
        config: ctx.config,
        kafka: this.#kafka as KafkaClient,
        redis: this.#redis as RedisStore,
        sink: ctx.sink,
        sendLimits: this.#sendLimits,
        consumer: this.#consumer as InputConsumer,
        logger: ctx.logger,
      },
      tp,
      firstOffset,
      previous,
    );
  }

  /** One fetched batch of one partition (see BatchRunner). */
  async #onBatch(batch: InputBatch): Promise<void> {
    this.#consumerCrash?.();
    await (this.#batches as BatchRunner).run(batch);
  }

  #recovering(): boolean {
    return this.#recovery?.recovering === true;
  }

  /**
   * No window may start: halted, stopping (the records go to the next owner), or Redis being rebuilt.
   * Nothing is resolved then, so the records are fetched again.
   */
  #held(): boolean {
    return (
      this.#halted !== undefined ||
      this.#hold !== undefined ||
      this.#stopping !== undefined ||
      this.#recovering()
    );
  }

  /** Fetches only when nothing holds it back: backpressure, a Redis recovery, a halt. */
  #gateFetching(): void {
    if (
      this.#batches?.paused === true ||
      this.#recovering() ||
      this.#halted !== undefined ||
      this.#hold !== undefined
    )
      this.#consumer?.pause();
    else this.#consumer?.resume();
  }

  /**
   * Stops within `shutdown.timeoutMs` (see runShutdown): no new window starts; running windows get 40% of
   * the budget to commit; then producers close (a stuck window's transaction is abandoned and aborted by
   * the coordinator), the consumer leaves its group (partitions move at once), then Redis, the model and the
   * HTTP server. Idempotent; the report names every step that failed or timed out.
   */
  stop(): Promise<ShutdownReport> {
    this.#stopping ??= this.#close();
    return this.#stopping;
  }

  async #close(): Promise<ShutdownReport> {
    const { logger, config } = this.#opts;
    this.#recovery?.stop();
    this.#consumer?.pause();
    const report = await runShutdown(
      [
        { name: 'windows', share: 0.4, run: () => this.#partitions.idle() },
        { name: 'producers', share: 0.2, run: () => this.#partitions.closeNow() },
        {
          name: 'consumer',
          share: 0.25,
          run: () => Promise.all([this.#consumer?.close(), this.#follower?.stop()]),
        },
        { name: 'redis', share: 0.05, run: () => this.#redis?.close() },
        {
          name: 'scorer',
          share: 0.05,
          run: () => Promise.all([this.#ctx?.models.close(), this.#ctx?.challenger?.model.scorer.close()]),
        },
        {
          name: 'observe',
          share: 0.05,
          run: () => Promise.all([this.#observe?.close(), this.#health?.stop()]),
        },
      ],
      config.shutdown.timeoutMs,
      (step, reason, err) => logger.error({ step, reason, err }, `shutdown step "${step}" failed`),
    );
    logger.info({ ...report }, report.failed.length === 0 ? 'stopped' : 'stopped, not cleanly');
    return report;
  }
}
