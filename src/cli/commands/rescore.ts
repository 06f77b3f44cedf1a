import { createKafkaClient } from '../../adapters/kafka.js';
import { createRedisStore } from '../../adapters/redis.js';
import { loadConfig } from '../../config/index.js';
import { StreamscoreError } from '../../errors/index.js';
import { ProgressLine } from '../../observe/progress-line.js';
import { crashPointFromEnv } from '../../pipeline/test-hooks.js';
import { JOB_PATTERN, runRescore } from '../../rescore/index.js';
import type { Command } from '../args.js';

function wholeNumber(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min)
    throw new StreamscoreError('SS_CLI_USAGE', `--${name} must be a whole number >= ${min}, got "${text}"`);
  return n;
}

export const rescore: Command = {
  name: 'rescore',
  usage: 'rescore [--config file] [--rate n] [--chunk n] [--job id] [--pending-wait s] [--json]',
  summary:
    'Re-score every live entity from its stored state with the model the pipeline serves (after a promotion), next to the running pipeline: fenced Redis writes and prediction events with trigger RESCORE, exactly once for read_committed readers, paced so the live stream keeps its latency. Run it again after a crash: it resumes. Exit 1 when entities were left (their windows had not committed, or the output guard refused their scores).',
  options: {
    config: { type: 'string', short: 'c' },
    rate: { type: 'string' },
    chunk: { type: 'string' },
    job: { type: 'string' },
    'pending-wait': { type: 'string' },
    json: { type: 'boolean' },
  },
  optionHelp: {
    config: 'pipeline config (YAML/JSON): Kafka, registry, Redis, topics, model directory and alias',
    rate: 'entities scored per second at most, 0 for no limit (default 2000)',
    chunk: 'entities per chunk: one Redis round trip and one Kafka transaction each (default 500)',
    job: 'job id (progress, transactions, batch ids); default <model version>-<sha256 prefix>, so running the same command again resumes',
    'pending-wait':
      'seconds to keep looking at entities whose last window had not committed yet when the scan reached them (default 60)',
    json: 'print the report as one JSON document',
  },
  positionals: { min: 0, max: 0, names: '' },
  async run(values) {
    const config = loadConfig(values.config as string | undefined);
    const rate = wholeNumber('rate', values.rate as string | undefined, 2000, 0);
    const chunk = wholeNumber('chunk', values.chunk as string | undefined, 500, 1);
    const pendingWait = wholeNumber('pending-wait', values['pending-wait'] as string | undefined, 60, 0);
    const job = values.job as string | undefined;
    if (job !== undefined && !JOB_PATTERN.test(job))
      throw new StreamscoreError(
        'SS_CLI_USAGE',
        `--job must be 1-100 letters, digits, '.', '_' or '-', got "${job}"`,
      );
    const kafka = createKafkaClient(config.kafka);
    const redis = createRedisStore(config.redis, `streamscore:${config.pipeline.name}:rescore`);
    const crash = crashPointFromEnv(process.env);
    const line = new ProgressLine('rescore', undefined, { unit: 'entities looked at' });
    try {
      const report = await runRescore(config, kafka, redis, {
        rate,
        chunk,
        pendingWaitMs: pendingWait * 1000,
        projectDir: process.cwd(),
        ...(job === undefined ? {} : { job }),
        onProgress: (c) => line.update(c.scanned),
        onWarning: (m) => console.error(`streamscore rescore: ${m}`),
        onStart: (s) =>
          console.error(
            `streamscore rescore: job ${s.job}, ${s.model}, from chunk ${s.fromChunk}` +
              (s.recovered > 0
                ? `; re-emitted ${s.recovered} predictions an interrupted run had written`
                : '') +
              '; scanning',
          ),
        ...(crash === undefined ? {} : { crashPoint: (name: string) => crash(`rescore-${name}`) }),
      });
      line.finish(report.counts.scanned);
      const c = report.counts;
      const seconds = report.elapsedMs / 1000;
      if (values.json === true) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(
          `rescore ${report.job}: ${report.model.name}/${report.model.version} (sha256 ${report.model.sha256.slice(0, 12)}); ` +
            `${c.scanned} entities looked at: ${c.scored} scored, ${c.reemitted} re-emitted (${report.recovered} from an interrupted run), ` +
            `${c.current} already current, ${c.not_live} not live, ${c.refused} refused by the output guard, ` +
            `${report.pendingLeft} left pending; ${c.conflicts} write conflicts with the live stream; ` +
            `${report.chunks} chunks in ${seconds.toFixed(1)} s (${Math.round((c.scored + c.reemitted) / Math.max(seconds, 0.001))} entities/s)`,
        );
      }
      if (report.pendingLeft > 0)
        console.error(
          `streamscore rescore: ${report.pendingLeft} entities still had an uncommitted window after ${pendingWait} s; run the same command again (it resumes)`,
        );
      if (c.refused > 0)
        console.error(
          `streamscore rescore: the output guard refused ${c.refused} scores; those entities keep their previous prediction`,
        );
      return report.pendingLeft === 0 && c.refused === 0 ? 0 : 1;
    } finally {
      await redis.close();
    }
  },
};
