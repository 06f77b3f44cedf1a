/**
 * Scale-out (issue 14): the same prefilled input drained by 1, 2, 3… streamscore processes in one consumer
 * group, each count from an empty group and Redis prefix of its own:
 *
 *   npm run bench:scale -- [--records 300000] [--instances 1,2,3] [--repeat 2] [--seed 42] [--keep]
 *
 * Every process is started at once; the clock runs from the first one ready (group joined; the rebalances
 * as the others join count against the run) to the group's zero lag. Reported per count: the aggregate
 * records/s, each process's CPU and peak RSS, Redis's and the broker's CPU, and how busy the whole box was
 * (CPU seconds per wall second, against the machine's cores), so where scaling stops shows whether the
 * limit is the machine, Redis or the broker. With --repeat 2 the counts run forwards then backwards
 * (1 2 3 3 2 1) and the table shows both runs, so drift of the machine shows. Written to
 * bench/results/<date>-scale-out-<records>.md.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchEnv } from './env.js';
import { prefilledState, writeReport } from './large-state.js';
import { sampleService } from './proc.js';
import type { ProcSampler } from './proc.js';
import { infoDelta, readRedisInfo } from './redis-info.js';
import { servicePids } from './services.js';
import { startPipeline } from './streamscore.js';
import type { PipelineHandle } from './streamscore.js';

const log = (s: string) => process.stdout.write(`${s}\n`);

interface ScaleRun {
  readonly instances: number;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  readonly nodeCpuSeconds: readonly number[];
  readonly peakRssMb: readonly number[];
  readonly redisCpuSeconds: number | null;
  readonly brokerCpuSeconds: number | null;
}

async function drainWith(
  env: BenchEnv,
  n: number,
  label: string,
  total: number,
  topics: readonly string[],
  broker: ProcSampler | null,
): Promise<ScaleRun> {
  const config = env.config(label, { observe: { logLevel: 'info' } });
  const redisBefore = await readRedisInfo(env.redisUrl);
  const procs: PipelineHandle[] = [];
  const readyAt: number[] = [];
  // the group's lag is watched from the start: the first process ready drains while the others still load
  const caughtUp = env.waitCaughtUp(config.consumer.groupId, topics, {
    timeoutMs: 3_600_000,
    progress: `   ${n} instance${n === 1 ? '' : 's'}: committed`,
    alive: () => procs.every((p) => p.child.running()),
  });
  caughtUp.catch(() => undefined);
  const settled = await Promise.allSettled(
    Array.from({ length: n }, (_, i) =>
      startPipeline(config, {
        bin: 'bin/streamscore.js',
        logFile: join('bench/results', `scale-${label}-${i}.raw.log`),
        configFile: join('bench/results', `scale-${label}-${i}.raw.config.json`),
      }).then((p) => {
        readyAt.push(Date.now());
        procs.push(p);
        return p;
      }),
    ),
  );
  try {
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const t1 = await caughtUp;
    const t0 = Math.min(...readyAt);
    for (const p of procs) p.child.sampler.sample();
    broker?.sample();
    const redisAfter = await readRedisInfo(env.redisUrl);
    const seconds = (t1 - t0) / 1000;
    return {
      instances: n,
      records: total,
      seconds,
      recordsPerSec: total / seconds,
      nodeCpuSeconds: procs.map((p) => p.child.sampler.cpuBetween(t0, t1)),
      peakRssMb: procs.map((p) => p.child.sampler.cost(t0, t1).peakRssMb),
      redisCpuSeconds:
        redisBefore === null || redisAfter === null ? null : infoDelta(redisBefore, redisAfter).cpuSeconds,
      brokerCpuSeconds: broker?.cpuBetween(t0, t1) ?? null,
    };
  } finally {
    await Promise.all(procs.map((p) => p.child.stop()));
    await env.deleteKeys(label);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '300000' },
      instances: { type: 'string', default: '1,2,3' },
      repeat: { type: 'string', default: '2' },
      seed: { type: 'string', default: '42' },
      keep: { type: 'boolean', default: false },
    },
  });
  const records = Number(values.records);
  const counts = values.instances.split(',').map(Number);
  const repeat = Number(values.repeat);
  if (
    !Number.isInteger(records) ||
    records <= 0 ||
    counts.some((c) => !Number.isInteger(c) || c < 1 || c > 6) ||
    !(repeat === 1 || repeat === 2)
  ) {
    log(
      'bench:scale: --records is a positive integer, --instances a list of 1..6 (the input topics have 6 partitions), --repeat 1 or 2',
    );
    return 2;
  }
  const state = await prefilledState(
    'scale',
    { records, txPerCustomer: 2, seed: Number(values.seed), commitEnd: false },
    log,
  );
  const { env } = state;
  const pids = await servicePids(state.config);
  const broker = sampleService(pids.broker);
  const redisPid = pids.redis;
  try {
    const topics = [env.topics.cdc, env.topics.transactions];
    let total = 0;
    for (const t of topics) total += await env.topicSize(t);
    const order = repeat === 2 ? [...counts, ...[...counts].reverse()] : counts;
    const runs: ScaleRun[] = [];
    for (const [i, n] of order.entries()) {
      log(`run ${i + 1}/${order.length}: ${n} instance(s), ${total.toLocaleString('en-US')} records`);
      const r = await drainWith(env, n, `scale${n}-${i}`, total, topics, broker);
      log(`   ${r.recordsPerSec.toFixed(0)} records/s in ${r.seconds.toFixed(1)} s`);
      runs.push(r);
    }
    const cores = availableParallelism();
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const base = mean(runs.filter((r) => r.instances === counts[0]).map((r) => r.recordsPerSec));
    const lines = [
      `# Scale-out: ${counts.join(', ')} instances in one group, ${total.toLocaleString('en-US')} records`,
      '',
      `${state.startedAt}; \`npm run bench:scale -- --records ${records} --instances ${values.instances} --repeat ${repeat}\`;`,
      `${cores} cores; input: ${state.prefill.cdc.toLocaleString('en-US')} CDC + ${state.prefill.transactions.toLocaleString('en-US')} transactions over 6 partitions each;`,
      `broker pid ${pids.broker ?? 'unknown'}, Redis pid ${redisPid ?? 'unknown'}. Each run: a new group and Redis prefix, every`,
      'process started at once, the clock from the first one ready to zero lag. Box busy = CPU seconds of',
      `streamscore + Redis + broker per wall second (the machine has ${cores}).`,
      '',
      '| instances | records/s | vs ' +
        String(counts[0]) +
        ' | seconds | CPU s per instance | peak RSS MB per instance | Redis CPU s | broker CPU s | box busy (cores) |',
      '|---|---|---|---|---|---|---|---|---|',
      ...runs.map((r) => {
        const node = r.nodeCpuSeconds.reduce((a, b) => a + b, 0);
        const busy = (node + (r.redisCpuSeconds ?? 0) + (r.brokerCpuSeconds ?? 0)) / r.seconds;
        return `| ${r.instances} | ${r.recordsPerSec.toFixed(0)} | ${(r.recordsPerSec / base).toFixed(2)}× | ${r.seconds.toFixed(1)} | ${r.nodeCpuSeconds.map((c) => c.toFixed(1)).join(' / ')} | ${r.peakRssMb.map((m) => m.toFixed(0)).join(' / ')} | ${r.redisCpuSeconds?.toFixed(1) ?? '?'} | ${r.brokerCpuSeconds?.toFixed(1) ?? '?'} | ${busy.toFixed(2)} |`;
      }),
      '',
      '## Mean per count',
      '',
      '| instances | mean records/s | vs ' + String(counts[0]) + ' |',
      '|---|---|---|',
      ...counts.map((n) => {
        const m = mean(runs.filter((r) => r.instances === n).map((r) => r.recordsPerSec));
        return `| ${n} | ${m.toFixed(0)} | ${(m / base).toFixed(2)}× |`;
      }),
      '',
    ];
    writeReport(state, 'scale-out', records, lines, log);
    return 0;
  } finally {
    broker?.stop();
    await env.close(values.keep);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench:scale failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
