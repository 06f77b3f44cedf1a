/**
 * Invariant: the `secure` profile of docker-compose.yml works as written: a broker and a Redis started from
 * exactly the files scripts/secure-compose.sh makes and the commands the profile runs, the Kafka user and
 * ACLs of its init script, and the pipeline with config/streamscore.secure.yaml and its secrets from files
 * carry a stream end to end; Redis and the committed predictions equal the oracle.
 *
 * No Docker engine runs here, so the services run as processes of this host: the container's names and
 * paths (kafka-secure, redis-secure, /secure, /opt/kafka/bin, /app/config) are mapped to this host's ports
 * and folders, and the Kafka tools the commands call are this project's Kafka jars under the same script
 * names. Everything else (settings, certificates, passwords, ACLs, commands, environment) is used as it is.
 * Also checked: the broker refuses the streamscore user what the ACLs do not grant (creating a topic), and
 * Redis's lookup user cannot write.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { createKafkaClient } from '../../src/adapters/kafka.js';
import { parseConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { generateStream } from '../../src/sample/index.js';
import { cli } from '../helpers/cli.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { answers, defaultKafkaVersion, kafkaJava, kafkaLib } from '../helpers/kafka-server.js';
import type { RunningPipeline } from '../helpers/process.js';
import { stopPipeline } from '../helpers/process.js';
import { freePort } from '../helpers/redis-server.js';
import { ensureServices, inputTopics, produceToInputs, serviceEnv } from '../helpers/services.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

interface ComposeService {
  command: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  profiles?: string[];
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as {
  services: Record<string, ComposeService>;
};
function service(name: string): ComposeService {
  const s = compose.services[name];
  assert.ok(s, `docker-compose.yml has a service ${name}`);
  assert.deepEqual(s.profiles, ['secure'], `${name} is in the secure profile`);
  return s;
}

/** The Kafka tools the profile's commands call, as this host runs them: the same classes, our jars. */
const TOOLS: Record<string, string> = {
  'kafka-storage.sh': 'kafka.tools.StorageTool',
  'kafka-server-start.sh': 'kafka.Kafka',
  'kafka-configs.sh': 'kafka.admin.ConfigCommand',
  'kafka-acls.sh': 'org.apache.kafka.tools.AclCommand',
  'kafka-broker-api-versions.sh': 'org.apache.kafka.tools.BrokerApiVersionsCommand',
};

/** A compose command or healthcheck string as bash on this host runs it (`$$` is compose's `$`). */
const shell = (s: string) => s.replaceAll('$$', '$');

