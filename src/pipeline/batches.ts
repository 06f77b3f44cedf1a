import type { InputBatch, InputConsumer, TopicPartition } from '../adapters/kafka-io.js';
import type { RawRecord } from '../decode/types.js';
import type { PipelineMetrics } from '../observe/metrics.js';
import { splitIntoWindows, windowLimits } from '../window/index.js';
import { PartitionBackoff, waitOut } from './backoff.js';
import { RecordBudget } from './budget.js';
import type { PipelineHealth } from './health.js';
import { tpKey } from './partitions.js';
import type { PartitionLifecycle } from './partitions.js';
import { processWindow, windowBatchId } from './process-window.js';
import type { WindowResult } from './process-window.js';
import type { PipelineContext } from './types.js';
import { judgeWindowError } from './window-errors.js';

/** How long a batch of a fenced partition waits before it is fetched again. */
const FENCED_WAIT_MS = 250;

/** A bounded run: per input partition (`topic/partition`), the offset to stop before. */
export interface RunBounds {
  readonly ends: ReadonlyMap<string, bigint>;
  readonly onReached: (partition: string) => void;
}

/** What the batches need of the running pipeline (its state machine stays in pipeline.ts). */
export interface BatchHost {
  readonly ctx: PipelineContext;
  readonly consumer: InputConsumer;
  readonly partitions: PartitionLifecycle;
  readonly health: PipelineHealth;
  readonly metrics: PipelineMetrics;
  /** A bounded run's ends (see PipelineOptions.bounds). */
  readonly bounds?: RunBounds;
  readonly onWindow?: (result: WindowResult) => void;
  /** No window may start: halted, held, stopping or recovering Redis (nothing is resolved then). */
  held(): boolean;
  stopping(): boolean;
  /** The data-quality gate (or the output guard) refused a window: hold everything. */
  hold(err: Error, partition: string, batchId: string | undefined): void;
  /** A failure that is not retried: stop consuming for good. */
  halt(err: Error, fields: Record<string, unknown>): void;
  /** The epoch fence refused a write: Redis lost its data and is rebuilt. */
  redisLost(reason: string): void;
  /** Backpressure changed: fetch or pause accordingly. */
  gate(): void;
}

/**
 * What happens to one fetched batch of one partition: split into windows, each window processed and
 * committed in order under the window budget, the offsets resolved after each commit; a failed window is
 * judged (window-errors.ts) and carried out here. Also the fetch backpressure: records fetched and not yet
 * committed, past backpressure.maxInFlightRecords, pause fetching until half of them are done.
 */
export class BatchRunner {
  readonly #host: BatchHost;
  /** Per partition: consecutive windows that failed on something transient (see backoff.ts). */
  readonly #backoff = new PartitionBackoff();
  /** Records all partitions' windows may process at once (backpressure.maxWindowRecords). */
  readonly #budget: RecordBudget;
  #inFlight = 0;
  #paused = false;
  /** Since when windows have failed on registry problems that are not about a record. */
  #registryDownSince: number | undefined;
  /** A bounded run: partitions done. */
  readonly #reached = new Set<string>();

  constructor(host: BatchHost) {
    this.#host = host;
    this.#budget = new RecordBudget(host.ctx.config.backpressure.maxWindowRecords);
  }

  /** Fetching is paused: too many fetched records are not committed yet. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Batches of the same partition never run concurrently (see PartitionLifecycle.run), and records this
   * process already committed are skipped (resolved, not processed again): kafkajs can fetch the same
   * records twice around a rebalance or an error.
   */
  async run(batch: InputBatch): Promise<void> {
    const tp = { topic: batch.topic, partition: batch.partition };
    await this.#host.partitions.run(tpKey(tp), () => this.#run(batch, tp));
  }

