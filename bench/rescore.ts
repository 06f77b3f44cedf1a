/**
 * Rate of `streamscore rescore` on a large state (issue 11: at least 1M entities in 10 minutes):
 *
 *   npm run bench:rescore -- [--records 2000000] [--tx-per-customer 1] [--chunk 500] [--seed 42] [--keep]
 *
 * Prefills the input topics (the benchmark's generator), commits the group at their end and lets a pipeline
 * serving churn/2 rebuild Redis from the log (the quickest way to a large state whose every prediction is
 * churn/2's and whose windows are all committed), then runs the rescore job in this process, unpaced
 * (`--rate 0`), with churn/3 as the served model. Reports entities/s, the process's CPU and Redis's CPU per
 * entity scored. Written to bench/results/<date>-rescore-<records>.md.
 */
import { createRedisStore } from '../src/adapters/redis.js';
import { createLogger } from '../src/observe/logger.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { runRescore } from '../src/rescore/index.js';
import { largeStateArgs, prefilledState, runBench, writeReport } from './large-state.js';
import { infoDelta, readRedisInfo } from './redis-info.js';

const log = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<number> {
  const args = largeStateArgs('rescore', { records: 2000000, withChunk: true }, log);
  if (args === null) return 2;
  const { records, txPerCustomer, chunk } = args;
  const { env, startedAt, out, prefill, config } = await prefilledState(
    'rescore',
    { records, txPerCustomer, seed: args.seed, config: { model: { version: '2' } } },
    log,
  );
  try {
    log('state: the pipeline (churn/2) rebuilds Redis from the log');
    const t0 = performance.now();
    const pipeline = new Pipeline({ config, logger: createLogger('warn', {}, { write: () => undefined }) });
    await pipeline.start();
    await pipeline.stop();
    const stateMs = performance.now() - t0;

    // the served model is now churn/3 (a retrained version with the same features)
    const served = { ...config, model: { ...config.model, version: '3' } };
    const redis = createRedisStore(served.redis, 'streamscore:bench-rescore');
    const infoBefore = await readRedisInfo(served.redis.url);
    const cpuBefore = process.cpuUsage();
    let lastLog = 0;
    const report = await runRescore(served, env.kafka, redis, {
      rate: 0,
      chunk,
      pendingWaitMs: 10000,
      projectDir: process.cwd(),
      onProgress: (c) => {
        if (Date.now() - lastLog < 10000) return;
        lastLog = Date.now();
        log(
          `rescore: ${c.scanned.toLocaleString('en-US')} looked at, ${c.scored.toLocaleString('en-US')} scored`,
        );
      },
    });
    const cpu = process.cpuUsage(cpuBefore);
    const infoAfter = await readRedisInfo(served.redis.url);
    await redis.close();
    const c = report.counts;
    const seconds = report.elapsedMs / 1000;
    const perEntity = (us: number) => (c.scored > 0 ? (us / c.scored).toFixed(1) : '–');
    const redisUs =
      infoBefore === null || infoAfter === null
        ? null
        : infoDelta(infoBefore, infoAfter).mainThreadCpuSeconds * 1e6;
    const lines = [
      `# streamscore rescore on a large state (${startedAt.slice(0, 10)})`,
      '',
      `Command: \`npm run bench:rescore -- --records ${records} --tx-per-customer ${txPerCustomer} --chunk ${chunk}\`. Input: ${prefill.cdc.toLocaleString('en-US')} CDC records and ${prefill.transactions.toLocaleString('en-US')} transactions (6 partitions each, Avro) for ${prefill.customers.toLocaleString('en-US')} customers; Redis state rebuilt from the log by a pipeline serving churn/2 (${(stateMs / 1000).toFixed(0)} s), then the rescore job with churn/3 served, unpaced (\`--rate 0\`), in this process. Kafka and Redis on the same 2-core box (whatever else runs there is not controlled).`,
      '',
      '| measure | value |',
      '| --- | --- |',
      `| entities looked at | ${c.scanned.toLocaleString('en-US')} |`,
      `| scored (fenced write + event) | ${c.scored.toLocaleString('en-US')} |`,
      `| not live (deleted, no profile) / already current / pending left | ${c.not_live.toLocaleString('en-US')} / ${c.current.toLocaleString('en-US')} / ${report.pendingLeft} |`,
      `| chunks (one Redis round trip and one transaction each) | ${report.chunks.toLocaleString('en-US')} |`,
      `| time | ${seconds.toFixed(1)} s |`,
      `| **entities scored per second** | **${Math.round(c.scored / seconds).toLocaleString('en-US')}** |`,
      `| time for 1M entities at that rate | ${(1e6 / (c.scored / seconds) / 60).toFixed(1)} min |`,
      `| process CPU per entity scored | ${perEntity(cpu.user + cpu.system)} µs |`,
      `| Redis main-thread CPU per entity scored | ${redisUs === null ? '–' : perEntity(redisUs)} µs |`,
      '',
    ];
    writeReport({ out, startedAt }, 'rescore', records, lines, log);
    return 0;
  } finally {
    await env.close(args.keep);
  }
}

runBench('rescore', main, log);
