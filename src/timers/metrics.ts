/**
 * The timer sweeper's own metrics and health (`streamscore timers` serves them on observe.host:port):
 * sweeps, entities by outcome, the last sweep's duration and end time, and the configured interval, so an
 * alert can say "no sweep finished for a while" (ops/prometheus/alerts.yml, StreamscoreTimersNotSweeping).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { HealthSource } from '../observe/http.js';
import type { RescoreCounts } from '../rescore/index.js';
import type { SweepReport } from './run.js';

const OUTCOMES = [
  'scored',
  'reemitted',
  'not_due',
  'not_live',
  'pending',
  'other_model',
  'refused',
  'conflicts',
] as const satisfies ReadonlyArray<keyof RescoreCounts>;

export class TimerMetrics implements HealthSource {
  readonly registry = new Registry();
  readonly #sweeps: Counter;
  readonly #entities: Counter<'outcome'>;
  readonly #sweepSeconds: Gauge;
  readonly #lastSweepEnd: Gauge;
  readonly #seen: Record<string, number> = {};
  #lastProgressMs = Date.now();

  /**
   * `stallAfterMs`: /healthz fails when neither a chunk nor a sweep ended for this long plus the sweep
   * interval (a sweep that hangs; Kubernetes restarts the sweeper, which resumes).
   */
  constructor(
    pipeline: string,
    private readonly sweepIntervalMs: number,
    private readonly stallAfterMs: number,
  ) {
    this.registry.setDefaultLabels({ pipeline });
    collectDefaultMetrics({ register: this.registry, prefix: 'streamscore_timer_process_' });
    this.#sweeps = new Counter({
      name: 'streamscore_timer_sweeps_total',
      help: 'Sweeps over the stored entities that finished',
      registers: [this.registry],
    });
    this.#entities = new Counter({
      name: 'streamscore_timer_entities_total',
      help: 'Entities looked at by the timer sweeps, by outcome (scored: re-scored as of a window exit)',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    for (const o of OUTCOMES) this.#entities.inc({ outcome: o }, 0);
    this.#sweepSeconds = new Gauge({
      name: 'streamscore_timer_sweep_duration_seconds',
      help: 'How long the last finished sweep took',
      registers: [this.registry],
    });
    this.#lastSweepEnd = new Gauge({
      name: 'streamscore_timer_last_sweep_end_timestamp_seconds',
      help: 'When the last sweep finished (unix seconds; 0 before the first)',
      registers: [this.registry],
    });
    new Gauge({
      name: 'streamscore_timer_sweep_interval_seconds',
      help: 'timers.sweepIntervalMs: a sweep starts at most this often',
      registers: [this.registry],
    }).set(sweepIntervalMs / 1000);
  }

  /** After each chunk: the job's cumulative counts. */
  progress(counts: Readonly<RescoreCounts>): void {
    for (const o of OUTCOMES) {
      const d = counts[o] - (this.#seen[o] ?? 0);
      if (d > 0) this.#entities.inc({ outcome: o }, d);
      this.#seen[o] = counts[o];
    }
    this.#lastProgressMs = Date.now();
  }

  sweep(s: SweepReport): void {
    this.#sweeps.inc();
    this.#sweepSeconds.set(s.elapsedMs / 1000);
    this.#lastSweepEnd.set(Date.now() / 1000);
    this.#lastProgressMs = Date.now();
  }

  live(): readonly string[] {
    const quiet = Date.now() - this.#lastProgressMs;
    return quiet > this.sweepIntervalMs + this.stallAfterMs
      ? [`no chunk or sweep finished for ${Math.round(quiet / 1000)} s`]
      : [];
  }

  ready(): readonly string[] {
    return this.live();
  }
}