  async #run(batch: InputBatch, tp: TopicPartition): Promise<void> {
    const { ctx, consumer, partitions, health, metrics } = this.#host;
    const key = tpKey(tp);
    if (this.#host.held()) return;
    if (batch.records.length === 0) {
      this.#checkBound(key, false);
      return;
    }
    if (partitions.fenced(key, consumer.heartbeats())) {
      // Nothing is resolved or committed. The heartbeat is what ends the wait: it fails (and kafkajs
      // rejoins the group) if this member lost the partition, or proves it is still the owner.
      await batch.heartbeat();
      await new Promise((r) => setTimeout(r, FENCED_WAIT_MS));
      return;
    }
    const generation = partitions.generation;
    const watch = health.watch;
    let batchId: string | undefined;
    let pending = 0;
    try {
      const part = await partitions.context(
        tp,
        BigInt((batch.records[0] as RawRecord).offset),
        batch.heartbeat,
      );
      const fresh = batch.records.filter((r) => BigInt(r.offset) > part.committedHere);
      const skipped = batch.records[batch.records.length - fresh.length - 1];
      if (fresh.length < batch.records.length && skipped !== undefined) batch.resolveOffset(skipped.offset);
      // a bounded run leaves the records at and past its end alone (not processed, not resolved)
      const end = this.#host.bounds?.ends.get(key);
      const records = end === undefined ? fresh : fresh.filter((r) => BigInt(r.offset) < end);
      pending = records.length;
      this.#track(pending);
      if (pending > 0) watch.working(key, Date.now());
      for (const window of splitIntoWindows(records, windowLimits(records.length, ctx.config.window))) {
        batchId = windowBatchId(ctx.config.pipeline.name, window);
        const result = await this.#inBudget(window.length, batch.heartbeat, async () => {
          // a window never spans a rebalance: once this member no longer owns the partition (or the batch
          // was made stale by a seek), the rest of the batch is left uncommitted for the new owner
          const revoked = generation !== partitions.generation && !partitions.owns(key);
          if (!batch.isRunning() || batch.isStale() || revoked || this.#host.held()) return undefined;
          return processWindow(ctx, part, window, batch.heartbeat);
        });
        if (result === undefined) {
          watch.idle(key); // handed back: fetched again by this member or the next owner
          return;
        }
        this.#backoff.succeeded(key);
        if (this.#registryDownSince !== undefined) {
          this.#registryDownSince = undefined;
          metrics.registryOutage.set(0);
        }
        health.committed(key, Date.now());
        health.board.window(result.audit);
        const last = window[window.length - 1] as (typeof window)[number];
        batch.resolveOffset(last.offset);
        pending -= window.length;
        this.#track(-window.length);
        metrics.consumerLag.set(
          { topic: tp.topic, partition: String(tp.partition) },
          Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1),
        );
        this.#host.onWindow?.(result);
      }
      watch.idle(key);
      this.#checkBound(key, records.length < fresh.length);
    } catch (err) {
      // handled here: a fence, a hold or a halt is not a consumer failure; a transient failure waits out
      // this partition's backoff and returns without resolving, so kafkajs fetches the records again; only
      // the consumer's own troubles (a rebalance, a lost membership) go back to kafkajs
      const verdict = this.#onWindowError(err, tp, generation, batchId);
      if (verdict === 'rethrow') throw err;
      if (verdict !== 'handled') {
        watch.idle(key);
        await waitOut(
          verdict.retryInMs,
          () => batch.isRunning() && !batch.isStale() && !this.#host.stopping(),
          batch.heartbeat,
        );
      }
    } finally {
      this.#track(-pending);
    }
  }

  /**
   * Runs `fn` holding `records` of the window budget: the windows of all partitions together process at
   * most backpressure.maxWindowRecords records at once (see budget.ts), heartbeating while they wait.
   */
  async #inBudget<T>(records: number, heartbeat: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
    const { ctx, metrics } = this.#host;
    const release = await this.#budget.take(records, heartbeat, ctx.config.consumer.heartbeatIntervalMs);
    metrics.windowRecordsInUse.set(this.#budget.used);
    try {
      return await fn();
    } finally {
      release();
      metrics.windowRecordsInUse.set(this.#budget.used);
    }
  }

  /** Backpressure: pause fetching while too many fetched records are not committed yet. */
  #track(delta: number): void {
    const { ctx, metrics } = this.#host;
    this.#inFlight += delta;
    metrics.inFlightRecords.set(this.#inFlight);
    const limit = ctx.config.backpressure.maxInFlightRecords;
    if (!this.#paused && this.#inFlight > limit) {
      this.#paused = true;
      metrics.paused.set(1);
      this.#host.gate();
    } else if (this.#paused && this.#inFlight <= limit / 2) {
      this.#paused = false;
      metrics.paused.set(0);
      this.#host.gate();
    }
  }

  /** A bounded run: this partition is done once a batch went past its end, or the consumer read up to it. */
  #checkBound(key: string, wentPast: boolean): void {
    const bounds = this.#host.bounds;
    const end = bounds?.ends.get(key);
    if (bounds === undefined || end === undefined || this.#reached.has(key)) return;
    if (wentPast || (this.#host.consumer.fetchedTo().get(key) ?? -1n) >= end) {
      this.#reached.add(key);
      bounds.onReached(key);
    }
  }

  /**
   * Carries out the verdict on a failed window (see window-errors.ts). Whatever failed, past a hold the
   * partition's producer is not used again: a fenced one stays fenced, and after a failed send or commit
   * its transaction state is unknown. The next window opens a new one.
   */
  #onWindowError(
    err: unknown,
    tp: TopicPartition,
    generation: number,
    batchId: string | undefined,
  ): 'handled' | 'rethrow' | { readonly retryInMs: number } {
    const { ctx, metrics, partitions, consumer } = this.#host;
    const logger = ctx.logger.child({ batchId });
    const key = tpKey(tp);
    const registryDownFor = () => {
      const now = Date.now();
      this.#registryDownSince ??= now;
      const forMs = now - this.#registryDownSince;
      metrics.registryOutage.set(forMs / 1000);
      return forMs;
    };
    const verdict = judgeWindowError(err, registryDownFor, ctx.config.registry.maxOutageMs);
    switch (verdict.kind) {
      case 'redis-lost':
        metrics.windows.inc({ outcome: 'aborted' });
        this.#host.redisLost(`window ${batchId ?? ''}`);
        return 'handled';
      case 'fenced':
        partitions.fence(key, generation, consumer.heartbeats());
        metrics.windows.inc({ outcome: 'fenced' });
        logger.warn({ err, partition: key }, 'fenced by a newer owner of the partition; window abandoned');
        return 'handled';
      case 'hold':
        metrics.windows.inc({ outcome: 'aborted' });
        this.#host.hold(err as Error, key, batchId);
        return 'handled';
      default:
        break;
    }
    partitions.retire(key);
    if (verdict.kind === 'halt') {
      metrics.windows.inc({ outcome: 'halted' });
      this.#host.halt(verdict.error, { partition: key, batchId });
      return 'handled';
    }
    metrics.windows.inc({ outcome: 'aborted' });
    if (verdict.kind === 'rejoin') {
      logger.warn({ err, partition: key }, 'window aborted; the consumer rejoins the group');
      return 'rethrow';
    }
    const retryInMs = this.#backoff.failed(key);
    logger.warn(
      { err, partition: key, failures: this.#backoff.failures(key), retryInMs },
      'window aborted; it will be fetched again from the committed offset after a backoff',
    );
    return { retryInMs };
  }
}
