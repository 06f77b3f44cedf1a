// docker-compose.yml, scripts/services.sh and src/config/defaults.ts describe the same local services;
// this test keeps them in step (ports, environment variable names, the registry's Confluent API path,
// the Kafka and Apicurio versions).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEFAULT_HOST, DEFAULT_PORTS, ENV, REGISTRY_CCOMPAT_PATH } from '../../src/config/defaults.js';
import { parseConfig } from '../../src/config/index.js';

/** The project root: the nearest folder above this file that holds docker-compose.yml and package.json. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'docker-compose.yml')) && existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (docker-compose.yml + package.json)');
    dir = parent;
  }
}

const root = projectRoot();
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

interface ComposeService {
  image?: string;
  profiles?: string[];
  build?: unknown;
  command?: string[] | string;
  ports?: string[];
  environment?: Record<string, string | number | boolean> | string[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const compose = parse(read('docker-compose.yml')) as ComposeFile;
const servicesScript = read('scripts/services.sh');
const pom = read('scripts/services/pom.xml');
const envNames = new Set<string>(Object.values(ENV));

function service(name: string): ComposeService {
  const s = compose.services?.[name];
  assert.ok(s, `docker-compose.yml has no service "${name}"`);
  return s;
}

function environment(s: ComposeService): Record<string, string> {
  const env = s.environment ?? {};
  const entries = Array.isArray(env)
    ? env.map((line): [string, string] => {
        const i = line.indexOf('=');
        return i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1)];
      })
    : Object.entries(env).map(([k, v]): [string, string] => [k, String(v)]);
  return Object.fromEntries(entries);
}

interface PortMapping {
  hostPortVar: string | undefined;
  hostPortDefault: number;
  containerPort: number;
}

/** Parses '127.0.0.1:${VAR:-9092}:9092' / '${VAR:-9092}:9092' / '9092:9092'. */
function parsePort(spec: string): PortMapping {
  const m = /^(?:[\d.]+:)?(?:\$\{(\w+):-(\d+)\}|(\d+)):(\d+)$/.exec(spec);
  assert.ok(m, `unexpected port mapping "${spec}"`);
  return {
    hostPortVar: m[1],
    hostPortDefault: Number(m[2] ?? m[3]),
    containerPort: Number(m[4]),
  };
}

function onlyPort(name: string): PortMapping {
  const ports = service(name).ports ?? [];
  assert.equal(ports.length, 1, `service ${name} should publish exactly one port`);
  return parsePort(String(ports[0]));
}

function pomProperty(name: string): string {
  const m = new RegExp(`<${name.replace(/\./g, '\\.')}>([^<]+)</`).exec(pom);
  assert.ok(m?.[1], `scripts/services/pom.xml has no <${name}> property`);
  return m[1];
}

/** `NAME="${ENV_VAR:-default}"` assignments of scripts/services.sh, keyed by ENV_VAR. */
function scriptDefaults(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of servicesScript.matchAll(/^\w+="\$\{(STREAMSCORE_\w+):-([^}]*)\}"$/gm)) {
    out.set(m[1] as string, m[2] as string);
  }
  return out;
}

