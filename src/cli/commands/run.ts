import { loadConfig, redactConfig } from '../../config/index.js';
import { createLogger } from '../../observe/logger.js';
import { Pipeline } from '../../pipeline/index.js';
import type { Command } from '../args.js';

/** Exit codes of `run`: 0 a clean stop; 1 halted or a start that failed; these when the stop was not clean. */
const EXIT_UNCLEAN_STOP = 3;
const EXIT_SECOND_SIGNAL = 4;

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
    // a second signal while stopping: the operator wants out now
    const now = (signal: string) => {
      logger.error({ signal }, 'second signal while stopping: exiting at once');
      logger.flush();
      process.exit(EXIT_SECOND_SIGNAL);
    };
    process.once('SIGTERM', () => now('SIGTERM'));
    process.once('SIGINT', () => now('SIGINT'));
    logger.info({ reason: failed ? reason.message : reason, boundMs: config.shutdown.timeoutMs }, 'stopping');
    // the pipeline bounds every step itself; this is the backstop should a step ignore its timeout
    let timer: NodeJS.Timeout | undefined;
    const report = await Promise.race([
      pipeline.stop(),
      new Promise<null>(
        (resolve) => (timer = setTimeout(() => resolve(null), config.shutdown.timeoutMs + 2000)),
      ),
    ]);
    clearTimeout(timer);
    if (report === null)
      logger.error({ boundMs: config.shutdown.timeoutMs }, 'the pipeline did not stop in time; exiting');
    logger.flush();
    const code = failed ? 1 : report === null || report.failed.length > 0 ? EXIT_UNCLEAN_STOP : 0;
    // a step that timed out left its work running (a producer retrying a broker that went away): nothing
    // of it is needed any more, and waiting for it would only stretch the stop past its bound
    if (report === null || report.failed.length > 0) process.exit(code);
    return code;
  },
};
