/**
 * One streamscore drain: the prefilled input topics from offset 0 to zero lag (or to a record cap), with the
 * drain's own consumer group(s) and Redis key prefix, in the stages stages.ts plans. Around each stage the
 * bench reads Redis's INFO counters and samples the streamscore process and the broker, so the run's CPU
 * per record covers the whole box over the same span.
 */
import { join } from 'node:path';
import type { ConfigInput } from '../src/config/index.js';
import type { AuditEventV1 } from '../src/emit/index.js';
import { serviceCost } from './baselines.js';
import type { Services } from './baselines.js';
import { perRecordCpu } from './cost.js';
import type { BenchEnv } from './env.js';
import { infoDelta, readRedisInfo, redisCost, sumInfo } from './redis-info.js';
import type { RedisInfo } from './redis-info.js';
import { drainStages } from './stages.js';
import type { DrainOrder, DrainStage } from './stages.js';
import { readAudits, stageMetrics, stageShares, startPipeline, transactionPhases } from './streamscore.js';
import type { PipelineHandle } from './streamscore.js';
import type { DrainStageResult, StreamscoreRun, WindowSettings } from './types.js';

export interface DrainOptions {
  readonly label: string;
  /** The build that runs: 'current' (default) or the compared build's name. */
  readonly build?: string;
  readonly order: DrainOrder;
  readonly window?: Partial<WindowSettings>;
  /** Any other configuration to change (e.g. backpressure), for experiments. */
  readonly overrides?: ConfigInput;
  /** Stop once this many input records are committed (default: every record of the input topics). */
  readonly stopAfter?: number;
  readonly nodeArgs?: readonly string[];
  readonly bin: string;
  /** Working directory of the streamscore process (a compared build runs in its own checkout). */
  readonly cwd?: string;
  readonly resultsDir: string;
  readonly services: Services;
  readonly timeoutMs: number;
}

interface StageRun {
  readonly stage: DrainStage;
  readonly p: PipelineHandle;
  readonly audits: readonly AuditEventV1[];
  readonly metrics: ReadonlyMap<string, number>;
  /** Group joined (first 'partitions assigned' line) and last window closed. */
  readonly first: number;
  readonly last: number;
  /** Pipeline ready → caught up: the span of the per-record CPU figures. */
  readonly t0: number;
  readonly t1: number;
  readonly redis: RedisInfo | null;
  readonly window: WindowSettings;
}

/** When the process joined its group (its first 'partitions assigned' log line). */
function joinedAt(p: PipelineHandle): number | null {
  const line = p.child.lines.find((l) => l.includes('"partitions assigned"'));
  if (line === undefined) return null;
  const t = Date.parse((JSON.parse(line) as { time?: string }).time ?? '');
  return Number.isFinite(t) ? t : null;
}

/**
 * Configuration changes for experiments, from BENCH_STREAMSCORE_CONFIG (JSON, e.g.
 * '{"backpressure":{"maxInFlightRecords":20000}}'), applied to every drain of every build.
 */
function benchOverrides(): ConfigInput {
  const raw = process.env['BENCH_STREAMSCORE_CONFIG'];
  if (raw === undefined || raw.trim() === '') return {};
  return JSON.parse(raw) as ConfigInput;
}

async function runStage(
  env: BenchEnv,
  opts: DrainOptions,
  stage: DrainStage,
  single: boolean,
): Promise<StageRun> {
  const base = { ...benchOverrides(), ...(opts.overrides ?? {}) };
  const over: ConfigInput = {
    ...base,
    ...(opts.window === undefined ? {} : { window: opts.window }),
    consumer: { ...(base.consumer ?? {}), groupId: stage.group },
  };
  const config = env.config(opts.label, over);
  for (const t of stage.skip) await env.commitEnd(stage.group, t);
  // the skipped topic's offsets were set here, not committed by windows: Redis lost nothing, so the
  // drain starts as a new deployment (an epoch), not with a rebuild from the log (src/recover/)
  if (stage.skip.length > 0) await env.openEpoch(config);
  const name = single ? opts.label : `${opts.label}-${stage.name}`;
  const p = await startPipeline(config, {
    bin: opts.bin,
    input: env.configInput(opts.label, over),
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    nodeArgs: opts.nodeArgs ?? [],
    logFile: join(opts.resultsDir, `streamscore-${name}.raw.log`),
    configFile: join(opts.resultsDir, `streamscore-${name}.raw.config.json`),
  });
  const before = await readRedisInfo(env.redisUrl);
  const t0 = Date.now();
  p.child.sampler.sample();
  opts.services.broker?.sample();
  let committed = 0;
  let metrics = new Map<string, number>();
  let t1 = t0;
  let after: RedisInfo | null = null;
  try {
    await env.waitCaughtUp(stage.group, stage.read, {
      timeoutMs: opts.timeoutMs,
      progress: `   ${stage.name} stage committed`,
      alive: () => p.child.running(),
      stopAt: (n) => {
        committed = n;
        return stage.stopAfter !== undefined && n >= stage.stopAfter;
      },
    });
    t1 = Date.now();
    p.child.sampler.sample();
    opts.services.broker?.sample();
    after = await readRedisInfo(env.redisUrl);
    metrics = await stageMetrics(p).catch(() => new Map<string, number>());
  } catch (err) {
    const problems = p.child.lines
      .filter((l) => /"level":(40|50|60)/.test(l) && !l.includes('partitioner'))
      .slice(-3);
    throw new Error(
      `streamscore run ${name}: ${(err as Error).message}; last warnings:\n${problems.map((l) => l.slice(0, 600)).join('\n')}`,
    );
  } finally {
    await p.child.stop();
  }
  let total = committed;
  if (stage.stopAfter === undefined) {
    total = 0;
    for (const t of stage.read) total += await env.topicSize(t);
  }
  const audits = await readAudits(env, p.instance, total);
  if (audits.length === 0) throw new Error(`streamscore run ${name} committed no window`);
  // the clock starts when the group is joined, as for the other systems
  const first = joinedAt(p) ?? Math.min(...audits.map((a) => a.opened_at));
  const last = Math.max(...audits.map((a) => a.closed_at));
  const redis = before === null || after === null ? null : infoDelta(before, after);
  return { stage, p, audits, metrics, first, last, t0, t1, redis, window: config.window };
}

