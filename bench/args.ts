/**
 * `npm run bench -- [options]`: the full run by default (1,000,000 records over 6 partitions, latency at
 * 2k/10k/20k events/s and at saturation, window sweep, profile, 10-minute soak); `--quick` for development.
 */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  readonly records: number;
  readonly partitions: number;
  readonly seed: number;
  readonly transactionsPerCustomer: number;
  readonly quick: boolean;
  readonly skipBaselines: boolean;
  readonly skipLatency: boolean;
  readonly skipSweep: boolean;
  readonly skipProfile: boolean;
  readonly rates: readonly number[];
  readonly stepSeconds: number;
  readonly warmupSeconds: number;
  readonly soakMinutes: number;
  /** The soak's offered rate; null: 80 % of the drain rate. */
  readonly soakRate: number | null;
  readonly naiveSeconds: number;
  readonly sweepRecords: number;
  readonly sweepRates: readonly number[];
  readonly bin: string;
  /** cdc-first: the CDC topic is drained before the events (deterministic); mixed: both at once. */
  readonly order: 'cdc-first' | 'mixed';
  /** Drains of each build (alternating with the compared build when there is one). */
  readonly repeat: number;
  /** Unmeasured drains of this build before the measured ones (the first drain after the prefill runs slow). */
  readonly warmup: number;
  /** A git ref built into a temporary worktree and drained side by side with this build. */
  readonly compareRef: string | null;
  /** A prebuilt streamscore entry drained side by side with this build. */
  readonly compareBin: string | null;
  readonly out: string;
  readonly keep: boolean;
  readonly cleanup: boolean;
}

export const USAGE = `usage: npm run bench -- [options]

  --records <n>          records to prefill (default 1000000; --quick: 100000)
  --partitions <n>       partitions of the input topics (default 6)
  --seed <n>             seed of the generated data (default 42)
  --tx-per-customer <x>  mean card transactions per customer; sets the CDC/transaction mix (default 2)
  --quick                development run: 100k records, short latency steps, 1-minute soak
  --rates <list>         open-loop rates in events/s, comma-separated; saturation is added (default 2000,10000,20000)
  --step-seconds <n>     length of each latency step (default 30; --quick: 10)
  --warmup-seconds <n>   start of each step not measured (default 5; --quick: 2)
  --soak-minutes <x>     soak at 80% of the drain rate, RSS sampled (default 10; --quick: 1; 0 skips it)
  --soak-rate <n>        the soak's rate in events/s instead (the drain rate is measured without the load
                         generator, which shares the box's cores during the soak: 80 % of it may not be kept up)
  --naive-seconds <n>    the naive processor stops after this long (default 60; --quick: 20)
  --sweep-records <n>    records per window-sweep drain (default 300000, at most --records)
  --sweep-rates <list>   open-loop rates of the window sweep (default 2000,10000)
  --skip-baselines       only streamscore (no broker/client/Redis/naive runs)
  --skip-sweep           no window sweep
  --skip-latency         no latency phase (and no soak)
  --skip-profile         no profiled run
  --bin <path>           streamscore entry to run (default bin/streamscore.js; for before/after experiments)
                         (BENCH_STREAMSCORE_NODE_ARGS="--flag ..." adds node flags to the streamscore processes;
                         BENCH_STREAMSCORE_CONFIG='{"backpressure":{...}}' changes their configuration;
                         BENCH_CURRENT_CONFIG / BENCH_COMPARE_CONFIG change one side of a side-by-side run only)
  --order <o>            cdc-first (default): each drain reads the CDC topic to its end, then the transactions
                         (same Redis state, two groups), so which entities have a profile does not depend on how
                         the topics interleave; mixed: both topics at once, as in production (not deterministic)
  --repeat <n>           drains of streamscore (and of the compared build), alternating A B B A … (default 1)
  --warmup <n>           unmeasured drains of streamscore before the measured ones (default 1 with a compared
                         build, else 0): the first drain after the prefill tends to be the slowest of a run, which
                         would count against whichever build the order puts first
  --compare-ref <ref>    also drain the build of this git commit (temporary worktree, npm run build, same
                         node_modules) on the same data, one drain after the other; results show both and the ratio
  --compare-bin <path>   the same with a prebuilt streamscore entry (bin/streamscore.js of another checkout)
  --out <dir>            results folder (default bench/results)
  --keep                 keep the run's topics and Redis keys
  --cleanup              delete the topics and Redis keys of every earlier bench run (bench-<timestamp>), then exit
  --help                 this text`;

