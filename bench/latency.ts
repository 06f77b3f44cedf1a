/**
 * Latency under an open-loop load: streamscore (caught up on the prefilled topics, same group and Redis
 * state) receives card transactions at fixed rates from a separate producer process; observers in this
 * process see each prediction appear in Redis and on the predictions topic (see observe.ts). One scenario
 * per window setting, and a second one of the default setting for its higher rates, saturation and the
 * soak (RSS over minutes at 80 % of the drain rate); run.ts orders them.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchEnv } from './env.js';
import { sleep } from './env.js';
import { KafkaObserver, RedisObserver, match, percentiles, sampleDigits } from './observe.js';
import { runWorker } from './proc.js';
import { startPipeline } from './streamscore.js';
import type { PipelineHandle } from './streamscore.js';
import type { LatencyStep, Percentiles, SoakResult, WindowSettings } from './types.js';

export interface ScenarioOptions {
  readonly label: string;
  readonly window: Partial<WindowSettings>;
  readonly rates: readonly { readonly label: string; readonly rate: number }[];
  readonly stepSeconds: number;
  readonly warmupSeconds: number;
  readonly soak?: { readonly minutes: number; readonly rate: number };
  readonly idsFile: string;
  readonly bin: string;
  readonly resultsDir: string;
  readonly seed: number;
  /** Most events per second to observe (the rest of the entities are not watched). */
  readonly observePerSecond: number;
}

interface LoadResult {
  readonly sent: number;
  readonly achievedRate: number;
  readonly maxSendDelayMs: number;
}

const WORKERS = join(import.meta.dirname, 'workers');

export interface Ctx {
  readonly env: BenchEnv;
  readonly opts: ScenarioOptions;
  readonly pipeline: PipelineHandle;
  readonly redis: RedisObserver | null;
  readonly kafka: KafkaObserver;
}

/** Sends at `rate` for `seconds`; returns the produced (entity, event time) pairs and the producer's report. */
async function load(
  ctx: Ctx,
  tag: string,
  rate: number,
  seconds: number,
): Promise<{ events: Float64Array; startAt: number; result: LoadResult }> {
  const outFile = join(ctx.opts.resultsDir, `load-${tag.replace(/[^a-zA-Z0-9-]+/g, '-')}.raw.bin`);
  const startAt = Date.now() + 3000; // the producer connects first, then sends on schedule
  const { result } = await runWorker<LoadResult>(
    join(WORKERS, 'load.js'),
    {
      config: ctx.pipeline.config,
      rate,
      seconds,
      idsFile: ctx.opts.idsFile,
      partitions: ctx.env.partitions,
      tag: `${ctx.env.runId}-${tag.replace(/[^a-zA-Z0-9-]+/g, '-')}`,
      seed: ctx.opts.seed + rate,
      outFile,
      startAt,
    },
    { logFile: join(ctx.opts.resultsDir, 'load.raw.log') },
  );
  const buf = readFileSync(outFile);
  rmSync(outFile, { force: true });
  return { events: new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8), startAt, result };
}

/** Waits until every sampled event of [from, to) is seen on the predictions topic, or `maxMs` passed. */
async function settle(
  ctx: Ctx,
  events: Float64Array,
  from: number,
  to: number,
  maxMs: number,
): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    if (match(events, ctx.kafka.obs, from, to).missing === 0) return;
    await sleep(500);
  }
}

export async function step(ctx: Ctx, label: string, rate: number, seconds: number): Promise<LatencyStep> {
  const { opts, pipeline } = ctx;
  const digits = sampleDigits(rate, opts.observePerSecond);
  ctx.kafka.obs.reset(digits);
  if (ctx.redis !== null) await ctx.redis.watch(digits);
  const { events, startAt, result } = await load(ctx, `${opts.label}-${label}`, rate, seconds);
  const from = startAt + opts.warmupSeconds * 1000;
  const to = startAt + seconds * 1000;
  const loadEnd = Date.now();
  const cpu = pipeline.child.sampler.cpuBetween(from, loadEnd);
  const rss = pipeline.child.sampler.rssSince(loadEnd - 2000).pop()?.[1] ?? null;
  // kept up: every event seen on the predictions topic shortly after the load stopped; then wait for the
  // stragglers so that a pipeline that fell behind still gets its (long) latencies measured
  await settle(ctx, events, from, to, 2000 + 4 * pipeline.config.window.maxDelayMs);
  const keptUp = match(events, ctx.kafka.obs, from, to).missing === 0;
  if (!keptUp) await settle(ctx, events, from, to, 60_000);
  const k = match(events, ctx.kafka.obs, from, to);
  const r = ctx.redis === null ? null : match(events, ctx.redis.obs, from, to);
  const measured = ((to - from) / 1000) * rate;
  // the next step starts from zero lag
  await ctx.env.waitCaughtUp(pipeline.config.consumer.groupId, [ctx.env.topics.transactions], {
    timeoutMs: 180_000,
    alive: () => pipeline.child.running(),
  });
  // every event of the step processed: the CPU from its first event to now is the whole step's cost
  // (the step before it ended at zero lag), whether or not the pipeline kept up while it ran
  const stepCpu = pipeline.child.sampler.cpuBetween(startAt, Date.now());
  const sent = result.sent;
  const none: Percentiles = { count: 0, missing: 0, p50: null, p99: null, p999: null, max: null };
  return {
    label,
    window: pipeline.config.window,
    targetRate: rate,
    achievedRate: result.achievedRate,
    seconds,
    redis: r === null ? none : percentiles(r.values, r.missing),
    kafka: percentiles(k.values, k.missing),
    redisSampleShare: digits.length / 10,
    cpuSecondsPerMillion: measured > 0 ? (cpu / measured) * 1e6 : null,
    cpuSecondsPerMillionDrained: sent > 0 ? (stepCpu / sent) * 1e6 : null,
    rssMb: rss,
    keptUp,
  };
}

