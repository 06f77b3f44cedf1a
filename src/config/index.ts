export { configSchema } from './options.js';
export type { Config, ConfigInput } from './options.js';
export {
  loadConfig,
  parseConfig,
  readConfigFile,
  redactConfig,
  redactUrl,
  applyEnvOverrides,
  SECRET_PATHS,
} from './load.js';
export * from './defaults.js';
export { deepFreeze, dottedPath, formatIssues, invalidMessage } from './validation.js';
