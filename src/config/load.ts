import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { StreamscoreError } from '../errors/index.js';
import { ENV, defaultBrokers, defaultRedisUrl, defaultRegistryUrl } from './defaults.js';
import { configSchema } from './options.js';
import type { Config } from './options.js';
import { deepFreeze, dottedPath, formatIssues, invalidMessage } from './validation.js';

/** Paths whose values never reach a log line (also used for pino's redact list). */
export const SECRET_PATHS = [
  'kafka.sasl.password',
  'kafka.ssl.keyPassword',
  'redis.tls.keyPassword',
  'registry.password',
  'redis.password',
  'observe.adminToken',
] as const;

type Json = Record<string, unknown>;

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let node: Json = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1] as string] = value;
}

function intOrString(raw: string): number | string {
  return /^-?\d+$/.test(raw) ? Number(raw) : raw;
}

/**
 * `<NAME>_FILE` (the Docker/Kubernetes secrets convention): the value of `<NAME>` read from that file, with
 * one trailing newline dropped. Setting both is refused, as is a file that cannot be read.
 */
function envFile(env: NodeJS.ProcessEnv, name: string): { value: string } | undefined {
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return undefined;
  if (env[name] !== undefined && env[name] !== '')
    throw new StreamscoreError(
      'SS_CONFIG_INVALID',
      `both ${name} and ${name}_FILE are set; set one of them (the _FILE variable names a file holding the value)`,
    );
  try {
    return { value: readFileSync(file, 'utf8').replace(/\r?\n$/, '') };
  } catch (cause) {
    throw new StreamscoreError(
      'SS_CONFIG_INVALID',
      `${name}_FILE: cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}); point it at a readable file holding the value, or set ${name} instead`,
      { cause },
    );
  }
}

/** Applies the documented STREAMSCORE_* overrides (each also as `<NAME>_FILE`) to a raw config object. */
export function applyEnvOverrides(raw: Json, env: NodeJS.ProcessEnv, applied?: Map<string, string>): Json {
  const out = structuredClone(raw);
  const map: Array<[string, string[], (v: string) => unknown]> = [
    [
      ENV.kafkaBrokers,
      ['kafka', 'brokers'],
      (v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
    ],
    [ENV.kafkaSaslUsername, ['kafka', 'sasl', 'username'], (v) => v],
    [ENV.kafkaSaslPassword, ['kafka', 'sasl', 'password'], (v) => v],
    [ENV.registryUrl, ['registry', 'url'], (v) => v],
    [ENV.registryPassword, ['registry', 'password'], (v) => v],
    [ENV.redisUrl, ['redis', 'url'], (v) => v],
    [ENV.redisUsername, ['redis', 'username'], (v) => v],
    [ENV.redisPassword, ['redis', 'password'], (v) => v],
    [ENV.groupId, ['consumer', 'groupId'], (v) => v],
    [ENV.modelVersion, ['model', 'version'], (v) => v],
    [ENV.modelAlias, ['model', 'alias'], (v) => v],
    [ENV.observePort, ['observe', 'port'], intOrString],
    [ENV.observeHost, ['observe', 'host'], (v) => v],
    [ENV.logLevel, ['observe', 'logLevel'], (v) => v],
    [ENV.adminToken, ['observe', 'adminToken'], (v) => v],
  ];
  // the services script's port variables move the defaults (an explicit URL or broker list still wins)
  const portDefaults: Array<[string, string[], () => unknown]> = [
    [ENV.kafkaPort, ['kafka', 'brokers'], () => defaultBrokers(env)],
    [ENV.registryPort, ['registry', 'url'], () => defaultRegistryUrl(env)],
    [ENV.redisPort, ['redis', 'url'], () => defaultRedisUrl(env)],
  ];
  for (const [name, path, value] of portDefaults) {
    const section = out[path[0] as string] as Json | undefined;
    if (env[name] !== undefined && env[name] !== '' && section?.[path[1] as string] === undefined) {
      setPath(out, path, value());
      applied?.set(path.join('.'), name);
    }
  }
  for (const [name, path, convert] of map) {
    const fromFile = envFile(env, name);
    const value = fromFile?.value ?? env[name];
    if (value !== undefined && value !== '') {
      setPath(out, path, convert(value));
      applied?.set(path.join('.'), fromFile === undefined ? name : `${name}_FILE`);
    }
  }
  return out;
}

/** A note naming the STREAMSCORE_* variable a bad value came from: the file is not where to look for it. */
function envNote(fromEnv: ReadonlyMap<string, string>): (path: readonly PropertyKey[]) => string {
  return (path) => {
    const dotted = dottedPath(path);
    const envName = [...fromEnv].find(([p]) => dotted === p || dotted.startsWith(`${p}.`))?.[1];
    return envName === undefined ? '' : ` (value from ${envName})`;
  };
}

/** Validates a raw config object once; every problem is reported at once, each with its path. */
export function parseConfig(
  raw: unknown,
  env: NodeJS.ProcessEnv = process.env,
  source = 'config',
): Readonly<Config> {
  const base = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Json) : {};
  if (raw !== undefined && raw !== null && base !== raw) {
    throw new StreamscoreError('SS_CONFIG_INVALID', `${source}: the top level must be a mapping of sections`);
  }
  const fromEnv = new Map<string, string>();
  const result = configSchema.safeParse(applyEnvOverrides(base, env, fromEnv));
  if (!result.success) {
    const lines = formatIssues(result.error.issues, { note: envNote(fromEnv) });
    throw new StreamscoreError('SS_CONFIG_INVALID', invalidMessage(source, lines), {
      details: { problems: lines },
    });
  }
  return deepFreeze(result.data);
}

