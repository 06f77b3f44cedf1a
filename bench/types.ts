/**
 * What every phase of the benchmark reports. One shape per concept, so the report and the chart read the
 * same numbers the phases measured.
 */
import type { Config } from '../src/config/index.js';
import type { RunSettings } from './build-settings.js';
import type { Comparison, PerRecordCpu } from './cost.js';
import type { RedisCost } from './redis-info.js';
import type { DrainOrder } from './stages.js';

/** CPU and memory of one process over the measured span. */
export interface ProcessCost {
  /** utime + stime over the measured span (group joined → last record done), seconds. */
  readonly cpuSeconds: number;
  /** utime + stime over the whole process life, start-up included, seconds. */
  readonly cpuSecondsTotal: number;
  /** VmHWM: the peak resident set of the process, MB. */
  readonly peakRssMb: number;
}

/** CPU the shared services spent while a system ran (they serve every system, so they are part of its cost). */
export interface ServiceCost {
  readonly brokerCpuSeconds: number | null;
  readonly redisCpuSeconds: number | null;
}

export interface SystemResult {
  readonly id: 'broker' | 'client' | 'redis-hset' | 'redis-upsert' | 'naive' | 'streamscore' | string;
  readonly name: string;
  /** What the system did to each record, in a few words. */
  readonly work: string;
  readonly records: number;
  /** Consumer group joined → last record done, seconds (process start-up excluded). */
  readonly seconds: number;
  /** Process start → last record done, seconds (start-up and group join included); null when not measured. */
  readonly wallSeconds: number | null;
  readonly recordsPerSec: number;
  readonly cost: ProcessCost | null;
  readonly services: ServiceCost;
  readonly notes: readonly string[];
}

export interface StageShare {
  readonly stage: string;
  /** Sum over windows of the stage's wall time, ms (windows of different partitions overlap). */
  readonly totalMs: number;
  readonly share: number;
  readonly usPerRecord: number;
}

/** One step of the windows' Kafka transactions (streamscore_transaction_phase_seconds). */
export interface TransactionPhaseTime {
  readonly phase: string;
  /** Sum over committed windows, ms. */
  readonly totalMs: number;
  /** Mean per committed window, ms. */
  readonly meanMs: number;
}

/** One stage of a drain (cdc-first: the CDC topic, then the transactions; mixed: one stage). */
export interface DrainStageResult {
  readonly name: string;
  readonly group: string;
  readonly records: number;
  readonly seconds: number;
  readonly windows: number;
  readonly entitiesScored: number;
  readonly noProfile: number;
}

export interface StreamscoreRun extends SystemResult {
  /** Which build ran: 'current' or the compared one's name. */
  readonly build: string;
  readonly label: string;
  readonly order: DrainOrder;
  readonly drainStages: readonly DrainStageResult[];
  readonly windows: number;
  readonly recordsPerWindow: number;
  readonly stages: readonly StageShare[];
  /** The Kafka transaction's steps (empty for a build without the metric). */
  readonly transactionPhases: readonly TransactionPhaseTime[];
  /**
   * The state cache's entity lookups over the drain (summed over its stages, each a process of its own that
   * starts with an empty cache); null from a build whose /metrics has no such counter.
   */
  readonly stateCache?: { readonly hits: number; readonly misses: number } | null;
  readonly counts: Readonly<Record<string, number>>;
  readonly window: WindowSettings;
  /** CPU per input record over pipeline ready → caught up: Node, Redis (INFO), broker, box. */
  readonly perRecord: PerRecordCpu;
  /** Redis INFO cpu + commandstats deltas over the same span (summed over the stages). */
  readonly redis: RedisCost | null;
}

/** The window settings a run used: the pipeline's own `window` config section. */
export type WindowSettings = Readonly<Config['window']>;

export interface Percentiles {
  readonly count: number;
  /** Events produced in the measured span that were never seen (within the drain time after the step). */
  readonly missing: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
  readonly max: number | null;
}

export interface LatencyStep {
  readonly label: string;
  readonly window: WindowSettings;
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly seconds: number;
  /** event produce time → prediction visible in Redis (keyspace notification), ms. */
  readonly redis: Percentiles;
  /** event produce time → prediction received by a read_committed consumer of the predictions topic, ms. */
  readonly kafka: Percentiles;
  /** Share of events sampled for the Redis measurement (entity ids ending in a sampled digit). */
  readonly redisSampleShare: number;
  /**
   * streamscore CPU seconds per million events while the load ran (after the warm-up); capped by the cores
   * when the step did not keep up (its backlog is processed afterwards and not counted).
   */
  readonly cpuSecondsPerMillion: number | null;
  /** The same over the whole step, from its first event until every event of it was processed. */
  readonly cpuSecondsPerMillionDrained?: number | null;
  readonly rssMb: number | null;
  /** Every measured event was committed on the predictions topic within 2 s + 4 × max delay after the load stopped. */
  readonly keptUp: boolean;
}

export interface SoakResult {
  readonly minutes: number;
  readonly targetRate: number;
  readonly achievedRate: number;
  /** [seconds since start, RSS MB] every few seconds. */
  readonly rss: ReadonlyArray<readonly [number, number]>;
  readonly rssFirstMinuteMb: number;
  readonly rssLastMinuteMb: number;
  readonly rssMaxMb: number;
  /** Least-squares slope of RSS over the soak after its first minute, MB per minute. */
  readonly rssSlopeMbPerMin: number;
  readonly kafka: Percentiles;
}

export interface SweepResult {
  readonly label: string;
  readonly window: WindowSettings;
  readonly throughput: SystemResult | null;
  /** One step per sweep rate. */
  readonly latency: readonly LatencyStep[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly records: number;
  readonly totalMs: number;
  readonly idleMs: number;
  readonly byArea: readonly ProfileEntry[];
  readonly byFunction: readonly ProfileEntry[];
}

export interface PrefillResult {
  readonly records: number;
  readonly cdc: number;
  readonly transactions: number;
  readonly customers: number;
  readonly aliveCustomers: number;
  readonly avgRecordBytes: number;
  readonly seconds: number;
}

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kernel: string;
}

export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly machine: Machine;
  readonly options: Readonly<Record<string, unknown>>;
  readonly prefill: PrefillResult;
  readonly systems: readonly SystemResult[];
  readonly streamscore: StreamscoreRun | null;
  /** Every drain of the throughput phase, in the order they ran (current and compared build alternating). */
  readonly drains: readonly StreamscoreRun[];
  /** Medians per build and current/compared ratios, when a build was compared. */
  readonly comparison: Comparison | null;
  /** Guarantees and settings each build ran with. */
  readonly settings: readonly RunSettings[];
  readonly ratios: Readonly<Record<string, number | null>>;
  readonly sweep: readonly SweepResult[];
  readonly latency: readonly LatencyStep[];
  readonly soak: SoakResult | null;
  readonly profile: ProfileSummary | null;
  readonly targets: ReadonlyArray<{
    readonly target: string;
    readonly measured: string;
    readonly met: boolean | null;
  }>;
  readonly skipped: readonly string[];
}
