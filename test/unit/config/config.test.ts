import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { StreamscoreError } from '../../../src/errors/index.js';
import { parseConfig, redactConfig, redactUrl } from '../../../src/config/index.js';
import { createLogger } from '../../../src/observe/logger.js';

function problems(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(raw, env);
  } catch (err) {
    assert.ok(err instanceof StreamscoreError);
    assert.equal(err.code, 'SS_CONFIG_INVALID');
    return (err.details?.problems as string[]) ?? [];
  }
  return [];
}

test('defaults produce a valid, frozen config', () => {
  const c = parseConfig({}, {});
  assert.equal(c.pipeline.name, 'churn');
  assert.deepEqual(c.kafka.brokers, ['127.0.0.1:9092']);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.window));
  assert.throws(() => {
    (c.window as { maxRecords: number }).maxRecords = 1;
  }, TypeError);
});

test('every problem is reported at once, each with its path', () => {
  const p = problems({
    window: { maxRecords: 0, maxDelayMs: 'soon' },
    kafka: { brokers: ['nohost'] },
    extra: 1,
  });
  assert.ok(
    p.some((l) => l.startsWith('window.maxRecords:')),
    p.join('\n'),
  );
  assert.ok(
    p.some((l) => l.startsWith('window.maxDelayMs:')),
    p.join('\n'),
  );
  assert.ok(
    p.some((l) => l.startsWith('kafka.brokers.0:')),
    p.join('\n'),
  );
  assert.ok(
    p.some((l) => l.includes('extra')),
    p.join('\n'),
  );
});

test('cross-field rule: window.maxDelayMs must stay below a third of the session timeout', () => {
  const p = problems({ window: { maxDelayMs: 12000 }, consumer: { sessionTimeoutMs: 30000 } });
  assert.deepEqual(p, ['window.maxDelayMs: must be below consumer.sessionTimeoutMs / 3 (10000)']);
});

test('cross-field rule: window.minBytes cannot exceed window.maxBytes', () => {
  const p = problems({ window: { minBytes: 2048, maxBytes: 1024 } });
  assert.deepEqual(p, [
    'window.minBytes: must be at most window.maxBytes (1024); the broker could never answer earlier',
  ]);
});

test('cross-field rule: window.maxRecordsBehind cannot be below window.maxRecords', () => {
  const p = problems({ window: { maxRecords: 5000, maxRecordsBehind: 1000 } });
  assert.deepEqual(p, ['window.maxRecordsBehind: must be at least window.maxRecords (5000)']);
});

test('STREAMSCORE_* variables override the file and are named in errors', () => {
  const c = parseConfig(
    { redis: { url: 'redis://a:1' } },
    { STREAMSCORE_REDIS_URL: 'redis://b:2', STREAMSCORE_KAFKA_BROKERS: 'x:1, y:2' },
  );
  assert.equal(c.redis.url, 'redis://b:2');
  assert.deepEqual(c.kafka.brokers, ['x:1', 'y:2']);
  const p = problems({}, { STREAMSCORE_OBSERVE_PORT: 'abc' });
  assert.equal(p.length, 1);
  assert.match(p[0] ?? '', /^observe\.port: .*\(value from STREAMSCORE_OBSERVE_PORT\)$/);
});

test('secrets never reach a log line', async () => {
  const c = parseConfig(
    {
      // (over TLS: PLAIN without it is refused)
      kafka: { ssl: true, sasl: { mechanism: 'plain', username: 'u', password: 'hunter2' } },
      registry: { url: 'http://reg:pa55w0rd@registry:8081/apis/ccompat/v7' },
    },
    { STREAMSCORE_REDIS_PASSWORD: 's3cret', STREAMSCORE_REDIS_URL: 'redis://app:url-s3cret@cache:6379/0' },
  );
  assert.equal(c.redis.password, 's3cret');
  const safe = JSON.stringify(redactConfig(c));
  for (const secret of ['hunter2', 's3cret', 'pa55w0rd'])
    assert.ok(!safe.includes(secret), `${secret} in ${safe}`);
  // what is not secret stays readable
  assert.ok(safe.includes('redis://app:[redacted]@cache:6379/0') && safe.includes('@registry:8081/'), safe);
  const { Writable } = await import('node:stream');
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const logger = createLogger('info', {}, sink);
  logger.info({ config: c }, 'starting');
  logger.flush();
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(out.includes('starting'));
  for (const secret of ['hunter2', 's3cret', 'pa55w0rd']) assert.ok(!out.includes(secret), out);
  assert.ok(out.includes('cache:6379'), out);
});