describe('docker-compose.yml agrees with src/config/defaults.ts', () => {
  it('publishes Kafka, the registry and Redis on the default host ports, movable by the ENV port variables', () => {
    const expected: Array<[string, string, number]> = [
      ['kafka', ENV.kafkaPort, DEFAULT_PORTS.kafka],
      ['registry', ENV.registryPort, DEFAULT_PORTS.registry],
      ['redis', ENV.redisPort, DEFAULT_PORTS.redis],
    ];
    for (const [name, variable, port] of expected) {
      const mapping = onlyPort(name);
      assert.equal(mapping.hostPortDefault, port, `${name}: host port`);
      assert.equal(mapping.hostPortVar, variable, `${name}: host port variable`);
    }
    assert.equal(onlyPort('redis').containerPort, 6379);
  });

  it('advertises the host Kafka listener on the published port and an internal one to containers', () => {
    const kafka = service('kafka');
    const env = environment(kafka);
    const mapping = onlyPort('kafka');
    const advertised = (env.KAFKA_ADVERTISED_LISTENERS ?? '').split(',');
    const listeners = (env.KAFKA_LISTENERS ?? '').split(',');
    assert.ok(
      advertised.includes(`PLAINTEXT_HOST://${DEFAULT_HOST}:\${${ENV.kafkaPort}:-${DEFAULT_PORTS.kafka}}`),
      `advertised listeners: ${env.KAFKA_ADVERTISED_LISTENERS}`,
    );
    assert.ok(
      listeners.some((l) => l.startsWith('PLAINTEXT_HOST://') && l.endsWith(`:${mapping.containerPort}`)),
    );
    assert.equal(env.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.match(
      env.KAFKA_CONTROLLER_QUORUM_VOTERS ?? '',
      new RegExp(`^1@kafka:${DEFAULT_PORTS.kafkaController}$`),
    );
    assert.equal(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR, '1');
    assert.equal(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR, '1');
    assert.equal(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, '1');

    // streamscore (inside the network) must use a listener the broker advertises under the service name
    const brokers = environment(service('streamscore'))[ENV.kafkaBrokers] ?? '';
    for (const broker of brokers.split(',')) {
      assert.ok(
        advertised.some((l) => l.endsWith(`://${broker}`)),
        `${broker} is not an advertised listener`,
      );
      assert.ok(broker.startsWith('kafka:'), `${broker} should address the kafka service`);
    }
  });

  it('points streamscore at the services with the ENV variable names', () => {
    const s = service('streamscore');
    assert.ok(s.build, 'streamscore is built from ./Dockerfile');
    const env = environment(s);
    for (const name of Object.keys(env)) {
      if (name.startsWith('STREAMSCORE_')) assert.ok(envNames.has(name), `${name} is not a variable in ENV`);
    }
    const registryPort = onlyPort('registry').containerPort;
    assert.equal(env[ENV.registryUrl], `http://registry:${registryPort}${REGISTRY_CCOMPAT_PATH}`);
    assert.equal(env[ENV.redisUrl], `redis://redis:${onlyPort('redis').containerPort}`);
    assert.equal(env[ENV.observePort], String(DEFAULT_PORTS.observe));
    const metrics = onlyPort('streamscore');
    assert.equal(metrics.containerPort, DEFAULT_PORTS.observe);
    assert.equal(metrics.hostPortDefault, DEFAULT_PORTS.observe);

    const config = env[ENV.config];
    assert.ok(config, `${ENV.config} is set`);
    const command = Array.isArray(s.command) ? s.command : String(s.command ?? '').split(/\s+/);
    assert.deepEqual(command, ['run', '--config', config]);
  });

  it('uses the Kafka and Apicurio versions that scripts/services.sh resolves', () => {
    assert.equal(service('kafka').image, `apache/kafka:${pomProperty('kafka.version')}`);
    assert.equal(service('registry').image, `apicurio/apicurio-registry:${pomProperty('apicurio.version')}`);
    assert.match(service('redis').image ?? '', /^redis:7/);
  });
});

describe('scripts/services.sh agrees with src/config/defaults.ts', () => {
  it('reads the ENV port variables with the default ports', () => {
    const defaults = scriptDefaults();
    assert.equal(defaults.get(ENV.kafkaPort), String(DEFAULT_PORTS.kafka));
    assert.equal(defaults.get('STREAMSCORE_KAFKA_CONTROLLER_PORT'), String(DEFAULT_PORTS.kafkaController));
    assert.equal(defaults.get(ENV.registryPort), String(DEFAULT_PORTS.registry));
    assert.equal(defaults.get(ENV.redisPort), String(DEFAULT_PORTS.redis));
  });

  it('serves the registry on the same host and Confluent API path', () => {
    assert.match(servicesScript, new RegExp(`^REGISTRY_CCOMPAT_PATH=${REGISTRY_CCOMPAT_PATH}$`, 'm'));
    assert.match(servicesScript, new RegExp(`^HOST=${DEFAULT_HOST.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('implements the up, down and status commands', () => {
    for (const command of ['up', 'down', 'status']) {
      assert.match(servicesScript, new RegExp(`^\\s*${command}\\) cmd_${command} ;;$`, 'm'));
    }
  });
});

describe('the `secure` profile of docker-compose.yml', () => {
  const secureServices = Object.entries(compose.services).filter(([, s]) =>
    ((s as { profiles?: string[] }).profiles ?? []).includes('secure'),
  );

  it('holds the secured Kafka, its init, the secured Redis and streamscore, published on 127.0.0.1 only', () => {
    assert.deepEqual(secureServices.map(([name]) => name).sort(), [
      'kafka-secure',
      'kafka-secure-init',
      'redis-secure',
      'streamscore-secure',
      'streamscore-secure-topics',
    ]);
    for (const [name, s] of secureServices) {
      for (const p of s.ports ?? []) assert.match(String(p), /^127\.0\.0\.1:/, `${name} publishes ${p}`);
    }
    // only TLS ports: the broker's host listener is SASL_SSL (kafka.properties), Redis has no plaintext port
    const redisCommand = service('redis-secure').command as string[];
    assert.equal(redisCommand[redisCommand.indexOf('--port') + 1], '0');
    assert.equal(redisCommand[redisCommand.indexOf('--tls-auth-clients') + 1], 'yes');
    assert.ok(redisCommand.includes('--aclfile'));
  });

  it('gives streamscore its secrets as files, under the ENV variable names, never as values', () => {
    for (const name of ['streamscore-secure', 'streamscore-secure-topics']) {
      const env = environment(service(name));
      for (const [k, v] of Object.entries(env)) {
        const base = k.replace(/_FILE$/, '');
        if (k.startsWith('STREAMSCORE_'))
          assert.ok(envNames.has(base), `${name}: ${k} is not an ENV variable`);
        if (/PASSWORD$/.test(k)) assert.fail(`${name}: ${k} holds a password in the environment`);
        if (k.endsWith('_FILE')) assert.match(v, /^\/secure\//, `${name}: ${k} points into /secure`);
      }
    }
    const cmd = service('streamscore-secure').command as string[];
    assert.deepEqual(cmd, ['run', '--config', environment(service('streamscore-secure'))[ENV.config]]);
    assert.ok(existsSync(join(root, 'config', 'streamscore.secure.yaml')));
    assert.ok(existsSync(join(root, 'scripts', 'secure-compose.sh')));
  });

  it('config/streamscore.secure.yaml differs from config/streamscore.yaml only in how it connects (TLS and SCRAM to Kafka, TLS and an ACL user to Redis)', () => {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('STREAMSCORE_')) delete env[k];
    const dir = mkdtempSync(join(tmpdir(), 'streamscore-compose-'));
    writeFileSync(join(dir, 'pw'), 'secret\n');
    const secure = parseConfig(parse(read('config/streamscore.secure.yaml')), {
      ...env,
      [`${ENV.kafkaSaslPassword}_FILE`]: join(dir, 'pw'),
      [`${ENV.redisPassword}_FILE`]: join(dir, 'pw'),
    });
    const plain = parseConfig(parse(read('config/streamscore.yaml')), env);
    assert.equal(secure.kafka.sasl?.mechanism, 'scram-sha-512');
    assert.equal(secure.kafka.sasl?.password, 'secret');
    const ssl = secure.kafka.ssl as Exclude<typeof secure.kafka.ssl, boolean>;
    assert.ok(
      typeof ssl === 'object' && ssl.caFile && ssl.certFile && ssl.keyFile,
      'Kafka: CA and client certificate',
    );
    assert.notEqual(ssl.verifyHostname, false, 'Kafka: host names verified');
    assert.match(secure.redis.url, /^rediss:\/\//);
    assert.ok(secure.redis.tls?.caFile && secure.redis.username, 'Redis: CA and an ACL user');
    const { kafka: _k1, redis: _r1, ...restSecure } = secure;
    const { kafka: _k2, redis: _r2, ...restPlain } = plain;
    assert.deepEqual(restSecure, restPlain);
    assert.equal(secure.redis.keyPrefix, plain.redis.keyPrefix);
  });
});