export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new StreamscoreError(
      'SS_CONFIG_FILE',
      `cannot read config file ${path}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new StreamscoreError(
      'SS_CONFIG_FILE',
      `config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** Loads `path` (YAML or JSON; none means all defaults), applies STREAMSCORE_* overrides, validates, freezes. */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const file = path ?? env[ENV.config];
  const raw = file === undefined ? {} : readConfigFile(file);
  return parseConfig(raw ?? {}, env, file ?? 'config');
}

/**
 * A URL with its password replaced (`redis://app:[redacted]@host:6379`), for logs and error messages. A
 * value that does not parse as a URL is returned with anything between `//` and `@` replaced.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '' && u.username === '') return url;
    if (u.password !== '') u.password = 'redacted';
    else u.username = 'redacted';
    return u.toString().replace(':redacted@', ':[redacted]@').replace('//redacted@', '//[redacted]@');
  } catch {
    return url.replace(/\/\/[^/@\s]*@/, '//[redacted]@');
  }
}

/** The config without secrets: password fields, and credentials inside URLs. */
export function redactConfig(config: Config): unknown {
  const copy = structuredClone(config) as unknown as Json;
  const redis = copy['redis'] as Json | undefined;
  const registry = copy['registry'] as Json | undefined;
  if (typeof redis?.['url'] === 'string') redis['url'] = redactUrl(redis['url']);
  if (Array.isArray(redis?.['clusterNodes']))
    redis['clusterNodes'] = (redis['clusterNodes'] as unknown[]).map((u) =>
      typeof u === 'string' ? redactUrl(u) : u,
    );
  if (typeof registry?.['url'] === 'string') registry['url'] = redactUrl(registry['url']);
  for (const p of SECRET_PATHS) {
    const parts = p.split('.');
    let node: unknown = copy;
    for (const part of parts.slice(0, -1)) node = (node as Json | undefined)?.[part];
    const last = parts[parts.length - 1] as string;
    if (node && typeof node === 'object' && (node as Json)[last] !== undefined)
      (node as Json)[last] = '[redacted]';
  }
  return copy;
}
