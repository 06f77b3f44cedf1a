/**
 * `npm run bench`: end-to-end throughput, latency and memory of streamscore, side by side in one run with
 * the limits of Kafka (its own consumer), the Kafka client (bare kafkajs), Redis (redis-benchmark and the
 * project's upsert path) and a naive per-record processor, on the same prefilled data. Never part of
 * `npm test`. See `--help`; results go to bench/results/ (latest.json, latest.md, latest.svg).
 *
 * Phases: prefill → baselines → streamscore drain (empty group → zero lag) → profiled run → window sweep
 * (drains) → latency (open loop: the default window's rates, the other window settings, saturation) →
 * soak → report.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { USAGE, UsageError, parseBenchArgs } from './args.js';
import type { BenchOptions } from './args.js';
import { brokerLimit, clientLimit, naive, redisBenchmark, upsertPath } from './baselines.js';
import type { Services } from './baselines.js';
import { consumerSettingsOf } from './build-settings.js';
import { currentBuild, prebuiltBuild, refBuild } from './builds.js';
import type { Build } from './builds.js';
import { drain } from './drain.js';
import { throughputDrains } from './drains.js';
import { BenchEnv, cleanupRuns } from './env.js';
import { scenario } from './latency.js';
import { liveChildren, runWorker, sampleService } from './proc.js';
import { summariseProfile } from './profile.js';
import { writeResults } from './report.js';
import { targets } from './targets.js';
import { ensureServices, servicePids } from './services.js';
import type {
  BenchResults,
  LatencyStep,
  PrefillResult,
  ProfileSummary,
  SoakResult,
  SweepResult,
  SystemResult,
  WindowSettings,
} from './types.js';

/** The soak's rate as a share of the drain rate. */
export const SOAK_SHARE = 0.8;

const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const WORKERS = join(import.meta.dirname, 'workers');
const MiB = 1024 * 1024;

/** The window settings compared in the sweep; `default` is streamscore's default configuration. */
const WINDOWS: ReadonlyArray<{ readonly label: string; readonly window: Partial<WindowSettings> }> = [
  { label: 'small', window: { maxRecords: 500, maxDelayMs: 50 } },
  { label: 'default', window: {} },
  // the fetch waits for a full window's bytes or maxDelayMs (the default before window.minBytes existed)
  { label: 'held', window: { minBytes: 4 * MiB } },
  { label: 'large', window: { maxRecords: 20_000, maxBytes: 16 * MiB, maxDelayMs: 1000 } },
];

