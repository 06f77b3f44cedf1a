/**
 * Invariant: the pipeline runs against a secured Kafka with exactly the ACLs `streamscore acls` lists, and a
 * missing one stops it fast with an error naming it.
 *
 * A broker of the test's own: its only client listener is SASL_SSL (SCRAM-SHA-512 over TLS with client
 * certificates required, a certificate for 127.0.0.1 from a CA the test makes with openssl), the
 * StandardAuthorizer on, User:admin the only super user. The streamscore user is created through the Admin
 * API (kafka-configs) and granted `pipelineAcls(config)` and nothing else. The pipeline verifies the broker's
 * certificate and host name against the test CA and presents the client certificate.
 *  1. End to end with those ACLs: Redis and the committed predictions equal the oracle.
 *  2. Each of Write on the audit topic, Read on the consumer group and Write on the transactional-id prefix
 *     taken away in turn: a new instance exits non-zero within a bound, naming the refused permission and
 *     the fix; nothing is committed meanwhile.
 *  3. Without a client certificate, or with a CA that did not sign the broker's certificate, the client
 *     cannot connect.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { createKafkaClient } from '../../src/adapters/kafka.js';
import { pipelineAcls } from '../../src/admin/acls.js';
import type { AclEntry } from '../../src/admin/acls.js';
import type { Config } from '../../src/config/index.js';
import { generateStream } from '../../src/sample/index.js';
import { kafkajs, waitCaughtUp } from '../helpers/kafka.js';
import { startPrivateKafka } from '../helpers/kafka-server.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs;
const PRINCIPAL = 'User:streamscore';
const PASSWORD = 'streamscore-secret';

function kafkajsAcl(e: AclEntry) {
  return {
    resourceType: AclResourceTypes[e.resource],
    resourceName: e.name,
    resourcePatternType: ResourcePatternTypes[e.pattern],
    principal: PRINCIPAL,
    host: '*',
    operation: AclOperationTypes[e.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}

/** Exits of an instance that must not get anywhere: its code, and its output. */
async function mustFail(
  config: Readonly<Config>,
  boundMs: number,
): Promise<{ code: number | null; out: string }> {
  const p = spawnPipeline(config);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), boundMs);
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, out: p.output() };
}

test('secured Kafka (SASL_SSL, SCRAM-SHA-512, mutual TLS, StandardAuthorizer): end to end with exactly the ACLs `streamscore acls` lists; each one taken away stops a new instance fast, naming it', async (t) => {
  const kafka = await startPrivateKafka(undefined, { secure: true });
  const sec = kafka.security;
  assert.ok(sec !== undefined);
  sec.addUser('streamscore', PASSWORD);
  const env = await createTestEnv('kafka-security', {
    kafka: sec.clientConfig(sec.admin.username, sec.admin.password),
    window: { maxRecords: 100, maxRecordsBehind: 100, maxBytes: 1048576, maxDelayMs: 50 },
  });
  const config = env.configWith({ kafka: sec.clientConfig('streamscore', PASSWORD) });
  const admin = env.kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const acls = pipelineAcls(config);
  await admin.createAcls({ acl: acls.map(kafkajsAcl) });

  // 1. end to end with exactly those ACLs
  const stream = generateStream({ seed: 61, customers: 200, transactionsPerCustomer: 5, deleteRate: 0.05 });
  const slices = sliceProducer(env, stream, 5);
  await slices.next();
  const a = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000).catch((err: Error) => {
    err.message += `\n${a.output().slice(-4000)}`;
    throw err;
  });
  await slices.next();
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000);
  const r = await stopPipeline(a);
  assert.equal(r.code, 0, a.output().slice(-3000));

  // 2. one ACL taken away at a time: a new instance stops fast, naming it; granted back, nothing was lost
  const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const cases: Array<{ entry: AclEntry; expect: RegExp[] }> = [
    {
      entry: acls.find((e) => e.name === config.outputs.audit && e.operation === 'WRITE') as AclEntry,
      expect: [
        /SS_KAFKA_FORBIDDEN/,
        /TOPIC_AUTHORIZATION_FAILED/,
        new RegExp(escaped(config.outputs.audit)),
        /streamscore acls/,
      ],
    },
    {
      entry: acls.find((e) => e.resource === 'GROUP' && e.pattern === 'LITERAL') as AclEntry,
      expect: [/SS_KAFKA_FORBIDDEN/, /GROUP_AUTHORIZATION_FAILED/, /streamscore acls/],
    },
    {
      entry: acls.find((e) => e.resource === 'TRANSACTIONAL_ID') as AclEntry,
      expect: [/SS_KAFKA_FORBIDDEN/, /TRANSACTIONAL_ID_AUTHORIZATION_FAILED/, /streamscore acls/],
    },
  ];
  const lines: string[] = [];
  for (const c of cases) {
    assert.ok(c.entry, 'the ACL list has the entry');
    const acl = kafkajsAcl(c.entry);
    await admin.deleteAcls({ filters: [acl] });
    await slices.next(); // work for the instance, so every permission is exercised
    const started = Date.now();
    const failed = await mustFail(config, 90000);
    const ms = Date.now() - started;
    assert.notEqual(
      failed.code,
      0,
      `exits non-zero without ${c.entry.operation} on ${c.entry.name}\n${failed.out.slice(-3000)}`,
    );
    assert.notEqual(
      failed.code,
      null,
      `exits by itself within 90 s without ${c.entry.operation} on ${c.entry.name}\n${failed.out.slice(-3000)}`,
    );
    for (const re of c.expect) assert.match(failed.out, re, failed.out.slice(-3000));
    lines.push(
      `${c.entry.operation} ${c.entry.resource} ${c.entry.name}: exit ${failed.code} after ${(ms / 1000).toFixed(1)} s`,
    );
    await admin.createAcls({ acl: [acl] });
  }
  // granted back: a new instance finishes the input; nothing lost or doubled
  while (!slices.done) await slices.next();
  const b = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 120000).catch((err: Error) => {
    err.message += `\n${b.output().slice(-4000)}`;
    throw err;
  });
  assert.equal((await stopPipeline(b)).code, 0, b.output().slice(-3000));
  await assertEndStateMatchesOracle(env.kafka, config, stream, { a, b });

  // 3. TLS is checked both ways
  const probe = async (kafkaConfig: Config['kafka']) => {
    const c = createKafkaClient(kafkaConfig).admin({ retry: { retries: 0 } });
    try {
      await c.connect();
      await c.listTopics();
      return 'connected';
    } catch (err) {
      return (err as Error).message;
    } finally {
      await c.disconnect().catch(() => undefined);
    }
  };
  const {
    certFile: _c,
    keyFile: _k,
    ...noClientCert
  } = config.kafka.ssl as Exclude<Config['kafka']['ssl'], boolean>;
  assert.notEqual(
    await probe({ ...config.kafka, ssl: noClientCert }),
    'connected',
    'no client certificate: refused',
  );
  const otherCaResult = await probe({
    ...config.kafka,
    // the client's own certificate as the only trusted CA: it did not sign the broker's
    ssl: { ...(config.kafka.ssl as object), caFile: sec.clientCertFile } as Config['kafka']['ssl'],
  });
  assert.notEqual(otherCaResult, 'connected', 'a CA that did not sign the broker certificate: refused');
  t.diagnostic(
    `secured Kafka: ${stream.cdc.length + stream.transactions.length} records end to end with ${acls.length} ACL entries; ${lines.join('; ')}`,
  );
});