test('redactUrl keeps everything but the credentials', () => {
  assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  assert.equal(redactUrl('rediss://app:pw@h:6380/2'), 'rediss://app:[redacted]@h:6380/2');
  assert.equal(redactUrl('redis://:pw@h:6379'), 'redis://:[redacted]@h:6379');
  assert.equal(redactUrl('http://token@h/x'), 'http://[redacted]@h/x');
  assert.equal(redactUrl('not a url //u:p@h'), 'not a url //[redacted]@h');
});

test('the services port variables move the defaults; explicit URLs still win', () => {
  const c = parseConfig(
    {},
    { STREAMSCORE_KAFKA_PORT: '29092', STREAMSCORE_REGISTRY_PORT: '28081', STREAMSCORE_REDIS_PORT: '26379' },
  );
  assert.deepEqual(c.kafka.brokers, ['127.0.0.1:29092']);
  assert.equal(c.registry.url, 'http://127.0.0.1:28081/apis/ccompat/v7');
  assert.equal(c.redis.url, 'redis://127.0.0.1:26379');
  const d = parseConfig({ kafka: { brokers: ['k:1'] } }, { STREAMSCORE_KAFKA_PORT: '29092' });
  assert.deepEqual(d.kafka.brokers, ['k:1']);
});

test('every STREAMSCORE_* variable can come from a file (<NAME>_FILE); both set, or an unreadable file, is refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
  const file = join(dir, 'redis-password');
  writeFileSync(file, 'from-a-file-0123456789\n');
  const c = parseConfig(
    {},
    { STREAMSCORE_REDIS_PASSWORD_FILE: file, STREAMSCORE_OBSERVE_ADMIN_TOKEN_FILE: file },
  );
  assert.equal(c.redis.password, 'from-a-file-0123456789', 'one trailing newline dropped');
  assert.equal(c.observe.adminToken, 'from-a-file-0123456789');
  assert.throws(
    () => parseConfig({}, { STREAMSCORE_REDIS_PASSWORD_FILE: file, STREAMSCORE_REDIS_PASSWORD: 'x' }),
    /both STREAMSCORE_REDIS_PASSWORD and STREAMSCORE_REDIS_PASSWORD_FILE are set/,
  );
  assert.throws(
    () => parseConfig({}, { STREAMSCORE_KAFKA_SASL_PASSWORD_FILE: join(dir, 'missing') }),
    (err: unknown) =>
      err instanceof StreamscoreError &&
      err.code === 'SS_CONFIG_INVALID' &&
      /STREAMSCORE_KAFKA_SASL_PASSWORD_FILE: cannot read .*missing \(ENOENT\)/.test(err.message),
  );
});

