/**
 * Time to rebuild a Redis that lost its data (docs/redis.md, "When Redis loses its data"), on a large state:
 *
 *   npm run bench:rebuild -- [--records 2500000] [--tx-per-customer 1] [--seed 42] [--keep]
 *
 * Prefills the input topics (the benchmark's generator), commits the group at their end, and starts a
 * pipeline in this process against a Redis that holds nothing of it: exactly "Redis restarted empty while
 * nothing ran". `start()` notices (no epoch, committed offsets), rebuilds from the log and returns; the report
 * gives the time of each phase and the records and entities it went through. Written to
 * bench/results/<date>-rebuild-<records>.md.
 */
import { createLogger } from '../src/observe/logger.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import type { RebuildStats } from '../src/recover/index.js';
import { largeStateArgs, prefilledState, runBench, writeReport } from './large-state.js';

const log = (s: string) => process.stdout.write(`${s}\n`);

/** The rebuild's completion log line: its counts and phase times, and the total. */
type RebuildLog = RebuildStats & { totalMs: number };

async function main(): Promise<number> {
  const args = largeStateArgs('rebuild', { records: 2500000 }, log);
  if (args === null) return 2;
  const { records, txPerCustomer } = args;
  const { env, startedAt, out, prefill, config } = await prefilledState(
    'rebuild',
    { records, txPerCustomer, seed: args.seed },
    log,
  );
  try {
    // the group has committed everything: Redis "lost" what those commits wrote
    let rebuilt: RebuildLog | undefined;
    const logger = createLogger(
      'warn',
      {},
      {
        write(line: string) {
          if (line.includes('Redis state rebuilt from the log')) rebuilt = JSON.parse(line) as RebuildLog;
        },
      },
    );
    const pipeline = new Pipeline({ config, logger });
    const t0 = performance.now();
    await pipeline.start(); // rebuilds before it consumes
    const startMs = performance.now() - t0;
    const rss = process.memoryUsage().rss;
    await pipeline.stop();
    if (rebuilt === undefined) throw new Error('the pipeline started without rebuilding');
    const r = rebuilt;
    const perSec = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en-US');
    const lines = [
      `# Rebuild of a wiped Redis from the log (${startedAt.slice(0, 10)})`,
      '',
      `Command: \`npm run bench:rebuild -- --records ${records} --tx-per-customer ${txPerCustomer}\`. Input: ${prefill.cdc.toLocaleString('en-US')} CDC records and ${prefill.transactions.toLocaleString('en-US')} transactions (6 partitions each, Avro); the group committed at their end, Redis empty. One instance, default config, Kafka and Redis on the same 2-core box.`,
      '',
      '| phase | time | rate |',
      '| --- | --- | --- |',
      `| state: read the log, apply, write states (${r.records.toLocaleString('en-US')} records) | ${(r.stateMs / 1000).toFixed(1)} s | ${perSec(r.records, r.stateMs)} records/s |`,
      `| scores: ${r.entities.toLocaleString('en-US')} entities read, ${r.scored.toLocaleString('en-US')} scored, ${r.deleted.toLocaleString('en-US')} deletions rewritten | ${(r.scoreMs / 1000).toFixed(1)} s | ${perSec(r.entities, r.scoreMs)} entities/s |`,
      `| total, from noticing the loss to the new epoch | ${(r.totalMs / 1000).toFixed(1)} s | |`,
      `| pipeline start() including the rebuild | ${(startMs / 1000).toFixed(1)} s | |`,
      '',
      `Process RSS after the rebuild: ${Math.round(rss / 1048576)} MB. Entities owed to the topic (changed past the committed offsets): ${r.owed}.`,
      '',
    ];
    writeReport({ out, startedAt }, 'rebuild', records, lines, log);
    return 0;
  } finally {
    await env.close(args.keep);
  }
}

runBench('rebuild', main, log);
