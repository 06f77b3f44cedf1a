/**
 * streamscore under test, as a child process (`bin/streamscore.js run --config <file>`), so its CPU and
 * peak RSS are its own. A drain runs from an empty group to zero lag (or to a record cap); where the time
 * goes comes from the audit events the run committed (stage_ms per window).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import type { Config, ConfigInput } from '../src/config/index.js';
import type { AuditEventV1 } from '../src/emit/index.js';
import type { BenchEnv } from './env.js';
import { sleep } from './env.js';
import { serviceCost } from './baselines.js';
import type { Services } from './baselines.js';
import { startChild } from './proc.js';
import type { Child } from './proc.js';
import type { StageShare, StreamscoreRun, WindowSettings } from './types.js';

export interface PipelineHandle {
  readonly child: Child;
  readonly config: Readonly<Config>;
  readonly observePort: number;
  /** The `instance` field of this process's audit events. */
  readonly instance: string;
}

export interface PipelineStart {
  readonly bin: string;
  readonly nodeArgs?: readonly string[];
  readonly logFile: string;
  readonly configFile: string;
}

/**
 * Node flags for the streamscore processes only (not the harness), from BENCH_STREAMSCORE_NODE_ARGS, e.g.
 * "--max-old-space-size=384", for before/after experiments with V8 settings.
 */
function extraNodeArgs(): string[] {
  return (process.env['BENCH_STREAMSCORE_NODE_ARGS'] ?? '').split(/\s+/).filter((a) => a !== '');
}

/** Starts the pipeline and resolves once it serves /readyz (group joined, partitions assigned). */
export async function startPipeline(config: Readonly<Config>, opts: PipelineStart): Promise<PipelineHandle> {
  writeFileSync(opts.configFile, JSON.stringify(config));
  const child = startChild(
    process.execPath,
    [...(opts.nodeArgs ?? []), ...extraNodeArgs(), opts.bin, 'run', '--config', opts.configFile],
    {
      logFile: opts.logFile,
    },
  );
  const line = await child.waitForLine((l) => l.includes('"pipeline started"'), 60_000);
  const observePort = Number((JSON.parse(line) as { observePort?: number }).observePort);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://${config.observe.host}:${observePort}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('streamscore did not become ready within 60 s');
    if (!child.running()) throw new Error(`streamscore exited:\n${child.lines.slice(-20).join('\n')}`);
    await sleep(100);
  }
  return { child, config, observePort, instance: `${hostname()}:${child.child.pid}` };
}

const auditType = avro.Type.forSchema(
  JSON.parse(readFileSync(new URL('../../schemas/audit-value.avsc', import.meta.url), 'utf8')) as avro.Schema,
);

/**
 * The audit events one process committed (read_committed), until they account for `records` input records
 * or nothing new arrived for `idleMs`.
 */
export async function readAudits(
  env: BenchEnv,
  instance: string,
  records: number,
  idleMs = 5000,
): Promise<AuditEventV1[]> {
  const out: AuditEventV1[] = [];
  let received = 0;
  let lastAt = Date.now();
  const consumer = env.kafka.consumer({
    groupId: `${env.runId}-audit-reader-${Date.now()}`,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [env.topics.audit], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      lastAt = Date.now();
      for (const m of batch.messages) {
        if (m.value === null) continue;
        const a = auditType.fromBuffer(m.value.subarray(5)) as AuditEventV1;
        if (a.instance !== instance) continue;
        out.push(a);
        received += a.counts.received;
      }
    },
  });
  while (received < records && Date.now() - lastAt < idleMs) await sleep(100);
  await consumer.disconnect();
  return out;
}

/** Sum of `streamscore_stage_duration_seconds` per stage, in ms, from the pipeline's /metrics. */
export async function stageMetrics(p: PipelineHandle): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const body = await fetch(`http://${p.config.observe.host}:${p.observePort}/metrics`).then((r) => r.text());
  for (const line of body.split('\n')) {
    if (!line.startsWith('streamscore_stage_duration_seconds_sum{')) continue;
    const stage = /stage="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (stage !== undefined && Number.isFinite(value)) out.set(stage, value * 1000);
  }
  return out;
}

/**
 * Where the time of the windows went: the stage histograms (decode, state, features, score, and commit =
 * the Kafka transaction, timed from the end of the Redis write), plus the audit events' `redis-write` lap
 * (fenced prediction writes and building the output events), which no histogram has.
 */
