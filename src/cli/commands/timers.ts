import { createKafkaClient } from '../../adapters/kafka.js';
import { createRedisStore } from '../../adapters/redis.js';
import { loadConfig } from '../../config/index.js';
import { StreamscoreError } from '../../errors/index.js';
import { ObserveServer } from '../../observe/http.js';
import { ProgressLine } from '../../observe/progress-line.js';
import { crashPointFromEnv } from '../../pipeline/test-hooks.js';
import type { RescoreCounts } from '../../rescore/index.js';
import { TimerMetrics, runTimers } from '../../timers/index.js';
import type { Command } from '../args.js';

function summary(c: RescoreCounts): string {
  return (
    `${c.scanned} entities looked at: ${c.scored} scored, ${c.reemitted} re-emitted, ${c.not_due} not due, ` +
    `${c.not_live} not live, ${c.pending} pending, ${c.other_model} another model's, ` +
    `${c.refused} refused by the output guard, ${c.conflicts} write conflicts with the live stream`
  );
}

export const timers: Command = {
  name: 'timers',
  usage: 'timers [--config file] [--once] [--json]',
  summary:
    'Time-driven re-scoring: sweep the stored entities and score again, as of that instant, every entity an event has left an aggregate window of since its last prediction (trigger TIMER; fenced Redis writes, exactly once for read_committed readers, resumable). Runs until SIGTERM (one sweeper per pipeline: a second one fences the first); --once makes one sweep. Needs timers.enabled in the config.',
  options: {
    config: { type: 'string', short: 'c' },
    once: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  optionHelp: {
    config:
      'pipeline config (YAML/JSON): Kafka, registry, Redis, topics, model, and the timers section (sweepIntervalMs, scanRate, scoreRate, chunk)',
    once: 'one sweep over every stored entity, then exit (for a scheduler); default: sweep until SIGTERM, serving /metrics and /healthz on observe.host:port',
    json: 'print the final report as one JSON document',
  },
  positionals: { min: 0, max: 0, names: '' },
  async run(values) {
    const config = loadConfig(values.config as string | undefined);
    if (!config.timers.enabled)
      throw new StreamscoreError(
        'SS_CONFIG_INVALID',
        'timers.enabled is false in this config: set `timers: { enabled: true }` to re-score entities when an event leaves an aggregate window',
      );
    const kafka = createKafkaClient(config.kafka);
    const redis = createRedisStore(config.redis, `streamscore:${config.pipeline.name}:timers`);
    const crash = crashPointFromEnv(process.env);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    const line = new ProgressLine('timers', undefined, { unit: 'entities looked at' });
    const metrics = new TimerMetrics(
      config.pipeline.name,
      config.timers.sweepIntervalMs,
      config.observe.stallAfterMs,
    );
    // a long-running sweeper serves metrics and health; a one-off (--once) sweep does not take the port
    const server = values.once === true ? undefined : new ObserveServer(metrics.registry, metrics);
    try {
      if (server !== undefined) {
        const port = await server.start(config.observe.host, config.observe.port);
        console.error(
          `streamscore timers: metrics and health on http://${config.observe.host}:${port}/metrics (/healthz)`,
        );
      }
      const report = await runTimers(config, kafka, redis, {
        projectDir: process.cwd(),
        once: values.once === true,
        signal: stop.signal,
        onProgress: (c) => {
          line.update(c.scanned);
          metrics.progress(c);
        },
        onWarning: (m) => console.error(`streamscore timers: ${m}`),
        onStart: (s) =>
          console.error(
            `streamscore timers: ${s.model}, sweeping every ${config.timers.sweepIntervalMs} ms ` +
              `(at most ${config.timers.scanRate} entities looked at and ${config.timers.scoreRate} scored per second)` +
              (s.recovered > 0
                ? `; re-emitted ${s.recovered} predictions an interrupted run had written`
                : ''),
          ),
        ...(crash === undefined ? {} : { crashPoint: (name: string) => crash(`timers-${name}`) }),
        onSweep: (s) => {
          metrics.sweep(s);
          console.error(
            `streamscore timers: sweep ${s.sweep} in ${(s.elapsedMs / 1000).toFixed(1)} s: ${summary(s.counts)}`,
          );
        },
      });
      line.finish(report.counts.scanned);
      if (report.noWindows)
        console.error(
          `streamscore timers: model ${report.model.name}/${report.model.version} has no time windows: nothing can become due`,
        );
      if (values.json === true) console.log(JSON.stringify(report, null, 2));
      else
        console.log(
          `timers: ${report.model.name}/${report.model.version}, ${report.sweeps} sweeps; ${summary(report.counts)}`,
        );
      return report.counts.refused === 0 ? 0 : 1;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      await server?.close();
      await redis.close();
    }
  },
};
