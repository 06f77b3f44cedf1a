/**
 * The throughput drains: this build, and the compared build when there is one, each `repeat` times on the
 * same prefilled topics, one drain at a time (never two at once), alternating A B, B A, … after `warmup`
 * unmeasured drains of this build. Each drain has its
 * own consumer group(s) and Redis key prefix. The first drain of this build is `main`: its groups and Redis
 * state stay for the latency phase; the others' keys are removed right after them (unless --keep).
 */
import type { ConfigInput } from '../src/config/index.js';
import type { BenchOptions } from './args.js';
import type { Services } from './baselines.js';
import { describeSettings, runSettingsOf } from './build-settings.js';
import type { RunSettings } from './build-settings.js';
import type { Build } from './builds.js';
import { compareBuilds, median, roundOrder, summarise } from './cost.js';
import type { Comparison } from './cost.js';
import { drain } from './drain.js';
import type { BenchEnv } from './env.js';
import { runNodeArgs } from './streamscore.js';
import type { StreamscoreRun } from './types.js';

export interface DrainsResult {
  /** The current build's drain with the median rate (the one compared with the baselines). */
  readonly main: StreamscoreRun;
  /** The compared build's drain with the median rate. */
  readonly old: StreamscoreRun | null;
  readonly drains: readonly StreamscoreRun[];
  readonly comparison: Comparison | null;
  readonly settings: readonly RunSettings[];
}

const int = (v: number) => Math.round(v).toLocaleString('en-US');
const f1 = (v: number | null) => (v === null ? '–' : v.toFixed(1));

/** One line per drain: rate, entities scored per record, CPU µs per record. */
export function drainLine(r: StreamscoreRun): string {
  const c = r.perRecord;
  return `${r.build} ${r.label}: ${int(r.recordsPerSec)} records/s (${int(r.records)} in ${r.seconds.toFixed(1)} s), ${c.entitiesScoredPerRecord.toFixed(3)} entities scored/record, no_profile ${int(r.counts['no_profile'] ?? 0)}; µs/record: Node ${f1(c.nodeUs)}, Redis ${f1(c.redisUs)} (main thread ${f1(c.redisMainThreadUs)}; commandstats: scripts ${f1(c.redisScriptUs)}, data cmds ${f1(c.redisDataUs)}), broker ${f1(c.brokerUs)}, box ${f1(c.boxUs)}; peak RSS ${int(r.cost?.peakRssMb ?? 0)} MB${cacheText(r)}`;
}

/** The state cache's lookups of a drain, if its build reports them. */
function cacheText(r: StreamscoreRun): string {
  const c = r.stateCache;
  if (c === null || c === undefined) return '';
  const all = c.hits + c.misses;
  return `; state cache ${int(c.hits)} hits, ${int(c.misses)} misses (${all === 0 ? '–' : ((100 * c.hits) / all).toFixed(1)} % hits)`;
}

function medianRun(runs: readonly StreamscoreRun[]): StreamscoreRun {
  const m = median(runs.map((r) => r.recordsPerSec)) as number;
  return runs.reduce((best, r) =>
    Math.abs(r.recordsPerSec - m) < Math.abs(best.recordsPerSec - m) ? r : best,
  );
}

export async function throughputDrains(
  env: BenchEnv,
  opts: BenchOptions,
  builds: { readonly current: Build; readonly old: Build | null },
  services: Services,
  log: (s: string) => void,
): Promise<DrainsResult> {
  const input = env.configInput('main');
  const settings: RunSettings[] = [];
  for (const b of [builds.current, builds.old]) {
    if (b === null) continue;
    try {
      const s = await runSettingsOf(b.name, b.root, input, runNodeArgs(b.bin));
      settings.push(s);
      for (const line of describeSettings(s)) log(`   ${line}`);
    } catch (err) {
      log(`   ${b.name}: settings not readable (${(err as Error).message})`);
    }
  }
  for (let w = 1; w <= opts.warmup; w++) {
    const label = `warmup-${w}`;
    log(`streamscore drain ${label}: not measured (the first drain after the prefill tends to run slow)`);
    const run = await drain(env, {
      label,
      build: builds.current.name,
      order: opts.order,
      bin: builds.current.bin,
      cwd: builds.current.root,
      resultsDir: opts.out,
      services,
      timeoutMs: 90 * 60_000,
      overrides: buildOverrides('BENCH_CURRENT_CONFIG'),
    });
    log(`   ${drainLine(run)} (not counted)`);
    if (!opts.keep) await env.deleteKeys(label);
  }
  const drains: StreamscoreRun[] = [];
  for (let round = 0; round < opts.repeat; round++) {
    for (const b of roundOrder(round, builds.current, builds.old)) {
      const current = b === builds.current;
      const label = current ? (round === 0 ? 'main' : `main-${round + 1}`) : `old-${round + 1}`;
      log(
        `streamscore ${current ? '' : `${b.name} `}drain ${label} (${opts.order}): empty groups → zero lag, exactly-once`,
      );
      const run = await drain(env, {
        label,
        build: b.name,
        order: opts.order,
        bin: b.bin,
        cwd: b.root,
        resultsDir: opts.out,
        services,
        timeoutMs: 90 * 60_000,
        overrides: buildOverrides(current ? 'BENCH_CURRENT_CONFIG' : 'BENCH_COMPARE_CONFIG'),
      });
      drains.push(run);
      log(`   ${drainLine(run)}`);
      if (label !== 'main' && !opts.keep) await env.deleteKeys(label);
    }
  }
  const mine = drains.filter((d) => d.build === builds.current.name);
  const theirs = drains.filter((d) => d.build !== builds.current.name);
  const main = medianRun(mine);
  const old = theirs.length === 0 ? null : medianRun(theirs);
  const comparison =
    builds.old === null
      ? null
      : compareBuilds(summarise(builds.current.name, mine), summarise(builds.old.name, theirs));
  return {
    main: { ...main, id: 'streamscore', name: 'streamscore (default config)' },
    old:
      old === null
        ? null
        : { ...old, id: 'streamscore-old', name: `streamscore ${builds.old?.name ?? ''} (default config)` },
    drains,
    comparison,
    settings,
  };
}

/**
 * Configuration of one side of a side-by-side run, from BENCH_CURRENT_CONFIG / BENCH_COMPARE_CONFIG (JSON):
 * with `--compare-bin bin/streamscore.js` the same build runs twice, and the ratio is the cost of a feature
 * (e.g. BENCH_COMPARE_CONFIG='{"reasons":{"topK":0}}', or BENCH_CURRENT_CONFIG='{"model":{"challenger":"3"}}').
 */
function buildOverrides(variable: string): ConfigInput {
  const raw = process.env[variable];
  if (raw === undefined || raw.trim() === '') return {};
  return JSON.parse(raw) as ConfigInput;
}
