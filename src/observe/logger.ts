import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger, LevelWithSilent } from 'pino';
import { SECRET_PATHS, redactUrl } from '../config/load.js';

export type Logger = PinoLogger;

/**
 * JSON logs to stderr (stdout is for command output). Secrets are redacted by path wherever a config or
 * client options object is logged, so a password never reaches a log line; a URL field keeps all but its
 * password (`redis://app:[redacted]@host`).
 */
export function createLogger(
  level: LevelWithSilent = 'info',
  bindings: Record<string, unknown> = {},
  destination?: DestinationStream,
): Logger {
  const paths = SECRET_PATHS.flatMap((p) => [p, `config.${p}`, `*.${p.split('.').pop() ?? p}`]);
  return pino(
    {
      level,
      base: { service: 'streamscore', ...bindings },
      redact: {
        paths: [...paths, 'password', '*.password', 'sasl.password', 'url', '*.url', '*.*.url'],
        censor: (value: unknown, path: string[]) =>
          path[path.length - 1] === 'url'
            ? typeof value === 'string'
              ? redactUrl(value)
              : value
            : '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