export class UsageError extends Error {}

function num(
  raw: string | undefined,
  name: string,
  opts: { min: number; integer?: boolean },
): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < opts.min || (opts.integer !== false && !Number.isInteger(v)))
    throw new UsageError(
      `--${name} must be ${opts.integer === false ? 'a number' : 'a whole number'} ≥ ${opts.min}, got "${raw}"`,
    );
  return v;
}

/** Parses argv; throws UsageError for an unknown flag or a bad value; returns null for --help. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        records: { type: 'string' },
        partitions: { type: 'string' },
        seed: { type: 'string' },
        'tx-per-customer': { type: 'string' },
        quick: { type: 'boolean', default: false },
        rates: { type: 'string' },
        'step-seconds': { type: 'string' },
        'warmup-seconds': { type: 'string' },
        'soak-minutes': { type: 'string' },
        'soak-rate': { type: 'string' },
        'naive-seconds': { type: 'string' },
        'sweep-records': { type: 'string' },
        'sweep-rates': { type: 'string' },
        'skip-baselines': { type: 'boolean', default: false },
        'skip-sweep': { type: 'boolean', default: false },
        'skip-latency': { type: 'boolean', default: false },
        'skip-profile': { type: 'boolean', default: false },
        bin: { type: 'string' },
        order: { type: 'string' },
        repeat: { type: 'string' },
        warmup: { type: 'string' },
        'compare-ref': { type: 'string' },
        'compare-bin': { type: 'string' },
        out: { type: 'string' },
        keep: { type: 'boolean', default: false },
        cleanup: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help === true) return null;
  const quick = values.quick === true;
  const records = num(values.records, 'records', { min: 1000 }) ?? (quick ? 100_000 : 1_000_000);
  const rates = (values.rates ?? '2000,10000,20000')
    .split(',')
    .map((r) => num(r.trim(), 'rates', { min: 1 }) as number);
  const stepSeconds = num(values['step-seconds'], 'step-seconds', { min: 3 }) ?? (quick ? 10 : 30);
  const warmupSeconds = num(values['warmup-seconds'], 'warmup-seconds', { min: 0 }) ?? (quick ? 2 : 5);
  if (warmupSeconds >= stepSeconds) throw new UsageError('--warmup-seconds must be below --step-seconds');
  const order = values.order ?? 'cdc-first';
  if (order !== 'cdc-first' && order !== 'mixed')
    throw new UsageError(`--order must be cdc-first or mixed, got "${order}"`);
  if (values['compare-ref'] !== undefined && values['compare-bin'] !== undefined)
    throw new UsageError('--compare-ref and --compare-bin exclude each other');
  return {
    records,
    partitions: num(values.partitions, 'partitions', { min: 1 }) ?? 6,
    seed: num(values.seed, 'seed', { min: 0 }) ?? 42,
    transactionsPerCustomer:
      num(values['tx-per-customer'], 'tx-per-customer', { min: 0, integer: false }) ?? 2,
    quick,
    skipBaselines: values['skip-baselines'] === true,
    skipLatency: values['skip-latency'] === true,
    skipSweep: values['skip-sweep'] === true,
    skipProfile: values['skip-profile'] === true,
    rates,
    stepSeconds,
    warmupSeconds,
    soakMinutes: num(values['soak-minutes'], 'soak-minutes', { min: 0, integer: false }) ?? (quick ? 1 : 10),
    soakRate: num(values['soak-rate'], 'soak-rate', { min: 1 }) ?? null,
    naiveSeconds: num(values['naive-seconds'], 'naive-seconds', { min: 1 }) ?? (quick ? 20 : 60),
    sweepRecords: Math.min(records, num(values['sweep-records'], 'sweep-records', { min: 1000 }) ?? 300_000),
    sweepRates: (values['sweep-rates'] ?? '2000,10000')
      .split(',')
      .map((r) => num(r.trim(), 'sweep-rates', { min: 1 }) as number),
    bin: values.bin ?? 'bin/streamscore.js',
    order,
    repeat: num(values.repeat, 'repeat', { min: 1 }) ?? 1,
    warmup:
      num(values.warmup, 'warmup', { min: 0 }) ??
      (values['compare-ref'] !== undefined || values['compare-bin'] !== undefined ? 1 : 0),
    compareRef: values['compare-ref'] ?? null,
    compareBin: values['compare-bin'] ?? null,
    out: values.out ?? 'bench/results',
    keep: values.keep === true,
    cleanup: values.cleanup === true,
  };
}
