import { createKafkaClient } from '../../adapters/kafka.js';
import { createRedisStore } from '../../adapters/redis.js';
import { loadConfig } from '../../config/index.js';
import { StreamscoreError } from '../../errors/index.js';
import { createLogger } from '../../observe/logger.js';
import { ProgressLine } from '../../observe/progress-line.js';
import { JOB_PATTERN, replayConfig, runReplay } from '../../replay/index.js';
import type { Command } from '../args.js';

export const replay: Command = {
  name: 'replay',
  usage:
    'replay --job id --model version [--from ISO-time|topic/partition@offset,…] [--to ISO-time] [--config file] [--json]',
  summary:
    'Score history again with a pinned model version into outputs of its own (Redis prefix <keyPrefix>replay:<job>:, topics <output>.replay.<job>), never touching live keys or topics: the pipeline itself, reading every input partition from the start of its log up to an end fixed by the first run (the log end then, or --to), with the same windows, state rules and exactly-once transactions. Run the same command again after a crash: it resumes.',
  options: {
    config: { type: 'string', short: 'c' },
    job: { type: 'string' },
    model: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
  },
  optionHelp: {
    config: 'the live pipeline config (YAML/JSON): inputs, outputs, Redis, model directory',
    job: 'names the replay: its group, key prefix, topics and transactional ids (1-100 letters, digits, . _ -)',
    model: 'the model version to score with (a folder under model.dir/model.name)',
    from: "emit from the first record at or after this time (the records' Kafka timestamps; ISO-8601), or from these offsets (topic/partition@offset, comma-separated; other partitions from their log start); the state is rebuilt from the log up to there first, without emitting. Default: the log start",
    to: "stop before the first record at or after this time (the records' Kafka timestamps; ISO-8601); default: the log end when the job first runs",
    json: 'print the report as one JSON document',
  },
  positionals: { min: 0, max: 0, names: '' },
  async run(values) {
    const live = loadConfig(values.config as string | undefined);
    const job = values.job as string | undefined;
    const model = values.model as string | undefined;
    if (job === undefined || !JOB_PATTERN.test(job))
      throw new StreamscoreError(
        'SS_CLI_USAGE',
        `--job is required: 1-100 letters, digits, '.', '_' or '-'${job === undefined ? '' : `, got "${job}"`}`,
      );
    if (model === undefined || !/^[A-Za-z0-9._-]+$/.test(model))
      throw new StreamscoreError(
        'SS_CLI_USAGE',
        '--model is required: the version to score with (a folder under model.dir/model.name)',
      );
    const toText = values.to as string | undefined;
    const toMs = toText === undefined ? undefined : Date.parse(toText);
    if (toMs !== undefined && !Number.isFinite(toMs))
      throw new StreamscoreError('SS_CLI_USAGE', `--to must be an ISO-8601 time, got "${toText}"`);
    const fromText = values.from as string | undefined;
    const from = fromText === undefined ? undefined : parseFrom(fromText);
    const config = replayConfig(live, job, model);
    const logger = createLogger(live.observe.logLevel, { pipeline: live.pipeline.name, replay: job });
    const kafka = createKafkaClient(config.kafka);
    const redis = createRedisStore(config.redis, `streamscore:${live.pipeline.name}:replay`);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    let line: ProgressLine | undefined;
    try {
      const report = await runReplay(live, kafka, redis, {
        job,
        model,
        ...(toMs === undefined ? {} : { toMs }),
        ...(from === undefined ? {} : { from }),
        projectDir: process.cwd(),
        logger,
        signal: stop.signal,
        onStart: (s) => {
          console.error(
            `streamscore replay: job ${job}, model ${live.model.name}/${model}, ${s.records} records of ${s.topics.join(', ')}` +
              (s.resumed ? ' (resuming)' : '') +
              ` into ${config.redis.keyPrefix}* and ${config.outputs.predictions}`,
          );
          line = new ProgressLine('replay', Number(s.records), { unit: 'records' });
        },
        onProgress: (done) => line?.update(Number(done)),
      });
      line?.finish();
      if (values.json === true) console.log(JSON.stringify(report, null, 2));
      else
        console.log(
          `replay ${report.job}: ${report.completed ? 'complete' : 'stopped before the end (run it again to resume)'}; ` +
            `${report.records} records with model ${report.model} in ${(report.elapsedMs / 1000).toFixed(1)} s; ` +
            `Redis ${report.keyPrefix}*, topics ${Object.values(report.outputs).join(', ')}`,
        );
      return report.completed ? 0 : 1;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      await redis.close();
    }
  },
};

/** `--from`: an ISO-8601 time, or `topic/partition@offset` entries separated by commas. */
export function parseFrom(text: string): { ms: number } | { offsets: Map<string, bigint> } {
  if (text.includes('@')) {
    const offsets = new Map<string, bigint>();
    for (const part of text.split(',').map((p) => p.trim())) {
      const m = /^(.+\/\d+)@(\d+)$/.exec(part);
      if (m === null)
        throw new StreamscoreError(
          'SS_CLI_USAGE',
          `--from: "${part}" is not topic/partition@offset (e.g. transactions/0@1200)`,
        );
      offsets.set(m[1] as string, BigInt(m[2] as string));
    }
    return { offsets };
  }
  const ms = Date.parse(text);
  if (!Number.isFinite(ms))
    throw new StreamscoreError(
      'SS_CLI_USAGE',
      `--from must be an ISO-8601 time or topic/partition@offset entries, got "${text}"`,
    );
  return { ms };
}
