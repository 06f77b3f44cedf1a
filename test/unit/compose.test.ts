// docker-compose.yml, scripts/services.sh and src/config/defaults.ts describe the same local services;
// this test keeps them in step (ports, environment variable names, the registry's Confluent API path,
// the Kafka and Apicurio versions).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEFAULT_HOST, DEFAULT_PORTS, ENV, REGISTRY_CCOMPAT_PATH } from '../../src/config/defaults.js';

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