const log = (s: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${s}`);

function machine() {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
    kernel: release(),
  };
}

function describe(s: SystemResult): string {
  const cpu =
    s.cost === null
      ? ''
      : `, ${((s.cost.cpuSeconds / s.records) * 1e6).toFixed(1)} CPU s/M, peak RSS ${s.cost.peakRssMb.toFixed(0)} MB`;
  return `${s.name}: ${Math.round(s.recordsPerSec).toLocaleString('en-US')} records/s (${s.records.toLocaleString('en-US')} in ${s.seconds.toFixed(1)} s${cpu})`;
}

async function phases(
  opts: BenchOptions,
  env: BenchEnv,
  services: Services,
  builds: { readonly current: Build; readonly old: Build | null },
  skipped: string[],
) {
  const out = opts.out;
  const logFile = (name: string) => join(out, `${name}.raw.log`);
  log(
    `prefill: ${opts.records.toLocaleString('en-US')} records, ${opts.partitions} partitions, seed ${opts.seed} (prefix ${env.prefix})`,
  );
  const aliveFile = join(out, 'alive-ids.raw.json');
  const { result: prefill } = await runWorker<PrefillResult>(
    join(WORKERS, 'prefill.js'),
    {
      config: env.config('prefill'),
      records: opts.records,
      partitions: opts.partitions,
      seed: opts.seed,
      transactionsPerCustomer: opts.transactionsPerCustomer,
      aliveFile,
    },
    { logFile: logFile('prefill') },
  );
  const total = (await env.topicSize(env.topics.cdc)) + (await env.topicSize(env.topics.transactions));
  log(
    `   ${total.toLocaleString('en-US')} records on the input topics, ${prefill.avgRecordBytes.toFixed(0)} bytes avg (${prefill.seconds.toFixed(0)} s)`,
  );

  const systems: SystemResult[] = [];
  const measure = async (what: string, run: () => Promise<SystemResult>) => {
    log(what);
    const s = await run();
    systems.push(s);
    log(`   ${describe(s)}`);
    return s;
  };
  const defaults = env.config('defaults');
  if (opts.skipBaselines) skipped.push('baselines (--skip-baselines)');
  else {
    await measure('broker read limit (ConsumerPerformance)', () =>
      brokerLimit(env, defaults.window.maxBytes, services, logFile('broker')),
    );
    // the consumer options streamscore's own input adapter derives from the default configuration
    const settings = await consumerSettingsOf(PROJECT_DIR, env.configInput('client'));
    await measure('client limit (bare kafkajs, streamscore consumer options)', () =>
      clientLimit(env, total, settings, services, logFile('client')),
    );
    await measure('Redis write limit (redis-benchmark)', () =>
      redisBenchmark(env, opts.quick ? 100_000 : 500_000, services, logFile('redis-benchmark')),
    );
    await measure('Redis upsert path (RedisSink.write)', () =>
      upsertPath(
        env,
        opts.quick ? 100_000 : 500_000,
        defaults.window.maxRecords,
        services,
        logFile('upsert'),
      ),
    );
  }
  log(`streamscore throughput: ${opts.repeat} drain(s) per build, order ${opts.order}; settings:`);
  const drains = await throughputDrains(env, opts, builds, services, log);
  const main = drains.main;
  systems.push(main);
  if (drains.old !== null) systems.push(drains.old);
  if (!opts.skipBaselines)
    await measure(`naive processor (at most ${opts.naiveSeconds} s)`, () =>
      naive(env, total, opts.naiveSeconds, services, logFile('naive')),
    );

  let profile: ProfileSummary | null = null;
  if (opts.skipProfile) skipped.push('CPU profile (--skip-profile)');
  else {
    log(`profiled streamscore run (node --cpu-prof, ${opts.sweepRecords.toLocaleString('en-US')} records)`);
    const dir = resolve(out, 'profile.raw.d');
    rmSync(dir, { recursive: true, force: true });
    const run = await drain(env, {
      label: 'profile',
      order: opts.order,
      bin: opts.bin,
      resultsDir: out,
      services,
      timeoutMs: 60 * 60_000,
      stopAfter: opts.sweepRecords,
      // one profile per process (a cdc-first drain runs two), named by node with pid and time
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir],
    });
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f));
    profile = summariseProfile(files, run.records);
    await env.deleteKeys('profile');
    log(
      `   top areas: ${profile.byArea
        .slice(0, 6)
        .map((a) => `${a.name} ${(a.share * 100).toFixed(0)}%`)
        .join(', ')}`,
    );
  }

  const sweep: SweepResult[] = [];
  if (opts.skipSweep) skipped.push('window sweep (--skip-sweep)');
  else {
    for (const w of WINDOWS) {
      log(`window sweep ${w.label}: drain of ${opts.sweepRecords.toLocaleString('en-US')} records`);
      const run = await drain(env, {
        label: `sweep-${w.label}`,
        window: w.window,
        order: opts.order,
        bin: opts.bin,
        resultsDir: out,
        services,
        timeoutMs: 60 * 60_000,
        stopAfter: opts.sweepRecords,
      });
      await env.deleteKeys(`sweep-${w.label}`);
      log(`   ${describe(run)}, ${run.recordsPerWindow.toFixed(0)} records/window`);
      sweep.push({ label: w.label, window: run.window, throughput: run, latency: [] });
    }
  }

  const latency: LatencyStep[] = [];
  let soak: SoakResult | null = null;
  const saturation = Math.max(1000, Math.round(main.recordsPerSec / 1000) * 1000);
  // the soak holds a steady load below the drain rate (issue 8: 80 % of saturation), so its RSS shows the
  // steady state rather than a growing backlog
  const soakRate = opts.soakRate ?? Math.max(500, Math.round((SOAK_SHARE * main.recordsPerSec) / 500) * 500);
  if (opts.skipLatency) skipped.push('latency and soak (--skip-latency)');
  else {
    const common = {
      stepSeconds: opts.stepSeconds,
      warmupSeconds: opts.warmupSeconds,
      idsFile: aliveFile,
      bin: opts.bin,
      resultsDir: out,
      seed: opts.seed,
      observePerSecond: 4000,
    };
    const rates = opts.rates.map((r) => ({ label: `${r / 1000}k/s`, rate: r }));
    const sweepRates = opts.sweepRates.map((r) => ({ label: `${r / 1000}k/s`, rate: r }));
    // Order. Every scenario restarts streamscore on the same group and Redis state, and each step adds its
    // events to the same customers, whose states hold every event of their lookback: a later scenario
    // inherits more history (a state's write and read cost grows with the events it holds). So the default
    // window's sweep rates (2k and 10k events/s: the latency target's) go first and start from the drain's
    // state in every run; then the other window settings at the same rates (compare them with each other:
    // each inherits the steps before it); then the default's higher rates, saturation and the soak, which
    // may leave a backlog or much history no earlier scenario should inherit.
    const firstRates = rates.filter((r) => opts.sweepRates.includes(r.rate));
    const laterRates = rates.filter((r) => !opts.sweepRates.includes(r.rate));
    let first: { steps: LatencyStep[] } = { steps: [] };
    if (firstRates.length > 0) {
      log(`latency, default window: ${firstRates.map((r) => r.rate).join(', ')} events/s`);
      first = await scenario(env, { ...common, label: 'default', window: {}, rates: firstRates });
    }
    const stepsOf = new Map<string, LatencyStep[]>();
    for (const w of WINDOWS.filter((x) => x.label !== 'default')) {
      log(`latency, ${w.label} window at ${opts.sweepRates.join(', ')} events/s`);
      const sc = await scenario(env, { ...common, label: w.label, window: w.window, rates: sweepRates });
      stepsOf.set(w.label, sc.steps);
    }
    log(
      `latency, default window: ${[...laterRates.map((r) => r.rate), saturation].join(', ')} events/s (saturation = the drain rate), then the soak`,
    );
    const last = await scenario(env, {
      ...common,
      label: 'default-later',
      window: {},
      rates: [...laterRates, { label: `saturation ${saturation / 1000}k/s`, rate: saturation }],
      ...(opts.soakMinutes > 0 ? { soak: { minutes: opts.soakMinutes, rate: soakRate } } : {}),
    });
    soak = last.soak;
    if (opts.soakMinutes === 0) skipped.push('soak (--soak-minutes 0)');
    latency.push(...first.steps, ...last.steps, ...[...stepsOf.values()].flat());
    // the default window at the sweep rates: the first scenario's steps
    stepsOf.set('default', first.steps);
    for (const w of WINDOWS) {
      const steps = stepsOf.get(w.label) ?? [];
      const i = sweep.findIndex((s) => s.label === w.label);
      if (i >= 0) sweep[i] = { ...(sweep[i] as SweepResult), latency: steps };
      else if (steps[0] !== undefined)
        sweep.push({ label: w.label, window: steps[0].window, throughput: null, latency: steps });
    }
  }
  return { prefill, systems, main, drains, profile, sweep, latency, soak, saturation };
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: BenchOptions | null;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === null) {
    console.log(USAGE);
    return 0;
  }
  process.chdir(PROJECT_DIR);
  mkdirSync(opts.out, { recursive: true });
  const startedAt = new Date().toISOString();
  await ensureServices(log);
  if (opts.cleanup) {
    const gone = await cleanupRuns();
    log(`removed ${gone.topics} topics and ${gone.keys} Redis keys of earlier bench runs`);
    return 0;
  }
  if (opts.bin !== 'bin/streamscore.js') log(`streamscore entry: ${opts.bin} (not the working tree's build)`);
  const runId = `bench-${startedAt.replace(/[-:T.Z]/g, '').slice(0, 14)}`;
  const current = currentBuild(PROJECT_DIR, opts.bin);
  const old =
    opts.compareRef !== null
      ? refBuild(PROJECT_DIR, opts.compareRef, log, { keep: opts.keep })
      : opts.compareBin !== null
        ? prebuiltBuild(opts.compareBin)
        : null;
  const env = await BenchEnv.create(runId, opts.partitions);
  const pids = await servicePids(env.config('pids'));
  log(`service pids: broker ${pids.broker ?? 'unknown'}, Redis ${pids.redis ?? 'unknown'}`);
  const services: Services = { broker: sampleService(pids.broker), redis: sampleService(pids.redis) };
  const stopChildren = () => {
    for (const c of liveChildren) void c.stop(2000);
  };
  process.once('SIGINT', stopChildren);
  process.once('SIGTERM', stopChildren);
  const skipped: string[] = [];
  try {
    const p = await phases(opts, env, services, { current, old }, skipped);
    const find = (id: string) => p.systems.find((s) => s.id === id)?.recordsPerSec ?? null;
    const vs = (id: string) => {
      const other = find(id);
      return other === null || other === 0 ? null : p.main.recordsPerSec / other;
    };
    const partial: Omit<BenchResults, 'targets'> = {
      startedAt,
      finishedAt: new Date().toISOString(),
      command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
      machine: machine(),
      options: { ...opts, runId, saturation: p.saturation },
      prefill: p.prefill,
      systems: p.systems,
      streamscore: p.main,
      drains: p.drains.drains,
      comparison: p.drains.comparison,
      settings: p.drains.settings,
      ratios: {
        old: vs('streamscore-old'),
        broker: vs('broker'),
        client: vs('client'),
        naive: vs('naive'),
        upsert: vs('redis-upsert'),
        redisBenchmark: vs('redis-hset'),
      },
      sweep: p.sweep,
      latency: p.latency,
      soak: p.soak,
      profile: p.profile,
      skipped,
    };
    const results: BenchResults = { ...partial, targets: targets(partial) };
    writeResults(opts.out, results);
    log(`results: ${join(opts.out, 'latest.md')}, latest.json, latest.svg`);
    for (const t of results.targets)
      log(`   ${t.met === null ? '·' : t.met ? '✓' : '✗'} ${t.target}: ${t.measured}`);
    return 0;
  } finally {
    services.broker?.stop();
    services.redis?.stop();
    await env.close(opts.keep);
    old?.cleanup();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench failed:', err);
    process.exit(1);
  },
);