test('the docker-compose `secure` profile: broker, Redis, Kafka user and ACLs, and the pipeline with its secrets from files, from exactly the files scripts/secure-compose.sh makes; end to end equals the oracle', async (t) => {
  ensureServices(); // the registry (shared, unauthenticated in the profile too) and the Kafka jars
  const dir = mkdtempSync(join(tmpdir(), 'streamscore-secure-'));
  const [external, internal, controller, redisPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  execFileSync('bash', ['scripts/secure-compose.sh', '--out', dir], {
    env: { ...process.env, STREAMSCORE_SECURE_KAFKA_PORT: String(external) },
    stdio: 'pipe',
  });

  // the container's names and paths as this host sees them
  const bin = join(dir, 'bin');
  const toHost = (text: string) =>
    text
      .replaceAll('/secure/', `${dir}/`)
      .replaceAll('/opt/kafka/bin/', `${bin}/`)
      .replaceAll('/app/config/', `${dir}/`)
      .replaceAll('/var/lib/kafka/data', join(dir, 'kafka-data'))
      .replaceAll('kafka-secure:19093', `127.0.0.1:${internal}`)
      .replaceAll('0.0.0.0:19093', `127.0.0.1:${internal}`)
      .replaceAll('0.0.0.0:9093', `127.0.0.1:${external}`)
      .replaceAll('localhost:9095', `127.0.0.1:${controller}`)
      .replaceAll('rediss://redis-secure:6380', `rediss://127.0.0.1:${redisPort}`)
      .replaceAll('-h redis-secure -p 6380', `-h 127.0.0.1 -p ${redisPort}`);
  for (const file of ['kafka.properties', 'admin.properties', 'kafka-init.sh']) {
    writeFileSync(join(dir, file), toHost(readFileSync(join(dir, file), 'utf8')));
  }
  writeFileSync(
    join(dir, 'streamscore.secure.yaml'),
    toHost(readFileSync('config/streamscore.secure.yaml', 'utf8')),
  );
  mkdirSync(bin);
  const java = kafkaJava(kafkaLib(defaultKafkaVersion()), dir)
    .map((a) => `'${a}'`)
    .join(' ');
  for (const [script, cls] of Object.entries(TOOLS)) {
    writeFileSync(join(bin, script), `#!/usr/bin/env bash\nexec java ${java} ${cls} "$@"\n`, { mode: 0o755 });
  }
  const envOf = (s: ComposeService) =>
    Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, toHost(String(v))]));

  // Kafka: the profile's command (format with the admin's SCRAM credential, then start)
  const kafkaService = service('kafka-secure');
  assert.equal(kafkaService.command[0], 'bash');
  const broker = spawn('bash', ['-c', toHost(shell(kafkaService.command[2] as string))], {
    stdio: 'ignore',
    detached: true,
  });
  broker.unref();
  process.once('exit', () => {
    try {
      process.kill(-(broker.pid as number), 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const secureConfig = (env: Record<string, string>): Readonly<Config> =>
    parseConfig(parse(readFileSync(join(dir, 'streamscore.secure.yaml'), 'utf8')), {
      ...serviceEnv(),
      ...env,
    });
  const asAdmin = secureConfig({
    STREAMSCORE_KAFKA_SASL_USERNAME: 'admin',
    STREAMSCORE_KAFKA_SASL_PASSWORD_FILE: join(dir, 'kafka-admin.password'),
    STREAMSCORE_REDIS_USERNAME: 'streamscore-lookup',
    STREAMSCORE_REDIS_PASSWORD_FILE: join(dir, 'redis-lookup.password'),
  });
  const brokers = [`127.0.0.1:${external}`];
  const deadline = Date.now() + 90000;
  while (!(await answers(brokers, { ssl: asAdmin.kafka.ssl, sasl: asAdmin.kafka.sasl }))) {
    assert.ok(broker.exitCode === null, `the broker exited (${broker.exitCode}); logs in ${dir}`);
    assert.ok(Date.now() < deadline, `the broker did not answer within 90 s; logs in ${dir}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  // the profile's health check of the broker
  const health = (s: ComposeService) => toHost(shell((s.healthcheck?.test ?? [])[1] as string));
  execFileSync('bash', ['-c', health(kafkaService)], { stdio: 'pipe' });

  // the init container: the SCRAM user and the ACLs
  const init = service('kafka-secure-init');
  assert.deepEqual(init.command, ['bash', '/secure/kafka-init.sh']);
  execFileSync('bash', [join(dir, 'kafka-init.sh')], { stdio: 'pipe' });

  // Redis: the profile's command, on this host's port and a folder of the test's own
  const redisArgs = service('redis-secure').command.slice(1).map(toHost);
  redisArgs[redisArgs.indexOf('--tls-port') + 1] = String(redisPort);
  const redis = spawn('redis-server', [...redisArgs, '--bind', '127.0.0.1', '--dir', dir], {
    stdio: 'ignore',
  });
  redis.unref();
  process.once('exit', () => redis.kill('SIGKILL'));
  for (let i = 0; ; i++) {
    try {
      execFileSync('bash', ['-c', health(service('redis-secure'))], { stdio: 'pipe' });
      break;
    } catch (err) {
      assert.ok(i < 100 && redis.exitCode === null, `redis-secure is not healthy: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // the topics, as the one-shot service creates them (as admin)
  const topicsService = service('streamscore-secure-topics');
  const applied = await cli(topicsService.command.map(toHost), envOf(topicsService));
  assert.equal(applied.code, 0, applied.all);

  // input, then the pipeline as streamscore-secure runs it (its command and environment; the registry is
  // this host's, metrics on a free port)
  const kafka = createKafkaClient(asAdmin.kafka);
  const stream = generateStream({ seed: 71, customers: 150, transactionsPerCustomer: 4, deleteRate: 0.05 });
  await produceToInputs(kafka, asAdmin, stream);
  const pipelineService = service('streamscore-secure');
  const env = {
    ...envOf(pipelineService),
    ...serviceEnv(),
    STREAMSCORE_REGISTRY_URL: asAdmin.registry.url,
    STREAMSCORE_OBSERVE_PORT: '0',
    STREAMSCORE_OBSERVE_HOST: '127.0.0.1',
  };
  assert.ok(
    Object.keys(envOf(pipelineService)).every((k) => !/PASSWORD$/.test(k)),
    'no password in the environment, only files',
  );
  const child = spawn(process.execPath, ['bin/streamscore.js', ...pipelineService.command.map(toHost)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const a: RunningPipeline = {
    child,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    output: () => out,
  };
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitCaughtUp(kafka, asAdmin.consumer.groupId, inputTopics(asAdmin), 120000).catch((err: Error) => {
    err.message += `\n${out.slice(-4000)}`;
    throw err;
  });
  assert.equal((await stopPipeline(a)).code, 0, out.slice(-3000));
  // Redis read as the lookup user of the ACL file
  await assertEndStateMatchesOracle(kafka, asAdmin, stream, { a });

  // what the users may not do
  const asStreamscore = secureConfig({
    STREAMSCORE_KAFKA_SASL_PASSWORD_FILE: join(dir, 'kafka-streamscore.password'),
    STREAMSCORE_REDIS_PASSWORD_FILE: join(dir, 'redis-streamscore.password'),
  });
  const admin = createKafkaClient(asStreamscore.kafka).admin({ retry: { retries: 0 } });
  await admin.connect();
  const created = await admin
    .createTopics({ topics: [{ topic: 'not-granted', numPartitions: 1 }] })
    .then(() => 'created')
    .catch((err: Error & { errors?: Array<{ type?: string }> }) =>
      [err.message, ...(err.errors ?? []).map((e) => e.type)].join(' '),
    );
  await admin.disconnect();
  assert.match(created, /AUTHORIZATION_FAILED/, 'the streamscore user may not create topics');
  const lookup = new Redis(asAdmin.redis.url, {
    username: 'streamscore-lookup',
    password: readFileSync(join(dir, 'redis-lookup.password'), 'utf8').trim(),
    tls: {
      ca: [readFileSync(join(dir, 'ca.pem'))],
      cert: readFileSync(join(dir, 'client.pem')),
      key: readFileSync(join(dir, 'client.key')),
    },
    maxRetriesPerRequest: 0,
  });
  const written = await lookup
    .hset(`${asAdmin.redis.keyPrefix}x`, 'f', '1')
    .then(() => 'written')
    .catch((err: Error) => err.message);
  lookup.disconnect();
  assert.match(written, /NOPERM/, 'the lookup user may not write');

  process.kill(-(broker.pid as number), 'SIGKILL');
  redis.kill('SIGKILL');
  t.diagnostic(
    `secure profile: ${stream.cdc.length + stream.transactions.length} records end to end (SASL_SSL + SCRAM + ACLs, Redis TLS + ACL users), files from scripts/secure-compose.sh`,
  );
});
