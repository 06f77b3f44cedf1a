/**
 * CPU per input record of a drain, for the whole box: the streamscore process, Redis (its own INFO
 * counters) and the broker (/proc of its pid), all over the same span (pipeline ready → caught up), and how
 * one build compares with another over repeated drains (medians, then the ratio).
 */
import type { RedisCost } from './redis-info.js';

/** The measured totals of one drain (summed over its stages). */
export interface DrainTotals {
  readonly records: number;
  /** Sum of the audit events' entities_scored and no_profile counts. */
  readonly entitiesScored: number;
  readonly noProfile: number;
  readonly nodeCpuSeconds: number;
  readonly redis: RedisCost | null;
  readonly brokerCpuSeconds: number | null;
}

/** µs of CPU per input record (null: not measured). */
export interface PerRecordCpu {
  readonly entitiesScoredPerRecord: number;
  readonly noProfilePerRecord: number;
  readonly nodeUs: number;
  /** Redis server CPU (INFO cpu, all threads). */
  readonly redisUs: number | null;
  /** Of it, the main thread (commands and scripts). */
  readonly redisMainThreadUs: number | null;
  /** usec inside script calls (commandstats evalsha & co). */
  readonly redisScriptUs: number | null;
  /** usec of data commands (commandstats, in and outside scripts). */
  readonly redisDataUs: number | null;
  readonly brokerUs: number | null;
  /** Node + Redis + broker; null when Redis or the broker was not measured. */
  readonly boxUs: number | null;
}

const us = (seconds: number, records: number) => (seconds * 1e6) / Math.max(1, records);

export function perRecordCpu(t: DrainTotals): PerRecordCpu {
  const n = t.records;
  const redisUs = t.redis === null ? null : us(t.redis.cpuSeconds, n);
  const brokerUs = t.brokerCpuSeconds === null ? null : us(t.brokerCpuSeconds, n);
  const nodeUs = us(t.nodeCpuSeconds, n);
  return {
    entitiesScoredPerRecord: t.entitiesScored / Math.max(1, n),
    noProfilePerRecord: t.noProfile / Math.max(1, n),
    nodeUs,
    redisUs,
    redisMainThreadUs: t.redis === null ? null : us(t.redis.mainThreadCpuSeconds, n),
    redisScriptUs: t.redis === null ? null : t.redis.scriptUsec / Math.max(1, n),
    redisDataUs: t.redis === null ? null : t.redis.dataUsec / Math.max(1, n),
    brokerUs,
    boxUs: redisUs === null || brokerUs === null ? null : nodeUs + redisUs + brokerUs,
  };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** The metrics compared between builds: higher is better for the rate, lower for every CPU figure. */
export const COMPARED = [
  'recordsPerSec',
  'entitiesScoredPerRecord',
  'nodeUs',
  'redisUs',
  'redisMainThreadUs',
  'redisScriptUs',
  'redisDataUs',
  'brokerUs',
  'boxUs',
] as const;
export type ComparedMetric = (typeof COMPARED)[number];

export type MetricSummary = Readonly<Record<ComparedMetric, number | null>>;

export interface BuildSummary {
  readonly build: string;
  readonly runs: number;
  /** Median over the build's drains, each metric on its own. */
  readonly median: MetricSummary;
  readonly min: MetricSummary;
  readonly max: MetricSummary;
}

export interface Comparison {
  readonly current: BuildSummary;
  readonly old: BuildSummary;
  /** current median / old median, per metric. */
  readonly ratio: MetricSummary;
}

export interface DrainMetrics {
  readonly recordsPerSec: number;
  readonly perRecord: PerRecordCpu;
}

function metric(d: DrainMetrics, m: ComparedMetric): number | null {
  return m === 'recordsPerSec' ? d.recordsPerSec : d.perRecord[m];
}

function reduce(drains: readonly DrainMetrics[], f: (xs: number[]) => number | null): MetricSummary {
  const out = {} as Record<ComparedMetric, number | null>;
  for (const m of COMPARED) {
    const xs = drains.map((d) => metric(d, m)).filter((x): x is number => x !== null);
    out[m] = xs.length === drains.length ? f(xs) : null;
  }
  return out;
}

export function summarise(build: string, drains: readonly DrainMetrics[]): BuildSummary {
  return {
    build,
    runs: drains.length,
    median: reduce(drains, median),
    min: reduce(drains, (xs) => (xs.length === 0 ? null : Math.min(...xs))),
    max: reduce(drains, (xs) => (xs.length === 0 ? null : Math.max(...xs))),
  };
}

export function compareBuilds(current: BuildSummary, old: BuildSummary): Comparison {
  const ratio = {} as Record<ComparedMetric, number | null>;
  for (const m of COMPARED) {
    const a = current.median[m];
    const b = old.median[m];
    ratio[m] = a === null || b === null || b === 0 ? null : a / b;
  }
  return { current, old, ratio };
}

/** The order of the i-th round of drains: A B, then B A, … so neither build always runs on a warmer box. */
export function roundOrder<T>(round: number, a: T, b: T | null): T[] {
  if (b === null) return [a];
  return round % 2 === 0 ? [a, b] : [b, a];
}