const sum = (xs: readonly number[]) => xs.reduce((n, x) => n + x, 0);

/** One streamscore drain of the prefilled topics, from empty groups, in the order `opts.order` says. */
export async function drain(env: BenchEnv, opts: DrainOptions): Promise<StreamscoreRun> {
  const inputs = {
    cdc: env.topics.cdc,
    events: env.topics.transactions,
    cdcRecords: await env.topicSize(env.topics.cdc),
    eventRecords: await env.topicSize(env.topics.transactions),
  };
  const plan = drainStages(opts.order, env.group(opts.label), inputs, opts.stopAfter);
  const runs: StageRun[] = [];
  for (const stage of plan) runs.push(await runStage(env, opts, stage, plan.length === 1));

  const audits = runs.flatMap((r) => r.audits);
  const counts: Record<string, number> = {};
  for (const a of audits) for (const [k, v] of Object.entries(a.counts)) counts[k] = (counts[k] ?? 0) + v;
  const records = counts['received'] ?? 0;
  const seconds = sum(runs.map((r) => (r.last - r.first) / 1000));
  const metrics = new Map<string, number>();
  for (const r of runs) for (const [k, v] of r.metrics) metrics.set(k, (metrics.get(k) ?? 0) + v);
  const stageResults: DrainStageResult[] = runs.map((r) => ({
    name: r.stage.name,
    group: r.stage.group,
    records: sum(r.audits.map((a) => a.counts.received)),
    seconds: (r.last - r.first) / 1000,
    windows: r.audits.length,
    entitiesScored: sum(r.audits.map((a) => a.counts.entities_scored)),
    noProfile: sum(r.audits.map((a) => a.counts.no_profile)),
  }));
  const costs = runs.map((r) => r.p.child.sampler.cost(r.first, r.last));
  const services = runs.map((r) => serviceCost(opts.services, r.first, r.last));
  const redisDeltas = runs.map((r) => r.redis);
  const redis = redisDeltas.every((d): d is RedisInfo => d !== null) ? redisCost(sumInfo(redisDeltas)) : null;
  const broker = opts.services.broker;
  const recordsPerSec = records / seconds;
  const perRecord = perRecordCpu({
    records,
    entitiesScored: counts['entities_scored'] ?? 0,
    noProfile: counts['no_profile'] ?? 0,
    nodeCpuSeconds: sum(runs.map((r) => r.p.child.sampler.cpuBetween(r.t0, r.t1))),
    redis,
    brokerCpuSeconds: broker === null ? null : sum(runs.map((r) => broker.cpuBetween(r.t0, r.t1))),
  });
  const build = opts.build ?? 'current';
  const main = opts.label === 'main';
  const nullableSum = (xs: ReadonlyArray<number | null>) =>
    xs.some((x) => x === null) ? null : sum(xs as number[]);
  return {
    id: main ? 'streamscore' : `streamscore-${opts.label}`,
    name: main ? 'streamscore (default config)' : `streamscore (${opts.label})`,
    work: 'windows: decode, state (cache or Redis read), features, 1 ONNX run, 1 compare-and-set Redis write, 1 Kafka transaction',
    build,
    label: opts.label,
    order: opts.order,
    drainStages: stageResults,
    records,
    seconds,
    wallSeconds: sum(runs.map((r) => (r.last - r.p.child.startedAt) / 1000)),
    recordsPerSec,
    cost: {
      cpuSeconds: sum(costs.map((c) => c.cpuSeconds)),
      cpuSecondsTotal: sum(costs.map((c) => c.cpuSecondsTotal)),
      peakRssMb: Math.max(...costs.map((c) => c.peakRssMb)),
    },
    services: {
      brokerCpuSeconds: nullableSum(services.map((s) => s.brokerCpuSeconds)),
      redisCpuSeconds: nullableSum(services.map((s) => s.redisCpuSeconds)),
    },
    notes: [
      'exactly-once on (transactional producer per input partition, offsets in the transaction)',
      opts.order === 'cdc-first'
        ? 'cdc-first: the CDC topic to its end, then the transactions (same Redis state); rate and CPU are summed over both stages'
        : 'mixed: both topics at once; which transactions find a profile depends on how the topics interleave',
      `rate from group joined to the last window closed; from process start (model load, schema registration, join): ${(records / sum(runs.map((r) => (r.last - r.p.child.startedAt) / 1000))).toFixed(0)} records/s`,
    ],
    windows: audits.length,
    recordsPerWindow: records / audits.length,
    stages: stageShares(metrics, audits, records),
    transactionPhases: transactionPhases(metrics),
    stateCache: metrics.has('cache#miss')
      ? { hits: metrics.get('cache#hit') ?? 0, misses: metrics.get('cache#miss') ?? 0 }
      : null,
    counts,
    window: runs[0]?.window as WindowSettings,
    perRecord,
    redis,
  };
}
