/**
 * streamscore under test, as a child process (`bin/streamscore.js run --config <file>`), so its CPU and
 * peak RSS are its own; what it did comes from the audit events it committed (counts and stage_ms per
 * window) and its /metrics. The drain itself is in drain.ts.
 */
import { auditReader as readerFor } from '../src/emit/audit-reader.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { nodeFlagsOf } from '../src/cli/node-flags.js';
import type { Config, ConfigInput } from '../src/config/index.js';
import type { AuditEventV1 } from '../src/emit/index.js';
import type { BenchEnv } from './env.js';
import { sleep } from './env.js';
import { startChild } from './proc.js';
import type { Child } from './proc.js';
import type { StageShare, TransactionPhaseTime } from './types.js';

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
  /** Working directory of the process (default: the bench's); a compared build runs in its own checkout. */
  readonly cwd?: string;
  /** What goes into the config file (default: `config` itself); the build applies its own defaults to it. */
  readonly input?: ConfigInput;
}

/**
 * Node flags for the streamscore processes only (not the harness), from BENCH_STREAMSCORE_NODE_ARGS, e.g.
 * "--max-old-space-size=384", for before/after experiments with V8 settings.
 */
export function extraNodeArgs(): string[] {
  return (process.env['BENCH_STREAMSCORE_NODE_ARGS'] ?? '').split(/\s+/).filter((a) => a !== '');
}

/**
 * The node flags a streamscore process of the build `bin` runs with: the ones its bin declares (what users
 * get), then the drain's own, then BENCH_STREAMSCORE_NODE_ARGS (the last of a repeated V8 flag wins).
 */
export function runNodeArgs(bin: string, nodeArgs: readonly string[] = []): string[] {
  return [...nodeFlagsOf(resolve(bin)), ...nodeArgs, ...extraNodeArgs()];
}

/**
 * The config file for the build `bin`: options an older build (--compare-ref) does not know yet are left
 * out, since its config schema is strict. Today: outputs.quarantine (its build has no output guard).
 */
function inputFor(bin: string, input: unknown): unknown {
  const options = resolve(dirname(resolve(bin)), '..', 'dist', 'src', 'config', 'options.js');
  const knowsQuarantine = existsSync(options) && readFileSync(options, 'utf8').includes('quarantine');
  if (knowsQuarantine || typeof input !== 'object' || input === null) return input;
  const copy = structuredClone(input) as { outputs?: Record<string, unknown> };
  if (copy.outputs !== undefined) delete copy.outputs.quarantine;
  return copy;
}

/** Starts the pipeline and resolves once it serves /readyz (group joined, partitions assigned). */
export async function startPipeline(config: Readonly<Config>, opts: PipelineStart): Promise<PipelineHandle> {
  const configFile = resolve(opts.configFile);
  writeFileSync(configFile, JSON.stringify(inputFor(opts.bin, opts.input ?? config)));
  const child = startChild(
    process.execPath,
    [...runNodeArgs(opts.bin, opts.nodeArgs), resolve(opts.bin), 'run', '--config', configFile],
    { logFile: resolve(opts.logFile), ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) },
  );
  try {
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
  } catch (err) {
    // a start that failed leaves no process behind (it would go on consuming after the bench ended)
    await child.stop();
    throw err;
  }
}

/** Audit events read with the schema they were written with: a --compare-ref build may write an older one. */
function auditReader(env: BenchEnv): (value: Buffer) => Promise<AuditEventV1> {
  return readerFor(env.registry);
}

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
  const decode = auditReader(env);
  await consumer.connect();
  await consumer.subscribe({ topics: [env.topics.audit], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      lastAt = Date.now();
      for (const m of batch.messages) {
        if (m.value === null) continue;
        const a = await decode(m.value);
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

/**
 * Sums of `streamscore_stage_duration_seconds` per stage, in ms, from the pipeline's /metrics; of
 * `streamscore_transaction_phase_seconds` per phase as `tx:<phase>` (ms) with `tx#<phase>` (count); and the
 * state cache's lookups as `cache#hit` and `cache#miss`.
 */
export async function stageMetrics(p: PipelineHandle): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const body = await fetch(`http://${p.config.observe.host}:${p.observePort}/metrics`).then((r) => r.text());
  const read = (line: string, label: string) => ({
    name: new RegExp(`${label}="([^"]+)"`).exec(line)?.[1],
    value: Number(line.slice(line.lastIndexOf(' ') + 1)),
  });
  for (const line of body.split('\n')) {
    if (line.startsWith('streamscore_stage_duration_seconds_sum{')) {
      const { name, value } = read(line, 'stage');
      if (name !== undefined && Number.isFinite(value)) out.set(name, value * 1000);
    } else if (line.startsWith('streamscore_transaction_phase_seconds_sum{')) {
      const { name, value } = read(line, 'phase');
      if (name !== undefined && Number.isFinite(value)) out.set(`tx:${name}`, value * 1000);
    } else if (line.startsWith('streamscore_transaction_phase_seconds_count{')) {
      const { name, value } = read(line, 'phase');
      if (name !== undefined && Number.isFinite(value)) out.set(`tx#${name}`, value);
    } else if (line.startsWith('streamscore_state_cache_lookups{')) {
      const { name, value } = read(line, 'result');
      if (name !== undefined && Number.isFinite(value)) out.set(`cache#${name}`, value);
    }
  }
  return out;
}

/** The transaction's steps, from stageMetrics (summed over a drain's stages), in the order they run. */
export function transactionPhases(metrics: ReadonlyMap<string, number>): TransactionPhaseTime[] {
  return ['begin', 'send', 'offsets', 'commit'].flatMap((phase) => {
    const totalMs = metrics.get(`tx:${phase}`);
    const count = metrics.get(`tx#${phase}`);
    return totalMs === undefined || count === undefined || count === 0
      ? []
      : [{ phase, totalMs, meanMs: totalMs / count }];
  });
}

/**
 * Where the time of the windows went: the stage histograms (decode, state, features, score, and commit =
 * the Kafka transaction, timed from the end of the Redis write), plus the audit events' `redis-write` lap
 * (fenced prediction writes and building the output events; since 84f9241 also their Avro encoding), which
 * no histogram has.
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
  for (const [k, v] of metrics.size > 0 ? metrics : fromAudits)
    if (k !== 'commit' && !k.startsWith('tx:') && !k.startsWith('tx#') && !k.startsWith('cache#'))
      sums.set(k, v);
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