function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

async function soak(ctx: Ctx, minutes: number, rate: number): Promise<SoakResult> {
  const digits = sampleDigits(rate, Math.min(1000, ctx.opts.observePerSecond));
  ctx.kafka.obs.reset(digits);
  if (ctx.redis !== null) await ctx.redis.watch('');
  const seconds = Math.round(minutes * 60);
  const { events, startAt, result } = await load(ctx, `${ctx.opts.label}-soak`, rate, seconds);
  const to = startAt + seconds * 1000;
  await settle(ctx, events, startAt + 10_000, to, 20_000);
  const k = match(events, ctx.kafka.obs, startAt + 10_000, to);
  const samples = ctx.pipeline.child.sampler.rssSince(startAt).filter(([t]) => t <= to);
  // one point every 5 s is plenty for a trend
  const rss: Array<[number, number]> = [];
  for (const [t, mb] of samples) {
    const s = (t - startAt) / 1000;
    if (rss.length === 0 || s - (rss[rss.length - 1] as [number, number])[0] >= 5)
      rss.push([Math.round(s), Math.round(mb)]);
  }
  const avg = (pts: Array<[number, number]>) =>
    pts.length === 0 ? 0 : pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const after1 = rss.filter(([s]) => s >= 60);
  return {
    minutes,
    targetRate: rate,
    achievedRate: result.achievedRate,
    rss,
    rssFirstMinuteMb: avg(rss.filter(([s]) => s < 60)),
    rssLastMinuteMb: avg(rss.filter(([s]) => s >= seconds - 60)),
    rssMaxMb: Math.max(0, ...rss.map(([, mb]) => mb)),
    rssSlopeMbPerMin: slope(after1.map(([s, mb]) => [s / 60, mb] as const)),
    kafka: percentiles(k.values, k.missing),
  };
}

/**
 * One window setting: streamscore restarted on the main group and Redis state (caught up), observers on,
 * then each rate for `stepSeconds` (the first `warmupSeconds` not measured), then the soak if asked.
 */
export async function scenario(
  env: BenchEnv,
  opts: ScenarioOptions,
): Promise<{ steps: LatencyStep[]; soak: SoakResult | null }> {
  const config = env.config('main', { window: opts.window });
  const redis = new RedisObserver(
    config.redis.url,
    config.redis.db,
    config.redis.keyPrefix,
    config.pipeline.name,
  );
  let redisOn: RedisObserver | null = redis;
  try {
    await redis.enable();
  } catch (err) {
    console.warn(
      `   Redis keyspace notifications unavailable (${(err as Error).message}); Redis latency not measured`,
    );
    redisOn = null;
  }
  const kafka = new KafkaObserver(env, opts.label);
  const pipeline = await startPipeline(config, {
    bin: opts.bin,
    logFile: join(opts.resultsDir, `streamscore-latency-${opts.label}.raw.log`),
    configFile: join(opts.resultsDir, `streamscore-latency-${opts.label}.raw.config.json`),
  });
  const ctx: Ctx = { env, opts, pipeline, redis: redisOn, kafka };
  const steps: LatencyStep[] = [];
  let soakResult: SoakResult | null = null;
  try {
    await env.waitCaughtUp(config.consumer.groupId, [env.topics.cdc, env.topics.transactions], {
      timeoutMs: 600_000,
      alive: () => pipeline.child.running(),
    });
    await kafka.start(env.topics.predictions);
    for (const r of opts.rates) {
      const s = await step(ctx, r.label, r.rate, opts.stepSeconds);
      steps.push(s);
      console.log(
        `   ${opts.label} ${r.label}: ${Math.round(s.achievedRate)}/s  redis p50/p99/p99.9 ${fmt(s.redis)}  kafka ${fmt(s.kafka)}${s.keptUp ? '' : '  (did not keep up)'}`,
      );
    }
    if (opts.soak !== undefined && opts.soak.minutes > 0) {
      soakResult = await soak(ctx, opts.soak.minutes, opts.soak.rate);
      console.log(
        `   soak ${opts.soak.minutes} min at ${opts.soak.rate}/s: RSS ${soakResult.rssFirstMinuteMb.toFixed(0)} → ${soakResult.rssLastMinuteMb.toFixed(0)} MB (max ${soakResult.rssMaxMb}, slope ${soakResult.rssSlopeMbPerMin.toFixed(2)} MB/min)`,
      );
    }
  } finally {
    await pipeline.child.stop();
    await kafka.close().catch(() => undefined);
    await redis.close().catch(() => undefined);
  }
  return { steps, soak: soakResult };
}

export function fmt(p: Percentiles): string {
  const ms = (v: number | null) => (v === null ? '–' : `${Math.round(v)}`);
  return `${ms(p.p50)}/${ms(p.p99)}/${ms(p.p999)} ms`;
}
