/**
 * Invariant: the pipeline runs against a Redis that speaks only TLS (client certificates required) with
 * ACL users allowed exactly the rules `streamscore acls --redis` prints, and the lookup user those rules
 * give can read predictions but cannot write or run scripts.
 *
 * A redis-server of the test's own: no plaintext port, a server certificate for 127.0.0.1 from a CA the
 * test makes with openssl, `tls-auth-clients yes`, the default user off, an aclfile with the pipeline's user
 * and a read-only lookup user built from `redisAclRules(config)`.
 *  1. End to end: Redis (read by the lookup user) and the committed predictions equal the oracle.
 *  2. The pipeline's user cannot touch keys outside its prefix or run commands it was not given.
 *  3. The lookup user reads predictions; HSET, DEL and EVAL are refused (NOPERM).
 *  4. Without a client certificate, or trusting another CA, a client cannot connect.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { Redis } from 'ioredis';
import { redisAclRules } from '../../src/admin/acls.js';
import type { Config } from '../../src/config/index.js';
import { generateStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { startPrivateRedis } from '../helpers/redis-server.js';
import { createTestEnv, inputTopics } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

const PIPELINE = { username: 'streamscore', password: 'pipeline-secret' };
const LOOKUP = { username: 'streamscore-lookup', password: 'lookup-secret' };

/** A raw client as one of the users (to try what the ACLs refuse). */
function raw(url: string, user: { username: string; password: string }, tls: Record<string, unknown>): Redis {
  const c = new Redis(url, {
    ...user,
    tls,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  return c;
}

async function refusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'allowed';
  } catch (err) {
    return (err as Error).message;
  }
}

test('Redis over TLS only, with ACL users: the pipeline end to end with exactly the rules `streamscore acls --redis` prints; the lookup user reads and cannot write or run scripts', async (t) => {
  // the rules depend only on the key prefix: take them from the env's config
  const env = await createTestEnv('redis-security', {
    window: { maxRecords: 100, maxRecordsBehind: 100, maxBytes: 1048576, maxDelayMs: 50 },
  });
  const rules = redisAclRules(env.config);
  const redis = await startPrivateRedis({
    aof: false,
    secure: {
      aclUsers: [
        `${PIPELINE.username} on >${PIPELINE.password} ${rules.pipeline}`,
        `${LOOKUP.username} on >${LOOKUP.password} ${rules.lookup}`,
      ],
    },
  });
  const files = redis.tls as NonNullable<typeof redis.tls>;
  const config = env.configWith({ redis: { url: redis.url, ...PIPELINE, tls: files } });

  // 1. end to end
  const stream = generateStream({ seed: 67, customers: 200, transactionsPerCustomer: 5, deleteRate: 0.05 });
  const slices = sliceProducer(env, stream, 2);
  await slices.next();
  const a = spawnPipeline(config);
  await slices.next();
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000).catch((err: Error) => {
    err.message += `\n${a.output().slice(-4000)}`;
    throw err;
  });
  assert.equal((await stopPipeline(a)).code, 0, a.output().slice(-3000));
  // the oracle reads Redis as the lookup user
  const asLookup: Readonly<Config> = { ...config, redis: { ...config.redis, ...LOOKUP } };
  await assertEndStateMatchesOracle(env.kafka, asLookup, stream, { a });

  const tls = {
    ca: [readFileSync(files.caFile)],
    cert: readFileSync(files.certFile),
    key: readFileSync(files.keyFile),
  };
  const prefix = config.redis.keyPrefix;
  const someKey = `${prefix}{${config.pipeline.name}:${String(stream.cdc[0]?.key.id)}}`;

  // 2. the pipeline's user: its keys only, its commands only
  const p = raw(redis.url, PIPELINE, tls);
  await p.connect();
  t.after(() => p.disconnect());
  assert.match(await refusal(() => p.get('elsewhere:key')), /NOPERM/, 'a key outside the prefix');
  assert.match(await refusal(() => p.flushall()), /NOPERM/, 'FLUSHALL');
  assert.match(await refusal(() => p.del(someKey)), /NOPERM/, 'DEL');
  assert.match(await refusal(() => p.config('GET', 'dir')), /NOPERM/, 'CONFIG');

  // 3. the lookup user (its reads were the oracle check above)
  const l = raw(redis.url, LOOKUP, tls);
  await l.connect();
  t.after(() => l.disconnect());
  assert.match(await refusal(() => l.hset(someKey, 'score', '1')), /NOPERM/, 'lookup user: HSET');
  assert.match(await refusal(() => l.del(someKey)), /NOPERM/, 'lookup user: DEL');
  assert.match(await refusal(() => l.eval('return 1', 0)), /NOPERM/, 'lookup user: EVAL');
  assert.match(await refusal(() => l.get(`${prefix}x`)), /NOPERM/, 'lookup user: GET (not granted)');

  // 4. TLS both ways
  const noCert = raw(redis.url, LOOKUP, { ca: tls.ca });
  assert.notEqual(
    await refusal(() => noCert.connect().then(() => noCert.ping())),
    'allowed',
    'no client certificate',
  );
  noCert.disconnect();
  const otherCa = raw(redis.url, LOOKUP, { ...tls, ca: [readFileSync(files.certFile)] });
  assert.notEqual(await refusal(() => otherCa.connect().then(() => otherCa.ping())), 'allowed', 'another CA');
  otherCa.disconnect();
  t.diagnostic(
    `secured Redis: ${stream.cdc.length + stream.transactions.length} records end to end over TLS as ACL user ${PIPELINE.username}; checked as read-only ${LOOKUP.username}`,
  );
});
