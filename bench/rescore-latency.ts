/**
 * The live stream's latency while `streamscore rescore` runs (issue 11: rescore is rate-limited so the live
 * stream keeps its latency):
 *
 *   npm run bench:rescore-latency -- [--records 1000000] [--live-rate 2000] [--step-seconds 60]
 *                                    [--rescore-rate 2000] [--seed 42] [--keep]
 *
 * Prefills the input topics, lets a pipeline process serving churn/2 rebuild Redis from the log (every entity
 * then holds a churn/2 prediction), then starts the live pipeline serving churn/3 (a redeploy with the new
 * champion) as its own process and measures event → prediction latency (Redis and the committed topic, the
 * observers of `npm run bench`) at a fixed open-loop rate in three steps of the same length: before,
 * while a `streamscore rescore --rate <n>` process re-scores every entity still on churn/2, and after it
 * finished. Side by side in one run; written to bench/results/<date>-rescore-latency-<records>.md.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { fmt, step } from './latency.js';
import type { Ctx, ScenarioOptions } from './latency.js';
import { prefilledState, writeReport } from './large-state.js';
import { KafkaObserver, RedisObserver } from './observe.js';
import { startChild } from './proc.js';
import { runNodeArgs, startPipeline } from './streamscore.js';
import type { LatencyStep } from './types.js';

const log = (s: string) => process.stdout.write(`${s}\n`);
const BIN = 'bin/streamscore.js';

interface RescoreReport {
  readonly counts: { readonly scored: number; readonly scanned: number };
  readonly elapsedMs: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '1000000' },
      'live-rate': { type: 'string', default: '2000' },
      'step-seconds': { type: 'string', default: '60' },
      'rescore-rate': { type: 'string', default: '2000' },
      seed: { type: 'string', default: '42' },
      keep: { type: 'boolean', default: false },
    },
  });
  const records = Number(values.records);
  const liveRate = Number(values['live-rate']);
  const stepSeconds = Number(values['step-seconds']);
  const rescoreRate = Number(values['rescore-rate']);
  if (
    ![records, liveRate, stepSeconds].every((n) => Number.isInteger(n) && n > 0) ||
    !Number.isInteger(rescoreRate) ||
    rescoreRate < 0
  ) {
    log(
      'bench:rescore-latency: --records, --live-rate and --step-seconds are positive integers; --rescore-rate a whole number (0: unpaced)',
    );
    return 2;
  }
  const name = 'rescore-live';
  const state = await prefilledState(
    name,
    { records, txPerCustomer: 1, seed: Number(values.seed), config: { model: { version: '2' } } },
    log,
  );
  const { env, out } = state;
  // info: startPipeline waits for the "pipeline started" line
  const served = env.config(name, { model: { version: '3' }, observe: { logLevel: 'info' } });
  const redis = new RedisObserver(
    served.redis.url,
    served.redis.db,
    served.redis.keyPrefix,
    served.pipeline.name,
  );
  const kafka = new KafkaObserver(env, name);
  try {
    // a pipeline serving churn/2 rebuilds Redis from the log; it is ready (/readyz) only once the rebuild
    // has scored every entity, so every prediction is churn/2's when it stops
    log('state: a pipeline serving churn/2 rebuilds Redis from the log');
    const rebuild = await startPipeline(
      env.config(name, { model: { version: '2' }, observe: { logLevel: 'info' } }),
      {
        bin: BIN,
        logFile: join(out, `rescore-latency-rebuild.raw.log`),
        configFile: join(out, `rescore-latency-rebuild.raw.config.json`),
      },
    );
    await rebuild.child.stop();

    await redis.enable();
    const pipeline = await startPipeline(served, {
      bin: BIN,
      logFile: join(out, `rescore-latency-live.raw.log`),
      configFile: join(out, `rescore-latency-live.raw.config.json`),
    });
    const opts: ScenarioOptions = {
      label: 'rescore',
      window: {},
      rates: [],
      stepSeconds,
      warmupSeconds: 5,
      idsFile: join(out, `${name}-alive-ids.raw.json`),
      bin: BIN,
      resultsDir: out,
      seed: Number(values.seed),
      observePerSecond: 500,
    };
    const ctx: Ctx = { env, opts, pipeline, redis, kafka };
    const steps: Array<{ step: LatencyStep; rescoring: string }> = [];
    let rescore: RescoreReport | null = null;
    try {
      await kafka.start(env.topics.predictions);
      log(`step 1/3: ${liveRate}/s for ${stepSeconds} s, no rescore`);
      steps.push({ step: await step(ctx, 'before', liveRate, stepSeconds), rescoring: 'no' });

      const configFile = join(out, 'rescore-latency-job.raw.config.json');
      writeFileSync(
        configFile,
        JSON.stringify(env.configInput(name, { model: { version: '3' }, observe: { logLevel: 'warn' } })),
      );
      const job = startChild(
        process.execPath,
        [
          ...runNodeArgs(BIN),
          BIN,
          'rescore',
          '--config',
          configFile,
          '--rate',
          String(rescoreRate),
          '--json',
        ],
        { logFile: join(out, 'rescore-latency-job.raw.log') },
      );
      log(`step 2/3: ${liveRate}/s for ${stepSeconds} s while rescore --rate ${rescoreRate} runs`);
      const during = await step(ctx, 'during rescore', liveRate, stepSeconds);
      const wasRunning = job.running();
      const code = await job.exited;
      if (code !== 0)
        throw new Error(`streamscore rescore exited ${code}:\n${job.lines.slice(-20).join('\n')}`);
      // the report: the pretty-printed JSON document on stdout (a line "{" to the last line "}")
      const first = job.lines.lastIndexOf('{');
      const last = job.lines.lastIndexOf('}');
      if (first < 0 || last < first)
        throw new Error(`no JSON report from rescore:\n${job.lines.slice(-20).join('\n')}`);
      rescore = JSON.parse(job.lines.slice(first, last + 1).join('\n')) as RescoreReport;
      steps.push({
        step: during,
        rescoring: wasRunning
          ? 'the whole step'
          : `part of it (it finished after ${(rescore.elapsedMs / 1000).toFixed(0)} s)`,
      });

      log(`step 3/3: ${liveRate}/s for ${stepSeconds} s, rescore finished`);
      steps.push({ step: await step(ctx, 'after', liveRate, stepSeconds), rescoring: 'no' });
    } finally {
      await pipeline.child.stop();
    }
    const r = rescore as RescoreReport;
    const lines = [
      `# Live latency while \`streamscore rescore\` runs (${state.startedAt.slice(0, 10)})`,
      '',
      `Command: \`npm run bench:rescore-latency -- --records ${records} --live-rate ${liveRate} --step-seconds ${stepSeconds} --rescore-rate ${rescoreRate}\`.`,
      `Input: ${state.prefill.cdc.toLocaleString('en-US')} CDC records and ${state.prefill.transactions.toLocaleString('en-US')} transactions for ${state.prefill.customers.toLocaleString('en-US')} customers; Redis rebuilt by a pipeline serving churn/2;`,
      `the live pipeline serves churn/3 in its own process; an open-loop producer sends card transactions at ${liveRate}/s`,
      `(latency = event produced → prediction in Redis / committed on the topic, sampled entities, first ${opts.warmupSeconds} s of each step not counted).`,
      `The rescore job (\`streamscore rescore --rate ${rescoreRate}\`, its own process) scored ${r.counts.scored.toLocaleString('en-US')} of ${r.counts.scanned.toLocaleString('en-US')} entities in ${(r.elapsedMs / 1000).toFixed(0)} s (${Math.round(r.counts.scored / (r.elapsedMs / 1000)).toLocaleString('en-US')}/s). Same machine for everything (2 cores).`,
      '',
      '| step | rescore running | achieved rate | Redis p50/p99/p99.9 | topic p50/p99/p99.9 | kept up |',
      '| --- | --- | --- | --- | --- | --- |',
      ...steps.map(
        ({ step: s, rescoring }) =>
          `| ${s.label} | ${rescoring} | ${Math.round(s.achievedRate)}/s | ${fmt(s.redis)} | ${fmt(s.kafka)} | ${s.keptUp ? 'yes' : 'no'} |`,
      ),
      '',
    ];
    writeReport(state, 'rescore-latency', records, lines, log);
    return 0;
  } finally {
    await kafka.close().catch(() => undefined);
    await redis.close().catch(() => undefined);
    await env.close(values.keep);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench:rescore-latency failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