test('streamscore config show prints the effective config with secrets masked and names the variables that set them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
  const file = join(dir, 'pw');
  writeFileSync(file, 'very-secret-pw');
  const run = spawnSync(
    process.execPath,
    ['bin/streamscore.js', 'config', 'show', '--config', 'config/streamscore.yaml'],
    {
      env: {
        ...process.env,
        STREAMSCORE_REDIS_PASSWORD_FILE: file,
        STREAMSCORE_REDIS_URL: 'redis://app:url-secret@cache:6379',
      },
      encoding: 'utf8',
    },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.ok(!run.stdout.includes('very-secret-pw') && !run.stdout.includes('url-secret'), run.stdout);
  assert.match(run.stdout, /^# redis\.password from STREAMSCORE_REDIS_PASSWORD_FILE$/m);
  assert.match(run.stdout, /password: "?\[redacted\]"?/);
  assert.match(run.stdout, /url: redis:\/\/app:\[redacted\]@cache:6379/);
  const bad = spawnSync(process.execPath, ['bin/streamscore.js', 'config', 'show'], {
    env: { ...process.env, STREAMSCORE_REDIS_PASSWORD_FILE: join(dir, 'nope') },
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /STREAMSCORE_REDIS_PASSWORD_FILE: cannot read/);
});

test('kafka TLS: a CA bundle and a client certificate from files; cert and key go together; PLAIN is refused without TLS', () => {
  const c = parseConfig(
    { kafka: { ssl: { caFile: '/etc/ca.pem', certFile: '/c.pem', keyFile: '/c.key' } } },
    {},
  );
  assert.deepEqual(c.kafka.ssl, {
    caFile: '/etc/ca.pem',
    certFile: '/c.pem',
    keyFile: '/c.key',
    verifyHostname: true,
  });
  assert.equal(parseConfig({}, {}).kafka.ssl, false);
  assert.ok(
    problems({ kafka: { ssl: { certFile: '/c.pem' } } }).some((l) =>
      /certFile and keyFile go together/.test(l),
    ),
  );
  const plain = { mechanism: 'plain', username: 'u', password: 'p' };
  assert.ok(
    problems({ kafka: { sasl: plain } }).some((l) =>
      /^kafka\.sasl\.mechanism: PLAIN without TLS sends the password in clear text/.test(l),
    ),
  );
  assert.deepEqual(problems({ kafka: { sasl: plain, ssl: true } }), []);
  assert.deepEqual(problems({ kafka: { sasl: { ...plain, allowPlainWithoutTls: true } } }), []);
  assert.deepEqual(problems({ kafka: { sasl: { ...plain, mechanism: 'scram-sha-512' } } }), []);
});

test('kafka.ssl.keyPassword is a secret: masked when the config is shown', () => {
  const c = parseConfig({ kafka: { ssl: { keyFile: '/k', certFile: '/c', keyPassword: 'hunter2' } } }, {});
  assert.doesNotMatch(JSON.stringify(redactConfig(c)), /hunter2/);
});

test('redis TLS files go with a rediss:// URL; an ACL user comes from the config or STREAMSCORE_REDIS_USERNAME', () => {
  const c = parseConfig(
    { redis: { url: 'rediss://cache:6380', tls: { caFile: '/ca.pem' } } },
    { STREAMSCORE_REDIS_USERNAME: 'svc' },
  );
  assert.deepEqual(c.redis.tls, { caFile: '/ca.pem', verifyHostname: true });
  assert.equal(c.redis.username, 'svc');
  assert.ok(
    problems({ redis: { url: 'redis://cache:6379', tls: { caFile: '/ca.pem' } } }).some((l) =>
      /^redis\.tls: is set but redis\.url is not rediss:\/\/: use rediss:\/\/cache:6379/.test(l),
    ),
  );
});

test('redis.cluster: database 0 only, no braces in the prefix, clusterNodes only with cluster; node passwords masked', () => {
  const c = parseConfig(
    { redis: { url: 'redis://a:7000', cluster: true, clusterNodes: ['redis://:pw@b:7001'] } },
    {},
  );
  assert.equal(c.redis.cluster, true);
  assert.doesNotMatch(JSON.stringify(redactConfig(c)), /pw@/);
  assert.ok(
    problems({ redis: { cluster: true, db: 2 } }).some((l) =>
      /^redis\.db: Redis Cluster has database 0 only/.test(l),
    ),
  );
  assert.ok(
    problems({ redis: { cluster: true, keyPrefix: 'a{b}:' } }).some((l) =>
      /^redis\.keyPrefix: on Redis Cluster the key prefix and pipeline\.name must not contain/.test(l),
    ),
  );
  assert.ok(
    problems({ redis: { clusterNodes: ['redis://b:7001'] } }).some((l) =>
      /^redis\.clusterNodes: is set but redis\.cluster is false/.test(l),
    ),
  );
});
