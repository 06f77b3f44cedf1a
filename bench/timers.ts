/**
 * Cost of `streamscore timers` sweeps on a large state (issue 11):
 *
 *   npm run bench:timers -- [--records 1000000] [--tx-per-customer 1] [--chunk 500] [--seed 42] [--keep]
 *
 * Prefills the input topics (the benchmark's generator: history of 2024, so every event has left every
 * window by now), lets a pipeline serving churn/2 rebuild Redis from the log, then runs two sweeps in
 * this process, unpaced: the first finds every entity with events due (what a sweeper meets after a long
 * stop, or on its first start over old data) and scores it; the second finds nothing due (the steady
 * state: what every sweep costs when nothing happened). Reports entities/s, the process's CPU and Redis's
 * CPU per entity for each. Written to bench/results/<date>-timers-<records>.md.
 */
import { createRedisStore } from '../src/adapters/redis.js';
import { createLogger } from '../src/observe/logger.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { runTimers } from '../src/timers/index.js';
import type { TimersReport } from '../src/timers/index.js';
import { largeStateArgs, prefilledState, runBench, writeReport } from './large-state.js';
import { infoDelta, readRedisInfo } from './redis-info.js';

const log = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<number> {
  const args = largeStateArgs('timers', { records: 1000000, withChunk: true }, log);
  if (args === null) return 2;
  const { records, txPerCustomer, chunk } = args;
  const { env, startedAt, out, prefill, config } = await prefilledState(
    'timers',
    {
      records,
      txPerCustomer,
      seed: args.seed,
      config: {
        model: { version: '2' },
        timers: { enabled: true, scanRate: 1e9, scoreRate: 1e9, chunk, sweepIntervalMs: 100 },
      },
    },
    log,
  );
  try {
    log('state: the pipeline (churn/2) rebuilds Redis from the log');
    const t0 = performance.now();
    const pipeline = new Pipeline({ config, logger: createLogger('warn', {}, { write: () => undefined }) });
    await pipeline.start();
    await pipeline.stop();
    const stateMs = performance.now() - t0;

    const redis = createRedisStore(config.redis, 'streamscore:bench-timers');
    const sweep = async (name: string) => {
      const infoBefore = await readRedisInfo(config.redis.url);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      let lastLog = 0;
      const report: TimersReport = await runTimers(config, env.kafka, redis, {
        projectDir: process.cwd(),
        once: true,
        onProgress: (c) => {
          if (Date.now() - lastLog < 10000) return;
          lastLog = Date.now();
          log(
            `${name}: ${c.scanned.toLocaleString('en-US')} looked at, ${c.scored.toLocaleString('en-US')} scored`,
          );
        },
      });
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      const infoAfter = await readRedisInfo(config.redis.url);
      const redisUs =
        infoBefore === null || infoAfter === null
          ? null
          : infoDelta(infoBefore, infoAfter).mainThreadCpuSeconds * 1e6;
      return { name, c: report.counts, seconds, cpuUs: cpu.user + cpu.system, redisUs };
    };
    const first = await sweep('sweep 1 (every entity with events due)');
    const second = await sweep('sweep 2 (nothing due)');
    await redis.close();
    const n = (x: number) => x.toLocaleString('en-US');
    const per = (us: number | null, k: number) => (us === null || k === 0 ? '–' : (us / k).toFixed(1));
    const row = (s: typeof first) =>
      `| ${s.name} | ${n(s.c.scanned)} | ${n(s.c.scored)} | ${n(s.c.not_due)} / ${n(s.c.not_live)} | ${s.seconds.toFixed(1)} s | **${n(Math.round(s.c.scanned / s.seconds))}** | ${n(Math.round(s.c.scored / s.seconds))} | ${per(s.cpuUs, s.c.scanned)} | ${per(s.redisUs, s.c.scanned)} |`;
    const lines = [
      `# streamscore timers on a large state (${startedAt.slice(0, 10)})`,
      '',
      `Command: \`npm run bench:timers -- --records ${records} --tx-per-customer ${txPerCustomer} --chunk ${chunk}\`. Input: ${n(prefill.cdc)} CDC records and ${n(prefill.transactions)} transactions (6 partitions each, Avro) for ${n(prefill.customers)} customers; Redis state rebuilt from the log by a pipeline serving churn/2 (${(stateMs / 1000).toFixed(0)} s), then two \`timers --once\` sweeps in this process, unpaced. Kafka and Redis on the same 2-core box (whatever else runs there is not controlled).`,
      '',
      '| sweep | looked at | scored | not due / not live | time | looked at per second | scored per second | process CPU µs per entity looked at | Redis CPU µs per entity looked at |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      row(first),
      row(second),
      '',
    ];
    writeReport({ out, startedAt }, 'timers', records, lines, log);
    return 0;
  } finally {
    await env.close(args.keep);
  }
}

runBench('timers', main, log);