export function stageShares(
  metrics: ReadonlyMap<string, number>,
  audits: readonly AuditEventV1[],
  records: number,
): StageShare[] {
  const fromAudits = new Map<string, number>();
  for (const a of audits)
    for (const [k, v] of Object.entries(a.stage_ms)) fromAudits.set(k, (fromAudits.get(k) ?? 0) + v);
  const sums = new Map<string, number>();
  for (const [k, v] of metrics.size > 0 ? metrics : fromAudits) if (k !== 'commit') sums.set(k, v);
  if (fromAudits.has('redis-write')) sums.set('redis-write', fromAudits.get('redis-write') as number);
  const commit = metrics.get('commit');
  if (commit !== undefined) sums.set('kafka-transaction', commit);
  const total = [...sums.values()].reduce((n, v) => n + v, 0);
  return [...sums].map(([stage, totalMs]) => ({
    stage,
    totalMs,
    share: total === 0 ? 0 : totalMs / total,
    usPerRecord: (totalMs * 1000) / Math.max(1, records),
  }));
}

/** When the process joined its group (its first 'partitions assigned' log line). */
function joinedAt(p: PipelineHandle): number | null {
  const line = p.child.lines.find((l) => l.includes('"partitions assigned"'));
  if (line === undefined) return null;
  const t = Date.parse((JSON.parse(line) as { time?: string }).time ?? '');
  return Number.isFinite(t) ? t : null;
}

export interface DrainOptions {
  readonly label: string;
  readonly window?: Partial<WindowSettings>;
  /** Any other configuration to change (e.g. backpressure), for experiments. */
  readonly overrides?: ConfigInput;
  /** Stop once this many input records are committed (default: every record of the input topics). */
  readonly stopAfter?: number;
  readonly nodeArgs?: readonly string[];
  readonly bin: string;
  readonly resultsDir: string;
  readonly services: Services;
  readonly timeoutMs: number;
}

/** One streamscore run from an empty group (its own group and Redis key prefix) to zero lag or the cap. */
export async function drain(env: BenchEnv, opts: DrainOptions): Promise<StreamscoreRun> {
  const config = env.config(opts.label, {
    ...(opts.overrides ?? {}),
    ...(opts.window === undefined ? {} : { window: opts.window }),
  });
  const inputs = [env.topics.cdc, env.topics.transactions];
  const p = await startPipeline(config, {
    bin: opts.bin,
    nodeArgs: opts.nodeArgs ?? [],
    logFile: join(opts.resultsDir, `streamscore-${opts.label}.raw.log`),
    configFile: join(opts.resultsDir, `streamscore-${opts.label}.raw.config.json`),
  });
  let committed = 0;
  let metrics = new Map<string, number>();
  try {
    await env.waitCaughtUp(config.consumer.groupId, inputs, {
      timeoutMs: opts.timeoutMs,
      alive: () => p.child.running(),
      stopAt: (n) => {
        committed = n;
        return opts.stopAfter !== undefined && n >= opts.stopAfter;
      },
    });
    p.child.sampler.sample();
    metrics = await stageMetrics(p).catch(() => new Map<string, number>());
  } catch (err) {
    const problems = p.child.lines
      .filter((l) => /"level":(40|50|60)/.test(l) && !l.includes('partitioner'))
      .slice(-3);
    throw new Error(
      `streamscore run ${opts.label}: ${(err as Error).message}; last warnings:\n${problems.map((l) => l.slice(0, 600)).join('\n')}`,
    );
  } finally {
    await p.child.stop();
  }
  const total =
    opts.stopAfter === undefined
      ? (await env.topicSize(inputs[0] as string)) + (await env.topicSize(inputs[1] as string))
      : committed;
  const audits = await readAudits(env, p.instance, total);
  if (audits.length === 0) throw new Error(`streamscore run ${opts.label} committed no window`);
  const records = audits.reduce((n, a) => n + a.counts.received, 0);
  // the clock starts when the group is joined, as for the other systems
  const first = joinedAt(p) ?? Math.min(...audits.map((a) => a.opened_at));
  const last = Math.max(...audits.map((a) => a.closed_at));
  const counts: Record<string, number> = {};
  for (const a of audits) for (const [k, v] of Object.entries(a.counts)) counts[k] = (counts[k] ?? 0) + v;
  const seconds = (last - first) / 1000;
  return {
    id: opts.label === 'main' ? 'streamscore' : `streamscore-${opts.label}`,
    name: opts.label === 'main' ? 'streamscore (default config)' : `streamscore (${opts.label})`,
    work: 'windows: decode, Redis state APPLY, features, 1 ONNX run, fenced Redis WRITE, 1 Kafka transaction',
    records,
    seconds,
    wallSeconds: (last - p.child.startedAt) / 1000,
    recordsPerSec: records / seconds,
    cost: p.child.sampler.cost(first, last),
    services: serviceCost(opts.services, first, last),
    notes: [
      'exactly-once on (transactional producer per input partition, offsets in the transaction)',
      `rate from group joined to the last window closed; from process start (model load, schema registration, join): ${(records / ((last - p.child.startedAt) / 1000)).toFixed(0)} records/s`,
    ],
    windows: audits.length,
    recordsPerWindow: records / audits.length,
    stages: stageShares(metrics, audits, records),
    counts,
    window: config.window,
  };
}
