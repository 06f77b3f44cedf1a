import type { LagProbe } from '../adapters/kafka-lag.js';
import type { Logger } from '../observe/logger.js';
import type { PipelineMetrics } from '../observe/metrics.js';
import { StatusBoard } from '../observe/status.js';
import type { PartitionStatus, StatusReport } from '../observe/status.js';
import { ProgressWatch } from './progress.js';

/** What the pipeline tells its health about itself, read when a probe asks. */
export interface PipelineState {
  /** In the group with a current assignment. */
  member(): boolean;
  halted(): Error | undefined;
  /** The data-quality gate holds the pipeline until an operator resumes it (dlq.policy=halt). */
  held(): Error | undefined;
  stopping(): boolean;
  /** Redis lost its data and is being rebuilt (src/recover). */
  recovering(): boolean;
  owned(): ReadonlySet<string>;
  /** How far the consumer has read, per partition (see InputConsumer.fetchedTo). */
  fetchedTo(): ReadonlyMap<string, bigint>;
}

export interface HealthOptions {
  readonly state: PipelineState;
  readonly metrics: PipelineMetrics;
  readonly logger: Logger;
  readonly lagIntervalMs: number;
  readonly stallAfterMs: number;
  /** For the status page. */
  readonly pipeline: string;
  readonly instance: string;
  /** The model serving now (it changes with a promotion). */
  readonly model: () => Readonly<Record<string, string>>;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/**
 * /readyz and /healthz of a pipeline, and the lag and stall gauges behind them. Ready: in the group, not
 * halted, stopping or rebuilding Redis, no owned partition stalled (see ProgressWatch). Live: not halted,
 * and no partition stalled for twice observe.stallAfterMs (a restart is then worth more than waiting).
 * The lag is read from the broker every observe.lagIntervalMs, so it moves while nothing commits.
 */
export class PipelineHealth {
  readonly watch: ProgressWatch;
  /** Recent windows and DLQ totals, for the status page. */
  readonly board = new StatusBoard();
  readonly #opts: HealthOptions;
  readonly #startedAt = Date.now();
  readonly #lastCommit = new Map<string, number>();
  readonly #lag = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #probe: LagProbe | undefined;
  #reading = false;
  /** Partitions reported stalled, so each stall and each recovery is logged once. */
  readonly #reported = new Set<string>();

  constructor(opts: HealthOptions) {
    this.#opts = opts;
    this.watch = new ProgressWatch(opts.stallAfterMs);
  }

  start(probe: LagProbe): void {
    this.#probe = probe;
    this.#timer = setInterval(() => void this.#tick(), this.#opts.lagIntervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#probe?.close();
  }

  /** A window of `key` committed. */
  committed(key: string, now: number): void {
    this.watch.committed(key, now);
    this.#lastCommit.set(key, now);
  }

  /** What /status.json serves. */
  report(): StatusReport {
    const now = Date.now();
    const problems = this.ready();
    const stalled = new Map(this.watch.stalled(now).map((s) => [s.key, s.forMs]));
    const partitions: PartitionStatus[] = [...this.#opts.state.owned()].sort().map((key) => ({
      partition: key,
      lag: this.#lag.get(key) ?? null,
      lastCommitAt: this.#lastCommit.get(key) ?? null,
      stalledForMs: stalled.get(key) ?? null,
    }));
    return {
      pipeline: this.#opts.pipeline,
      instance: this.#opts.instance,
      now,
      startedAt: this.#startedAt,
      ready: problems.length === 0,
      problems,
      model: this.#opts.model(),
      partitions,
      windows: this.board.windows,
      dlq: this.board.dlq,
      committedWindows: this.board.committed,
      quarantinedWindows: this.board.quarantined,
      drift: this.board.drift,
    };
  }

  ready(): string[] {
    const { state } = this.#opts;
    const problems: string[] = [];
    if (!state.member())
      problems.push('not in the consumer group (starting, rebalancing, or the consumer crashed)');
    const halted = state.halted();
    if (halted !== undefined) problems.push(`halted: ${halted.message}`);
    const held = state.held();
    if (held !== undefined)
      problems.push(
        `held by the data-quality gate: ${held.message}. Fix the input, then POST /admin/resume or restart`,
      );
    if (state.stopping()) problems.push('stopping');
    if (state.recovering()) problems.push('Redis lost its data and is being rebuilt from the input topics');
    for (const s of this.watch.stalled(Date.now()))
      problems.push(
        `partition ${s.key} has committed nothing for ${seconds(s.forMs)} with records to process`,
      );
    return problems;
  }

  live(): string[] {
    const problems: string[] = [];
    const halted = this.#opts.state.halted();
    if (halted !== undefined) problems.push(`halted: ${halted.message}`);
    // a hold is a decision, visible on /readyz and its own metric; a restart would only hold again
    if (this.#opts.state.held() !== undefined) return problems;
    for (const s of this.watch.stalled(Date.now()))
      if (s.forMs >= 2 * this.#opts.stallAfterMs)
        problems.push(
          `partition ${s.key} has committed nothing for ${seconds(s.forMs)} with records to process`,
        );
    return problems;
  }

  async #tick(): Promise<void> {
    if (this.#reading || this.#probe === undefined) return;
    this.#reading = true;
    const { state, metrics, logger } = this.#opts;
    try {
      const owned = state.owned();
      this.watch.retain(owned);
      const fetched = state.fetchedTo();
      const now = Date.now();
      for (const p of await this.#probe.read()) {
        const key = `${p.topic}/${p.partition}`;
        if (!owned.has(key)) continue;
        const committed = p.committed ?? p.low;
        const lag = Number(p.high > committed ? p.high - committed : 0n);
        metrics.consumerLag.set({ topic: p.topic, partition: String(p.partition) }, lag);
        this.#lag.set(key, lag);
        const f = fetched.get(key);
        this.watch.sample(key, { committed, end: p.high, ...(f === undefined ? {} : { fetched: f }) }, now);
      }
    } catch (err) {
      logger.warn({ err }, 'reading the consumer lag from the broker failed; trying again');
    } finally {
      this.#reading = false;
    }
    this.#report();
  }

  /** Gauges and log lines follow the stalls. */
  #report(): void {
    const { metrics, logger } = this.#opts;
    const stalled = new Map(this.watch.stalled(Date.now()).map((s) => [s.key, s.forMs]));
    for (const [key, forMs] of stalled) {
      if (this.#reported.has(key)) continue;
      this.#reported.add(key);
      metrics.partitionStalled.set(labels(key), 1);
      logger.error(
        { partition: key, forMs, stallAfterMs: this.#opts.stallAfterMs },
        'partition stalled: records to process and nothing committed; see the window errors logged before this',
      );
    }
    for (const key of [...this.#reported]) {
      if (stalled.has(key)) continue;
      this.#reported.delete(key);
      metrics.partitionStalled.set(labels(key), 0);
      logger.warn({ partition: key }, 'partition moving again');
    }
  }
}

function labels(key: string): { topic: string; partition: string } {
  const at = key.lastIndexOf('/');
  return { topic: key.slice(0, at), partition: key.slice(at + 1) };
}
