import { loadConfig, redactConfig } from '../../config/index.js';
import { createLogger } from '../../observe/logger.js';
import { Pipeline } from '../../pipeline/index.js';
import type { Command } from '../args.js';

/** How long a stop may take (the in-flight windows finish, producers and clients close). */
const STOP_TIMEOUT_MS = 30000;

export const run: Command = {
  name: 'run',
  usage: 'run --config <file>',
  summary:
    'Run the pipeline: consume the configured inputs, score, write Redis, emit predictions and audit events. SIGTERM/SIGINT stop it cleanly.',
  options: { config: { type: 'string', short: 'c' } },
  optionHelp: { config: 'pipeline config file (YAML or JSON); STREAMSCORE_* variables override it' },
  async run(values) {
    const config = loadConfig(values.config as string | undefined);
    const logger = createLogger(config.observe.logLevel, { pipeline: config.pipeline.name });
    logger.info({ config: redactConfig(config) }, 'starting');
    let halt: (err: Error) => void = () => undefined;
    const halted = new Promise<Error>((resolve) => (halt = resolve));
    const pipeline = new Pipeline({ config, logger, onHalt: (err) => halt(err) });
    const signalled = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    try {
      await pipeline.start();
    } catch (err) {
      await pipeline.stop();
      throw err;
    }
    const reason = await Promise.race([signalled, halted]);
    const failed = reason instanceof Error;
    logger.info({ reason: failed ? reason.message : reason }, 'stopping');
    // a halted pipeline may be stuck in a window (a producer retrying a broker that is gone): the process
    // must still leave, and non-zero, rather than stay alive outside its group
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      pipeline.stop().then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (!stopped) logger.error({ timeoutMs: STOP_TIMEOUT_MS }, 'the pipeline did not stop in time; exiting');
    logger.flush();
    return failed || !stopped ? 1 : 0;
  },
};
